"""ebm_course.toy / toy_train: densities, exact grid quantities, the four losses, training."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from ebm_course import toy, toy_train
from ebm_course.instructor.assignments.theory import reference as ref01
from ebm_course.instructor.assignments.toy import checks as grading_toy
from ebm_course.instructor.assignments.toy import reference as ref02
from ebm_course.models import energy_fn_of

LOSSES = {"cd": {"loss_fn": ref02.cd_loss, "sample_fn": ref02.sgld_sample},
          "sm": {"loss_fn": ref02.exact_sm_loss}, "dsm": {"loss_fn": ref02.dsm_loss},
          "nce": {"loss_fn": ref02.nce_loss}}


@pytest.mark.parametrize("name", toy.DENSITIES)
def test_densities_are_seeded_and_inside_the_box(name):
    a = toy.sample_density(name, 2000, generator=torch.Generator().manual_seed(3))
    b = toy.sample_density(name, 2000, generator=torch.Generator().manual_seed(3))
    c = toy.sample_density(name, 2000, generator=torch.Generator().manual_seed(4))
    assert a.shape == (2000, 2) and a.dtype == torch.float32
    assert torch.equal(a, b) and not torch.equal(a, c)
    low, high = toy.TOY_BOX
    inside = ((a > low) & (a < high)).all(1).float().mean().item()
    assert inside > 0.999, f"{name}: {1 - inside:.2%} of the mass outside the grid box"
    assert a.std(0).min() > 0.5, f"{name} should spread over the box"


def test_unknown_density_raises():
    with pytest.raises(ValueError, match="unknown density"):
        toy.sample_density("banana", 10)


@pytest.mark.parametrize("dim", [1, 2])
def test_grid_partition_function_of_gaussian(dim):
    std = 0.6
    log_z = ref01.grid_log_partition(toy.gaussian_energy([0.3] * dim, std), (-5.0, 5.0), 200, dim)
    assert abs(log_z.item() - 0.5 * dim * math.log(2 * math.pi * std ** 2)) < 1e-4


def test_grid_density_integrates_to_one_and_is_stable():
    means, stds = torch.tensor([[-1.0, 0.5], [1.5, -1.0]]), torch.tensor([0.4, 0.7])
    weights = torch.tensor([0.3, 0.7])
    energy_fn = lambda x: ref01.gmm_energy(x, means, stds, weights)  # noqa: E731
    # The mixture energy is normalised, so log Z = 0 and exp(-E) sums to 1 over the grid.
    centres, area = toy.grid_points((-6.0, 6.0), 240, 2)
    assert abs((torch.exp(-energy_fn(centres)).sum() * area).item() - 1) < 1e-4
    log_z = ref01.grid_log_partition(energy_fn, (-6.0, 6.0), 240)
    assert abs(log_z.item()) < 1e-4
    shifted = ref01.grid_log_partition(lambda x: energy_fn(x) + 2000.0, (-6.0, 6.0), 240)
    assert torch.isfinite(shifted) and abs(shifted.item() + 2000.0) < 1e-2


def test_grid_log_likelihood_equals_gaussian_log_density():
    mean, std = torch.tensor([0.2, -0.4]), 0.9
    x = mean + std * torch.randn(1000, 2, generator=torch.Generator().manual_seed(0))
    exact = (-(x - mean).pow(2).sum(1) / (2 * std ** 2) - math.log(2 * math.pi * std ** 2)).mean()
    # An unnormalised energy: adding a constant must not change the normalised likelihood.
    energy_fn = lambda z: toy.gaussian_energy(mean, std)(z) + 7.0  # noqa: E731
    ll = ref02.grid_log_likelihood(energy_fn, x, (-6.0, 6.0), 200)
    assert abs(ll.item() - exact.item()) < 1e-4


def test_gmm_energy_moments_and_samples():
    means, stds = torch.tensor([[0.0, 2.0], [1.0, -1.0]]), torch.tensor([0.5, 1.0])
    weights = torch.tensor([0.25, 0.75])
    mean, cov = toy.gmm_moments(means, stds, weights)
    x = toy.sample_gmm(40000, means, stds, weights, torch.Generator().manual_seed(1))
    assert torch.allclose(x.mean(0), mean, atol=0.03)
    assert torch.allclose(torch.cov(x.T), cov, atol=0.06)


def test_ula_chain_recovers_mixture_histogram():
    means, stds = torch.tensor([[-1.5, 0.0], [1.5, 0.5]]), torch.tensor([0.5, 0.5])
    weights = torch.tensor([0.5, 0.5])
    energy_fn = lambda x: ref01.gmm_energy(x, means, stds, weights)  # noqa: E731
    g = torch.Generator().manual_seed(2)
    x0 = toy.sample_gmm(3000, means, stds, weights, g) * 0 + torch.randn(3000, 2, generator=g)
    x = ref01.ula_chain(energy_fn, x0, 300, 0.02, generator=g)
    tv = ref01.histogram_tv(x, energy_fn, (-4.0, 4.0), 16)
    tv_exact = ref01.histogram_tv(toy.sample_gmm(3000, means, stds, weights, g), energy_fn,
                                (-4.0, 4.0), 16)
    assert tv < tv_exact + 0.05, f"Langevin TV {tv:.3f} vs exact samples' TV {tv_exact:.3f}"
    far = ref01.histogram_tv(x0, energy_fn, (-4.0, 4.0), 16)
    assert far > tv + 0.1, "the starting noise should be far from the density"


def test_mlp_energy_shapes():
    net = toy_train.MLPEnergy(2, 32, 2)
    assert net(torch.randn(7, 2)).shape == (7,)


def _gaussian_net_energy(std: float):
    return toy.gaussian_energy([0.0, 0.0], std)


def test_exact_sm_loss_matches_analytic_and_gradcheck():
    x = torch.randn(64, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    for std in (0.5, 1.0, 2.0):
        energy_fn = lambda z: z.pow(2).sum(1) / (2 * std ** 2)  # noqa: E731
        loss = ref02.exact_sm_loss(energy_fn, x)
        want = (0.5 * x.pow(2).sum(1) / std ** 4 - 2 / std ** 2).mean()
        assert torch.allclose(loss, want)
    # The loss is minimised at the data's own precision: for x ~ N(0, 1), std = 1 wins.
    losses = {s: ref02.exact_sm_loss(lambda z: z.pow(2).sum(1) / (2 * s ** 2), x * 0 + x)
              .item() for s in (0.7, 1.0, 1.4)}
    assert min(losses, key=losses.get) == 1.0
    # Its parameter gradient (a double backward) agrees with finite differences.
    log_prec = torch.tensor([0.2, -0.1], dtype=torch.float64, requires_grad=True)

    def loss_of(p):
        return ref02.exact_sm_loss(lambda z: (z.pow(2) * p.exp()).sum(1) / 2, x[:8])
    assert torch.autograd.gradcheck(loss_of, (log_prec,))


def test_dsm_loss_gradcheck_and_known_minimiser():
    x = torch.randn(8, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    noise = torch.randn(8, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    log_prec = torch.tensor([0.3, 0.1], dtype=torch.float64, requires_grad=True)

    def loss_of(p):
        return ref02.dsm_loss(lambda z: (z.pow(2) * p.exp()).sum(1) / 2, x, 0.3, noise)
    assert torch.autograd.gradcheck(loss_of, (log_prec,))
    # Data N(0, 1) smoothed by sigma: the best Gaussian energy has variance 1 + sigma^2.
    g = torch.Generator().manual_seed(3)
    x, eps = torch.randn(20000, 2, generator=g), torch.randn(20000, 2, generator=g)
    losses = {v: ref02.dsm_loss(lambda z: z.pow(2).sum(1) / (2 * v), x, 0.5, eps).item()
              for v in (1.0, 1.25, 1.6)}
    assert min(losses, key=losses.get) == 1.25


def test_cd_and_nce_losses_have_the_right_sign():
    x_data = torch.zeros(16, 2)
    x_model = torch.ones(16, 2) * 3
    # An energy low on the data and high on the samples has a negative CD loss.
    good = lambda z: z.pow(2).sum(1)  # noqa: E731
    assert ref02.cd_loss(good, x_data, x_model) < 0 < ref02.cd_loss(
        lambda z: -good(z), x_data, x_model)
    q = torch.distributions.MultivariateNormal(torch.zeros(2), 4 * torch.eye(2))
    g = torch.Generator().manual_seed(5)
    x_data = torch.randn(2000, 2, generator=g) * 0.5
    x_noise = q.sample((2000,))
    nce = lambda e: ref02.nce_loss(e, x_data, x_noise, q.log_prob(x_data),  # noqa: E731
                                       q.log_prob(x_noise)).item()
    exact = lambda z: z.pow(2).sum(1) / (2 * 0.25) + math.log(2 * math.pi * 0.25)  # noqa: E731
    assert nce(exact) < nce(lambda z: -q.log_prob(z)) < nce(lambda z: z.pow(2).sum(1) * 0 - 5)
    assert abs(nce(lambda z: -q.log_prob(z)) - 2 * math.log(2)) < 1e-4  # chance level


def test_cd_gradient_matches_autograd_of_exact_nll():
    # E_theta(x) = theta . (x, x^2) in 1D: the NLL gradient by autograd through the grid log Z
    # equals mean phi(data) - E_p[phi], which the CD gradient estimates from model samples.
    theta = torch.tensor([0.4, 0.8], requires_grad=True)
    energy_fn = lambda x: x[:, 0] * theta[0] + x[:, 0] ** 2 * theta[1]  # noqa: E731
    x_data = torch.randn(500, 1, generator=torch.Generator().manual_seed(6))
    nll = energy_fn(x_data).mean() + ref01.grid_log_partition(energy_fn, (-8.0, 8.0), 800, dim=1)
    (exact,) = torch.autograd.grad(nll, theta)
    var = 1 / (2 * theta[1].item())
    mu = -theta[0].item() * var
    x_model = mu + math.sqrt(var) * torch.randn(200000, 1, generator=torch.Generator().manual_seed(7))
    (est,) = ref01.cd_gradient(energy_fn, [theta], x_data, x_model)
    assert torch.allclose(est, exact, atol=0.02), (est, exact)


def test_sgld_sample():
    energy_fn = toy.gaussian_energy([1.0, -1.0], 0.5)
    x0 = torch.zeros(2000, 2)
    torch.manual_seed(0)
    x = ref02.sgld_sample(energy_fn, x0, 300, 0.01, math.sqrt(0.02))
    assert torch.equal(x0, torch.zeros(2000, 2)) and not x.requires_grad
    assert torch.allclose(x.mean(0), torch.tensor([1.0, -1.0]), atol=0.05)
    assert abs(x.std(0).mean().item() - 0.5) < 0.03



def test_persistent_chains_continue_and_restart():
    chains = toy_train.PersistentChains(100, 2, reinit_prob=0.0, box=(-4.0, 4.0), seed=0)
    start = chains.x.clone()
    assert start.shape == (100, 2) and start.abs().max() <= 4
    seen = []
    out = chains.advance(lambda x0: seen.append(x0.clone()) or x0 + 1.0)
    assert torch.equal(seen[0], start) and torch.equal(out, start + 1.0)  # every chain moved
    assert torch.equal(chains.x, start + 1.0)                          # and continues from there
    chains.reinit_prob = 0.3
    fresh = (chains.starts() != chains.x).all(1).float().mean().item()
    assert 0.15 < fresh < 0.45
    with pytest.raises(ValueError, match="shape"):
        chains.advance(lambda x0: x0[:5])
    with pytest.raises(ValueError):
        toy_train.PersistentChains(0)


@pytest.mark.parametrize("method", toy_train.METHODS)
def test_each_method_trains_and_beats_its_initialisation(method):
    cfg = replace(toy_train.toy_config("grade"), n_iters_cd=100, n_iters_sm=100, n_iters_dsm=150,
                  n_iters_nce=600, hidden=32, n_grid=64)
    x_train, x_test = toy.toy_splits("8gaussians", 1000, 500, seed=0)
    torch.manual_seed(cfg.seed)
    init = toy_train.MLPEnergy(2, cfg.hidden, cfg.n_layers)
    ll_init = ref02.grid_log_likelihood(energy_fn_of(init), x_test, cfg.box, cfg.n_grid)
    net, history = toy_train.train_toy(method, x_train, cfg, progress=False, **LOSSES[method])
    assert len(history) == getattr(cfg, f"n_iters_{method}")
    assert all(math.isfinite(v) for v in history)
    ll = ref02.grid_log_likelihood(energy_fn_of(net), x_test, cfg.box, cfg.n_grid)
    assert ll > ll_init + 0.3, f"{method}: test log-likelihood {ll:.3f} vs init {ll_init:.3f}"
    # Seeded: the same config gives the same network.
    net2, _ = toy_train.train_toy(method, x_train, cfg, progress=False, **LOSSES[method])
    x = torch.randn(5, 2)
    assert torch.allclose(net(x), net2(x))


def test_train_toy_asks_for_the_notebooks_losses():
    x_train, _ = toy.toy_splits("8gaussians", 100, 10, seed=0)
    cfg = toy_train.toy_config("grade")
    with pytest.raises(TypeError, match="loss_fn"):
        toy_train.train_toy("dsm", x_train, cfg, loss_fn=None, progress=False)
    with pytest.raises(TypeError, match="sgld_sample"):
        toy_train.train_toy("cd", x_train, cfg, loss_fn=ref02.cd_loss, progress=False)
    with pytest.raises(ValueError, match="unknown method"):
        toy_train.train_toy("mle", x_train, cfg, loss_fn=ref02.cd_loss, progress=False)


def test_kde_picks_a_sensible_bandwidth():
    x_train, x_test = toy.toy_splits("two_moons", 1500, 500, seed=1)
    kde = toy.fit_kde(x_train, max_cv_points=800)
    assert 0.03 < kde.bandwidth < 0.4
    # The KDE is a proper density: close to the grid log-likelihood of its own log-density.
    energy_fn = lambda z: -torch.from_numpy(  # noqa: E731
        kde.score_samples(z.double().numpy())).float()
    ll_grid = ref02.grid_log_likelihood(energy_fn, x_test, toy.TOY_BOX, 100)
    assert abs(ll_grid.item() - toy.kde_log_likelihood(kde, x_test)) < 0.02


def test_toy_config_profiles():
    for profile in ("quick", "full", "grade"):
        cfg = toy_train.toy_config(profile)
        assert cfg.n_iters_nce > 0 and cfg.n_grid >= 32
    with pytest.raises(ValueError):
        toy_train.toy_config("huge")
    with pytest.raises(Exception):
        toy_train.toy_config("quick").n_iters_nce = 3  # frozen


# ---- the hidden graders: pass the reference, fail seeded bugs -------------------------------

def _bad_grid_ll(energy_fn, x_test, box, n_grid):  # forgets the cell area
    centres, _ = toy.grid_points(box, n_grid)
    return -energy_fn(x_test).mean() - torch.logsumexp(-energy_fn(centres), 0)


def _bad_cd(energy_fn, x_data, x_model, alpha=0.0):  # the sign error of uvadlc #60
    return energy_fn(x_model).mean() - energy_fn(x_data).mean()


def _bad_sm(energy_fn, x_data):  # adds the Laplacian instead of subtracting it
    x = x_data.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(energy_fn(x).sum(), x, create_graph=True)
    tr = sum(torch.autograd.grad(g[:, i].sum(), x, create_graph=True)[0][:, i] for i in range(2))
    return (0.5 * g.pow(2).sum(1) + tr).mean()


def _bad_dsm(energy_fn, x_data, sigma, noise=None):  # target with the wrong sign
    noise = torch.randn_like(x_data) if noise is None else noise
    x = (x_data + sigma * noise).requires_grad_(True)
    (g,) = torch.autograd.grad(energy_fn(x).sum(), x, create_graph=True)
    return 0.5 * (-g - noise / sigma).pow(2).sum(1).mean()


def _bad_nce(energy_fn, x_data, x_noise, log_q_data, log_q_noise):  # ignores nu
    ld, ln = -energy_fn(x_data) - log_q_data, -energy_fn(x_noise) - log_q_noise
    f = torch.nn.functional.logsigmoid
    return -(f(ld).mean() + f(-ln).mean())


def _bad_sgld(energy_fn, x_init, n_steps, step_size, noise_std, grad_clip=None):  # climbs E
    x = x_init.clone()
    for _ in range(n_steps):
        x.requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(energy_fn(x).sum(), x)
        if grad_clip is not None:
            g = g.clamp(-grad_clip, grad_clip)
        x = (x + step_size * g + noise_std * torch.randn_like(x)).detach()
    return x


@pytest.mark.parametrize("check, reference, bug", [
    (grading_toy.check_grid_log_likelihood, ref02.grid_log_likelihood, _bad_grid_ll),
    (grading_toy.check_cd_loss, ref02.cd_loss, _bad_cd),
    (grading_toy.check_exact_sm_loss, ref02.exact_sm_loss, _bad_sm),
    (grading_toy.check_dsm_loss, ref02.dsm_loss, _bad_dsm),
    (grading_toy.check_nce_loss, ref02.nce_loss, _bad_nce),
    (grading_toy.check_sgld_sample, ref02.sgld_sample, _bad_sgld),
], ids=["grid_ll", "cd", "sm", "dsm", "nce", "sgld"])
def test_toy_grader_passes_reference_and_fails_bug(check, reference, bug):
    check(reference)
    with pytest.raises(AssertionError):
        check(bug)

