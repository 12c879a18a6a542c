"""Hidden checks of assignment 01_theory. Each grades one function by its properties.

What every check holds to (see ``docs/design.md``, Hidden checks):

* properties, not one reference output: analytic values, invariances, deterministic parts of a
  random result (two chains with the same generator seed differ only by the drift), statistics
  with tolerances many standard errors wide. A verdict never depends on the order in which a
  correct answer draws its random numbers, nor on torch's global random state (each check runs
  in a forked RNG state and seeds what it needs itself);
* the inputs students' code breaks on: a batch of one, non-round sizes and boxes, float64,
  energies around +-500, points far from every mode, samples outside the box, leftover ``.grad``;
* where gradients must (and must not) flow;
* isolation: every other graded function the student's code reaches through its notebook globals
  is the reference's while the check runs, and the energies are the package's, not the student's.

Messages name the property and the kind of input, never a hidden case's numbers.
"""

from __future__ import annotations

import contextlib
import math

import torch

from ebm_course import toy, toy_train
from ebm_course.instructor.assignments.theory import reference as ref01
from ebm_course.instructor.grading.common import (
    _where,
    expect_generator_advances,
    expect_tensor,
    guard_checks,
    points_near_bin_edges,
)
from ebm_course.instructor.grading.limits import is_out_of_memory

_GRADED = ("gmm_energy", "grid_log_partition", "cd_gradient", "ula_chain", "histogram_tv")


@contextlib.contextmanager
def _isolated(impl, own: str):
    """While a check runs: the other graded functions in ``impl``'s globals (the notebook's
    namespace) are the reference's, and torch's global RNG state is restored afterwards."""
    namespace = getattr(impl, "__globals__", None)
    saved = {}
    if isinstance(namespace, dict) and namespace is not vars(ref01):
        for name in _GRADED:
            if name != own and name in namespace:
                saved[name] = namespace[name]
                namespace[name] = getattr(ref01, name)
    try:
        with torch.random.fork_rng(devices=[]):
            yield
    finally:
        if saved:
            namespace.update(saved)


