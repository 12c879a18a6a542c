"""Hidden checks of 01_theory: ``ula_chain``."""

from __future__ import annotations

import math

import torch

from ebm_course import toy
from ebm_course.instructor.assignments.theory import reference as ref01
from ebm_course.instructor.grading.common import expect_generator_advances, guard_checks

from ._shared import _close, _isolated, _mixture, _tensor


def _flat(x):
    return 0.0 * x.sum(1)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _check_noise(chain_fn, eps: float) -> None:
    """One step on a flat energy, under no_grad: the noise, element by element; then several steps:
    fresh noise at every step (variance n * 2 step_size)."""
    sigma = math.sqrt(2 * eps)
    n_chains, d = 4000, 3
    x0 = torch.zeros(n_chains, d)
    syms = {n_chains: "B", d: "d"}

    with torch.no_grad():  # the chain must enable gradients itself
        z = chain_fn(_flat, x0, 1, eps, generator=_gen(11))
    z = _tensor(z, "ula_chain on a flat energy, called under torch.no_grad()", x0.shape, syms)
    assert not z.requires_grad, "ula_chain should return detached samples"
    assert torch.equal(x0, torch.zeros(n_chains, d)), (
        "ula_chain must not modify its input x in place")
    noise = z.double() / sigma
    std = noise.std(0)
    assert (std - 1).abs().max() < 0.07, (
        f"one step on a flat energy should add N(0, 2 * step_size) noise to every coordinate "
        f"of every chain: got a noise std of {std.min().item():.3g} to "
        f"{std.max().item():.3g} x sqrt(2 * step_size)")
    assert noise.mean(0).abs().max() < 0.1, (
        "one step on a flat energy should add noise of mean zero (torch.randn, not "
        "torch.rand)")
    corr = torch.corrcoef(noise.T) - torch.eye(d, dtype=torch.float64)
    assert corr.abs().max() < 0.1, (
        "the noise of different coordinates should be independent: draw one standard "
        "normal per element (shape (B, d)), not one per chain")

    # several steps on a flat energy: fresh noise at every step (variance n * 2 step_size)
    n = 3
    z = _tensor(chain_fn(_flat, torch.zeros(3000, d), n, eps, generator=_gen(12)),
                "ula_chain on a flat energy, several steps", (3000, d), {3000: "B", d: "d"})
    ratio = z.double().std(0) / math.sqrt(n * 2 * eps)
    assert (ratio - 1).abs().max() < 0.08, (
        f"several steps on a flat energy should add independent noise at every step (variance "
        f"n_steps * 2 * step_size): got a std of {ratio.mean().item():.3g} x "
        f"sqrt(n_steps * 2 * step_size). Draw fresh noise inside the loop, once per step")


def _check_generator(chain_fn, eps: float) -> None:
    """The generator: reproducible, actually used, the global generator left alone; without one,
    noise from torch's global generator, fresh at every call."""
    x = torch.randn(33, 2, generator=_gen(13))
    torch.manual_seed(101)
    a = chain_fn(_flat, x, 2, eps, generator=_gen(21))
    torch.manual_seed(202)
    state = torch.get_rng_state()
    b = chain_fn(_flat, x, 2, eps, generator=_gen(21))
    a = _tensor(a, "ula_chain when a generator is passed", x.shape, {33: "B"})
    b = _tensor(b, "ula_chain when a generator is passed", x.shape, {33: "B"})
    assert torch.equal(a, b), (
        "when a generator is passed, the same generator seed must give the same chain "
        "whatever torch's global random state: draw the noise with "
        "torch.randn(shape, generator=generator)")
    assert torch.equal(torch.get_rng_state(), state), (
        "when a generator is passed, torch's global random generator must be neither used "
        "nor re-seeded: draw the noise from the generator")
    c = chain_fn(_flat, x, 2, eps, generator=_gen(22))
    assert not torch.allclose(a, _tensor(c, "ula_chain when a generator is passed")), (
        "when a generator is passed, different generator seeds must give different noise")
    expect_generator_advances(lambda g: chain_fn(_flat, x, 2, eps, generator=g), _gen(23),
                              "ula_chain called twice with one generator (the notebook "
                              "continues chains with the same generator)")

    # no generator: noise from torch's global generator, fresh at every call
    torch.manual_seed(303)
    a = chain_fn(_flat, x, 2, eps)
    b = chain_fn(_flat, x, 2, eps)
    torch.manual_seed(303)
    c = chain_fn(_flat, x, 2, eps)
    a = _tensor(a, "ula_chain without a generator", x.shape, {33: "B"})
    assert not torch.allclose(a, b), (
        "without a generator, successive calls must draw fresh noise (from torch's global "
        "generator; no fixed default seed)")
    assert torch.equal(a, c), (
        "without a generator, the noise should come from torch's global generator "
        "(torch.manual_seed makes the chain reproducible)")


