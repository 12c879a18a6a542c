"""Hidden checks of 04_glyph_jem: ``expected_calibration_error``."""

from __future__ import annotations

import math

import torch

from ebm_course.instructor.grading.common import guard_checks

from ._shared import _single_threaded


def _ece_reference(conf: torch.Tensor, correct: torch.Tensor, n_bins: int) -> float:
    conf, correct = conf.double(), correct.double()
    total = 0.0
    for b in range(n_bins):
        lo, hi = b / n_bins, (b + 1) / n_bins
        in_bin = (conf > lo) & (conf <= hi) if b else (conf <= hi)
        if in_bin.any():
            total += in_bin.double().mean().item() * abs(
                correct[in_bin].mean().item() - conf[in_bin].mean().item())
    return total


def _probs_with(conf: torch.Tensor, k: int) -> torch.Tensor:
    """Probabilities (N, K) whose largest entry is ``conf`` at class 0, the rest spread evenly."""
    rest = ((1 - conf) / (k - 1))[:, None].expand(-1, k - 1)
    return torch.cat([conf[:, None], rest], 1)


@_single_threaded
def check_expected_calibration_error(ece_fn) -> None:
    """ECE: a float; 0 for a perfectly calibrated case; |accuracy - confidence| for one bin;
    each bin weighted by its share of the inputs; equal-width bins (lo, hi] of the top-class
    probability; the given n_bins; accuracy of the argmax (not of the label's probability)."""
    def ece(probs, labels, n_bins=15, what=""):
        got = ece_fn(probs, labels, n_bins)
        got = float(got.item() if isinstance(got, torch.Tensor) else got)
        assert math.isfinite(got), f"expected_calibration_error {what}: got {got}"
        return got

    k = 4
    conf = torch.full((10,), 0.8)
    labels = torch.tensor([0] * 8 + [1] * 2)  # 80% right at confidence 0.8: calibrated
    assert abs(ece(_probs_with(conf, k), labels, 10, "calibrated")) < 1e-6, (
        "expected_calibration_error: 10 inputs at confidence 0.8 of which 8 are right should give "
        "ECE 0")
    labels = torch.tensor([0] * 5 + [1] * 5)
    got = ece(_probs_with(conf, k), labels, 10, "one bin")
    assert abs(got - 0.3) < 1e-6, (
        f"expected_calibration_error: confidence 0.8 with accuracy 0.5 in one bin should give "
        f"|0.5 - 0.8| = 0.3, got {got:.4g}")
    gen = torch.Generator().manual_seed(0)
    for n, n_bins, k, what in [(500, 15, 5, "on 500 random inputs, 15 bins"),
                               (333, 7, 3, "with n_bins = 7"), (1, 10, 4, "on a single input"),
                               (200, 1, 6, "with one bin")]:
        logits = 3 * torch.randn(n, k, generator=gen)
        probs = logits.softmax(1)
        labels = torch.randint(k, (n,), generator=gen)
        conf, pred = probs.max(1)
        want = _ece_reference(conf, (pred == labels), n_bins)
        got = ece(probs, labels, n_bins, what)
        assert abs(got - want) < 1e-5, (
            f"expected_calibration_error {what}: got {got:.5f}; expected the share-weighted "
            "mean over the bins of |accuracy - mean confidence|, with equal-width bins of the "
            "largest probability and the argmax as the prediction")
    conf = torch.tensor([0.25, 0.5, 0.5, 0.75, 1.0])  # on the edges of 4 bins (exact in binary)
    probs = _probs_with(conf, 5).double()  # the top class stays class 0
    labels = torch.tensor([1, 0, 0, 0, 1])
    want = _ece_reference(conf, labels == 0, 4)
    got = ece(probs, labels, 4, "with float64 probabilities and confidences on bin edges")
    assert abs(got - want) < 1e-6, (
        f"expected_calibration_error with confidences on bin edges: bins are (lo, hi], so a "
        f"confidence of exactly 0.5 with 4 bins belongs to (0.25, 0.5]; got {got:.4g}, expected "
        f"{want:.4g}")


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
