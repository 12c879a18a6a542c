"""06_sampling_likelihood: wrong implementations (each must FAIL its check) and correct ones
written differently (each must PASS), for ``ebm_course.instructor.assignments.sampling_likelihood.checks``:
the mistakes students make with Langevin noise scales, Metropolis-Hastings corrections, leapfrog
half steps, momenta, histogram bins, AIS weights and the annealing schedule.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ebm_course.instructor.assignments.sampling_likelihood import checks as checks
from ebm_course.instructor.assignments.sampling_likelihood import reference as ref


def _grad(energy_fn, x):
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        e = energy_fn(x)
        (g,) = torch.autograd.grad(e.sum(), x)
    return e.detach(), g


def _noise(x, generator):
    return torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)


def _sq(z):
    return z.pow(2).flatten(1).sum(1)


# ---------------------------------------------------------------- wrong: ula_step

def ula_sqrt_eps_noise(energy_fn, x, step_size, generator, noise_std=None):
    """Noise sqrt(step_size) instead of sqrt(2 step_size): samples exp(-2E), half the variance."""
    noise_std = math.sqrt(step_size) if noise_std is None else noise_std
    _, g = _grad(energy_fn, x)
    return (x - step_size * g + noise_std * _noise(x, generator)).detach()


def ula_gradient_ascent(energy_fn, x, step_size, generator, noise_std=None):
    """Moves up the energy (+ step_size * dE/dx): away from the modes."""
    noise_std = math.sqrt(2 * step_size) if noise_std is None else noise_std
    _, g = _grad(energy_fn, x)
    return (x + step_size * g + noise_std * _noise(x, generator)).detach()


def ula_mean_energy(energy_fn, x, step_size, generator, noise_std=None):
    """Differentiates the batch's mean energy: every gradient is divided by B."""
    noise_std = math.sqrt(2 * step_size) if noise_std is None else noise_std
    z = x.detach().requires_grad_(True)
    with torch.enable_grad():
        (g,) = torch.autograd.grad(energy_fn(z).mean(), z)
    return (x - step_size * g + noise_std * _noise(x, generator)).detach()


def ula_global_noise(energy_fn, x, step_size, generator, noise_std=None):
    """Ignores the generator: torch.randn_like draws from the global random state."""
    noise_std = math.sqrt(2 * step_size) if noise_std is None else noise_std
    _, g = _grad(energy_fn, x)
    return (x - step_size * g + noise_std * torch.randn_like(x)).detach()


def ula_half_step(energy_fn, x, step_size, generator, noise_std=None):
    """The drift of the Langevin SDE written with step_size / 2 but the noise of step_size."""
    noise_std = math.sqrt(2 * step_size) if noise_std is None else noise_std
    _, g = _grad(energy_fn, x)
    return (x - 0.5 * step_size * g + noise_std * _noise(x, generator)).detach()


def ula_float32_noise(energy_fn, x, step_size, generator, noise_std=None):
    """Noise drawn in the default dtype and the result cast to float32."""
    noise_std = math.sqrt(2 * step_size) if noise_std is None else noise_std
    _, g = _grad(energy_fn, x)
    noise = torch.randn(x.shape, generator=generator)
    return (x - step_size * g + noise_std * noise).float().detach()


def ula_attached(energy_fn, x, step_size, generator, noise_std=None):
    """Returns states still attached to the graph (create_graph): memory grows along a chain."""
    noise_std = math.sqrt(2 * step_size) if noise_std is None else noise_std
    z = x.detach().requires_grad_(True)
    with torch.enable_grad():
        (g,) = torch.autograd.grad(energy_fn(z).sum(), z, create_graph=True)
        return z - step_size * g + noise_std * _noise(x, generator)


# ---------------------------------------------------------------- wrong: mala_step

def _mala(energy_fn, x, step_size, generator, *, correction=True, sign=1.0, scale=4.0,
          compare="lt", per_chain=True, noise=math.sqrt(2), reuse_grad=False):
    e_x, g_x = _grad(energy_fn, x)
    y = x.detach() - step_size * g_x + noise * math.sqrt(step_size) * _noise(x, generator)
    e_y, g_y = _grad(energy_fn, y)
    if reuse_grad:
        g_y = g_x
    fwd = -_sq(y - x + step_size * g_x) / (scale * step_size)
    bwd = -_sq(x - y + step_size * g_y) / (scale * step_size)
    log_alpha = e_x - e_y + (sign * (bwd - fwd) if correction else 0.0)
    if not per_chain:
        log_alpha = log_alpha.sum().expand(len(x))
    u = torch.rand(len(x), generator=generator, dtype=x.dtype)
    accepted = torch.log(u) < log_alpha if compare == "lt" else torch.log(u) > log_alpha
    keep = accepted.view(-1, *[1] * (x.dim() - 1))
    return torch.where(keep, y, x).detach(), accepted


def mala_no_correction(energy_fn, x, step_size, generator):
    """Metropolis ratio exp(E(x) - E(y)) only: forgets the asymmetric proposal."""
    return _mala(energy_fn, x, step_size, generator, correction=False)


