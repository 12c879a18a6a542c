# %% [markdown]
# # Assignment 1: the theory of energy-based models, checked by computer
#
# An energy-based model (EBM) is a scalar function $E_\theta(x)$ read as a probability through the
# Boltzmann (Gibbs) distribution. This notebook builds the four ideas the rest of the course
# stands on, each in a setting small enough to check *exactly*:
#
# 1. the Boltzmann density and its partition function $Z$, computed exactly on a 1D and 2D grid;
# 2. the maximum-likelihood gradient of an EBM, the *contrastive-divergence* gradient, verified
#    against autograd through the exact $\log Z$;
# 3. Langevin dynamics, a sampler that needs only $\nabla_x E$, checked against a density we know;
# 4. where sampling chains start (data, persistent buffer, noise) and how long they run.
#
# **What you write** (autograded): a Gaussian-mixture energy, the grid log-partition function,
# the contrastive-divergence gradient, a Langevin chain and a histogram distance. **What you
# answer** (graded by hand): four short questions. Visible tests run in the notebook; hidden
# tests check the same functions on other cases.
#
# **Sign convention.** $p_\theta(x) = \exp(-E_\theta(x)) / Z_\theta$: low energy, high
# probability. Functions here take an `energy_fn` that returns $E(x)$, shape `(B,)`. (The
# networks of later assignments return $-E(x)$; `ebm_course.models` states this once.)
#
# **Time.** Everything here is analytic and small: in the `quick` profile the reference run of
# the whole notebook took about 15 s on a 2-core CPU (12 s and 22 s on the two it was timed on; `full` runs more
# Langevin chains in section 4, `grade` fewer).

# %%
import math

import matplotlib.pyplot as plt
import torch

from ebm_course import config, toy
from ebm_course.toy_train import PersistentChains

PROFILE = config.get_profile()
print(config.run_banner("analytic energies (no data files)"))
config.seed_everything(0)
N_CHAINS = {"grade": 1000, "quick": 4000, "full": 10000}[PROFILE]  # Langevin chains in section 4

# %% [markdown]
# ## 1. The Boltzmann distribution
#
# Any function $E_\theta : \mathbb{R}^d \to \mathbb{R}$ that grows fast enough at infinity defines
#
# $$p_\theta(x) = \frac{\exp(-E_\theta(x))}{Z_\theta}, \qquad
#   Z_\theta = \int_{\mathbb{R}^d} \exp(-E_\theta(x))\, dx .$$
#
# $\exp$ makes it positive, $Z_\theta$ makes it integrate to one. The energy is defined only up
# to an additive constant: $E + c$ gives the same $p$ (and $Z$ changes by $e^{-c}$). Scaling the
# energy by $1/T$ (a *temperature*) sharpens ($T < 1$) or flattens ($T > 1$) the density without
# moving its modes. A double well in 1D:

# %%
x1d = torch.linspace(-2.4, 2.4, 601)[:, None]
double_well = lambda x: (x[:, 0] ** 2 - 1.5) ** 2 + 0.4 * x[:, 0]  # E(x), (B, 1) -> (B,)
fig, axes = plt.subplots(1, 2, figsize=(10, 3))
axes[0].plot(x1d[:, 0], double_well(x1d))
axes[0].set(title="energy E(x): two wells, the left one deeper", xlabel="x", ylim=(-1.5, 6))
for temperature in (0.5, 1.0, 2.0):
    unnorm = torch.exp(-double_well(x1d) / temperature)
    dens = unnorm / (unnorm.sum() * (x1d[1, 0] - x1d[0, 0]))  # Riemann sum: Z on a grid
    axes[1].plot(x1d[:, 0], dens, label=f"T = {temperature}")
axes[1].set(title="p(x) = exp(-E(x)/T) / Z", xlabel="x")
axes[1].legend()
plt.show()

# %% [markdown]
# ### Exercise 1: the energy of a Gaussian mixture (2 points)
#
# A mixture $p(x) = \sum_k w_k\, \mathcal{N}(x; \mu_k, \sigma_k^2 I)$ is the one multi-modal density
# whose normaliser we know ($Z = 1$ when $E = -\log p$), so it is our test bed for samplers.
# Write its energy $E(x) = -\log p(x)$ for points `x` of shape `(B, d)`. In $d$ dimensions
#
# $$\log \mathcal{N}(x; \mu, \sigma^2 I) = -\frac{\lVert x - \mu \rVert^2}{2\sigma^2}
#   - d \log \sigma - \frac{d}{2} \log(2\pi).$$
#
# Far from every component all the densities underflow to 0 and `log(sum(...))` gives `inf`:
# compute the log of the sum with `torch.logsumexp` over the components.

