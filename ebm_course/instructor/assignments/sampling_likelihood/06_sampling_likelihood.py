# %% [markdown]
# # Assignment 6: sampling and likelihood, measured
#
# Assignments 3 and 4 trained EBMs with "SGLD": a few dozen Langevin steps with a large step, a
# tiny noise and clipped gradients, started from a replay buffer. Nobody checked whether those
# chains sample $p_\theta(x) = e^{-E_\theta(x)}/Z_\theta$, and nobody computed $p_\theta$ of a
# test image. This assignment does both, first where everything has an exact answer (2D
# energies on a grid), then on your MNIST EBM of assignment 3.
#
# 1. **Unadjusted Langevin is biased**, and you measure how much, as a function of the step size.
# 2. **Metropolis-adjusted Langevin (MALA) and Hamiltonian Monte Carlo (HMC)** remove the bias
#    at the same step size; you measure what that costs.
# 3. **Chain diagnostics** (ArviZ's R-hat and effective sample size) tell you when to believe a
#    chain, and what your 03 model's short-run and persistent chains are, and are not.
# 4. **Annealed importance sampling (AIS)** estimates $\log Z$, checked against the exact value in
#    2D, then the test log-likelihood of your MNIST EBM.
# 5. **Annealed Langevin over noise scales** (Song and Ermon 2019) mixes between modes where
#    plain Langevin gets stuck: the bridge to diffusion models.
#
# **What you write** (autograded): `ula_step`, `tv_distance`, `mala_step`, `leapfrog`,
# `hmc_step`, `ais_log_z`, `annealed_langevin`. **What you answer** (graded by hand): three
# questions. Visible tests run here; hidden tests grade each function on other cases, in
# isolation (a wrong `leapfrog` costs points in its own exercise only).
#
# **Run profiles.** `EBM_COURSE_PROFILE`: `quick` (the default on a CPU: about 70 s on a
# 2-core CPU), `full` (more chains and temperatures, one GPU), `grade` (the autograder: tiny
# sizes). Section 3 and 4 load the EBM your assignment 3 exported: **run assignment 3 first**, in
# the same profile (without an export this notebook says so and stops; only the autograder's
# `grade` profile puts an untrained stand-in there, since your functions are graded on their own
# cases).

# %%
import functools
import json
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown, display

from ebm_course import config, data, mcmc, plotting, toy
from ebm_course.ebm import mnist_ebm_config
from ebm_course.results import figure_path, write_results

PROFILE = config.get_profile()
CFG = mcmc.sampling_config(PROFILE)
DEVICE = config.get_device()
if DEVICE.type == "cpu":  # thousands of small steps: one thread avoids a sync per operation
    torch.set_num_threads(1)  # (measured on a busy 2-core machine: 7 ms vs 400 ms per MNIST step)
print(config.run_banner())
print(mcmc.find_mnist_ebm(PROFILE)[1])  # the 03 EBM sections 4-6 use
config.seed_everything(CFG.seed)
TIMINGS = {}  # seconds per section, printed at the end


def timed(name):
    """Context manager adding a block's wall time to TIMINGS[name]."""
    class _Timer:
        def __enter__(self):
            self.start = time.perf_counter()

        def __exit__(self, *exc):
            TIMINGS[name] = TIMINGS.get(name, 0.0) + time.perf_counter() - self.start
    return _Timer()


def save_figure(fig, filename):
    """Save a key figure under results/ (not in the grade profile, which writes nothing)."""
    path = figure_path(filename)
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, bbox_inches="tight", dpi=100)


# %% [markdown]
# ## 1. Three 2D targets with exact answers
#
# A Gaussian **mixture** (three well-separated modes), a **banana** (a curved ridge: a narrow
# valley whose direction changes) and a **ring** (a thin circle: curvature 25 across it, none
# along it). Each comes with a box that holds its mass; on a fine grid over the box, $Z$ is a
# sum and the cell probabilities $p_i$ are exact (`mcmc.grid_density`). Their $\log Z$: the
# mixture is normalised ($\log Z = 0$); the others are not.

# %%
ENERGIES = mcmc.energies_2d()
EXACT = {name: mcmc.grid_density(fn, box, CFG.n_grid) for name, (fn, box) in ENERGIES.items()}
fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
for ax, (name, (fn, box)) in zip(axes, ENERGIES.items()):
    probs, log_z = EXACT[name]
    image = ax.imshow(probs.T, origin="lower", extent=(*box, *box), cmap="viridis")
    ax.set_title(f"{name}: log Z = {log_z:.3f}")
    fig.colorbar(image, ax=ax, shrink=0.8, label="cell probability")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 2. Unadjusted Langevin, and its bias
#
# The unadjusted Langevin algorithm (ULA) discretises the Langevin diffusion
# $dX_t = -\nabla E(X_t)\,dt + \sqrt{2}\,dW_t$, whose stationary law is $p \propto e^{-E}$:
#
# $$x' = x - \epsilon \nabla E(x) + \sqrt{2\epsilon}\,\xi, \qquad \xi \sim \mathcal N(0, I).$$
#
# The *discretised* chain has its own stationary law $p_\epsilon \neq p$, at distance
# $O(\epsilon)$. On a Gaussian of variance $s^2$ you can do it by hand:
# $x' = (1 - \epsilon/s^2)\,x + \sqrt{2\epsilon}\,\xi$ has stationary variance
# $s^2 / (1 - \epsilon / (2 s^2))$, too wide, and infinite (the chain explodes) once
# $\epsilon \geq 2 s^2$. What 03 and 04 ran is further still from $p$: SGLD with
# `noise_std` $\ll \sqrt{2 \cdot \text{step\_size}}$ targets roughly
# $e^{-E/T} \propto p^{1/T}$ at a temperature $T = \text{noise\_std}^2 / (2\,\text{step\_size})$;
# 03's settings give $T \approx 10^{-6}$, so $p^{1/T}$ piles all its mass onto the deepest minima:
# a mode-seeker.
#
# ### Exercise 1: `ula_step` (2 points)
#
# One step for a batch of independent chains, `x` of shape (B, ...) (2D points or images).
# `noise_std=None` means ULA proper, $\sqrt{2\epsilon}$; a float decouples the noise (SGLD, used
# on your 03 model in section 3). Draw the noise from `generator`
# (`torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)`), use
# `torch.autograd.grad` inside `torch.enable_grad()` (callers may be under `no_grad`), do not
# modify `x`, return a detached tensor. (It is 01's `ula_chain` cut to one step.)

# %% solution id=ula_step from=sampling_likelihood:ula_step

# %% tests id=ula_step_tests points=2
"""ula_step: a noise-free step on E = |x|^2 / 2, and the noise scale on a flat energy."""
half_sq = lambda z: 0.5 * z.pow(2).flatten(1).sum(1)
x = torch.tensor([[1.0, -2.0], [0.5, 0.0]])
assert torch.allclose(ula_step(half_sq, x, 0.1, torch.Generator().manual_seed(0), noise_std=0.0), 0.9 * x), "expected x - 0.1 * x"
with torch.no_grad():
    out = ula_step(half_sq, x, 0.1, torch.Generator().manual_seed(0))
