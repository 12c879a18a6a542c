"""The graded parts of ``06_sampling_likelihood``, written once (instructor-only; see ``docs/design.md``).

``the notebook source 06_sampling_likelihood.py`` names each definition here in a
``# %% solution ... from=sampling_likelihood:NAME`` cell; ``make notebooks`` copies its source,
solution markers and all, into the notebook. The hidden checks of ``..grading`` compare a
submission with these. The imports below are the ones the notebook's first cell makes: a body
here may use exactly those names.
"""

from __future__ import annotations

import math

import torch


def ula_step(energy_fn, x, step_size, generator, noise_std=None):
    """One unadjusted Langevin step on a batch of chains: x - step_size * dE/dx + noise_std * N(0, I).

    Args:
        energy_fn: maps (B, ...) to energies (B,).
        x: current states (B, ...); not modified.
        step_size: float.
        generator: torch.Generator for the noise (same generator state, same result).
        noise_std: None for ULA proper, sqrt(2 * step_size); a float to decouple it (SGLD).
    Returns:
        new states (B, ...), detached.
    """
    ### BEGIN SOLUTION
    if noise_std is None:
        noise_std = math.sqrt(2 * step_size)
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(energy_fn(x).sum(), x)
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    return (x - step_size * grad + noise_std * noise).detach()
    ### END SOLUTION


def mala_step(energy_fn, x, step_size, generator):
    """One Metropolis-adjusted Langevin step on a batch of independent chains.

    Proposal y = x - step_size * dE/dx(x) + sqrt(2 step_size) * N(0, I); accept with probability
    min(1, exp(-E(y)) q(x | y) / (exp(-E(x)) q(y | x))), one decision per chain.

    Returns:
        (new states (B, ...) detached, accepted (B,) bool).
    """
    ### BEGIN SOLUTION
    def energy_and_grad(z):
        z = z.detach().requires_grad_(True)
        with torch.enable_grad():
            e = energy_fn(z)
            (g,) = torch.autograd.grad(e.sum(), z)
        return e.detach(), g

    e_x, g_x = energy_and_grad(x)
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    y = x.detach() - step_size * g_x + math.sqrt(2 * step_size) * noise
    e_y, g_y = energy_and_grad(y)
    # log q(b | a) = -|b - a + step_size * grad E(a)|^2 / (4 step_size) + const
    log_q_forward = -(y - x + step_size * g_x).pow(2).flatten(1).sum(1) / (4 * step_size)
    log_q_backward = -(x - y + step_size * g_y).pow(2).flatten(1).sum(1) / (4 * step_size)
    log_alpha = e_x - e_y + log_q_backward - log_q_forward
    u = torch.rand(len(x), generator=generator, dtype=x.dtype, device=x.device)
    accepted = torch.log(u) < log_alpha
    keep = accepted.view(-1, *[1] * (x.dim() - 1))
    return torch.where(keep, y, x).detach(), accepted
    ### END SOLUTION


def leapfrog(energy_fn, x, p, step_size, n_steps):
    """n_steps leapfrog steps of H(x, p) = E(x) + |p|^2 / 2: half kick, (drift, kick) ..., half kick.

    Args:
        x, p: positions and momenta (B, ...); not modified.
        step_size: float; n_steps: int >= 1.
    Returns:
        (x, p) after n_steps steps, detached.
    """
    ### BEGIN SOLUTION
    def grad_energy(z):
        z = z.detach().requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(energy_fn(z).sum(), z)
        return g

    x, p = x.detach(), p.detach()
    p = p - 0.5 * step_size * grad_energy(x)
    for i in range(n_steps):
        x = x + step_size * p
        if i < n_steps - 1:
            p = p - step_size * grad_energy(x)
    p = p - 0.5 * step_size * grad_energy(x)
    return x.detach(), p.detach()
    ### END SOLUTION