# %% solution id=gmm_energy from=theory:gmm_energy

# %% tests id=gmm_energy_tests points=2
"""gmm_energy: shape, a single Gaussian, normalisation on a grid, stability far away."""
x = torch.tensor([[0.0, 0.0], [1.0, -1.0], [100.0, 100.0]])
one = gmm_energy(x, torch.zeros(1, 2), torch.ones(1), torch.ones(1))
assert one.shape == (3,), f"expected shape (3,), got {tuple(one.shape)}"
assert torch.allclose(one[:2], x[:2].pow(2).sum(1) / 2 + math.log(2 * math.pi)), \
    "a standard 2D Gaussian has E(x) = ||x||^2 / 2 + log(2 pi)"
assert torch.isfinite(one).all(), "E must stay finite far from the means: use torch.logsumexp"
grid = torch.linspace(-6, 6, 241)[:, None]
mix = gmm_energy(grid, torch.tensor([[-1.0], [2.0]]), torch.tensor([0.5, 1.0]), torch.tensor([0.3, 0.7]))
assert abs((torch.exp(-mix).sum() * 0.05).item() - 1) < 1e-3, "exp(-E) should integrate to 1"
print("gmm_energy: the visible tests pass (the hidden tests grade more cases)")
### BEGIN HIDDEN TESTS
from ebm_course.instructor.assignments.theory import checks as grading_theory
grading_theory.check_gmm_energy(gmm_energy)
### END HIDDEN TESTS

# %% [markdown]
# ## 2. The partition function, exactly on a grid
#
# In one or two dimensions $Z$ is an ordinary integral. Cover the region that holds the mass with
# a grid of $n$ cells per axis, evaluate $e^{-E}$ at each cell centre $c_i$ and multiply by the cell
# volume $h^d$ (the *midpoint rule*):
#
# $$\log Z \approx \log \sum_i e^{-E(c_i)} + d \log h
#   = \operatorname{logsumexp}_i\big(-E(c_i)\big) + d \log h .$$
#
# Work in logs: energies of a trained network are easily $\pm 100$, and $e^{100}$ overflows
# float32. The same sum is why $Z$ is **intractable** for images: a grid with only 10 values per
# pixel has $10^{784}$ cells for MNIST, and Monte Carlo estimates of $Z$ (importance sampling,
# annealed importance sampling) have a variance that explodes with the dimension unless the
# proposal is already close to $p$.
#
# ### Exercise 2: `grid_log_partition` (3 points)
#
# `toy.grid_points(box, n_grid, dim)` gives the cell centres, `(n_grid ** dim, dim)`, and the
# volume of one cell. Return $\log Z$ as a scalar tensor. Keep it differentiable (no
# `torch.no_grad`, no `.item()`): section 3 differentiates through it.

# %% solution id=grid_log_partition from=theory:grid_log_partition

# %% tests id=grid_log_partition_tests points=3
"""grid_log_partition: Gaussians in 1D and 2D (log Z = d/2 log(2 pi std^2)), shifted energies."""
for dim in (1, 2):
    log_z = grid_log_partition(toy.gaussian_energy([0.5] * dim, 0.8), (-5.0, 5.0), 200, dim)
    assert log_z.shape == (), f"log Z should be a scalar tensor, got shape {tuple(log_z.shape)}"
    exact = 0.5 * dim * math.log(2 * math.pi * 0.8 ** 2)
    assert abs(log_z.item() - exact) < 1e-3, f"{dim}D Gaussian: expected {exact:.4f}, got {log_z.item():.4f}"
shifted = grid_log_partition(lambda x: toy.gaussian_energy([0.0, 0.0], 1.0)(x) + 500.0, (-6.0, 6.0), 100)
assert torch.isfinite(shifted) and abs(shifted.item() - (math.log(2 * math.pi) - 500)) < 1e-3, \
    "E + 500 should give log Z - 500: work with logsumexp, not exp"
