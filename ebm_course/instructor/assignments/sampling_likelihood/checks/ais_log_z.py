"""Hidden checks of 06_sampling_likelihood: ``ais_log_z``."""

from __future__ import annotations

import math

import torch

from ebm_course.instructor.assignments.sampling_likelihood import reference as ref06
from ebm_course.instructor.grading.common import (
    expect_close,
    expect_tensor,
    guard_checks,
    one_thread,
)

from ._shared import _banana, _gen, _rowsum


def _gradient_transition(energy_b, x):
    """Deterministic: a gradient step on the intermediate energy (positions depend on it)."""
    z = x.detach().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(energy_b(z).sum(), z)
    return (x - 0.07 * grad).detach()


def _exact_gaussian_transition(generator):
    """Exact draws of the intermediate density between N(0, 1) and N(1, 0.7^2) (1D): it is a
    Gaussian; read its precision and mean from the intermediate energy at 0, 1 and -1."""
    def transition(energy_b, x):
        with torch.no_grad():
            probe = energy_b(torch.tensor([[0.0], [1.0], [-1.0]], dtype=x.dtype))
        a = (probe[1] + probe[2] - 2 * probe[0]).item()  # precision
        b = ((probe[1] - probe[2]) / 2).item()            # E(x) = a x^2 / 2 + b x + c
        mean, std = -b / a, 1 / math.sqrt(a)
        return mean + std * torch.randn(x.shape, generator=generator, dtype=x.dtype)
    return transition


def _as_ais(out, n: int, what: str) -> tuple[float, torch.Tensor]:
    assert isinstance(out, (tuple, list)) and len(out) == 2, (
        f"{what}: expected a pair (log Z estimate, log weights)")
    try:
        log_z = float(out[0])
    except (TypeError, ValueError, RuntimeError):
        raise AssertionError(f"{what}: the log Z estimate should be a number or a 0-d "
                             "tensor") from None
    log_w = expect_tensor(out[1], f"{what}: the log weights", (n,)).detach()
    return log_z, log_w


def check_ais_log_z(ais_fn) -> None:
    """AIS along (1 - b) E_0 + b E: weights accumulated at the state before each move, moves at
    the new temperature, in increasing order; log-mean-exp of the weights; exact when base =
    target; betas as a list or a tensor; an unbiased Z with exact moves between Gaussians."""
    with one_thread():
        base = lambda z: _rowsum(z ** 2) / 2  # noqa: E731  N(0, I), log Z_0 = d/2 log(2 pi)
        target = _banana
        log_z0 = math.log(2 * math.pi)
        x = torch.randn(64, 2, generator=_gen(80), dtype=torch.float64)
        for betas, kind in (([0.0, 1.0], "two temperatures (importance sampling)"),
                            ([0.0, 0.1, 0.3, 0.6, 1.0], "a list of five temperatures"),
                            (torch.linspace(0, 1, 12, dtype=torch.float64) ** 2,
                             "a tensor of twelve temperatures")):
            want_z, want_w = ref06.ais_log_z(target, base, log_z0, x, betas, _gradient_transition)
            got_z, got_w = _as_ais(ais_fn(target, base, log_z0, x.clone(), betas,
                                          _gradient_transition), 64, f"ais_log_z with {kind}")
            expect_close(got_w, want_w, f"ais_log_z log weights with {kind} and a "
                         "deterministic transition", atol=1e-7)
            assert abs(got_z - float(want_z)) < 1e-7, (
                f"ais_log_z estimate with {kind}: differs from the reference; expected base_log_z "
                "+ log of the mean of exp(log weights) (a log-mean-exp, computed stably)")
        got_z, got_w = _as_ais(ais_fn(base, base, log_z0, x.clone(), [0.0, 0.5, 1.0],
                                      _gradient_transition), 64, "ais_log_z with base = target")
        assert got_w.abs().max().item() < 1e-9 and abs(got_z - log_z0) < 1e-9, (
            "ais_log_z with base = target: every weight should be 1 and the estimate exact")
        far = lambda z: base(z) + 800.0  # noqa: E731  Z = exp(-800) Z_0: stable log-mean-exp?
        got_z, _ = _as_ais(ais_fn(far, base, log_z0, x.clone(), [0.0, 1.0], _gradient_transition),
                           64, "ais_log_z with a target 800 nats below the base")
        assert abs(got_z - (log_z0 - 800.0)) < 1e-6, (
            "ais_log_z with log weights near -800: compute the log-mean-exp stably (logsumexp)")
        # Unbiased Z (not log Z): exact moves between N(0, 1) and N(1, 0.7^2) unnormalised.
        gauss = lambda z: _rowsum((z - 1.0) ** 2) / (2 * 0.49)  # noqa: E731
        true_log_z = 0.5 * math.log(2 * math.pi * 0.49)
        base1 = lambda z: _rowsum(z ** 2) / 2  # noqa: E731
        estimates = []
        for seed in range(4):
            x1 = torch.randn(2000, 1, generator=_gen(90 + seed), dtype=torch.float64)
            z_hat, _ = _as_ais(ais_fn(gauss, base1, 0.5 * math.log(2 * math.pi), x1,
                                      [0.0, 0.25, 0.5, 0.75, 1.0],
                                      _exact_gaussian_transition(_gen(100 + seed))), 2000,
                               "ais_log_z between two 1D Gaussians")
            estimates.append(z_hat)
        err = abs(math.log(sum(math.exp(e) for e in estimates) / 4) - true_log_z)
        assert err < 0.02, (
            "ais_log_z between two 1D Gaussians with exact transitions: the estimate of Z should "
            "be unbiased (is each weight increment (b_prev - b)(E - E_0) at the state before the "
            "move?)")


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
