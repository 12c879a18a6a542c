"""Figures the notebooks show: image grids, chains over SGLD steps, score histograms."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from .util import import_torchvision

torchvision = import_torchvision()  # a clear error when torch and torchvision are no pair


def image_grid(images: torch.Tensor, nrow: int = 8) -> np.ndarray:
    """Tile images in [-1, 1], (B, C, H, W), into one (H', W', C) array in [0, 1]."""
    grid = torchvision.utils.make_grid(images.detach().cpu().float(), nrow=nrow, normalize=True,
                                       value_range=(-1, 1), pad_value=0.5)
    return grid.permute(1, 2, 0).numpy()


MAX_GRID_WIDTH = 14.0  # inches: wider grids are shrunk (a notebook shows ~10 in anyway)


def show_images(images: torch.Tensor, nrow: int = 8, title: str = "", ax=None,
                save: str | Path | None = None):
    """Show a grid of images in [-1, 1]; optionally save it as PNG. Returns the axes.

    A new figure is 0.9 in per image, at most ``MAX_GRID_WIDTH`` wide (42 glyph classes in a
    row would otherwise make a 38-inch figure and a megabyte of notebook).
    """
    if ax is None:
        n_rows = int(np.ceil(len(images) / nrow))
        n_cols = min(nrow, len(images))
        scale = min(0.9, MAX_GRID_WIDTH / n_cols)
        _, ax = plt.subplots(figsize=(n_cols * scale, n_rows * scale + 0.4))
    # nearest: each pixel as it is (a smoothing filter blurs strokes and bloats the PNG)
    ax.imshow(image_grid(images, nrow), cmap="gray", interpolation="nearest")
    ax.set_title(title)
    ax.axis("off")
    if save is not None:
        Path(save).parent.mkdir(parents=True, exist_ok=True)
        ax.figure.savefig(save, bbox_inches="tight", dpi=120)
    return ax


def show_chain(kept: Mapping[int, torch.Tensor], n_chains: int = 8, title: str = "",
               save: str | Path | None = None):
    """Rows = chains, columns = the SGLD steps kept by ``langevin_chain(keep_steps=...)``."""
    steps = sorted(kept)
    n = min(n_chains, len(kept[steps[0]]))
    frames = torch.stack([kept[s][:n] for s in steps], dim=1).flatten(0, 1)  # (n * S, C, H, W)
    _, ax = plt.subplots(figsize=(len(steps) * 0.9, n * 0.9 + 0.6))
    show_images(frames, nrow=len(steps), title=title, ax=ax)
    ax.set_xlabel("SGLD steps: " + ", ".join(map(str, steps)))
    ax.axis("on")
    ax.set_xticks([])
    ax.set_yticks([])
    if save is not None:
        Path(save).parent.mkdir(parents=True, exist_ok=True)
        ax.figure.savefig(save, bbox_inches="tight", dpi=120)
    return ax


def score_histograms(scores: Mapping[str, Sequence[float]], xlabel: str = "-E(x)",
                     title: str = "", ax=None, save: str | Path | None = None,
                     threshold: float | None = None, scale_to: Sequence[str] | None = None,
                     kde: bool = False):
    """Overlaid histograms (seaborn, density scale) of a score for several sets, e.g. test
    digits vs noise, or ID vs OOD sets (:func:`ebm_course.ood.score_density_plot`). Returns
    the axes.

    Args:
        scores: ``{set name: scores}``.
        xlabel: what the x-axis holds, e.g. ``"-E(x)"``; say the sign.
        threshold: a detection threshold (e.g. 95% TPR on ID data), drawn as a vertical line.
        scale_to: the sets whose scores set the x-range (e.g. the ID set and the near-OOD sets):
            a far-off set (uniform noise) then lies off the scale instead of squeezing the
            others into one bin, and the y-range follows their densities too (a narrow spike
            is cut, not the scale); the legend says how many of a set's scores are off the
            scale and whose peak is cut.
        kde: draw a kernel density estimate over each histogram.
    """
    import seaborn as sns

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.2) if kde else (6, 3.5))
    lo = hi = None
    if scale_to:
        ranged = np.concatenate([np.asarray(scores[k], float) for k in scale_to if k in scores])
        lo, hi = np.quantile(ranged, [0.005, 0.995])
        pad = 0.05 * (hi - lo) if hi > lo else 1.0
        lo, hi = lo - pad, hi + pad
    shown, labels, peaks = {}, {}, {}
    for name, values in scores.items():
        values = np.asarray(values, float)
        labels[name] = name
        if lo is not None:
            outside = float(np.mean((values < lo) | (values > hi)))
            if outside > 0.01:
                labels[name] = f"{name} ({outside:.0%} off the scale)"
            values = values[(values >= lo) & (values <= hi)]
            if len(values):
                peaks[name] = np.histogram(values, bins=np.linspace(lo, hi, 41), density=True)[0].max()
        shown[name] = values
    # the y-range follows the same sets: a narrow spike (uniform noise) is cut, not the scale
    top = max((peaks[k] for k in scale_to or () if k in peaks), default=None)
    if top:
        for name, peak in peaks.items():
            if peak > 1.25 * top:
                labels[name] += ", peak cut"
    for name, values in shown.items():
        if len(values) == 0:
            ax.plot([], [], label=labels[name])
            continue
        bins = np.linspace(lo, hi, 41) if lo is not None else 40
        smooth = kde and bool(len(values) > 1 and np.ptp(values) > 1e-8)  # no KDE of a constant
        sns.histplot(values, ax=ax, label=labels[name], stat="density", element="step", bins=bins,
                     kde=smooth, alpha=0.25)
    if top:
        ax.set_ylim(0, 1.25 * top)
    if threshold is not None:
        ax.axvline(threshold, color="k", linestyle="--", linewidth=1,
                   label="threshold (95% of ID kept)")
    if lo is not None:
        ax.set_xlim(lo, hi)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.legend(fontsize=7 if kde else None)
    if save is not None:
        Path(save).parent.mkdir(parents=True, exist_ok=True)
        ax.figure.savefig(save, bbox_inches="tight", dpi=120)
    return ax


def reliability_diagram(runs: Mapping[str, tuple[Sequence[float], Sequence[float]]],
                        n_bins: int = 15, min_count: int = 10, title: str = "",
                        save: str | Path | None = None):
    """Reliability diagram with the number of inputs in each bin drawn under it.

    Top: per equal-width confidence bin, the accuracy against the mean confidence (a calibrated
    model lies on the diagonal); bins holding fewer than ``min_count`` inputs are drawn as grey
    open markers off the line, since their accuracy is a handful of coin flips. Bottom: the
    bin counts (log scale), so a reader sees that most inputs sit in the top bin. The binning is
    sklearn's ``calibration_curve(strategy="uniform")``. Returns the figure.

    Args:
        runs: ``{label: (confidence (N,), correct (N,) 0/1)}``, one curve per model.
        n_bins: equal-width bins over [0, 1].
        min_count: bins with fewer inputs are greyed out.
        title: the top panel's title.
        save: optional PNG path.
    """
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    fig, (ax, ax_n) = plt.subplots(2, 1, figsize=(5, 6), sharex=True,
                                   gridspec_kw={"height_ratios": (3, 1.2)})
    ax.plot([0, 1], [0, 1], "k:", label="calibrated")
    width = (edges[1] - edges[0]) / (len(runs) + 1)
    small_conf, small_acc = [], []  # bins too small to trust, drawn once after the curves
    for k, (label, (confidence, correct)) in enumerate(runs.items()):
        confidence = np.asarray(confidence, dtype=float)
        correct = np.asarray(correct, dtype=float)
        bin_id = np.searchsorted(edges[1:-1], confidence)
        count = np.bincount(bin_id, minlength=n_bins)
        filled = count > 0
        conf = np.bincount(bin_id, weights=confidence, minlength=n_bins)[filled] / count[filled]
        acc = np.bincount(bin_id, weights=correct, minlength=n_bins)[filled] / count[filled]
        enough = count[filled] >= min_count
        ax.plot(conf[enough], acc[enough], "o-", color=f"C{k}", label=label)
        small_conf += list(conf[~enough])
        small_acc += list(acc[~enough])
        ax_n.bar(edges[:-1] + (k + 0.5) * width, count, width=width, align="edge",
                 color=f"C{k}", label=label)
    if small_conf:
        ax.plot(small_conf, small_acc, "o", mfc="none", color="grey",
                label=f"bin with < {min_count} inputs")
    ax.set(ylabel="accuracy in the bin", xlim=(0, 1), ylim=(-0.02, 1.02), title=title)
    ax.legend(fontsize=8, loc="upper left")
    ax_n.axhline(min_count, color="grey", ls="--", lw=1, label=f"{min_count} inputs")
    ax_n.set(yscale="log", ylabel="inputs per bin", xlabel="confidence max_y p(y|x)")
    ax_n.set_ylim(bottom=0.8)
    ax_n.legend(handles=ax_n.lines, fontsize=8, loc="upper left")
    fig.tight_layout()
    if save is not None:
        Path(save).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(save, bbox_inches="tight", dpi=120)
    return fig


#: Panels of :func:`training_dynamics`: title -> the logged metrics drawn in it.
DYNAMICS_PANELS = {
    "energies": ("energy_data", "energy_model"),
    "loss terms": ("loss_cd", "loss_reg", "loss_px", "loss_pyx"),
    "|dE/dx| at the samples": ("sample_grad_norm",),
    "accuracy": ("train_acc", "val_acc"),
}


def read_metrics(log_dir: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """A Lightning ``CSVLogger``'s ``metrics.csv`` as ``{name: (steps, values)}`` (NaNs dropped)."""
    import csv

    path = Path(log_dir) / "metrics.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: train with a CSVLogger first")
    columns: dict[str, tuple[list, list]] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            step = float(row.get("step") or "nan")
            for name, value in row.items():
                if name in ("step", "epoch") or value in ("", None):
                    continue
                columns.setdefault(name, ([], []))
                columns[name][0].append(step)
                columns[name][1].append(float(value))
    return {k: (np.asarray(s), np.asarray(v)) for k, (s, v) in columns.items()}


