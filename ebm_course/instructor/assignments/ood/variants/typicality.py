"""05_ood_detection, ``typicality_score``: wrong implementations (``BUGS``: each must fail
``check_typicality_score``) and correct ones written differently (``ALT_CORRECT``: each must
pass)."""

from __future__ import annotations

import math

import numpy as np
import torch

from ebm_course.instructor.assignments.ood import checks


def _arr(a):
    a = np.asarray(a, float)
    return a.reshape(len(a), -1)


def typ_one_sided(features, features_val):
    """Forgets the absolute value: inputs far *below* the mean look most typical."""
    x, v = _arr(features), _arr(features_val)
    return -((x - v.mean(0)) / v.std(0)).max(1)


def typ_own_statistics(features, features_val):
    """Standardises with the scored set's own mean and std (not the ID validation set's)."""
    x = _arr(features)
    return -np.abs((x - x.mean(0)) / x.std(0)).max(1)


def typ_sum_of_columns(features, features_val):
    """Sums |z| over the columns instead of taking the largest."""
    x, v = _arr(features), _arr(features_val)
    return -np.abs((x - v.mean(0)) / v.std(0)).sum(1)


def typ_not_standardised(features, features_val):
    """Centres but does not divide by the std: the column on the largest scale decides."""
    x, v = _arr(features), _arr(features_val)
    return -np.abs(x - v.mean(0)).max(1)


def typ_not_negated(features, features_val):
    """max |z| itself: higher = *less* typical, the wrong orientation."""
    x, v = _arr(features), _arr(features_val)
    return np.abs((x - v.mean(0)) / v.std(0)).max(1)


def typ_variance(features, features_val):
    """Divides by the variance where the standard deviation belongs."""
    x, v = _arr(features), _arr(features_val)
    return -np.abs((x - v.mean(0)) / v.var(0)).max(1)


def typ_global_std(features, features_val):
    """One mean and std over all columns together."""
    x, v = _arr(features), _arr(features_val)
    return -np.abs((x - v.mean()) / v.std()).max(1)


def typ_max_over_inputs(features, features_val):
    """Takes the maximum over the inputs (axis 0) and broadcasts: every input gets one score."""
    x, v = _arr(features), _arr(features_val)
    z = np.abs((x - v.mean(0)) / v.std(0)).max(0).max()
    return -np.full(len(x), z)


def typ_unbiased_torch(features, features_val):
    """torch, unbiased std (ddof 1), the maximum via torch.amax: correct."""
    x = torch.as_tensor(np.asarray(features, float)).reshape(len(features), -1)
    v = torch.as_tensor(np.asarray(features_val, float)).reshape(len(features_val), -1)
    return -((x - v.mean(0)) / v.std(0)).abs().amax(1)


def typ_loop_sqrt(features, features_val):
    """Columns one at a time, the std from the mean of squares, |z| as sqrt(z^2): correct."""
    x, v = _arr(features), _arr(features_val)
    worst = np.zeros(len(x))
    for j in range(x.shape[1]):
        mean = v[:, j].sum() / len(v)
        std = math.sqrt(((v[:, j] - mean) ** 2).mean())
        worst = np.maximum(worst, np.sqrt(((x[:, j] - mean) / std) ** 2))
    return -worst


BUGS = [
    (checks.check_typicality_score, typ_one_sided),
    (checks.check_typicality_score, typ_own_statistics),
    (checks.check_typicality_score, typ_sum_of_columns),
    (checks.check_typicality_score, typ_not_standardised),
    (checks.check_typicality_score, typ_not_negated),
    (checks.check_typicality_score, typ_variance),
    (checks.check_typicality_score, typ_global_std),
    (checks.check_typicality_score, typ_max_over_inputs),
]


ALT_CORRECT = [
    (checks.check_typicality_score, typ_unbiased_torch),
    (checks.check_typicality_score, typ_loop_sqrt),
]