print("grid_log_partition: the visible tests pass (the hidden tests grade more cases)")
### BEGIN HIDDEN TESTS
from ebm_course.instructor.assignments.theory import checks as grading_theory
grading_theory.check_grid_log_partition(grid_log_partition)
### END HIDDEN TESTS

# %% [markdown]
# **The normalised density integrates to one.** Take a mixture, add an arbitrary constant and a
# bump to its energy (so it is no longer normalised), compute $\log Z$ and check that
# $\exp(-E - \log Z)$ sums to one over the grid, then look at it. The grid cost $n^d$ is printed
# for a few dimensions.

# %%
MEANS = torch.tensor([[-1.5, 0.0], [1.5, 0.5], [0.0, -1.5]])
STDS = torch.tensor([0.6, 0.7, 0.5])
WEIGHTS = torch.tensor([0.3, 0.5, 0.2])
BOX = (-5.0, 5.0)


def mixture_energy(x):
    return gmm_energy(x, MEANS, STDS, WEIGHTS)


def bumpy_energy(x):  # unnormalised: a constant and a ridge added
    return mixture_energy(x) + 7.0 + 0.5 * torch.cos(2 * x[:, 0])


centres, area = toy.grid_points(BOX, 200)
for name, energy_fn in [("mixture", mixture_energy), ("bumpy", bumpy_energy)]:
    log_z = grid_log_partition(energy_fn, BOX, 200)
    mass = (torch.exp(-energy_fn(centres) - log_z).sum() * area).item()
    print(f"{name:8s}: log Z = {log_z.item():8.4f}, integral of exp(-E - log Z) = {mass:.6f}")
for d in (1, 2, 10, 784):
    print(f"grid with 100 cells per axis in d = {d:3d}: 10^{2 * d} energy evaluations")

fig, axes = plt.subplots(1, 2, figsize=(9, 4))
for ax, (name, energy_fn) in zip(axes, [("mixture", mixture_energy), ("bumpy", bumpy_energy)]):
    log_p = -energy_fn(centres) - grid_log_partition(energy_fn, BOX, 200)
    image = ax.imshow(log_p.exp().reshape(200, 200).T, origin="lower", extent=(*BOX, *BOX),
                      cmap="viridis")
    fig.colorbar(image, ax=ax, label="density p(x)", shrink=0.8)
    ax.set_title(f"{name}: exp(-E(x)) / Z")
plt.show()

# %% [markdown]
# ### Question 1 (2 points)
#
# In two or three sentences: what is an energy-based model, and what does it gain and lose
# compared with a model whose density is normalised by construction (a Gaussian mixture, a
# normalising flow, an autoregressive model)?

# %% [markdown] written id=q_what_is_an_ebm points=2
# An EBM is any scalar function $E_\theta(x)$, usually a neural network, turned into a density by
# $p_\theta(x) = e^{-E_\theta(x)} / Z_\theta$: low energy means likely. It gains freedom: any
# architecture works (no invertibility, no ordering of dimensions, no decoder), energies compose
# by addition (products of experts, conditioning, JEM's classifier), and comparing two inputs
# needs only $E$. It loses the normaliser: $Z_\theta$ is an intractable integral, so exact
# likelihoods are unavailable, and both training (the gradient of $\log Z$) and sampling need
# MCMC, which is slow and can be biased.

# %% [markdown]
# ### Question 2 (2 points)
#
# Why is $Z_\theta$ intractable for images, and name two ways EBM training gets around computing
# it (and what each costs).

# %% [markdown] written id=q_why_z points=2
# $Z_\theta$ integrates $e^{-E}$ over the whole input space; quadrature needs a number of points
# exponential in the dimension ($n^{784}$ for MNIST), and simple Monte Carlo has huge variance
# because almost all the volume has negligible mass. Ways around it: (1) never compute $Z$, only
# its gradient $\nabla_\theta \log Z = -\mathbb{E}_{p_\theta}[\nabla_\theta E]$, estimated with MCMC
# samples (contrastive divergence / SGLD): costs a sampler inside every training step and a bias
# when chains are short; (2) objectives without $Z$: score matching (needs second derivatives or,
# denoised, learns a smoothed density), noise-contrastive estimation (learns $\log Z$ as a
# parameter, needs a noise distribution close to the data); (3) estimate $Z$ only for evaluation
# with annealed importance sampling (slow, high variance).

