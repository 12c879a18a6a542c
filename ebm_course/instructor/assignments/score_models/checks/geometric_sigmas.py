"""Hidden checks of 07_score_models: ``geometric_sigmas``."""

from __future__ import annotations

import math

import torch

from ebm_course.instructor.grading.common import expect_tensor, guard_checks


def check_geometric_sigmas(sigmas_fn) -> None:
    """The noise schedule: a 1-D float64 tensor of n levels, sigma_max first, sigma_min last,
    a constant ratio between neighbours (geometric, not linear), for long and short schedules,
    n = 2 and n = 1 (just sigma_max), levels above 1 and below 1e-3."""
    cases = [(1.0, 0.01, 10), (50.0, 0.01, 232), (3.0, 0.3, 2), (0.7, 0.002, 7), (5.0, 1e-4, 4)]
    for sigma_max, sigma_min, n in cases:
        kind = f"{n} levels" if n > 2 else "2 levels"
        got = expect_tensor(sigmas_fn(sigma_max, sigma_min, n), f"geometric_sigmas with {kind}",
                            (n,))
        assert got.dtype == torch.float64, (
            f"geometric_sigmas: expected a float64 tensor, got {got.dtype}")
        got = got.detach()
        assert math.isclose(got[0].item(), sigma_max, rel_tol=1e-9) and \
            math.isclose(got[-1].item(), sigma_min, rel_tol=1e-9), (
                f"geometric_sigmas with {kind}: the first level must be sigma_max and the last "
                "sigma_min (both included)")
        ratios = got[1:] / got[:-1]
        want = (sigma_min / sigma_max) ** (1 / (n - 1))
        assert torch.allclose(ratios, torch.full_like(ratios, want), rtol=1e-9), (
            f"geometric_sigmas with {kind}: neighbouring levels must have one constant ratio "
            "(sigma_max * r^k): equal steps in log sigma, not in sigma")
    one = expect_tensor(sigmas_fn(2.5, 0.1, 1), "geometric_sigmas with n = 1", (1,))
    assert math.isclose(float(one[0]), 2.5, rel_tol=1e-9), (
        "geometric_sigmas with n = 1: the one level is sigma_max")


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