assert out.shape == x.shape and not out.requires_grad, "return detached states of the input's shape"
flat = lambda z: 0.0 * z.flatten(1).sum(1)
noisy = ula_step(flat, torch.zeros(20000, 2), 0.08, torch.Generator().manual_seed(0))
assert abs(noisy.std().item() - 0.4) < 0.01, f"noise std should be sqrt(2 * 0.08) = 0.4, got {noisy.std():.3f}"
again = ula_step(flat, torch.zeros(20000, 2), 0.08, torch.Generator().manual_seed(0))
assert torch.equal(noisy, again), "the same generator state should give the same result"
print("ula_step: the visible tests pass (the hidden tests grade more cases)")
### BEGIN HIDDEN TESTS
from ebm_course.instructor.assignments.sampling_likelihood import checks as grading_06
grading_06.check_ula_step(ula_step)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2: `tv_distance` (2 points)
#
# The total-variation distance between the samples' histogram on the grid and the exact cell
# probabilities: with $\hat p_i$ the *share of all samples* in cell $i$ and $\hat p_{\text{out}}$
# the share outside the box (where $p$ has no mass),
#
# $$\mathrm{TV} = \tfrac12 \Big(\sum_i |\hat p_i - p_i| + \hat p_{\text{out}}\Big) \in [0, 1].$$
#
# Unlike 01's `histogram_tv`, samples outside the box count: a chain that escapes (ULA at a
# large step) must score badly, not be dropped. Cell $(i, j)$ covers the $i$-th of $n$ equal
# intervals of the box along the first coordinate and the $j$-th along the second (the layout
# of `grid_probs[i, j]`). Return a float.

# %% solution id=tv_distance from=sampling_likelihood:tv_distance

# %% tests id=tv_distance_tests points=2
"""tv_distance: identical, disjoint, and half outside the box."""
probs = torch.tensor([[0.5, 0.0], [0.0, 0.5]])  # cells (0, 0) and (1, 1) of the box (-1, 1)
same = torch.tensor([[-0.5, -0.5], [0.5, 0.5]])
assert abs(tv_distance(same, probs, (-1.0, 1.0))) < 1e-9, "samples matching the cells: TV 0"
disjoint = torch.tensor([[-0.5, 0.5], [0.5, -0.5]])
assert abs(tv_distance(disjoint, probs, (-1.0, 1.0)) - 1.0) < 1e-9, "samples in the empty cells: TV 1"
half_out = torch.tensor([[-0.5, -0.5], [0.5, 0.5], [3.0, 0.0], [0.0, -3.0]])
assert abs(tv_distance(half_out, probs, (-1.0, 1.0)) - 0.5) < 1e-9, "half the samples outside: TV 0.5"
print("tv_distance: the visible tests pass (the hidden tests grade more cases)")
### BEGIN HIDDEN TESTS
from ebm_course.instructor.assignments.sampling_likelihood import checks as grading_06
grading_06.check_tv_distance(tv_distance)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Removing the bias: MALA and HMC
#
# **MALA** (Roberts and Tweedie 1996) treats the ULA move as a *proposal*
# $y \sim q(\cdot \mid x) = \mathcal N\big(x - \epsilon \nabla E(x),\ 2\epsilon I\big)$ and accepts
# it with the Metropolis-Hastings probability
#
# $$\alpha(x, y) = \min\Big(1,\ \frac{e^{-E(y)}\, q(x \mid y)}{e^{-E(x)}\, q(y \mid x)}\Big),
# \qquad \log q(b \mid a) = -\frac{\lVert b - a + \epsilon \nabla E(a) \rVert^2}{4 \epsilon} + \text{const}.$$
#
# The proposal is not symmetric (it drifts downhill), so the ratio $q(x\mid y)/q(y\mid x)$ does
# not cancel: forget it and the chain is biased again. Accepting with probability $\alpha$ makes
# $p$ *exactly* stationary at any step size (detailed balance); a larger step only costs
# rejections. Note $Z$ cancels in the ratio: MALA needs only energies and their gradients.
#
# ### Exercise 3: `mala_step` (3 points)
#
# For a batch of independent chains: one proposal per chain (noise from `generator`), one
# uniform $u$ per chain (`torch.rand(len(x), generator=generator, ...)`), accept where
# $\log u < \log \alpha$ (compute in log space: energies of hundreds of nats overflow `exp`).
# Return `(x_new, accepted)`: the proposal where accepted, the old state elsewhere, detached; and
# the (B,) bool mask. A proposal of infinite energy must be rejected.

# %% solution id=mala_step from=sampling_likelihood:mala_step

# %% tests id=mala_step_tests points=3
"""mala_step: the mask matches the moves, a Gaussian stays put, tiny steps are accepted."""
gauss = lambda z: 0.5 * z.pow(2).flatten(1).sum(1)
g = torch.Generator().manual_seed(0)
x0 = torch.randn(20000, 1, generator=g)
x, acc = mala_step(gauss, x0, 0.8, g)
assert acc.dtype == torch.bool and acc.shape == (20000,), "accepted: a (B,) bool tensor"
assert torch.equal((x != x0).any(1), acc), "exactly the accepted chains move"
for _ in range(10):
    x, acc = mala_step(gauss, x, 0.8, g)
assert abs(x.var().item() - 1.0) < 0.05, f"N(0, 1) should stay N(0, 1) (variance {x.var():.3f}): is the proposal correction right?"
_, acc = mala_step(gauss, x0, 1e-5, g)
assert acc.float().mean() > 0.99, "tiny steps: nearly every proposal accepted"
print("mala_step: the visible tests pass (the hidden tests grade more cases)")
### BEGIN HIDDEN TESTS
from ebm_course.instructor.assignments.sampling_likelihood import checks as grading_06
grading_06.check_mala_step(mala_step)
### END HIDDEN TESTS

# %% [markdown]
# **HMC** (Duane et al. 1987; Neal 2011) adds a momentum $p \sim \mathcal N(0, I)$ and simulates
# Hamiltonian dynamics of $H(x, p) = E(x) + \tfrac12 \lVert p \rVert^2$, which conserves $H$ and
# volume, so a long move can land far away and still be accepted. The **leapfrog** integrator
# with step $h$, $L$ steps:
#
# $$p \leftarrow p - \tfrac h2 \nabla E(x);\quad \big[x \leftarrow x + h\,p;\ \ p \leftarrow p - h \nabla E(x)\big]^{L-1};\quad x \leftarrow x + h\,p;\ \ p \leftarrow p - \tfrac h2 \nabla E(x).$$
#
# It is reversible (negate $p$ and it retraces its path) and volume-preserving, but conserves $H$
# only up to $O(h^2)$; a Metropolis test on $H$ removes that error:
# accept with probability $\min(1, e^{H(x, p) - H(x', p')})$. With $L = 1$ and $h^2 / 2 = \epsilon$,
# HMC *is* MALA; larger $L$ travels further per proposal, for $L + 1$ gradients.
#
# ### Exercise 4: `leapfrog` (2 points)
#
# `n_steps` leapfrog steps from `(x, p)` as above (fuse the inner half kicks or not, the result
# is the same); return `(x, p)`, detached, inputs unmodified.

# %% solution id=leapfrog from=sampling_likelihood:leapfrog

# %% tests id=leapfrog_tests points=2
"""leapfrog: on E = x^2 / 2 one step is a known linear map, and the path is reversible."""
x0, p0 = torch.tensor([[1.0]]), torch.tensor([[0.5]])
x1, p1 = leapfrog(lambda z: 0.5 * z.pow(2).sum(1), x0, p0, 0.1, 1)
# half kick: p = 0.5 - 0.05 * 1 = 0.45; drift: x = 1.045; half kick: p = 0.45 - 0.05 * 1.045
assert torch.allclose(x1, torch.tensor([[1.045]])) and torch.allclose(p1, torch.tensor([[0.39775]])), f"got x={x1}, p={p1}"
xs, ps = leapfrog(lambda z: 0.5 * z.pow(2).sum(1) + z.pow(4).sum(1), x0, p0, 0.05, 20)
xb, pb = leapfrog(lambda z: 0.5 * z.pow(2).sum(1) + z.pow(4).sum(1), xs, -ps, 0.05, 20)
assert torch.allclose(xb, x0, atol=1e-4) and torch.allclose(-pb, p0, atol=1e-4), "negating p should retrace the path"
print("leapfrog: the visible tests pass (the hidden tests grade more cases)")
### BEGIN HIDDEN TESTS
from ebm_course.instructor.assignments.sampling_likelihood import checks as grading_06
grading_06.check_leapfrog(leapfrog)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 5: `hmc_step` (3 points)
#
# Per chain: fresh momenta $p \sim \mathcal N(0, I)$ from `generator`, `n_leapfrog` steps of
# *your* `leapfrog`, then one $u$ per chain and accept where
# $\log u < H(x, p) - H(x', p')$. Return `(x_new, accepted)` as in `mala_step`.

