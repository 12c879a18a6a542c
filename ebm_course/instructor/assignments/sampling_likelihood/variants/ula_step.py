"""06_sampling_likelihood, ``ula_step``: wrong implementations (``BUGS``: each must fail
``check_ula_step``) and correct ones written differently (``ALT_CORRECT``: each must pass)."""

from __future__ import annotations

import math

import torch

from ebm_course.instructor.assignments.sampling_likelihood import checks
from ebm_course.instructor.assignments.sampling_likelihood import reference as ref

from ._shared import _grad, _noise, _per_chain, _private


def ula_sqrt_eps_noise(energy_fn, x, step_size, generator, noise_std=None):
    """Noise sqrt(step_size) instead of sqrt(2 step_size): samples exp(-2E), half the variance."""
    noise_std = math.sqrt(step_size) if noise_std is None else noise_std
    _, g = _grad(energy_fn, x)
    return (x - step_size * g + noise_std * _noise(x, generator)).detach()


def ula_gradient_ascent(energy_fn, x, step_size, generator, noise_std=None):
    """Moves up the energy (+ step_size * dE/dx): away from the modes."""
    noise_std = math.sqrt(2 * step_size) if noise_std is None else noise_std
    _, g = _grad(energy_fn, x)
    return (x + step_size * g + noise_std * _noise(x, generator)).detach()


def ula_mean_energy(energy_fn, x, step_size, generator, noise_std=None):
    """Differentiates the batch's mean energy: every gradient is divided by B."""
    noise_std = math.sqrt(2 * step_size) if noise_std is None else noise_std
    z = x.detach().requires_grad_(True)
    with torch.enable_grad():
        (g,) = torch.autograd.grad(energy_fn(z).mean(), z)
    return (x - step_size * g + noise_std * _noise(x, generator)).detach()


def ula_global_noise(energy_fn, x, step_size, generator, noise_std=None):
    """Ignores the generator: torch.randn_like draws from the global random state."""
    noise_std = math.sqrt(2 * step_size) if noise_std is None else noise_std
    _, g = _grad(energy_fn, x)
    return (x - step_size * g + noise_std * torch.randn_like(x)).detach()


def ula_half_step(energy_fn, x, step_size, generator, noise_std=None):
    """The drift of the Langevin SDE written with step_size / 2 but the noise of step_size."""
    noise_std = math.sqrt(2 * step_size) if noise_std is None else noise_std
    _, g = _grad(energy_fn, x)
    return (x - 0.5 * step_size * g + noise_std * _noise(x, generator)).detach()


def ula_float32_noise(energy_fn, x, step_size, generator, noise_std=None):
    """Noise drawn in the default dtype and the result cast to float32."""
    noise_std = math.sqrt(2 * step_size) if noise_std is None else noise_std
    _, g = _grad(energy_fn, x)
    noise = torch.randn(x.shape, generator=generator)
    return (x - step_size * g + noise_std * noise).float().detach()


def ula_attached(energy_fn, x, step_size, generator, noise_std=None):
    """Returns states still attached to the graph (create_graph): memory grows along a chain."""
    noise_std = math.sqrt(2 * step_size) if noise_std is None else noise_std
    z = x.detach().requires_grad_(True)
    with torch.enable_grad():
        (g,) = torch.autograd.grad(energy_fn(z).sum(), z, create_graph=True)
        return z - step_size * g + noise_std * _noise(x, generator)


def ula_step_functional(energy_fn, x, step_size, generator, noise_std=None):
    """torch.func.grad per chain of a summed energy, noise first."""
    eps = torch.empty_like(x).normal_(generator=generator)
    std = (2 * step_size) ** 0.5 if noise_std is None else noise_std
    with torch.enable_grad():
        xr = x.detach().clone().requires_grad_()
        energy_fn(xr).sum().backward()
    return (x.detach() - step_size * xr.grad + std * eps).detach()


def ula_private_generator(energy_fn, x, step_size, generator, noise_std=None):
    """Copies the seed into a private generator: every call (every step of a chain) adds the
    same noise."""
    return ref.ula_step(energy_fn, x, step_size, _private(generator), noise_std)


def ula_noise_per_chain(energy_fn, x, step_size, generator, noise_std=None):
    """torch.randn(B, 1) broadcast over the coordinates."""
    noise_std = math.sqrt(2 * step_size) if noise_std is None else noise_std
    _, g = _grad(energy_fn, x)
    return (x.detach() - step_size * g + noise_std * _per_chain(x, generator)).detach()


def ula_keeps_input_graph(energy_fn, x, step_size, generator, noise_std=None):
    """Builds the new state from the caller's x (not detached): a graph back to x when x
    requires grad."""
    noise_std = math.sqrt(2 * step_size) if noise_std is None else noise_std
    _, g = _grad(energy_fn, x)
    return x - step_size * g + noise_std * _noise(x, generator)


def ula_step_local_generator(energy_fn, x, step_size, generator, noise_std=None):
    """A local generator seeded by one draw from the given one (which therefore advances);
    noise drawn one coordinate column at a time."""
    local = torch.Generator().manual_seed(int(torch.randint(2 ** 62, (1,), generator=generator)))
    noise_std = math.sqrt(2 * step_size) if noise_std is None else noise_std
    flat = x.detach().reshape(len(x), -1)
    cols = [torch.randn(len(x), generator=local, dtype=x.dtype) for _ in range(flat.shape[1])]
    noise = torch.stack(cols, 1).reshape(x.shape)
    _, g = _grad(energy_fn, x)
    return (x.detach() - step_size * g + noise_std * noise).detach()


BUGS = [
    (checks.check_ula_step, ula_sqrt_eps_noise),
    (checks.check_ula_step, ula_gradient_ascent),
    (checks.check_ula_step, ula_mean_energy),
    (checks.check_ula_step, ula_global_noise),
    (checks.check_ula_step, ula_half_step),
    (checks.check_ula_step, ula_float32_noise),
    (checks.check_ula_step, ula_attached),
    (checks.check_ula_step, ula_private_generator),
    (checks.check_ula_step, ula_noise_per_chain),
    (checks.check_ula_step, ula_keeps_input_graph),
]


ALT_CORRECT = [
    (checks.check_ula_step, ref.ula_step),
    (checks.check_ula_step, ula_step_functional),
    (checks.check_ula_step, ula_step_local_generator),
]