def hmc_step(energy_fn, x, step_size, generator, n_leapfrog=10):
    """One Hamiltonian Monte Carlo step per chain: fresh momenta p ~ N(0, I), n_leapfrog leapfrog
    steps (your ``leapfrog``), accept with probability min(1, exp(H(x, p) - H(x', p'))).

    Returns:
        (new states (B, ...) detached, accepted (B,) bool).
    """
    ### BEGIN SOLUTION
    x = x.detach()
    p = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    x_new, p_new = leapfrog(energy_fn, x, p, step_size, n_leapfrog)
    with torch.no_grad():
        h_old = energy_fn(x) + 0.5 * p.pow(2).flatten(1).sum(1)
        h_new = energy_fn(x_new) + 0.5 * p_new.pow(2).flatten(1).sum(1)
    u = torch.rand(len(x), generator=generator, dtype=x.dtype, device=x.device)
    accepted = torch.log(u) < h_old - h_new
    keep = accepted.view(-1, *[1] * (x.dim() - 1))
    return torch.where(keep, x_new, x).detach(), accepted
    ### END SOLUTION


def tv_distance(samples, grid_probs, box):
    """Total-variation distance between the histogram of samples and exact cell probabilities.

    Args:
        samples: (N, 2).
        grid_probs: (n, n), summing to 1; cell (i, j) covers the i-th of n equal intervals of
            box along the first coordinate and the j-th along the second.
        box: (low, high), the same on both axes. Samples outside it count as mass the exact
            density does not have there.
    Returns:
        a float in [0, 1]: 0.5 * sum over cells and the outside of |empirical - exact|.
    """
    ### BEGIN SOLUTION
    n = grid_probs.shape[0]
    low, high = box
    idx = torch.floor((samples.double() - low) / (high - low) * n).long()
    inside = ((idx >= 0) & (idx < n)).all(dim=1)
    cells = idx[inside, 0] * n + idx[inside, 1]
    counts = torch.bincount(cells, minlength=n * n).double()
    empirical = counts / len(samples)
    outside = 1.0 - inside.double().mean()
    exact = grid_probs.double().reshape(-1).to(empirical.device)
    return float(0.5 * ((empirical - exact).abs().sum() + outside))
    ### END SOLUTION


def ais_log_z(energy_fn, base_energy_fn, base_log_z, x, betas, transition):
    """Annealed importance sampling from a normalised base to exp(-E) / Z.

    Path: E_b(x) = (1 - b) E_0(x) + b E(x) for b in betas (0 = b_0 < ... < b_K = 1). For each
    k = 1..K: add (b_{k-1} - b_k) (E(x) - E_0(x)) to the log weights at the current x, then
    move x with ``transition(E_{b_k}, x)`` (a move that leaves exp(-E_{b_k}) invariant).

    Args:
        energy_fn, base_energy_fn: (B, d) -> (B,); the base's log normaliser is ``base_log_z``.
        x: (B, d) exact samples of the base.
        betas: increasing sequence of floats from 0 to 1.
        transition: ``transition(energy_fn_b, x) -> x``.
    Returns:
        (estimate of log Z as a 0-d tensor, log weights (B,)).
    """
    ### BEGIN SOLUTION
    betas = [float(b) for b in betas]
    x = x.detach()
    log_w = torch.zeros(len(x), dtype=x.dtype, device=x.device)
    for b_prev, b in zip(betas[:-1], betas[1:]):
        with torch.no_grad():
            log_w = log_w + (b_prev - b) * (energy_fn(x) - base_energy_fn(x))
        x = transition(lambda z, b=b: (1 - b) * base_energy_fn(z) + b * energy_fn(z), x).detach()
    log_z = base_log_z + torch.logsumexp(log_w, dim=0) - math.log(len(log_w))
    return log_z, log_w
    ### END SOLUTION


def annealed_langevin(score_fn, x, sigmas, n_steps_each, step_lr, generator):
    """Annealed Langevin dynamics (Song and Ermon 2019, Algorithm 1).

    For each sigma_i of the decreasing ``sigmas``: alpha_i = step_lr * sigma_i^2 / sigma_L^2
    (sigma_L the smallest), then n_steps_each times
    x <- x + alpha_i / 2 * score_fn(x, sigma_i) + sqrt(alpha_i) * N(0, I).

    Returns:
        the final states (B, ...), detached.
    """
    ### BEGIN SOLUTION
    x = x.detach()
    sigma_last = float(sigmas[-1])
    for sigma in sigmas:
        alpha = step_lr * (float(sigma) / sigma_last) ** 2
        for _ in range(n_steps_each):
            noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
            x = (x + 0.5 * alpha * score_fn(x, sigma) + math.sqrt(alpha) * noise).detach()
    return x
    ### END SOLUTION
