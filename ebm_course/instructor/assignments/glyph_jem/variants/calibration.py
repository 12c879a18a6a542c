"""04_glyph_jem, ``expected_calibration_error``: wrong implementations (``BUGS``: each must fail
``check_expected_calibration_error``) and correct ones written differently (``ALT_CORRECT``:
each must pass)."""

from __future__ import annotations

import math

import numpy as np
import torch

from ebm_course.instructor.assignments.glyph_jem import checks


def _ece_parts(probs, labels):
    conf, pred = probs.max(1)
    return conf.double(), (pred == labels).double()


def ece_unweighted_bins(probs, labels, n_bins=15):
    """Averages the bins' gaps without weighting them by their share of the inputs."""
    conf, correct = _ece_parts(probs, labels)
    bins = torch.bucketize(conf, torch.linspace(0, 1, n_bins + 1, dtype=torch.float64)[1:-1])
    gaps = [(correct[bins == b].mean() - conf[bins == b].mean()).abs() for b in range(n_bins)
            if (bins == b).any()]
    return float(torch.stack(gaps).mean())


def ece_signed(probs, labels, n_bins=15):
    """Sums the signed gaps: over- and under-confident bins cancel."""
    conf, correct = _ece_parts(probs, labels)
    bins = torch.bucketize(conf, torch.linspace(0, 1, n_bins + 1, dtype=torch.float64)[1:-1])
    total = 0.0
    for b in range(n_bins):
        m = bins == b
        if m.any():
            total += m.double().mean() * (correct[m].mean() - conf[m].mean())
    return abs(float(total))


def ece_label_probability(probs, labels, n_bins=15):
    """Uses the probability of the true label as the confidence."""
    conf = probs.gather(1, labels[:, None]).squeeze(1).double()
    correct = (probs.argmax(1) == labels).double()
    bins = torch.bucketize(conf, torch.linspace(0, 1, n_bins + 1, dtype=torch.float64)[1:-1])
    total = 0.0
    for b in range(n_bins):
        m = bins == b
        if m.any():
            total += m.double().mean() * (correct[m].mean() - conf[m].mean()).abs()
    return float(total)


def ece_fixed_bins(probs, labels, n_bins=15):
    """Ignores n_bins: always 10 bins."""
    conf, correct = _ece_parts(probs, labels)
    bins = torch.bucketize(conf, torch.linspace(0, 1, 11, dtype=torch.float64)[1:-1])
    total = 0.0
    for b in range(10):
        m = bins == b
        if m.any():
            total += m.double().mean() * (correct[m].mean() - conf[m].mean()).abs()
    return float(total)


def ece_global_gap(probs, labels, n_bins=15):
    """|accuracy - mean confidence| over all inputs: one bin whatever n_bins says."""
    conf, correct = _ece_parts(probs, labels)
    return float((correct.mean() - conf.mean()).abs())


def ece_left_closed_bins(probs, labels, n_bins=15):
    """Bins [lo, hi) (floor of conf * n_bins): a confidence on an edge lands one bin up."""
    conf, correct = _ece_parts(probs, labels)
    bins = (conf * n_bins).floor().clamp(max=n_bins - 1).long()
    total = 0.0
    for b in range(n_bins):
        m = bins == b
        if m.any():
            total += m.double().mean() * (correct[m].mean() - conf[m].mean()).abs()
    return float(total)




def ece_histogram_sums(probs, labels, n_bins=15):
    """Per-bin sums with index_add; the weights |B|/N folded into the sums."""
    conf, correct = _ece_parts(probs, labels)
    bins = (torch.ceil(conf * n_bins) - 1).clamp(0, n_bins - 1).long()  # (lo, hi]
    edges = torch.linspace(0, 1, n_bins + 1, dtype=torch.float64)
    bins = torch.where(conf > edges[bins + 1], bins + 1, bins)  # round-off at the edges
    bins = torch.where((bins > 0) & (conf <= edges[bins]), bins - 1, bins).clamp(0, n_bins - 1)
    s_conf = torch.zeros(n_bins, dtype=torch.float64).index_add_(0, bins, conf)
    s_corr = torch.zeros(n_bins, dtype=torch.float64).index_add_(0, bins, correct)
    return float((s_corr - s_conf).abs().sum() / len(conf))


def ece_numpy_digitize(probs, labels, n_bins=15):
    """NumPy: np.digitize with right=True on the interior edges."""
    conf, correct = (t.numpy() for t in _ece_parts(probs, labels))
    bins = np.digitize(conf, np.linspace(0, 1, n_bins + 1)[1:-1], right=True)
    return sum(abs(correct[bins == b].mean() - conf[bins == b].mean()) * np.mean(bins == b)
               for b in range(n_bins) if np.any(bins == b))


def ece_accuracy_of_labels_only(probs, labels, n_bins=15):
    """Counts a prediction as right when the label's probability exceeds 0.5 (not the argmax)."""
    conf = probs.max(1).values.double()
    correct = (probs.gather(1, labels[:, None]).squeeze(1) > 0.5).double()
    bins = torch.bucketize(conf, torch.linspace(0, 1, n_bins + 1, dtype=torch.float64)[1:-1])
    return float(sum((bins == b).double().mean() * (correct[bins == b].mean() - conf[bins == b].mean()).abs()
                     for b in range(n_bins) if (bins == b).any()))


def ece_sorted_chunks(probs, labels, n_bins=15):
    """Python loop over the inputs, bins by ceil(conf * n_bins) - 1 (i.e. (lo, hi])."""
    conf, pred = probs.max(1)
    sums = {}
    for c, p, l in zip(conf.double().tolist(), pred.tolist(), labels.tolist()):
        b = min(max(math.ceil(c * n_bins) - 1, 0), n_bins - 1)
        s_c, s_a, m = sums.get(b, (0.0, 0.0, 0))
        sums[b] = (s_c + c, s_a + float(p == l), m + 1)
    return sum(abs(s_a - s_c) for s_c, s_a, _ in sums.values()) / len(conf)


BUGS = [
    (checks.check_expected_calibration_error, ece_unweighted_bins),
    (checks.check_expected_calibration_error, ece_signed),
    (checks.check_expected_calibration_error, ece_label_probability),
    (checks.check_expected_calibration_error, ece_fixed_bins),
    (checks.check_expected_calibration_error, ece_global_gap),
    (checks.check_expected_calibration_error, ece_left_closed_bins),
    (checks.check_expected_calibration_error, ece_accuracy_of_labels_only),
]


ALT_CORRECT = [
    (checks.check_expected_calibration_error, ece_histogram_sums),
    (checks.check_expected_calibration_error, ece_numpy_digitize),
    (checks.check_expected_calibration_error, ece_sorted_chunks),
]
