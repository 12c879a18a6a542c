"""Hidden checks of assignment 06_sampling_likelihood: properties of each graded part.

Each check grades one function on energies it builds itself (1D and 2D analytic ones), never
through another graded part of the notebook: ``check_hmc_step`` runs with the reference
``leapfrog`` in the notebook's namespace for its duration. Deterministic quantities (a noise-free
step, leapfrog, the histogram distance, AIS with a deterministic transition) are compared with the
reference; random ones (noise, Metropolis tests) by statistics over thousands of chains with
margins of at least five standard errors, under generators the check owns, so that the verdict
does not depend on the global seed or on the order in which a correct implementation draws its
random numbers. Failure messages name the property and the kind of input, never a case's values.
"""

from __future__ import annotations

import math

import torch

from ebm_course.instructor.assignments.sampling_likelihood import reference as ref06
from ebm_course.instructor.grading.common import (
    expect_close,
    expect_generator_advances,
    expect_independent_coordinates,
    expect_no_graph,
    expect_not_aliased,
    expect_tensor,
    guard_checks,
    one_thread,
    points_near_bin_edges,
    reference_in,
)

_REF_LEAPFROG = ref06.leapfrog  # kept before any swap (check_hmc_step)


# ---------------------------------------------------------------- helpers

def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _rowsum(z: torch.Tensor) -> torch.Tensor:
    return z.flatten(1).sum(1)


def _gaussian(stds):
    """E(x) = sum_i x_i^2 / (2 std_i^2) per chain, x (B, d)."""
    stds = torch.as_tensor(stds, dtype=torch.float64)
    return lambda z: _rowsum(z.pow(2) / (2 * stds.to(z) ** 2))


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


def _banana(z: torch.Tensor) -> torch.Tensor:
    x1, x2 = z[:, 0], z[:, 1]
    return x1 ** 2 / 2 + (x2 - 0.5 * x1 ** 2) ** 2 / 0.5 + 0.1 * torch.cos(3 * x1 + x2)


def _as_pair(out, what: str, shape) -> tuple[torch.Tensor, torch.Tensor]:
    assert isinstance(out, (tuple, list)) and len(out) == 2, (
        f"{what}: expected a pair (new states, accepted), got {type(out).__name__}")
    x_new = expect_tensor(out[0], f"{what}: the new states", tuple(shape))
    acc = out[1]
    assert isinstance(acc, torch.Tensor) and tuple(acc.shape) == (shape[0],), (
        f"{what}: accepted should be a tensor of shape ({shape[0]},), one decision per chain")
    assert acc.dtype == torch.bool, f"{what}: accepted should be a bool tensor, got {acc.dtype}"
    return x_new.detach(), acc


def _states(out, what: str) -> torch.Tensor:
    new = out[0] if isinstance(out, (tuple, list)) and out else out
    assert isinstance(new, torch.Tensor), f"{what}: expected a tensor of new states"
    return new


def _check_detached_and_untouched(fn_call, x: torch.Tensor, what: str) -> None:
    """``fn_call(z, w)`` runs the function from states z on an energy (or score) scaled by w:
    x left as it was, new states detached and not sharing memory with x; then the same from
    states that require grad, with w a parameter: no graph, nothing in x.grad."""
    before = x.clone()
    new = _states(fn_call(x, 1.0), what)
    assert torch.equal(x, before), f"{what}: modified its input x in place"
    expect_no_graph(new, f"{what}: the new states")
    expect_not_aliased(new, x, f"{what}: the new states")
    w = torch.tensor(1.0, dtype=x.dtype, requires_grad=True)
    leaf = x.clone().requires_grad_(True)
    where = f"{what} from states that require grad, on a function with parameters"
    expect_no_graph(_states(fn_call(leaf, w), where), f"{where}: the new states")
    assert leaf.grad is None, (
        f"{where}: a gradient was left in the caller's x.grad: differentiate a detached copy "
        "of x (torch.autograd.grad)")


