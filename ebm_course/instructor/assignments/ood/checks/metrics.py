"""Hidden checks of 05_ood_detection: ``threshold_at_tpr`` and ``ood_metrics``."""

from __future__ import annotations

import math

import numpy as np
import torch

from ebm_course.instructor.assignments.ood import reference as ref05
from ebm_course.instructor.grading.common import guard_checks, reference_in

_REF_THRESHOLD = ref05.threshold_at_tpr  # kept before any swap (check_ood_metrics)


def _f32(values: np.ndarray) -> np.ndarray:
    """Values exactly representable in float32 (so float32 code sees the same scores)."""
    return np.asarray(values, np.float32).astype(np.float64)


def _threshold_cases():
    """(scores, tpr, kind). tpr * N is either whole and exact in floating point (tpr dyadic,
    or the visible example's 0.95 on a multiple of 20) or at least 0.05 from a whole number."""
    rng = np.random.default_rng(2024)
    ints = rng.integers(0, 6, 41).astype(float)
    return [
        (rng.normal(0, 1, 1000), 0.95, "on many ID scores"),
        (rng.permutation(np.arange(100.0)), 0.95, "on distinct scores"),
        (rng.normal(0, 1, 7), 0.8, "when tpr * N is not a whole number"),
        (rng.normal(3, 2, 19), 0.9, "when tpr * N is not a whole number"),
        (rng.normal(0, 1, 101), 0.95, "when tpr * N is not a whole number"),
        (rng.normal(-2, 1, 12), 0.75, "when tpr * N is a whole number"),
        (rng.normal(0, 1, 1), 0.95, "on a single ID score"),
        (rng.normal(0, 1, 2), 0.5, "on few ID scores"),
        (rng.normal(0, 1, 3), 0.95, "on few ID scores"),
        (ints, 0.9, "with ties among the scores"),
        (ints[:40], 0.75, "with ties among the scores"),
        (rng.integers(0, 3, 30).astype(float), 0.5, "with ties among the scores"),
        (np.full(9, 1.5), 0.95, "when all scores are equal"),
        (rng.normal(0, 1, 50), 1.0, "when every ID score must be kept"),
        (rng.normal(0, 1, 50), 0.01, "with a very small tpr"),
        (rng.normal(0, 1, 23) * 1e300, 0.9, "with very large and very negative scores"),
        (-1e6 + rng.normal(0, 1, 30), 0.95, "with very negative scores"),
        (rng.normal(0, 1, 37).tolist(), 0.95, "when the scores are a Python list of floats"),
        (torch.from_numpy(rng.normal(0, 1, 64).astype(np.float32)), 0.95,
         "when the scores are a float32 torch tensor"),
        (torch.from_numpy(rng.normal(0, 1, 33)), 0.9,
         "when the scores are a float64 torch tensor"),
        (rng.normal(0, 1, 45).astype(np.float32), 0.95,
         "when the scores are a float32 numpy array"),
    ]


def _as_float64(scores) -> np.ndarray:
    if isinstance(scores, torch.Tensor):
        return scores.detach().cpu().double().numpy()
    return np.asarray(scores, dtype=np.float64)


def _copy(scores):
    """A fresh copy for the student's function (what it does to it stays there)."""
    if isinstance(scores, torch.Tensor):
        return scores.clone()
    return list(scores) if isinstance(scores, list) else scores.copy()


def _as_number(value, what: str) -> float:
    if isinstance(value, torch.Tensor):
        assert value.numel() == 1, (
            f"{what}: expected one number, got a tensor of shape {tuple(value.shape)}")
        value = value.item()
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise AssertionError(
            f"{what}: expected a number (float), got {type(value).__name__}") from None
    assert math.isfinite(number), f"{what}: expected a finite number, got {number}"
    return number


def check_threshold_at_tpr(threshold_fn) -> None:
    """The largest t with mean(scores_id >= t) >= tpr, i.e. the ceil(tpr * N)-th largest score:
    ties, tpr * N not whole, one or few scores, extreme values, lists / numpy / torch inputs."""
    for scores, tpr, kind in _threshold_cases():
        s = _as_float64(scores)
        t_ref = _REF_THRESHOLD(s, tpr)
        t = _as_number(threshold_fn(_copy(scores), tpr),
                       f"threshold_at_tpr(scores_id, tpr) {kind}")
        kept, kept_ref = int(np.sum(s >= t)), int(np.sum(s >= t_ref))
        assert kept >= kept_ref, (
            f"threshold_at_tpr {kind}: the threshold accepts (score >= t) fewer than a share tpr "
            f"of the ID scores (it should keep the ceil(tpr * N) highest ones, ties included)")
        assert kept <= kept_ref, (
            f"threshold_at_tpr {kind}: the threshold accepts more ID scores than needed; the "
            f"largest threshold that still accepts a share tpr is the ceil(tpr * N)-th largest "
            f"score")
        assert abs(t - t_ref) <= 1e-12 * max(1.0, abs(t_ref)), (
            f"threshold_at_tpr {kind}: the threshold should be exactly the ceil(tpr * N)-th "
            f"largest score (the largest t that works), not a value between two scores nor a "
            f"rounded copy of one (e.g. after a float32 conversion)")



