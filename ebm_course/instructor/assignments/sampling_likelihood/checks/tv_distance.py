"""Hidden checks of 06_sampling_likelihood: ``tv_distance``."""

from __future__ import annotations

import math

import torch

from ebm_course.instructor.assignments.sampling_likelihood import reference as ref06
from ebm_course.instructor.grading.common import guard_checks, one_thread, points_near_bin_edges

from ._shared import _gen


def _tv_cases():
    g = _gen(70)
    n = 8
    probs = torch.rand(n, n, generator=g, dtype=torch.float64) ** 3
    probs[0, n - 1] += 2.0  # lopsided: a transposed histogram differs
    probs /= probs.sum()
    box = (-2.0, 2.0)
    h = 4.0 / n
    centres = -2.0 + h * (torch.arange(n, dtype=torch.float64) + 0.5)
    inside = (torch.rand(500, 2, generator=g, dtype=torch.float64) * 3.9 - 1.95)
    skewed = torch.stack([inside[:, 0].abs() * -1, inside[:, 1].abs()], 1)
    outside = torch.cat([inside[:400], torch.tensor([[2.5, 0.0], [0.0, -3.0], [9.0, 9.0]],
                                                    dtype=torch.float64).repeat(33, 1)[:100]])
    exact_counts = (probs * 2000).round()
    cells = torch.repeat_interleave(torch.arange(n * n), exact_counts.reshape(-1).long())
    matched = torch.stack([centres[cells // n], centres[cells % n]], 1)
    matched_probs = exact_counts / exact_counts.sum()
    one_cell = torch.zeros(n, n, dtype=torch.float64)
    one_cell[2, 5] = 1.0
    return [
        (inside, probs, box, "samples spread over the box"),
        (skewed, probs, box, "samples in one quadrant of a lopsided density (axis order)"),
        (outside, probs, box, "some samples outside the box"),
        (matched.float(), matched_probs.float(), box, "float32 samples matching the density"),
        (matched, one_cell, box, "a density on a single cell"),
        (inside[:37] * 0.5 + 1.0, probs, (0.0, 3.0), "another box"),
        (torch.full((10, 2), 7.0, dtype=torch.float64), probs, box, "every sample outside"),
        (torch.cat([points_near_bin_edges(box, n), torch.full((300, 2), 9.0)]),
         torch.full((n, n), 1.0 / n ** 2, dtype=torch.float64), box,
         "samples just below and just above every bin edge, most far outside (bin by floor, not "
         "truncation toward zero: a sample just below the low edge lies outside the box)"),
    ]


def check_tv_distance(tv_fn) -> None:
    """Half the L1 distance between the samples' cell shares and the exact cell probabilities,
    samples outside the box counted as mass the density lacks there: spread, lopsided (axis
    order), partly and wholly outside, just below and above every bin edge, another box,
    float32, identical and disjoint cases."""
    with one_thread():
        for samples, probs, box, kind in _tv_cases():
            want = ref06.tv_distance(samples, probs, box)
            got = tv_fn(samples.clone(), probs.clone(), box)
            try:
                got = float(got)
            except (TypeError, ValueError, RuntimeError):
                raise AssertionError(f"tv_distance ({kind}): expected a number, got "
                                     f"{type(got).__name__}") from None
            assert math.isfinite(got) and abs(got - want) < 1e-6, (
                f"tv_distance ({kind}): differs from the reference (abs error "
                f"{abs(got - want):.2g}); expected 0.5 * (sum over cells of |share of samples - "
                "probability| + share of samples outside the box), cell (i, j) = i-th interval of "
                "the first coordinate, j-th of the second")


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
