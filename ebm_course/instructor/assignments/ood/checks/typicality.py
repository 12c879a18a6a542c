"""Hidden checks of 05_ood_detection: ``typicality_score``."""

from __future__ import annotations

import numpy as np
import torch

from ebm_course.instructor.assignments.ood import reference as ref05
from ebm_course.instructor.grading.common import guard_checks


def _typicality_case(seed: int, n: int, m: int, j: int):
    """Columns on very different scales and offsets; the scored set drawn wider than ID."""
    gen = np.random.default_rng(seed)
    loc = gen.normal(0, 1000, j)
    scale = 10.0 ** gen.uniform(-3, 4, j)
    val = loc + scale * gen.normal(size=(m, j))
    x = loc + 2 * scale * gen.normal(size=(n, j)) + scale * 0.5
    return x, val


def _typicality_values(fn, x, val, what: str) -> np.ndarray:
    got = fn(x.copy(), val.copy())
    if isinstance(got, torch.Tensor):
        got = got.detach().cpu().double().numpy()
    got = np.asarray(got, float)
    assert got.shape == (len(x),), (
        f"typicality_score {what}: expected one score per input, shape ({len(x)},), got "
        f"{got.shape}")
    assert np.isfinite(got).all(), f"typicality_score {what}: contains NaN or inf"
    return got


def check_typicality_score(score_fn) -> None:
    """typicality_score: one score per input, -max_j |z_j| with every column standardised by the
    ID validation set's mean and standard deviation (not the scored set's), two-sided (too high
    and too low are equally atypical), the worst column counts, on columns of any scale; one
    column; numpy arrays or lists."""
    for seed, n, m, j, what in [(0, 300, 4000, 2, "with two columns on different scales"),
                                (1, 50, 5000, 5, "with five columns"),
                                (2, 1, 3000, 3, "for a single input")]:
        x, val = _typicality_case(seed, n, m, j)
        got = _typicality_values(score_fn, x, val, what)
        want = ref05.typicality_score(x, val)
        err = np.abs(got - want).max()
        assert np.allclose(got, want, rtol=2e-3, atol=1e-6), (
            f"typicality_score {what}: values differ from -max_j |z_j| (max abs error {err:.3g}); "
            "standardise each column with the mean and standard deviation of features_val, "
            "take absolute values, the largest per input, and negate it")
    val = np.array([[0.0, 10.0], [2.0, 30.0]] * 500)  # mean (1, 20), std (1, 10)
    x = np.array([[4.0, 20.0], [-2.0, 20.0], [1.0, 60.0], [1.0, -20.0], [1.0, 20.0]])
    got = _typicality_values(score_fn, x, val, "on a hand-made case")
    assert got[0] == got[1] or abs(got[0] - got[1]) < 1e-3 * abs(got[0]), (
        "typicality_score: 3 standard deviations above and below the validation mean must be "
        "equally atypical (two-sided: use |z|)")
    assert abs(got[2] - got[3]) < 1e-3 * abs(got[2]) and got[2] < got[0], (
        "typicality_score: the column with the larger |z| decides (the maximum over columns)")
    assert abs(got[4]) < 1e-6 and (got[:4] < got[4]).all(), (
        "typicality_score: an input at the validation mean is the most typical (score 0, the "
        "highest); atypical inputs score lower (higher = more in-distribution)")
    one = _typicality_values(score_fn, np.array([[3.0], [1.0], [5.0]]),
                             np.array([[1.0], [3.0]] * 400), "with one column (N, 1)")
    assert np.allclose(one, [-1.0, -1.0, -3.0], rtol=2e-3), (
        "typicality_score with one column: expected -|z| = [-1, -1, -3]")
    as_lists = _typicality_values(score_fn, x.tolist(), val.tolist(), "on Python lists")
    assert np.allclose(as_lists, got, rtol=1e-6), "typicality_score should accept lists as well"


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
