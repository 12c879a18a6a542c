"""Hidden checks of 06_sampling_likelihood: ``mala_step`` and ``leapfrog`` and ``hmc_step``."""

from __future__ import annotations

import math

import torch

from ebm_course.instructor.assignments.sampling_likelihood import reference as ref06
from ebm_course.instructor.grading.common import (
    expect_close,
    expect_independent_coordinates,
    expect_no_graph,
    expect_seeded_by_generator,
    expect_tensor,
    guard_checks,
    one_thread,
    reference_in,
)

from ._shared import (
    _banana,
    _check_detached_and_untouched,
    _gaussian,
    _gen,
    _rowsum,
)

_REF_LEAPFROG = ref06.leapfrog  # kept before any swap (check_hmc_step)


_MIX = {"means": (-1.5, 1.2), "stds": (0.5, 0.7), "weights": (0.35, 0.65)}


def _mixture_1d(z: torch.Tensor) -> torch.Tensor:
    """A 1D two-component mixture (unequal widths and weights), x (B, 1) -> (B,)."""
    m = torch.tensor(_MIX["means"], dtype=z.dtype)
    s = torch.tensor(_MIX["stds"], dtype=z.dtype)
    w = torch.tensor(_MIX["weights"], dtype=z.dtype)
    log_comp = w.log() - (z - m).pow(2) / (2 * s ** 2) - s.log()
    return -torch.logsumexp(log_comp, dim=1)


def _mixture_samples(n: int, seed: int) -> torch.Tensor:
    g = _gen(seed)
    k = torch.multinomial(torch.tensor(_MIX["weights"], dtype=torch.float64), n, True,
                          generator=g)
    m = torch.tensor(_MIX["means"], dtype=torch.float64)[k]
    s = torch.tensor(_MIX["stds"], dtype=torch.float64)[k]
    return (m + s * torch.randn(n, generator=g, dtype=torch.float64))[:, None]


def _mixture_moments() -> tuple[float, float]:
    m, s, w = (torch.tensor(_MIX[k], dtype=torch.float64) for k in ("means", "stds", "weights"))
    mean = (w * m).sum()
    return float(mean), float((w * (s ** 2 + m ** 2)).sum() - mean ** 2)


def _as_pair(out, what: str, shape) -> tuple[torch.Tensor, torch.Tensor]:
    assert isinstance(out, (tuple, list)) and len(out) == 2, (
        f"{what}: expected a pair (new states, accepted), got {type(out).__name__}")
    x_new = expect_tensor(out[0], f"{what}: the new states", tuple(shape))
    acc = out[1]
    assert isinstance(acc, torch.Tensor) and tuple(acc.shape) == (shape[0],), (
        f"{what}: accepted should be a tensor of shape ({shape[0]},), one decision per chain")
    assert acc.dtype == torch.bool, f"{what}: accepted should be a bool tensor, got {acc.dtype}"
    return x_new.detach(), acc


def _check_proposal_noise(step, name: str, step_size: float, proposal_std: float) -> None:
    """On a flat energy in 3D every proposal is accepted and moves a chain by proposal_std times
    a standard normal vector (MALA: its noise; HMC: its momenta), independent coordinates."""
    flat = lambda z: 0.0 * _rowsum(z)  # noqa: E731
    x = torch.randn(6000, 3, generator=_gen(13), dtype=torch.float64)
    what = f"{name} on a flat energy in 3D"
    x_new, acc = _as_pair(step(flat, x, step_size, _gen(14)), what, x.shape)
    assert acc.double().mean().item() > 0.99, (
        f"{what}: every proposal should be accepted (its acceptance probability is 1)")
    expect_independent_coordinates((x_new - x)[acc] / proposal_std, 1.0, f"{what}: the moves "
                                   "(proposal noise, or momenta, of every coordinate)", "1")


