"""OOD scores and metrics (orientation!), the MNIST-family OOD sets, and the hidden checks."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
import torch

from ebm_course import ood
from ebm_course.instructor.assignments.mnist_ebm import reference as ref03
from ebm_course.instructor.assignments.ood import checks as checks
from ebm_course.instructor.assignments.ood import reference as ref05

SCORES = {"energy": ref05.energy_score, "max-softmax": ref05.max_softmax_score,
          "grad-norm": ref05.grad_norm_score}


class LogitsOf(torch.nn.Module):
    """A plain classifier (``forward`` returns logits) with the ``get_logits`` the scores call."""

    def __init__(self, classifier: torch.nn.Module) -> None:
        super().__init__()
        self.classifier = classifier

    def get_logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(x)


def test_auroc_orientation_and_fpr95():
    perfect = ref05.ood_metrics([3.0, 4.0, 5.0], [0.0, 1.0])
    assert perfect == {"auroc": 1.0, "aupr": 1.0, "fpr95": 0.0}
    assert ref05.ood_metrics([0.0, 1.0], [3.0, 4.0, 5.0])["auroc"] == 0.0  # labels swapped
    assert ref05.ood_metrics([300.0, 400.0], [-100.0])["auroc"] == 1.0  # raw scores, no sigmoid
    ids, oods = np.arange(100.0), np.array([94.5, 4.5, 5.0, -1.0])
    # Threshold keeping 95 of 100 ID scores is 5: OOD scores 94.5 and 5.0 pass.
    assert ref05.threshold_at_tpr(ids, 0.95) == 5.0
    assert ref05.ood_metrics(ids, oods)["fpr95"] == 0.5


def test_scores_shapes_and_orientation():
    torch.manual_seed(0)
    net = ref03.CNNEnergy(1, 20, 8, 5)
    x = torch.rand(7, 1, 20, 20)
    for name, fn in SCORES.items():
        with torch.no_grad():
            s = fn(net, x)
        assert s.shape == (7,) and torch.isfinite(s).all(), name
    assert (ref05.grad_norm_score(net, x) <= 0).all()
    assert (ref05.max_softmax_score(net, x) <= 1).all()
    assert all(p.grad is None for p in net.parameters())


def test_evaluate_table_and_plot():
    torch.manual_seed(0)
    net = ref03.CNNEnergy(1, 20, 8, 3)
    rows = ood.evaluate({"m": net}, torch.rand(30, 1, 20, 20), {"noise": torch.randn(20, 1, 20, 20)},
                        SCORES, ref05.ood_metrics)
    assert len(rows) == 3 and {r["score"] for r in rows} == set(SCORES)
    table = ood.markdown_table(rows)
    assert table.count("\n") == 4 and "| m | energy | noise |" in table
    assert set(ood.results_dict(rows)["m"]["energy"]["noise"]) == {"auroc", "aupr", "fpr95"}
    import matplotlib

    matplotlib.use("Agg")
    ood.score_density_plot({"a": rows[0]["_id"], "b": rows[0]["_ood"], "const": np.zeros(5)})
    ax = ood.score_density_plot({"id": np.linspace(0, 1, 50), "far": np.full(20, 1e3)},
                                xlabel="-E(x)", threshold=0.05, scale_to=["id"])
    assert ax.get_xlim()[1] < 2 and "off the scale" in " ".join(t.get_text() for t in ax.get_legend().get_texts())
    spike = np.r_[np.full(200, 0.5), np.linspace(0.45, 0.55, 10)]  # a narrow set inside the range
    ax = ood.score_density_plot({"id": np.linspace(0, 1, 50), "spike": spike}, scale_to=["id"])
    assert ax.get_ylim()[1] < 3 and "peak cut" in " ".join(t.get_text() for t in ax.get_legend().get_texts())


def test_complexity_bits_rank_flat_below_textured_below_noise():
    gen = torch.Generator().manual_seed(0)
    flat = torch.ones(3, 1, 56, 56)
    textured = (torch.ones(3, 1, 56, 56) - 0.1 * torch.rand(3, 1, 56, 56, generator=gen)).clamp(-1, 1)
    noise = torch.rand(3, 1, 56, 56, generator=gen) * 2 - 1
    b = [ood.complexity_bits(x) for x in (flat, textured, noise)]
    assert b[0].shape == (3,) and (b[0] < b[1].min()).all() and (b[1] < b[2].min()).all()


def _write_idx(raw, name, images, labels):
    raw.mkdir(parents=True, exist_ok=True)
    n = len(images)
    img = struct.pack(">IIII", 2051, n, 28, 28) + images.astype(np.uint8).tobytes()
    lab = struct.pack(">II", 2049, n) + labels.astype(np.uint8).tobytes()
    for split in ("train", "t10k"):
        (raw / f"{split}-images-idx3-ubyte").write_bytes(img)
        (raw / f"{split}-labels-idx1-ubyte").write_bytes(lab)
        with gzip.open(raw / f"{split}-images-idx3-ubyte.gz", "wb") as f:
            f.write(img)
        with gzip.open(raw / f"{split}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(lab)


def test_mnist_ood_sets_use_fashion_and_kmnist_files(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for name in ("FashionMNIST", "KMNIST"):
        _write_idx(tmp_path / name / "raw", name, rng.integers(0, 256, (12, 28, 28)),
                   rng.integers(0, 10, 12))
    sets = ood.mnist_ood_sets(n=10, root=tmp_path)
    assert list(sets) == ["FashionMNIST", "KMNIST", "sklearn-digits-8x8", "uniform-noise"]
    assert sets["FashionMNIST"].shape == (10, 1, 28, 28)
    assert sets["KMNIST"].min() >= -1 and sets["KMNIST"].max() <= 1
    assert "torchvision files" in capsys.readouterr().out


def test_mnist_ood_sets_say_what_is_missing_and_keep_their_draws(tmp_path, capsys):
    """Without the dataset files the course's own sets remain, drawn exactly as with them: a
    machine with FashionMNIST adds rows, it does not change the others."""
    sets = ood.mnist_ood_sets(n=10, root=tmp_path)  # nothing there
    assert list(sets) == ["sklearn-digits-8x8", "uniform-noise"]
    assert sets["sklearn-digits-8x8"].shape == (10, 1, 28, 28)
    assert "FashionMNIST not found" in capsys.readouterr().out
    rng = np.random.default_rng(0)
    _write_idx(tmp_path / "FashionMNIST" / "raw", "FashionMNIST", rng.integers(0, 256, (12, 28, 28)),
               rng.integers(0, 10, 12))
    more = ood.mnist_ood_sets(n=10, root=tmp_path)
    assert list(more) == ["FashionMNIST", "sklearn-digits-8x8", "uniform-noise"]
    for name in sets:
        assert torch.equal(sets[name], more[name]), name


# ---------------------------------------------------------------- hidden checks: pass and fail

def _bad_energy(net, x):
    return net.get_logits(x).detach().max(1).values


def _bad_msp(net, x):
    return net.get_logits(x).detach().max(1).values.sigmoid()


def _bad_grad(net, x):
    return -ref05.grad_norm_score(net, x)  # wrong orientation


def _bad_metrics(s_id, s_ood):
    return ref05.ood_metrics(s_ood, s_id)  # OOD labelled 1


def _bad_threshold(s_id, tpr=0.95):
    return float(np.quantile(s_id, tpr))  # keeps only 5%


@pytest.mark.parametrize("check, good, bad", [
    (checks.check_energy_score, ref05.energy_score, _bad_energy),
    (checks.check_max_softmax_score, ref05.max_softmax_score, _bad_msp),
    (checks.check_grad_norm_score, ref05.grad_norm_score, _bad_grad),
    (checks.check_ood_metrics, ref05.ood_metrics, _bad_metrics),
    (checks.check_threshold_at_tpr, ref05.threshold_at_tpr, _bad_threshold),
    (checks.check_typicality_score, ref05.typicality_score, lambda f, v: -np.asarray(ref05.typicality_score(f, v))),
])
def test_hidden_checks_pass_reference_and_catch_bug(check, good, bad):
    check(good)
    with pytest.raises(AssertionError):
        check(bad)


def test_mnist_ood_rows_score_fashion_and_kmnist_files(tmp_path):
    """The MNIST path of ood: MNIST test digits (ID) against FashionMNIST / KMNIST IDX files."""
    rng = np.random.default_rng(1)
    for name in ("MNIST", "FashionMNIST", "KMNIST"):
        _write_idx(tmp_path / name / "raw", name, rng.integers(0, 256, (12, 28, 28)),
                   rng.integers(0, 10, 12))
    torch.manual_seed(0)
    net = LogitsOf(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(28 * 28, 10)))
    rows = ood.mnist_ood_rows({"clf": net}, {"energy": ref05.energy_score}, ref05.ood_metrics,
                              n=8, root=tmp_path)
    assert [r["ood"] for r in rows] == ["FashionMNIST", "KMNIST", "sklearn-digits-8x8",
                                        "MNIST-rotated", "uniform-noise"]
    assert all(len(r["_id"]) == 8 and 0 <= r["auroc"] <= 1 for r in rows)


def test_mnist_ood_rows_add_extra_sets_such_as_glyphs(tmp_path, capsys):
    """Glyphs (56x56, dark ink on light paper) join an MNIST evaluation as 28x28 light ink on a
    dark ground, after the standard sets, and a quiet call prints nothing."""
    rng = np.random.default_rng(2)
    _write_idx(tmp_path / "MNIST" / "raw", "MNIST", rng.integers(0, 256, (12, 28, 28)),
               rng.integers(0, 10, 12))
    paper = torch.ones(5, 1, 56, 56)
    paper[:, :, 20:36, 26:30] = -1.0  # a dark vertical stroke, 16 x 4 pixels
    as_mnist = ood.glyphs_as_mnist(paper)
    assert as_mnist.shape == (5, 1, 28, 28)
    assert as_mnist[0, 0, 0, 0] == -1.0 and as_mnist[0, 0, 14, 14] == 1.0  # ground dark, ink light
    assert as_mnist[0, 0, 10:18, 13:15].eq(1.0).all() and as_mnist.sum() < 0  # stroke kept, halved
    net = LogitsOf(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(28 * 28, 10)))
    rows = ood.mnist_ood_rows({"clf": net}, {"energy": ref05.energy_score}, ref05.ood_metrics,
                              n=8, root=tmp_path, extra_sets={"glyphs": as_mnist}, verbose=False)
    assert [r["ood"] for r in rows][-1] == "glyphs" and len(rows[-1]["_ood"]) == 5
    assert "MNIST OOD sets" not in capsys.readouterr().out


def test_mnist_ood_rows_without_mnist_is_empty(tmp_path, capsys):
    assert ood.mnist_ood_rows({}, SCORES, ref05.ood_metrics, n=4, root=tmp_path) == []
    assert "MNIST not found" in capsys.readouterr().out