def _check_drift(chain_fn, eps: float) -> None:
    """The drift, exactly: same generator seed on a non-linear and on a flat energy."""
    means, stds, weights = _mixture(3, 2, _gen(14))
    mix = lambda x: ref01.gmm_energy(x, means, stds, weights)  # noqa: E731
    for rows, words in [(37, "a batch of chains"), (1, "a batch of one")]:
        xs = torch.randn(rows, 2, generator=_gen(15)) * 1.5
        what = f"ula_chain, one step on a non-linear energy, on {words}"
        z_e = _tensor(chain_fn(mix, xs, 1, eps, generator=_gen(31)), what, xs.shape,
                      {37: "B"} if rows > 1 else {})
        z_f = _tensor(chain_fn(_flat, xs, 1, eps, generator=_gen(31)), what, xs.shape,
                      {37: "B"} if rows > 1 else {})
        xr = xs.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(mix(xr).sum(), xr)
        _close(z_e - z_f, -eps * grad, f"{what}: x must move by -step_size * dE/dx at the "
               f"current x (compared with a flat energy and the same generator seed; the "
               f"gradient of the sum of the energies, not of their mean)", 1e-4, 1e-4,
               {37: "B"})
    slope = torch.tensor([1.7, -0.6])
    linear = lambda x: x @ slope  # noqa: E731
    xs = torch.randn(29, 2, generator=_gen(16))
    n = 6
    what = "ula_chain, several steps on a linear energy E = a . x"
    z_l = _tensor(chain_fn(linear, xs, n, eps, generator=_gen(32)), what, xs.shape,
                  {29: "B"})
    z_f = _tensor(chain_fn(_flat, xs, n, eps, generator=_gen(32)), what, xs.shape, {29: "B"})
    _close(z_l - z_f, (-n * eps * slope).expand(29, 2), f"{what}: every step must move x by "
           f"-step_size * a, n_steps times (compared with a flat energy and the same "
           f"generator seed)", 1e-4, 1e-4, {29: "B"})


def _check_float64(chain_fn, eps: float) -> None:
    """Float64 chains stay float64, with the same exact drift."""
    def quartic(x):
        return 0.3 * x.pow(4).sum(1) - 1.1 * x[:, 0] + 0.4 * x[:, 0] * x[:, 1]

    xs = torch.randn(27, 2, generator=_gen(17)).double()
    what = "ula_chain with float64 chains"
    z_e = _tensor(chain_fn(quartic, xs, 1, eps, generator=_gen(33)), what, xs.shape,
                  {27: "B"}, torch.float64)
    z_f = _tensor(chain_fn(_flat, xs, 1, eps, generator=_gen(33)), what, xs.shape,
                  {27: "B"}, torch.float64)
    xr = xs.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(quartic(xr).sum(), xr)
    _close(z_e - z_f, -eps * grad, f"{what}, one step on a non-linear energy (the drift)",
           1e-6, 1e-6, {27: "B"})


def _check_no_gradients(chain_fn, eps: float) -> None:
    """Gradients: only dE/dx is taken; nothing reaches the energy's parameters or the input."""
    centre = torch.tensor([0.5, -0.3], requires_grad=True)
    param_energy = lambda x: (x - centre).pow(2).sum(1) / (2 * 0.49)  # noqa: E731
    xs = torch.randn(21, 2, generator=_gen(18)).requires_grad_(True)
    out = _tensor(chain_fn(param_energy, xs, 3, eps, generator=_gen(34)),
                  "ula_chain on an energy with parameters, from x that requires grad",
                  xs.shape, {21: "B"})
    assert not out.requires_grad, "ula_chain should return detached samples"
    assert centre.grad is None, (
        "ula_chain must not leave gradients in the energy's parameters: take dE/dx with "
        "torch.autograd.grad(..., x), not .backward()")
    assert xs.grad is None, (
        "ula_chain must not write a gradient into its input x: work on a detached copy")


def _check_stationary(chain_fn) -> None:
    """The chain as a whole: Gaussian stationary moments."""
    mean, std = torch.tensor([1.0, -0.5]), 0.6
    z = _tensor(chain_fn(toy.gaussian_energy(mean, std), torch.zeros(2000, 2), 250, 0.023,
                         generator=_gen(19)),
                "ula_chain on a Gaussian energy", (2000, 2), {2000: "B"})
    assert torch.allclose(z.mean(0), mean, atol=0.08), (
        "a long Langevin run on a Gaussian energy should reach its mean (sign of the "
        "gradient step? gradient at the current x?)")
    ratio = z.std(0).mean().item() / std
    assert abs(ratio - 1) < 0.08, (
        f"a long Langevin run on a Gaussian energy should give samples with the Gaussian's "
        f"std: got {ratio:.3g} x the Gaussian's std")


def check_ula_chain(chain_fn) -> None:
    """Unadjusted Langevin: per-element N(0, 2 step_size) noise, independent across chains,
    coordinates and steps; the generator (reproducible, actually used, global RNG untouched);
    the exact drift -step_size dE/dx (also on a batch of one and in float64); no gradient left
    in the energy's parameters or the input; Gaussian stationary moments."""
    with _isolated(chain_fn, "ula_chain"):
        eps = 0.037
        _check_noise(chain_fn, eps)
        _check_generator(chain_fn, eps)
        _check_drift(chain_fn, eps)
        _check_float64(chain_fn, eps)
        _check_no_gradients(chain_fn, eps)
        _check_stationary(chain_fn)


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