def _check_generator(fn_call, what: str, x: torch.Tensor) -> None:
    """Same generator state, same result, whatever the global random state; another seed, another
    result; the generator object advances and consecutive calls with it differ. ``fn_call(g)``
    starts from the states x."""
    before = x.clone()
    with torch.random.fork_rng(devices=[]):  # the notebook's random state is left as it was
        torch.manual_seed(1234)
        out = fn_call(_gen(7))
        first = _states(out, what)
        aliased = first.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
        assert torch.equal(x, before) and not aliased, (
            f"{what}: the function modified its input x in place or returned it: every call "
            "must start from the caller's states, unchanged (work on x.detach().clone() or build "
            "new tensors)")
        first = first.detach().clone()
        torch.manual_seed(4321)
        torch.rand(3)
        second = _states(fn_call(_gen(7)), what).detach().clone()
    other = _states(fn_call(_gen(8)), what).detach().clone()
    assert torch.equal(first, second), (
        f"{what}: two calls with generators in the same state gave different results: draw every "
        "random number from the generator argument (torch.randn(..., generator=generator)), never "
        "from the global random state")
    assert not torch.equal(first, other), (
        f"{what}: generators with different seeds gave the same result: is the noise drawn from "
        "the generator argument?")
    expect_generator_advances(fn_call, _gen(9), what)


# ---------------------------------------------------------------- ula_step

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
        _check_generator(lambda g: step_fn(_banana, x32, 0.05, g), "ula_step", x32)


# ---------------------------------------------------------------- MALA and HMC: shared tests

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


def _check_metropolis(step, ref_step, name: str, big: float, small: float,
                      proposal_std: float) -> None:
    """The tests every Metropolis step passes. ``step(energy, x, step_size, generator)``;
    ``proposal_std``: the std of a move at step size ``big`` on a flat energy."""
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
    _check_generator(lambda g: step(_banana, x, big / 4, g), name, x)
    _check_proposal_noise(step, name, big, proposal_std)

    # Invariance: exact samples of a non-Gaussian 1D mixture stay exact after steps with a large
    # step size (where the unadjusted chain is visibly biased).
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

    # A hard wall: states beyond it have infinite energy and must never be accepted.
    wall = lambda z: torch.where(z[:, 0] > 0.3, torch.full_like(z[:, 0], math.inf),  # noqa: E731
                                 z[:, 0] ** 2 / 2)
    z = -torch.rand(4000, 1, generator=_gen(40), dtype=torch.float64)
    for k in range(3):
        z, _ = _as_pair(step(wall, z, big, _gen(41 + k)), f"{name} next to a hard wall", (4000, 1))
    assert (z[:, 0] <= 0.3).all(), (
        f"{name} accepted a proposal of infinite energy (a hard wall): such a proposal has "
        "acceptance probability 0")

    # Small steps: the discretisation error vanishes, nearly every proposal is accepted.
    z = torch.randn(4000, 3, generator=_gen(50), dtype=torch.float64)
    _, acc = _as_pair(step(_gaussian([0.5, 1.0, 2.0]), z, small, _gen(51)),
                      f"{name} with a tiny step size", (4000, 3))
    assert acc.double().mean().item() > 0.99, (
        f"{name}: with a tiny step size almost every proposal should be accepted (is the "
        "proposal's log-density correction computed with the right signs and scale?)")


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


# ---------------------------------------------------------------- tv_distance

