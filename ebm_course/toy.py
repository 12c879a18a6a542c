"""2D toy densities, analytic energies and exact partition functions on a grid.

In one or two dimensions the partition function ``Z = integral exp(-E(x)) dx`` needs no
approximation: sum ``exp(-E)`` over the cells of a fine grid that covers the mass and multiply by
the cell area. That makes 2D the place to *measure* an EBM: exact normalised test log-likelihoods,
exact densities to compare samplers against. (In d dimensions the grid has ``n_grid ** d`` cells,
which is why Z is intractable for images.)

Sign convention as in :mod:`ebm_course.models`: functions take an ``energy_fn`` returning ``E(x)``
of shape (B,); ``p(x) = exp(-E(x)) / Z``.

Used by ``01_theory`` (the grid, Gaussian energies and mixtures' moments and exact samples) and
``02_toy_densities`` (the densities, the KDE baseline). The grid's log Z, the mixture's energy,
unadjusted Langevin and the histogram distance are the notebooks' exercises, not in here.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import torch

from .models import EnergyFn

Box = tuple[float, float]  # (low, high), the same range on every axis

DENSITIES = ("8gaussians", "two_rings", "checkerboard", "spiral", "two_moons", "pinwheel")
TOY_BOX: Box = (-4.0, 4.0)  # every density keeps (almost) all its mass inside this square


# --------------------------------------------------------------------------------------------
# The 2D densities. Each sampler maps (n, generator) to (n, 2) float32 samples.
# --------------------------------------------------------------------------------------------

def _randn(n: int, generator: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.randn(n, *shape, generator=generator)


def _rand(n: int, generator: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.rand(n, *shape, generator=generator)


def _eight_gaussians(n: int, g: torch.Generator) -> torch.Tensor:
    angles = torch.arange(8) * (2 * math.pi / 8)
    centers = 2.5 * torch.stack([angles.cos(), angles.sin()], 1)  # (8, 2)
    k = torch.randint(8, (n,), generator=g)
    return centers[k] + 0.25 * _randn(n, g, 2)


def _two_rings(n: int, g: torch.Generator) -> torch.Tensor:
    # Half the points on each ring; radial noise 0.12.
    radius = torch.where(_rand(n, g) < 0.5, torch.tensor(1.2), torch.tensor(2.7))
    radius = radius + 0.12 * _randn(n, g)
    theta = 2 * math.pi * _rand(n, g)
    return torch.stack([radius * theta.cos(), radius * theta.sin()], 1)


def _checkerboard(n: int, g: torch.Generator) -> torch.Tensor:
    # Uniform on the 8 black squares of a 4x4 board of side 1.5, centred (FFJORD's recipe, scaled).
    x1 = _rand(n, g) * 4 - 2
    x2 = _rand(n, g) - torch.randint(2, (n,), generator=g) * 2.0
    x2 = x2 + torch.floor(x1) % 2
    return 1.5 * torch.stack([x1, x2], 1)


def _spiral(n: int, g: torch.Generator) -> torch.Tensor:
    # Two interleaved spiral arms, radius growing linearly with the angle.
    t = torch.sqrt(_rand(n, g)) * 3 * math.pi  # sqrt: even density along the arm length
    arm = torch.where(_rand(n, g) < 0.5, 1.0, -1.0)
    r = t / (3 * math.pi) * 3.2
    x = arm[:, None] * torch.stack([r * t.cos(), r * t.sin()], 1)
    return x + 0.12 * _randn(n, g, 2)


def _two_moons(n: int, g: torch.Generator) -> torch.Tensor:
    upper = _rand(n, g) < 0.5
    t = math.pi * _rand(n, g)
    x = torch.where(upper, t.cos(), 1 - t.cos())
    y = torch.where(upper, t.sin(), 0.5 - t.sin())
    x = torch.stack([x - 0.5, y - 0.25], 1) * 1.8
    return x + 0.12 * _randn(n, g, 2)


def _pinwheel(n: int, g: torch.Generator) -> torch.Tensor:
    # Five stretched Gaussian blades, rotated more the further out they reach.
    k = torch.randint(5, (n,), generator=g)
    feats = _randn(n, g, 2) * torch.tensor([0.3, 0.05]) + torch.tensor([1.0, 0.0])
    angle = k * (2 * math.pi / 5) + 0.25 * torch.exp(feats[:, 0])
    rot = torch.stack([torch.stack([angle.cos(), -angle.sin()], 1),
                       torch.stack([angle.sin(), angle.cos()], 1)], 1)  # (n, 2, 2)
    return 2.0 * torch.einsum("nij,nj->ni", rot, feats)


_SAMPLERS: dict[str, Callable[[int, torch.Generator], torch.Tensor]] = {
    "8gaussians": _eight_gaussians, "two_rings": _two_rings, "checkerboard": _checkerboard,
    "spiral": _spiral, "two_moons": _two_moons, "pinwheel": _pinwheel,
}


def sample_density(name: str, n: int, generator: torch.Generator | None = None,
                   seed: int | None = None) -> torch.Tensor:
    """``n`` samples of a named 2D density.

    Args:
        name: one of :data:`DENSITIES`.
        n: number of samples.
        generator: torch generator to draw from (the same generator state gives the same samples).
        seed: shortcut for ``generator=torch.Generator().manual_seed(seed)``.
    Returns:
        samples, (n, 2), float32, on the CPU.
    """
    if name not in _SAMPLERS:
        raise ValueError(f"unknown density {name!r}; expected one of {', '.join(DENSITIES)}")
    if generator is None:
        generator = torch.Generator().manual_seed(0 if seed is None else seed)
    return _SAMPLERS[name](n, generator).float()


def toy_splits(name: str, n_train: int, n_test: int,
               seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Independent train and test samples of a density: (n_train, 2), (n_test, 2)."""
    g = torch.Generator().manual_seed(seed)
    return sample_density(name, n_train, g), sample_density(name, n_test, g)