def mala_correction_reversed(energy_fn, x, step_size, generator):
    """log q(y|x) - log q(x|y) instead of log q(x|y) - log q(y|x)."""
    return _mala(energy_fn, x, step_size, generator, sign=-1.0)


def mala_wrong_variance(energy_fn, x, step_size, generator):
    """Proposal density with variance step_size instead of 2 step_size (/(2 eps), not /(4 eps))."""
    return _mala(energy_fn, x, step_size, generator, scale=2.0)


def mala_accepts_on_wrong_side(energy_fn, x, step_size, generator):
    """Accepts when log u > log alpha: rejects exactly the good moves."""
    return _mala(energy_fn, x, step_size, generator, compare="gt")


def mala_one_decision(energy_fn, x, step_size, generator):
    """Sums log alpha over the batch: one accept / reject for all chains together."""
    return _mala(energy_fn, x, step_size, generator, per_chain=False)


def mala_reuses_gradient(energy_fn, x, step_size, generator):
    """The reverse proposal's mean uses the gradient at x, not at the proposal y."""
    return _mala(energy_fn, x, step_size, generator, reuse_grad=True)


def mala_sqrt_eps_noise(energy_fn, x, step_size, generator):
    """Proposal noise sqrt(step_size) with the density of sqrt(2 step_size)."""
    return _mala(energy_fn, x, step_size, generator, noise=1.0)


def mala_mask_inverted(energy_fn, x, step_size, generator):
    """Correct moves, but returns the rejection mask as 'accepted'."""
    x_new, acc = ref.mala_step(energy_fn, x, step_size, generator)
    return x_new, ~acc


def mala_float_mask(energy_fn, x, step_size, generator):
    """Returns the acceptance as 0./1. floats instead of a bool tensor."""
    x_new, acc = ref.mala_step(energy_fn, x, step_size, generator)
    return x_new, acc.to(x.dtype)


def mala_prob_from_exp(energy_fn, x, step_size, generator):
    """alpha = exp(log_alpha) compared with u, but NaN-prone: inf - inf for infinite energies
    is treated as accept (torch.nan_to_num to 1)."""
    e_x, g_x = _grad(energy_fn, x)
    y = x.detach() - step_size * g_x + math.sqrt(2 * step_size) * _noise(x, generator)
    e_y, g_y = _grad(energy_fn, y)
    fwd = -_sq(y - x + step_size * g_x) / (4 * step_size)
    bwd = -_sq(x - y + step_size * g_y) / (4 * step_size)
    alpha = torch.nan_to_num(torch.exp(e_x - e_y + bwd - fwd), nan=1.0).clamp(max=1.0)
    alpha = torch.where(torch.isinf(e_y), torch.ones_like(alpha), alpha)
    u = torch.rand(len(x), generator=generator, dtype=x.dtype)
    acc = u < alpha
    return torch.where(acc.view(-1, *[1] * (x.dim() - 1)), y, x).detach(), acc


# ---------------------------------------------------------------- wrong: leapfrog

def leapfrog_full_kicks(energy_fn, x, p, step_size, n_steps):
    """Full kicks at both ends (symplectic Euler): no half steps."""
    x, p = x.detach(), p.detach()
    for _ in range(n_steps):
        p = p - step_size * _grad(energy_fn, x)[1]
        x = x + step_size * p
    return x.detach(), p.detach()


def leapfrog_missing_last_half(energy_fn, x, p, step_size, n_steps):
    """Forgets the final half kick."""
    x, p = x.detach(), p.detach()
    p = p - 0.5 * step_size * _grad(energy_fn, x)[1]
    for i in range(n_steps):
        x = x + step_size * p
        if i < n_steps - 1:
            p = p - step_size * _grad(energy_fn, x)[1]
    return x.detach(), p.detach()


def leapfrog_gradient_ascent(energy_fn, x, p, step_size, n_steps):
    """Kicks along +dE/dx."""
    x, p = x.detach(), p.detach()
    p = p + 0.5 * step_size * _grad(energy_fn, x)[1]
    for i in range(n_steps):
        x = x + step_size * p
        p = p + (step_size if i < n_steps - 1 else 0.5 * step_size) * _grad(energy_fn, x)[1]
    return x.detach(), p.detach()


def leapfrog_one_step_short(energy_fn, x, p, step_size, n_steps):
    """range(n_steps - 1): one drift too few."""
    return ref.leapfrog(energy_fn, x, p, step_size, max(n_steps - 1, 1)) if n_steps > 1 else \
        ref.leapfrog(energy_fn, x, p, step_size * 0.5, 1)


def leapfrog_in_place(energy_fn, x, p, step_size, n_steps):
    """Updates the caller's p in place (p -= ...)."""
    p -= 0.5 * step_size * _grad(energy_fn, x)[1]
    x = x.detach().clone()
    for i in range(n_steps):
        x += step_size * p
        p -= (step_size if i < n_steps - 1 else 0.5 * step_size) * _grad(energy_fn, x)[1]
    return x, p.clone()


# ---------------------------------------------------------------- wrong: hmc_step