def _metric_cases():
    """(scores_id, scores_ood, kind). Values exact in float32 except the Python lists' (so code
    that computes in float32 sees the same scores, ties and order)."""
    rng = np.random.default_rng(17)
    tie_id, tie_ood = rng.integers(0, 10, 57).astype(float), rng.integers(0, 7, 43).astype(float)
    return [
        (_f32(rng.normal(1, 1, 500)), _f32(rng.normal(0, 1, 300)), "on overlapping score sets"),
        (_f32(rng.normal(0, 1, 200)), _f32(rng.normal(0.3, 1, 801)),
         "when there are more OOD than ID inputs"),
        (_f32(rng.uniform(0, 1, 1001)), _f32(rng.uniform(0.5, 2, 99)),
         "when OOD inputs score higher"),
        (tie_id, tie_ood, "with ties among the scores"),
        (np.array([2.0, 2.0, 1.0, 3.0, 2.0]), np.array([2.0, 1.0, 2.0, 0.0]),
         "with ties at the threshold"),
        (_f32(rng.normal(0, 1, 1)), _f32(rng.normal(0, 1, 5)), "with a single ID input"),
        (_f32(rng.normal(1, 1, 6)), _f32(rng.normal(0, 1, 1)), "with a single OOD input"),
        (_f32(rng.normal(1, 1, 3)), _f32(rng.normal(0, 1, 2)), "with few ID and OOD inputs"),
        (_f32(rng.normal(1, 1, 19)), _f32(rng.normal(0, 1, 7)), "with few ID and OOD inputs"),
        (np.full(4, 3.0), np.full(3, 3.0), "when every score is equal"),
        (_f32(1e3 + rng.normal(1, 1, 40)), _f32(1e3 + rng.normal(0, 1, 30)),
         "with scores of 1e3 (raw scores, no sigmoid)"),
        (_f32(-1e4 + rng.normal(1, 2, 40)), _f32(-1e4 + rng.normal(0, 2, 25)),
         "with very negative scores (raw scores, no sigmoid)"),
        (_f32(rng.normal(1, 1, 30) * 1e30), _f32(rng.normal(0, 1, 20) * 1e30),
         "with very large and very negative scores"),
        (np.array([5.0, 6.0, 7.0]), np.array([-3.0, -2.0]),
         "when every ID score is above every OOD score"),
        (np.array([-3.0, -2.0]), np.array([5.0, 6.0, 7.0]),
         "when every ID score is below every OOD score"),
        (np.array([50.0, 60.0, 70.0]), np.array([20.0, 30.0]), "with scores far outside [0, 1]"),
        ([float(v) for v in rng.normal(1, 1, 25)], [float(v) for v in rng.normal(0, 1, 15)],
         "when the scores are Python lists"),
        (torch.from_numpy(rng.normal(1, 1, 50).astype(np.float32)),
         torch.from_numpy(rng.normal(0, 1, 35).astype(np.float32)),
         "when the scores are float32 torch tensors"),
        (rng.normal(1, 1, 60).astype(np.float32), rng.normal(0, 1, 21).astype(np.float32),
         "when the scores are float32 numpy arrays"),
    ]


_METRIC_MEANING = {
    "auroc": "roc_auc_score on the raw scores with ID labelled 1 (ties count one half)",
    "aupr": "average_precision_score on the raw scores with ID as the positive class (label 1)",
    "fpr95": ("the share of OOD scores >= the threshold that keeps 95% of the ID scores "
              "(the ceil(0.95 N)-th largest ID score)"),
}


def check_ood_metrics(metrics_fn) -> None:
    """AUROC / AUPR with ID labelled 1 on the raw scores, FPR at 95% TPR (OOD scores >= the
    threshold): ties, one or few inputs per set, extreme scores, lists / numpy / torch inputs."""
    with reference_in(metrics_fn, "threshold_at_tpr", _REF_THRESHOLD):
        for s_id, s_ood, kind in _metric_cases():
            want = ref05.ood_metrics(_as_float64(s_id), _as_float64(s_ood))
            got = metrics_fn(_copy(s_id), _copy(s_ood))
            assert isinstance(got, dict) and {"auroc", "aupr", "fpr95"} <= set(got), (
                f"ood_metrics {kind}: expected a dict with keys 'auroc', 'aupr', 'fpr95'")
            for key in ("auroc", "aupr", "fpr95"):
                value = _as_number(got[key], f"ood_metrics(...)['{key}'] {kind}")
                err = abs(value - want[key])
                assert err <= 1e-6, (
                    f"ood_metrics['{key}'] {kind}: differs from the reference (abs error "
                    f"{err:.2g}); expected {_METRIC_MEANING[key]}")


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
