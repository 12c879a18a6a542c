"""The EBM training loss as pure functions on energies.

Maximum likelihood for ``p(x) = exp(-E(x)) / Z`` has the gradient
``d(-log p(x_data))/d theta = dE(x_data)/d theta - E_{x ~ p}[dE(x)/d theta]``: push the energy
of data down, push the energy of model samples up. Its Monte-Carlo surrogate is the
contrastive-divergence loss below, with ``x_model`` drawn by SGLD (no gradient through the chain).
"""

from __future__ import annotations

import torch


def contrastive_divergence(energy_data: torch.Tensor, energy_model: torch.Tensor) -> torch.Tensor:
    """``mean E(x_data) - mean E(x_model)``: minimising it lowers data energy, raises samples'.

    Args:
        energy_data: energies of a data batch, (B,).
        energy_model: energies of model samples, (B',).
    Returns:
        scalar tensor.
    """
    return energy_data.mean() - energy_model.mean()


def energy_l2(energy_data: torch.Tensor, energy_model: torch.Tensor) -> torch.Tensor:
    """``mean E(x_data)^2 + mean E(x_model)^2``.

    Why: contrastive divergence only sees energy *differences*, so both energies can drift to
    +-infinity together; the square keeps them near zero, which keeps SGLD's gradients (and the
    training) numerically stable.
    """
    return energy_data.pow(2).mean() + energy_model.pow(2).mean()


def ebm_loss(energy_data: torch.Tensor, energy_model: torch.Tensor,
             alpha: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The EBM training loss ``cd + alpha * reg``.

    Args:
        energy_data: E(x_data), (B,).
        energy_model: E(x_model), (B,).
        alpha: weight of the L2 energy regulariser.
    Returns:
        (loss, cd, reg): three scalar tensors; ``loss`` carries the gradient.
    """
    raise NotImplementedError("the student edition leaves this out: your notebook defines its own version")
