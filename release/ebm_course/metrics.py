"""Sample quality, measured: Inception Score, confident share, classes present, Frechet distance.

Image-generation metrics need a classifier of the data. ImageNet's Inception network knows no
digits or glyphs, so, as for MNIST GAN papers, the package trains a small CNN once per dataset
(seeded, about a minute on a CPU, >= 98% MNIST test accuracy) and caches it under
``<data_root>/checkpoints/``. On generated samples ``x_model`` it gives:

* **Inception Score** ``IS = exp E_x[KL(p(y|x) || p(y))]``, ``p(y)`` the mean prediction: between 1
  (every sample the same class, or every prediction uniform) and K (confident and balanced).
* **confident share**: samples recognised with ``max_y p(y|x) > 0.9``; a blob scores low.
* **classes present**: classes that make at least ``min_share`` of the confident samples.
* **Frechet distance** (FID, here in this classifier's 128-d penultimate features rather than
  Inception's): ``|mu_a - mu_b|^2 + tr(C_a + C_b - 2 (C_a C_b)^(1/2))`` against real test images.

Numbers from this classifier compare runs of this course, not papers (their FID uses Inception).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from .config import data_root
from .util import atomic_path, eval_mode, map_batches, net_device

ARCH_VERSION = 1  # bump when Classifier changes: the cache key includes it


@dataclass(frozen=True)
class ClassifierConfig:
    """Training settings of the metric classifier (defaults: MNIST, ~1 min on 2 CPU cores)."""

    width: int = 16          # channels of the first conv; then 2x and 4x
    n_features: int = 128    # penultimate features, the space of the Frechet distance
    epochs: int = 3
    batch_size: int = 128
    lr: float = 2e-3
    seed: int = 0


class Classifier(nn.Module):
    """Three conv blocks (conv 3x3, ReLU, max-pool 2), then ``n_features`` ReLU units, K logits.

    Args:
        in_channels: image channels C.
        n_classes: number of logits K.
        width: channels of the first block (then 2x, 4x).
        n_features: width of the penultimate layer.
    """

    def __init__(self, in_channels: int = 1, n_classes: int = 10, width: int = 16,
                 n_features: int = 128) -> None:
        super().__init__()
        c1, c2, c3 = width, 2 * width, 4 * width
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(3),  # 28 -> 3, 56 -> 7 -> 3: one head for every image size
            nn.Flatten(), nn.Linear(9 * c3, n_features), nn.ReLU(),
        )
        self.head = nn.Linear(n_features, n_classes)
        self.kwargs = {"in_channels": in_channels, "n_classes": n_classes, "width": width,
                       "n_features": n_features}

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features, (B, C, H, W) -> (B, n_features)."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits, (B, C, H, W) -> (B, K)."""
        return self.head(self.body(x))

    def get_logits(self, x: torch.Tensor) -> torch.Tensor:
        """The logits again, under the name the course's scores call (assignment 5)."""
        return self.forward(x)


