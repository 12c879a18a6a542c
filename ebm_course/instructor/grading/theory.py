"""Hidden checks of assignment 01_theory. Each grades one function against the reference."""

from __future__ import annotations

import math

import torch

from ... import toy, toy_train
from ..reference import theory as ref01
from .common import expect_close, expect_tensor, guard_checks


def _mixture(k: int, d: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    means = torch.randn(k, d, generator=g) * 1.5
    stds = 0.3 + 0.5 * torch.rand(k, generator=g)
    weights = torch.softmax(torch.randn(k, generator=g), 0)
    return means, stds, weights


def check_gmm_energy(energy_fn) -> None:
    """``E = -log p`` of the mixture (normalised), stable far from every component."""
    for k, d, seed in [(1, 1, 0), (3, 2, 1), (5, 2, 2), (2, 3, 3)]:
        means, stds, weights = _mixture(k, d, seed)
        g = torch.Generator().manual_seed(100 + seed)
        x = torch.randn(64, d, generator=g) * 2
        x[:4] = 40.0  # far away: exp(-E) underflows, the energy must stay finite
        got = energy_fn(x, means, stds, weights)
        want = ref01.gmm_energy(x, means, stds, weights)
        expect_close(got, want, f"gmm_energy with K={k} components in d={d}", atol=1e-3,
                     rtol=1e-4)


def check_grid_log_partition(log_partition_fn) -> None:
    """log Z of Gaussians (analytic), of a mixture, and of an energy shifted by +1000."""
    for dim, std, box, n_grid in [(1, 0.7, (-6.0, 6.0), 400), (2, 0.5, (-4.0, 4.0), 150),
                                  (2, 1.3, (-9.0, 9.0), 200)]:
        energy_fn = toy.gaussian_energy([0.4] * dim, std)
        got = expect_tensor(log_partition_fn(energy_fn, box, n_grid, dim),
                            f"log Z of a {dim}D Gaussian", shape=())
        exact = 0.5 * dim * math.log(2 * math.pi * std ** 2)
        assert abs(got.item() - exact) < 2e-3, (
            f"log Z of a {dim}D Gaussian with std {std} on a {n_grid}-cell grid: expected "
            f"{exact:.4f} (= d/2 log(2 pi std^2)), got {got.item():.4f}. Did you add log of the "
            f"cell {'length' if dim == 1 else 'area'}?")
    means, stds, weights = _mixture(4, 2, 7)
    mixture = lambda x: ref01.gmm_energy(x, means, stds, weights) + 3.0  # noqa: E731
    want = ref01.grid_log_partition(mixture, (-6.0, 6.0), 120, 2)
    expect_close(log_partition_fn(mixture, (-6.0, 6.0), 120, 2), want,
                 "log Z of a Gaussian mixture plus 3 (expected about -3)", atol=2e-3, rtol=0)
    shifted = lambda x: ref01.gmm_energy(x, means, stds, weights) + 1000.0  # noqa: E731
    got = log_partition_fn(shifted, (-6.0, 6.0), 120, 2)
    expect_close(got, want - 997.0, "log Z of an energy shifted by +1000 (exp(-1000) underflows: "
                 "use torch.logsumexp)", atol=2e-3, rtol=0)


def _exp_family(theta: torch.Tensor):
    # E(x) = theta . phi(x), phi = (x1, x2, x1^2, x2^2, x1 x2, x1^4 + x2^4)
    def energy_fn(x):
        phi = torch.stack([x[:, 0], x[:, 1], x[:, 0] ** 2, x[:, 1] ** 2, x[:, 0] * x[:, 1],
                           x[:, 0] ** 4 + x[:, 1] ** 4], 1)
        return phi @ theta
    return energy_fn


def check_cd_gradient(cd_gradient_fn) -> None:
    """The contrastive-divergence gradient for an exponential family and a small MLP."""
    g = torch.Generator().manual_seed(5)
    x_data, x_model = torch.randn(50, 2, generator=g), torch.randn(70, 2, generator=g) * 1.5
    theta = torch.tensor([0.3, -0.2, 0.5, 0.4, 0.1, 0.05], requires_grad=True)
    got = cd_gradient_fn(_exp_family(theta), [theta], x_data, x_model)
    want = ref01.cd_gradient(_exp_family(theta), [theta], x_data, x_model)
    assert len(got) == 1, f"cd_gradient should return one gradient per parameter (1), got {len(got)}"
    expect_close(got[0], want[0], "cd_gradient for E = theta . phi(x) (expected mean phi(x_data)"
                 " - mean phi(x_model))", atol=1e-5)
    torch.manual_seed(6)
    net = toy_train.MLPEnergy(2, 16, 2)
    params = list(net.parameters())
    energy_fn = lambda x: -net(x)  # noqa: E731
    got = cd_gradient_fn(energy_fn, params, x_data, x_model)
    want = ref01.cd_gradient(energy_fn, params, x_data, x_model)
    assert len(got) == len(params), (
        f"cd_gradient should return one gradient per parameter ({len(params)}), got {len(got)}")
    for i, (a, b) in enumerate(zip(got, want)):
        expect_close(a, b, f"cd_gradient of an MLP energy, parameter {i}", atol=1e-5)


def check_ula_chain(chain_fn) -> None:
    """Statistics of unadjusted Langevin: noise scale, drift, Gaussian stationary moments."""
    x0 = torch.zeros(4000, 2)
    flat = lambda x: 0.0 * x.sum(1)  # noqa: E731
    with torch.no_grad():  # the chain must enable gradients itself
        z = chain_fn(flat, x0, 1, 0.02)
    z = expect_tensor(z, "ula_chain on a flat energy", shape=(4000, 2))
    assert not z.requires_grad, "ula_chain should return detached samples"
    assert torch.equal(x0, torch.zeros(4000, 2)), "ula_chain must not modify its input in place"
    want_std = math.sqrt(2 * 0.02)
    assert abs(z.mean().item()) < 0.01 and abs(z.std().item() / want_std - 1) < 0.05, (
        f"one step on a flat energy should add N(0, 2 * step_size) noise: expected std "
        f"{want_std:.3f} (sqrt(2 * 0.02)), got {z.std().item():.3f}")
    slope = torch.tensor([3.0, -1.0])
    linear = lambda x: x @ slope  # noqa: E731
    z = chain_fn(linear, x0, 5, 0.01)
    drift = z.mean(0)
    assert torch.allclose(drift, -5 * 0.01 * slope, atol=0.015), (
        f"on E(x) = a . x each step should move x by -step_size * a on average: after 5 steps of "
        f"0.01 with a = (3, -1) expected a mean of (-0.15, 0.05), got {drift.tolist()}")
    mean, std = torch.tensor([1.0, -0.5]), 0.6
    z = chain_fn(toy.gaussian_energy(mean, std), x0, 400, 0.01)
    z = expect_tensor(z, "ula_chain on a Gaussian energy", shape=(4000, 2))
    assert torch.allclose(z.mean(0), mean, atol=0.05), (
        f"400 Langevin steps on a Gaussian energy should reach its mean {mean.tolist()}, "
        f"got {z.mean(0).tolist()}")
    assert abs(z.std(0).mean().item() / std - 1) < 0.08, (
        f"400 Langevin steps on a Gaussian energy with std {std} should give samples with std "
        f"about {std}, got {z.std(0).tolist()}")


def check_histogram_tv(tv_fn) -> None:
    """Total variation between histograms and the exact density, against the reference."""
    means, stds, weights = _mixture(3, 2, 11)
    energy_fn = lambda x: ref01.gmm_energy(x, means, stds, weights)  # noqa: E731
    g = torch.Generator().manual_seed(12)
    exact = toy.sample_gmm(20000, means, stds, weights, generator=g)
    skewed = exact * torch.tensor([1.0, 0.5]) + torch.tensor([0.7, 0.0])  # not symmetric in x, y
    uniform = torch.rand(3000, 2, generator=g) * 16 - 8  # some outside the box
    for name, samples in [("exact samples", exact), ("shifted samples", skewed),
                          ("uniform samples", uniform)]:
        got = tv_fn(samples, energy_fn, (-6.0, 6.0), 30)
        want = ref01.histogram_tv(samples, energy_fn, (-6.0, 6.0), 30)
        assert isinstance(got, (float, int)) or (torch.is_tensor(got) and got.numel() == 1), (
            f"histogram_tv should return one number, got {type(got).__name__}")
        assert abs(float(got) - want) < 1e-3, (
            f"histogram_tv on {name}: expected {want:.4f}, got {float(got):.4f}")


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
