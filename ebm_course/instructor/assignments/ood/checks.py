"""Hidden checks of assignment 05_ood_detection. Each grades one part against the reference.

The graded parts are deterministic, so every check compares with the reference on fixed inputs
built under a forked (and restored) global random state: the verdict does not depend on the
global seed, and a check leaves the notebook's random state as it found it. Each check grades
its part alone: the score checks build the (reference) networks themselves, and
``check_ood_metrics`` runs the student's ``ood_metrics`` with the reference ``threshold_at_tpr``
in place of the notebook's for its duration.
"""

from __future__ import annotations

import contextlib
import copy
import math

import numpy as np
import torch

from ebm_course.instructor.assignments.mnist_ebm import reference as ref03
from ebm_course.instructor.assignments.ood import reference as ref05
from ebm_course.instructor.grading.common import (
    expect_close,
    expect_tensor,
    guard_checks,
    one_thread,
    reference_in,
)

_REF_THRESHOLD = ref05.threshold_at_tpr  # kept before any swap (check_ood_metrics)


# ---------------------------------------------------------------- networks for the scores

class _LinearLogits(torch.nn.Module):
    """Logits x.flatten(1) @ W + b. Like the notebook's exported networks it has get_logits only
    (no forward), and its parameters require gradients."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(weight)
        self.bias = torch.nn.Parameter(bias)

    def get_logits(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1) @ self.weight + self.bias


def _glyph_net(seed: int, k: int, b: int):
    """The course's CNN (reference get_logits), eval mode, and images in [-1, 1]."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = ref03.CNNEnergy(1, 20, 8, k).eval()
        x = torch.rand(b, 1, 20, 20) * 2 - 1
    return net, x


def _linear_net(seed: int, k: int, b: int, offset: float = 0.0, row_shift=None,
                dtype=torch.float32):
    """A linear logit network on 4x4 images whose logits sit around ``offset``; ``row_shift``
    (B,) moves every logit of image i by row_shift[i] (through a pixel with weight 1)."""
    gen = torch.Generator().manual_seed(seed)
    weight = torch.randn(16, k, generator=gen, dtype=torch.float64) * 0.7
    bias = offset + torch.randn(k, generator=gen, dtype=torch.float64) * 2
    x = torch.rand(b, 1, 4, 4, generator=gen, dtype=torch.float64) * 2 - 1
    if row_shift is not None:
        weight[0] = 1.0
        x[:, 0, 0, 0] = torch.as_tensor(row_shift, dtype=torch.float64)
    return _LinearLogits(weight.to(dtype), bias.to(dtype)), x.to(dtype)


def _score_cases():
    """(net, x, kind, called under no_grad): every shape and regime."""
    return [
        (*_glyph_net(1, 6, 10), "on a batch of images", True),
        (*_glyph_net(2, 42, 7), "with many classes, gradients enabled", False),
        (*_glyph_net(3, 1, 5), "with a single class (K = 1)", True),
        (*_glyph_net(4, 6, 1), "on a batch of one", True),
        (*_linear_net(5, 5, 4, offset=1e3), "with logits of 1e3", True),
        (*_linear_net(6, 5, 4, offset=-1e3), "with logits of -1e3", False),
        (*_linear_net(7, 7, 6, row_shift=[500.0, -500.0, 0.0, 480.0, -490.0, 10.0]),
         "with energies of +-500 in one batch", True),
        (*_linear_net(8, 3, 1, offset=-1e3), "on a batch of one with logits of -1e3", True),
        (*_linear_net(9, 1, 3, offset=800.0), "with one class and logits of 800", True),
        (*_linear_net(10, 6, 5, dtype=torch.float64), "with float64 inputs and network", True),
        (*_linear_net(11, 4, 3, row_shift=[600.0, -600.0, 5.0], dtype=torch.float64),
         "with float64 inputs and energies of +-600", False),
    ]


def _reference_scores(ref_fn, net, x: torch.Tensor) -> torch.Tensor:
    """The reference score computed in float64 on a copy, cast to the dtype of ``x``."""
    net64 = copy.deepcopy(net).double()
    for p in net64.parameters():
        p.grad = None
    return ref_fn(net64, x.detach().double()).detach().to(x.dtype)


def _set_sentinel_grads(net) -> list:
    """Give every parameter a recognisable .grad; return the (grad, copy) pairs."""
    saved = []
    for i, p in enumerate(net.parameters()):
        p.grad = torch.full_like(p, 0.25 + 0.01 * i)
        saved.append((p.grad, p.grad.clone()))
    return saved


def _grads_untouched(net, saved) -> bool:
    return all(p.grad is g and torch.equal(g, c) for p, (g, c) in zip(net.parameters(), saved))


def _check_score(score_fn, ref_fn, name: str, atol: float, rtol: float) -> None:
    """The score equals the reference (computed in float64) on every case of _score_cases, keeps
    the input's dtype, leaves the parameters' gradients and the input alone."""
    with one_thread():
        _check_score_cases(score_fn, ref_fn, name, atol, rtol)


