"""Hidden checks of 02_toy_densities: ``dsm_loss``."""

from __future__ import annotations

import math

import torch

from ebm_course.instructor.assignments.toy import reference as ref02
from ebm_course.instructor.grading.common import expect_tensor, guard_checks

from ._shared import _close_scalar, _compare_loss, _net, _no_stray_grads, _quadratic

_A2 = torch.tensor([[1.5, 0.6], [0.6, 0.8]])  # non-diagonal: the coordinates are coupled


def _recorded_noise(calls: list, x: torch.Tensor, sigma: float):
    """The noise a dsm_loss drew, read back from the points it evaluated the energy at."""
    for points in (torch.cat(calls) if calls else None, calls[-1] if calls else None):
        if points is not None and points.shape == x.shape:
            return (points - x) / sigma
    return None


def check_dsm_loss(loss_fn) -> None:
    """Denoising score matching: value and parameter gradients with the noise given (a batch of
    one, float64); with noise=None: standard-normal noise, independent for every element, fresh on
    every call, the same noise in the noisy point and in the target, the expected loss."""
    g = torch.Generator().manual_seed(51)
    x = torch.randn(80, 2, generator=g)
    noise = torch.randn(80, 2, generator=g)
    cases = [(0.1, 80, torch.float32, "with the noise given, small sigma"),
             (0.5, 80, torch.float32, "with the noise given"),
             (0.5, 1, torch.float32, "with the noise given, on a batch of one"),
             (0.3, 80, torch.float64, "with the noise given, float64 inputs")]
    for sigma, n, dtype, what in cases:
        net = _net(50, dtype=dtype)
        energy_fn = lambda z, net=net: -net(z) * 2  # noqa: E731
        xs, ns = x[:n].to(dtype), noise[:n].to(dtype)
        got = loss_fn(energy_fn, xs, sigma, ns)
        _no_stray_grads(net, "dsm_loss")
        _compare_loss(got, ref02.dsm_loss(energy_fn, xs, sigma, ns), net, f"dsm_loss {what}",
                      atol=2e-4)

    # Own noise, on E = 0.5 x^T A x: the loss is 0.5 mean || -A x + M eps ||^2, M = I / sigma -
    # sigma A; its expectation is 0.5 (mean ||A x||^2 + tr(M^T M)).
    n, sigma = 20000, 0.3
    xd = torch.randn(n, 2, generator=g) * 0.5
    quad = _quadratic(_A2)
    m = torch.eye(2) / sigma - sigma * _A2
    losses = []
    for call in range(2):
        calls = []

        def energy_fn(z):
            calls.append(z.detach().clone())
            return quad(z)

        got = expect_tensor(loss_fn(energy_fn, xd, sigma), "dsm_loss with noise=None", shape=(),
                            dtype=torch.float32)
        losses.append(got.item())
        eps = _recorded_noise(calls, xd, sigma)
        if eps is None:
            continue
        bad = (eps.mean(0).abs().max().item() > 6 / math.sqrt(n)
               or (eps.std(0) - 1).abs().max().item() > 6 / math.sqrt(2 * n))
        assert not bad, (
            "dsm_loss with noise=None: the noise added to the data is not standard normal "
            "(x_noisy = x_data + sigma * eps, eps = torch.randn_like(x_data))")
        corr = torch.corrcoef(eps.T)[0, 1].item()
        assert abs(corr) < 6 / math.sqrt(n), (
            f"dsm_loss with noise=None: the noise of the two coordinates is correlated "
            f"({corr:.2f}): draw it independently for every element (torch.randn_like(x_data))")
        want = 0.5 * (-(xd + sigma * eps) @ _A2 + eps / sigma).pow(2).sum(1).mean().item()
        _close_scalar(got.item(), want, 1e-3, "dsm_loss with noise=None: the target must use "
                      "the same noise as the noisy point")
    assert losses[0] != losses[1], (
        "dsm_loss with noise=None returned the same value on two calls: draw fresh noise on "
        "every call (do not re-seed the global generator)")
    expected = 0.5 * ((xd @ _A2).pow(2).sum(1).mean().item() + m.pow(2).sum().item())
    for value in losses:
        _close_scalar(value, expected, 0.05, "dsm_loss with noise=None: the loss is not the "
                      "expected DSM loss under fresh standard-normal noise")


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