# %% solution id=hmc_step from=sampling_likelihood:hmc_step

# %% tests id=hmc_step_tests points=3
"""hmc_step: a Gaussian stays put at a large step, tiny steps are accepted."""


def leapfrog_passes_its_test():
    """Whether your leapfrog (Exercise 4) passes its visible test: hmc_step calls it."""
    try:
        x1, p1 = leapfrog(lambda z: 0.5 * z.pow(2).sum(1), torch.tensor([[1.0]]),
                          torch.tensor([[0.5]]), 0.1, 1)
        return bool(torch.allclose(x1, torch.tensor([[1.045]]))
                    and torch.allclose(p1, torch.tensor([[0.39775]])))
    except Exception:
        return False


if leapfrog_passes_its_test():
    g = torch.Generator().manual_seed(1)
    x0 = torch.randn(20000, 1, generator=g)
    x = x0
    for _ in range(10):
        x, acc = hmc_step(gauss, x, 1.2, g, n_leapfrog=3)
    assert acc.dtype == torch.bool and acc.shape == (20000,), f"accepted: a (B,) bool tensor, got {acc.dtype} {tuple(acc.shape)}"
    assert abs(x.var().item() - 1.0) < 0.05, f"N(0, 1) should stay N(0, 1) (variance {x.var():.3f})"
    _, acc = hmc_step(gauss, x0, 1e-3, g, n_leapfrog=5)
    assert acc.float().mean() > 0.99, f"tiny steps: nearly every proposal accepted (got {acc.float().mean():.3f})"
    print("hmc_step: the visible tests pass (the hidden tests grade more cases)")
else:
    print("hmc_step's visible tests need your leapfrog (Exercise 4), which does not pass its own "
          "test yet: they are skipped. The grader tests hmc_step with a correct leapfrog, so "
          "each exercise is graded on its own.")
### BEGIN HIDDEN TESTS
from ebm_course.instructor.assignments.sampling_likelihood import checks as grading_06
grading_06.check_hmc_step(hmc_step)
### END HIDDEN TESTS

# %% [markdown]
# ### The bias, measured
#
# Every sampler starts its chains at **exact** samples of the target, so whatever distance
# appears after the run is the sampler's own bias, not an unfinished burn-in. Each is
# parametrised by the same $\epsilon$: ULA and MALA step $\epsilon$, HMC leapfrog step
# $h = \sqrt{2\epsilon}$ with $L = 5$. The dashed line is the TV of as many exact samples: the
# histogram's own noise, the floor no sampler can go below.

# %%
STEP_SIZES = (0.005, 0.02, 0.05, 0.2) if PROFILE != "grade" else (0.01, 0.2)
N_LEAPFROG = 5
SAMPLERS = {
    "ULA": lambda eps: lambda e, x, g: ula_step(e, x, eps, g),
    "MALA": lambda eps: lambda e, x, g: mala_step(e, x, eps, g),
    "HMC": lambda eps: lambda e, x, g: hmc_step(e, x, math.sqrt(2 * eps), g, n_leapfrog=N_LEAPFROG),
}
tv, acceptance, floor = {}, {}, {}
with timed("2D samplers"):
    for name, (fn, box) in ENERGIES.items():
        probs, _ = EXACT[name]
        g = torch.Generator().manual_seed(CFG.seed)
        x_exact = toy.sample_grid(fn, box, 8 * CFG.n_grid, CFG.n_chains, generator=g)
        floor[name] = tv_distance(toy.sample_grid(fn, box, 8 * CFG.n_grid, CFG.n_chains, generator=g), probs, box)
        for sampler, make in SAMPLERS.items():
            for eps in STEP_SIZES:
                out = mcmc.run_chains(make(eps), fn, x_exact, CFG.n_steps, g)
                tv[name, sampler, eps] = tv_distance(out["x"], probs, box)
                acceptance[name, sampler, eps] = out["acceptance"]
fig, axes = plt.subplots(2, 3, figsize=(13, 7), sharex=True)
for j, name in enumerate(ENERGIES):
    for k, (sampler, marker) in enumerate(zip(SAMPLERS, "os^")):  # one colour per sampler in every panel
        style = dict(marker=marker, color=f"C{k}", label=sampler)
        axes[0, j].plot(STEP_SIZES, [tv[name, sampler, e] for e in STEP_SIZES], **style)
        if sampler != "ULA":
            axes[1, j].plot(STEP_SIZES, [acceptance[name, sampler, e] for e in STEP_SIZES], **style)
    axes[0, j].axhline(floor[name], ls="--", c="grey", label="exact samples")
    axes[0, j].set(title=f"{name}: TV after {CFG.n_steps} steps", xscale="log", ylim=(0, 1.02))
    axes[1, j].set(title=f"{name}: acceptance rate", xscale="log", xlabel="step size $\\epsilon$", ylim=(0, 1.02))
axes[0, 0].set_ylabel("TV distance to the exact density")
axes[0, 0].legend()
axes[1, 0].legend()
plt.tight_layout()
save_figure(fig, "06_sampling_likelihood_tv_vs_step.png")
plt.show()
rows = ["| energy | sampler | " + " | ".join(f"TV (acc.) at {e}" for e in STEP_SIZES) + " |",
        "|---|---|" + "---|" * len(STEP_SIZES)]
for name in ENERGIES:
    for sampler in SAMPLERS:
        rows.append(f"| {name} | {sampler} | " + " | ".join(
            f"{tv[name, sampler, e]:.3f} ({acceptance[name, sampler, e]:.2f})" for e in STEP_SIZES) + " |")
display(Markdown("\n".join(rows) + f"\n\nTV of {CFG.n_chains} exact samples: " +
                 ", ".join(f"{k} {v:.3f}" for k, v in floor.items())))

# %% [markdown]
# Read the plots together. ULA's distance grows with $\epsilon$ and reaches 1 on the ring and
# the banana, where the step passes the stability limit ($\epsilon \gtrsim 2/\text{curvature}$)
# and chains fly out of the box. MALA and HMC stay at the floor at every step size: the bias is
# gone. Averaged over the three targets at the largest step ($\epsilon = 0.2$), ULA's TV is
# 0.73 to 0.74 over three seeds, MALA's and HMC's 0.08 to 0.09, at the floor (0.06 to 0.10):
# the ordering holds on every seed. What they pay shows in the acceptance rate: at large
# $\epsilon$ most proposals on the banana and the ring are rejected and the chains barely move
# (on the mixture most are still accepted). Here that costs nothing, because they *started* at
# exact samples; from a poor start it would mean no progress at all. An HMC at the floor with
# an acceptance near zero has not sampled anything: it has stood still. Which brings us to
# diagnostics.

# %% [markdown]
# ## 4. When to trust a chain: R-hat and effective sample size
#
# A chain's draws are correlated, so $n$ draws carry the information of fewer independent ones:
# the **effective sample size** $\text{ESS} = n / (1 + 2\sum_{k\ge1} \rho_k)$, with $\rho_k$ the
# autocorrelation at lag $k$. And a chain can look stationary while stuck in one mode; only
# **several chains from dispersed starts** reveal that. **R-hat** compares the variance between
# chains with the variance within them: $\hat R \approx 1$ when every chain explores the same
# distribution, $\hat R \gg 1$ when they disagree. We use ArviZ (`arviz.ess`, `arviz.rhat`: the
# rank-normalised split-$\hat R$ of Vehtari et al. 2021, which recommend $\hat R < 1.01$ and an
# ESS above 400 before trusting an estimate), on traces shaped (chain, draw).
#
# Below: four chains per sampler from the four corners of the box, at $\epsilon = 0.05$, traced
# on the first coordinate (the figure draws two of them, from opposite corners, at every few
# steps; R-hat and ESS use all four at every step). The **cost per effective sample** counts
# energy evaluations (each with its gradient): ULA 1 per step, MALA 2, HMC $L + 1$ plus the
# Metropolis test.

