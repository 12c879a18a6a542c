"""Figures of 2D EBMs: data, learned energy, Boltzmann density and samples, one row per model."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import matplotlib.pyplot as plt
import torch

from .models import EnergyFn
from .toy import TOY_BOX, Box, grid_energy, grid_points


def energy_image(energy_fn: EnergyFn, box: Box = TOY_BOX, n_grid: int = 128) -> torch.Tensor:
    """E on an ``n_grid x n_grid`` grid, shaped (n_grid, n_grid) for ``imshow(img.T)``."""
    centres, _ = grid_points(box, n_grid)
    with torch.no_grad():
        return grid_energy(energy_fn, centres).reshape(n_grid, n_grid)


def plot_toy_grid(title: str, x_data: torch.Tensor, models: Mapping[str, tuple],
                  box: Box = TOY_BOX, n_grid: int = 128, save: str | Path | None = None):
    """One figure: a row per model with data, energy, density ``exp(-E) / max`` and samples.

    Args:
        title: figure title (the density's name).
        x_data: training points, (N, 2).
        models: ``{label: (energy_fn, x_samples)}``; x_samples (M, 2) drawn from the model.
        box: plotting range on both axes.
        n_grid: pixels per axis for the energy and density images.
        save: optional PNG path.
    Returns:
        the figure.
    """
    # 72 dpi on screen: five of these figures made 02's notebook 2.5 MB at the default 100
    fig, axes = plt.subplots(len(models), 4, figsize=(9, 2 * len(models)), squeeze=False,
                             dpi=72)
    extent = (*box, *box)
    for row, (label, (energy_fn, x_samples)) in zip(axes, models.items()):
        energy = energy_image(energy_fn, box, n_grid)
        rel_density = torch.exp(-(energy - energy.min()))  # p / max p: Z cancels
        row[0].scatter(*x_data[:2000].T.cpu(), s=0.5, alpha=0.5)
        shown = energy - energy.min()  # E is defined up to a constant: show E - min E
        image = row[1].imshow(shown.T.clamp(max=15), origin="lower", extent=extent,
                              cmap="magma_r")
        fig.colorbar(image, ax=row[1], shrink=0.8, label="E - min E")
        image = row[2].imshow(rel_density.T, origin="lower", extent=extent, cmap="viridis")
        fig.colorbar(image, ax=row[2], shrink=0.8, label="p / max p")
        row[3].scatter(*x_samples[:2000].T.cpu(), s=0.5, alpha=0.5, color="C1")
        names = ("data", "energy (light = low)", "exp(-E(x)) (up to Z)", "SGLD samples")
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