def training_dynamics(log_dir: str | Path, extra: Mapping[str, Sequence[tuple[int, float]]] = {},
                      title: str = "", save: str | Path | None = None):
    """What training did, one panel per quantity: energies, loss terms, the input gradient at
    the samples, accuracies (where logged), and ``extra`` series such as the divergence guard's
    buffer diversity (``{"buffer diversity": guard.quality}``). Returns the figure, or None
    (and says so) when nothing was logged yet.

    Args:
        log_dir: a ``CSVLogger``'s ``log_dir`` (holds ``metrics.csv``).
        extra: ``{panel title: [(step, value), ...]}``.
    """
    logged = (Path(log_dir) / "metrics.csv").is_file()
    metrics = read_metrics(log_dir) if logged else {}
    panels = [(name, [k for k in keys if k in metrics]) for name, keys in DYNAMICS_PANELS.items()]
    panels = [(name, keys) for name, keys in panels if keys]
    panels += [(name, [name]) for name, series in extra.items() if len(series)]
    if not panels:  # a run shorter than the logger's interval (log_every_n_steps) logs nothing
        print(f"training_dynamics: nothing was logged in {log_dir} (a run shorter than the "
              "logger's log_every_n_steps?): no figure")
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.0), squeeze=False)
    for ax, (name, keys) in zip(axes[0], panels):
        for key in keys:
            if key in metrics:
                steps, values = metrics[key]
            else:
                steps, values = (np.asarray(v, dtype=float) for v in zip(*extra[key]))
            ax.plot(steps, values, label=key, lw=1.2)
        ax.set_title(name)
        ax.set_xlabel("training step")
        if len(keys) > 1:
            ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    if save is not None:
        Path(save).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(save, bbox_inches="tight", dpi=120)
    return fig