def _check_step_basics(step, name: str, big: float, proposal_std: float) -> None:
    """A chain moves exactly when accepted; image-shaped and float32 states; detached, input
    untouched; the generator; the proposal noise."""
    x = torch.randn(8, 2, generator=_gen(11), dtype=torch.float64)
    x_new, acc = _as_pair(step(_banana, x.clone(), big, _gen(1)), f"{name} on a 2D banana", x.shape)
    moved = (x_new != x).any(1)
    assert torch.equal(moved, acc), (
        f"{name}: a chain should move exactly when its proposal is accepted (accepted[i] True: "
        "the proposal; False: the old state unchanged)")
    xi = torch.randn(6, 1, 2, 2, generator=_gen(12), dtype=torch.float64)
    _as_pair(step(lambda z: _rowsum(z ** 2 / 2), xi, big, _gen(2)),
             f"{name} on image-shaped states (B, 1, 2, 2)", xi.shape)
    x32 = x.float()
    out32, _ = _as_pair(step(_banana, x32, big, _gen(1)), f"{name} on float32 states", x.shape)
    assert out32.dtype == torch.float32, f"{name}: float32 states should stay float32"
    _check_detached_and_untouched(lambda z, w: step(lambda u: w * _banana(u), z, big, _gen(0)),
                                  x, name)
    expect_seeded_by_generator(lambda g: step(_banana, x, big / 4, g), name, x)
    _check_proposal_noise(step, name, big, proposal_std)


def _check_invariance(step, ref_step, name: str, big: float) -> None:
    """Invariance: exact samples of a non-Gaussian 1D mixture stay exact after steps with a large
    step size (where the unadjusted chain is visibly biased), at the exact acceptance rate."""
    n = 20000
    start = _mixture_samples(n, 21)
    z, rates = start, []
    for k in range(6):
        z, acc = _as_pair(step(_mixture_1d, z, big, _gen(30 + k)), f"{name} on a 1D mixture",
                          (n, 1))
        rates.append(acc.double().mean().item())
    mean, var = _mixture_moments()
    got_mean, got_var = z.mean().item(), z.var().item()
    assert abs(got_mean - mean) < 0.05 and abs(got_var / var - 1) < 0.05, (
        f"{name} does not leave the target invariant: chains started at exact samples of a 1D "
        "two-component mixture drift away from it with a large step size (is the Metropolis "
        "test, with its proposal correction, right?)")
    z_ref = start
    ref_rates = []
    for k in range(6):
        z_ref, acc = ref_step(_mixture_1d, z_ref, big, _gen(60 + k))
        ref_rates.append(acc.double().mean().item())
    assert abs(sum(rates) / 6 - sum(ref_rates) / 6) < 0.02, (
        f"{name}: the acceptance rate at stationarity on a 1D mixture differs from the exact "
        "Metropolis-Hastings acceptance probability (is the acceptance probability "
        "min(1, exp(log_alpha)), with u < alpha, one decision per chain?)")


def _check_hard_wall(step, name: str, big: float) -> None:
    """A hard wall: states beyond it have infinite energy and must never be accepted."""
    wall = lambda z: torch.where(z[:, 0] > 0.3, torch.full_like(z[:, 0], math.inf),  # noqa: E731
                                 z[:, 0] ** 2 / 2)
    z = -torch.rand(4000, 1, generator=_gen(40), dtype=torch.float64)
    for k in range(3):
        z, _ = _as_pair(step(wall, z, big, _gen(41 + k)), f"{name} next to a hard wall", (4000, 1))
    assert (z[:, 0] <= 0.3).all(), (
        f"{name} accepted a proposal of infinite energy (a hard wall): such a proposal has "
        "acceptance probability 0")


def _check_small_steps(step, name: str, small: float) -> None:
    """Small steps: the discretisation error vanishes, nearly every proposal is accepted."""
    z = torch.randn(4000, 3, generator=_gen(50), dtype=torch.float64)
    _, acc = _as_pair(step(_gaussian([0.5, 1.0, 2.0]), z, small, _gen(51)),
                      f"{name} with a tiny step size", (4000, 3))
    assert acc.double().mean().item() > 0.99, (
        f"{name}: with a tiny step size almost every proposal should be accepted (is the "
        "proposal's log-density correction computed with the right signs and scale?)")


def _check_metropolis(step, ref_step, name: str, big: float, small: float,
                      proposal_std: float) -> None:
    """The tests every Metropolis step passes. ``step(energy, x, step_size, generator)``;
    ``proposal_std``: the std of a move at step size ``big`` on a flat energy."""
    _check_step_basics(step, name, big, proposal_std)
    _check_invariance(step, ref_step, name, big)
    _check_hard_wall(step, name, big)
    _check_small_steps(step, name, small)