def _hmc(energy_fn, x, step_size, generator, n_leapfrog, *, kinetic=True, sign=1.0, momentum=1.0,
         metropolis=True, negate=False):
    x = x.detach()
    p = momentum * _noise(x, generator)
    x_new, p_new = leapfrog(energy_fn, x, p, step_size, n_leapfrog)
    with torch.no_grad():
        h_old = energy_fn(x) + (0.5 * _sq(p) if kinetic else 0.0)
        h_new = energy_fn(x_new) + (0.5 * _sq(p_new) if kinetic else 0.0)
    u = torch.rand(len(x), generator=generator, dtype=x.dtype)
    acc = torch.log(u) < sign * (h_old - h_new) if metropolis else torch.ones(len(x), dtype=torch.bool)
    return torch.where(acc.view(-1, *[1] * (x.dim() - 1)), x_new, x).detach(), acc


leapfrog = ref.leapfrog  # the notebook's global, which check_hmc_step swaps for the reference


def hmc_no_kinetic(energy_fn, x, step_size, generator, n_leapfrog=10):
    """Metropolis test on E alone, forgetting the kinetic energy."""
    return _hmc(energy_fn, x, step_size, generator, n_leapfrog, kinetic=False)


def hmc_sign_reversed(energy_fn, x, step_size, generator, n_leapfrog=10):
    """Accepts with exp(H_new - H_old)."""
    return _hmc(energy_fn, x, step_size, generator, n_leapfrog, sign=-1.0)


def hmc_always_accept(energy_fn, x, step_size, generator, n_leapfrog=10):
    """No Metropolis test: the leapfrog's energy error biases the chain."""
    return _hmc(energy_fn, x, step_size, generator, n_leapfrog, metropolis=False)


def hmc_small_momenta(energy_fn, x, step_size, generator, n_leapfrog=10):
    """Momenta drawn with std 0.5 while H uses |p|^2 / 2 (unit mass)."""
    return _hmc(energy_fn, x, step_size, generator, n_leapfrog, momentum=0.5)


def hmc_ignores_n_leapfrog(energy_fn, x, step_size, generator, n_leapfrog=10):
    """Always 10 leapfrog steps."""
    return _hmc(energy_fn, x, step_size, generator, 10)


_stale = {}


def hmc_momentum_not_refreshed(energy_fn, x, step_size, generator, n_leapfrog=10):
    """Keeps the momenta of the previous call (drawn once), never refreshed."""
    key = tuple(x.shape)
    if key not in _stale:
        _stale[key] = torch.randn(x.shape, generator=torch.Generator().manual_seed(0),
                                  dtype=x.dtype)
    p = _stale[key].to(x.dtype)
    x = x.detach()
    x_new, p_new = leapfrog(energy_fn, x, p, step_size, n_leapfrog)
    with torch.no_grad():
        log_alpha = energy_fn(x) + 0.5 * _sq(p) - energy_fn(x_new) - 0.5 * _sq(p_new)
    u = torch.rand(len(x), generator=generator, dtype=x.dtype)
    acc = torch.log(u) < log_alpha
    return torch.where(acc.view(-1, *[1] * (x.dim() - 1)), x_new, x).detach(), acc


# ---------------------------------------------------------------- wrong: tv_distance

def tv_no_half(samples, grid_probs, box):
    """The L1 distance, without the factor 1/2."""
    return 2 * ref.tv_distance(samples, grid_probs, box)


def tv_drops_outside(samples, grid_probs, box):
    """Normalises by the samples inside the box: mass outside is ignored."""
    n = grid_probs.shape[0]
    h, _, _ = np.histogram2d(samples[:, 0].double().numpy(), samples[:, 1].double().numpy(),
                             bins=n, range=[box, box])
    h = h / h.sum()
    return 0.5 * float(np.abs(h - grid_probs.double().numpy()).sum())


def tv_transposed(samples, grid_probs, box):
    """Cell (i, j) = i-th interval of the second coordinate."""
    return ref.tv_distance(samples.flip(1), grid_probs, box)


def tv_data_range_bins(samples, grid_probs, box):
    """Histogram bins over the samples' own range instead of the box."""
    n = grid_probs.shape[0]
    h, _, _ = np.histogram2d(samples[:, 0].double().numpy(), samples[:, 1].double().numpy(),
                             bins=n)
    h = h / len(samples)
    return 0.5 * float(np.abs(h - grid_probs.double().numpy()).sum())


def tv_max_difference(samples, grid_probs, box):
    """The largest cell difference (a sup over single cells), not the sum."""
    n = grid_probs.shape[0]
    h, _, _ = np.histogram2d(samples[:, 0].double().numpy(), samples[:, 1].double().numpy(),
                             bins=n, range=[box, box])
    return float(np.abs(h / len(samples) - grid_probs.double().numpy()).max())


def tv_round_not_floor(samples, grid_probs, box):
    """Cell index by rounding instead of flooring: every sample shifts by half a cell."""
    n = grid_probs.shape[0]
    low, high = box
    idx = torch.round((samples.double() - low) / (high - low) * n).long()
    inside = ((idx >= 0) & (idx < n)).all(1)
    counts = torch.bincount(idx[inside, 0] * n + idx[inside, 1], minlength=n * n).double()
    emp = counts / len(samples)
    return float(0.5 * ((emp - grid_probs.double().reshape(-1)).abs().sum() + 1 - inside.double().mean()))


