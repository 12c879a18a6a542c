"""The graded parts of ``01_theory``, written once (instructor-only; see ``docs/design.md``).

``the notebook source 01_theory.py`` names each definition here in a ``# %% solution ... from=theory:NAME``
cell; ``make notebooks`` copies its source, solution markers and all, into the notebook. The
hidden checks of ``..grading`` compare a submission with these. The imports below are the ones
the notebook's first cell makes: a body here may use exactly those names.
"""

from __future__ import annotations

import math

import torch

from ebm_course import toy


def gmm_energy(x: torch.Tensor, means: torch.Tensor, stds: torch.Tensor,
               weights: torch.Tensor) -> torch.Tensor:
    """E(x) = -log sum_k w_k N(x; mu_k, sigma_k^2 I).

    Args:
        x: points, (B, d).
        means: (K, d); stds: (K,); weights: (K,), summing to 1.
    Returns:
        energies, (B,).
    """
    ### BEGIN SOLUTION
    d = x.shape[1]
    sq_dist = (x[:, None, :] - means[None]).pow(2).sum(-1)  # (B, K)
    log_normal = -sq_dist / (2 * stds ** 2) - d * torch.log(stds) - 0.5 * d * math.log(2 * math.pi)
    return -torch.logsumexp(torch.log(weights) + log_normal, dim=1)
    ### END SOLUTION


def grid_log_partition(energy_fn, box: tuple[float, float], n_grid: int,
                       dim: int = 2) -> torch.Tensor:
    """log Z of exp(-E) over box ** dim by the midpoint rule.

    Args:
        energy_fn: maps (M, dim) points to energies (M,).
        box: (low, high) on every axis.
        n_grid: cells per axis.
        dim: 1 or 2.
    Returns:
        log Z, a scalar tensor.
    """
    ### BEGIN SOLUTION
    centres, cell_volume = toy.grid_points(box, n_grid, dim)
    return torch.logsumexp(-energy_fn(centres), dim=0) + math.log(cell_volume)
    ### END SOLUTION


def cd_gradient(energy_fn, params, x_data: torch.Tensor, x_model: torch.Tensor) -> list:
    """Monte-Carlo estimate of d NLL / d theta: mean dE/dtheta on data minus on samples.

    Args:
        energy_fn: maps (B, d) to energies (B,), depending on params.
        params: list of tensors with requires_grad=True.
        x_data: (B, d) data; x_model: (B', d) model samples.
    Returns:
        list of gradients, one per parameter, each shaped like it.
    """
    ### BEGIN SOLUTION
    surrogate = energy_fn(x_data).mean() - energy_fn(x_model.detach()).mean()
    return list(torch.autograd.grad(surrogate, list(params)))
    ### END SOLUTION


def ula_chain(energy_fn, x: torch.Tensor, n_steps: int, step_size: float,
              generator: torch.Generator | None = None) -> torch.Tensor:
    """n_steps of unadjusted Langevin, x <- x - step_size * dE/dx + sqrt(2 step_size) * noise.

    Args:
        energy_fn: maps (B, d) to energies (B,).
        x: chain starts, (B, d).
        n_steps: number of steps; step_size: epsilon.
        generator: torch generator for the noise, or None.
    Returns:
        final samples, (B, d), detached.
    """
    ### BEGIN SOLUTION
    noise_std = math.sqrt(2 * step_size)
    x = x.detach().clone()
    for _ in range(n_steps):
        x.requires_grad_(True)
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(energy_fn(x).sum(), x)
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)
        x = (x.detach() - step_size * grad + noise_std * noise).detach()
    return x
    ### END SOLUTION


def histogram_tv(samples: torch.Tensor, energy_fn, box: tuple[float, float], n_bins: int) -> float:
    """Total variation between the samples' histogram and exp(-E) on the same grid of cells.

    Args:
        samples: (N, 2).
        energy_fn: maps (M, 2) to energies (M,).
        box: (low, high) on both axes; n_bins: cells per axis.
    Returns:
        0.5 * sum |p_hist - p_exact|, a float.
    """
    ### BEGIN SOLUTION
    low, high = box
    idx = ((samples - low) / (high - low) * n_bins).floor().long()  # (N, 2)
    inside = ((idx >= 0) & (idx < n_bins)).all(1)
    flat = idx[inside, 0] * n_bins + idx[inside, 1]  # row-major, like toy.grid_points
    p_hist = torch.bincount(flat, minlength=n_bins * n_bins).float()
    p_hist = p_hist / p_hist.sum()
    centres, _ = toy.grid_points(box, n_bins)
    with torch.no_grad():
        p_exact = torch.softmax(-energy_fn(centres), dim=0)
    return 0.5 * (p_hist - p_exact).abs().sum().item()
    ### END SOLUTION
