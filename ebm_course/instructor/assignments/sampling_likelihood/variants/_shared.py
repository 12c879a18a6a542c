"""06_sampling_likelihood: helpers shared by the variants of several parts."""

from __future__ import annotations

import torch


def _grad(energy_fn, x):
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        e = energy_fn(x)
        (g,) = torch.autograd.grad(e.sum(), x)
    return e.detach(), g


def _noise(x, generator):
    return torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)


def _private(generator):
    """A private generator seeded from the caller's: reproducible, but the caller's never moves."""
    return torch.Generator().manual_seed(generator.initial_seed())


def _per_chain(x, generator):
    """One normal per chain broadcast over its coordinates: right variance, fully correlated."""
    z = torch.randn(len(x), 1, generator=generator, dtype=x.dtype, device=x.device)
    return z.expand(len(x), x[0].numel()).reshape(x.shape)