# %% [markdown]
# ## 3. The maximum-likelihood gradient: contrastive divergence
#
# The negative log-likelihood of data $x_1 \dots x_N$ is
# $\mathcal{L}(\theta) = \frac1N \sum_n E_\theta(x_n) + \log Z_\theta$. Differentiate $\log Z$:
#
# $$\nabla_\theta \log Z_\theta = \frac{1}{Z_\theta} \int \nabla_\theta e^{-E_\theta(x)}\,dx
#   = -\int \frac{e^{-E_\theta(x)}}{Z_\theta} \nabla_\theta E_\theta(x)\,dx
#   = -\mathbb{E}_{x \sim p_\theta}\big[\nabla_\theta E_\theta(x)\big],$$
#
# so
#
# $$\nabla_\theta \mathcal{L} = \underbrace{\mathbb{E}_{\text{data}}[\nabla_\theta E_\theta(x)]}_{\text{push data energy down}}
#   - \underbrace{\mathbb{E}_{p_\theta}[\nabla_\theta E_\theta(x)]}_{\text{push sample energy up}} .$$
#
# With samples $x^-_m \sim p_\theta$ the Monte-Carlo estimate is the gradient of the surrogate
# $\frac1N \sum_n E_\theta(x_n) - \frac1M \sum_m E_\theta(x^-_m)$, with the samples held fixed.
# That is the contrastive-divergence loss of every EBM in this course.
#
# ### Exercise 3: `cd_gradient` (3 points)
#
# Return the gradient of that surrogate with respect to each tensor in `params`, as a list
# (use `torch.autograd.grad`; the samples must not carry a gradient).

# %% solution id=cd_gradient from=theory:cd_gradient

# %% tests id=cd_gradient_tests points=3
"""cd_gradient: for E = theta . phi(x) the gradient is mean phi(x_data) - mean phi(x_model)."""
theta = torch.tensor([0.5, -1.0], requires_grad=True)
energy_lin = lambda x: x[:, 0] * theta[0] + x[:, 0] ** 2 * theta[1]
x_d, x_m = torch.tensor([[1.0], [2.0]]), torch.tensor([[0.0], [-1.0], [3.0]])
(grad,) = cd_gradient(energy_lin, [theta], x_d, x_m)
want = torch.tensor([1.5 - 2 / 3, 2.5 - 10 / 3])
assert grad.shape == theta.shape, "one gradient per parameter, shaped like it"
assert torch.allclose(grad, want, atol=1e-5), f"expected {want.tolist()}, got {grad.tolist()}"
print("cd_gradient: the visible tests pass (the hidden tests grade more cases)")
### BEGIN HIDDEN TESTS
from ebm_course.instructor.assignments.theory import checks as grading_theory
grading_theory.check_cd_gradient(cd_gradient)
### END HIDDEN TESTS

# %% [markdown]
# **Check it against autograd.** For a 1D energy with three parameters we can compute the exact
# NLL (with your grid $\log Z$) and differentiate it with autograd. The CD estimate uses exact
# samples of $p_\theta$ (drawn from the grid); its error should shrink like $1/\sqrt{M}$. One
# draw of $M$ samples gives one random error, which can sit well above or below that trend, so
# we average the squared error over 20 independent draws per $M$: then
# $\text{RMS error} \times \sqrt{M}$ stays about constant.

# %%
theta = torch.tensor([0.3, 0.1, 0.5], requires_grad=True)


def energy_theta(x):  # a tilted, wiggly quartic: no closed-form Z
    return theta[0] * x[:, 0] ** 2 + theta[1] * x[:, 0] ** 4 + theta[2] * torch.sin(3 * x[:, 0])


g = torch.Generator().manual_seed(0)
x_data = toy.sample_gmm(2000, torch.tensor([[-1.0], [1.2]]), torch.tensor([0.4, 0.6]),
                        torch.tensor([0.5, 0.5]), generator=g)
