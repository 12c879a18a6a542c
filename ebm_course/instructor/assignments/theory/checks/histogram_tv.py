"""Hidden checks of 01_theory: ``histogram_tv``."""

from __future__ import annotations

import math

import torch

from ebm_course import toy
from ebm_course.instructor.assignments.theory import reference as ref01
from ebm_course.instructor.grading.common import guard_checks, points_near_bin_edges

from ._shared import _isolated


def _cell_samples(counts: torch.Tensor, box, g: torch.Generator) -> torch.Tensor:
    """counts[i, j] points inside cell (i, j) (row-major, like toy.grid_points), each well away
    from the cell's edges, in shuffled order."""
    n = counts.shape[0]
    low, high = box
    h = (high - low) / n
    ij = torch.stack(torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij"), -1)
    ij = ij.reshape(-1, 2).repeat_interleave(counts.reshape(-1), 0).double()
    u = 0.15 + 0.7 * torch.rand(ij.shape, generator=g, dtype=torch.float64)
    pts = low + (ij + u) * h
    return pts[torch.randperm(len(pts), generator=g)].float()


def _tv_exact(counts: torch.Tensor, energy_fn, box) -> float:
    centres, _ = toy.grid_points(box, counts.shape[0])
    with torch.no_grad():
        p = torch.softmax(-energy_fn(centres).double(), 0)
    q = counts.reshape(-1).double()
    return 0.5 * (q / q.sum() - p).abs().sum().item()


def _tv_value(got, what: str) -> float:
    ok = isinstance(got, (float, int)) or (torch.is_tensor(got) and got.numel() == 1)
    assert ok, f"{what}: histogram_tv should return one number (a float), got {type(got).__name__}"
    value = float(got)
    assert math.isfinite(value), f"{what}: histogram_tv returned NaN or inf"
    return value


def _expect_tv(tv_fn, samples, energy_fn, box, counts, what, tol=1e-4) -> None:
    got = _tv_value(tv_fn(samples, energy_fn, box, counts.shape[0]), what)
    want = _tv_exact(counts, energy_fn, box)
    assert abs(got - want) < tol, (
        f"{what}: TV off by {abs(got - want):.2g}")


def _noisy_counts(mix, box, n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Counts close to the exact masses (a small TV), plus some noise, not symmetric under
    swapping the axes; and samples inside their cells."""
    centres, _ = toy.grid_points(box, n)
    with torch.no_grad():  # close to the exact masses (a small TV), plus some noise
        counts = (300 * torch.softmax(-mix(centres), 0)).round().long().reshape(n, n)
    counts += torch.randint(0, 3, (n, n), generator=g)
    counts[0, n - 1], counts[n - 1, 0] = 9, 0  # not symmetric under swapping the axes
    return counts, _cell_samples(counts, box, g)


def _check_outside(tv_fn, samples, mix, box, counts, g: torch.Generator) -> None:
    """Samples outside the box are dropped: far away, just outside each edge, one axis only."""
    h = (box[1] - box[0]) / counts.shape[0]
    outside = torch.tensor([[box[0] - 0.3 * h, 0.5], [0.5, box[0] - 0.3 * h],
                            [box[1] + 0.3 * h, 0.5], [0.5, box[1] + 0.3 * h],
                            [-1e6, 0.2], [0.1, 1e6], [-1e6, -1e6], [1e6, 1e6],
                            [box[0] - 2.6 * h, box[1] + 1.4 * h]])
    mixed = torch.cat([samples, outside])[torch.randperm(len(samples) + len(outside),
                                                         generator=g)]
    _expect_tv(tv_fn, mixed, mix, box, counts,
               "histogram_tv with samples outside the box, some just outside an edge and some "
               "far away (drop them: no clamping into the edge cells, floor rather than "
               "truncation; normalise by the samples inside)")


def _check_bin_edges(tv_fn, samples, mix, box, counts) -> None:
    """Samples just below and just above every bin edge (a cell's edge belongs to the cell above
    it; the low edge's lower side is outside)."""
    n = counts.shape[0]
    h = (box[1] - box[0]) / n
    edges = points_near_bin_edges(box, n)
    cells = torch.floor((edges - box[0]) / h).long()
    inside = ((cells >= 0) & (cells < n)).all(1)
    near = counts + torch.bincount(cells[inside, 0] * n + cells[inside, 1],
                                   minlength=n * n).reshape(n, n)
    _expect_tv(tv_fn, torch.cat([samples, edges.float()]), mix, box, near,
               "histogram_tv with samples just below and just above every bin edge (cell = "
               "floor((x - low) / cell width): no truncation toward zero, no rounding margin)")


def _check_extremes(tv_fn, samples, mix, box, counts, g: torch.Generator) -> None:
    """Energies around +-500 (the exact masses must not under/overflow), a single sample,
    float64 samples."""
    n = counts.shape[0]
    for shift, words in [(500.0, "+500"), (-500.0, "-500")]:
        shifted = (lambda s: lambda x: mix(x) + s)(shift)
        _expect_tv(tv_fn, samples, shifted, box, counts,
                   f"histogram_tv with energies around {words} (normalise exp(-E) stably: "
                   f"torch.softmax(-E))")

    # a single sample
    one = torch.zeros(n, n, dtype=torch.long)
    one[4, 2] = 1
    _expect_tv(tv_fn, _cell_samples(one, box, g), mix, box, one,
               "histogram_tv with a single sample")

    # float64 samples
    _expect_tv(tv_fn, samples.double(), mix, box, counts, "histogram_tv with float64 samples")


def _check_fine_grid(tv_fn, mix, g: torch.Generator) -> None:
    """A fine grid over a symmetric box, many samples from a multinomial."""
    n = 30
    centres, _ = toy.grid_points((-6.0, 6.0), n)
    p = torch.softmax(-mix(centres), 0)
    cells = torch.multinomial(p, 6000, replacement=True, generator=g)
    counts = torch.bincount(cells, minlength=n * n).reshape(n, n)
    _expect_tv(tv_fn, _cell_samples(counts, (-6.0, 6.0), g), mix, (-6.0, 6.0), counts,
               "histogram_tv on a fine grid with many samples")


def check_histogram_tv(tv_fn) -> None:
    """Total variation between the histogram of samples and the exact cell masses: row-major
    orientation on an asymmetric box with a non-round number of bins, samples outside the box
    (just outside an edge and far away) dropped, samples just below and above every bin edge,
    energies around +-500, a single sample, float64 samples, a fine grid."""
    with _isolated(tv_fn, "histogram_tv"):
        g = torch.Generator().manual_seed(12)
        means = torch.tensor([[-0.8, 1.9], [2.1, -0.4], [0.6, 0.3]])
        mix = lambda x: ref01.gmm_energy(x, means, torch.tensor([0.7, 0.9, 0.5]),  # noqa: E731
                                         torch.tensor([0.5, 0.2, 0.3]))
        box = (-2.5, 4.0)
        counts, samples = _noisy_counts(mix, box, 7, g)
        _expect_tv(tv_fn, samples, mix, box, counts,
                   "histogram_tv on an asymmetric box with a non-round number of bins (bin "
                   "x[:, 0] into the row and x[:, 1] into the column: cell i * n_bins + j, like "
                   "toy.grid_points; exact masses softmax(-E) at the cell centres)")
        _check_outside(tv_fn, samples, mix, box, counts, g)
        _check_bin_edges(tv_fn, samples, mix, box, counts)
        _check_extremes(tv_fn, samples, mix, box, counts, g)
        _check_fine_grid(tv_fn, mix, g)


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
