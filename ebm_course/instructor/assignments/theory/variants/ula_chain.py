"""01_theory, ``ula_chain``: wrong implementations (``BUGS``: each must fail ``check_ula_chain``)
and correct ones written differently (``ALT_CORRECT``: each must pass)."""

from __future__ import annotations

import math

import torch

from ebm_course.instructor.assignments.theory import checks


def _ula_loop(energy_fn, x, n_steps, step_size, draw):
    """Reference update with a pluggable noise draw ``draw(x, step)``."""
    x = x.detach().clone()
    for t in range(n_steps):
        x.requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(energy_fn(x).sum(), x)
        x = (x.detach() - step_size * g + math.sqrt(2 * step_size) * draw(x, t)).detach()
    return x


def ula_ignores_generator(energy_fn, x, n_steps, step_size, generator=None):
    """torch.randn_like(x): the passed generator is never used."""
    return _ula_loop(energy_fn, x, n_steps, step_size, lambda z, t: torch.randn_like(z))


def ula_reseeds_global(energy_fn, x, n_steps, step_size, generator=None):
    """Re-seeds torch's global generator from generator.initial_seed() and draws from it."""
    if generator is not None:
        torch.manual_seed(generator.initial_seed())
    return _ula_loop(energy_fn, x, n_steps, step_size, lambda z, t: torch.randn(z.shape))


def ula_fixed_default_seed(energy_fn, x, n_steps, step_size, generator=None):
    """No generator: torch.Generator().manual_seed(0), so every call draws the same noise."""
    if generator is None:
        generator = torch.Generator().manual_seed(0)
    return _ula_loop(energy_fn, x, n_steps, step_size,
                     lambda z, t: torch.randn(z.shape, generator=generator, dtype=z.dtype))


def ula_noise_drawn_once(energy_fn, x, n_steps, step_size, generator=None):
    """Draws the noise once before the loop and adds the same noise at every step."""
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype)
    return _ula_loop(energy_fn, x, n_steps, step_size, lambda z, t: noise)


def ula_noise_shared_across_dims(energy_fn, x, n_steps, step_size, generator=None):
    """One normal per chain, broadcast over the coordinates: (B, 1) instead of (B, d)."""
    return _ula_loop(energy_fn, x, n_steps, step_size,
                     lambda z, t: torch.randn(len(z), 1, generator=generator, dtype=z.dtype))


def ula_mean_energy_gradient(energy_fn, x, n_steps, step_size, generator=None):
    """Gradient of energy_fn(x).mean(): every chain's drift is divided by the batch size."""
    x = x.detach().clone()
    for _ in range(n_steps):
        x.requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(energy_fn(x).mean(), x)
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype)
        x = (x.detach() - step_size * g + math.sqrt(2 * step_size) * noise).detach()
    return x


def ula_backward_accumulates(energy_fn, x, n_steps, step_size, generator=None):
    """.backward() on one leaf and x.grad never cleared: the drift accumulates over steps."""
    x = x.detach().clone().requires_grad_(True)
    for _ in range(n_steps):
        with torch.enable_grad():
            energy_fn(x).sum().backward()
        with torch.no_grad():
            x -= step_size * x.grad
            x += math.sqrt(2 * step_size) * torch.randn(x.shape, generator=generator,
                                                        dtype=x.dtype)
    return x.detach()


def ula_backward_leaks_param_grads(energy_fn, x, n_steps, step_size, generator=None):
    """Fresh leaf and .backward() per step: right samples, but the energy's parameters get .grad."""
    x = x.detach().clone()
    for _ in range(n_steps):
        leaf = x.clone().requires_grad_(True)
        with torch.enable_grad():
            energy_fn(leaf).sum().backward()
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype)
        x = x - step_size * leaf.grad + math.sqrt(2 * step_size) * noise
    return x


def ula_steps_off_by_one(energy_fn, x, n_steps, step_size, generator=None):
    """range(1, n_steps): one step too few."""
    x = x.detach().clone()
    for _ in range(1, n_steps):
        x.requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(energy_fn(x).sum(), x)
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype)
        x = (x.detach() - step_size * g + math.sqrt(2 * step_size) * noise).detach()
    return x


