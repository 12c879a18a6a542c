"""02_toy_densities, ``sgld_sample``: wrong implementations (``BUGS``: each must fail
``check_sgld_sample``) and correct ones written differently (``ALT_CORRECT``: each must pass)."""

from __future__ import annotations

import math

import torch

from ebm_course.instructor.assignments.toy import checks
from ebm_course.instructor.assignments.toy import reference as ref02


def sgld_noise_shared_by_coordinates(energy_fn, x_init, n_steps, step_size, noise_std,
                                     grad_clip=None):
    """One noise value per chain (randn(B, 1)), shared by both coordinates."""
    x = x_init.detach().clone()
    for _ in range(n_steps):
        x.requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(energy_fn(x).sum(), x)
        if grad_clip is not None:
            g = g.clamp(-grad_clip, grad_clip)
        x = (x.detach() - step_size * g + noise_std * torch.randn(len(x), 1)).detach()
    return x


def sgld_reseeds_global(energy_fn, x_init, n_steps, step_size, noise_std, grad_clip=None):
    """Calls torch.manual_seed(0) for reproducibility: every call draws the same noise."""
    torch.manual_seed(0)
    x = x_init.detach().clone()
    for _ in range(n_steps):
        x.requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(energy_fn(x).sum(), x)
        if grad_clip is not None:
            g = g.clamp(-grad_clip, grad_clip)
        x = (x.detach() - step_size * g + noise_std * torch.randn_like(x)).detach()
    return x


def sgld_noise_drawn_once(energy_fn, x_init, n_steps, step_size, noise_std, grad_clip=None):
    """Draws the noise once before the loop and adds the same draw at every step."""
    x = x_init.detach().clone()
    xi = torch.randn_like(x)
    for _ in range(n_steps):
        x.requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(energy_fn(x).sum(), x)
        if grad_clip is not None:
            g = g.clamp(-grad_clip, grad_clip)
        x = (x.detach() - step_size * g + noise_std * xi).detach()
    return x


def sgld_clip_if_truthy(energy_fn, x_init, n_steps, step_size, noise_std, grad_clip=None):
    """Tests `if grad_clip:` instead of `is not None`: a clip of 0 is silently ignored."""
    x = x_init.detach().clone()
    for _ in range(n_steps):
        x.requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(energy_fn(x).sum(), x)
        if grad_clip:
            g = g.clamp(-grad_clip, grad_clip)
        x = (x.detach() - step_size * g + noise_std * torch.randn_like(x)).detach()
    return x


def sgld_backward_into_params(energy_fn, x_init, n_steps, step_size, noise_std, grad_clip=None):
    """Uses .backward() and x.grad: gradients also land in the network's parameters."""
    x = x_init.detach().clone()
    for _ in range(n_steps):
        x = x.detach().requires_grad_(True)
        with torch.enable_grad():
            energy_fn(x).sum().backward()
        g = x.grad
        if grad_clip is not None:
            g = g.clamp(-grad_clip, grad_clip)
        x = (x.detach() - step_size * g + noise_std * torch.randn_like(x)).detach()
    return x


def sgld_noise_drawn_up_front(energy_fn, x_init, n_steps, step_size, noise_std, grad_clip=None):
    """Draws every step's noise first, transposed (another draw order), clips with min/max."""
    x = x_init.detach().clone()
    xi = torch.randn(n_steps, x.shape[1], x.shape[0], dtype=x.dtype).transpose(1, 2)
    for t in range(n_steps):
        leaf = x.requires_grad_(True)
        with torch.enable_grad():
            energy = energy_fn(leaf)
            (g,) = torch.autograd.grad(energy, leaf, grad_outputs=torch.ones_like(energy))
        if grad_clip is not None:
            g = torch.minimum(torch.maximum(g, torch.full_like(g, -grad_clip)),
                              torch.full_like(g, grad_clip))
        x = (leaf.detach() - step_size * g + noise_std * xi[t]).detach()
    return x


def sgld_no_clip(energy_fn, x_init, n_steps, step_size, noise_std, grad_clip=None):
    """Ignores grad_clip."""
    return ref02.sgld_sample(energy_fn, x_init, n_steps, step_size, noise_std, None)


def sgld_noise_times_sqrt2(energy_fn, x_init, n_steps, step_size, noise_std, grad_clip=None):
    """Treats noise_std as a variance-like scale: sqrt(2) * noise_std."""
    return ref02.sgld_sample(energy_fn, x_init, n_steps, step_size, math.sqrt(2) * noise_std,
                                 grad_clip)


def sgld_sample_clamp_where(energy_fn, x_init, n_steps, step_size, noise_std, grad_clip=None):
    """Clips with torch.clip, a for loop over a fresh leaf each step."""
    x = x_init.detach()
    for _ in range(n_steps):
        leaf = x.clone().requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(energy_fn(leaf).sum(), leaf)
        if grad_clip is not None:
            g = torch.clip(g, min=-grad_clip, max=grad_clip)
        x = x - step_size * g + noise_std * torch.randn_like(x)
    return x


BUGS = [
    (checks.check_sgld_sample, sgld_noise_shared_by_coordinates),
    (checks.check_sgld_sample, sgld_reseeds_global),
    (checks.check_sgld_sample, sgld_noise_drawn_once),
    (checks.check_sgld_sample, sgld_clip_if_truthy),
    (checks.check_sgld_sample, sgld_backward_into_params),
    (checks.check_sgld_sample, sgld_no_clip),
    (checks.check_sgld_sample, sgld_noise_times_sqrt2),
]


ALT_CORRECT = [
    (checks.check_sgld_sample, sgld_noise_drawn_up_front),
    (checks.check_sgld_sample, sgld_sample_clamp_where),
]
