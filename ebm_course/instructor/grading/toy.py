"""Hidden checks of assignment 02_toy_densities. Each grades one function against the reference."""

from __future__ import annotations

import math

import torch

from ... import toy, toy_train
from ..reference import toy as ref02
from .common import expect_close, expect_tensor, guard_checks


def _net(seed: int, hidden: int = 16) -> toy_train.MLPEnergy:
    torch.manual_seed(seed)
    return toy_train.MLPEnergy(2, hidden, 2)


def _param_grads(loss: torch.Tensor, net: torch.nn.Module, what: str) -> list[torch.Tensor]:
    assert loss.requires_grad, (
        f"{what}: the loss must carry a gradient to the network parameters (did you detach, or "
        f"forget create_graph=True when differentiating with respect to x?)")
    params = list(net.parameters())
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    # Score-based losses never see the output bias (it does not change dE/dx): zero, not None.
    return [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)]


def _compare_loss(got_fn, want_fn, net, what: str, atol: float = 1e-4) -> None:
    got, want = got_fn(), want_fn()
    expect_close(got, want.detach(), what, atol=atol, rtol=1e-4)
    for i, (a, b) in enumerate(zip(_param_grads(got, net, what), _param_grads(want, net, what))):
        expect_close(a, b, f"{what}: gradient of parameter {i}", atol=atol, rtol=1e-3)


def check_grid_log_likelihood(ll_fn) -> None:
    """Exact mean test log-likelihood: analytic for a Gaussian, reference for MLP energies."""
    g = torch.Generator().manual_seed(21)
    mean, std = torch.tensor([0.5, -0.3]), 0.8
    x_test = mean + std * torch.randn(500, 2, generator=g)
    got = expect_tensor(ll_fn(toy.gaussian_energy(mean, std), x_test, (-5.0, 5.0), 160),
                        "grid_log_likelihood of a Gaussian energy", shape=())
    exact = (-(x_test - mean).pow(2).sum(1) / (2 * std ** 2)
             - math.log(2 * math.pi * std ** 2)).mean().item()
    assert abs(got.item() - exact) < 2e-3, (
        f"grid_log_likelihood of an (unnormalised) Gaussian energy: expected the Gaussian's mean "
        f"log-density {exact:.4f}, got {got.item():.4f}")
    for seed, box, n_grid, shift in [(3, (-4.0, 4.0), 128, 0.0), (4, (-3.0, 5.0), 100, 500.0)]:
        net = _net(seed)
        energy_fn = lambda x: -net(x) * 4 + shift  # noqa: E731
        x = torch.rand(300, 2, generator=g) * 6 - 3
        with torch.no_grad():
            want = ref02.grid_log_likelihood(energy_fn, x, box, n_grid)
        got = ll_fn(energy_fn, x, box, n_grid)
        expect_close(got, want, f"grid_log_likelihood of an MLP energy (+{shift:g}) on a "
                     f"{n_grid}x{n_grid} grid over {box}", atol=5e-3, rtol=0)


def check_cd_loss(loss_fn) -> None:
    """Contrastive divergence with the L2 penalty: value and parameter gradients."""
    g = torch.Generator().manual_seed(31)
    x_data, x_model = torch.randn(40, 2, generator=g), torch.randn(60, 2, generator=g) * 2
    for alpha in (0.0, 0.3):
        net = _net(30)
        energy_fn = lambda x: -net(x)  # noqa: E731
        _compare_loss(lambda: loss_fn(energy_fn, x_data, x_model, alpha),
                      lambda: ref02.cd_loss(energy_fn, x_data, x_model, alpha), net,
                      f"cd_loss(alpha={alpha}) = mean E(x_data) - mean E(x_model) + alpha * reg")


def check_exact_sm_loss(loss_fn) -> None:
    """Score matching: analytic on a Gaussian energy; value and gradients on an MLP energy."""
    g = torch.Generator().manual_seed(41)
    x = torch.randn(100, 2, generator=g)
    std = 0.7
    got = loss_fn(toy.gaussian_energy([0.0, 0.0], std), x)
    exact = (0.5 * x.pow(2).sum(1) / std ** 4 - 2 / std ** 2).mean()
    expect_close(got, exact, "exact_sm_loss of E = ||x||^2 / (2 std^2) (expected mean of "
                 "0.5 ||x||^2 / std^4 - d / std^2)", atol=1e-4, rtol=1e-4)
    net = _net(40)
    energy_fn = lambda z: -net(z) * 3  # noqa: E731
    _compare_loss(lambda: loss_fn(energy_fn, x), lambda: ref02.exact_sm_loss(energy_fn, x),
                  net, "exact_sm_loss of an MLP energy")