def _tv_cases():
    g = _gen(70)
    n = 8
    probs = torch.rand(n, n, generator=g, dtype=torch.float64) ** 3
    probs[0, n - 1] += 2.0  # lopsided: a transposed histogram differs
    probs /= probs.sum()
    box = (-2.0, 2.0)
    h = 4.0 / n
    centres = -2.0 + h * (torch.arange(n, dtype=torch.float64) + 0.5)
    inside = (torch.rand(500, 2, generator=g, dtype=torch.float64) * 3.9 - 1.95)
    skewed = torch.stack([inside[:, 0].abs() * -1, inside[:, 1].abs()], 1)
    outside = torch.cat([inside[:400], torch.tensor([[2.5, 0.0], [0.0, -3.0], [9.0, 9.0]],
                                                    dtype=torch.float64).repeat(33, 1)[:100]])
    exact_counts = (probs * 2000).round()
    cells = torch.repeat_interleave(torch.arange(n * n), exact_counts.reshape(-1).long())
    matched = torch.stack([centres[cells // n], centres[cells % n]], 1)
    matched_probs = exact_counts / exact_counts.sum()
    one_cell = torch.zeros(n, n, dtype=torch.float64)
    one_cell[2, 5] = 1.0
    return [
        (inside, probs, box, "samples spread over the box"),
        (skewed, probs, box, "samples in one quadrant of a lopsided density (axis order)"),
        (outside, probs, box, "some samples outside the box"),
        (matched.float(), matched_probs.float(), box, "float32 samples matching the density"),
        (matched, one_cell, box, "a density on a single cell"),
        (inside[:37] * 0.5 + 1.0, probs, (0.0, 3.0), "another box"),
        (torch.full((10, 2), 7.0, dtype=torch.float64), probs, box, "every sample outside"),
        (torch.cat([points_near_bin_edges(box, n), torch.full((300, 2), 9.0)]),
         torch.full((n, n), 1.0 / n ** 2, dtype=torch.float64), box,
         "samples just below and just above every bin edge, most far outside (bin by floor, not "
         "truncation toward zero: a sample just below the low edge lies outside the box)"),
    ]


def check_tv_distance(tv_fn) -> None:
    """Half the L1 distance between the samples' cell shares and the exact cell probabilities,
    samples outside the box counted as mass the density lacks there: spread, lopsided (axis
    order), partly and wholly outside, just below and above every bin edge, another box,
    float32, identical and disjoint cases."""
    with one_thread():
        for samples, probs, box, kind in _tv_cases():
            want = ref06.tv_distance(samples, probs, box)
            got = tv_fn(samples.clone(), probs.clone(), box)
            try:
                got = float(got)
            except (TypeError, ValueError, RuntimeError):
                raise AssertionError(f"tv_distance ({kind}): expected a number, got "
                                     f"{type(got).__name__}") from None
            assert math.isfinite(got) and abs(got - want) < 1e-6, (
                f"tv_distance ({kind}): differs from the reference (abs error "
                f"{abs(got - want):.2g}); expected 0.5 * (sum over cells of |share of samples - "
                "probability| + share of samples outside the box), cell (i, j) = i-th interval of "
                "the first coordinate, j-th of the second")


# ---------------------------------------------------------------- ais_log_z

def _gradient_transition(energy_b, x):
    """Deterministic: a gradient step on the intermediate energy (positions depend on it)."""
    z = x.detach().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(energy_b(z).sum(), z)
    return (x - 0.07 * grad).detach()


def _exact_gaussian_transition(generator):
    """Exact draws of the intermediate density between N(0, 1) and N(1, 0.7^2) (1D): it is a
    Gaussian; read its precision and mean from the intermediate energy at 0, 1 and -1."""
    def transition(energy_b, x):
        with torch.no_grad():
            probe = energy_b(torch.tensor([[0.0], [1.0], [-1.0]], dtype=x.dtype))
        a = (probe[1] + probe[2] - 2 * probe[0]).item()  # precision
        b = ((probe[1] - probe[2]) / 2).item()            # E(x) = a x^2 / 2 + b x + c
        mean, std = -b / a, 1 / math.sqrt(a)
        return mean + std * torch.randn(x.shape, generator=generator, dtype=x.dtype)
    return transition


def _as_ais(out, n: int, what: str) -> tuple[float, torch.Tensor]:
    assert isinstance(out, (tuple, list)) and len(out) == 2, (
        f"{what}: expected a pair (log Z estimate, log weights)")
    try:
        log_z = float(out[0])
    except (TypeError, ValueError, RuntimeError):
        raise AssertionError(f"{what}: the log Z estimate should be a number or a 0-d "
                             "tensor") from None
    log_w = expect_tensor(out[1], f"{what}: the log weights", (n,)).detach()
    return log_z, log_w


def check_ais_log_z(ais_fn) -> None:
    """AIS along (1 - b) E_0 + b E: weights accumulated at the state before each move, moves at
    the new temperature, in increasing order; log-mean-exp of the weights; exact when base =
    target; betas as a list or a tensor; an unbiased Z with exact moves between Gaussians."""
    with one_thread():
        base = lambda z: _rowsum(z ** 2) / 2  # noqa: E731  N(0, I), log Z_0 = d/2 log(2 pi)
        target = _banana
        log_z0 = math.log(2 * math.pi)
        x = torch.randn(64, 2, generator=_gen(80), dtype=torch.float64)
        for betas, kind in (([0.0, 1.0], "two temperatures (importance sampling)"),
                            ([0.0, 0.1, 0.3, 0.6, 1.0], "a list of five temperatures"),
                            (torch.linspace(0, 1, 12, dtype=torch.float64) ** 2,
                             "a tensor of twelve temperatures")):
            want_z, want_w = ref06.ais_log_z(target, base, log_z0, x, betas, _gradient_transition)
            got_z, got_w = _as_ais(ais_fn(target, base, log_z0, x.clone(), betas,
                                          _gradient_transition), 64, f"ais_log_z with {kind}")
            expect_close(got_w, want_w, f"ais_log_z log weights with {kind} and a "
                         "deterministic transition", atol=1e-7)
            assert abs(got_z - float(want_z)) < 1e-7, (
                f"ais_log_z estimate with {kind}: differs from the reference; expected base_log_z "
                "+ log of the mean of exp(log weights) (a log-mean-exp, computed stably)")
        got_z, got_w = _as_ais(ais_fn(base, base, log_z0, x.clone(), [0.0, 0.5, 1.0],
                                      _gradient_transition), 64, "ais_log_z with base = target")
        assert got_w.abs().max().item() < 1e-9 and abs(got_z - log_z0) < 1e-9, (
            "ais_log_z with base = target: every weight should be 1 and the estimate exact")
        far = lambda z: base(z) + 800.0  # noqa: E731  Z = exp(-800) Z_0: stable log-mean-exp?
        got_z, _ = _as_ais(ais_fn(far, base, log_z0, x.clone(), [0.0, 1.0], _gradient_transition),
                           64, "ais_log_z with a target 800 nats below the base")
        assert abs(got_z - (log_z0 - 800.0)) < 1e-6, (
            "ais_log_z with log weights near -800: compute the log-mean-exp stably (logsumexp)")
        # Unbiased Z (not log Z): exact moves between N(0, 1) and N(1, 0.7^2) unnormalised.
        gauss = lambda z: _rowsum((z - 1.0) ** 2) / (2 * 0.49)  # noqa: E731
        true_log_z = 0.5 * math.log(2 * math.pi * 0.49)
        base1 = lambda z: _rowsum(z ** 2) / 2  # noqa: E731
        estimates = []
        for seed in range(4):
            x1 = torch.randn(2000, 1, generator=_gen(90 + seed), dtype=torch.float64)
            z_hat, _ = _as_ais(ais_fn(gauss, base1, 0.5 * math.log(2 * math.pi), x1,
                                      [0.0, 0.25, 0.5, 0.75, 1.0],
                                      _exact_gaussian_transition(_gen(100 + seed))), 2000,
                               "ais_log_z between two 1D Gaussians")
            estimates.append(z_hat)
        err = abs(math.log(sum(math.exp(e) for e in estimates) / 4) - true_log_z)
        assert err < 0.02, (
            "ais_log_z between two 1D Gaussians with exact transitions: the estimate of Z should "
            "be unbiased (is each weight increment (b_prev - b)(E - E_0) at the state before the "
            "move?)")


# ---------------------------------------------------------------- annealed_langevin

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
        _check_generator(lambda g: langevin_fn(lambda z, s: -z, xi, [0.5, 0.2], 2, 0.01, g),
                         "annealed_langevin", xi)


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
