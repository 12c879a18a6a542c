"""Code 07_score_models gives its students (not graded), importable by tests and benchmarks.

Each definition here is the text of a plain code cell of the notebook: the source names it in a
``# %% given from=score_models:NAME`` cell and ``make notebooks`` copies it in. They are
assignment 3's graded parts (the EBM the score model is compared with, trained here by 03's
recipe) and assignment 6's histogram distance, as their reference solutions have them: a
student of 07 needs them to run, not to write them again.
"""

from __future__ import annotations

import torch

import ebm_course.models
import ebm_course.sampling
from ebm_course.sampling import write_slots


class EnergyCNN(ebm_course.models.CNNEnergy):
    """03's CNN energy (with torch's SiLU, the same function as 03's Swish)."""

    def get_logits(self, x):
        return self.head(self.features(x))

    def forward(self, x, y=None):
        """neg_energy (B,): logsumexp of the logits, or the logit of class y."""
        logits = self.get_logits(x)
        if y is None:
            return logits.logsumexp(dim=1)
        return logits.gather(1, y[:, None]).squeeze(1)


def sgld_step(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """03's SGLD step: x - step_size * clip(dE/dx) + noise_std * N(0, I), then clamp."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(energy_fn(x).sum(), x)
    if grad_clip is not None:
        grad = grad.clamp(-grad_clip, grad_clip)
    x_new = x.detach() - step_size * grad + noise_std * torch.randn_like(x)
    return x_new if clamp is None else x_new.clamp(*clamp)


class ReplaySampler(ebm_course.sampling.MCMCSampler):
    """03's replay buffer: chains start from buffered samples (reinit_prob from noise)."""

    def _init_chains(self, batch_size):
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

    def _update_buffer(self, x_model, idx):
        x_model = x_model.detach().to(self.buffer.device, self.buffer.dtype)
        n_append = min(len(x_model), self.buffer_size - self.n_filled)
        self.buffer[self.n_filled:self.n_filled + n_append] = x_model[:n_append]
        self.n_filled += n_append
        if n_append < len(x_model):
            write_slots(self.buffer, idx[n_append:], x_model[n_append:])


def cd_loss(energy_data, energy_model, alpha):
    """03's loss: contrastive divergence + alpha * L2 energy regulariser -> (loss, cd, reg)."""
    cd = energy_data.mean() - energy_model.mean()
    reg = energy_data.pow(2).mean() + energy_model.pow(2).mean()
    return cd + alpha * reg, cd, reg


def tv_distance(samples, grid_probs, box):
    """06's total-variation distance between a histogram of 2D samples and exact cell
    probabilities (n, n) on box x box; samples outside the box count as mass it lacks."""
    n = grid_probs.shape[0]
    low, high = box
    idx = torch.floor((samples.double() - low) / (high - low) * n).long()
    inside = ((idx >= 0) & (idx < n)).all(dim=1)
    cells = idx[inside, 0] * n + idx[inside, 1]
    empirical = torch.bincount(cells, minlength=n * n).double() / len(samples)
    outside = 1.0 - inside.double().mean()
    exact = grid_probs.double().reshape(-1).to(empirical.device)
    return float(0.5 * ((empirical - exact).abs().sum() + outside))