nll = energy_theta(x_data).mean() + grid_log_partition(energy_theta, (-6.0, 6.0), 2000, dim=1)
exact_grad = torch.autograd.grad(nll, theta)[0]
print("exact gradient (autograd through log Z):", [round(v, 4) for v in exact_grad.tolist()])
for n_model in (100, 1000, 10000, 100000):
    errors = []
    for _ in range(20):
        x_model = toy.sample_grid(energy_theta, (-6.0, 6.0), 2000, n_model, dim=1, generator=g)
        (est,) = cd_gradient(energy_theta, [theta], x_data, x_model)
        errors.append(((est - exact_grad).norm() / exact_grad.norm()).item() ** 2)
    rms = math.sqrt(sum(errors) / len(errors))
    print(f"CD estimate with {n_model:6d} model samples: RMS relative error {rms:.4f} "
          f"(x sqrt(M) = {rms * math.sqrt(n_model):.2f})")

# %% [markdown]
# ## 4. Langevin dynamics: sampling with only $\nabla_x E$
#
# Samples from $p_\theta$ are what CD needs, and $Z$ is what we cannot compute. Langevin dynamics
# needs neither $Z$ nor $p$, only the gradient of the energy:
#
# $$x_{t+1} = x_t - \epsilon\, \nabla_x E(x_t) + \sqrt{2\epsilon}\; \xi_t, \qquad \xi_t \sim \mathcal{N}(0, I).$$
#
# As $\epsilon \to 0$ and $t \to \infty$ the law of $x_t$ tends to $p = e^{-E}/Z$ (the
# *unadjusted* Langevin algorithm has an $O(\epsilon)$ bias; a Metropolis correction removes it).
# Deep-EBM papers decouple the step from the noise (large step, small noise, clipped gradients):
# "SGLD" there is a fast mode-seeker, not an exact sampler.
#
# ### Exercise 4: `ula_chain` (3 points)
#
# Run `n_steps` of the update above from `x` (do not modify `x`), using `torch.autograd.grad` for
# $\nabla_x E$, and return the final samples, detached. Use `generator` for the noise when given
# (`torch.randn(shape, generator=generator)`). The function must also work when called under
# `torch.no_grad()` (wrap the gradient in `torch.enable_grad()`).

# %% solution id=ula_chain from=theory:ula_chain

# %% tests id=ula_chain_tests points=3
"""ula_chain: on a Gaussian energy the chains reach its mean and standard deviation."""
x0 = torch.zeros(3000, 2)
samples = ula_chain(toy.gaussian_energy([1.0, -2.0], 0.5), x0, 300, 0.01,
                    generator=torch.Generator().manual_seed(0))
assert samples.shape == (3000, 2) and not samples.requires_grad, "return detached (B, d) samples"
assert torch.equal(x0, torch.zeros(3000, 2)), "do not modify x in place"
assert torch.allclose(samples.mean(0), torch.tensor([1.0, -2.0]), atol=0.05), \
    f"expected mean (1, -2), got {samples.mean(0).tolist()}"
assert abs(samples.std(0).mean().item() - 0.5) < 0.03, \
    f"expected std 0.5, got {samples.std(0).tolist()}: is the noise sqrt(2 * step_size)?"
print("ula_chain: the visible tests pass (the hidden tests grade more cases)")
### BEGIN HIDDEN TESTS
from ebm_course.instructor.assignments.theory import checks as grading_theory
grading_theory.check_ula_chain(ula_chain)
### END HIDDEN TESTS

# %% [markdown]
# **Langevin on the mixture, checked against the known density.** Start chains uniformly in the
# box and compare their moments with the mixture's exact mean and covariance. The mode *weights*
# converge slowest: a chain must cross a low-density valley to move mass between modes.

# %%
g = torch.Generator().manual_seed(1)
x_start = torch.rand(N_CHAINS, 2, generator=g) * 8 - 4
x_lang = ula_chain(mixture_energy, x_start, 100 if PROFILE == "grade" else 500, 0.02, generator=g)
mean_exact, cov_exact = toy.gmm_moments(MEANS, STDS, WEIGHTS)
print("mean:  Langevin", [round(v, 3) for v in x_lang.mean(0).tolist()],
      " exact", [round(v, 3) for v in mean_exact.tolist()])
print("cov:   Langevin", [round(v, 3) for v in torch.cov(x_lang.T).flatten().tolist()],
      " exact", [round(v, 3) for v in cov_exact.flatten().tolist()])

