"""06_sampling_likelihood, ``annealed_langevin``: wrong implementations (``BUGS``: each must fail
``check_annealed_langevin``) and correct ones written differently (``ALT_CORRECT``: each must
pass)."""

from __future__ import annotations

import math

import torch

from ebm_course.instructor.assignments.sampling_likelihood import checks
from ebm_course.instructor.assignments.sampling_likelihood import reference as ref

from ._shared import _noise, _per_chain, _private


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


def anneal_private_generator(score_fn, x, sigmas, n_steps_each, step_lr, generator):
    """A private generator from the caller's seed, made once per call."""
    return ref.annealed_langevin(score_fn, x, sigmas, n_steps_each, step_lr, _private(generator))


def anneal_noise_per_chain(score_fn, x, sigmas, n_steps_each, step_lr, generator):
    """One normal per chain and step, broadcast over the coordinates."""
    x = x.detach()
    for sigma in sigmas:
        alpha = step_lr * (float(sigma) / float(sigmas[-1])) ** 2
        for _ in range(n_steps_each):
            noise = _per_chain(x, generator)
            x = (x + 0.5 * alpha * score_fn(x, sigma) + math.sqrt(alpha) * noise).detach()
    return x


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


BUGS = [
    (checks.check_annealed_langevin, anneal_linear_in_sigma),
    (checks.check_annealed_langevin, anneal_normalised_by_largest),
    (checks.check_annealed_langevin, anneal_noise_sqrt_2alpha),
    (checks.check_annealed_langevin, anneal_full_drift),
    (checks.check_annealed_langevin, anneal_ascending),
    (checks.check_annealed_langevin, anneal_score_at_smallest),
    (checks.check_annealed_langevin, anneal_private_generator),
    (checks.check_annealed_langevin, anneal_noise_per_chain),
    (checks.check_annealed_langevin, anneal_keeps_graph),
    (checks.check_annealed_langevin, anneal_in_place),
]


ALT_CORRECT = [
    (checks.check_annealed_langevin, ref.annealed_langevin),
    (checks.check_annealed_langevin, annealed_langevin_ratio),
    (checks.check_annealed_langevin, annealed_langevin_no_grad),
]
