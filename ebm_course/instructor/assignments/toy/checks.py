"""Hidden checks of assignment 02_toy_densities: properties of each graded part.

Each check grades one function on energies it builds itself (analytic ones, or a small MLP of
``toy_train``), never through another graded part of the notebook, so one wrong part costs points
in its own exercise only. Deterministic quantities (a noise-free SGLD step, a loss with the noise
given, the grid likelihood) are compared with the reference; random ones (SGLD noise, the noise
``dsm_loss`` draws itself) by statistics with margins of at least six standard errors, so that the
verdict does not depend on the global seed or on the order in which a correct implementation draws
its random numbers. Failure messages name the property and the kind of input, never a case's
values.
"""

from __future__ import annotations

import math

import torch

from ebm_course import toy, toy_train
from ebm_course.instructor.assignments.toy import reference as ref02
from ebm_course.instructor.grading.common import (
    expect_close,
    expect_tensor,
    guard_checks,
)

# ---------------------------------------------------------------- helpers

def _net(seed: int, hidden: int = 16, dtype: torch.dtype = torch.float32) -> toy_train.MLPEnergy:
    """A small MLP, initialised from ``seed`` without touching the caller's global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = toy_train.MLPEnergy(2, hidden, 2)
    return net.to(dtype)


def _quadratic(a: torch.Tensor, scale=None):
    """E(x) = 0.5 * scale * x^T A x for any dtype of x (A symmetric): grad A x, Laplacian tr A."""
    def energy_fn(x):
        e = 0.5 * ((x @ a.to(x)) * x).sum(1)
        return e if scale is None else scale * e
    return energy_fn


_A2 = torch.tensor([[1.5, 0.6], [0.6, 0.8]])  # non-diagonal: the coordinates are coupled
_A3 = torch.tensor([[2.0, 0.5, 0.3], [0.5, 1.0, -0.4], [0.3, -0.4, 1.5]])


def _grads(loss, tensors, what: str) -> list:
    """d loss / d tensors (None where a tensor gets no gradient)."""
    assert isinstance(loss, torch.Tensor) and loss.requires_grad, (
        f"{what}: the loss must carry a gradient to the energy's parameters (did you detach, use "
        f"torch.no_grad(), call .item(), or forget create_graph=True when differentiating with "
        f"respect to x?)")
    return list(torch.autograd.grad(loss, list(tensors), allow_unused=True))


def _compare_loss(got, want, net: torch.nn.Module, what: str, atol: float = 1e-4,
                  extra: torch.Tensor | None = None, extra_what: str = "") -> None:
    """Value and parameter gradients of ``got`` equal the reference's ``want``; ``extra`` (an
    input the loss must not differentiate through) gets no gradient."""
    expect_close(got, want.detach(), what, atol=atol, rtol=1e-4)
    params = list(net.parameters())
    got_g = _grads(got, params + ([extra] if extra is not None else []), what)
    want_g = _grads(want, params, what)
    if extra is not None:
        g = got_g.pop()
        assert g is None or not g.abs().max().item() > 0, f"{what}: {extra_what}"
    for i, (a, b) in enumerate(zip(got_g, want_g)):
        # Score-based losses never see the output bias (it does not change dE/dx): zero, not None.
        a = torch.zeros_like(params[i]) if a is None else a
        b = torch.zeros_like(params[i]) if b is None else b
        expect_close(a, b, f"{what}: gradient with respect to the energy's parameter {i}",
                     atol=atol, rtol=1e-3)


def _no_stray_grads(net: torch.nn.Module, what: str) -> None:
    assert all(p.grad is None for p in net.parameters()), (
        f"{what} put gradients into the .grad of the energy's parameters: differentiate with "
        f"torch.autograd.grad, not .backward() (the caller's backward would add them to its own)")


def _close_scalar(got: float, want: float, rtol: float, what: str) -> None:
    err = abs(got - want)
    assert math.isfinite(got) and err <= rtol * abs(want), (
        f"{what} (relative error {err / abs(want):.3g}, tolerance {rtol:g})")


# ---------------------------------------------------------------- Exercise 1

def check_grid_log_likelihood(ll_fn) -> None:
    """Mean test log-likelihood -mean E(x_test) - log Z on the grid: a Gaussian energy (analytic),
    MLP energies on non-round, coarse and asymmetric grids, energies near +-500, a batch of one,
    float64 test points."""
    g = torch.Generator().manual_seed(21)
    mean, std = torch.tensor([0.5, -0.3]), 0.8
    gauss = toy.gaussian_energy(mean, std)
    x_test = mean + std * torch.randn(500, 2, generator=g)
    exact = (-(x_test - mean).pow(2).sum(1) / (2 * std ** 2)
             - math.log(2 * math.pi * std ** 2)).mean().item()
    got = expect_tensor(ll_fn(gauss, x_test, (-5.0, 5.0), 160),
                        "grid_log_likelihood of a Gaussian energy", shape=())
    assert abs(got.item() - exact) < 2e-3, (
        f"grid_log_likelihood of an unnormalised Gaussian energy should equal the Gaussian's mean "
        f"log-density (error {abs(got.item() - exact):.3g}): -mean E(x_test) - log Z with "
        f"log Z = logsumexp(-E(centres)) + log(cell area)")

    got = expect_tensor(ll_fn(gauss, x_test.double(), (-5.0, 5.0), 160),
                        "grid_log_likelihood with float64 test points", shape=())
    assert got.dtype == torch.float64, (
        f"grid_log_likelihood with float64 test points: expected a float64 result (the dtype of "
        f"x_test), got {got.dtype}; keep the result a tensor (no .item() and torch.tensor)")
    assert abs(got.item() - exact) < 2e-3, (
        f"grid_log_likelihood with float64 test points: not the Gaussian's mean log-density "
        f"(error {abs(got.item() - exact):.3g})")

    cases = [  # seed, box, n_grid, energy shift, narrow well, n_test, no_grad, what
        (3, (-4.0, 4.0), 128, 0.0, False, 300, False, "of an MLP energy"),
        (4, (-3.3, 4.1), 37, 0.0, False, 1, True, "on a batch of one, on a non-round grid over "
                                                     "an asymmetric box"),
        (5, (-2.5, 3.5), 9, 0.0, True, 97, True, "of a narrow energy well on a coarse grid (use "
                                                    "n_grid and box as given)"),
        (6, (-4.0, 4.0), 64, 500.0, False, 50, True, "with energies near +500 (exp(-E) "
                                                       "underflows: use torch.logsumexp)"),
        (6, (-4.0, 4.0), 64, -500.0, False, 50, False, "with energies near -500 (exp(-E) "
                                                         "overflows: use torch.logsumexp)"),
    ]
    for seed, box, n_grid, shift, narrow, n_test, no_grad, what in cases:
        net = _net(seed)

        def energy_fn(x, net=net, shift=shift, narrow=narrow):
            e = -net(x) * 4 + shift
            return e + (x - 0.3).pow(2).sum(1) / (2 * 0.3 ** 2) if narrow else e

        x = torch.rand(n_test, 2, generator=g) * 6 - 3
        with torch.no_grad():
            want = ref02.grid_log_likelihood(energy_fn, x, box, n_grid)
        with torch.set_grad_enabled(not no_grad):
            got = ll_fn(energy_fn, x, box, n_grid)
        expect_close(got, want, f"grid_log_likelihood {what}", atol=1e-3, rtol=0)


# ---------------------------------------------------------------- Exercise 2

def check_cd_loss(loss_fn) -> None:
    """Contrastive divergence with the L2 penalty: value and parameter gradients of both terms and
    of the penalty, no gradient into the model samples, unequal batch sizes, batches of one,
    float64 inputs."""
    g = torch.Generator().manual_seed(31)
    cases = [  # n_data, n_model, alpha, dtype, what
        (40, 60, 0.0, torch.float32, "without the penalty (alpha=0)"),
        (40, 60, 0.3, torch.float32, "with the L2 penalty, more model samples than data"),
        (1, 1, 0.5, torch.float32, "on a batch of one (one data point, one sample)"),
        (9, 1, 0.2, torch.float32, "with a single model sample"),
        (25, 13, 0.3, torch.float64, "with float64 inputs"),
    ]
    for n_data, n_model, alpha, dtype, what in cases:
        net = _net(30, dtype=dtype)
        # energies that differ widely between points: the regulariser's form (mean of the
        # squares, not the square of the mean) shows in its value and gradient
        energy_fn = lambda x, net=net: 1.0 - 3 * net(x) + x.pow(2).sum(1)  # noqa: E731
        x_data = torch.randn(n_data, 2, generator=g).to(dtype)
        leaf = (torch.randn(n_model, 2, generator=g) * 2).to(dtype).requires_grad_(True)
        x_model = leaf * 1.0  # as if produced by a differentiable sampler: still carries a graph
        what = f"cd_loss {what}"
        _compare_loss(loss_fn(energy_fn, x_data, x_model, alpha),
                      ref02.cd_loss(energy_fn, x_data, x_model, alpha), net, what,
                      extra=leaf, extra_what="gradients flow into the model samples x_model; "
                      "the samples carry no gradient: detach them")
        _no_stray_grads(net, "cd_loss")


# ---------------------------------------------------------------- Exercise 3

def check_sgld_sample(sample_fn) -> None:
    """SGLD: noise-free steps against the reference (with and without clipping, a clip of zero,
    zero steps, a batch of one, float64), detached results, x_init untouched, no parameter
    gradients; the noise: N(0, noise_std^2) per step, independent for every element, fresh on
    every call."""
    net = _net(70)
    energy_fn = lambda z: -net(z) * 5  # noqa: E731
    x = torch.rand(64, 2, generator=torch.Generator().manual_seed(71)) * 4 - 2
    x_before = x.clone()
    cases = [  # n_steps, step_size, grad_clip, batch, what
        (1, 0.05, None, 64, "one noise-free step"),
        (10, 0.02, None, 64, "several noise-free steps"),
        (10, 0.1, 0.5, 64, "noise-free steps with gradient clipping"),
        (5, 0.1, 0.01, 64, "noise-free steps with a clip that acts on every entry"),
        (3, 0.1, 0.0, 64, "grad_clip=0 (every gradient entry clipped to 0: the chains stay)"),
        (0, 0.1, None, 64, "zero steps (x_init comes back)"),
        (4, 0.05, 0.5, 1, "a batch of one"),
    ]
    for n_steps, step_size, grad_clip, batch, what in cases:
        with torch.no_grad():
            got = sample_fn(energy_fn, x[:batch], n_steps, step_size, 0.0, grad_clip)
        want = ref02.sgld_sample(energy_fn, x[:batch], n_steps, step_size, 0.0, grad_clip)
        expect_close(got, want, f"sgld_sample with noise_std=0, {what}, called under "
                     f"torch.no_grad()", atol=1e-4)
        assert not got.requires_grad, "sgld_sample should return detached samples"
    net64 = _net(70, dtype=torch.float64)
    energy64 = lambda z: -net64(z) * 5  # noqa: E731
    with torch.no_grad():
        got = sample_fn(energy64, x.double(), 5, 0.1, 0.0, 0.5)
    expect_close(got, ref02.sgld_sample(energy64, x.double(), 5, 0.1, 0.0, 0.5),
                 "sgld_sample with float64 points (noise-free)", atol=1e-6)
    leaf = x.clone().requires_grad_(True)
    got = sample_fn(energy_fn, leaf * 1.0, 2, 0.05, 0.0)  # grad mode on, x_init with a graph
    expect_tensor(got, "sgld_sample of an x_init that requires grad", shape=(64, 2))
    assert not got.requires_grad, (
        "sgld_sample should return detached samples (x_init had requires_grad=True)")
    assert torch.equal(x, x_before), "sgld_sample must not modify x_init in place"
    assert leaf.grad is None, "sgld_sample put a gradient into x_init's .grad"
    _no_stray_grads(net, "sgld_sample")
    _no_stray_grads(net64, "sgld_sample")

    # The noise, on a flat energy: after n steps each element is x_init + N(0, n noise_std^2).
    flat = lambda z: 0.0 * z.sum(1)  # noqa: E731
    n, n_steps, noise_std, start = 6000, 3, 0.2, 0.7
    z = expect_tensor(sample_fn(flat, torch.full((n, 2), start), n_steps, 0.1, noise_std),
                      "sgld_sample on a flat energy", shape=(n, 2), dtype=torch.float32)
    z = z - start
    target = math.sqrt(n_steps) * noise_std
    means, stds = z.mean(0), z.std(0)
    assert means.abs().max().item() < 6 * target / math.sqrt(n), (
        "sgld_sample on a flat energy: the chains drift; the noise must have mean zero "
        "(torch.randn_like)")
    worst = (stds / target - 1).abs().max().item()
    assert worst < 0.06, (
        f"sgld_sample on a flat energy: after n_steps steps every coordinate should have std "
        f"sqrt(n_steps) * noise_std (relative error {worst:.3g}): draw fresh N(0, 1) noise at "
        f"every step, independently for every chain and coordinate, times noise_std")
    corr = torch.corrcoef(z.T)[0, 1].item()
    assert abs(corr) < 0.08, (
        f"sgld_sample on a flat energy: the two coordinates move together (correlation "
        f"{corr:.2f}): every element needs its own noise (torch.randn_like(x))")
    a = sample_fn(flat, torch.zeros(8, 2), 1, 0.1, 1.0)
    b = sample_fn(flat, torch.zeros(8, 2), 1, 0.1, 1.0)
    assert not torch.equal(a, b), (
        "sgld_sample returned the same noise on two calls: draw fresh noise from the global "
        "generator (do not re-seed it)")


# ---------------------------------------------------------------- Exercise 4

def check_exact_sm_loss(loss_fn) -> None:
    """Score matching: analytic on Gaussian energies, on a non-diagonal Hessian in three
    dimensions (float64, with the gradient to an energy parameter); value and parameter gradients
    on MLP energies, a batch of one; no stray parameter gradients."""
    g = torch.Generator().manual_seed(41)
    x = torch.randn(100, 2, generator=g)
    std = 0.7
    got = loss_fn(toy.gaussian_energy([0.0, 0.0], std), x)
    exact = (0.5 * x.pow(2).sum(1) / std ** 4 - 2 / std ** 2).mean()
    expect_close(got, exact, "exact_sm_loss of a Gaussian energy E = ||x||^2 / (2 std^2) "
                 "(mean of 0.5 ||x||^2 / std^4 - d / std^2)", atol=1e-4, rtol=1e-4)

    # E = 0.5 exp(s) x^T A x in d=3: score term 0.5 exp(2s) ||A x||^2, Laplacian exp(s) tr A.
    x3 = torch.randn(33, 3, generator=g, dtype=torch.float64)
    log_scale = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    a = _A3.double()
    got = loss_fn(_quadratic(a, log_scale.exp()), x3)
    c = math.exp(0.3)
    ax2 = (x3 @ a).pow(2).sum(1).mean().item()
    exact = 0.5 * c * c * ax2 - c * a.trace().item()
    what = ("exact_sm_loss of E = 0.5 x^T A x with a non-diagonal A, in three dimensions, "
            "float64")
    expect_close(got, torch.tensor(exact, dtype=torch.float64), what + " (the trace of the "
                 "Hessian is the sum of its diagonal, over every coordinate of x)",
                 atol=1e-8, rtol=1e-6)
    (d_scale,) = _grads(got, [log_scale], what)
    want = torch.tensor(c * c * ax2 - c * a.trace().item(), dtype=torch.float64)
    assert d_scale is not None, f"{what}: the loss does not depend on the energy's parameters"
    expect_close(d_scale, want, f"{what}: gradient with respect to the energy's parameter "
                 f"(create_graph=True in both autograd.grad calls)", atol=1e-8, rtol=1e-6)

    for n, what in [(100, "of an MLP energy"), (1, "of an MLP energy on a batch of one")]:
        net = _net(40)
        energy_fn = lambda z, net=net: -net(z) * 3  # noqa: E731
        got = loss_fn(energy_fn, x[:n])
        _no_stray_grads(net, "exact_sm_loss")
        _compare_loss(got, ref02.exact_sm_loss(energy_fn, x[:n]), net, f"exact_sm_loss {what}")


# ---------------------------------------------------------------- Exercise 5

def _recorded_noise(calls: list, x: torch.Tensor, sigma: float):
    """The noise a dsm_loss drew, read back from the points it evaluated the energy at."""
    for points in (torch.cat(calls) if calls else None, calls[-1] if calls else None):
        if points is not None and points.shape == x.shape:
            return (points - x) / sigma
    return None


def check_dsm_loss(loss_fn) -> None:
    """Denoising score matching: value and parameter gradients with the noise given (a batch of
    one, float64); with noise=None: standard-normal noise, independent for every element, fresh on
    every call, the same noise in the noisy point and in the target, the expected loss."""
    g = torch.Generator().manual_seed(51)
    x = torch.randn(80, 2, generator=g)
    noise = torch.randn(80, 2, generator=g)
    cases = [(0.1, 80, torch.float32, "with the noise given, small sigma"),
             (0.5, 80, torch.float32, "with the noise given"),
             (0.5, 1, torch.float32, "with the noise given, on a batch of one"),
             (0.3, 80, torch.float64, "with the noise given, float64 inputs")]
    for sigma, n, dtype, what in cases:
        net = _net(50, dtype=dtype)
        energy_fn = lambda z, net=net: -net(z) * 2  # noqa: E731
        xs, ns = x[:n].to(dtype), noise[:n].to(dtype)
        got = loss_fn(energy_fn, xs, sigma, ns)
        _no_stray_grads(net, "dsm_loss")
        _compare_loss(got, ref02.dsm_loss(energy_fn, xs, sigma, ns), net, f"dsm_loss {what}",
                      atol=2e-4)

    # Own noise, on E = 0.5 x^T A x: the loss is 0.5 mean || -A x + M eps ||^2, M = I / sigma -
    # sigma A; its expectation is 0.5 (mean ||A x||^2 + tr(M^T M)).
    n, sigma = 20000, 0.3
    xd = torch.randn(n, 2, generator=g) * 0.5
    quad = _quadratic(_A2)
    m = torch.eye(2) / sigma - sigma * _A2
    losses = []
    for call in range(2):
        calls = []

        def energy_fn(z):
            calls.append(z.detach().clone())
            return quad(z)

        got = expect_tensor(loss_fn(energy_fn, xd, sigma), "dsm_loss with noise=None", shape=(),
                            dtype=torch.float32)
        losses.append(got.item())
        eps = _recorded_noise(calls, xd, sigma)
        if eps is None:
            continue
        bad = (eps.mean(0).abs().max().item() > 6 / math.sqrt(n)
               or (eps.std(0) - 1).abs().max().item() > 6 / math.sqrt(2 * n))
        assert not bad, (
            "dsm_loss with noise=None: the noise added to the data is not standard normal "
            "(x_noisy = x_data + sigma * eps, eps = torch.randn_like(x_data))")
        corr = torch.corrcoef(eps.T)[0, 1].item()
        assert abs(corr) < 6 / math.sqrt(n), (
            f"dsm_loss with noise=None: the noise of the two coordinates is correlated "
            f"({corr:.2f}): draw it independently for every element (torch.randn_like(x_data))")
        want = 0.5 * (-(xd + sigma * eps) @ _A2 + eps / sigma).pow(2).sum(1).mean().item()
        _close_scalar(got.item(), want, 1e-3, "dsm_loss with noise=None: the target must use "
                      "the same noise as the noisy point")
    assert losses[0] != losses[1], (
        "dsm_loss with noise=None returned the same value on two calls: draw fresh noise on "
        "every call (do not re-seed the global generator)")
    expected = 0.5 * ((xd @ _A2).pow(2).sum(1).mean().item() + m.pow(2).sum().item())
    for value in losses:
        _close_scalar(value, expected, 0.05, "dsm_loss with noise=None: the loss is not the "
                      "expected DSM loss under fresh standard-normal noise")


# ---------------------------------------------------------------- Exercise 6

def check_nce_loss(loss_fn) -> None:
    """NCE's logistic loss: value and parameter gradients for integer, non-integer and below-one
    noise ratios, batches of one, logits near +-500 (stable logsigmoid), float64 inputs."""
    g = torch.Generator().manual_seed(61)
    q = torch.distributions.MultivariateNormal(torch.zeros(2), 2.0 * torch.eye(2))
    cases = [  # n_data, n_noise, energy shift, what
        (50, 50, 0.0, "with one noise sample per data point"),
        (50, 150, 0.0, "with an integer noise ratio above one"),
        (30, 70, 0.0, "with a non-integer noise ratio"),
        (50, 20, 0.0, "with fewer noise samples than data points"),
        (1, 3, 0.0, "on a batch of one data point"),
        (1, 1, 0.0, "on a batch of one data point and one noise sample"),
        (40, 40, 500.0, "with logits near -500 (energies near +500: use logsigmoid)"),
        (40, 40, -500.0, "with logits near +500 (energies near -500: use logsigmoid)"),
    ]
    for n_data, n_noise, shift, what in cases:
        x_data = torch.randn(n_data, 2, generator=g)
        x_noise = torch.randn(n_noise, 2, generator=g) * math.sqrt(2.0)
        net = _net(60)
        energy_fn = lambda z, net=net, shift=shift: -net(z) + 2.0 + shift  # noqa: E731
        args = (x_data, x_noise, q.log_prob(x_data), q.log_prob(x_noise))
        atol = 1e-4 if shift == 0 else 1e-2  # |loss| ~ 500: float32 resolution
        _compare_loss(loss_fn(energy_fn, *args), ref02.nce_loss(energy_fn, *args), net,
                      f"nce_loss {what}", atol=atol)
        _no_stray_grads(net, "nce_loss")
    # float64 inputs: the value (a float32 result from float32 labels is accepted).
    x_data = torch.randn(20, 2, generator=g, dtype=torch.float64)
    x_noise = torch.randn(50, 2, generator=g, dtype=torch.float64) * math.sqrt(2.0)
    net = _net(60, dtype=torch.float64)
    energy_fn = lambda z: -net(z) + 2.0  # noqa: E731
    args = (x_data, x_noise, q.log_prob(x_data.float()).double(),
            q.log_prob(x_noise.float()).double())
    got = expect_tensor(loss_fn(energy_fn, *args), "nce_loss with float64 inputs", shape=())
    assert got.is_floating_point(), "nce_loss with float64 inputs: expected a float tensor"
    want = ref02.nce_loss(energy_fn, *args).item()
    _close_scalar(got.item(), want, 1e-5, "nce_loss with float64 inputs: values differ from the "
                  "reference")


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