# ---------------------------------------------------------------- wrong: ais_log_z

def _ais(energy_fn, base_energy_fn, base_log_z, x, betas, transition, *, mean_log=False,
         move_first=False, reverse=False, sign=1.0, prev_beta=False, no_base=False):
    betas = [float(b) for b in betas]
    if reverse:
        betas = [1 - b for b in betas[::-1]]
    log_w = torch.zeros(len(x), dtype=x.dtype)
    for b_prev, b in zip(betas[:-1], betas[1:]):
        energy_b = (lambda z, b=(b_prev if prev_beta else b):
                    (1 - b) * base_energy_fn(z) + b * energy_fn(z))
        if move_first:
            x = transition(energy_b, x).detach()
        with torch.no_grad():
            log_w = log_w + sign * (b_prev - b) * (energy_fn(x) - base_energy_fn(x))
        if not move_first:
            x = transition(energy_b, x).detach()
    z0 = 0.0 if no_base else base_log_z
    if mean_log:
        return z0 + log_w.mean(), log_w
    return z0 + torch.logsumexp(log_w, 0) - math.log(len(log_w)), log_w


def ais_mean_log_weights(energy_fn, base_energy_fn, base_log_z, x, betas, transition):
    """Mean of the log weights instead of the log of the mean weight."""
    return _ais(energy_fn, base_energy_fn, base_log_z, x, betas, transition, mean_log=True)


def ais_move_before_weight(energy_fn, base_energy_fn, base_log_z, x, betas, transition):
    """Moves first, then adds the weight increment at the new state."""
    return _ais(energy_fn, base_energy_fn, base_log_z, x, betas, transition, move_first=True)


def ais_reversed_temperatures(energy_fn, base_energy_fn, base_log_z, x, betas, transition):
    """Walks the schedule backwards (from the target to the base)."""
    return _ais(energy_fn, base_energy_fn, base_log_z, x, betas, transition, reverse=True)


def ais_weight_sign(energy_fn, base_energy_fn, base_log_z, x, betas, transition):
    """(b - b_prev)(E - E_0): the increment with the wrong sign."""
    return _ais(energy_fn, base_energy_fn, base_log_z, x, betas, transition, sign=-1.0)


def ais_moves_at_old_temperature(energy_fn, base_energy_fn, base_log_z, x, betas, transition):
    """The move after increment k leaves the previous temperature b_{k-1} invariant."""
    return _ais(energy_fn, base_energy_fn, base_log_z, x, betas, transition, prev_beta=True)


def ais_forgets_base_log_z(energy_fn, base_energy_fn, base_log_z, x, betas, transition):
    """Returns log(Z / Z_0): the base's normaliser left out."""
    return _ais(energy_fn, base_energy_fn, base_log_z, x, betas, transition, no_base=True)


def ais_naive_mean_exp(energy_fn, base_energy_fn, base_log_z, x, betas, transition):
    """log(mean(exp(log_w))) by hand: underflows to -inf far from the base."""
    log_z, log_w = _ais(energy_fn, base_energy_fn, base_log_z, x, betas, transition)
    return base_log_z + torch.log(torch.exp(log_w).mean()), log_w


# ---------------------------------------------------------------- wrong: annealed_langevin

def _anneal(score_fn, x, sigmas, n_steps_each, step_lr, generator, *, power=2, ref_sigma="last",
            noise=1.0, drift=0.5, order=None, fixed_sigma=False):
    sigmas = [float(s) for s in sigmas]
    if order == "ascending":
        sigmas = sorted(sigmas)
    norm = sigmas[-1] if ref_sigma == "last" else sigmas[0]
    x = x.detach()
    for s in sigmas:
        alpha = step_lr * (s / norm) ** power
        for _ in range(n_steps_each):
            score = score_fn(x, sigmas[-1] if fixed_sigma else s)
            x = (x + drift * alpha * score + noise * math.sqrt(alpha) * _noise(x, generator)).detach()
    return x


def anneal_linear_in_sigma(score_fn, x, sigmas, n_steps_each, step_lr, generator):
    """alpha_i proportional to sigma_i, not sigma_i^2."""
    return _anneal(score_fn, x, sigmas, n_steps_each, step_lr, generator, power=1)


def anneal_normalised_by_largest(score_fn, x, sigmas, n_steps_each, step_lr, generator):
    """alpha_i = step_lr sigma_i^2 / sigma_1^2 (the largest): tiny steps at the end."""
    return _anneal(score_fn, x, sigmas, n_steps_each, step_lr, generator, ref_sigma="first")


def anneal_noise_sqrt_2alpha(score_fn, x, sigmas, n_steps_each, step_lr, generator):
    """Noise sqrt(2 alpha) with the drift alpha / 2 (two conventions mixed)."""
    return _anneal(score_fn, x, sigmas, n_steps_each, step_lr, generator, noise=math.sqrt(2))