# --------------------------------------------------------------------------------------------
# Grids and exact partition functions.
# --------------------------------------------------------------------------------------------

def grid_points(box: Box, n_grid: int, dim: int = 2) -> tuple[torch.Tensor, float]:
    """Centres of the ``n_grid ** dim`` cells of a regular grid over ``box ** dim``.

    Args:
        box: (low, high) on every axis.
        n_grid: cells per axis.
        dim: 1 or 2.
    Returns:
        centres, (n_grid ** dim, dim), row-major (the last axis varies fastest);
        the volume (length in 1D, area in 2D) of one cell.
    """
    low, high = box
    h = (high - low) / n_grid
    axis = low + h * (torch.arange(n_grid, dtype=torch.float32) + 0.5)  # (n_grid,)
    if dim == 1:
        return axis[:, None], h
    if dim == 2:
        xx, yy = torch.meshgrid(axis, axis, indexing="ij")
        return torch.stack([xx.reshape(-1), yy.reshape(-1)], 1), h * h
    raise ValueError(f"dim must be 1 or 2, got {dim}")


def grid_energy(energy_fn: EnergyFn, points: torch.Tensor, chunk: int = 16384) -> torch.Tensor:
    """``E`` on many points, in chunks (a 300x300 grid is 90,000 points): (N, d) -> (N,).

    Differentiable (``log Z`` has a parameter gradient); wrap in ``torch.no_grad()`` to save memory.
    """
    return torch.cat([energy_fn(p) for p in points.split(chunk)])


def sample_grid(energy_fn: EnergyFn, box: Box, n_grid: int, n: int, dim: int = 2,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Exact samples (up to the grid) of ``exp(-E) / Z``: pick cells by their mass, jitter inside.

    Args:
        energy_fn: maps (M, dim) to energies (M,).
        box, n_grid, dim: the grid, as in :func:`grid_points`.
        n: number of samples.
        generator: seeds the draw.
    Returns:
        samples, (n, dim).
    """
    centres, _ = grid_points(box, n_grid, dim)
    with torch.no_grad():
        probs = torch.softmax(-grid_energy(energy_fn, centres), dim=0)
    idx = torch.multinomial(probs, n, replacement=True, generator=generator)
    h = (box[1] - box[0]) / n_grid
    return centres[idx] + h * (torch.rand(n, dim, generator=generator) - 0.5)


# --------------------------------------------------------------------------------------------
# Analytic energies: Gaussians and Gaussian mixtures (01_theory).
# --------------------------------------------------------------------------------------------

def gaussian_energy(mean: Sequence[float], std: float) -> EnergyFn:
    """``E(x) = ||x - mean||^2 / (2 std^2)``: an isotropic Gaussian, unnormalised.

    Its ``log Z = (d / 2) log(2 pi std^2)``, which tests compare the grid against.
    """
    mean_t = torch.as_tensor(mean, dtype=torch.float32)
    return lambda x: (x - mean_t.to(x)).pow(2).sum(1) / (2 * std ** 2)


def gmm_moments(means: torch.Tensor, stds: torch.Tensor,
                weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact mean (d,) and covariance (d, d) of an isotropic Gaussian mixture."""
    mean = (weights[:, None] * means).sum(0)
    d = means.shape[1]
    second = sum(w * (torch.outer(m, m) + s ** 2 * torch.eye(d))
                 for w, m, s in zip(weights, means, stds))
    return mean, second - torch.outer(mean, mean)


def sample_gmm(n: int, means: torch.Tensor, stds: torch.Tensor, weights: torch.Tensor,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """Exact samples of the mixture, (n, d): the reference a Langevin sampler is checked against."""
    k = torch.multinomial(weights, n, replacement=True, generator=generator)
    return means[k] + stds[k, None] * torch.randn(n, means.shape[1], generator=generator)


# --------------------------------------------------------------------------------------------
# KDE baseline.
# --------------------------------------------------------------------------------------------

def fit_kde(x_train: torch.Tensor, bandwidths: Sequence[float] | None = None, cv: int = 3,
            max_cv_points: int = 3000, seed: int = 0):
    """A Gaussian KDE whose bandwidth maximises cross-validated log-likelihood.

    Args:
        x_train: (N, 2).
        bandwidths: candidates (default: 12 values from 0.03 to 0.6, log-spaced).
        cv: folds.
        max_cv_points: the bandwidth search uses at most this many points (speed); the final
            estimator is fitted on all of ``x_train``.
        seed: picks the subset for the search.
    Returns:
        a fitted ``sklearn.neighbors.KernelDensity`` (``.bandwidth`` is the chosen value).
    """
    from sklearn.model_selection import GridSearchCV, KFold
    from sklearn.neighbors import KernelDensity

    x = x_train.detach().cpu().double().numpy()
    rng = np.random.default_rng(seed)
    x_cv = x[rng.permutation(len(x))[:max_cv_points]]
    if bandwidths is None:
        bandwidths = np.geomspace(0.03, 0.6, 12)
    search = GridSearchCV(KernelDensity(kernel="gaussian"), {"bandwidth": list(bandwidths)},
                          cv=KFold(cv, shuffle=True, random_state=seed))
    search.fit(x_cv)
    return KernelDensity(kernel="gaussian", bandwidth=search.best_params_["bandwidth"]).fit(x)


def kde_log_likelihood(kde, x_test: torch.Tensor) -> float:
    """Mean test log-likelihood (nats) of a fitted KernelDensity."""
    return float(kde.score_samples(x_test.detach().cpu().double().numpy()).mean())
