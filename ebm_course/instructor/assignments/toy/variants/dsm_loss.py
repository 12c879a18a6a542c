"""02_toy_densities, ``dsm_loss``: wrong implementations (``BUGS``: each must fail
``check_dsm_loss``) and correct ones written differently (``ALT_CORRECT``: each must pass)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ebm_course.instructor.assignments.toy import checks
from ebm_course.instructor.assignments.toy import reference as ref02


def dsm_noise_shared_by_batch(energy_fn, x_data, sigma, noise=None):
    """Draws one noise vector (randn(d)) and adds it to every data point."""
    if noise is None:
        noise = torch.randn(x_data.shape[1]).expand_as(x_data)
    x = (x_data + sigma * noise).detach().requires_grad_(True)
    (g,) = torch.autograd.grad(energy_fn(x).sum(), x, create_graph=True)
    return 0.5 * (-g + noise / sigma).pow(2).sum(1).mean()


def dsm_reseeds_global(energy_fn, x_data, sigma, noise=None):
    """Seeds the global generator before drawing: the same noise on every call."""
    if noise is None:
        torch.manual_seed(1234)
        noise = torch.randn_like(x_data)
    x = (x_data + sigma * noise).detach().requires_grad_(True)
    (g,) = torch.autograd.grad(energy_fn(x).sum(), x, create_graph=True)
    return 0.5 * (-g + noise / sigma).pow(2).sum(1).mean()


def dsm_without_create_graph(energy_fn, x_data, sigma, noise=None):
    """No create_graph=True: the loss carries no gradient to the parameters."""
    noise = torch.randn_like(x_data) if noise is None else noise
    x = (x_data + sigma * noise).detach().requires_grad_(True)
    (g,) = torch.autograd.grad(energy_fn(x).sum(), x)
    return 0.5 * (-g + noise / sigma).pow(2).sum(1).mean()


def dsm_mse_over_elements(energy_fn, x_data, sigma, noise=None):
    """0.5 * F.mse_loss: averages over coordinates too (a factor 1/d too small)."""
    noise = torch.randn_like(x_data) if noise is None else noise
    x = (x_data + sigma * noise).detach().requires_grad_(True)
    (g,) = torch.autograd.grad(energy_fn(x).sum(), x, create_graph=True)
    return 0.5 * F.mse_loss(-g, -noise / sigma)


def dsm_fresh_noise_in_target(energy_fn, x_data, sigma, noise=None):
    """Draws a second, independent noise for the target when noise is None."""
    x_noisy = x_data + sigma * (torch.randn_like(x_data) if noise is None else noise)
    target = torch.randn_like(x_data) if noise is None else noise
    x = x_noisy.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(energy_fn(x).sum(), x, create_graph=True)
    return 0.5 * (-g + target / sigma).pow(2).sum(1).mean()


def dsm_loss_transposed_draw(energy_fn, x_data, sigma, noise=None):
    """Draws the noise as randn(d, B).T (another draw order); the loss on the target score."""
    if noise is None:
        noise = torch.randn(x_data.shape[1], x_data.shape[0], dtype=x_data.dtype).T
    x_tilde = (x_data + sigma * noise).detach().requires_grad_(True)
    (de_dx,) = torch.autograd.grad(energy_fn(x_tilde).sum(), x_tilde, create_graph=True)
    target = -noise / sigma  # the score of the corruption
    return 0.5 * (-de_dx - target).square().sum(-1).mean()


def dsm_ignores_given_noise(energy_fn, x_data, sigma, noise=None):
    """Always draws fresh noise, even when the caller passes it."""
    return ref02.dsm_loss(energy_fn, x_data, sigma, None)


def dsm_target_over_sigma_squared(energy_fn, x_data, sigma, noise=None):
    """Target noise / sigma^2 (the score of the noisy point is -noise / sigma)."""
    noise = torch.randn_like(x_data) if noise is None else noise
    x = (x_data + sigma * noise).detach().requires_grad_(True)
    (g,) = torch.autograd.grad(energy_fn(x).sum(), x, create_graph=True)
    return 0.5 * (-g + noise / sigma ** 2).pow(2).sum(1).mean()


def dsm_loss_mse(energy_fn, x_data, sigma, noise=None):
    """Written with F.mse_loss: 0.5 * d * mean over all elements."""
    noise = torch.randn_like(x_data) if noise is None else noise
    x = (x_data + sigma * noise).detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(energy_fn(x).sum(), x, create_graph=True)
    return 0.5 * x.shape[1] * F.mse_loss(-grad, -noise / sigma)


BUGS = [
    (checks.check_dsm_loss, dsm_noise_shared_by_batch),
    (checks.check_dsm_loss, dsm_reseeds_global),
    (checks.check_dsm_loss, dsm_without_create_graph),
    (checks.check_dsm_loss, dsm_mse_over_elements),
    (checks.check_dsm_loss, dsm_fresh_noise_in_target),
    (checks.check_dsm_loss, dsm_ignores_given_noise),
    (checks.check_dsm_loss, dsm_target_over_sigma_squared),
]


ALT_CORRECT = [
    (checks.check_dsm_loss, dsm_loss_transposed_draw),
    (checks.check_dsm_loss, dsm_loss_mse),
]
