"""The graded parts of ``07_score_models``, written once (instructor-only; see ``docs/design.md``).

The notebook source ``07_score_models.py`` names each definition here in a
``# %% solution ... from=score_models:NAME`` cell; ``make notebooks`` copies its source, solution
markers and all, into the notebook. The hidden checks compare a submission with these. The
imports below are the ones the notebook's first cell makes: a body here may use exactly those
names.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def geometric_sigmas(sigma_max, sigma_min, n):
    """n noise levels from sigma_max down to sigma_min with a constant ratio between neighbours.

    Returns:
        a float64 tensor (n,): sigma_max first, sigma_min last (n = 1: just sigma_max).
    """
    ### BEGIN SOLUTION
    logs = torch.linspace(math.log(sigma_max), math.log(sigma_min), n, dtype=torch.float64)
    return logs.exp()
    ### END SOLUTION


class EpsScore(nn.Module):
    """The score read off a noise-predicting network: s(x, sigma) = -eps_net(x, sigma) / sigma."""

    def __init__(self, eps_net):
        super().__init__()
        self.eps_net = eps_net

    def forward(self, x, sigma):
        """x (B, ...); sigma a float, a 0-d tensor or a (B,) tensor (one level per sample).

        Calls eps_net(x, sigma_b) with sigma_b a (B,) tensor of x's dtype and device, and
        returns the score, (B, ...), with its graph (training differentiates through it).
        """
        ### BEGIN SOLUTION
        sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).expand(x.shape[0])
        eps = self.eps_net(x, sigma)
        return -eps / sigma.view(-1, *[1] * (x.dim() - 1))
        ### END SOLUTION


def dsm_loss(score_fn, x, sigma, z):
    """Denoising score matching over noise levels, weighted by sigma^2 (Song and Ermon 2019).

    Args:
        score_fn: score_fn(x_noisy, sigma) -> (B, ...).
        x: clean data (B, ...). sigma: noise levels (B,), one per sample.
        z: standard normal noise like x.
    Returns:
        a scalar tensor: the batch mean of sigma^2 * |score_fn(x + sigma z, sigma) + z / sigma|^2,
        the squared norm summed over each sample's elements.
    """
    ### BEGIN SOLUTION
    s = sigma.view(-1, *[1] * (x.dim() - 1))
    residual = score_fn(x + s * z, sigma) + z / s
    return (sigma ** 2 * residual.pow(2).flatten(1).sum(1)).mean()
    ### END SOLUTION


def eps_loss(eps_fn, x, sigma, z):
    """The noise-prediction loss of diffusion models (Ho et al. 2020), on x + sigma z.

    Args:
        eps_fn: eps_fn(x_noisy, sigma) -> predicted noise (B, ...).
        x, sigma, z: as for dsm_loss.
    Returns:
        a scalar tensor: the batch mean of |eps_fn(x + sigma z, sigma) - z|^2 (summed over each
        sample's elements).
    """
    ### BEGIN SOLUTION
    x_noisy = x + sigma.view(-1, *[1] * (x.dim() - 1)) * z
    return (eps_fn(x_noisy, sigma) - z).pow(2).flatten(1).sum(1).mean()
    ### END SOLUTION


def tweedie_denoise(score_fn, x, sigma):
    """Tweedie's formula: E[x_clean | x] = x + sigma^2 * score_fn(x, sigma).

    sigma: a float or a (B,) tensor (passed to score_fn as given). Returns (B, ...); x is not
    modified.
    """
    ### BEGIN SOLUTION
    s = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
    if s.dim() == 1:
        s = s.view(-1, *[1] * (x.dim() - 1))
    return x + s ** 2 * score_fn(x, sigma)
    ### END SOLUTION


def annealed_langevin(score_fn, x, sigmas, n_steps_each, eps, generator, denoise=True):
    """Annealed Langevin dynamics (Song and Ermon 2019, Algorithm 1), then Tweedie's step.

    For each sigma_i of the decreasing sigmas: alpha_i = eps * sigma_i^2 / sigma_L^2, then
    n_steps_each times x <- x + alpha_i / 2 * score_fn(x, sigma_i) + sqrt(alpha_i) * z, with
    sigma_i passed as a (B,) tensor and z ~ N(0, I) drawn from generator. With denoise, finish
    with tweedie_denoise at sigma_L. Returns the final states (B, ...), detached; x untouched.
    """
    ### BEGIN SOLUTION
    x = x.detach().clone()
    sigma_last = float(sigmas[-1])
    for sigma in sigmas:
        alpha = eps * (float(sigma) / sigma_last) ** 2
        level = torch.full((x.shape[0],), float(sigma), dtype=x.dtype, device=x.device)
        for _ in range(n_steps_each):
            z = torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)
            x = (x + 0.5 * alpha * score_fn(x, level) + math.sqrt(alpha) * z).detach()
    if denoise:
        level = torch.full((x.shape[0],), sigma_last, dtype=x.dtype, device=x.device)
        x = tweedie_denoise(score_fn, x, level).detach()
    return x
    ### END SOLUTION


def inpaint_score(score_fn, x_known, mask, sigmas, n_steps_each, eps, generator):
    """Fill the pixels where mask is True with the score model; keep the others.

    Start: x = x_known + sigma_1 z where mask is False, sigma_1 z where it is True. At each level
    and step: the Langevin step of annealed_langevin on the whole image, then the known pixels
    set to x_known + sigma_i z' (fresh noise: they must look as noisy as the rest). At the end:
    tweedie_denoise at sigma_L, and the known pixels set to x_known exactly.

    Args:
        x_known: (B, ...); its values under mask are ignored. mask: bool, broadcastable to
            x_known, True where pixels are missing. Noise from generator.
    Returns:
        the completed images (B, ...), detached; x_known untouched.
    """
    ### BEGIN SOLUTION
    x_known = x_known.detach()

    def noise():
        return torch.randn(x_known.shape, generator=generator,
                           dtype=x_known.dtype).to(x_known.device)

    first, last = float(sigmas[0]), float(sigmas[-1])
    x = torch.where(mask, first * noise(), x_known + first * noise())
    for sigma in sigmas:
        alpha = eps * (float(sigma) / last) ** 2
        level = torch.full((x.shape[0],), float(sigma), dtype=x.dtype, device=x.device)
        for _ in range(n_steps_each):
            x = (x + 0.5 * alpha * score_fn(x, level) + math.sqrt(alpha) * noise()).detach()
            x = torch.where(mask, x, x_known + float(sigma) * noise())
    level = torch.full((x.shape[0],), last, dtype=x.dtype, device=x.device)
    x = tweedie_denoise(score_fn, x, level).detach()
    return torch.where(mask, x, x_known)
    ### END SOLUTION