def check_dsm_loss(loss_fn) -> None:
    """Denoising score matching with given noise (exact) and with its own noise (statistically)."""
    g = torch.Generator().manual_seed(51)
    x = torch.randn(80, 2, generator=g)
    noise = torch.randn(80, 2, generator=g)
    for sigma in (0.1, 0.5):
        net = _net(50)
        energy_fn = lambda z: -net(z) * 2  # noqa: E731
        _compare_loss(lambda: loss_fn(energy_fn, x, sigma, noise),
                      lambda: ref02.dsm_loss(energy_fn, x, sigma, noise), net,
                      f"dsm_loss(sigma={sigma}) with the noise given", atol=2e-4)
    # Own noise: for E = ||x||^2 / (2 s^2) the expected loss is analytic.
    s, sigma, d = 1.0, 0.3, 2
    x = torch.randn(40000, 2, generator=g) * 0.5
    got = expect_tensor(loss_fn(toy.gaussian_energy([0.0, 0.0], s), x, sigma),
                        "dsm_loss with noise=None", shape=())
    exact = 0.5 * (x.pow(2).sum(1).mean().item() / s ** 4 + d * (1 / sigma - sigma / s ** 2) ** 2)
    assert abs(got.item() / exact - 1) < 0.03, (
        f"dsm_loss with noise=None should draw fresh standard-normal noise: for a Gaussian energy "
        f"the expected loss is {exact:.3f}, got {got.item():.3f}")


def check_nce_loss(loss_fn) -> None:
    """NCE's logistic loss for noise ratios 1 and 3: value and parameter gradients."""
    g = torch.Generator().manual_seed(61)
    q = torch.distributions.MultivariateNormal(torch.zeros(2), 2.0 * torch.eye(2))
    x_data = torch.randn(50, 2, generator=g)
    for nu in (1, 3):
        x_noise = torch.randn(50 * nu, 2, generator=g) * math.sqrt(2.0)
        net = _net(60)
        energy_fn = lambda z: -net(z) + 2.0  # noqa: E731
        _compare_loss(lambda: loss_fn(energy_fn, x_data, x_noise, q.log_prob(x_data),
                                      q.log_prob(x_noise)),
                      lambda: ref02.nce_loss(energy_fn, x_data, x_noise, q.log_prob(x_data),
                                                 q.log_prob(x_noise)),
                      net, f"nce_loss with {nu} noise sample(s) per data point (nu = {nu})")


def check_sgld_sample(sample_fn) -> None:
    """SGLD: noise-free steps (with and without clipping) against the reference; noise scale."""
    net = _net(70)
    energy_fn = lambda z: -net(z) * 5  # noqa: E731
    x = torch.rand(64, 2, generator=torch.Generator().manual_seed(71)) * 4 - 2
    x_before = x.clone()
    for n_steps, step_size, grad_clip in [(1, 0.05, None), (10, 0.02, None), (10, 0.1, 0.5),
                                          (5, 0.1, 0.01)]:  # the clip must act
        with torch.no_grad():
            got = sample_fn(energy_fn, x, n_steps, step_size, 0.0, grad_clip)
        want = ref02.sgld_sample(energy_fn, x, n_steps, step_size, 0.0, grad_clip)
        expect_close(got, want, f"sgld_sample with noise_std=0, n_steps={n_steps}, "
                     f"step_size={step_size}, grad_clip={grad_clip}", atol=1e-4)
        assert not got.requires_grad, "sgld_sample should return detached samples"
    assert torch.equal(x, x_before), "sgld_sample must not modify x_init in place"
    assert all(p.grad is None for p in net.parameters()), (
        "sgld_sample put gradients into the network's parameters: differentiate with respect to "
        "x only (torch.autograd.grad)")
    flat = lambda z: 0.0 * z.sum(1)  # noqa: E731
    z = expect_tensor(sample_fn(flat, torch.zeros(4000, 2), 4, 0.1, 0.2),
                      "sgld_sample on a flat energy", shape=(4000, 2))
    assert abs(z.mean().item()) < 0.02 and abs(z.std().item() - 0.4) < 0.02, (
        f"4 steps on a flat energy with noise_std=0.2 should give N(0, 4 * 0.2^2): expected std "
        f"0.4, got {z.std().item():.3f}")


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
