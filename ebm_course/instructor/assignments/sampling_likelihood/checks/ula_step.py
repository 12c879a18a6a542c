"""Hidden checks of 06_sampling_likelihood: ``ula_step``."""

from __future__ import annotations

import math

import torch

from ebm_course.instructor.assignments.sampling_likelihood import reference as ref06
from ebm_course.instructor.grading.common import (
    expect_close,
    expect_independent_coordinates,
    expect_seeded_by_generator,
    expect_tensor,
    guard_checks,
    one_thread,
)

from ._shared import (
    _banana,
    _check_detached_and_untouched,
    _gaussian,
    _gen,
    _rowsum,
)


def check_ula_step(step_fn) -> None:
    """x - step_size dE/dx + noise: the noise-free step on several energies and shapes, float64
    kept, the default noise std sqrt(2 step_size) and a given noise_std, independent for every
    coordinate, the generator's noise (advancing the generator), detached output (also from
    states that require grad), works under no_grad."""
    with one_thread():
        cases = [((5, 2), _banana, 0.05, "a 2D banana energy"),
                 ((4, 1, 2, 2), lambda z: _rowsum(torch.sin(z) + 0.3 * z ** 4), 0.1,
                  "image-shaped states (B, 1, 2, 2)"),
                 ((1, 3), _gaussian([0.5, 1.0, 2.0]), 0.2, "a batch of one")]
        for shape, energy, eps, kind in cases:
            x = torch.randn(*shape, generator=_gen(3), dtype=torch.float64)
            want = ref06.ula_step(energy, x, eps, _gen(0), noise_std=0.0)
            got = step_fn(energy, x.clone(), eps, _gen(0), noise_std=0.0)
            expect_close(got, want, f"ula_step with noise_std=0 on {kind}", atol=1e-10)
        x32 = torch.randn(6, 2, generator=_gen(4))
        got = step_fn(_banana, x32, 0.05, _gen(0), noise_std=0.0)
        expect_close(got, ref06.ula_step(_banana, x32, 0.05, _gen(0), noise_std=0.0),
                     "ula_step on float32 states", atol=1e-5)
        with torch.no_grad():
            got = step_fn(_banana, x32, 0.05, _gen(0), noise_std=0.0)
        expect_close(got, ref06.ula_step(_banana, x32, 0.05, _gen(0), noise_std=0.0),
                     "ula_step called under torch.no_grad()", atol=1e-5)
        _check_detached_and_untouched(
            lambda z, w: step_fn(lambda u: w * _banana(u), z, 0.05, _gen(0)), x32, "ula_step")
        flat = lambda z: 0.0 * _rowsum(z)  # noqa: E731
        zeros = torch.zeros(30000, 3, dtype=torch.float64)
        for eps, noise_std, kind in ((0.08, None, "the default noise (ULA: sqrt(2 step_size))"),
                                     (0.08, 0.3, "a given noise_std")):
            want_std = math.sqrt(2 * eps) if noise_std is None else noise_std
            out = expect_tensor(step_fn(flat, zeros, eps, _gen(5), noise_std=noise_std)
                                if noise_std is not None else step_fn(flat, zeros, eps, _gen(5)),
                                "ula_step on a flat energy", (30000, 3))
            std, mean = out.std().item(), out.mean().item()
            assert abs(std / want_std - 1) < 0.02 and abs(mean) < 0.02 * want_std, (
                f"ula_step on a flat energy with {kind}: the step should add N(0, noise_std^2) "
                "noise to every coordinate")
            expect_independent_coordinates(out, want_std, f"ula_step on a flat energy in 3D "
                                           f"with {kind}", "noise_std")
        expect_seeded_by_generator(lambda g: step_fn(_banana, x32, 0.05, g), "ula_step", x32)


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
