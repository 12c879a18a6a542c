"""Hidden checks of 02_toy_densities: ``exact_sm_loss``."""

from __future__ import annotations

import math

import torch

from ebm_course import toy
from ebm_course.instructor.assignments.toy import reference as ref02
from ebm_course.instructor.grading.common import expect_close, guard_checks

from ._shared import _compare_loss, _grads, _net, _no_stray_grads, _quadratic

_A3 = torch.tensor([[2.0, 0.5, 0.3], [0.5, 1.0, -0.4], [0.3, -0.4, 1.5]])


def check_exact_sm_loss(loss_fn) -> None:
    """Score matching: analytic on Gaussian energies, on a non-diagonal Hessian in three
    dimensions (float64, with the gradient to an energy parameter); value and parameter gradients
    on MLP energies, a batch of one; no stray parameter gradients."""
    g = torch.Generator().manual_seed(41)
    x = torch.randn(100, 2, generator=g)
    std = 0.7
    got = loss_fn(toy.gaussian_energy([0.0, 0.0], std), x)
    exact = (0.5 * x.pow(2).sum(1) / std ** 4 - 2 / std ** 2).mean()
    expect_close(got, exact, "exact_sm_loss of a Gaussian energy E = ||x||^2 / (2 std^2) "
                 "(mean of 0.5 ||x||^2 / std^4 - d / std^2)", atol=1e-4, rtol=1e-4)

    # E = 0.5 exp(s) x^T A x in d=3: score term 0.5 exp(2s) ||A x||^2, Laplacian exp(s) tr A.
    x3 = torch.randn(33, 3, generator=g, dtype=torch.float64)
    log_scale = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    a = _A3.double()
    got = loss_fn(_quadratic(a, log_scale.exp()), x3)
    c = math.exp(0.3)
    ax2 = (x3 @ a).pow(2).sum(1).mean().item()
    exact = 0.5 * c * c * ax2 - c * a.trace().item()
    what = ("exact_sm_loss of E = 0.5 x^T A x with a non-diagonal A, in three dimensions, "
            "float64")
    expect_close(got, torch.tensor(exact, dtype=torch.float64), what + " (the trace of the "
                 "Hessian is the sum of its diagonal, over every coordinate of x)",
                 atol=1e-8, rtol=1e-6)
    (d_scale,) = _grads(got, [log_scale], what)
    want = torch.tensor(c * c * ax2 - c * a.trace().item(), dtype=torch.float64)
    assert d_scale is not None, f"{what}: the loss does not depend on the energy's parameters"
    expect_close(d_scale, want, f"{what}: gradient with respect to the energy's parameter "
                 f"(create_graph=True in both autograd.grad calls)", atol=1e-8, rtol=1e-6)

    for n, what in [(100, "of an MLP energy"), (1, "of an MLP energy on a batch of one")]:
        net = _net(40)
        energy_fn = lambda z, net=net: -net(z) * 3  # noqa: E731
        got = loss_fn(energy_fn, x[:n])
        _no_stray_grads(net, "exact_sm_loss")
        _compare_loss(got, ref02.exact_sm_loss(energy_fn, x[:n]), net, f"exact_sm_loss {what}")


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
