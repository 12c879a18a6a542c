"""Figures of 2D EBMs: the data once, then per model its normalised log density on the grid,
exact samples of that density and the model's SGLD samples, one row per model."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping

import matplotlib.pyplot as plt
import torch

from .models import EnergyFn
from .toy import TOY_BOX, Box, grid_energy, grid_points, sample_grid

LOG_DENSITY_RANGE = 10.0  # nats: the colour scale spans max log p - 10 .. max log p


def energy_image(energy_fn: EnergyFn, box: Box = TOY_BOX, n_grid: int = 128) -> torch.Tensor:
    """E on an ``n_grid x n_grid`` grid, shaped (n_grid, n_grid) for ``imshow(img.T)``."""
    centres, _ = grid_points(box, n_grid)
    with torch.no_grad():
        return grid_energy(energy_fn, centres).reshape(n_grid, n_grid)


def log_density_image(energy_fn: EnergyFn, box: Box = TOY_BOX,
                      n_grid: int = 128) -> torch.Tensor:
    """``log p = -E - log Z`` (nats, Z summed over the grid, the model truncated to the box),
    shaped (n_grid, n_grid) for ``imshow(img.T)``."""
    energy = energy_image(energy_fn, box, n_grid)
    cell_area = ((box[1] - box[0]) / n_grid) ** 2
    return -energy - (torch.logsumexp(-energy.flatten(), 0) + math.log(cell_area))


def plot_toy_grid(title: str, x_data: torch.Tensor, models: Mapping[str, tuple],
                  box: Box = TOY_BOX, n_grid: int = 128, save: str | Path | None = None,
                  seed: int = 0):
    """One figure: the data once (left), then a row per model with its log density, exact
    samples of that density and its SGLD samples.

    The log density is drawn on a log scale (``LOG_DENSITY_RANGE`` nats below its maximum) so
    that weak modes, e.g. an outer ring with a tenth of the peak density, stay visible. The
    exact samples (grid cells drawn in proportion to their mass, jittered within the cell) show
    what the model itself looks like as a scatter: the difference to the data is the model's
    error, the difference to the SGLD column the sampler's. Both scatters show the same number
    of points.

    Args:
        title: figure title (the density's name).
        x_data: training points, (N, 2).
        models: ``{label: (energy_fn, x_samples)}``; x_samples (M, 2) drawn from the model.
        box: plotting range on both axes.
        n_grid: cells per axis for the log-density image and the exact samples.
        save: optional PNG path.
        seed: seeds the exact samples (their own generator: the global RNG is left alone).
    Returns:
        the figure.
    """
    n_rows = len(models)
    # 72 dpi on screen: five of these figures made 02's notebook 2.5 MB at the default 100
    fig = plt.figure(figsize=(10.5, 2.1 * n_rows + 0.4), dpi=72)
    grid = fig.add_gridspec(n_rows, 4, width_ratios=(1.25, 1.2, 1, 1))
    ax_data = fig.add_subplot(grid[:, 0])  # one panel for all rows: the data are the same
    ax_data.scatter(*x_data[:2000].T.cpu(), s=0.5, alpha=0.5, color="C0")
    ax_data.set(xlim=box, ylim=box, xticks=[], yticks=[], aspect="equal")
    ax_data.set_title(f"data ({min(len(x_data), 2000)} training points)", fontsize=9)
    generator = torch.Generator().manual_seed(seed)
    extent = (*box, *box)
    names = ("log p(x) = -E(x) - log Z", "exact samples of p", "SGLD samples")
    for i, (label, (energy_fn, x_samples)) in enumerate(models.items()):
        row = [fig.add_subplot(grid[i, j]) for j in (1, 2, 3)]
        log_p = log_density_image(energy_fn, box, n_grid)
        top = float(log_p.max())
        image = row[0].imshow(log_p.T, origin="lower", extent=extent, cmap="viridis",
                              vmin=top - LOG_DENSITY_RANGE, vmax=top)
        fig.colorbar(image, ax=row[0], shrink=0.8, extend="min", label="log p (nats)")
        x_shown = x_samples[:2000].cpu()
        x_exact = sample_grid(energy_fn, box, n_grid, len(x_shown), generator=generator)
        row[1].scatter(*x_exact.T, s=0.5, alpha=0.5, color="C2")
        row[2].scatter(*x_shown.T, s=0.5, alpha=0.5, color="C1")
        for ax, name in zip(row, names):
            ax.set(xlim=box, ylim=box, xticks=[], yticks=[], aspect="equal")
            ax.set_title(name, fontsize=9)
        row[0].set_ylabel(label, fontsize=9)
    fig.suptitle(title)
    fig.tight_layout()
    if save is not None:
        Path(save).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(save, dpi=90, bbox_inches="tight")
    return fig


def plot_densities(samples: Mapping[str, torch.Tensor], box: Box = TOY_BOX):
    """Scatter plots of several 2D data sets side by side; returns the figure."""
    fig, axes = plt.subplots(1, len(samples), figsize=(2.6 * len(samples), 2.6), squeeze=False)
    for ax, (name, x) in zip(axes[0], samples.items()):
        ax.scatter(*x[:3000].T.cpu(), s=0.5, alpha=0.5)
        ax.set(xlim=box, ylim=box, xticks=[], yticks=[], aspect="equal", title=name)
    fig.tight_layout()
    return fig