def anneal_full_drift(score_fn, x, sigmas, n_steps_each, step_lr, generator):
    """Drift alpha * score with noise sqrt(alpha)."""
    return _anneal(score_fn, x, sigmas, n_steps_each, step_lr, generator, drift=1.0)


def anneal_ascending(score_fn, x, sigmas, n_steps_each, step_lr, generator):
    """Sorts the sigmas ascending: anneals from fine to coarse."""
    return _anneal(score_fn, x, sigmas, n_steps_each, step_lr, generator, order="ascending")


def anneal_score_at_smallest(score_fn, x, sigmas, n_steps_each, step_lr, generator):
    """Always asks for the score at the smallest sigma."""
    return _anneal(score_fn, x, sigmas, n_steps_each, step_lr, generator, fixed_sigma=True)


# ---------------------------------------------------------------- correct, written differently

def ula_step_functional(energy_fn, x, step_size, generator, noise_std=None):
    """torch.func.grad per chain of a summed energy, noise first."""
    eps = torch.empty_like(x).normal_(generator=generator)
    std = (2 * step_size) ** 0.5 if noise_std is None else noise_std
    with torch.enable_grad():
        xr = x.detach().clone().requires_grad_()
        energy_fn(xr).sum().backward()
    return (x.detach() - step_size * xr.grad + std * eps).detach()


def mala_step_probability(energy_fn, x, step_size, generator):
    """Acceptance as min(1, alpha) > u with alpha computed in log space then exponentiated."""
    e_x, g_x = _grad(energy_fn, x)
    std = math.sqrt(2 * step_size)
    y = x.detach() - step_size * g_x + std * _noise(x, generator)
    e_y, g_y = _grad(energy_fn, y)
    log_q = lambda a, b, gb: -_sq(a - b + step_size * gb) / (2 * std ** 2)  # noqa: E731
    log_alpha = (e_x - e_y) + log_q(x, y, g_y) - log_q(y, x, g_x)
    log_alpha = torch.nan_to_num(log_alpha, nan=-math.inf)
    alpha = torch.exp(torch.clamp(log_alpha, max=0.0))
    u = torch.rand(len(x), generator=generator, dtype=x.dtype)
    acc = u < alpha
    out = x.detach().clone()
    out[acc] = y[acc]
    return out, acc


def mala_step_uniform_first(energy_fn, x, step_size, generator):
    """Draws the uniforms before the proposal noise (another order of random numbers), one
    autograd call per point, float arithmetic in float64 then cast back."""
    u = torch.rand(len(x), generator=generator, dtype=x.dtype, device=x.device)
    xi = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    e_x, g_x = _grad(energy_fn, x)
    y = (x.detach() - step_size * g_x + math.sqrt(2 * step_size) * xi).detach()
    e_y, g_y = _grad(energy_fn, y)
    d = lambda a, b, gb: ((a - b + step_size * gb).double() ** 2).flatten(1).sum(1)  # noqa: E731
    log_alpha = (e_x - e_y).double() - (d(x, y, g_y) - d(y, x, g_x)) / (4 * step_size)
    acc = u.double().log() < log_alpha
    return torch.where(acc.view(-1, *[1] * (x.dim() - 1)), y, x.detach()), acc


def leapfrog_fused(energy_fn, x, p, step_size, n_steps):
    """Kick-drift-kick per step, each step with its own two half kicks."""
    x, p = x.detach().clone(), p.detach().clone()
    for _ in range(n_steps):
        p = p - step_size / 2 * _grad(energy_fn, x)[1]
        x = x + step_size * p
        p = p - step_size / 2 * _grad(energy_fn, x)[1]
    return x, p


def hmc_step_boolean_index(energy_fn, x, step_size, generator, n_leapfrog=10):
    """Uses the notebook's leapfrog, H in one function, boolean indexing."""
    def hamiltonian(q, p):
        with torch.no_grad():
            return energy_fn(q) + 0.5 * (p * p).reshape(len(q), -1).sum(-1)
    p0 = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    q1, p1 = leapfrog(energy_fn, x, p0, step_size, n_leapfrog)
    log_u = torch.rand(len(x), generator=generator, dtype=x.dtype).log()
    acc = log_u < hamiltonian(x, p0) - hamiltonian(q1, p1)
    out = x.detach().clone()
    out[acc] = q1[acc]
    return out, acc


def tv_distance_numpy(samples, grid_probs, box):
    """np.histogram2d over the box with the outside share added."""
    n = grid_probs.shape[0]
    s = samples.detach().double().numpy()
    h, _, _ = np.histogram2d(s[:, 0], s[:, 1], bins=n, range=[box, box])
    inside_share = h.sum() / len(s)
    return 0.5 * (np.abs(h / len(s) - grid_probs.double().numpy()).sum() + 1 - inside_share)


def ais_log_z_tensor_betas(energy_fn, base_energy_fn, base_log_z, x, betas, transition):
    """Betas as a tensor, increments via torch.diff, logsumexp by hand (stable), no final move."""
    betas = torch.as_tensor(betas, dtype=torch.float64)
    diffs = torch.diff(betas)
    log_w = x.new_zeros(len(x))
    for k, d in enumerate(diffs):
        b = betas[k + 1].item()
        with torch.no_grad():
            log_w -= d.item() * (energy_fn(x) - base_energy_fn(x))
        if k < len(diffs) - 1:
            x = transition(lambda z: base_energy_fn(z) + b * (energy_fn(z) - base_energy_fn(z)), x)
    m = log_w.max()
    return base_log_z + m + torch.log(torch.exp(log_w - m).mean()), log_w


