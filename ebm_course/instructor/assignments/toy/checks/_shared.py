"""Hidden checks of 02_toy_densities: helpers shared by several checks."""

from __future__ import annotations

import math

import torch

from ebm_course import toy_train
from ebm_course.instructor.grading.common import expect_close


def _net(seed: int, hidden: int = 16, dtype: torch.dtype = torch.float32) -> toy_train.MLPEnergy:
    """A small MLP, initialised from ``seed`` without touching the caller's global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = toy_train.MLPEnergy(2, hidden, 2)
    return net.to(dtype)


def _quadratic(a: torch.Tensor, scale=None):
    """E(x) = 0.5 * scale * x^T A x for any dtype of x (A symmetric): grad A x, Laplacian tr A."""
    def energy_fn(x):
        e = 0.5 * ((x @ a.to(x)) * x).sum(1)
        return e if scale is None else scale * e
    return energy_fn


def _grads(loss, tensors, what: str) -> list:
    """d loss / d tensors (None where a tensor gets no gradient)."""
    assert isinstance(loss, torch.Tensor) and loss.requires_grad, (
        f"{what}: the loss must carry a gradient to the energy's parameters (did you detach, use "
        f"torch.no_grad(), call .item(), or forget create_graph=True when differentiating with "
        f"respect to x?)")
    return list(torch.autograd.grad(loss, list(tensors), allow_unused=True))


def _compare_loss(got, want, net: torch.nn.Module, what: str, atol: float = 1e-4,
                  extra: torch.Tensor | None = None, extra_what: str = "") -> None:
    """Value and parameter gradients of ``got`` equal the reference's ``want``; ``extra`` (an
    input the loss must not differentiate through) gets no gradient."""
    expect_close(got, want.detach(), what, atol=atol, rtol=1e-4)
    params = list(net.parameters())
    got_g = _grads(got, params + ([extra] if extra is not None else []), what)
    want_g = _grads(want, params, what)
    if extra is not None:
        g = got_g.pop()
        assert g is None or not g.abs().max().item() > 0, f"{what}: {extra_what}"
    for i, (a, b) in enumerate(zip(got_g, want_g)):
        # Score-based losses never see the output bias (it does not change dE/dx): zero, not None.
        a = torch.zeros_like(params[i]) if a is None else a
        b = torch.zeros_like(params[i]) if b is None else b
        expect_close(a, b, f"{what}: gradient with respect to the energy's parameter {i}",
                     atol=atol, rtol=1e-3)


def _no_stray_grads(net: torch.nn.Module, what: str) -> None:
    assert all(p.grad is None for p in net.parameters()), (
        f"{what} put gradients into the .grad of the energy's parameters: differentiate with "
        f"torch.autograd.grad, not .backward() (the caller's backward would add them to its own)")


def _close_scalar(got: float, want: float, rtol: float, what: str) -> None:
    err = abs(got - want)
    assert math.isfinite(got) and err <= rtol * abs(want), (
        f"{what} (relative error {err / abs(want):.3g}, tolerance {rtol:g})")
