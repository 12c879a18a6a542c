"""Out-of-distribution detection with a classifier's logits: scores, metrics, a table.

Orientation, once for the whole course: every score is **higher = more in-distribution**, and
every metric labels the in-distribution (ID) set **1** and the OOD set 0. The metrics go through
``sklearn.metrics`` on raw scores. (torchmetrics' binary AUROC treats scores outside [0, 1] as
logits and squashes them with a sigmoid, which can collapse the AUROC to about 0.5.)

Scores, for a network with ``get_logits`` (sign convention in :mod:`ebm_course.models`):

* energy: ``-E(x) = logsumexp_y f(x)[y]`` (JEM's unnormalised log q(x));
* max-softmax: ``max_y softmax(f(x))[y]`` (the classifier baseline, Hendrycks & Gimpel 2017);
* input-gradient norm: ``-|| dE(x)/dx ||_2`` (data sit near energy minima, where the slope is small).
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from .util import eval_mode, map_batches, net_device

ScoreFn = Callable[[nn.Module, torch.Tensor], torch.Tensor]


#: ``metrics_fn(scores_id, scores_ood) -> {"auroc", "aupr", "fpr95"}``, higher score = more
#: in-distribution: assignment 5's ``ood_metrics``.
MetricsFn = Callable[[Sequence[float], Sequence[float]], dict]


def batched_scores(score_fn: ScoreFn, net: nn.Module, x: torch.Tensor,
                   batch_size: int = 256) -> np.ndarray:
    """``score_fn`` over a tensor of images in batches, eval mode, on the net's device: (N,)."""
    with eval_mode(net):
        scores = map_batches(lambda chunk: score_fn(net, chunk), x, batch_size, net_device(net))
    return scores.float().numpy()


def stretch_confidence(p: Sequence[float] | np.ndarray, floor: float = 1e-8) -> np.ndarray:
    """``-log(1 - p)`` of probabilities, for plots of the max-softmax score: (N,) float64.

    On its own axis [0, 1] an in-distribution set's max-softmax piles into the last bar (0.99,
    0.999 and 0.99999 look alike); ``-log(1 - p)`` spreads those out (2.3, 6.9, 11.5 nats) and,
    being increasing, keeps the orientation (higher = more ID), the ranking and any threshold
    (map it through too). ``1 - p`` is floored at ``floor``: float32 rounds many p to 1 exactly.
    """
    p = np.asarray(p, dtype=np.float64)
    return -np.log(np.maximum(1.0 - p, floor))

def score_density_plot(scores: Mapping[str, Sequence[float]], xlabel: str = "score",
                       title: str = "", ax=None, save=None, threshold: float | None = None,
                       scale_to: Sequence[str] | None = None):
    """Overlaid score densities (histogram + KDE) for ID and OOD sets, the ID set first:
    :func:`ebm_course.plotting.score_histograms` with a KDE (its arguments). Returns the axes."""
    from .plotting import score_histograms

    return score_histograms(scores, xlabel, title, ax, save, threshold=threshold,
                            scale_to=scale_to, kde=True)