def annealed_langevin_ratio(score_fn, x, sigmas, n_steps_each, step_lr, generator):
    """alpha from the ratio list computed up front, in-place updates on a clone (under no_grad:
    a score with parameters would otherwise link the states to them)."""
    x = x.detach().clone()
    alphas = [step_lr * float(s) ** 2 / float(sigmas[-1]) ** 2 for s in sigmas]
    for sigma, alpha in zip(sigmas, alphas):
        for _ in range(n_steps_each):
            z = torch.randn(x.shape, generator=generator, dtype=x.dtype)
            with torch.no_grad():
                x += alpha / 2 * score_fn(x, sigma) + alpha ** 0.5 * z
    return x



# ---------------------------------------------------------------- issue 25: wrong

def _private(generator):
    """A private generator seeded from the caller's: reproducible, but the caller's never moves."""
    return torch.Generator().manual_seed(generator.initial_seed())


def ula_private_generator(energy_fn, x, step_size, generator, noise_std=None):
    """Copies the seed into a private generator: every call (every step of a chain) adds the
    same noise."""
    return ref.ula_step(energy_fn, x, step_size, _private(generator), noise_std)


def mala_private_generator(energy_fn, x, step_size, generator):
    """A private generator from the caller's seed: the same proposals and uniforms every call."""
    return ref.mala_step(energy_fn, x, step_size, _private(generator))


def hmc_private_generator(energy_fn, x, step_size, generator, n_leapfrog=10):
    """A private generator from the caller's seed: the same momenta every call."""
    return _hmc(energy_fn, x, step_size, _private(generator), n_leapfrog)


def anneal_private_generator(score_fn, x, sigmas, n_steps_each, step_lr, generator):
    """A private generator from the caller's seed, made once per call."""
    return ref.annealed_langevin(score_fn, x, sigmas, n_steps_each, step_lr, _private(generator))


def _per_chain(x, generator):
    """One normal per chain broadcast over its coordinates: right variance, fully correlated."""
    z = torch.randn(len(x), 1, generator=generator, dtype=x.dtype, device=x.device)
    return z.expand(len(x), x[0].numel()).reshape(x.shape)


def ula_noise_per_chain(energy_fn, x, step_size, generator, noise_std=None):
    """torch.randn(B, 1) broadcast over the coordinates."""
    noise_std = math.sqrt(2 * step_size) if noise_std is None else noise_std
    _, g = _grad(energy_fn, x)
    return (x.detach() - step_size * g + noise_std * _per_chain(x, generator)).detach()


def mala_noise_per_chain(energy_fn, x, step_size, generator):
    """The proposal noise is one normal per chain, broadcast (exact in the 1-D tests)."""
    e_x, g_x = _grad(energy_fn, x)
    y = x.detach() - step_size * g_x + math.sqrt(2 * step_size) * _per_chain(x, generator)
    e_y, g_y = _grad(energy_fn, y)
    fwd = -_sq(y - x + step_size * g_x) / (4 * step_size)
    bwd = -_sq(x - y + step_size * g_y) / (4 * step_size)
    u = torch.rand(len(x), generator=generator, dtype=x.dtype)
    acc = torch.log(u) < e_x - e_y + bwd - fwd
    return torch.where(acc.view(-1, *[1] * (x.dim() - 1)), y, x).detach(), acc


def hmc_momenta_per_chain(energy_fn, x, step_size, generator, n_leapfrog=10):
    """Momenta: one normal per chain, broadcast over the coordinates."""
    x = x.detach()
    p = _per_chain(x, generator)
    x_new, p_new = leapfrog(energy_fn, x, p, step_size, n_leapfrog)
    with torch.no_grad():
        log_alpha = energy_fn(x) + 0.5 * _sq(p) - energy_fn(x_new) - 0.5 * _sq(p_new)
    u = torch.rand(len(x), generator=generator, dtype=x.dtype)
    acc = torch.log(u) < log_alpha
    return torch.where(acc.view(-1, *[1] * (x.dim() - 1)), x_new, x).detach(), acc


def anneal_noise_per_chain(score_fn, x, sigmas, n_steps_each, step_lr, generator):
    """One normal per chain and step, broadcast over the coordinates."""
    x = x.detach()
    for sigma in sigmas:
        alpha = step_lr * (float(sigma) / float(sigmas[-1])) ** 2
        for _ in range(n_steps_each):
            noise = _per_chain(x, generator)
            x = (x + 0.5 * alpha * score_fn(x, sigma) + math.sqrt(alpha) * noise).detach()
    return x


def ula_keeps_input_graph(energy_fn, x, step_size, generator, noise_std=None):
    """Builds the new state from the caller's x (not detached): a graph back to x when x
    requires grad."""
    noise_std = math.sqrt(2 * step_size) if noise_std is None else noise_std
    _, g = _grad(energy_fn, x)
    return x - step_size * g + noise_std * _noise(x, generator)


