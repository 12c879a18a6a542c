"""Hidden checks of 06_sampling_likelihood: ``annealed_langevin``."""

from __future__ import annotations

import math

import torch

from ebm_course.instructor.grading.common import (
    expect_independent_coordinates,
    expect_seeded_by_generator,
    expect_tensor,
    guard_checks,
    one_thread,
)

from ._shared import _check_detached_and_untouched, _gen


def check_annealed_langevin(langevin_fn) -> None:
    """Annealed Langevin: every sigma in the given (decreasing) order, n_steps_each steps each,
    alpha_i = step_lr sigma_i^2 / sigma_L^2, drift alpha/2 * score, noise sqrt(alpha): the
    moments of a linear score's chains, the noise of a zero score (independent coordinates),
    generator (advancing), shapes, dtype, x untouched, detached (also for a score with
    parameters)."""
    with one_thread():
        sigmas = [1.0, 0.5, 0.25, 0.1]
        calls = []

        def zero_score(z, sigma):
            calls.append(float(sigma))
            return torch.zeros_like(z)

        x0 = torch.zeros(20000, 2, dtype=torch.float64)
        out = expect_tensor(langevin_fn(zero_score, x0, sigmas, 3, 2e-3, _gen(110)),
                            "annealed_langevin with a zero score", (20000, 2))
        assert calls == [s for s in sigmas for _ in range(3)], (
            "annealed_langevin: score_fn should be called n_steps_each times at each sigma, in "
            "the order given (largest first)")
        alphas = [2e-3 * (s / sigmas[-1]) ** 2 for s in sigmas]
        want_var = 3 * sum(alphas)
        assert abs(out.var().item() / want_var - 1) < 0.03, (
            "annealed_langevin with a zero score: the chains should spread by sqrt(alpha_i) "
            "N(0, I) per step, alpha_i = step_lr * sigma_i^2 / sigma_L^2 (sigma_L the smallest)")
        expect_independent_coordinates(out, math.sqrt(want_var), "annealed_langevin with a zero "
                                       "score in 2D", "sqrt(sum of the steps' alpha_i)")
        # A linear score -(x - c) / (1 + sigma^2): mean and variance follow a known recursion.
        c = 0.8

        def linear_score(z, sigma):
            return -(z - c) / (1 + float(sigma) ** 2)

        start = torch.full((20000, 1), -1.0, dtype=torch.float64)
        sig2 = [2.0, 1.0, 0.5]
        out = expect_tensor(langevin_fn(linear_score, start, sig2, 4, 0.05, _gen(111)),
                            "annealed_langevin with a linear score", (20000, 1))
        mean, var = -1.0, 0.0
        for s in sig2:
            alpha = 0.05 * (s / sig2[-1]) ** 2
            factor = 1 - 0.5 * alpha / (1 + s ** 2)
            for _ in range(4):
                mean = factor * (mean - c) + c
                var = factor ** 2 * var + alpha
        assert abs(out.mean().item() - mean) < 6 * math.sqrt(var / 20000) + 1e-9 and \
            abs(out.var().item() / var - 1) < 0.04, (
                "annealed_langevin with a linear score: the chains' mean and spread differ from "
                "x <- x + alpha_i / 2 * score(x, sigma_i) + sqrt(alpha_i) z")
        xi = torch.randn(5, 1, 2, 2, generator=_gen(112))
        got = expect_tensor(langevin_fn(lambda z, s: -z, xi, [0.5, 0.2], 2, 0.01, _gen(0)),
                            "annealed_langevin on image-shaped float32 states", (5, 1, 2, 2))
        assert got.dtype == torch.float32 and not got.requires_grad, (
            "annealed_langevin: keep the states' dtype and return them detached")
        _check_detached_and_untouched(
            lambda z, w: langevin_fn(lambda u, s: -w * u, z, [0.5, 0.2], 2, 0.01, _gen(0)), xi,
            "annealed_langevin")
        expect_seeded_by_generator(
            lambda g: langevin_fn(lambda z, s: -z, xi, [0.5, 0.2], 2, 0.01, g),
            "annealed_langevin", xi)


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