def _check_score_cases(score_fn, ref_fn, name: str, atol: float, rtol: float) -> None:
    for net, x, kind, no_grad in _score_cases():
        want = _reference_scores(ref_fn, net, x)
        saved = _set_sentinel_grads(net)
        x_before = x.clone()
        with torch.no_grad() if no_grad else contextlib.nullcontext():
            got = score_fn(net, x)
        what = f"{name}(net, x) {kind}"
        got = expect_tensor(got, what, (len(x),))
        tol = (1e-9, 1e-9) if x.dtype == torch.float64 else (atol, rtol)
        expect_close(got, want, what, atol=tol[0], rtol=tol[1])
        assert _grads_untouched(net, saved), (
            f"{name} changed the network's parameter gradients (.grad) {kind}: a score must "
            "leave them as they are (no backward() into the parameters, no zero_grad())")
        assert torch.equal(x, x_before), f"{name} modified its input images in place {kind}"


# ---------------------------------------------------------------- the three scores

def check_energy_score(score_fn) -> None:
    """-E(x) = logsumexp of the logits, per image: on a batch of one, one class, large and very
    negative logits (stable logsumexp), float64 (dtype kept); parameter gradients untouched."""
    _check_score(score_fn, ref05.energy_score, "energy_score", atol=1e-4, rtol=2e-6)


def check_max_softmax_score(score_fn) -> None:
    """The largest softmax probability per image (softmax over the classes): on a batch of one,
    one class, large and very negative logits (stable softmax), float64 (dtype kept)."""
    _check_score(score_fn, ref05.max_softmax_score, "max_softmax_score", atol=1e-5, rtol=1e-4)


_GRAD_TOL = {"atol": 1e-7, "rtol": 1e-3}  # the CNN's input gradients are small: relative


def check_grad_norm_score(score_fn) -> None:
    """Minus the L2 norm of dE/dx per image, E = -logsumexp f(x): the cases of the other scores,
    under no_grad too; gradients reach only a detached copy of x (no parameter .grad, nothing in
    the caller's x or what x was computed from), and repeated calls agree."""
    _check_score(score_fn, ref05.grad_norm_score, "grad_norm_score", **_GRAD_TOL)
    with one_thread():
        _check_grad_flow(score_fn)


def _check_grad_flow(score_fn) -> None:
    """grad_norm_score differentiates a copy of x: no gradient anywhere else, no accumulation."""
    net, x = _glyph_net(12, 5, 4)
    want = _reference_scores(ref05.grad_norm_score, net, x)
    saved = _set_sentinel_grads(net)
    first = expect_tensor(score_fn(net, x), "grad_norm_score(net, x) on a batch of images", (4,))
    second = expect_tensor(score_fn(net, x), "grad_norm_score(net, x) called a second time", (4,))
    expect_close(second.detach(), first.detach(),
                 "grad_norm_score called twice on the same images: the second result should "
                 "equal the first (do gradients accumulate somewhere, e.g. in x.grad?)",
                 atol=1e-9, rtol=1e-5)
    expect_close(first.detach(), want, "grad_norm_score(net, x)", **_GRAD_TOL)
    assert _grads_untouched(net, saved), (
        "grad_norm_score changed the network's parameter gradients: differentiate with "
        "torch.autograd.grad with respect to x only")

    leaf = x.detach().clone().requires_grad_(True)  # the caller's x itself requires gradients
    got = expect_tensor(score_fn(net, leaf), "grad_norm_score when x requires grad", (4,))
    expect_close(got.detach(), want, "grad_norm_score when x requires grad", **_GRAD_TOL)
    assert leaf.grad is None, (
        "grad_norm_score left a gradient in the caller's x.grad: differentiate a detached copy "
        "of x (torch.autograd.grad), do not call backward() on the caller's tensor")

    base = x.detach().clone().requires_grad_(True)  # x is computed from a tensor needing grads
    derived = base * 1.0
    with torch.no_grad():
        got = score_fn(net, derived)
    got = expect_tensor(got, "grad_norm_score when x was computed from other tensors", (4,))
    expect_close(got.detach(), want, "grad_norm_score when x was computed from other tensors",
                 **_GRAD_TOL)
    assert base.grad is None, (
        "grad_norm_score sent gradients into the tensors x was computed from: differentiate a "
        "detached copy of x only")
    assert _grads_untouched(net, saved), (
        "grad_norm_score changed the network's parameter gradients when x requires grad")

    net, x = _glyph_net(13, 6, 6)
    got = score_fn(net, x).detach()
    assert (got <= 0).all(), (
        "grad_norm_score is MINUS a norm: higher (closer to 0) = flatter = more in-distribution")


# ---------------------------------------------------------------- threshold_at_tpr

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


# ---------------------------------------------------------------- ood_metrics

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


# ---------------------------------------------------------------- typicality


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