def leapfrog_keeps_graph(energy_fn, x, p, step_size, n_steps):
    """Never detaches: positions and momenta stay linked to the caller's x and p."""
    p = p - 0.5 * step_size * _grad(energy_fn, x)[1]
    for i in range(n_steps):
        x = x + step_size * p
        if i < n_steps - 1:
            p = p - step_size * _grad(energy_fn, x)[1]
    return x, p - 0.5 * step_size * _grad(energy_fn, x)[1]


def anneal_keeps_graph(score_fn, x, sigmas, n_steps_each, step_lr, generator):
    """Never detaches: with a score network the chain's graph grows step after step."""
    sigma_last = float(sigmas[-1])
    for sigma in sigmas:
        alpha = step_lr * (float(sigma) / sigma_last) ** 2
        for _ in range(n_steps_each):
            x = x + 0.5 * alpha * score_fn(x, sigma) + math.sqrt(alpha) * _noise(x, generator)
    return x


def anneal_in_place(score_fn, x, sigmas, n_steps_each, step_lr, generator):
    """Updates the caller's x in place (x += ...) and returns it."""
    sigma_last = float(sigmas[-1])
    for sigma in sigmas:
        alpha = step_lr * (float(sigma) / sigma_last) ** 2
        for _ in range(n_steps_each):
            x += 0.5 * alpha * score_fn(x, sigma) + math.sqrt(alpha) * _noise(x, generator)
    return x


def tv_truncates_toward_zero(samples, grid_probs, box):
    """.long() without floor(): samples just below the low edge land in the first cell."""
    n = grid_probs.shape[0]
    low, high = box
    idx = ((samples.double() - low) / (high - low) * n).long()
    inside = ((idx >= 0) & (idx < n)).all(1)
    counts = torch.bincount(idx[inside, 0] * n + idx[inside, 1], minlength=n * n).double()
    emp = counts / len(samples)
    exact = grid_probs.double().reshape(-1)
    return float(0.5 * ((emp - exact).abs().sum() + 1 - inside.double().mean()))


# ---------------------------------------------------------------- issue 25: correct

def ula_step_local_generator(energy_fn, x, step_size, generator, noise_std=None):
    """A local generator seeded by one draw from the given one (which therefore advances);
    noise drawn one coordinate column at a time."""
    local = torch.Generator().manual_seed(int(torch.randint(2 ** 62, (1,), generator=generator)))
    noise_std = math.sqrt(2 * step_size) if noise_std is None else noise_std
    flat = x.detach().reshape(len(x), -1)
    cols = [torch.randn(len(x), generator=local, dtype=x.dtype) for _ in range(flat.shape[1])]
    noise = torch.stack(cols, 1).reshape(x.shape)
    _, g = _grad(energy_fn, x)
    return (x.detach() - step_size * g + noise_std * noise).detach()


def hmc_step_transposed_momenta(energy_fn, x, step_size, generator, n_leapfrog=10):
    """Momenta drawn as (d, B) and transposed (another draw order, still one normal per
    element); the uniforms first."""
    u = torch.rand(len(x), generator=generator, dtype=x.dtype)
    d = x[0].numel()
    p = torch.randn(d, len(x), generator=generator, dtype=x.dtype).T.reshape(x.shape)
    x_new, p_new = leapfrog(energy_fn, x.detach(), p, step_size, n_leapfrog)
    with torch.no_grad():
        h_old = energy_fn(x.detach()) + 0.5 * _sq(p)
        h_new = energy_fn(x_new) + 0.5 * _sq(p_new)
    acc = torch.log(u) < h_old - h_new
    return torch.where(acc.view(-1, *[1] * (x.dim() - 1)), x_new, x.detach()), acc


def annealed_langevin_no_grad(score_fn, x, sigmas, n_steps_each, step_lr, generator):
    """The whole chain under torch.no_grad() (the score needs no graph), sigmas as a tensor."""
    sigmas = torch.as_tensor([float(s) for s in sigmas], dtype=torch.float64)
    out = x.detach().clone()
    with torch.no_grad():
        for sigma in sigmas.tolist():
            alpha = step_lr * sigma ** 2 / sigmas[-1].item() ** 2
            for _ in range(n_steps_each):
                out = out + alpha / 2 * score_fn(out, sigma) + math.sqrt(alpha) * _noise(
                    out, generator)
    return out


def tv_distance_bucketize(samples, grid_probs, box):
    """torch.bucketize on the inner edges, the outside found from the coordinates themselves."""
    n = grid_probs.shape[0]
    low, high = box
    s = samples.double()
    inner = torch.linspace(low, high, n + 1, dtype=torch.float64)[1:-1]
    inside = ((s >= low) & (s < high)).all(1)
    idx = torch.bucketize(s[inside], inner, right=True)
    counts = torch.zeros(n, n, dtype=torch.float64)
    counts.index_put_((idx[:, 0], idx[:, 1]), torch.ones(len(idx), dtype=torch.float64),
                      accumulate=True)
    return float(0.5 * ((counts / len(s) - grid_probs.double()).abs().sum()
                        + (~inside).double().mean()))


