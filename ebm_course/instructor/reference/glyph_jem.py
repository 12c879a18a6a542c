"""The graded parts of ``04_glyph_jem``, written once (instructor-only; see ``docs/design.md``).

``course/src/04_glyph_jem.py`` names each definition here in a ``# %% solution ... from=glyph_jem:NAME``
cell; ``make notebooks`` copies its source, solution markers and all, into the notebook. The
hidden checks of ``..grading`` compare a submission with these. The imports below are the ones
the notebook's first cell makes: a body here may use exactly those names.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ebm_course.models import CNNEnergy


class GlyphCNN(CNNEnergy):
    """The JEM network: K logits; forward returns neg_energy (B,)."""

    def get_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Logits f(x): images (B, C, H, W) -> (B, K)."""
        ### BEGIN SOLUTION
        return self.head(self.features(x))
        ### END SOLUTION

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """neg_energy (B,): logsumexp_k f(x)[k] without y; f(x)[y] with labels y (B,)."""
        ### BEGIN SOLUTION
        logits = self.get_logits(x)
        if y is None:
            return logits.logsumexp(dim=1)
        return logits.gather(1, y[:, None]).squeeze(1)
        ### END SOLUTION


def gaussian_init(n: int, sample_shape, init_std: float, generator: torch.Generator) -> torch.Tensor:
    """Fresh chain starts x ~ N(0, init_std^2): (n, *sample_shape), float32, from `generator`."""
    ### BEGIN SOLUTION
    return torch.randn((n, *sample_shape), generator=generator) * init_std
    ### END SOLUTION


def sgld_step(energy_fn, x: torch.Tensor, step_size: float, noise_std: float,
              grad_clip: float | None = None, clamp: tuple | None = None) -> torch.Tensor:
    """x - step_size * clip(dE/dx) + noise_std * eps, clamped; (B, ...) -> (B, ...), detached."""
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


def pyx_step(net, x: torch.Tensor, y: torch.Tensor):
    """(loss, acc): mean cross-entropy of net.get_logits(x) against y (B,), and the accuracy."""
    ### BEGIN SOLUTION
    logits = net.get_logits(x)
    loss = F.cross_entropy(logits, y)
    acc = (logits.argmax(dim=1) == y).float().mean().detach()
    return loss, acc
    ### END SOLUTION


def px_step(net, sampler, x_data: torch.Tensor, alpha: float):
    """(loss, energy_data, energy_model): contrastive divergence on E = -net(x) + alpha * L2."""
    ### BEGIN SOLUTION
    x_model = sampler.sample(net, x_data.shape[0])
    energy_data, energy_model = -net(x_data), -net(x_model)
    cd = energy_data.mean() - energy_model.mean()
    reg = energy_data.pow(2).mean() + energy_model.pow(2).mean()
    return cd + alpha * reg, energy_data, energy_model
    ### END SOLUTION


def jem_step(net, sampler, x, y, alpha: float, px_weight: float = 1.0, pyx_weight: float = 1.0,
             px_step_fn=px_step, pyx_step_fn=pyx_step):
    """(loss, loss_px, loss_pyx, acc) with loss = px_weight * loss_px + pyx_weight * loss_pyx."""
    ### BEGIN SOLUTION
    loss_pyx, acc = pyx_step_fn(net, x, y)
    if px_weight > 0:
        loss_px = px_step_fn(net, sampler, x, alpha)[0]
    else:
        loss_px = torch.zeros((), device=x.device)
    return px_weight * loss_px + pyx_weight * loss_pyx, loss_px, loss_pyx, acc
    ### END SOLUTION
