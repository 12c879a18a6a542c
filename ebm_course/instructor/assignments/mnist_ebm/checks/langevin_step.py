"""Hidden checks of 03_mnist_ebm: ``langevin_step``."""

from __future__ import annotations

import contextlib

import torch

from ebm_course import models
from ebm_course.instructor.assignments.mnist_ebm import reference as ref03
from ebm_course.instructor.grading.common import guard_checks

from ._shared import _close, _expect, _global_seed


def _quadratic_energy(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * (x.flatten(1) - 0.3).pow(2).sum(1) * 4.0


def _flat_energy(x: torch.Tensor) -> torch.Tensor:
    return 0.0 * x.flatten(1).sum(1)


def _corr(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.flatten().double(), b.flatten().double()
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / (a.norm() * b.norm()).clamp_min(1e-30))


def _check_noise_free(step_fn, net: torch.nn.Module, x5, x_img, x64) -> None:
    """noise_std=0: x - step_size * clip(dE/dx), then clamp, as the reference, under no_grad or
    not; x untouched, the result detached, the network's parameter gradients untouched."""
    energy_net = models.energy_fn_of(net)
    params = list(net.parameters())
    params[0].grad = torch.zeros_like(params[0])  # an earlier backward's (zeroed) gradient
    cases = (
        ("a plain gradient step", _quadratic_energy, x5, 0.1, None, None),
        ("with gradient clipping and a clamp", _quadratic_energy, x5, 0.5, 0.2, (-1.0, 1.0)),
        ("when the step overshoots the clamp", _quadratic_energy, x5, 0.5, None, (-1.0, 1.0)),
        ("with grad_clip=0 (every gradient entry clipped to 0)", _quadratic_energy, x5, 0.5,
         0.0, None),
        ("on a CNN energy", energy_net, x_img, 10.0, 0.03, (-1.0, 1.0)),
        ("on a CNN energy and a batch of one", energy_net, x_img[:1], 20.0, None, (-1.0, 1.0)),
        ("with float64 inputs", _quadratic_energy, x64, 0.1, 0.5, (-0.9, 0.9)),
    )
    for i, (kind, energy_fn, x, step_size, grad_clip, clamp) in enumerate(cases):
        x_before = x.clone()
        mode = torch.no_grad() if i % 2 == 0 else contextlib.nullcontext()
        with mode:  # Lightning validation runs under no_grad: the step must cope
            got = step_fn(energy_fn, x, step_size, 0.0, grad_clip, clamp)
        want = ref03.langevin_step(energy_fn, x, step_size, 0.0, grad_clip, clamp)
        tol = dict(atol=1e-7, rtol=1e-6) if x.dtype == torch.float64 else dict(atol=1e-5)
        _close(got, want, f"langevin_step with noise_std=0 {kind} (x - step_size * clip(dE/dx), "
               "then clamp)", "x's shape", **tol)
        assert torch.equal(x, x_before), "langevin_step must not modify its input x in place"
        assert not got.requires_grad, (
            "langevin_step should return a detached tensor (x.detach()): a graph kept alive "
            "in the buffer leaks memory every iteration")
    assert torch.equal(params[0].grad, torch.zeros_like(params[0])) and all(
        p.grad is None for p in params[1:]), (
        "langevin_step changed the network's parameter gradients: differentiate with respect to "
        "x only (torch.autograd.grad(energy.sum(), x)), not with .backward()")


def _check_input_requires_grad(step_fn, x5) -> None:
    """From an x that requires grad: the same step, detached, nothing written into x.grad."""
    x_req = x5.clone().requires_grad_(True)
    got = step_fn(_quadratic_energy, x_req, 0.1, 0.0, None, None)
    _close(got, ref03.langevin_step(_quadratic_energy, x5, 0.1, 0.0), "langevin_step when x "
           "itself requires grad", "x's shape")
    assert not got.requires_grad, (
        "when x itself requires grad langevin_step must still return a detached tensor (start "
        "from x.detach(), and build the result from it)")
    assert x_req.grad is None, "langevin_step must not fill x.grad of its input"


def _check_flat_noise(step_fn, noise_std: float) -> None:
    """The noise, on a flat energy: N(0, noise_std^2), one draw per element, fresh each call."""
    zeros = torch.zeros(4000, 5)
    z1 = _expect(step_fn(_flat_energy, zeros, 0.1, noise_std, None, None),
                 "langevin_step with noise on a flat energy", (4000, 5), "x's shape", torch.float32)
    z2 = _expect(step_fn(_flat_energy, zeros, 0.1, noise_std, None, None),
                 "langevin_step with noise on a flat energy", (4000, 5), "x's shape", torch.float32)
    where = "on a flat energy (zero gradient) a step should add noise_std * N(0, 1) noise"
    ratio = z1.std().item() / noise_std
    assert abs(z1.mean().item()) < 0.015, f"{where}: the noise does not have mean 0"
    assert abs(ratio - 1) < 0.04, (
        f"{where}: its standard deviation is {ratio:.2f} x noise_std (noise_std is a standard "
        "deviation, not a variance; the noise is not scaled by step_size)")
    tail = (z1.abs() > 2 * noise_std).float().mean().item()
    assert 0.035 < tail < 0.057, f"{where}: the noise is not Gaussian (use torch.randn_like)"
    col_std = z1.std(0) / noise_std
    assert (col_std - 1).abs().max() < 0.1, (
        f"{where}: every element needs its own noise draw (the same noise is shared across the "
        "batch)")
    cols = [_corr(z1[:, i], z1[:, j]) for i in range(5) for j in range(i + 1, 5)]
    assert max(abs(c) for c in cols) < 0.1 and abs(_corr(z1[:2000], z1[2000:])) < 0.1, (
        f"{where}: every element needs its own, independent noise draw (one noise value is "
        "shared by the elements of a sample)")
    assert (z1 == z2).float().mean().item() < 0.01 and abs(_corr(z1, z2)) < 0.1, (
        "two calls of langevin_step drew the same noise: draw fresh noise at every step (do not "
        "re-seed the random generator inside the step)")


def _check_curved_noise(step_fn, gen: torch.Generator) -> None:
    """The noise on a curved energy: added after the gradient step."""
    x = torch.rand(3000, 4, generator=gen) - 0.5
    out = _expect(step_fn(_quadratic_energy, x, 0.1, 0.05, None, None),
                  "langevin_step with noise on a curved energy", tuple(x.shape), "x's shape",
                  torch.float32)
    resid = out - ref03.langevin_step(_quadratic_energy, x, 0.1, 0.0)
    ratio = resid.std().item() / 0.05
    assert abs(resid.mean().item()) < 0.005 and abs(ratio - 1) < 0.07, (
        "on a curved energy a step should be x - step_size * dE/dx (the gradient at x itself) "
        f"plus noise_std * N(0, 1): the result minus the noise-free step has mean "
        f"{resid.mean().item() / 0.05:.2f} x noise_std and std {ratio:.2f} x noise_std "
        "(add the noise after the gradient step, to x, unscaled)")


def _check_clamp_and_float64(step_fn, x64, noise_std: float) -> None:
    """With noise and a clamp every sample lies in the clamp range, noise still added; noise on a
    float64 batch of one."""
    z = _expect(step_fn(_flat_energy, torch.full((2000, 5), 0.95), 0.1, noise_std, None,
                        (-1.0, 1.0)), "langevin_step with noise and a clamp", (2000, 5),
                "x's shape", torch.float32)
    assert z.min() >= -1.0 and z.max() <= 1.0, (
        "with clamp=(low, high) every returned sample must lie in [low, high]: clamp after "
        "adding the noise, as the last operation of the step")
    assert (z < 0.95).float().mean() > 0.3, "with a clamp the noise must still be added"

    one = _expect(step_fn(_quadratic_energy, x64[:1], 0.1, 0.01, None, None),
                  "langevin_step with noise on a float64 batch of one", (1, 11), "x's shape",
                  torch.float64)
    assert (one != ref03.langevin_step(_quadratic_energy, x64[:1], 0.1, 0.0)).any(), (
        "langevin_step with noise on a float64 batch of one: no noise was added")


def check_langevin_step(step_fn) -> None:
    """One SGLD step. Noise-free: x - step_size * clip(dE/dx), then clamp, as the reference
    (gradient of the summed energy, every entry clipped, grad_clip=0 included; a batch of one,
    float64, a CNN energy, under no_grad or not); x untouched, the result detached, no gradient
    reaching the network's parameters or x.grad. Noise: N(0, noise_std^2), Gaussian, its own
    draw for every element, fresh at every call, added after the gradient step and before the
    clamp."""
    gen = torch.Generator().manual_seed(7)
    with _global_seed(7):
        net = ref03.CNNEnergy(1, 20, 8, 1)
    x5 = torch.rand(5, 1, 7, 9, generator=gen) * 2 - 1
    x_img = torch.rand(3, 1, 20, 20, generator=gen) * 2 - 1
    x64 = torch.rand(6, 11, generator=gen, dtype=torch.float64) * 2 - 1
    _check_noise_free(step_fn, net, x5, x_img, x64)
    _check_input_requires_grad(step_fn, x5)
    noise_std = 0.3
    _check_flat_noise(step_fn, noise_std)
    _check_curved_noise(step_fn, gen)
    _check_clamp_and_float64(step_fn, x64, noise_std)


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
