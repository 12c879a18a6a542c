"""The graded parts of ``03_mnist_ebm``, written once (instructor-only; see ``docs/design.md``).

``the notebook source 03_mnist_ebm.py`` names each definition here in a ``# %% solution ... from=mnist_ebm:NAME``
cell; ``make notebooks`` copies its source, solution markers and all, into the notebook. The
hidden checks of ``..grading`` compare a submission with these. The imports below are the ones
the notebook's first cell makes: a body here may use exactly those names.
"""

from __future__ import annotations

import torch
from torch import nn

import ebm_course.models
import ebm_course.sampling
from ebm_course.sampling import write_slots


class Swish(nn.Module):
    """Swish activation, x * sigmoid(x), elementwise; any shape in, same shape out."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        return x * torch.sigmoid(x)
        ### END SOLUTION


class CNNEnergy(ebm_course.models.CNNEnergy):
    """The course's CNN with your Swish: images (B, C, H, W) in [-1, 1] -> K logits.

    The package builds the layers (``self.features``: four stride-2 convolutions, flattened;
    ``self.head``: two linear layers ending in ``n_classes`` logits); you write what they compute.
    """

    def __init__(self, in_channels: int = 1, image_size: int = 28, hidden: int = 32,
                 n_classes: int = 1) -> None:
        super().__init__(in_channels, image_size, hidden, n_classes, activation=Swish)

    def get_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Logits f(x), (B, K)."""
        ### BEGIN SOLUTION
        return self.head(self.features(x))
        ### END SOLUTION

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """neg_energy, (B,): logsumexp of the logits, or the logit of class y (B,) if given."""
        ### BEGIN SOLUTION
        logits = self.get_logits(x)
        if y is None:
            return logits.logsumexp(dim=1)
        return logits.gather(1, y[:, None]).squeeze(1)
        ### END SOLUTION


def langevin_step(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """One SGLD step: x - step_size * clip(dE/dx) + noise_std * N(0, I), then clamp.

    Args:
        energy_fn: maps x (B, ...) to energies (B,).
        x: current samples (B, ...); not modified.
        step_size, noise_std: floats.
        grad_clip: clip each gradient entry to [-grad_clip, grad_clip]; None: no clip.
        clamp: (low, high) or None.
    Returns:
        the new samples, (B, ...), detached.
    """
    ### BEGIN SOLUTION
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(energy_fn(x).sum(), x)
    if grad_clip is not None:
        grad = grad.clamp(-grad_clip, grad_clip)
    x_new = x.detach() - step_size * grad + noise_std * torch.randn_like(x)
    if clamp is not None:
        x_new = x_new.clamp(*clamp)
    return x_new
    ### END SOLUTION


class MCMCSampler(ebm_course.sampling.MCMCSampler):
    """SGLD with a replay buffer; inherits __init__, init_noise and sample from the package."""

    def _init_chains(self, batch_size):
        """Returns x_init (B, *sample_shape) and idx (B,) int64."""
        ### BEGIN SOLUTION
        if self.n_filled == 0:
            idx = torch.zeros(batch_size, dtype=torch.long)
            fresh = torch.ones(batch_size, dtype=torch.bool)
        else:
            idx = torch.randint(self.n_filled, (batch_size,), generator=self.generator)
            fresh = torch.rand(batch_size, generator=self.generator) < self.reinit_prob
        x_init = self.buffer[idx.to(self.buffer.device)].clone()
        n_fresh = int(fresh.sum())
        if n_fresh:
            x_init[fresh.to(self.buffer.device)] = self.init_noise(n_fresh)
        return x_init, idx
        ### END SOLUTION

    def _update_buffer(self, x_model, idx):
        """Store the final samples x_model (B, *sample_shape) drawn from slots idx (B,)."""
        ### BEGIN SOLUTION
        x_model = x_model.detach().to(self.buffer.device, self.buffer.dtype)
        n_append = min(len(x_model), self.buffer_size - self.n_filled)
        self.buffer[self.n_filled:self.n_filled + n_append] = x_model[:n_append]
        self.n_filled += n_append
        if n_append < len(x_model):
            write_slots(self.buffer, idx[n_append:], x_model[n_append:])
        ### END SOLUTION


def ebm_loss(energy_data, energy_model, alpha):
    """Contrastive divergence + alpha * L2 energy regulariser.

    Args:
        energy_data: E(x_data), (B,). energy_model: E(x_model), (B,). alpha: float.
    Returns:
        (loss, cd, reg), three scalar tensors.
    """
    ### BEGIN SOLUTION
    cd = energy_data.mean() - energy_model.mean()
    reg = energy_data.pow(2).mean() + energy_model.pow(2).mean()
    return cd + alpha * reg, cd, reg
    ### END SOLUTION