# %% [markdown]
# ### Exercise 5: a histogram distance to the exact density (2 points)
#
# Moments miss a lot (mode weights, shapes). Compare distributions instead: bin the samples on an
# `n_bins x n_bins` grid over the box (drop samples outside it), normalise to cell shares
# $\hat p_i$; evaluate the exact cell masses $p_i \propto e^{-E(c_i)}$ at the same cells' centres
# (normalised to sum to one); return the total-variation distance
# $\tfrac12 \sum_i |\hat p_i - p_i| \in [0, 1]$ as a float. Mind the orientation: the bin of a
# sample must be the cell whose centre `toy.grid_points` lists at the same index.

# %% solution id=histogram_tv from=theory:histogram_tv

# %% tests id=histogram_tv_tests points=2
"""histogram_tv: a hand-computed case, exact samples score low, uniform samples high."""
flat_energy = lambda x: torch.zeros(len(x))
one_cell = torch.full((10, 2), -0.5)  # all in the lower-left of 4 cells over (-1, 1)
tv = histogram_tv(one_cell, flat_energy, (-1.0, 1.0), 2)
assert abs(float(tv) - 0.75) < 1e-6, f"expected 0.5 * (0.75 + 3 * 0.25) = 0.75, got {tv}"
# A Gaussian energy from the package, not your gmm_energy: this test grades histogram_tv alone.
gauss = toy.gaussian_energy([0.5, -1.0], 0.8)
exact = torch.tensor([0.5, -1.0]) + 0.8 * torch.randn(20000, 2, generator=torch.Generator().manual_seed(2))
assert histogram_tv(exact, gauss, BOX, 20) < 0.06, "exact samples should be close"
assert histogram_tv(torch.rand(20000, 2) * 10 - 5, gauss, BOX, 20) > 0.4, "uniform samples are far"
print("histogram_tv: the visible tests pass (the hidden tests grade more cases)")
### BEGIN HIDDEN TESTS
from ebm_course.instructor.assignments.theory import checks as grading_theory
grading_theory.check_histogram_tv(histogram_tv)
### END HIDDEN TESTS

# %% [markdown]
# **Short-run vs convergent chains.** Follow the same chains and measure the distance to the
# exact density as they run. Exact samples set the floor (finite-sample noise of the histogram).

# %%
steps = [0, 10, 30, 100, 300, 1000] if PROFILE != "grade" else [0, 10, 100]
g = torch.Generator().manual_seed(3)
x = torch.rand(N_CHAINS, 2, generator=g) * 8 - 4
tv_by_step, snapshots, done = {}, {}, 0
for n in steps:
    x = ula_chain(mixture_energy, x, n - done, 0.02, generator=g)
    done = n
    tv_by_step[n] = histogram_tv(x, mixture_energy, BOX, 25)
    snapshots[n] = x.clone()
floor = histogram_tv(toy.sample_gmm(N_CHAINS, MEANS, STDS, WEIGHTS, generator=g), mixture_energy, BOX, 25)
print({n: round(v, 3) for n, v in tv_by_step.items()}, f"exact samples: {floor:.3f}")
fig, axes = plt.subplots(1, len(steps) + 1, figsize=(3 * (len(steps) + 1), 3))
for ax, n in zip(axes, steps):
    ax.scatter(*snapshots[n][:1500].T, s=1)
    ax.set(title=f"{n} steps, TV {tv_by_step[n]:.2f}", xlim=BOX, ylim=BOX)
image = axes[-1].imshow(torch.exp(-mixture_energy(centres)).reshape(200, 200).T, origin="lower",
                        extent=(*BOX, *BOX))
fig.colorbar(image, ax=axes[-1], label="p(x)", shrink=0.8)
axes[-1].set_title("exact density")
plt.show()

# %% [markdown]
# ## 5. Where chains start: data, persistent, noise
#
# Training an EBM calls the sampler at every step, so chains must be short. Where they start
# decides what the gradient sees. (Names, once: in this course *the CD loss* is the surrogate of
# section 3, whatever sampler supplies $x^-$; *CD-$k$* is one such sampler, $k$ steps started at
# the data, as Hinton defined it; *PCD* and *short-run* are the other two below.)
#
# * **data** (CD-$k$, Hinton 2002): start at the data batch, run $k$ steps.
#   Cheap and low-variance, but the samples never leave the data's neighbourhood: a *spurious
#   mode* far from the data is never visited, so its energy is never pushed up.
# * **noise** (short-run MCMC, Nijkamp et al. 2019): fresh uniform noise each time. Explores, but
#   $k$ steps from noise are far from equilibrium.
# * **persistent** (PCD, Tieleman 2008; the replay buffer of Du & Mordatch 2019): keep the chains'
#   end points in a buffer and continue them at the next step, restarting a few from noise. Over
#   many steps the chains run long, and restarts keep exploring.
#
# Below, the *model* has a spurious third mode that the *data* lacks. We run 20 "training
# iterations" of 10 Langevin steps each and report the share of samples in the spurious mode
# (exact: 0.3).

