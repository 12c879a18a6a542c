"""Code 04_glyph_jem gives its students (not graded), importable by tests and benchmarks.

Each definition here is the text of a plain code cell of the notebook: the source names it in a
``# %% given from=glyph_jem:NAME`` cell and ``make notebooks`` copies it in, as it copies graded
parts from ``reference.py``. In the notebook the names these bodies use (``class_gaussian_init``)
are the student's; imported from here they are the reference's.
"""

from __future__ import annotations

import torch

from ebm_course.models import CNNEnergy
from ebm_course.sampling import MCMCSampler, write_slots

from .reference import class_gaussian_init


class GlyphCNN(CNNEnergy):
    """The JEM network: K logits; forward returns neg_energy (B,)."""

    def get_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Logits f(x): images (B, C, H, W) -> (B, K)."""
        return self.head(self.features(x))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """neg_energy (B,): logsumexp_k f(x)[k] without y; f(x)[y] with labels y (B,)."""
        logits = self.get_logits(x)
        if y is None:
            return logits.logsumexp(dim=1)
        return logits.gather(1, y[:, None]).squeeze(1)


def sgld_step(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """x - step_size * clip(dE/dx) + noise_std * eps, clamped; (B, ...) -> (B, ...), detached."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(energy_fn(x).sum(), x)
    if grad_clip is not None:
        grad = grad.clamp(-grad_clip, grad_clip)
    x_new = x.detach() - step_size * grad + noise_std * torch.randn_like(x)
    return x_new if clamp is None else x_new.clamp(*clamp)


class GlyphSampler(MCMCSampler):
    """JEM's fixed-size buffer of persistent chains; fresh chains from your class_gaussian_init
    (from N(0, init_std^2) when it has no class Gaussians)."""

    def init_noise(self, n: int) -> torch.Tensor:
        g = getattr(self, "class_gaussians", None)
        if g is None:
            x = torch.randn((n, *self.sample_shape), generator=self.generator) * self.init_std
        else:
            x = class_gaussian_init(n, g.means, g.factors, self.generator).clamp(-1, 1)
        return x.view(n, *self.sample_shape).to(self.buffer.device)

    def _init_chains(self, batch_size: int):
        """Chain starts (B, C, H, W) and the slots (B,) they came from."""
        if self.n_filled < self.buffer_size:  # the first call fills the whole buffer
            self.buffer[self.n_filled:] = self.init_noise(self.buffer_size - self.n_filled)
            self.n_filled = self.buffer_size
        idx = torch.randint(self.buffer_size, (batch_size,), generator=self.generator)
        restart = torch.rand(batch_size, generator=self.generator) < self.reinit_prob
        x_init = self.buffer[idx.to(self.buffer.device)].clone()
        x_init[restart.to(x_init.device)] = self.init_noise(int(restart.sum()))
        return x_init, idx

    def _update_buffer(self, x_model: torch.Tensor, idx: torch.Tensor) -> None:
        """The chains go back to the slots they were drawn from."""
        write_slots(self.buffer, idx, x_model.detach())  # a repeated slot: the last chain wins
