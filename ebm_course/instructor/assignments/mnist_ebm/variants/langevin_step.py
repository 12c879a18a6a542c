"""03_mnist_ebm, ``langevin_step``: wrong implementations (``BUGS``: each must fail
``check_langevin_step``) and correct ones written differently (``ALT_CORRECT``: each must pass)."""

from __future__ import annotations

import torch

from ebm_course.instructor.assignments.mnist_ebm import checks
from ebm_course.instructor.assignments.mnist_ebm import reference as ref03


def _grad(energy_fn, x, reduce="sum"):
    leaf = x.detach().requires_grad_(True)
    with torch.enable_grad():
        energy = energy_fn(leaf)
        (g,) = torch.autograd.grad(energy.sum() if reduce == "sum" else energy.mean(), leaf)
    return leaf.detach(), g


def _finish(x_new, clamp):
    return x_new if clamp is None else x_new.clamp(*clamp)


def langevin_grad_of_mean(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """Differentiates energy.mean(): every gradient is divided by the batch size."""
    x, g = _grad(energy_fn, x, "mean")
    if grad_clip is not None:
        g = g.clamp(-grad_clip, grad_clip)
    return _finish(x - step_size * g + noise_std * torch.randn_like(x), clamp)


def langevin_noise_shared_by_batch(energy_fn, x, step_size, noise_std, grad_clip=None,
                                   clamp=None):
    """Draws one noise image, torch.randn(x.shape[1:]), for the whole batch."""
    x, g = _grad(energy_fn, x)
    if grad_clip is not None:
        g = g.clamp(-grad_clip, grad_clip)
    return _finish(x - step_size * g + noise_std * torch.randn(x.shape[1:]), clamp)


def langevin_noise_per_sample(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """One noise value per sample, shared by all its elements."""
    x, g = _grad(energy_fn, x)
    if grad_clip is not None:
        g = g.clamp(-grad_clip, grad_clip)
    noise = torch.randn(x.shape[0], *[1] * (x.dim() - 1))
    return _finish(x - step_size * g + noise_std * noise, clamp)


def langevin_reseeds(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """Calls torch.manual_seed(0) in every step "for reproducibility": the same noise each step."""
    torch.manual_seed(0)
    return ref03.langevin_step(energy_fn, x, step_size, noise_std, grad_clip, clamp)


def langevin_clip_if_truthy(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """`if grad_clip:` instead of `is not None`: grad_clip=0 does not clip."""
    x, g = _grad(energy_fn, x)
    if grad_clip:
        g = g.clamp(-grad_clip, grad_clip)
    return _finish(x - step_size * g + noise_std * torch.randn_like(x), clamp)


def langevin_float32(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """Casts x to float32: float64 chains come back as float32."""
    return ref03.langevin_step(energy_fn, x.float(), step_size, noise_std, grad_clip, clamp)


def langevin_noise_before_gradient(energy_fn, x, step_size, noise_std, grad_clip=None,
                                   clamp=None):
    """Adds the noise first and takes the gradient at the noisy point."""
    x = x.detach() + noise_std * torch.randn_like(x)
    x, g = _grad(energy_fn, x)
    if grad_clip is not None:
        g = g.clamp(-grad_clip, grad_clip)
    return _finish(x - step_size * g, clamp)


def langevin_noise_inside_step(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """x - step_size * (grad + noise_std * eps): the noise is scaled by step_size."""
    x, g = _grad(energy_fn, x)
    if grad_clip is not None:
        g = g.clamp(-grad_clip, grad_clip)
    return _finish(x - step_size * (g + noise_std * torch.randn_like(x)), clamp)


def langevin_keeps_input_graph(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """Builds the result from the caller's x: a graph comes back when x requires grad."""
    _, g = _grad(energy_fn, x)
    if grad_clip is not None:
        g = g.clamp(-grad_clip, grad_clip)
    return _finish(x - step_size * g + noise_std * torch.randn_like(x), clamp)


def langevin_noise_first(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """Draws the noise first with torch.normal; torch.clip; clamp with min= / max=."""
    noise = torch.normal(torch.zeros_like(x), torch.ones_like(x)) * noise_std
    leaf = x.detach().clone().requires_grad_()
    with torch.enable_grad():
        (g,) = torch.autograd.grad(energy_fn(leaf).sum(), [leaf])
    if grad_clip is not None:
        g = torch.clip(g, -grad_clip, grad_clip)
    out = leaf.detach() - step_size * g + noise
    if clamp is not None:
        out = out.clamp(min=clamp[0], max=clamp[1])
    return out


def langevin_func_grad(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """torch.func.grad for dE/dx; noise via torch.randn with x's dtype; clip with min/max."""
    x = x.detach()
    with torch.enable_grad():
        g = torch.func.grad(lambda z: energy_fn(z).sum())(x)
    if grad_clip is not None:
        g = torch.minimum(torch.maximum(g, torch.full_like(g, -grad_clip)),
                          torch.full_like(g, grad_clip))
    out = x - step_size * g + noise_std * torch.randn(x.shape, dtype=x.dtype, device=x.device)
    if clamp is not None:
        out = torch.clamp(out, clamp[0], clamp[1])
    return out.detach()


def langevin_clamp_before_noise(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """Clamps, then adds the noise: samples leave the image range."""
    out = ref03.langevin_step(energy_fn, x, step_size, 0.0, grad_clip, clamp)
    return out + noise_std * torch.randn_like(out)


def langevin_clip_after_step(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """Clips the step (step_size * grad), not the gradient."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        (g,) = torch.autograd.grad(energy_fn(x).sum(), x)
    step = step_size * g
    if grad_clip is not None:
        step = step.clamp(-grad_clip, grad_clip)
    out = x.detach() - step + noise_std * torch.randn_like(x)
    return out if clamp is None else out.clamp(*clamp)


def langevin_step_grad_outputs(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """grad_outputs instead of .sum(); torch.where for the clip; clamp with min/max."""
    leaf = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        energy = energy_fn(leaf)
        (g,) = torch.autograd.grad(energy, leaf, grad_outputs=torch.ones_like(energy))
    if grad_clip is not None:
        g = torch.where(g.abs() > grad_clip, grad_clip * g.sign(), g)
    out = leaf.detach() - step_size * g + noise_std * torch.randn_like(leaf)
    if clamp is not None:
        out = torch.minimum(torch.maximum(out, torch.tensor(clamp[0])), torch.tensor(clamp[1]))
    return out


BUGS = [
    (checks.check_langevin_step, langevin_grad_of_mean),
    (checks.check_langevin_step, langevin_noise_shared_by_batch),
    (checks.check_langevin_step, langevin_noise_per_sample),
    (checks.check_langevin_step, langevin_reseeds),
    (checks.check_langevin_step, langevin_clip_if_truthy),
    (checks.check_langevin_step, langevin_float32),
    (checks.check_langevin_step, langevin_noise_before_gradient),
    (checks.check_langevin_step, langevin_noise_inside_step),
    (checks.check_langevin_step, langevin_keeps_input_graph),
    (checks.check_langevin_step, langevin_clamp_before_noise),
    (checks.check_langevin_step, langevin_clip_after_step),
]


ALT_CORRECT = [
    (checks.check_langevin_step, langevin_noise_first),
    (checks.check_langevin_step, langevin_func_grad),
    (checks.check_langevin_step, langevin_step_grad_outputs),
]