# %%
MODEL_MEANS = torch.tensor([[-2.0, 0.0], [2.0, 1.0], [2.5, -3.0]])
MODEL_WEIGHTS = torch.tensor([0.35, 0.35, 0.3])
model_energy = lambda x: gmm_energy(x, MODEL_MEANS, torch.tensor([0.5, 0.5, 0.5]), MODEL_WEIGHTS)
data_sampler = lambda n, g: toy.sample_gmm(n, MODEL_MEANS[:2], torch.tensor([0.5, 0.5]),
                                           torch.tensor([0.5, 0.5]), generator=g)
in_spurious = lambda x: ((x - MODEL_MEANS[2]).norm(dim=1) < 1.5).float().mean().item()
n_batch = N_CHAINS // 4
g = torch.Generator().manual_seed(4)
chains = PersistentChains(n_batch, 2, reinit_prob=0.05, box=BOX, seed=4)
share = {"data": [], "noise": [], "persistent": []}
for it in range(20):
    for kind in share:
        run = lambda x0: ula_chain(model_energy, x0, 10, 0.02, generator=g)
        if kind == "persistent":  # every chain continues where it stopped
            x_k = chains.advance(run)
        else:
            x0 = data_sampler(n_batch, g) if kind == "data" else torch.rand(n_batch, 2, generator=g) * 10 - 5
            x_k = run(x0)
        share[kind].append(in_spurious(x_k))
plt.figure(figsize=(6, 3))
for kind, values in share.items():
    plt.plot(values, label=f"{kind} starts")
plt.axhline(0.3, color="k", ls="--", label="exact")
plt.xlabel("training iteration (10 Langevin steps each)")
plt.ylabel("share in the spurious mode")
plt.legend()
plt.show()
print({kind: round(v[-1], 3) for kind, v in share.items()})

# %% [markdown]
# ### Question 3 (2 points)
#
# EBMs sample at *training* time and at *inference* time. Explain the difference in what each
# needs from the sampler (speed, accuracy, where chains start), and which inference tasks need no
# sampling at all.

# %% [markdown] written id=q_inference_vs_training points=2
# Training needs samples of the current model at every parameter update, only to estimate
# $\mathbb{E}_{p_\theta}[\nabla_\theta E]$: they must be cheap (short runs), and a biased but
# informative sample is acceptable; chains start from a persistent buffer or data so that a few
# steps suffice, and the model adapts to its own sampler. Inference by generation wants samples
# that are accurate and diverse: long runs from noise, many steps, possibly annealing and a
# Metropolis correction, at a cost paid once. Inference tasks that compare inputs need no
# sampling: scoring or ranking by $E(x)$ (outlier detection), classification with JEM ($\log
# p(y|x)$ is a softmax of logits, $Z$ cancels), energy differences between two inputs; only
# conditional completion (inpainting, denoising) again needs MCMC, but clamped to the known part.

# %% [markdown]
# ### Question 4 (2 points)
#
# From the experiment above: why do data-initialised short chains fail to correct a spurious
# mode, and name three techniques that help a sampler explore the whole space.

# %% [markdown] written id=q_explore points=2
# Started at the data and run for $k$ steps, chains stay within about $k$ step lengths of the data;
# Langevin needs exponentially long to cross a low-density barrier, so a mode far from the data is
# never visited and its energy never pushed up (the CD-$k$ gradient ignores it). Helpful
# techniques: restarting a fraction of chains from noise (replay buffer with `reinit_prob`);
# persistent chains that run long over many updates; larger steps / higher temperature, annealing
# or tempering (parallel tempering, annealed Langevin over noise levels); many chains; Metropolis-
# adjusted or Hamiltonian MC with longer trajectories; initialising from a broad proposal (a
# Gaussian fitted to the data, a flow).
