"""Hidden checks of 05_ood_detection: ``energy_score`` and ``max_softmax_score`` and
``grad_norm_score``."""

from __future__ import annotations

import contextlib
import copy

import torch

from ebm_course.instructor.assignments.mnist_ebm import reference as ref03
from ebm_course.instructor.assignments.ood import reference as ref05
from ebm_course.instructor.grading.common import (
    expect_close,
    expect_tensor,
    guard_checks,
    one_thread,
)


class _LinearLogits(torch.nn.Module):
    """Logits x.flatten(1) @ W + b. Like the notebook's exported networks it has get_logits only
    (no forward), and its parameters require gradients."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(weight)
        self.bias = torch.nn.Parameter(bias)

    def get_logits(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1) @ self.weight + self.bias


def _glyph_net(seed: int, k: int, b: int):
    """The course's CNN (reference get_logits), eval mode, and images in [-1, 1]."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = ref03.CNNEnergy(1, 20, 8, k).eval()
        x = torch.rand(b, 1, 20, 20) * 2 - 1
    return net, x


def _linear_net(seed: int, k: int, b: int, offset: float = 0.0, row_shift=None,
                dtype=torch.float32):
    """A linear logit network on 4x4 images whose logits sit around ``offset``; ``row_shift``
    (B,) moves every logit of image i by row_shift[i] (through a pixel with weight 1)."""
    gen = torch.Generator().manual_seed(seed)
    weight = torch.randn(16, k, generator=gen, dtype=torch.float64) * 0.7
    bias = offset + torch.randn(k, generator=gen, dtype=torch.float64) * 2
    x = torch.rand(b, 1, 4, 4, generator=gen, dtype=torch.float64) * 2 - 1
    if row_shift is not None:
        weight[0] = 1.0
        x[:, 0, 0, 0] = torch.as_tensor(row_shift, dtype=torch.float64)
    return _LinearLogits(weight.to(dtype), bias.to(dtype)), x.to(dtype)


def _score_cases():
    """(net, x, kind, called under no_grad): every shape and regime."""
    return [
        (*_glyph_net(1, 6, 10), "on a batch of images", True),
        (*_glyph_net(2, 42, 7), "with many classes, gradients enabled", False),
        (*_glyph_net(3, 1, 5), "with a single class (K = 1)", True),
        (*_glyph_net(4, 6, 1), "on a batch of one", True),
        (*_linear_net(5, 5, 4, offset=1e3), "with logits of 1e3", True),
        (*_linear_net(6, 5, 4, offset=-1e3), "with logits of -1e3", False),
        (*_linear_net(7, 7, 6, row_shift=[500.0, -500.0, 0.0, 480.0, -490.0, 10.0]),
         "with energies of +-500 in one batch", True),
        (*_linear_net(8, 3, 1, offset=-1e3), "on a batch of one with logits of -1e3", True),
        (*_linear_net(9, 1, 3, offset=800.0), "with one class and logits of 800", True),
        (*_linear_net(10, 6, 5, dtype=torch.float64), "with float64 inputs and network", True),
        (*_linear_net(11, 4, 3, row_shift=[600.0, -600.0, 5.0], dtype=torch.float64),
         "with float64 inputs and energies of +-600", False),
    ]


def _reference_scores(ref_fn, net, x: torch.Tensor) -> torch.Tensor:
    """The reference score computed in float64 on a copy, cast to the dtype of ``x``."""
    net64 = copy.deepcopy(net).double()
    for p in net64.parameters():
        p.grad = None
    return ref_fn(net64, x.detach().double()).detach().to(x.dtype)


def _set_sentinel_grads(net) -> list:
    """Give every parameter a recognisable .grad; return the (grad, copy) pairs."""
    saved = []
    for i, p in enumerate(net.parameters()):
        p.grad = torch.full_like(p, 0.25 + 0.01 * i)
        saved.append((p.grad, p.grad.clone()))
    return saved


def _grads_untouched(net, saved) -> bool:
    return all(p.grad is g and torch.equal(g, c) for p, (g, c) in zip(net.parameters(), saved))


def _check_score(score_fn, ref_fn, name: str, atol: float, rtol: float) -> None:
    """The score equals the reference (computed in float64) on every case of _score_cases, keeps
    the input's dtype, leaves the parameters' gradients and the input alone."""
    with one_thread():
        _check_score_cases(score_fn, ref_fn, name, atol, rtol)


