"""01_theory, ``histogram_tv``: wrong implementations (``BUGS``: each must fail
``check_histogram_tv``) and correct ones written differently (``ALT_CORRECT``: each must pass)."""

from __future__ import annotations

import math
import types

import numpy as np
import torch

from ebm_course import toy
from ebm_course.instructor.assignments.theory import checks

from .grid_log_partition import log_z_linspace_nodes


def _tv_from_bins(idx, keep, energy_fn, box, n_bins):
    """0.5 * sum |p_hist - softmax(-E(centres))| for the kept (row, col) bins."""
    flat = idx[keep, 0] * n_bins + idx[keep, 1]
    p_hist = torch.bincount(flat, minlength=n_bins * n_bins).float()
    p_hist = p_hist / p_hist.sum()
    centres, _ = toy.grid_points(box, n_bins)
    with torch.no_grad():
        p_exact = torch.softmax(-energy_fn(centres), 0)
    return 0.5 * (p_hist - p_exact).abs().sum().item()


def tv_clamps_outside(samples, energy_fn, box, n_bins):
    """Clamps bin indices into [0, n_bins - 1]: samples outside land in the edge cells."""
    low, high = box
    idx = ((samples - low) / (high - low) * n_bins).floor().long().clamp(0, n_bins - 1)
    return _tv_from_bins(idx, torch.ones(len(idx), dtype=torch.bool), energy_fn, box, n_bins)


def tv_truncates_toward_zero(samples, energy_fn, box, n_bins):
    """.long() without floor(): samples just below the low edge land in the first cell."""
    low, high = box
    idx = ((samples - low) / (high - low) * n_bins).long()
    keep = ((idx >= 0) & (idx < n_bins)).all(1)
    return _tv_from_bins(idx, keep, energy_fn, box, n_bins)


def tv_exp_without_shift(samples, energy_fn, box, n_bins):
    """p_exact = exp(-E) / sum exp(-E): 0/0 or inf/inf for energies around +-500."""
    low, high = box
    idx = ((samples - low) / (high - low) * n_bins).floor().long()
    keep = ((idx >= 0) & (idx < n_bins)).all(1)
    flat = idx[keep, 0] * n_bins + idx[keep, 1]
    p_hist = torch.bincount(flat, minlength=n_bins * n_bins).float()
    p_hist = p_hist / p_hist.sum()
    centres, _ = toy.grid_points(box, n_bins)
    with torch.no_grad():
        w = torch.exp(-energy_fn(centres))
    return 0.5 * (p_hist - w / w.sum()).abs().sum().item()


