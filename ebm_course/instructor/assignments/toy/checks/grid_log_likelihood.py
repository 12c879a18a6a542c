"""Hidden checks of 02_toy_densities: ``grid_log_likelihood``."""

from __future__ import annotations

import math

import torch

from ebm_course import toy
from ebm_course.instructor.assignments.toy import reference as ref02
from ebm_course.instructor.grading.common import expect_close, expect_tensor, guard_checks

from ._shared import _net


def check_grid_log_likelihood(ll_fn) -> None:
    """Mean test log-likelihood -mean E(x_test) - log Z on the grid: a Gaussian energy (analytic),
    MLP energies on non-round, coarse and asymmetric grids, energies near +-500, a batch of one,
    float64 test points."""
    g = torch.Generator().manual_seed(21)
    mean, std = torch.tensor([0.5, -0.3]), 0.8
    gauss = toy.gaussian_energy(mean, std)
    x_test = mean + std * torch.randn(500, 2, generator=g)
    exact = (-(x_test - mean).pow(2).sum(1) / (2 * std ** 2)
             - math.log(2 * math.pi * std ** 2)).mean().item()
    got = expect_tensor(ll_fn(gauss, x_test, (-5.0, 5.0), 160),
                        "grid_log_likelihood of a Gaussian energy", shape=())
    assert abs(got.item() - exact) < 2e-3, (
        f"grid_log_likelihood of an unnormalised Gaussian energy should equal the Gaussian's mean "
        f"log-density (error {abs(got.item() - exact):.3g}): -mean E(x_test) - log Z with "
        f"log Z = logsumexp(-E(centres)) + log(cell area)")

    got = expect_tensor(ll_fn(gauss, x_test.double(), (-5.0, 5.0), 160),
                        "grid_log_likelihood with float64 test points", shape=())
    assert got.dtype == torch.float64, (
        f"grid_log_likelihood with float64 test points: expected a float64 result (the dtype of "
        f"x_test), got {got.dtype}; keep the result a tensor (no .item() and torch.tensor)")
    assert abs(got.item() - exact) < 2e-3, (
        f"grid_log_likelihood with float64 test points: not the Gaussian's mean log-density "
        f"(error {abs(got.item() - exact):.3g})")

    cases = [  # seed, box, n_grid, energy shift, narrow well, n_test, no_grad, what
        (3, (-4.0, 4.0), 128, 0.0, False, 300, False, "of an MLP energy"),
        (4, (-3.3, 4.1), 37, 0.0, False, 1, True, "on a batch of one, on a non-round grid over "
                                                     "an asymmetric box"),
        (5, (-2.5, 3.5), 9, 0.0, True, 97, True, "of a narrow energy well on a coarse grid (use "
                                                    "n_grid and box as given)"),
        (6, (-4.0, 4.0), 64, 500.0, False, 50, True, "with energies near +500 (exp(-E) "
                                                       "underflows: use torch.logsumexp)"),
        (6, (-4.0, 4.0), 64, -500.0, False, 50, False, "with energies near -500 (exp(-E) "
                                                         "overflows: use torch.logsumexp)"),
    ]
    for seed, box, n_grid, shift, narrow, n_test, no_grad, what in cases:
        net = _net(seed)

        def energy_fn(x, net=net, shift=shift, narrow=narrow):
            e = -net(x) * 4 + shift
            return e + (x - 0.3).pow(2).sum(1) / (2 * 0.3 ** 2) if narrow else e

        x = torch.rand(n_test, 2, generator=g) * 6 - 3
        with torch.no_grad():
            want = ref02.grid_log_likelihood(energy_fn, x, box, n_grid)
        with torch.set_grad_enabled(not no_grad):
            got = ll_fn(energy_fn, x, box, n_grid)
        expect_close(got, want, f"grid_log_likelihood {what}", atol=1e-3, rtol=0)


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