BUGS = [
    (checks.check_ula_step, ula_sqrt_eps_noise),
    (checks.check_ula_step, ula_gradient_ascent),
    (checks.check_ula_step, ula_mean_energy),
    (checks.check_ula_step, ula_global_noise),
    (checks.check_ula_step, ula_half_step),
    (checks.check_ula_step, ula_float32_noise),
    (checks.check_ula_step, ula_attached),
    (checks.check_mala_step, mala_no_correction),
    (checks.check_mala_step, mala_correction_reversed),
    (checks.check_mala_step, mala_wrong_variance),
    (checks.check_mala_step, mala_accepts_on_wrong_side),
    (checks.check_mala_step, mala_one_decision),
    (checks.check_mala_step, mala_reuses_gradient),
    (checks.check_mala_step, mala_sqrt_eps_noise),
    (checks.check_mala_step, mala_mask_inverted),
    (checks.check_mala_step, mala_float_mask),
    (checks.check_mala_step, mala_prob_from_exp),
    (checks.check_leapfrog, leapfrog_full_kicks),
    (checks.check_leapfrog, leapfrog_missing_last_half),
    (checks.check_leapfrog, leapfrog_gradient_ascent),
    (checks.check_leapfrog, leapfrog_one_step_short),
    (checks.check_leapfrog, leapfrog_in_place),
    (checks.check_hmc_step, hmc_no_kinetic),
    (checks.check_hmc_step, hmc_sign_reversed),
    (checks.check_hmc_step, hmc_always_accept),
    (checks.check_hmc_step, hmc_small_momenta),
    (checks.check_hmc_step, hmc_ignores_n_leapfrog),
    (checks.check_hmc_step, hmc_momentum_not_refreshed),
    (checks.check_tv_distance, tv_no_half),
    (checks.check_tv_distance, tv_drops_outside),
    (checks.check_tv_distance, tv_transposed),
    (checks.check_tv_distance, tv_data_range_bins),
    (checks.check_tv_distance, tv_max_difference),
    (checks.check_tv_distance, tv_round_not_floor),
    (checks.check_ais_log_z, ais_mean_log_weights),
    (checks.check_ais_log_z, ais_move_before_weight),
    (checks.check_ais_log_z, ais_reversed_temperatures),
    (checks.check_ais_log_z, ais_weight_sign),
    (checks.check_ais_log_z, ais_moves_at_old_temperature),
    (checks.check_ais_log_z, ais_forgets_base_log_z),
    (checks.check_ais_log_z, ais_naive_mean_exp),
    (checks.check_annealed_langevin, anneal_linear_in_sigma),
    (checks.check_annealed_langevin, anneal_normalised_by_largest),
    (checks.check_annealed_langevin, anneal_noise_sqrt_2alpha),
    (checks.check_annealed_langevin, anneal_full_drift),
    (checks.check_annealed_langevin, anneal_ascending),
    (checks.check_annealed_langevin, anneal_score_at_smallest),
]

ALT_CORRECT = [
    (checks.check_ula_step, ref.ula_step),
    (checks.check_ula_step, ula_step_functional),
    (checks.check_mala_step, ref.mala_step),
    (checks.check_mala_step, mala_step_probability),
    (checks.check_mala_step, mala_step_uniform_first),
    (checks.check_leapfrog, ref.leapfrog),
    (checks.check_leapfrog, leapfrog_fused),
    (checks.check_hmc_step, ref.hmc_step),
    (checks.check_hmc_step, hmc_step_boolean_index),
    (checks.check_tv_distance, ref.tv_distance),
    (checks.check_tv_distance, tv_distance_numpy),
    (checks.check_ais_log_z, ref.ais_log_z),
    (checks.check_ais_log_z, ais_log_z_tensor_betas),
    (checks.check_annealed_langevin, ref.annealed_langevin),
    (checks.check_annealed_langevin, annealed_langevin_ratio),
]

BUGS += [
    (checks.check_ula_step, ula_private_generator),
    (checks.check_ula_step, ula_noise_per_chain),
    (checks.check_ula_step, ula_keeps_input_graph),
    (checks.check_mala_step, mala_private_generator),
    (checks.check_mala_step, mala_noise_per_chain),
    (checks.check_leapfrog, leapfrog_keeps_graph),
    (checks.check_hmc_step, hmc_private_generator),
    (checks.check_hmc_step, hmc_momenta_per_chain),
    (checks.check_tv_distance, tv_truncates_toward_zero),
    (checks.check_annealed_langevin, anneal_private_generator),
    (checks.check_annealed_langevin, anneal_noise_per_chain),
    (checks.check_annealed_langevin, anneal_keeps_graph),
    (checks.check_annealed_langevin, anneal_in_place),
]

ALT_CORRECT += [
    (checks.check_ula_step, ula_step_local_generator),
    (checks.check_hmc_step, hmc_step_transposed_momenta),
    (checks.check_tv_distance, tv_distance_bucketize),
    (checks.check_annealed_langevin, annealed_langevin_no_grad),
]
