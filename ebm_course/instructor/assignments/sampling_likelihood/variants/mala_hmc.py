"""06_sampling_likelihood, ``mala_step`` and ``leapfrog`` and ``hmc_step``: wrong implementations
(``BUGS``: each must fail ``check_mala_step`` / ``check_leapfrog`` / ``check_hmc_step``) and
correct ones written differently (``ALT_CORRECT``: each must pass)."""

from __future__ import annotations

import math

import torch

from ebm_course.instructor.assignments.sampling_likelihood import checks
from ebm_course.instructor.assignments.sampling_likelihood import reference as ref

from ._shared import _grad, _noise, _per_chain, _private


def _sq(z):
    return z.pow(2).flatten(1).sum(1)


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


def mala_private_generator(energy_fn, x, step_size, generator):
    """A private generator from the caller's seed: the same proposals and uniforms every call."""
    return ref.mala_step(energy_fn, x, step_size, _private(generator))


def hmc_private_generator(energy_fn, x, step_size, generator, n_leapfrog=10):
    """A private generator from the caller's seed: the same momenta every call."""
    return _hmc(energy_fn, x, step_size, _private(generator), n_leapfrog)


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


def leapfrog_keeps_graph(energy_fn, x, p, step_size, n_steps):
    """Never detaches: positions and momenta stay linked to the caller's x and p."""
    p = p - 0.5 * step_size * _grad(energy_fn, x)[1]
    for i in range(n_steps):
        x = x + step_size * p
        if i < n_steps - 1:
            p = p - step_size * _grad(energy_fn, x)[1]
    return x, p - 0.5 * step_size * _grad(energy_fn, x)[1]


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


BUGS = [
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
    (checks.check_mala_step, mala_private_generator),
    (checks.check_mala_step, mala_noise_per_chain),
    (checks.check_leapfrog, leapfrog_keeps_graph),
    (checks.check_hmc_step, hmc_private_generator),
    (checks.check_hmc_step, hmc_momenta_per_chain),
]


ALT_CORRECT = [
    (checks.check_mala_step, ref.mala_step),
    (checks.check_mala_step, mala_step_probability),
    (checks.check_mala_step, mala_step_uniform_first),
    (checks.check_leapfrog, ref.leapfrog),
    (checks.check_leapfrog, leapfrog_fused),
    (checks.check_hmc_step, ref.hmc_step),
    (checks.check_hmc_step, hmc_step_boolean_index),
    (checks.check_hmc_step, hmc_step_transposed_momenta),
]