def tv_energy_at_corners(samples, energy_fn, box, n_bins):
    """Exact masses at linspace(low, high, n_bins) (cell corners and the far edge), not centres."""
    low, high = box
    idx = ((samples - low) / (high - low) * n_bins).floor().long()
    keep = ((idx >= 0) & (idx < n_bins)).all(1)
    flat = idx[keep, 0] * n_bins + idx[keep, 1]
    p_hist = torch.bincount(flat, minlength=n_bins * n_bins).float()
    p_hist = p_hist / p_hist.sum()
    axis = torch.linspace(low, high, n_bins)
    pts = torch.stack(torch.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    with torch.no_grad():
        p_exact = torch.softmax(-energy_fn(pts), 0)
    return 0.5 * (p_hist - p_exact).abs().sum().item()


def tv_squeezes_indices(samples, energy_fn, box, n_bins):
    """.squeeze() on the (N, 2) bin indices: a single sample becomes a (2,) vector and fails."""
    low, high = box
    idx = ((samples - low) / (high - low) * n_bins).floor().long().squeeze()
    keep = ((idx >= 0) & (idx < n_bins)).all(1)
    return _tv_from_bins(idx, keep, energy_fn, box, n_bins)


def histogram_tv_python_loop(samples, energy_fn, box, n_bins):
    """A Python loop over the samples (floor in float64), a dict of counts, math.exp."""
    low, high = box
    counts, total = {}, 0
    for sx, sy in samples.double().tolist():
        i = math.floor((sx - low) / (high - low) * n_bins)
        j = math.floor((sy - low) / (high - low) * n_bins)
        if 0 <= i < n_bins and 0 <= j < n_bins:
            counts[i * n_bins + j] = counts.get(i * n_bins + j, 0) + 1
            total += 1
    centres, _ = toy.grid_points(box, n_bins)
    with torch.no_grad():
        energies = energy_fn(centres).double().tolist()
    e_min = min(energies)
    w = [math.exp(e_min - e) for e in energies]
    z = sum(w)
    return 0.5 * sum(abs(counts.get(c, 0) / total - w[c] / z) for c in range(n_bins * n_bins))


def _tv_via_grid_log_partition(samples, energy_fn, box, n_bins):
    """Exact cell masses exp(-E - log Z) * area, log Z from the notebook's grid_log_partition."""
    low, high = box
    idx = ((samples - low) / (high - low) * n_bins).floor().long()
    inside = ((idx >= 0) & (idx < n_bins)).all(1)
    flat = idx[inside, 0] * n_bins + idx[inside, 1]
    p_hist = torch.bincount(flat, minlength=n_bins * n_bins).float() / inside.sum()
    centres, area = toy.grid_points(box, n_bins)
    with torch.no_grad():
        log_z = grid_log_partition(energy_fn, box, n_bins, 2)  # noqa: F821  (notebook global)
        p_exact = torch.exp(-energy_fn(centres) - log_z) * area
    return float(0.5 * (p_hist - p_exact).abs().sum())


def _in_notebook(fn, name: str, **notebook_globals):
    """``fn`` re-created with its own globals (a notebook's namespace) holding notebook_globals."""
    namespace = dict(fn.__globals__, **notebook_globals)
    made = types.FunctionType(fn.__code__, namespace, name, fn.__defaults__, fn.__closure__)
    made.__doc__, made.__qualname__ = fn.__doc__, name
    namespace[name] = made
    return made


# A student's notebook whose own grid_log_partition is wrong: histogram_tv, correct, calls it.
# The check swaps the reference in (isolation), so the mistake costs points only once.
histogram_tv_via_grid_log_partition = _in_notebook(
    _tv_via_grid_log_partition, "histogram_tv_via_grid_log_partition",
    grid_log_partition=log_z_linspace_nodes)


def tv_counts_outside_samples(samples, energy_fn, box, n_bins):
    """Normalises the histogram by all samples, also those outside the box."""
    low, high = box
    idx = ((samples - low) / (high - low) * n_bins).floor().long()
    inside = ((idx >= 0) & (idx < n_bins)).all(1)
    flat = idx[inside, 0] * n_bins + idx[inside, 1]
    p_hist = torch.bincount(flat, minlength=n_bins * n_bins).float() / len(samples)
    centres, _ = toy.grid_points(box, n_bins)
    p_exact = torch.softmax(-energy_fn(centres), 0)
    return 0.5 * (p_hist - p_exact).abs().sum().item()


def histogram_tv_numpy(samples, energy_fn, box, n_bins):
    """numpy.histogram2d for the counts."""
    low, high = box
    s = samples.numpy()
    counts, _, _ = np.histogram2d(s[:, 0], s[:, 1], bins=n_bins, range=[[low, high], [low, high]])
    counts = counts / counts.sum()
    h = (high - low) / n_bins
    axis = low + h * (torch.arange(n_bins, dtype=torch.float32) + 0.5)
    grid = torch.stack(torch.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    with torch.no_grad():
        p = torch.softmax(-energy_fn(grid), 0).numpy()
    return float(0.5 * np.abs(counts.reshape(-1) - p).sum())


def tv_rounding_margin(samples, energy_fn, box, n_bins):
    """floor((x - low) / width + 1e-2) "against rounding errors": samples within a hundredth
    of a cell below an edge land in the cell above it."""
    low, high = box
    idx = ((samples - low) / (high - low) * n_bins + 1e-2).floor().long()
    keep = ((idx >= 0) & (idx < n_bins)).all(1)
    return _tv_from_bins(idx, keep, energy_fn, box, n_bins)


def histogram_tv_histogramdd(samples, energy_fn, box, n_bins):
    """torch.histogramdd over the box (its bins are [lo, hi), the last one closed)."""
    low, high = box
    s = samples.double()
    counts, _ = torch.histogramdd(s, bins=[n_bins, n_bins], range=[low, high, low, high])
    p_hist = counts.reshape(-1) / counts.sum()
    centres, _ = toy.grid_points(box, n_bins)
    with torch.no_grad():
        p_exact = torch.softmax(-energy_fn(centres).double(), 0)
    return float(0.5 * (p_hist - p_exact).abs().sum())


BUGS = [
    (checks.check_histogram_tv, tv_clamps_outside),
    (checks.check_histogram_tv, tv_truncates_toward_zero),
    (checks.check_histogram_tv, tv_exp_without_shift),
    (checks.check_histogram_tv, tv_energy_at_corners),
    (checks.check_histogram_tv, tv_squeezes_indices),
    (checks.check_histogram_tv, tv_counts_outside_samples),
    (checks.check_histogram_tv, tv_rounding_margin),
]


ALT_CORRECT = [
    (checks.check_histogram_tv, histogram_tv_python_loop),
    (checks.check_histogram_tv, histogram_tv_via_grid_log_partition),
    (checks.check_histogram_tv, histogram_tv_numpy),
    (checks.check_histogram_tv, histogram_tv_histogramdd),
]
