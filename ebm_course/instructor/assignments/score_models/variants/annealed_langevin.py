"""07_score_models, ``annealed_langevin``: wrong implementations (``BUGS``: each must fail
``check_annealed_langevin``) and correct ones written differently (``ALT_CORRECT``)."""

from __future__ import annotations

import math

import torch

from ebm_course.instructor.assignments.score_models import checks
from ebm_course.instructor.assignments.score_models.reference import tweedie_denoise

from ._shared import _levels, _noise, _private


def _anneal(score_fn, x, sigmas, n_steps_each, eps, generator, denoise=True, *, power=2,
            norm="last", noise=1.0, drift=0.5, order=None, fixed=None, float_level=False,
            tweedie_at=None, tweedie_always=False):
    sigmas = [float(s) for s in sigmas]
    if order == "ascending":
        sigmas = sorted(sigmas)
    ref_sigma = sigmas[-1] if norm == "last" else sigmas[0]
    x = x.detach().clone()
    for s in sigmas:
        alpha = eps * (s / ref_sigma) ** power
        level = s if fixed is None else (sigmas[-1] if fixed == "last" else sigmas[0])
        lv = level if float_level else _levels(x, level)
        for _ in range(n_steps_each):
            x = (x + drift * alpha * score_fn(x, lv) + noise * math.sqrt(alpha)
                 * _noise(x, generator)).detach()
    if denoise or tweedie_always:
        at = sigmas[-1] if tweedie_at is None else sigmas[0]
        x = tweedie_denoise(score_fn, x, _levels(x, at)).detach()
    return x


def anneal_linear_in_sigma(score_fn, x, sigmas, n_steps_each, eps, generator, denoise=True):
    """alpha_i proportional to sigma_i, not sigma_i^2."""
    return _anneal(score_fn, x, sigmas, n_steps_each, eps, generator, denoise, power=1)


def anneal_normalised_by_first(score_fn, x, sigmas, n_steps_each, eps, generator, denoise=True):
    """alpha_i = eps sigma_i^2 / sigma_1^2: tiny steps at the end."""
    return _anneal(score_fn, x, sigmas, n_steps_each, eps, generator, denoise, norm="first")


def anneal_noise_sqrt_2alpha(score_fn, x, sigmas, n_steps_each, eps, generator, denoise=True):
    """Noise sqrt(2 alpha) with the drift alpha / 2."""
    return _anneal(score_fn, x, sigmas, n_steps_each, eps, generator, denoise,
                   noise=math.sqrt(2))


def anneal_full_drift(score_fn, x, sigmas, n_steps_each, eps, generator, denoise=True):
    """Drift alpha * score with noise sqrt(alpha)."""
    return _anneal(score_fn, x, sigmas, n_steps_each, eps, generator, denoise, drift=1.0)


def anneal_ascending(score_fn, x, sigmas, n_steps_each, eps, generator, denoise=True):
    """Sorts the levels ascending."""
    return _anneal(score_fn, x, sigmas, n_steps_each, eps, generator, denoise, order="ascending")


def anneal_score_at_smallest(score_fn, x, sigmas, n_steps_each, eps, generator, denoise=True):
    """Asks for the score at the smallest level throughout."""
    return _anneal(score_fn, x, sigmas, n_steps_each, eps, generator, denoise, fixed="last")


def anneal_float_level(score_fn, x, sigmas, n_steps_each, eps, generator, denoise=True):
    """Passes sigma_i as a float, not a (B,) tensor."""
    return _anneal(score_fn, x, sigmas, n_steps_each, eps, generator, denoise, float_level=True)


def anneal_no_tweedie(score_fn, x, sigmas, n_steps_each, eps, generator, denoise=True):
    """Ignores denoise: never takes Tweedie's step."""
    return _anneal(score_fn, x, sigmas, n_steps_each, eps, generator, False)


def anneal_always_tweedie(score_fn, x, sigmas, n_steps_each, eps, generator, denoise=True):
    """Takes Tweedie's step even with denoise=False."""
    return _anneal(score_fn, x, sigmas, n_steps_each, eps, generator, denoise,
                   tweedie_always=True)


def anneal_tweedie_at_first(score_fn, x, sigmas, n_steps_each, eps, generator, denoise=True):
    """Tweedie's step at sigma_1 instead of sigma_L."""
    return _anneal(score_fn, x, sigmas, n_steps_each, eps, generator, denoise, tweedie_at="first")


def anneal_private_generator(score_fn, x, sigmas, n_steps_each, eps, generator, denoise=True):
    """A private generator from the caller's seed."""
    return _anneal(score_fn, x, sigmas, n_steps_each, eps, _private(generator), denoise)