def complexity_bits(x: torch.Tensor, level: int = 9) -> np.ndarray:
    """Input complexity (Serra et al. 2020): the length in bits of each image compressed
    losslessly, here 8-bit grayscale through zlib (the DEFLATE of PNG).

    Clean, flat images compress to a few thousand bits; textured paper, ink noise and uniform
    noise need many more. Serra et al. correct a likelihood with it, ``log p(x) + L(x) ln 2``
    (nats), because density models give simple images a high density whatever they show.

    Args:
        x: images (N, 1, H, W) in [-1, 1].
    Returns:
        (N,) float64 bits.
    """
    import zlib

    pixels = ((x.detach().cpu()[:, 0].clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()
    return np.array([8.0 * len(zlib.compress(image.tobytes(), level)) for image in pixels])


def evaluate(nets: Mapping[str, nn.Module], x_id: torch.Tensor,
             ood_sets: Mapping[str, torch.Tensor], score_fns: Mapping[str, ScoreFn],
             metrics_fn: MetricsFn) -> list[dict]:
    """Every (model, score, OOD set) triple: one row with auroc / aupr / fpr95.

    Args:
        nets: ``{name: network with get_logits}``.
        x_id: in-distribution images, (N, C, H, W).
        ood_sets: ``{name: images (M, C, H, W)}``.
        score_fns: ``{name: score_fn(net, x) -> (B,)}`` (assignment 5's scores).
        metrics_fn: assignment 5's ``ood_metrics``.
    Returns:
        rows ``{"model", "score", "ood", "auroc", "aupr", "fpr95"}``; each row also carries the raw
        scores under ``"_id"`` / ``"_ood"`` for plots (dropped by :func:`markdown_table`).
    """
    rows = []
    for model_name, net in nets.items():
        for score_name, fn in score_fns.items():
            s_id = batched_scores(fn, net, x_id)
            for ood_name, x_ood in ood_sets.items():
                s_ood = batched_scores(fn, net, x_ood)
                rows.append({"model": model_name, "score": score_name, "ood": ood_name,
                             **metrics_fn(s_id, s_ood), "_id": s_id, "_ood": s_ood})
    return rows


def markdown_table(rows: Sequence[Mapping], columns: Sequence[str] = (
        "model", "score", "ood", "auroc", "aupr", "fpr95"), digits: int = 3) -> str:
    """A GitHub-markdown table of ``rows`` (dicts); floats rounded to ``digits``."""
    def fmt(v):
        return f"{v:.{digits}f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(fmt(r[c]) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def results_dict(rows: Sequence[Mapping]) -> dict:
    """``{model: {score: {ood: {auroc, aupr, fpr95}}}}`` for results JSON files."""
    out: dict = {}
    for r in rows:
        out.setdefault(r["model"], {}).setdefault(r["score"], {})[r["ood"]] = {
            k: round(float(r[k]), 4) for k in ("auroc", "aupr", "fpr95")}
    return out


# ----------------------------------------------------------------------------- MNIST OOD sets


def mnist_ood_sets(n: int = 1000, root=None, seed: int = 0,
                   verbose: bool = True) -> dict[str, torch.Tensor]:
    """OOD sets for an MNIST model, (n, 1, 28, 28) in [-1, 1] each.

    Always the sets the course can make: scikit-learn's 8x8 digits upscaled (a different hand
    and resolution), MNIST test digits rotated by 180 degrees (a transformed MNIST, when MNIST
    is there) and uniform noise; and FashionMNIST and KMNIST test images when their files are
    under the data root (torchvision layout; ``make data`` unpacks Debian's FashionMNIST).
    Each set's draw does not depend on which others exist. Prints which sets it used.
    """
    from sklearn.datasets import load_digits

    from .data import dataset_available, load_mnist_family

    gen = torch.Generator().manual_seed(seed)
    made: dict[str, torch.Tensor] = {}
    notes = []
    digits = torch.tensor(load_digits().images, dtype=torch.float32)[:, None] / 16.0
    digits = torch.nn.functional.interpolate(digits, size=20, mode="bilinear",
                                             align_corners=False)
    digits = torch.nn.functional.pad(digits, (4, 4, 4, 4)) * 2 - 1  # MNIST-like 20px + border
    made["sklearn-digits-8x8"] = digits[torch.randperm(len(digits), generator=gen)[:n]]
    notes.append("sklearn 8x8 digits upscaled")
    if dataset_available("MNIST", root):
        x = load_mnist_family("MNIST", train=False, root=root, download=False).tensors[0]
        made["MNIST-rotated"] = x[torch.randperm(len(x), generator=gen)[:n]].flip(2, 3)
        notes.append("MNIST rotated 180 degrees")
    noise = torch.rand((n, 1, 28, 28), generator=gen) * 2 - 1
    sets: dict[str, torch.Tensor] = {}
    files = torch.Generator().manual_seed(seed + 1)
    for name in ("FashionMNIST", "KMNIST"):
        if dataset_available(name, root):
            x = load_mnist_family(name, train=False, root=root, download=False).tensors[0]
            sets[name] = x[torch.randperm(len(x), generator=files)[:n]]
            notes.insert(len(sets) - 1, f"{name} (torchvision files)")
        else:
            notes.append(f"{name} not found under the data root")
    sets.update(made)
    sets["uniform-noise"] = noise
    notes.append("uniform noise")
    if verbose:
        print("MNIST OOD sets: " + "; ".join(notes))
    return sets


def glyphs_as_mnist(x: torch.Tensor) -> torch.Tensor:
    """Glyph images (N, 1, 56, 56), dark ink on light paper, as MNIST sees digits: 28x28 (area
    averaging), light ink on a dark ground; (N, 1, 28, 28) in [-1, 1]."""
    return -torch.nn.functional.interpolate(x, size=28, mode="area")


def mnist_ood_rows(nets: Mapping[str, nn.Module], score_fns: Mapping[str, ScoreFn],
                   metrics_fn: MetricsFn, n: int = 1000, root=None,
                   seed: int = 0, extra_sets: Mapping[str, torch.Tensor] | None = None,
                   verbose: bool = True) -> list[dict]:
    """:func:`evaluate` for MNIST models: MNIST test digits (ID) against :func:`mnist_ood_sets`
    (FashionMNIST and KMNIST when their files are under the data root, else the fallbacks),
    plus ``extra_sets`` ``{name: (M, 1, 28, 28)}`` (e.g. :func:`glyphs_as_mnist`).

    Returns:
        the rows of :func:`evaluate`; ``[]`` (and a printed line) when MNIST itself is absent.
    """
    from .data import dataset_available, load_mnist_family

    if not dataset_available("MNIST", root):
        print("MNIST not found under the data root: no MNIST OOD evaluation")
        return []
    x_id = load_mnist_family("MNIST", train=False, root=root, download=False).tensors[0]
    x_id = x_id[torch.randperm(len(x_id), generator=torch.Generator().manual_seed(seed))[:n]]
    sets = {**mnist_ood_sets(n, root, seed, verbose), **(extra_sets or {})}
    return evaluate(nets, x_id, sets, score_fns, metrics_fn)