def _sym(shape, symbols: dict) -> str:
    """A shape with the hidden sizes written as symbols (B, d, K, ...)."""
    parts = [symbols.get(n, str(n) if n <= 3 else "n") for n in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def _tensor(value, what: str, shape=None, symbols: dict | None = None,
            dtype: torch.dtype | None = None) -> torch.Tensor:
    """A finite tensor of the given shape and dtype (messages without hidden sizes)."""
    value = expect_tensor(value, what)
    if shape is not None and tuple(value.shape) != tuple(shape):
        symbols = symbols or {}
        raise AssertionError(f"{what}: expected shape {_sym(shape, symbols)}, got "
                             f"{_sym(tuple(value.shape), symbols)}")
    if dtype is not None:
        assert value.dtype == dtype, (
            f"{what}: expected dtype {dtype} (the dtype of the inputs), got {value.dtype}")
    return value


def _close(got, want: torch.Tensor, what: str, atol: float, rtol: float = 0.0,
           symbols: dict | None = None) -> None:
    """``got`` is a finite tensor shaped like ``want``, of its dtype, and close to it."""
    got = _tensor(got, what, want.shape, symbols, want.dtype)
    err = (got.detach().double() - want.detach().double()).abs()
    bad = err > atol + rtol * want.detach().double().abs()
    if bad.any():
        raise AssertionError(f"{what}: values differ from the expected ones (max abs error "
                             f"{err.max().item():.3g})")


def _mixture(k: int, d: int, g: torch.Generator, dtype=torch.float32):
    means = torch.randn(k, d, generator=g) * 1.5
    stds = 0.3 + 0.5 * torch.rand(k, generator=g)
    weights = torch.softmax(torch.randn(k, generator=g), 0)
    return means.to(dtype), stds.to(dtype), weights.to(dtype)


# ------------------------------------------------------------------------------- gmm_energy

def check_gmm_energy(energy_fn) -> None:
    """E = -log p of a Gaussian mixture: values for several K and d, stable far from every
    component, a batch of one, float64 inputs, differentiable in x, inputs left unchanged."""
    with _isolated(energy_fn, "gmm_energy"):
        g = torch.Generator().manual_seed(2024)
        for k, d, b in [(3, 2, 37), (1, 1, 23), (5, 3, 41), (7, 5, 19)]:
            means, stds, weights = _mixture(k, d, g)
            x = torch.randn(b, d, generator=g) * 2 + means[0]
            x[:3] = 45.0 * torch.sign(torch.randn(3, d, generator=g))  # far from every mean
            x[3] = -1e3  # very far, very negative coordinates
            kind = (f"a mixture of {'one component' if k == 1 else 'several components'} in "
                    f"{'1D' if d == 1 else 'several dimensions'}")
            syms = {b: "B", d: "d", k: "K"} if len({b, d, k}) == 3 else {b: "B"}
            inputs = [t.clone() for t in (x, means, stds, weights)]
            got = energy_fn(x, means, stds, weights)
            for t, t0 in zip((x, means, stds, weights), inputs):
                assert torch.equal(t, t0), "gmm_energy must not modify its inputs in place"
            want = ref01.gmm_energy(x, means, stds, weights)
            got = _tensor(got, f"gmm_energy for {kind}, on a batch mixing points near the "
                          f"components and points far from all of them (there every density "
                          f"underflows: take a per-point logsumexp over the components)",
                          want.shape, syms, want.dtype)
            _close(got[4:], want[4:], f"gmm_energy for {kind}, near the components", 1e-3, 1e-4)
            _close(got[:4], want[:4], f"gmm_energy for {kind}, far from every component "
                   f"(use torch.logsumexp per point over the components)", 1e-3, 1e-4)
            # a batch of one: shape (1,), the same energy as in the batch
            for i in (0, 5):
                one = energy_fn(x[i:i + 1], means, stds, weights)
                _close(one, want[i:i + 1], f"gmm_energy for {kind} on a batch of one (expected "
                       f"shape (1,): no squeeze)", 1e-3, 1e-4)

        # float64 in, float64 out, at float64 precision
        means, stds, weights = (t.double() for t in _mixture(4, 3, g))
        x = (torch.randn(29, 3, generator=g) * 2).double()
        x[0] = 60.0
        _close(energy_fn(x, means, stds, weights), ref01.gmm_energy(x, means, stds, weights),
               "gmm_energy with float64 inputs (keep the inputs' dtype: no float32 tables or "
               "constants)", 1e-6, 1e-7, {29: "B"})

        # differentiable in x (Langevin in section 4 runs on it), one point at a time
        means, stds, weights = _mixture(3, 2, g)
        x = torch.randn(31, 2, generator=g) * 2
        x[0] = 25.0
        xg = x.clone().requires_grad_(True)
        out = energy_fn(xg, means, stds, weights)
        assert isinstance(out, torch.Tensor) and out.requires_grad, (
            "gmm_energy must be differentiable in x (ula_chain needs dE/dx): no torch.no_grad(), "
            ".detach(), .item() or numpy inside")
        (grad,) = torch.autograd.grad(out.sum(), xg, allow_unused=True)
        assert grad is not None, "gmm_energy must be differentiable in x: its output ignores x"
        xr = x.clone().requires_grad_(True)
        (want,) = torch.autograd.grad(ref01.gmm_energy(xr, means, stds, weights).sum(), xr)
        _close(grad, want, "the gradient dE/dx of gmm_energy (each energy depends on its own "
               "point only)", 1e-3, 1e-4, {31: "B", 2: "d"})


# ------------------------------------------------------------------------ grid_log_partition

def _gaussian(mean, std, dtype=torch.float32):
    mean_t = torch.tensor(mean, dtype=dtype)
    return lambda x: (x.to(dtype) - mean_t).pow(2).sum(1) / (2 * std ** 2)


def _scalar(value, what: str) -> torch.Tensor:
    value = expect_tensor(value, what)
    assert value.shape == (), (
        f"{what}: log Z should be a scalar tensor (shape ()), got a tensor with "
        f"{value.dim()} dimension(s)")
    assert value.is_floating_point(), f"{what}: expected a floating-point tensor"
    return value


def check_grid_log_partition(log_partition_fn) -> None:
    """log Z by the midpoint rule: Gaussians (analytic) on asymmetric boxes and non-round grids
    in 1D and 2D, energies around +-700 and spanning a wide range, a float64 energy, and the
    gradient of log Z with respect to the energy's parameters."""
    with _isolated(log_partition_fn, "grid_log_partition"):
        # analytic Gaussians: asymmetric boxes, non-round numbers of cells
        for dim, mean, std, box, n_grid in [(1, [0.4], 0.7, (-5.3, 6.1), 37),
                                            (2, [0.3, -0.6], 0.55, (-3.7, 4.4), 53),
                                            (2, [1.1, 0.2], 1.3, (-8.2, 9.5), 61)]:
            what = (f"log Z of a {dim}D Gaussian on an asymmetric box with a non-round number "
                    f"of cells")
            got = _scalar(log_partition_fn(_gaussian(mean, std), box, n_grid, dim), what)
            exact = 0.5 * dim * math.log(2 * math.pi * std ** 2)
            err = abs(got.item() - exact)
            assert err < 2e-3, (
                f"{what}: differs from d/2 log(2 pi std^2) by {err:.2g}. Evaluate E at the cell "
                f"centres, low + (i + 1/2) (high - low) / n_grid, and add dim * log of the cell "
                f"side (high - low) / n_grid")

        # a narrow Gaussian: energies spanning hundreds of nats across the box
        got = _scalar(log_partition_fn(_gaussian([0.2, -0.1], 0.2), (-6.0, 6.0), 97, 2),
                      "log Z of a narrow Gaussian (energies spanning a wide range)")
        err = abs(got.item() - math.log(2 * math.pi * 0.2 ** 2))
        assert err < 2e-3, (
            f"log Z of a narrow Gaussian, whose energies span hundreds of nats over the box: off "
            f"by {err:.2g}. exp(E_max - E) overflows: use torch.logsumexp over -E")

        # a mixture plus constants: log Z(E + c) = log Z(E) - c, with exp(-E) under/overflowing
        g = torch.Generator().manual_seed(7)
        means, stds, weights = _mixture(4, 2, g)
        box = (-6.5, 5.5)
        base = lambda x: ref01.gmm_energy(x, means, stds, weights)  # noqa: E731
        want = ref01.grid_log_partition(base, box, 71, 2)
        for shift, words in [(0.0, "a Gaussian mixture"),
                             (700.0, "energies around +700 (exp(-E) underflows)"),
                             (-700.0, "energies around -700 (exp(-E) overflows)")]:
            energy = (lambda s: lambda x: base(x) + s)(shift)
            what = f"log Z of {words}"
            got = _scalar(log_partition_fn(energy, box, 71, 2), what)
            err = abs(got.item() - (want.item() - shift))
            assert err < 3e-3, (f"{what}: off by {err:.2g}; log Z(E + c) must be log Z(E) - c. "
                                f"Work in logs: torch.logsumexp(-E) + dim * log(cell side)")

        # very coarse grids: the midpoint rule itself, against the reference
        for dim, n_grid in [(1, 1), (2, 3)]:
            energy = _gaussian([0.3] * dim, 1.1)
            what = f"log Z on a very coarse {dim}D grid (few cells per axis)"
            got = _scalar(log_partition_fn(energy, (-2.2, 3.1), n_grid, dim), what)
            want = ref01.grid_log_partition(energy, (-2.2, 3.1), n_grid, dim)
            err = abs(got.item() - want.item())
            assert err < 1e-4, (f"{what}: off by {err:.2g}; one value per cell, at its centre, "
                                f"times the cell volume")

        # differentiable in the energy's parameters: d log Z / d theta = -E_p[dE/dtheta]
        mu = torch.tensor([0.3, -0.4], requires_grad=True)
        log_s = torch.tensor(-0.2, requires_grad=True)
        tilt = torch.tensor(0.6, requires_grad=True)
        params = [mu, log_s, tilt]

        def tilted(x):
            return ((x - mu).pow(2).sum(1) / (2 * torch.exp(2 * log_s))
                    + tilt * torch.sin(2 * x[:, 0]))

        what = "log Z of an energy with parameters"
        got = _scalar(log_partition_fn(tilted, (-5.1, 4.7), 89, 2), what)
        assert got.requires_grad, (
            f"{what}: log Z must stay differentiable in the parameters (section 3 differentiates "
            f"through it): no torch.no_grad(), .item(), .detach() or torch.tensor(...) around it")
        grads = torch.autograd.grad(got, params, allow_unused=True)
        want = torch.autograd.grad(ref01.grid_log_partition(tilted, (-5.1, 4.7), 89, 2), params)
        for name, a, b in zip(("the means", "the log std", "a tilt"), grads, want):
            assert a is not None, f"{what}: no gradient reaches {name} of the energy"
            _close(a, b, f"the gradient of log Z with respect to {name} of the energy "
                   f"(= -E_p[dE/dtheta])", 1e-4, 1e-3)

        # a float64 energy: log Z in float64, at float64 precision
        energy = _gaussian([0.1, 0.7], 0.9, dtype=torch.float64)
        what = "log Z of a float64 energy"
        got = _scalar(log_partition_fn(energy, (-5.9, 6.3), 67, 2), what)
        assert got.dtype == torch.float64, (
            f"{what}: expected dtype torch.float64 (the energy's), got {got.dtype}")
        err = abs(got.item() - ref01.grid_log_partition(energy, (-5.9, 6.3), 67, 2).item())
        assert err < 1e-6, f"{what}: off by {err:.2g} (float32 somewhere?)"


# ------------------------------------------------------------------------------- cd_gradient

def _phi(x):
    return torch.stack([x[:, 0], x[:, 1], x[:, 0] ** 2, x[:, 1] ** 2, x[:, 0] * x[:, 1],
                        x[:, 0] ** 4 + x[:, 1] ** 4], 1)


def _grads(got, params, what: str) -> list:
    assert isinstance(got, (list, tuple)), (
        f"{what}: cd_gradient should return a list of tensors, got {type(got).__name__}")
    got = list(got)
    assert len(got) == len(params), (
        f"{what}: expected one gradient per parameter, got {len(got)} for {len(params)} "
        f"parameter(s)")
    return got


def _call_sizes(what: str, fn, *args):
    """Call the student's function on batches of different sizes; an exception raised there is
    reported without its text (which would print the hidden batch sizes)."""
    try:
        return fn(*args)
    except Exception as err:  # noqa: BLE001  (the student's code)
        if is_out_of_memory(err):
            raise
        message = (f"{what}: your code raised {type(err).__name__}{_where(err)}. x_data and "
                   f"x_model may hold different numbers of points: average each phase over its "
                   f"own batch")
    raise AssertionError(message)


def check_cd_gradient(cd_gradient_fn) -> None:
    """The contrastive-divergence gradient mean dE/dtheta(data) - mean dE/dtheta(samples): an
    exponential family (exact) with different and single-point batch sizes, samples that still
    carry a graph to the parameters, float64, and an MLP whose parameters hold leftover .grad."""
    with _isolated(cd_gradient_fn, "cd_gradient"):
        g = torch.Generator().manual_seed(5)
        theta = torch.tensor([0.3, -0.2, 0.5, 0.4, 0.1, 0.05], requires_grad=True)
        energy = lambda x: _phi(x) @ theta  # noqa: E731
        for n_data, n_model, words in [(17, 29, "more samples than data points"),
                                       (31, 11, "fewer samples than data points"),
                                       (1, 23, "a single data point"),
                                       (19, 1, "a single model sample")]:
            x_data = torch.randn(n_data, 2, generator=g)
            x_model = torch.randn(n_model, 2, generator=g) * 1.4 + 0.3
            inputs = (x_data.clone(), x_model.clone())
            theta.grad = None
            what = f"cd_gradient for E = theta . phi(x) with {words}"
            got = _grads(_call_sizes(what, cd_gradient_fn, energy, [theta], x_data, x_model),
                         [theta], what)
            assert torch.equal(x_data, inputs[0]) and torch.equal(x_model, inputs[1]), (
                "cd_gradient must not modify x_data or x_model")
            want = _phi(x_data).mean(0) - _phi(x_model).mean(0)
            _close(got[0], want, f"{what} (expected mean phi(x_data) - mean phi(x_model): "
                   f"both phases, each averaged over its own batch)", 1e-5, 1e-5, {6: "P"})

        # samples still attached to the parameters (a sampler that did not detach them)
        x_data = torch.randn(21, 2, generator=g)
        x_model = torch.randn(27, 2, generator=g) + 0.5 * theta[:2] - 0.2 * theta[4]
        assert x_model.requires_grad
        theta.grad = None
        what = "cd_gradient when x_model still carries a graph to the parameters"
        got = _grads(cd_gradient_fn(energy, [theta], x_data, x_model), [theta], what)
        want = _phi(x_data).mean(0) - _phi(x_model.detach()).mean(0)
        _close(got[0], want, f"{what} (the samples are constants: no gradient may flow through "
               f"them; detach them)", 1e-5, 1e-5, {6: "P"})

        # an MLP whose parameters already hold .grad (as in a training loop); two calls
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(6)
            net = toy_train.MLPEnergy(2, 16, 2)
        params = list(net.parameters())
        leftover = 0.5
        for p in params:
            p.grad = torch.full_like(p, leftover)
        mlp_energy = lambda x: -net(x)  # noqa: E731
        for call in ("a first", "a second"):
            x_data = torch.randn(25, 2, generator=g)
            x_model = torch.randn(35, 2, generator=g) * 1.5
            what = (f"cd_gradient of an MLP energy whose parameters hold leftover .grad, "
                    f"{call} call")
            got = _grads(cd_gradient_fn(mlp_energy, params, x_data, x_model), params, what)
            want = ref01.cd_gradient(mlp_energy, params, x_data, x_model)
            for i, (a, b) in enumerate(zip(got, want)):
                a = _tensor(a, f"{what}, parameter {i}", b.shape, {}, b.dtype)
                if torch.allclose(a - b, torch.full_like(b, leftover), atol=1e-3):
                    raise AssertionError(
                        f"{what}, parameter {i}: the result includes the gradient left in .grad "
                        f"(.backward() adds to .grad: use torch.autograd.grad)")
                _close(a, b, f"{what}, parameter {i}", 1e-5, 1e-4)

        # float64 parameters and data
        theta64 = theta.detach().double().requires_grad_(True)
        x_data = torch.randn(13, 2, generator=g).double()
        x_model = torch.randn(9, 2, generator=g).double() * 1.3
        what = "cd_gradient with float64 parameters and data"
        got = _grads(cd_gradient_fn(lambda x: _phi(x) @ theta64, [theta64], x_data, x_model),
                     [theta64], what)
        want = _phi(x_data).mean(0) - _phi(x_model).mean(0)
        _close(got[0], want, f"{what} (keep the parameters' dtype)", 1e-6, 1e-6, {6: "P"})


# --------------------------------------------------------------------------------- ula_chain

def _flat(x):
    return 0.0 * x.sum(1)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def check_ula_chain(chain_fn) -> None:
    """Unadjusted Langevin: per-element N(0, 2 step_size) noise, independent across chains,
    coordinates and steps; the generator (reproducible, actually used, global RNG untouched);
    the exact drift -step_size dE/dx (also on a batch of one and in float64); no gradient left
    in the energy's parameters or the input; Gaussian stationary moments."""
    with _isolated(chain_fn, "ula_chain"):
        eps = 0.037
        sigma = math.sqrt(2 * eps)
        n_chains, d = 4000, 3
        x0 = torch.zeros(n_chains, d)
        syms = {n_chains: "B", d: "d"}

        # one step on a flat energy, under no_grad: the noise, element by element
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

        # the generator: reproducible, actually used, the global generator left alone
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

        # the drift, exactly: same generator seed on a non-linear and on a flat energy
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

        # float64 chains stay float64, with the same exact drift
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

        # gradients: only dE/dx is taken; nothing reaches the energy's parameters or the input
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

        # the chain as a whole: Gaussian stationary moments
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


# ------------------------------------------------------------------------------ histogram_tv

def _cell_samples(counts: torch.Tensor, box, g: torch.Generator) -> torch.Tensor:
    """counts[i, j] points inside cell (i, j) (row-major, like toy.grid_points), each well away
    from the cell's edges, in shuffled order."""
    n = counts.shape[0]
    low, high = box
    h = (high - low) / n
    ij = torch.stack(torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij"), -1)
    ij = ij.reshape(-1, 2).repeat_interleave(counts.reshape(-1), 0).double()
    u = 0.15 + 0.7 * torch.rand(ij.shape, generator=g, dtype=torch.float64)
    pts = low + (ij + u) * h
    return pts[torch.randperm(len(pts), generator=g)].float()


def _tv_exact(counts: torch.Tensor, energy_fn, box) -> float:
    centres, _ = toy.grid_points(box, counts.shape[0])
    with torch.no_grad():
        p = torch.softmax(-energy_fn(centres).double(), 0)
    q = counts.reshape(-1).double()
    return 0.5 * (q / q.sum() - p).abs().sum().item()


def _tv_value(got, what: str) -> float:
    ok = isinstance(got, (float, int)) or (torch.is_tensor(got) and got.numel() == 1)
    assert ok, f"{what}: histogram_tv should return one number (a float), got {type(got).__name__}"
    value = float(got)
    assert math.isfinite(value), f"{what}: histogram_tv returned NaN or inf"
    return value


def check_histogram_tv(tv_fn) -> None:
    """Total variation between the histogram of samples and the exact cell masses: row-major
    orientation on an asymmetric box with a non-round number of bins, samples outside the box
    (just outside an edge and far away) dropped, samples just below and above every bin edge,
    energies around +-500, a single sample, float64 samples, a fine grid."""
    with _isolated(tv_fn, "histogram_tv"):
        g = torch.Generator().manual_seed(12)
        means = torch.tensor([[-0.8, 1.9], [2.1, -0.4], [0.6, 0.3]])
        mix = lambda x: ref01.gmm_energy(x, means, torch.tensor([0.7, 0.9, 0.5]),  # noqa: E731
                                         torch.tensor([0.5, 0.2, 0.3]))
        box, n = (-2.5, 4.0), 7
        centres, _ = toy.grid_points(box, n)
        with torch.no_grad():  # close to the exact masses (a small TV), plus some noise
            counts = (300 * torch.softmax(-mix(centres), 0)).round().long().reshape(n, n)
        counts += torch.randint(0, 3, (n, n), generator=g)
        counts[0, n - 1], counts[n - 1, 0] = 9, 0  # not symmetric under swapping the axes
        samples = _cell_samples(counts, box, g)

        def expect(samples, energy_fn, box, counts, what, tol=1e-4):
            got = _tv_value(tv_fn(samples, energy_fn, box, counts.shape[0]), what)
            want = _tv_exact(counts, energy_fn, box)
            assert abs(got - want) < tol, (
                f"{what}: TV off by {abs(got - want):.2g}")

        expect(samples, mix, box, counts,
               "histogram_tv on an asymmetric box with a non-round number of bins (bin x[:, 0] "
               "into the row and x[:, 1] into the column: cell i * n_bins + j, like "
               "toy.grid_points; exact masses softmax(-E) at the cell centres)")

        # samples outside the box are dropped: far away, just outside each edge, one axis only
        h = (box[1] - box[0]) / n
        outside = torch.tensor([[box[0] - 0.3 * h, 0.5], [0.5, box[0] - 0.3 * h],
                                [box[1] + 0.3 * h, 0.5], [0.5, box[1] + 0.3 * h],
                                [-1e6, 0.2], [0.1, 1e6], [-1e6, -1e6], [1e6, 1e6],
                                [box[0] - 2.6 * h, box[1] + 1.4 * h]])
        mixed = torch.cat([samples, outside])[torch.randperm(len(samples) + len(outside),
                                                             generator=g)]
        expect(mixed, mix, box, counts,
               "histogram_tv with samples outside the box, some just outside an edge and some "
               "far away (drop them: no clamping into the edge cells, floor rather than "
               "truncation; normalise by the samples inside)")

        # samples just below and just above every bin edge (a cell's edge belongs to the cell
        # above it; the low edge's lower side is outside)
        edges = points_near_bin_edges(box, n)
        cells = torch.floor((edges - box[0]) / h).long()
        inside = ((cells >= 0) & (cells < n)).all(1)
        near = counts + torch.bincount(cells[inside, 0] * n + cells[inside, 1],
                                       minlength=n * n).reshape(n, n)
        expect(torch.cat([samples, edges.float()]), mix, box, near,
               "histogram_tv with samples just below and just above every bin edge (cell = "
               "floor((x - low) / cell width): no truncation toward zero, no rounding margin)")

        # energies around +-500: the exact masses must not under/overflow
        for shift, words in [(500.0, "+500"), (-500.0, "-500")]:
            shifted = (lambda s: lambda x: mix(x) + s)(shift)
            expect(samples, shifted, box, counts,
                   f"histogram_tv with energies around {words} (normalise exp(-E) stably: "
                   f"torch.softmax(-E))")

        # a single sample
        one = torch.zeros(n, n, dtype=torch.long)
        one[4, 2] = 1
        expect(_cell_samples(one, box, g), mix, box, one, "histogram_tv with a single sample")

        # float64 samples
        expect(samples.double(), mix, box, counts, "histogram_tv with float64 samples")

        # a fine grid over a symmetric box, many samples from a multinomial
        n = 30
        centres, _ = toy.grid_points((-6.0, 6.0), n)
        p = torch.softmax(-mix(centres), 0)
        cells = torch.multinomial(p, 6000, replacement=True, generator=g)
        counts = torch.bincount(cells, minlength=n * n).reshape(n, n)
        expect(_cell_samples(counts, (-6.0, 6.0), g), mix, (-6.0, 6.0), counts,
               "histogram_tv on a fine grid with many samples")


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