def ula_chain_noise_upfront(energy_fn, x, n_steps, step_size, generator=None):
    """All the noise drawn before the loop, (n_steps, B, d) at once; grad_outputs of ones."""
    noise = torch.randn((n_steps, *x.shape), generator=generator, dtype=x.dtype)
    z = x.detach().clone()
    for t in range(n_steps):
        z = z.detach().requires_grad_(True)
        with torch.enable_grad():
            e = energy_fn(z)
            (g,) = torch.autograd.grad(e, z, grad_outputs=torch.ones_like(e))
        z = z.detach() - step_size * g + (2 * step_size) ** 0.5 * noise[t]
    return z.detach()


def ula_chain_column_draws(energy_fn, x, n_steps, step_size, generator=None):
    """Noise drawn first, one coordinate column at a time; float32 draws cast to x's dtype."""
    z = x.detach().clone()
    for _ in range(n_steps):
        cols = [torch.randn(z.shape[0], generator=generator) for _ in range(z.shape[1])]
        noise = torch.stack(cols, dim=1).to(z.dtype)
        leaf = z.requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(energy_fn(leaf).sum(), [leaf])
        z = (leaf - step_size * g + math.sqrt(2.0 * step_size) * noise).detach()
    return z


def ula_chain_local_generator(energy_fn, x, n_steps, step_size, generator=None):
    """A local generator seeded by one draw from the given one (or from the global one)."""
    seed = int(torch.randint(0, 2 ** 62, (1,), generator=generator))
    local = torch.Generator().manual_seed(seed)
    z = x.detach().clone()
    for _ in range(n_steps):
        z.requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(energy_fn(z).sum(), z)
        z = (z.detach() - step_size * g
             + math.sqrt(2 * step_size) * torch.randn(z.shape, generator=local, dtype=z.dtype))
    return z


def ula_no_noise(energy_fn, x, n_steps, step_size, generator=None):
    """Gradient descent on E, no noise: collapses onto the modes."""
    x = x.clone()
    for _ in range(n_steps):
        x.requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(energy_fn(x).sum(), x)
        x = (x - step_size * g).detach()
    return x


def ula_noise_std_2eps(energy_fn, x, n_steps, step_size, generator=None):
    """Noise std 2 * step_size instead of sqrt(2 * step_size)."""
    x = x.clone()
    for _ in range(n_steps):
        x.requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(energy_fn(x).sum(), x)
        x = (x - step_size * g + 2 * step_size * torch.randn(x.shape, generator=generator)).detach()
    return x


def ula_chain_in_place(energy_fn, x, n_steps, step_size, generator=None):
    """A while loop and in-place updates under no_grad on one working copy."""
    z = x.detach().clone()
    noise_std, k = math.sqrt(2 * step_size), 0
    while k < n_steps:
        leaf = z.clone().requires_grad_(True)
        with torch.enable_grad():
            grad = torch.autograd.grad(energy_fn(leaf), leaf, torch.ones(len(z)))[0]
        with torch.no_grad():
            z.sub_(step_size * grad).add_(noise_std * torch.randn(z.shape, generator=generator))
        k += 1
    return z


def ula_private_generator(energy_fn, x, n_steps, step_size, generator=None):
    """Copies the seed into a private generator: reproducible and seed-dependent, but the
    caller's generator never advances, so a continued chain repeats its noise."""
    if generator is not None:
        generator = torch.Generator().manual_seed(generator.initial_seed())
    return _ula_loop(energy_fn, x, n_steps, step_size,
                     lambda z, t: torch.randn(z.shape, generator=generator, dtype=z.dtype))


BUGS = [
    (checks.check_ula_chain, ula_ignores_generator),
    (checks.check_ula_chain, ula_reseeds_global),
    (checks.check_ula_chain, ula_fixed_default_seed),
    (checks.check_ula_chain, ula_noise_drawn_once),
    (checks.check_ula_chain, ula_noise_shared_across_dims),
    (checks.check_ula_chain, ula_mean_energy_gradient),
    (checks.check_ula_chain, ula_backward_accumulates),
    (checks.check_ula_chain, ula_backward_leaks_param_grads),
    (checks.check_ula_chain, ula_steps_off_by_one),
    (checks.check_ula_chain, ula_no_noise),
    (checks.check_ula_chain, ula_noise_std_2eps),
    (checks.check_ula_chain, ula_private_generator),
]


ALT_CORRECT = [
    (checks.check_ula_chain, ula_chain_noise_upfront),
    (checks.check_ula_chain, ula_chain_column_draws),
    (checks.check_ula_chain, ula_chain_local_generator),
    (checks.check_ula_chain, ula_chain_in_place),
]
