"""06_sampling_likelihood, ``tv_distance``: wrong implementations (``BUGS``: each must fail
``check_tv_distance``) and correct ones written differently (``ALT_CORRECT``: each must pass)."""

from __future__ import annotations

import numpy as np
import torch

from ebm_course.instructor.assignments.sampling_likelihood import checks
from ebm_course.instructor.assignments.sampling_likelihood import reference as ref


def tv_no_half(samples, grid_probs, box):
    """The L1 distance, without the factor 1/2."""
    return 2 * ref.tv_distance(samples, grid_probs, box)


def tv_drops_outside(samples, grid_probs, box):
    """Normalises by the samples inside the box: mass outside is ignored."""
    n = grid_probs.shape[0]
    h, _, _ = np.histogram2d(samples[:, 0].double().numpy(), samples[:, 1].double().numpy(),
                             bins=n, range=[box, box])
    h = h / h.sum()
    return 0.5 * float(np.abs(h - grid_probs.double().numpy()).sum())


def tv_transposed(samples, grid_probs, box):
    """Cell (i, j) = i-th interval of the second coordinate."""
    return ref.tv_distance(samples.flip(1), grid_probs, box)


def tv_data_range_bins(samples, grid_probs, box):
    """Histogram bins over the samples' own range instead of the box."""
    n = grid_probs.shape[0]
    h, _, _ = np.histogram2d(samples[:, 0].double().numpy(), samples[:, 1].double().numpy(),
                             bins=n)
    h = h / len(samples)
    return 0.5 * float(np.abs(h - grid_probs.double().numpy()).sum())


def tv_max_difference(samples, grid_probs, box):
    """The largest cell difference (a sup over single cells), not the sum."""
    n = grid_probs.shape[0]
    h, _, _ = np.histogram2d(samples[:, 0].double().numpy(), samples[:, 1].double().numpy(),
                             bins=n, range=[box, box])
    return float(np.abs(h / len(samples) - grid_probs.double().numpy()).max())


def tv_round_not_floor(samples, grid_probs, box):
    """Cell index by rounding instead of flooring: every sample shifts by half a cell."""
    n = grid_probs.shape[0]
    low, high = box
    idx = torch.round((samples.double() - low) / (high - low) * n).long()
    inside = ((idx >= 0) & (idx < n)).all(1)
    counts = torch.bincount(idx[inside, 0] * n + idx[inside, 1], minlength=n * n).double()
    emp = counts / len(samples)
    return float(0.5 * ((emp - grid_probs.double().reshape(-1)).abs().sum() + 1 - inside.double().mean()))


def tv_distance_numpy(samples, grid_probs, box):
    """np.histogram2d over the box with the outside share added."""
    n = grid_probs.shape[0]
    s = samples.detach().double().numpy()
    h, _, _ = np.histogram2d(s[:, 0], s[:, 1], bins=n, range=[box, box])
    inside_share = h.sum() / len(s)
    return 0.5 * (np.abs(h / len(s) - grid_probs.double().numpy()).sum() + 1 - inside_share)


def tv_truncates_toward_zero(samples, grid_probs, box):
    """.long() without floor(): samples just below the low edge land in the first cell."""
    n = grid_probs.shape[0]
    low, high = box
    idx = ((samples.double() - low) / (high - low) * n).long()
    inside = ((idx >= 0) & (idx < n)).all(1)
    counts = torch.bincount(idx[inside, 0] * n + idx[inside, 1], minlength=n * n).double()
    emp = counts / len(samples)
    exact = grid_probs.double().reshape(-1)
    return float(0.5 * ((emp - exact).abs().sum() + 1 - inside.double().mean()))


def tv_distance_bucketize(samples, grid_probs, box):
    """torch.bucketize on the inner edges, the outside found from the coordinates themselves."""
    n = grid_probs.shape[0]
    low, high = box
    s = samples.double()
    inner = torch.linspace(low, high, n + 1, dtype=torch.float64)[1:-1]
    inside = ((s >= low) & (s < high)).all(1)
    idx = torch.bucketize(s[inside], inner, right=True)
    counts = torch.zeros(n, n, dtype=torch.float64)
    counts.index_put_((idx[:, 0], idx[:, 1]), torch.ones(len(idx), dtype=torch.float64),
                      accumulate=True)
    return float(0.5 * ((counts / len(s) - grid_probs.double()).abs().sum()
                        + (~inside).double().mean()))


BUGS = [
    (checks.check_tv_distance, tv_no_half),
    (checks.check_tv_distance, tv_drops_outside),
    (checks.check_tv_distance, tv_transposed),
    (checks.check_tv_distance, tv_data_range_bins),
    (checks.check_tv_distance, tv_max_difference),
    (checks.check_tv_distance, tv_round_not_floor),
    (checks.check_tv_distance, tv_truncates_toward_zero),
]


ALT_CORRECT = [
    (checks.check_tv_distance, ref.tv_distance),
    (checks.check_tv_distance, tv_distance_numpy),
    (checks.check_tv_distance, tv_distance_bucketize),
]