def check_mala_step(step_fn) -> None:
    """MALA: returns (states, accepted) with one decision per chain, moves exactly the accepted
    chains, leaves a 1D mixture invariant at a large step size, accepts at the exact rate, never
    accepts an infinite energy, accepts nearly always with tiny steps, independent proposal
    noise per coordinate; generator (advancing), dtype, shapes, detached states."""
    with one_thread():
        _check_metropolis(step_fn, ref06.mala_step, "mala_step", big=0.6, small=1e-6,
                          proposal_std=math.sqrt(2 * 0.6))


def check_leapfrog(leapfrog_fn) -> None:
    """Leapfrog (half kick, drift and kick, half kick) equals the reference on a 2D banana and
    image-shaped states, for 1, 3 and 12 steps, float64 and float32, inputs untouched, detached
    (also from inputs that require grad); it is reversible (negating the momentum retraces the path)."""
    with one_thread():
        for shape, energy, eps, n_steps, kind in (
                ((6, 2), _banana, 0.1, 1, "one step on a 2D banana"),
                ((6, 2), _banana, 0.15, 3, "three steps on a 2D banana"),
                ((5, 2), _banana, 0.05, 12, "twelve steps on a 2D banana"),
                ((3, 1, 2, 2), lambda z: _rowsum(0.3 * z ** 4 + torch.sin(z)), 0.2, 4,
                 "image-shaped states")):
            x = torch.randn(*shape, generator=_gen(60), dtype=torch.float64)
            p = torch.randn(*shape, generator=_gen(61), dtype=torch.float64)
            x_before, p_before = x.clone(), p.clone()
            out = leapfrog_fn(energy, x, p, eps, n_steps)
            assert isinstance(out, (tuple, list)) and len(out) == 2, (
                f"leapfrog ({kind}): expected a pair (x, p)")
            want_x, want_p = _REF_LEAPFROG(energy, x_before, p_before, eps, n_steps)
            expect_close(out[0], want_x, f"leapfrog positions, {kind}", atol=1e-9)
            expect_close(out[1], want_p, f"leapfrog momenta, {kind}", atol=1e-9)
            assert torch.equal(x, x_before) and torch.equal(p, p_before), (
                f"leapfrog modified its inputs x or p in place ({kind})")
            assert not out[0].requires_grad and not out[1].requires_grad, (
                "leapfrog: return detached tensors")
        x = torch.randn(4, 2, generator=_gen(62))
        p = torch.randn(4, 2, generator=_gen(63))
        out = leapfrog_fn(_banana, x, p, 0.1, 5)
        expect_close(out[0], _REF_LEAPFROG(_banana, x, p, 0.1, 5)[0], "leapfrog on float32",
                     atol=1e-5)
        back = leapfrog_fn(_banana, out[0], -out[1], 0.1, 5)
        expect_close(back[0], x, "leapfrog run back with negated momentum (reversibility)",
                     atol=1e-4)
        w = torch.tensor(1.0, requires_grad=True)
        xl, pl = x.clone().requires_grad_(True), p.clone().requires_grad_(True)
        out = leapfrog_fn(lambda z: w * _banana(z), xl, pl, 0.1, 3)
        where = "leapfrog from x and p that require grad, on an energy with parameters"
        expect_no_graph(out[0], f"{where}: the positions")
        expect_no_graph(out[1], f"{where}: the momenta")
        assert xl.grad is None and pl.grad is None, (
            f"{where}: a gradient was left in x.grad or p.grad: differentiate a detached copy")


def check_hmc_step(step_fn) -> None:
    """HMC: fresh momenta, leapfrog, Metropolis on the total energy H = E + |p|^2/2: the MALA
    tests (one decision per chain, invariance of a 1D mixture, exact acceptance rate, a hard
    wall, tiny steps, independent momenta per coordinate) with 1 and 4 leapfrog steps, and
    n_leapfrog is honoured."""
    with one_thread(), reference_in(step_fn, "leapfrog", _REF_LEAPFROG):
        for n_leap in (1, 4):
            step = lambda e, x, s, g, n=n_leap: step_fn(e, x, s, g, n_leapfrog=n)  # noqa: E731
            ref = lambda e, x, s, g, n=n_leap: ref06.hmc_step(e, x, s, g, n_leapfrog=n)  # noqa: E731
            _check_metropolis(step, ref, f"hmc_step (n_leapfrog={n_leap})", big=1.1, small=1e-4,
                              proposal_std=n_leap * 1.1)


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
