"""07_score_models: helpers shared by the variants of several parts."""

from __future__ import annotations

import torch


def _noise(x, generator):
    return torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)


def _levels(x, sigma):
    return torch.full((x.shape[0],), float(sigma), dtype=x.dtype, device=x.device)


def _private(generator):
    """A private generator seeded from the caller's: reproducible, but the caller's never moves."""
    return torch.Generator().manual_seed(generator.initial_seed())
