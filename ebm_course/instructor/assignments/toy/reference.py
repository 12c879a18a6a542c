"""The graded parts of ``02_toy_densities``, written once (instructor-only; see ``docs/design.md``).

``the notebook source 02_toy_densities.py`` names each definition here in a ``# %% solution ... from=toy:NAME``
cell; ``make notebooks`` copies its source, solution markers and all, into the notebook. The
hidden checks of ``..grading`` compare a submission with these. The imports below are the ones
the notebook's first cell makes: a body here may use exactly those names.
"""

from __future__ import annotations

import math

import torch

from ebm_course import toy


def grid_log_likelihood(energy_fn, x_test: torch.Tensor, box=toy.TOY_BOX, n_grid: int = 256) -> torch.Tensor:
    """Mean of log p(x_test) = -E(x_test) - log Z, with log Z on a grid over box x box.

    Args:
        energy_fn: maps (M, 2) to energies (M,).
        x_test: (N, 2).
        box: (low, high) on both axes; n_grid: cells per axis.
    Returns:
        scalar tensor (nats).
    """
    ### BEGIN SOLUTION
    centres, cell_area = toy.grid_points(box, n_grid)
    log_z = torch.logsumexp(-energy_fn(centres), dim=0) + math.log(cell_area)
    return -energy_fn(x_test).mean() - log_z
    ### END SOLUTION


def cd_loss(energy_fn, x_data: torch.Tensor, x_model: torch.Tensor, alpha: float = 0.0) -> torch.Tensor:
    """mean E(x_data) - mean E(x_model) + alpha * (mean E(x_data)^2 + mean E(x_model)^2).

    Args:
        energy_fn: maps (B, 2) to energies (B,).
        x_data: (B, 2); x_model: (B', 2); alpha: L2 weight.
    Returns:
        scalar tensor.
    """
    ### BEGIN SOLUTION
    energy_data = energy_fn(x_data)
    energy_model = energy_fn(x_model.detach())
    reg = energy_data.pow(2).mean() + energy_model.pow(2).mean()
    return energy_data.mean() - energy_model.mean() + alpha * reg
    ### END SOLUTION


def sgld_sample(energy_fn, x_init: torch.Tensor, n_steps: int, step_size: float, noise_std: float,
                grad_clip: float | None = None) -> torch.Tensor:
    """n_steps of SGLD from x_init; returns detached samples (B, 2)."""
    ### BEGIN SOLUTION
    x = x_init.detach().clone()
    for _ in range(n_steps):
        x.requires_grad_(True)
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(energy_fn(x).sum(), x)
        if grad_clip is not None:
            grad = grad.clamp(-grad_clip, grad_clip)
        x = (x.detach() - step_size * grad + noise_std * torch.randn_like(x)).detach()
    return x
    ### END SOLUTION


def exact_sm_loss(energy_fn, x_data: torch.Tensor) -> torch.Tensor:
    """mean( 0.5 ||dE/dx||^2 - trace(d^2E/dx^2) ) over the batch (B, d); scalar tensor."""
    ### BEGIN SOLUTION
    x = x_data.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(energy_fn(x).sum(), x, create_graph=True)
    trace = torch.zeros(len(x), device=x.device, dtype=x.dtype)
    for i in range(x.shape[1]):
        (row,) = torch.autograd.grad(grad[:, i].sum(), x, create_graph=True)
        trace = trace + row[:, i]
    return (0.5 * grad.pow(2).sum(1) - trace).mean()
    ### END SOLUTION


def dsm_loss(energy_fn, x_data: torch.Tensor, sigma: float, noise: torch.Tensor | None = None) -> torch.Tensor:
    """0.5 * mean || -dE/dx(x + sigma * noise) + noise / sigma ||^2; scalar tensor."""
    ### BEGIN SOLUTION
    if noise is None:
        noise = torch.randn_like(x_data)
    x_noisy = (x_data + sigma * noise).detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(energy_fn(x_noisy).sum(), x_noisy, create_graph=True)
    return 0.5 * (-grad + noise / sigma).pow(2).sum(1).mean()
    ### END SOLUTION


def nce_loss(energy_fn, x_data: torch.Tensor, x_noise: torch.Tensor, log_q_data: torch.Tensor,
             log_q_noise: torch.Tensor) -> torch.Tensor:
    """NCE logistic loss with logit G = -E - log q - log nu; scalar tensor.

    Args:
        x_data: (B, 2); x_noise: (B', 2) drawn from q.
        log_q_data: log q(x_data), (B,); log_q_noise: log q(x_noise), (B',).
    """
    ### BEGIN SOLUTION
    nu = len(x_noise) / len(x_data)
    logit_data = -energy_fn(x_data) - log_q_data - math.log(nu)
    logit_noise = -energy_fn(x_noise) - log_q_noise - math.log(nu)
    logsig = torch.nn.functional.logsigmoid
    return -(logsig(logit_data).mean() + nu * logsig(-logit_noise).mean())
    ### END SOLUTION