# %%
DIAG_EPS = 0.05
diag = {}
with timed("diagnostics"):
    fig, axes = plt.subplots(len(ENERGIES), 3, figsize=(14, 2.6 * len(ENERGIES)), sharex=True)
    for i, (name, (fn, box)) in enumerate(ENERGIES.items()):
        for j, (sampler, make) in enumerate(SAMPLERS.items()):
            calls = [0]

            def counted(z, fn=fn):
                calls[0] += 1
                return fn(z)
            g = torch.Generator().manual_seed(CFG.seed + 1)
            x0 = mcmc.dispersed_starts(CFG.n_diag_chains, box, g)
            out = mcmc.run_chains(make(DIAG_EPS), counted, x0, CFG.n_diag_steps, g, keep_every=1)
            trace = out["trace"][..., 0].T.numpy()  # (chain, draw) of the first coordinate
            d = mcmc.diagnostics(trace[:, trace.shape[1] // 2:])  # second half: after burn-in
            d["energy_evals_per_ess"] = calls[0] / max(d["ess"], 1e-9) / 2  # per draw of the half used
            diag[name, sampler] = d
            # drawn: two chains from opposite corners, every `every`-th step (~250 points a chain);
            # all chains drawn at every step made solid bands. R-hat and ESS use all of them.
            every = max(1, trace.shape[1] // 250)
            shown = trace[sorted({0, len(trace) // 2}), ::every]
            axes[i, j].plot(np.arange(trace.shape[1])[::every], shown.T, lw=0.8)
            axes[i, j].set_title(f"{name}, {sampler}: R-hat {d['rhat']:.2f}, ESS {d['ess']:.0f}", fontsize=9)
        axes[i, 0].set_ylabel("$x_1$")
    for ax in axes[-1]:
        thinned = "every step" if every == 1 else f"a point every {every} steps"
        ax.set_xlabel(f"step ({len(shown)} of {CFG.n_diag_chains} chains drawn, {thinned})")
    plt.tight_layout()
    save_figure(fig, "06_sampling_likelihood_traces.png")
    plt.show()
rows = ["| energy | sampler | R-hat | ESS (of %d draws) | energy evaluations per effective sample |" % (CFG.n_diag_chains * (CFG.n_diag_steps - CFG.n_diag_steps // 2)),
        "|---|---|---|---|---|"]
rows += [f"| {n} | {s} | {d['rhat']:.3f} | {d['ess']:.0f} | {d['energy_evals_per_ess']:.1f} |" for (n, s), d in diag.items()]
display(Markdown("\n".join(rows)))

# %% [markdown]
# ### Your MNIST EBM's chains
#
# Now the chains that trained your 03 model: SGLD with its step size, noise and gradient clip,
# written with your `ula_step` (`mcmc.clipped_energy` clips the gradient per pixel, as 03 did;
# the clamp keeps pixels in $[-1, 1]$). Two groups of chains run side by side, the same length:
# **fresh** ones from uniform noise, as at the start of 03's training and in its "fresh chains",
# and **persistent** ones continued from 03's replay buffer. Training ran 20 steps per iteration
# (quick profile); we run 50 times longer and follow each chain's energy, its share of ink
# (pixels above mid-grey), and, at a few points, which digits 03's metric classifier sees.

# %%
EBM_CFG = mnist_ebm_config(PROFILE)
net, buffer, how = mcmc.load_mnist_ebm(PROFILE)
print(how)
net = net.to(DEVICE)
image_energy = mcmc.image_energy(net)
if PROFILE != "grade":
    from ebm_course.metrics import mnist_classifier

    test_digits = data.load_mnist_family("MNIST", train=False).tensors[0][:CFG.mnist_test].to(DEVICE)
    judge = mnist_classifier()
else:  # the autograder has no MNIST and trains nothing: noise and no judge
    test_digits, judge = torch.rand(CFG.mnist_test, 1, 28, 28, device=DEVICE) * 2 - 1, None


def sgld(e, x, g):
    """03's sampler step: your ula_step on the clipped energy, then the clamp."""
    return ula_step(mcmc.clipped_energy(e, EBM_CFG.grad_clip), x, EBM_CFG.step_size, g,
                    noise_std=EBM_CFG.noise_std).clamp(-1.0, 1.0)


def digit_shares(x):
    """Share of each predicted digit (10,) under the metric classifier."""
    if judge is None:
        return np.full(10, 0.1)
    with torch.no_grad():
        pred = judge.to(x.device)(x).argmax(1).cpu()
    return np.bincount(pred.numpy(), minlength=10) / len(pred)


with timed("MNIST chains"):
    g = torch.Generator(device=DEVICE).manual_seed(CFG.seed)
    n = CFG.n_mnist_chains
    x_fresh = torch.rand(n, 1, 28, 28, generator=g, device=DEVICE) * 2 - 1
    pick = torch.randperm(len(buffer), generator=torch.Generator().manual_seed(CFG.seed))[:n]
    x = torch.cat([x_fresh, buffer[pick].to(DEVICE)])  # chains 0..n-1 fresh, n..2n-1 persistent
    keep_every = max(CFG.mnist_long_steps // 50, 1)  # every step of the first n_steps, then sparser
    short_steps = min(EBM_CFG.n_steps, CFG.mnist_long_steps)  # training's chain length
    snapshot_steps = tuple(sorted({0, short_steps, CFG.mnist_long_steps}))  # a set: no repeats
    steps_kept, energies, inks, states = [], [], [], {}
    for step in range(CFG.mnist_long_steps + 1):
        if step <= EBM_CFG.n_steps or step % keep_every == 0 or step in snapshot_steps:
            with torch.no_grad():
                energies.append(image_energy(x).cpu())
            inks.append(mcmc.ink_share(x).cpu())
            steps_kept.append(step)
        if step in snapshot_steps:
            states[step] = x.cpu()
        if step < CFG.mnist_long_steps:
            x = sgld(image_energy, x, g)
    with torch.no_grad():
        e_data = image_energy(test_digits).cpu()
    ink_data = mcmc.ink_share(test_digits).cpu()
steps_kept = np.array(steps_kept)
e_trace = torch.stack(energies, 1).numpy()  # (2n chains, draws)
ink_trace = torch.stack(inks, 1).numpy()
fig, axes = plt.subplots(1, 2, figsize=(12, 3.5))
for group, sl, colour in (("fresh (noise)", slice(0, n), "C0"), ("persistent (buffer)", slice(n, 2 * n), "C1")):
    axes[0].plot(steps_kept, np.median(e_trace[sl], 0), c=colour, label=group)
    axes[0].fill_between(steps_kept, *np.percentile(e_trace[sl], [10, 90], 0), color=colour, alpha=0.2)
    axes[1].plot(steps_kept, ink_trace[sl].mean(0), c=colour, label=group)
axes[0].axhline(float(e_data.median()), c="k", ls="--", label="test digits (median)")
axes[1].axhline(float(ink_data.mean()), c="k", ls="--", label="test digits")
for ax in axes:
    ax.axvline(EBM_CFG.n_steps, c="grey", ls=":", label="training's chain length")
    ax.set_xscale("symlog", linthresh=10)
    ax.set(xlabel="SGLD step", xlim=(0, CFG.mnist_long_steps))
low = min(float(np.percentile(e_trace, 1)), float(e_data.median()))
axes[0].set(ylabel="energy E(x)", title="energy along the chains (median, 10-90%)",
            ylim=(low - 0.1, max(float(e_data.median()), float(np.percentile(e_trace[:, -1], 99))) + 0.5))
axes[1].set(ylabel="share of pixels > 0", title="ink along the chains (mean)")
axes[1].legend(fontsize=8)
plt.tight_layout()
save_figure(fig, "06_sampling_likelihood_mnist_chains.png")
plt.show()
fig, axes = plt.subplots(len(snapshot_steps), 1, figsize=(12, 1.2 * len(snapshot_steps)), squeeze=False)
for ax, step in zip(axes[:, 0], snapshot_steps):
    plotting.show_images(states[step][::max(n // 8, 1)][:16], nrow=16, ax=ax,
                         title=f"after {step} SGLD steps: 8 fresh chains (left), 8 persistent (right)")
plt.tight_layout()
plt.show()

short = int(np.searchsorted(steps_kept, short_steps))
half = int(np.searchsorted(steps_kept, CFG.mnist_long_steps // 2))
windows = {"short": slice(0, short + 1), "long": slice(half, None)}
mnist_diag = {k: mcmc.diagnostics(e_trace[:, w]) for k, w in windows.items()}
digits = {"test digits": digit_shares(test_digits), "replay buffer": digit_shares(states[0][n:]),
          f"after {short_steps} steps (all chains)": digit_shares(states[short_steps]),
          f"after {CFG.mnist_long_steps} steps (all chains)": digit_shares(states[CFG.mnist_long_steps])}
rows = ["| | " + " | ".join(str(d) for d in range(10)) + " |", "|---|" + "---|" * 10]
rows += [f"| {k} | " + " | ".join(f"{v:.2f}" for v in shares) + " |" for k, shares in digits.items()]
display(Markdown("Share of each digit (03's metric classifier):\n\n" + "\n".join(rows)))
mnist_chain_stats = {
    "energy_data_median": float(e_data.median()),
    "energy_fresh_after_train_steps": float(np.median(e_trace[:n, short])),
    "energy_persistent_start": float(np.median(e_trace[n:, 0])),
    "energy_after_long_run": float(np.median(e_trace[:, -1])),
    "ink_data": float(ink_data.mean()), "ink_after_train_steps": float(ink_trace[:, short].mean()),
    "ink_after_long_run": float(ink_trace[:, -1].mean()),
    "saturated_pixels_data": float(mcmc.saturation(test_digits).mean()),
    "saturated_pixels_after_long_run": float(mcmc.saturation(states[CFG.mnist_long_steps]).mean()),
    "top_digit_share_buffer": float(digits["replay buffer"].max()),
    "top_digit_after_long_run": int(digits[f"after {CFG.mnist_long_steps} steps (all chains)"].argmax()),
    "top_digit_share_after_long_run": float(digits[f"after {CFG.mnist_long_steps} steps (all chains)"].max()),
    "long_run_steps": CFG.mnist_long_steps, "train_chain_steps": EBM_CFG.n_steps,
    "rhat_energy_first_train_steps": mnist_diag["short"]["rhat"],
    "rhat_energy_second_half": mnist_diag["long"]["rhat"], "ess_energy_second_half": mnist_diag["long"]["ess"],
}
print(json.dumps(mnist_chain_stats, indent=1))

# %% [markdown]
# ### Question 1 (2 points)
#
# (a) Pick one 2D trace panel where a sampler looks fine on its own chain but R-hat says
# otherwise, or the reverse, and explain what you see. Would 4 chains all started in the same
# mode have revealed it?
# (b) From the MNIST measurements: what are 03's persistent short-run chains, and what are they
# not? Are the replay-buffer images samples of $p_\theta$? What happens to a chain of your model
# run 50 times longer than in training, and what does that say about $p_\theta$ itself?

# %% [markdown] written id=q_diagnostics points=2
# (Quick-profile numbers; yours vary.) (a) On the mixture, each chain of ULA and MALA at
# $\epsilon = 0.05$ looks stationary, a clean band around one value of $x_1$, yet R-hat is far
# above 1.01 (2.41 and 2.40 in this run, 2.1 to 2.5 over three seeds): the four chains sit in
# different modes and never cross the valleys, so the between-chain variance dwarfs the
# within-chain one. Any single chain would
# pass a "looks converged" check and give one mode's mean, not the mixture's. Four chains all
# started in the same mode would agree, R-hat would be about 1, and the failure would be
# invisible: R-hat only detects what dispersed starts expose. HMC's longer moves do cross on the
# mixture: its traces jump between modes, but only a few times in the run, so how long each
# chain spends in each mode is still luck, and R-hat stays at 1.76 here (1.74 to 1.78 over three
# seeds, ESS 6 on each). In this run the banana shows the reverse case: one HMC chain leaves
# the box, lands where every proposal is rejected (acceptance 0) and stands still for most of
# the run, a flat line far from the others. On its own that chain would look perfectly settled;
# R-hat (1.44 here) flags the disagreement but not its cause, which only the trace shows. Such a
# stuck chain is luck, not a property of HMC on the banana: over three seeds its R-hat there was
# 1.44 and 1.53 on two, 1.01 on the third (ESS 664), where the four chains agreed. On the ring,
# HMC's long moves travel around the circle (R-hat about 1.01, an ESS in the hundreds, the
# fewest energy evaluations per effective sample) while ULA and MALA creep along it (R-hat well
# above 1.01): there ESS per cost, not bias, separates the samplers.
# (b) The persistent chains are a *memory of the training process*, not samples of the final
# $p_\theta$: each buffer image went through many 20-step SGLD runs under a sequence of changing
# energies, at a temperature near zero. Continued under the final model for 1,000 steps, fresh
# and persistent chains alike slide a little below the energy of real test digits (median
# -0.0363 to -0.0328 over three seeds, against -0.0098 to -0.0065 for the test digits: below
# them on every seed) while the pixels stay digit-like (ink and saturated-pixel shares close to the
# data's) and no class takes over (the commonest class holds 0.22 to 0.28 of the chains over
# three seeds, "1" on two of them and "7" on the third; with 32 chains each share is a multiple
# of 0.03). But the energy traces of the second half give an R-hat of about 9 here (7 to 10
# over three seeds) with an ESS near 40: each chain sits at its own level and none visits the
# others' regions, so 1,000 steps say nothing about
# how $p_\theta$ spreads its mass over digits and styles. The model was only ever trained to
# make *20-step* chains from its buffer look like data (Nijkamp et al. 2019: a short-run EBM
# learns a sampler, not a density); where long chains go, no training step pushed the energy
# up. That this model's long chains stay plausible is a property of this run, not something
# its training asked for: another run's long chains may collapse onto a few simple shapes.
# Either way, short-run samples are not evidence about $p_\theta$ itself.

# %% [markdown]
# ## 5. Annealed importance sampling: $\log Z$ and likelihoods
#
# Importance sampling from a normalised base $p_0 = e^{-E_0}/Z_0$ gives the unbiased estimate
# $Z = Z_0\,\mathbb E_{p_0}[e^{E_0(x) - E(x)}]$, hopeless when $p_0$ and $p$ barely overlap (in
# high dimension, always). **AIS** (Neal 2001) walks through intermediate densities
# $p_b \propto e^{-E_b}$, $E_b = (1 - b) E_0 + b E$, for $0 = b_0 < b_1 < \dots < b_K = 1$: start
# at $x \sim p_0$; for $k = 1..K$, add $\log \frac{e^{-E_{b_k}(x)}}{e^{-E_{b_{k-1}}(x)}} = (b_{k-1} - b_k)(E(x) - E_0(x))$
# to the log weight *at the current x*, then move $x$ with an MCMC transition that leaves
# $p_{b_k}$ invariant (MALA here). Each weight $w$ satisfies $\mathbb E[w] = Z / Z_0$ exactly, so
#
# $$\hat Z = Z_0 \cdot \frac1B \sum_{i=1}^B w_i, \qquad \log \hat Z = \log Z_0 + \operatorname{logmeanexp}_i \log w_i .$$
#
# $\hat Z$ is unbiased; $\log \hat Z$ is not: by Jensen, $\mathbb E[\log \hat Z] \le \log Z$, a
# *stochastic lower bound* of $\log Z$ that tightens with more temperatures and chains.
#
# ### Exercise 6: `ais_log_z` (3 points)
#
# Implement the loop above for a batch of chains. `betas` may be a list or a tensor;
# `transition(energy_fn_b, x)` is given (it draws its own noise). Return the estimate of $\log Z$
# (a 0-d tensor) and the (B,) log weights. Compute the log-mean-exp stably (`torch.logsumexp`).

# %% solution id=ais_log_z from=sampling_likelihood:ais_log_z

# %% tests id=ais_log_z_tests points=3
"""ais_log_z: exact when base = target, and log Z of a Gaussian from exact transitions."""
base = lambda z: 0.5 * z.pow(2).sum(1)  # N(0, I) in 2D: log Z_0 = log(2 pi)
x0 = torch.randn(500, 2, generator=torch.Generator().manual_seed(0))
stay = lambda energy_b, z: z
log_z, log_w = ais_log_z(base, base, math.log(2 * math.pi), x0, [0.0, 0.5, 1.0], stay)
assert log_w.shape == (500,) and abs(float(log_z) - math.log(2 * math.pi)) < 1e-6, "base = target: every weight 1"
shifted = lambda z: 0.5 * (z - 1.0).pow(2).sum(1) / 0.25  # N(1, 0.5^2 I) unnormalised: log Z = log(2 pi 0.25)
g = torch.Generator().manual_seed(1)
def exact_move(energy_b, z):
    """An exact draw from p_b: E_b = a |x - m|^2 / 2 + c, read off along the diagonal."""
    e0, e1, e2 = (energy_b(t * torch.ones(1, 2)).item() for t in (0.0, 1.0, 2.0))
    a = (e2 - 2 * e1 + e0) / 2
    m = (e0 - e1) / (2 * a) + 0.5
    return m + torch.randn(z.shape, generator=g) / math.sqrt(a)
log_z, _ = ais_log_z(shifted, base, math.log(2 * math.pi), x0, torch.linspace(0, 1, 11), exact_move)
assert abs(float(log_z) - math.log(2 * math.pi * 0.25)) < 0.05, f"expected log Z = {math.log(2 * math.pi * 0.25):.3f}, got {float(log_z):.3f}"
print("ais_log_z: the visible tests pass (the hidden tests grade more cases)")
### BEGIN HIDDEN TESTS
from ebm_course.instructor.assignments.sampling_likelihood import checks as grading_06
grading_06.check_ais_log_z(ais_log_z)
### END HIDDEN TESTS

# %% [markdown]
# **AIS on the 2D energies, against the exact $\log Z$.** Base: $\mathcal N(0, 2^2 I)$. One MALA
# move per temperature, its step adapted towards 60% acceptance (`mcmc.AdaptiveStep`). Both
# panels show the signed error $\log \hat Z - \log Z$ (below the dotted zero line: an
# underestimate, the direction Jensen's inequality predicts). Left: the mean error of a run
# against the number of temperatures $K$, with the spread over independent runs; right: the
# error of one run as it averages more of its chains $B$.

# %%
BASE_STD = 2.0
base_energy = lambda z: z.pow(2).sum(1) / (2 * BASE_STD ** 2)
base_log_z = math.log(2 * math.pi * BASE_STD ** 2)
ais_2d = {}
with timed("AIS 2D"):
    for name, (fn, box) in ENERGIES.items():
        for K in CFG.ais_temperatures:
            for seed in range(CFG.ais_seeds):
                g = torch.Generator().manual_seed(1000 * seed + K)
                x0 = BASE_STD * torch.randn(CFG.ais_chains, 2, generator=g)
                move = mcmc.AdaptiveStep(mala_step, 0.05, g)
                log_z, log_w = ais_log_z(fn, base_energy, base_log_z, x0, torch.linspace(0, 1, K + 1), move)
                ais_2d[name, K, seed] = (float(log_z), log_w)
fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
ais_error = {}  # the mean *absolute* error, for the results
for name in ENERGIES:
    exact = EXACT[name][1]
    # signed errors, drawn on a linear axis: below 0 is an underestimate of log Z (Jensen)
    signed = np.array([[ais_2d[name, K, s][0] - exact for s in range(CFG.ais_seeds)] for K in CFG.ais_temperatures])
    ais_error[name] = {K: float(np.abs(e).mean()) for K, e in zip(CFG.ais_temperatures, signed)}
    axes[0].errorbar(CFG.ais_temperatures, signed.mean(1), yerr=signed.std(1), marker="o", capsize=3, label=name)
    K = CFG.ais_temperatures[-1]
    log_w = ais_2d[name, K, 0][1]
    chains = [b for b in (4, 16, 64, 256, 1024) if b <= len(log_w)]
    sub = [base_log_z + float(torch.logsumexp(log_w[:b], 0)) - math.log(b) - exact for b in chains]
    axes[1].plot(chains, sub, marker="o", label=name)
for ax in axes:
    ax.axhline(0, color="k", lw=0.8, ls=":")
axes[0].set(xscale="log", xlabel="temperatures K", ylabel="log Z_AIS - log Z_exact (nats)",
            title=f"AIS error vs temperatures ({CFG.ais_chains} chains, mean and sd over {CFG.ais_seeds} runs)")
axes[1].set(xscale="log", xlabel="chains B", ylabel="log Z_AIS - log Z_exact (nats)",
            title=f"AIS error vs chains (K = {CFG.ais_temperatures[-1]}, one run)")
axes[0].legend()
plt.tight_layout()
save_figure(fig, "06_sampling_likelihood_ais_error.png")
plt.show()
for name in ENERGIES:
    print(f"{name}: exact log Z {EXACT[name][1]:.4f}; AIS with K = {CFG.ais_temperatures[-1]}: " +
          ", ".join(f"{ais_2d[name, CFG.ais_temperatures[-1], s][0]:.4f}" for s in range(CFG.ais_seeds)))

# %% [markdown]
# In 2D, with a base that already covers each target, even ten temperatures give errors of a few
# hundredths of a nat, and more temperatures do not lower them steadily: on the banana the mean
# absolute error is 0.038, 0.059, 0.047 and 0.018 nats at K = 10, 30, 100 and 300, within the
# spread over runs. What remains is mostly Monte Carlo noise of the log-mean-exp, which shrinks with the
# number of chains (right; one run, so its curves are noisy too). The next estimate is the opposite
# case: a base (noise) that shares almost no mass with the target (digits), in 784 dimensions.

# %% [markdown]
# ### The test log-likelihood of your MNIST EBM
#
# The density: $p_\theta(x) = e^{-E_\theta(x)}/Z_\theta$ on the pixel box $[-1, 1]^{784}$ (03's
# sampler never left it and its network never saw anything outside), made exact for
# gradient-based moves by a stiff quadratic wall outside the box (`mcmc.image_energy`). The
# base: the wall alone, i.e. uniform noise on the box (03's chain starts) with thin Gaussian
# tails, whose $\log Z_0$ is known (`mcmc.wall_log_z`) and which we can sample exactly
# (`mcmc.sample_wall_base`). Then $E_b = \text{wall} + b\,E_\theta$ and
# $\log p_\theta(x_{\text{test}}) = -E_\theta(x_{\text{test}}) - \log Z_\theta$. The temperatures
# are spaced as $b_k = (k/K)^4$: dense near $b = 0$, where $p_b$ changes fastest.

# %%
mnist_ais = []
MNIST_KS = (CFG.mnist_ais_temperatures // 5, CFG.mnist_ais_temperatures)
with timed("AIS MNIST"):
    for K in MNIST_KS:
        for seed in range(CFG.mnist_ais_seeds):
            g = torch.Generator().manual_seed(seed)
            x0 = mcmc.sample_wall_base(CFG.mnist_ais_chains, 784, g).view(-1, 1, 28, 28).to(DEVICE)
            move = mcmc.AdaptiveStep(mala_step, 1e-4, torch.Generator(device=DEVICE).manual_seed(seed))
            betas = torch.linspace(0, 1, K + 1) ** 4
            log_z, log_w = ais_log_z(image_energy, mcmc.wall_energy, mcmc.wall_log_z(784), x0, betas, move)
            with torch.no_grad():
                e_end = float(image_energy(move.last).median())
            mnist_ais.append({"temperatures": K, "seed": seed, "log_z": float(log_z),
                              "test_ll_nats": float(-e_data.mean()) - float(log_z),
                              "log_w_sd": float(log_w.std()) if len(log_w) > 1 else 0.0, "energy_at_end": e_end,
                              "mean_acceptance": float(np.mean(move.acceptance)), "final_step": move.step_size})
            r = mnist_ais[-1]
            print(f"K = {K}, seed {seed}: log Z {r['log_z']:.2f}, test log-likelihood {r['test_ll_nats']:.2f} nats "
                  f"per image; sd of the log weights {r['log_w_sd']:.2f}, MALA acceptance "
                  f"{r['mean_acceptance']:.2f}, final step {r['final_step']:.1e}, median energy of the "
                  f"chains at b = 1: {e_end:.2f}")
mnist_ais_by_k = {K: float(np.mean([r["test_ll_nats"] for r in mnist_ais if r["temperatures"] == K])) for K in MNIST_KS}
mnist_ais_final = [r for r in mnist_ais if r["temperatures"] == MNIST_KS[-1]]
lls = np.array([r["test_ll_nats"] for r in mnist_ais_final])
mnist_ll = float(lls.mean())
bits_per_dim = -(mnist_ll - 784 * math.log(127.5)) / (784 * math.log(2))  # on the 0..255 pixel scale
print("mean over seeds by number of temperatures:", {k: round(v, 2) for k, v in mnist_ais_by_k.items()})
print(f"AIS test log-likelihood (K = {MNIST_KS[-1]}): {mnist_ll:.2f} nats per image (sd over {len(lls)} seeds {lls.std():.2f}); "
      f"{bits_per_dim:.3f} bits/dim on the 0..255 scale; the uniform density on the box has "
      f"log-density {-784 * math.log(2):.1f} nats (8 bits/dim). Test digits' median energy {float(e_data.median()):.3f}; "
      f"SGLD reaches {mnist_chain_stats['energy_fresh_after_train_steps']:.2f} in {EBM_CFG.n_steps} steps.")

# %% [markdown]
# **Caveats, before you quote that number.** (1) $\log \hat Z$ is a stochastic *lower* bound of
# $\log Z$, so $-E(x) - \log\hat Z$ is a stochastic **upper** bound of the log-likelihood:
# optimistic when the AIS run is too short, and a small spread over seeds does not prove it
# tight (all runs can miss the same mass). A log-likelihood *lower* bound needs an upper bound
# of $\log Z$ (reverse AIS from exact samples, which an EBM does not have; Burda et al. 2015).
# (2) Look at the energy of the AIS chains at $b = 1$: MALA in 784 dimensions accepts only tiny
# steps (about $10^{-4}$), so in a few hundred temperatures the chains never left the noise
# region (energy tens of nats above the digits). The estimate is then essentially importance
# sampling from uniform noise: it counts the mass of the noise region, which already gives
# $\log Z \gtrsim \log Z_0 - E(\text{noise})$, and misses the (smaller-volume, lower-energy)
# mass near digits. Because of the direction of the bound, that is still informative: the true
# test log-likelihood is *at most* about this number (-538.0 nats in this run, -538.2 to -537.2
# over three seeds, each with its own 03 model), 5.3 to 6.2 nats above $-784 \log 2$, the
# log-density of the uniform distribution on the box (the printout's 8
# bits/dim: a property of the uniform density, not the EBM's score of noise images). Your EBM's energy gap between noise and
# digits (about 27 nats in the quick profile) is tiny next to the $784 \log 2 \approx 543$ nats
# of volume it would need to concentrate its mass on digits: as a density model it is nearly
# flat. (3) The density includes the soft wall (a little mass just outside the box, about 22
# nats of extra volume); it is evaluated at the raw test pixels, not dequantised, and the
# bits/dim conversion assumes the uniform dequantisation of the 0..255 scale: not comparable
# with published MNIST numbers.

# %% [markdown]
# ### Question 2 (2 points)
#
# Your MNIST estimate came with a spread over seeds. Is the true test log-likelihood more
# likely above or below your estimate, and why? Name one change that would make the estimate
# more trustworthy and say what it costs. Why can't AIS give the *exact* likelihood of a test
# digit under an EBM, while a normalising flow gives it in one pass?

# %% [markdown] written id=q_ais points=2
# Below, in expectation: $\mathbb E[\log \hat Z] \le \log Z$ (Jensen on the unbiased $\hat Z$),
# so $\mathbb E[-E(x) - \log \hat Z] \ge \log p_\theta(x)$: the estimate is an optimistic upper
# bound, and the spread over seeds measures only its variance, not that bias, which all seeds
# share. Here the bias is large: the AIS chains ended with energies tens of nats above the test
# digits, so they never found the low-energy region, and every seed misses the same mass (hence
# the tiny spread). More trustworthy: more temperatures and more moves per temperature, or HMC
# moves that travel further per gradient (cost linear in the number of network forward and
# backward passes), then watch whether the estimate keeps falling as the budget grows; stop when
# it does not, and check that the chains at $b = 1$ look like the model's long-run samples.
# A flow is built so that $\log p(x)$ is a change of variables with a tractable Jacobian: its
# normaliser is 1 by construction. An EBM's $Z_\theta$ is an integral over all images of an
# arbitrary network's output; AIS estimates it by sampling, and no finite sampler certifies it.

# %% [markdown]
# ## 6. Annealed Langevin over noise scales
#
# Langevin needs the score $\nabla_x \log p$ only; but in a low-density valley between modes the
# score is tiny or noisy, and a chain never crosses. Worse, the *relative weights* of modes are
# invisible locally: a chain that starts near a mode samples it well, whatever its weight. Song
# and Ermon (2019) blur the density with Gaussian noise at scales
# $\sigma_1 > \dots > \sigma_L$: $p_\sigma = p * \mathcal N(0, \sigma^2 I)$ fills the valleys
# at large $\sigma$ (the modes merge) and tends to $p$ as $\sigma \to 0$. A network $s(x, \sigma)$
# learns every blurred score at once by **denoising score matching**,
# $\min\ \mathbb E\,\sigma^2 \lVert s(x + \sigma z, \sigma) + z/\sigma \rVert^2$ (02 did it at one
# scale), and **annealed Langevin dynamics** samples by running Langevin at each scale in turn,
# each level starting where the previous ended:
#
# $$\alpha_i = \epsilon\, \sigma_i^2 / \sigma_L^2, \qquad x \leftarrow x + \tfrac{\alpha_i}{2}\, s(x, \sigma_i) + \sqrt{\alpha_i}\, z .$$
#
# The step scales with $\sigma_i^2$ so that every level moves by the same amount relative to its
# noise (the "signal-to-noise" of the update is constant).
#
# ### Exercise 7: `annealed_langevin` (2 points)
#
# Run the algorithm above: `sigmas` in the order given (decreasing), `n_steps_each` steps per
# level, `score_fn(x, sigma)` returns a (B, ...) score, noise from `generator`. Return the final
# states, detached.

# %% solution id=annealed_langevin from=sampling_likelihood:annealed_langevin

# %% tests id=annealed_langevin_tests points=2
"""annealed_langevin: the score of N(0, 1 + sigma^2) leads to N(0, 1 + sigma_L^2)."""
calls = []
def blurred_gaussian_score(z, sigma):
    calls.append(float(sigma))
    return -z / (1 + float(sigma) ** 2)
out = annealed_langevin(blurred_gaussian_score, torch.full((20000, 1), 5.0), [2.0, 1.0, 0.1], 100, 0.05, torch.Generator().manual_seed(0))
assert calls == [2.0] * 100 + [1.0] * 100 + [0.1] * 100, "score_fn: 100 calls per sigma, largest first"
assert abs(out.mean().item()) < 0.05 and abs(out.var().item() - 1.01) < 0.08, f"expected about N(0, 1.01), got mean {out.mean():.3f}, variance {out.var():.3f}"
print("annealed_langevin: the visible tests pass (the hidden tests grade more cases)")
### BEGIN HIDDEN TESTS
from ebm_course.instructor.assignments.sampling_likelihood import checks as grading_06
grading_06.check_annealed_langevin(annealed_langevin)
### END HIDDEN TESTS

# %% [markdown]
# **The experiment.** Two modes far apart with weights 0.2 and 0.8. Chains start uniformly in
# $[-6, 6]^2$. Single-scale: plain ULA on the true energy (the exact score), as many steps as the
# annealed run. Annealed: ten noise scales from 5 to 0.05 (300 steps each), once with the **exact** blurred score
# (`mcmc.noised_mixture_score`) and once with a score network trained by **DSM** on 5,000
# samples (`mcmc.train_score_dsm`). The share of samples per mode says who got the weights.

# %%
SIGMAS = list(np.geomspace(5.0, 0.05, 10))
N_EACH = 300 if PROFILE != "grade" else 5
STEP_LR = 1e-4
two = mcmc.TWO_MODES
two_energy = mcmc.mixture_energy(**two)
with timed("annealed Langevin"):
    x_train = toy.sample_gmm(5000, torch.tensor(two["means"]), torch.tensor(two["stds"]),
                             torch.tensor(two["weights"]), generator=torch.Generator().manual_seed(0))
    score_net = mcmc.train_score_dsm(x_train, SIGMAS, CFG.dsm_iters, seed=CFG.seed)
    g = torch.Generator().manual_seed(CFG.seed)
    x0 = torch.rand(2000 if PROFILE != "grade" else 200, 2, generator=g) * 12 - 6
    runs = {"single-scale ULA (exact score)": mcmc.run_chains(
                lambda e, x, gen: ula_step(e, x, 0.01, gen), two_energy, x0, len(SIGMAS) * N_EACH, g)["x"],
            "annealed (exact blurred score)": annealed_langevin(
                mcmc.noised_mixture_score(**two), x0, SIGMAS, N_EACH, STEP_LR, g),
            "annealed (DSM score network)": annealed_langevin(
                mcmc.score_fn_of(score_net), x0, SIGMAS, N_EACH, STEP_LR, g)}
shares = {k: mcmc.mode_share(v, two["means"]).tolist() for k, v in runs.items()}
probs_two, _ = mcmc.grid_density(two_energy, (-6.0, 6.0), 60)
fig, axes = plt.subplots(1, 4, figsize=(16, 3.8))
axes[0].imshow(probs_two.T, origin="lower", extent=(-6, 6, -6, 6))
axes[0].set_title("exact density (weights 0.2 / 0.8)")
for ax, (label, xs) in zip(axes[1:], runs.items()):
    ax.imshow(probs_two.T, origin="lower", extent=(-6, 6, -6, 6), alpha=0.35)
    ax.scatter(*xs[:1000].T, s=2, c="w")
    ax.set(xlim=(-6, 6), ylim=(-6, 6), title=f"{label}\nmode shares {shares[label][0]:.2f} / {shares[label][1]:.2f}")
    ax.title.set_fontsize(9)
plt.tight_layout()
save_figure(fig, "06_sampling_likelihood_annealed_langevin.png")
plt.show()
print({k: [round(s, 3) for s in v] for k, v in shares.items()})

# %% [markdown]
# **From here to diffusion models.** Take the number of noise scales to infinity and the
# annealed chain becomes the discretisation of a stochastic differential equation run backwards
# in time, from pure noise to data (Song et al. 2021, score SDEs); DDPM (Ho et al. 2020) is the
# same picture with a fixed variance-preserving noise schedule and a network trained by the same
# denoising objective. What this section showed is why that works: the network never has to
# model the data density's normaliser (a score has no $Z$), learning is a regression (DSM, no
# sampling inside the training loop, unlike 03's contrastive divergence), and sampling starts
# where noise is all there is, so modes are reached in their right proportions. The price is
# the one you measured in section 2: every level is an unadjusted Langevin run, biased unless
# its steps are small, so diffusion samplers take hundreds of network evaluations, or clever
# ODE solvers, to produce one sample.

# %% [markdown]
# ### Question 3 (2 points)
#
# Single-scale Langevin started uniformly gives mode shares near those of the starting region's
# split, not 0.2 / 0.8. Explain why, with what you know about mixing times. Then explain why the
# annealed sampler gets the weights right, and what would go wrong if its noise levels stopped
# at $\sigma_1 = 0.5$ instead of 5.

# %% [markdown] written id=q_annealing points=2
# Each chain falls into the basin of the mode nearest its start within a few steps and stays:
# crossing the valley requires climbing an energy barrier of tens of nats (the two modes are
# 7 units apart with width 0.4), and the expected crossing time grows like $e^{\Delta E}$, far
# beyond 1,000 steps. So the shares reflect how much of the starting square drains into each
# basin (about half each, split by the line $x_1 + x_2 = 0$), not the weights: locally the
# sampler is correct, globally it has not mixed. With annealing, at $\sigma = 5$ the blurred
# density is a single broad bump whose mass is split 0.2 / 0.8 *by the weights*, and chains
# distribute themselves accordingly while crossing is still easy; as $\sigma$ shrinks, the
# valley reappears and each chain is committed to the side it is on, in the right proportion.
# Stopping at $\sigma_1 = 0.5$: the blurred modes ($\sqrt{0.4^2 + 0.5^2} \approx 0.64$ wide,
# 7 apart) are still separated by a deep valley, so chains commit to a basin by where they
# start, and the shares revert towards the start's split, like single-scale Langevin.

# %% [markdown]
# ## Results

# %%
largest = STEP_SIZES[-1]
results = {
    "profile": PROFILE, "device": str(DEVICE), "timings_s": {k: round(v, 1) for k, v in TIMINGS.items()},
    "headline": {
        "ula_tv_at_largest_step": float(np.mean([tv[n, "ULA", largest] for n in ENERGIES])),
        "mala_tv_at_largest_step": float(np.mean([tv[n, "MALA", largest] for n in ENERGIES])),
        "hmc_tv_at_largest_step": float(np.mean([tv[n, "HMC", largest] for n in ENERGIES])),
        "ais_log_z_abs_error": float(np.mean([ais_error[n][CFG.ais_temperatures[-1]] for n in ENERGIES])),
        "mnist_ais_test_ll_nats": mnist_ll,
    },
    "largest_step": largest, "exact_sample_tv": floor,
    "tv": {f"{n}/{s}/{e}": v for (n, s, e), v in tv.items()},
    "acceptance": {f"{n}/{s}/{e}": v for (n, s, e), v in acceptance.items()},
    "diagnostics": {f"{n}/{s}": d for (n, s), d in diag.items()},
    "ais_2d_abs_error": {n: {str(k): v for k, v in d.items()} for n, d in ais_error.items()},
    "ais_2d_exact_log_z": {n: EXACT[n][1] for n in ENERGIES},
    "mnist_chains": mnist_chain_stats,
    "mnist_ais": {"runs": mnist_ais, "test_ll_nats_mean": mnist_ll, "test_ll_nats_sd": float(lls.std()),
                  "test_ll_nats_by_temperatures": {str(k): v for k, v in mnist_ais_by_k.items()},
                  "bits_per_dim_0_255": bits_per_dim, "temperatures": CFG.mnist_ais_temperatures,
                  "chains": CFG.mnist_ais_chains, "test_digits": CFG.mnist_test},
    "annealed_mode_shares": shares,
}
print(json.dumps(results["headline"], indent=1))
print("timings (s):", results["timings_s"])
if PROFILE != "grade":
    print("wrote", write_results("06_sampling_likelihood", results))
