"""Hidden checks of assignment 05_ood_detection. Each grades one part against the reference."""

from __future__ import annotations

import numpy as np
import torch

from ..reference import glyph_jem as ref04, ood as ref05
from .common import expect_close, expect_tensor, guard_checks


def _net(seed: int, k: int = 6):
    torch.manual_seed(seed)
    net = ref04.GlyphCNN(1, 20, 8, k).eval()
    x = torch.rand(10, 1, 20, 20) * 2 - 1
    return net, x


def _check_score(score_fn, ref_fn, name: str, atol: float = 1e-5) -> None:
    for seed, k in ((1, 6), (2, 42), (3, 1)):
        net, x = _net(seed, k)
        with torch.no_grad():  # a score must work in evaluation code too
            got = score_fn(net, x)
        got = expect_tensor(got, f"{name}(net, x) with B=10, K={k}", (10,))
        expect_close(got, ref_fn(net, x), f"{name} (K={k})", atol=atol)
        assert all(p.grad is None for p in net.parameters()), (
            f"{name} accumulated gradients in the network's parameters")


def check_energy_score(score_fn) -> None:
    """-E(x) = logsumexp of the logits: higher = more in-distribution."""
    _check_score(score_fn, ref05.energy_score, "energy_score")


def check_max_softmax_score(score_fn) -> None:
    """The largest softmax probability."""
    _check_score(score_fn, ref05.max_softmax_score, "max_softmax_score")


def check_grad_norm_score(score_fn) -> None:
    """Minus the L2 norm of dE/dx per image, E = -logsumexp f(x)."""
    _check_score(score_fn, ref05.grad_norm_score, "grad_norm_score", atol=1e-4)
    net, x = _net(4)
    got = score_fn(net, x).detach()
    assert (got <= 0).all(), "grad_norm_score is MINUS a norm: higher (closer to 0) = flatter = more ID"


def _cases():
    rng = np.random.default_rng(17)
    return [(rng.normal(1, 1, 500), rng.normal(0, 1, 300)),
            (rng.normal(0, 1, 200), rng.normal(0, 1, 800)),
            (rng.uniform(0, 1, 1000), rng.uniform(0.5, 2, 100))]


def check_ood_metrics(metrics_fn) -> None:
    """AUROC / AUPR with ID labelled 1 on raw scores, FPR at 95% TPR; orientation checked."""
    for s_id, s_ood in _cases():
        got = metrics_fn(s_id, s_ood)
        assert isinstance(got, dict) and {"auroc", "aupr", "fpr95"} <= set(got), (
            "ood_metrics should return a dict with keys 'auroc', 'aupr', 'fpr95'")
        want = ref05.ood_metrics(s_id, s_ood)
        for key in ("auroc", "aupr", "fpr95"):
            assert abs(float(got[key]) - want[key]) < 2e-3, (
                f"ood_metrics {key}: expected {want[key]:.4f}, got {float(got[key]):.4f} "
                "(label ID 1, OOD 0; raw scores, higher = more ID; AUPR with ID as positive)")
    perfect = metrics_fn(np.array([5.0, 6.0, 7.0]), np.array([-3.0, -2.0]))
    assert abs(perfect["auroc"] - 1.0) < 1e-9 and abs(perfect["fpr95"]) < 1e-9, (
        "ID scores all above OOD scores must give AUROC 1 and FPR95 0: check the label orientation")
    swapped = metrics_fn(np.array([-3.0, -2.0]), np.array([5.0, 6.0, 7.0]))
    assert abs(swapped["auroc"]) < 1e-9, "ID scores all below OOD scores must give AUROC 0"
    big = metrics_fn(np.array([50.0, 60.0, 70.0]), np.array([20.0, 30.0]))
    assert abs(big["auroc"] - 1.0) < 1e-9, (
        "scores far outside [0, 1] must work as raw scores (no sigmoid): AUROC should be 1")


def check_threshold_at_tpr(threshold_fn) -> None:
    """A threshold that accepts (score >= t) the same ID inputs as the reference's."""
    for s_id, _ in _cases():
        for tpr in (0.95, 0.8):
            t = float(threshold_fn(s_id, tpr))
            t_ref = ref05.threshold_at_tpr(s_id, tpr)
            kept, kept_ref = np.mean(s_id >= t), np.mean(s_id >= t_ref)
            assert kept == kept_ref, (
                f"threshold_at_tpr(tpr={tpr}) on {len(s_id)} ID scores should accept "
                f"{kept_ref:.1%} of them (the fewest that reach {tpr:.0%}, score >= threshold); "
                f"your threshold {t:.4f} accepts {kept:.1%}")


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