@torch.no_grad()
def classify(classifier: nn.Module, x: torch.Tensor,
             batch_size: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    """Class probabilities and penultimate features of images, in batches, on the CPU.

    Args:
        x: images (N, C, H, W) in [-1, 1].
    Returns:
        probs (N, K) and features (N, n_features), float32 on the CPU.
    """
    classifier.eval()
    device = net_device(classifier)
    feats = map_batches(lambda chunk: classifier.features(chunk.float()), x, batch_size, device)
    return classifier.head(feats.to(device)).softmax(dim=1).cpu(), feats


@torch.no_grad()
def predict_logits(net: nn.Module, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Logits of a tensor of images in batches, eval mode, on CPU: (N, K)."""
    with eval_mode(net):
        return map_batches(net.get_logits, x, batch_size, net_device(net))


@torch.no_grad()
def accuracy(net: nn.Module, dataset: TensorDataset, batch_size: int = 512) -> float:
    """Top-1 accuracy of any network with ``get_logits`` (the judge, a JEM, an export) on
    ``dataset`` (images, labels), in eval mode, in batches."""
    x, y = dataset.tensors[:2]
    return float((predict_logits(net, x.float(), batch_size).argmax(1) == y).float().mean())


def train_classifier(train_set: TensorDataset, n_classes: int,
                     config: ClassifierConfig = ClassifierConfig(),
                     log: Callable[[str], None] | None = print) -> Classifier:
    """Train a :class:`Classifier` with Adam, seeded (one-cycle learning rate, no augmentation).

    Args:
        train_set: ``TensorDataset(images (N, C, H, W) in [-1, 1], labels (N,) int64)``.
        n_classes: K.
        log: where to report the epoch losses (None: silent).
    Returns:
        the trained classifier, in eval mode, on the CPU.
    """
    gen = torch.Generator().manual_seed(config.seed)
    with torch.random.fork_rng():
        torch.manual_seed(config.seed)
        net = Classifier(train_set.tensors[0].shape[1], n_classes, config.width, config.n_features)
    loader = DataLoader(train_set, config.batch_size, shuffle=True, drop_last=True, generator=gen)
    opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, config.lr, total_steps=config.epochs * len(loader))
    net.train()
    for epoch in range(config.epochs):
        total = 0.0
        for x, y in loader:
            loss = F.cross_entropy(net(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        if log:
            log(f"metric classifier epoch {epoch + 1}/{config.epochs}: loss {total / len(loader):.4f}")
    return net.eval()


def checkpoint_dir(root: str | Path | None = None) -> Path:
    """``<data_root>/checkpoints``, where trained metric classifiers are cached."""
    return Path(root or data_root()) / "checkpoints"


def cached_classifier(name: str, datasets: Callable[[], tuple[TensorDataset, TensorDataset]],
                      n_classes: int, config: ClassifierConfig = ClassifierConfig(),
                      root: str | Path | None = None,
                      log: Callable[[str], None] | None = print) -> Classifier:
    """The metric classifier of dataset ``name``: loaded from the cache, else trained and saved.

    The cache file name holds a hash of the architecture version, ``n_classes`` and ``config``,
    so changing any of them trains a new one instead of loading a stale one.

    Args:
        name: dataset name, e.g. ``"mnist"``.
        datasets: returns ``(train_set, test_set)``; only called when training.
        root: data root (default ``EBM_COURSE_DATA`` / ``data/``).
    Returns:
        the classifier (eval mode, CPU) with ``test_accuracy`` (float) and ``cache_path`` set.
    """
    key = json.dumps({"arch": ARCH_VERSION, "n_classes": n_classes, **asdict(config)}, sort_keys=True)
    digest = hashlib.sha1(key.encode()).hexdigest()[:10]
    path = checkpoint_dir(root) / f"metric_classifier_{name}_{digest}.pt"
    if path.exists():
        saved = torch.load(path, map_location="cpu", weights_only=True)
        with torch.random.fork_rng(devices=[]):  # building it draws init weights: not from
            net = Classifier(**saved["kwargs"])   # the caller's random stream (see below)
        net.load_state_dict(saved["state_dict"])
        net.eval()
        test_accuracy = float(saved["test_accuracy"])
    else:
        # Training seeds torch; fork the RNG so that a notebook's later random draws are the
        # same whether the classifier was trained now or loaded (cold vs warm cache).
        with torch.random.fork_rng(devices=[]):
            train_set, test_set = datasets()
            net = train_classifier(train_set, n_classes, config, log)
            test_accuracy = accuracy(net, test_set)
        with atomic_path(path) as tmp:  # a concurrent reader never sees half a file
            torch.save({"kwargs": net.kwargs, "state_dict": net.state_dict(),
                        "test_accuracy": test_accuracy, "config": asdict(config)}, tmp)
        if log:
            log(f"metric classifier {name}: test accuracy {test_accuracy:.4f}, saved to {path}")
    net.test_accuracy, net.cache_path = test_accuracy, path
    return net


def mnist_classifier(root: str | Path | None = None, config: ClassifierConfig = ClassifierConfig(),
                     log: Callable[[str], None] | None = print) -> Classifier:
    """The cached MNIST metric classifier (trained on the 60,000 training images)."""
    from .data import load_mnist_family

    def datasets():
        return load_mnist_family("MNIST", True, root), load_mnist_family("MNIST", False, root)

    return cached_classifier("mnist", datasets, 10, config, root, log)


def glyph_classifier(glyphs, config: ClassifierConfig = ClassifierConfig(epochs=4),
                     root: str | Path | None = None,
                     log: Callable[[str], None] | None = print) -> Classifier:
    """The cached metric classifier of a :class:`ebm_course.glyphs.GlyphSet` (train split).

    The cache name includes the set's size and source, so a real glyph folder and the synthetic
    set never share a classifier.
    """
    tag = hashlib.sha1(f"{glyphs.source}|{len(glyphs.images)}".encode()).hexdigest()[:6]
    return cached_classifier(f"glyphs_{tag}", lambda: (glyphs.dataset("train"), glyphs.dataset("test")),
                             len(glyphs.classes), config, root, log)


def inception_score(probs: torch.Tensor) -> float:
    """``exp(mean_x KL(p(y|x) || p(y)))`` with ``p(y)`` the mean of the rows.

    Args:
        probs: class probabilities p(y|x), (N, K), rows summing to 1.
    Returns:
        IS in [1, K].
    """
    p = probs.double().clamp_min(1e-12)
    p_y = p.mean(dim=0, keepdim=True)
    kl = (p * (p.log() - p_y.log())).sum(dim=1)
    return float(kl.mean().exp())


def frechet_distance(feats_a: torch.Tensor, feats_b: torch.Tensor) -> float:
    """Frechet distance of two Gaussians fitted to feature sets.

    ``|mu_a - mu_b|^2 + tr(C_a) + tr(C_b) - 2 tr((C_a^(1/2) C_b C_a^(1/2))^(1/2))``; the last
    trace equals ``tr((C_a C_b)^(1/2))`` and, written with symmetric matrices, needs only
    ``eigh`` (no complex ``sqrtm``).

    Args:
        feats_a, feats_b: (N_a, D) and (N_b, D) features.
    Returns:
        the distance, >= 0 (float64 arithmetic).
    """
    a, b = feats_a.double().cpu().numpy(), feats_b.double().cpu().numpy()
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(cov_a)
    sqrt_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    cross = np.linalg.eigvalsh(sqrt_a @ cov_b @ sqrt_a)
    tr_sqrt = np.sqrt(np.clip(cross, 0, None)).sum()
    fd = ((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * tr_sqrt
    return float(max(fd, 0.0))


def sample_quality(classifier: nn.Module, x_model: torch.Tensor,
                   x_real: torch.Tensor | None = None, threshold: float = 0.9,
                   min_share: float = 0.01) -> dict:
    """All of this module's numbers for one set of generated images.

    Args:
        classifier: a :class:`Classifier` (e.g. :func:`mnist_classifier`).
        x_model: generated images, (N, C, H, W) in [-1, 1].
        x_real: real (test) images for the Frechet distance, (M, C, H, W); None: skip it.
        threshold: a sample is *confident* when its top class probability exceeds this.
        min_share: a class is *present* when it makes at least this share of the confident
            samples (a stray sample or two does not count as a class).
    Returns:
        dict: ``inception_score``, ``confident_share``, ``classes_present``, ``class_counts``
        (confident samples per class, a list of K ints), ``n_samples`` and, with ``x_real``,
        ``frechet_distance``.
    """
    probs, feats = classify(classifier, x_model)
    top, label = probs.max(dim=1)
    confident = top > threshold
    counts = torch.bincount(label[confident], minlength=probs.shape[1])
    n_conf = int(confident.sum())
    present = int((counts >= max(1, math.ceil(min_share * n_conf))).sum()) if n_conf else 0
    out = {"inception_score": inception_score(probs),
           "confident_share": n_conf / len(x_model),
           "classes_present": present,
           "class_counts": counts.tolist(),
           "n_samples": len(x_model)}
    if x_real is not None:
        out["frechet_distance"] = frechet_distance(feats, classify(classifier, x_real)[1])
    return out


def pairwise_diversity(x: torch.Tensor, n: int = 256, dtype: torch.dtype = torch.float64) -> float:
    """RMS pixel distance between pairs of images, averaged: up to ``n`` evenly spaced images
    of ``x`` (N, C, H, W), computed in ``dtype``. Uniform noise in [-1, 1] gives about 0.82,
    MNIST digits (scaled to [-1, 1]) about 0.73, copies of one image 0; NaN for fewer than
    two images. (``guard.buffer_diversity`` applies it to a sampler's buffer.)"""
    idx = torch.linspace(0, len(x) - 1, min(n, len(x))).long()
    flat = x[idx.to(x.device)].flatten(1).to(dtype)
    if len(flat) < 2:
        return float("nan")
    dist = torch.cdist(flat, flat) / math.sqrt(flat.shape[1])
    return float(dist.sum() / (len(flat) * (len(flat) - 1)))


def quality_table(rows: dict, digits: int = 3) -> str:
    """A markdown table of :func:`sample_quality` dicts, one row per named set of images (and
    the columns ``frechet_ratio_to_real`` and ``buffer_diversity`` where a row has them)."""
    columns = ["inception_score", "classes_present", "confident_share", "frechet_distance",
               "frechet_ratio_to_real", "buffer_diversity", "n_samples"]
    columns = [c for c in columns if any(c in r for r in rows.values())]
    lines = ["| images | " + " | ".join(c.replace("_", " ") for c in columns) + " |",
             "|---|" + "---|" * len(columns)]
    for name, r in rows.items():
        cells = [f"{r[c]:.{digits}g}" if isinstance(r.get(c), float) else str(r.get(c, ""))
                 for c in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
