"""Hidden checks of 07_score_models: ``annealed_langevin``."""

from __future__ import annotations

import math

import torch

from ebm_course.instructor.assignments.score_models import reference as ref
from ebm_course.instructor.grading.common import (
    expect_independent_coordinates,
    expect_no_graph,
    expect_not_aliased,
    expect_seeded_by_generator,
    expect_tensor,
    guard_checks,
    one_thread,
    reference_in,
)

from ._shared import _bcast, _gen


def _levels_seen(calls, n_samples: int, what: str) -> list[float]:
    out = []
    for s in calls:
        assert isinstance(s, torch.Tensor) and s.shape == (n_samples,), (
            f"{what}: call score_fn(x, sigma_i) with sigma_i as a (B,) tensor (one level per "
            "sample, all equal)")
        assert torch.all(s == s[0]), f"{what}: every sample of a step shares the level sigma_i"
        out.append(float(s[0]))
    return out


def _linear_moments(start_mean, c, v, sigmas, n_each, eps, denoise):
    """Mean and variance of chains under score -(x - c) / (v + sigma^2), started at a point."""
    mean, var = start_mean, 0.0
    last = float(sigmas[-1])
    for s in sigmas:
        alpha = eps * (s / last) ** 2
        f = 1 - 0.5 * alpha / (v + s ** 2)
        for _ in range(n_each):
            mean = f * (mean - c) + c
            var = f ** 2 * var + alpha
    if denoise:
        f = 1 - last ** 2 / (v + last ** 2)
        mean, var = f * (mean - c) + c, f ** 2 * var
    return mean, var


def _check_schedule(sampler, what_prefix: str) -> None:
    """A zero score: the call sequence, the levels, the spread sum(n alpha_i), independence."""
    sigmas = [1.0, 0.5, 0.25, 0.1]
    for denoise in (False, True):
        what = f"{what_prefix} with a zero score (denoise={denoise})"
        calls = []

        def zero(z, s, calls=calls):
            calls.append(s)
            return torch.zeros_like(z)

        x0 = torch.zeros(20000, 2, dtype=torch.float64)
        out = expect_tensor(sampler(zero, x0, sigmas, 3, 2e-3, _gen(110), denoise=denoise),
                            what, (20000, 2))
        levels = _levels_seen(calls, 20000, what)
        want = [s for s in sigmas for _ in range(3)] + ([sigmas[-1]] if denoise else [])
        assert len(levels) == len(want) and all(abs(a - b) < 1e-12 for a, b in zip(levels, want)), (
            f"{what}: score_fn should be called n_steps_each times at each sigma, in the order "
            "given (largest first)" + (", and once more at sigma_L by Tweedie's step"
                                       if denoise else ", and not again without denoise"))
        want_var = 3 * sum(2e-3 * (s / sigmas[-1]) ** 2 for s in sigmas)
        assert abs(out.var().item() / want_var - 1) < 0.03, (
            f"{what}: the chains should spread by sqrt(alpha_i) N(0, I) per step, alpha_i = "
            "eps * sigma_i^2 / sigma_L^2 (sigma_L the last, smallest level)")
        expect_independent_coordinates(out, math.sqrt(want_var), what,
                                       "sqrt(sum of the steps' alpha_i)")


def _check_linear(sampler, what_prefix: str) -> None:
    """Gaussian data: the exact blurred score; chains' mean and variance follow a recursion."""
    c, v = 0.8, 0.3
    sigmas = torch.tensor([2.0, 1.0, 0.5, 0.2], dtype=torch.float64)  # a tensor, as scheduled
    for denoise in (False, True):
        start = torch.full((20000, 1), -1.0, dtype=torch.float64)
        out = expect_tensor(sampler(lambda z, s: -(z - c) / (v + _bcast(s, z) ** 2), start,
                                    sigmas, 4, 0.05, _gen(111), denoise=denoise),
                            f"{what_prefix} with a Gaussian's score", (20000, 1))
        mean, var = _linear_moments(-1.0, c, v, sigmas.tolist(), 4, 0.05, denoise)
        assert abs(out.mean().item() - mean) < 6 * math.sqrt(var / 20000) and \
            abs(out.var().item() / var - 1) < 0.04, (
                f"{what_prefix} with the exact score of Gaussian data (denoise={denoise}): the "
                "chains' mean and spread differ from x <- x + alpha_i / 2 * score(x, sigma_i) + "
                "sqrt(alpha_i) z" + (", then x + sigma_L^2 * score(x, sigma_L)" if denoise
                                     else " (no Tweedie step without denoise)"))


def check_annealed_langevin(sampler) -> None:
    """Annealed Langevin with Tweedie's step: every sigma in the given (decreasing) order, as a
    list or a tensor, n_steps_each steps each, the level passed as a (B,) tensor, alpha_i = eps
    sigma_i^2 / sigma_L^2, drift alpha/2 * score, noise sqrt(alpha) (independent coordinates),
    then x + sigma_L^2 score(x, sigma_L) only with denoise: the call sequence, the spread of a zero
    score, the exact moments under a Gaussian's score; generator (seeded, advancing); images,
    a batch of one, dtype kept; x untouched, the result detached and new, also for a score with
    parameters. Graded with the reference tweedie_denoise."""
    with one_thread(), reference_in(sampler, "tweedie_denoise", ref.tweedie_denoise):
        _check_schedule(sampler, "annealed_langevin")
        _check_linear(sampler, "annealed_langevin")
        xi = torch.randn(5, 1, 2, 2, generator=_gen(112))
        before = xi.clone()
        got = expect_tensor(sampler(lambda z, s: -z, xi, [0.5, 0.2], 2, 0.01, _gen(0)),
                            "annealed_langevin on image-shaped float32 states", (5, 1, 2, 2))
        assert torch.equal(xi, before), "annealed_langevin: modified its input x in place"
        expect_not_aliased(got, xi, "annealed_langevin: the final states")
        assert got.dtype == torch.float32, "annealed_langevin: keep the states' dtype"
        one = expect_tensor(sampler(lambda z, s: -z, xi[:1], [0.5, 0.2], 2, 0.01, _gen(0)),
                            "annealed_langevin on a batch of one", (1, 1, 2, 2))
        assert not torch.equal(one, xi[:1]), "annealed_langevin on a batch of one: no move"
        w = torch.tensor(1.0, requires_grad=True)
        leaf = xi.clone().requires_grad_(True)
        out = sampler(lambda z, s: -w * z, leaf, [0.5, 0.2], 2, 0.01, _gen(0))
        expect_no_graph(out, "annealed_langevin from states that require grad, with a score "
                        "that has parameters: the final states")
        assert leaf.grad is None and torch.equal(leaf.detach(), before), (
            "annealed_langevin: the caller's x must be left as it was")
        expect_seeded_by_generator(
            lambda g: sampler(lambda z, s: -z, xi, [0.5, 0.2], 2, 0.01, g),
            "annealed_langevin", xi)


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