def anneal_keeps_graph(score_fn, x, sigmas, n_steps_each, eps, generator, denoise=True):
    """Never detaches: the chain's graph grows with a score that has parameters."""
    last = float(sigmas[-1])
    for s in sigmas:
        alpha = eps * (float(s) / last) ** 2
        for _ in range(n_steps_each):
            x = x + 0.5 * alpha * score_fn(x, _levels(x, s)) + math.sqrt(alpha) * _noise(x, generator)
    if denoise:
        x = tweedie_denoise(score_fn, x, _levels(x, last))
    return x


def anneal_in_place(score_fn, x, sigmas, n_steps_each, eps, generator, denoise=True):
    """Updates the caller's x in place."""
    last = float(sigmas[-1])
    with torch.no_grad():
        for s in sigmas:
            alpha = eps * (float(s) / last) ** 2
            for _ in range(n_steps_each):
                x += 0.5 * alpha * score_fn(x, _levels(x, s)) + math.sqrt(alpha) * _noise(x, generator)
        if denoise:
            x.copy_(tweedie_denoise(score_fn, x, _levels(x, last)))
    return x


def anneal_global_rng(score_fn, x, sigmas, n_steps_each, eps, generator, denoise=True):
    """torch.randn_like: the global random state, not the generator."""
    last = float(sigmas[-1])
    x = x.detach().clone()
    for s in sigmas:
        alpha = eps * (float(s) / last) ** 2
        for _ in range(n_steps_each):
            x = (x + 0.5 * alpha * score_fn(x, _levels(x, s))
                 + math.sqrt(alpha) * torch.randn_like(x)).detach()
    if denoise:
        x = tweedie_denoise(score_fn, x, _levels(x, last)).detach()
    return x


def anneal_no_grad_ratio(score_fn, x, sigmas, n_steps_each, eps, generator, denoise=True):
    """The whole chain under no_grad, the alphas computed up front, in-place updates of a clone,
    Tweedie's formula written inline."""
    sig = torch.as_tensor([float(s) for s in sigmas], dtype=torch.float64)
    alphas = (eps * sig ** 2 / sig[-1] ** 2).tolist()
    out = x.detach().clone()
    with torch.no_grad():
        for s, alpha in zip(sig.tolist(), alphas):
            level = out.new_full((len(out),), s)
            for _ in range(n_steps_each):
                z = torch.randn(out.shape, generator=generator, dtype=out.dtype)
                out += alpha / 2 * score_fn(out, level) + alpha ** 0.5 * z
        if denoise:
            level = out.new_full((len(out),), sig[-1].item())
            out = out + sig[-1].item() ** 2 * score_fn(out, level)
    return out


def anneal_noise_first(score_fn, x, sigmas, n_steps_each, eps, generator, denoise=True):
    """Draws the noise before evaluating the score; levels by expand."""
    last = float(sigmas[-1])
    x = x.detach().clone()
    for s in sigmas:
        s = float(s)
        alpha = eps * s * s / (last * last)
        level = torch.tensor(s, dtype=x.dtype).expand(len(x))
        for _ in range(n_steps_each):
            z = _noise(x, generator)
            with torch.no_grad():
                x = x + math.sqrt(alpha) * z + alpha * score_fn(x, level) / 2
    if denoise:
        with torch.no_grad():
            x = tweedie_denoise(score_fn, x, torch.tensor(last, dtype=x.dtype).expand(len(x)))
    return x


BUGS = [
    (checks.check_annealed_langevin, anneal_linear_in_sigma),
    (checks.check_annealed_langevin, anneal_normalised_by_first),
    (checks.check_annealed_langevin, anneal_noise_sqrt_2alpha),
    (checks.check_annealed_langevin, anneal_full_drift),
    (checks.check_annealed_langevin, anneal_ascending),
    (checks.check_annealed_langevin, anneal_score_at_smallest),
    (checks.check_annealed_langevin, anneal_float_level),
    (checks.check_annealed_langevin, anneal_no_tweedie),
    (checks.check_annealed_langevin, anneal_always_tweedie),
    (checks.check_annealed_langevin, anneal_tweedie_at_first),
    (checks.check_annealed_langevin, anneal_private_generator),
    (checks.check_annealed_langevin, anneal_keeps_graph),
    (checks.check_annealed_langevin, anneal_in_place),
    (checks.check_annealed_langevin, anneal_global_rng),
]

ALT_CORRECT = [
    (checks.check_annealed_langevin, anneal_no_grad_ratio),
    (checks.check_annealed_langevin, anneal_noise_first),
]