def _check_score_cases(score_fn, ref_fn, name: str, atol: float, rtol: float) -> None:
    for net, x, kind, no_grad in _score_cases():
        want = _reference_scores(ref_fn, net, x)
        saved = _set_sentinel_grads(net)
        x_before = x.clone()
        with torch.no_grad() if no_grad else contextlib.nullcontext():
            got = score_fn(net, x)
        what = f"{name}(net, x) {kind}"
        got = expect_tensor(got, what, (len(x),))
        tol = (1e-9, 1e-9) if x.dtype == torch.float64 else (atol, rtol)
        expect_close(got, want, what, atol=tol[0], rtol=tol[1])
        assert _grads_untouched(net, saved), (
            f"{name} changed the network's parameter gradients (.grad) {kind}: a score must "
            "leave them as they are (no backward() into the parameters, no zero_grad())")
        assert torch.equal(x, x_before), f"{name} modified its input images in place {kind}"



def check_energy_score(score_fn) -> None:
    """-E(x) = logsumexp of the logits, per image: on a batch of one, one class, large and very
    negative logits (stable logsumexp), float64 (dtype kept); parameter gradients untouched."""
    _check_score(score_fn, ref05.energy_score, "energy_score", atol=1e-4, rtol=2e-6)


def check_max_softmax_score(score_fn) -> None:
    """The largest softmax probability per image (softmax over the classes): on a batch of one,
    one class, large and very negative logits (stable softmax), float64 (dtype kept)."""
    _check_score(score_fn, ref05.max_softmax_score, "max_softmax_score", atol=1e-5, rtol=1e-4)


_GRAD_TOL = {"atol": 1e-7, "rtol": 1e-3}  # the CNN's input gradients are small: relative


def check_grad_norm_score(score_fn) -> None:
    """Minus the L2 norm of dE/dx per image, E = -logsumexp f(x): the cases of the other scores,
    under no_grad too; gradients reach only a detached copy of x (no parameter .grad, nothing in
    the caller's x or what x was computed from), and repeated calls agree."""
    _check_score(score_fn, ref05.grad_norm_score, "grad_norm_score", **_GRAD_TOL)
    with one_thread():
        _check_grad_flow(score_fn)


def _check_grad_flow(score_fn) -> None:
    """grad_norm_score differentiates a copy of x: no gradient anywhere else, no accumulation."""
    net, x = _glyph_net(12, 5, 4)
    want = _reference_scores(ref05.grad_norm_score, net, x)
    saved = _set_sentinel_grads(net)
    first = expect_tensor(score_fn(net, x), "grad_norm_score(net, x) on a batch of images", (4,))
    second = expect_tensor(score_fn(net, x), "grad_norm_score(net, x) called a second time", (4,))
    expect_close(second.detach(), first.detach(),
                 "grad_norm_score called twice on the same images: the second result should "
                 "equal the first (do gradients accumulate somewhere, e.g. in x.grad?)",
                 atol=1e-9, rtol=1e-5)
    expect_close(first.detach(), want, "grad_norm_score(net, x)", **_GRAD_TOL)
    assert _grads_untouched(net, saved), (
        "grad_norm_score changed the network's parameter gradients: differentiate with "
        "torch.autograd.grad with respect to x only")

    leaf = x.detach().clone().requires_grad_(True)  # the caller's x itself requires gradients
    got = expect_tensor(score_fn(net, leaf), "grad_norm_score when x requires grad", (4,))
    expect_close(got.detach(), want, "grad_norm_score when x requires grad", **_GRAD_TOL)
    assert leaf.grad is None, (
        "grad_norm_score left a gradient in the caller's x.grad: differentiate a detached copy "
        "of x (torch.autograd.grad), do not call backward() on the caller's tensor")

    base = x.detach().clone().requires_grad_(True)  # x is computed from a tensor needing grads
    derived = base * 1.0
    with torch.no_grad():
        got = score_fn(net, derived)
    got = expect_tensor(got, "grad_norm_score when x was computed from other tensors", (4,))
    expect_close(got.detach(), want, "grad_norm_score when x was computed from other tensors",
                 **_GRAD_TOL)
    assert base.grad is None, (
        "grad_norm_score sent gradients into the tensors x was computed from: differentiate a "
        "detached copy of x only")
    assert _grads_untouched(net, saved), (
        "grad_norm_score changed the network's parameter gradients when x requires grad")

    net, x = _glyph_net(13, 6, 6)
    got = score_fn(net, x).detach()
    assert (got <= 0).all(), (
        "grad_norm_score is MINUS a norm: higher (closer to 0) = flatter = more in-distribution")


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
