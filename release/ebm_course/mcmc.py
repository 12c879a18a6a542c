"""Exact MCMC and likelihoods for EBMs: analytic 2D energies, chain runners, diagnostics, AIS glue.

Assignment 6 measures what assignments 3 and 4 take on trust: how biased unadjusted Langevin is,
what a Metropolis correction buys, when a chain can be believed, and what an EBM's likelihood is.
In 2D everything has an exact answer on a grid (:mod:`ebm_course.toy`), so every sampler and
every estimate here is checked against one.

The package holds none of the graded parts (``ula_step``, ``mala_step``, ``leapfrog``,
``hmc_step``, ``tv_distance``, ``ais_log_z``, ``annealed_langevin``): every runner takes the
notebook's as an argument. Sign convention as in :mod:`ebm_course.models`: an ``energy_fn`` maps
(B, ...) to ``E(x)`` of shape (B,), and ``p(x) = exp(-E(x)) / Z``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from .config import cap_length, step_cap, with_run_seed
from .models import EnergyFn
from .toy import Box, grid_energy, grid_points

#: A transition ``step(energy_fn, x, generator) -> x`` or ``-> (x, accepted)``: one move of a batch
#: of independent chains (a ``functools.partial`` of the notebook's ``mala_step`` etc.).
Transition = Callable[..., object]


@dataclass(frozen=True)
class SamplingConfig:
    """Sizes of assignment 6 per profile (``quick``: under 3 min on 2 CPU cores)."""

    n_chains: int = 3000           # 2D chains per sampler and step size
    n_steps: int = 200             # 2D steps per chain (after which TV is measured)
    n_grid: int = 24               # TV histogram cells per axis (the exact density's grid too)
    n_diag_chains: int = 4         # chains from dispersed starts for R-hat / ESS
    n_diag_steps: int = 1000       # steps of those chains
    ais_temperatures: tuple = (10, 30, 100, 300)  # AIS schedules on the 2D energies
    ais_chains: int = 500          # AIS chains per estimate
    ais_seeds: int = 4             # repeats per schedule (the spread of the estimate)
    n_mnist_chains: int = 16       # MNIST chains per start (noise, replay buffer)
    mnist_long_steps: int = 1000   # a long run, 50x the quick training's 20 steps
    mnist_ais_temperatures: int = 500
    mnist_ais_chains: int = 16
    mnist_ais_seeds: int = 3
    mnist_test: int = 256          # test digits whose mean log-likelihood is estimated
    dsm_iters: int = 3000          # denoising score matching steps of the 2D score network
    seed: int = 0


_LENGTHS = ("n_steps", "n_diag_steps", "mnist_long_steps", "mnist_ais_temperatures", "dsm_iters")


def sampling_config(profile: str) -> SamplingConfig:
    """The sizes of a profile (see :func:`_sampling_config`). With ``EBM_COURSE_STEP_CAP`` set
    (``config.step_cap``: a smoke run of a long profile) every length (chain steps, AIS
    temperatures, the score network's training steps) is capped at the larger of the cap and the
    ``grade`` profile's length, which every cell is written to handle; counts stay as they are."""
    cfg = with_run_seed(_sampling_config(profile))
    cap = step_cap()
    if cap is None:
        return cfg
    floor = _sampling_config("grade")
    lengths = {f: cap_length(getattr(cfg, f), getattr(floor, f)) for f in _LENGTHS}
    top = max(cap, max(floor.ais_temperatures))
    temperatures = tuple(t for t in cfg.ais_temperatures if t <= top) or floor.ais_temperatures
    return replace(cfg, ais_temperatures=temperatures, **lengths)


def _sampling_config(profile: str) -> SamplingConfig:
    """The sizes of a profile: ``quick`` (CPU), ``full`` (GPU, more chains), ``grade`` (tiny)."""
    if profile == "quick":
        return SamplingConfig()
    if profile == "full":
        return SamplingConfig(n_chains=20000, n_steps=1000, n_grid=48, n_diag_steps=10000,
                              ais_temperatures=(10, 30, 100, 300, 1000, 3000),
                              ais_chains=2000, ais_seeds=10, n_mnist_chains=64,
                              mnist_long_steps=10000, mnist_ais_temperatures=5000,
                              mnist_ais_chains=64, mnist_ais_seeds=5, mnist_test=1000,
                              dsm_iters=10000)
    if profile == "grade":
        return SamplingConfig(n_chains=200, n_steps=20, n_grid=16, n_diag_steps=50,
                              ais_temperatures=(5, 10), ais_chains=50, ais_seeds=2,
                              n_mnist_chains=4, mnist_long_steps=10, mnist_ais_temperatures=5,
                              mnist_ais_chains=4, mnist_ais_seeds=1, mnist_test=8, dsm_iters=20)
    raise ValueError(f"unknown profile {profile!r}")


# --------------------------------------------------------------------------------------------
# Analytic 2D energies with their grid boxes.
# --------------------------------------------------------------------------------------------

def mixture_energy(means, stds, weights) -> EnergyFn:
    """``E(x) = -log sum_k w_k N(x; mu_k, s_k^2 I)`` (normalised: its log Z is 0)."""
    means = torch.as_tensor(means, dtype=torch.float64)
    stds = torch.as_tensor(stds, dtype=torch.float64)
    log_w = torch.as_tensor(weights, dtype=torch.float64).log()

    def energy(x: torch.Tensor) -> torch.Tensor:
        m, s, lw = means.to(x), stds.to(x), log_w.to(x)
        sq = (x[:, None, :] - m).pow(2).sum(-1)  # (B, K)
        d = x.shape[1]
        log_comp = lw - sq / (2 * s ** 2) - d * torch.log(s) - 0.5 * d * math.log(2 * math.pi)
        return -torch.logsumexp(log_comp, dim=1)

    return energy


def banana_energy(curvature: float = 0.3, shift: float = 1.2, std1: float = 1.2,
                  std2: float = 0.35) -> EnergyFn:
    """A curved ridge: ``x1 ~ N(0, std1^2)``, ``x2 | x1 ~ N(curvature x1^2 - shift, std2^2)``."""
    def energy(x: torch.Tensor) -> torch.Tensor:
        x1, x2 = x[:, 0], x[:, 1]
        return x1 ** 2 / (2 * std1 ** 2) + (x2 - curvature * x1 ** 2 + shift) ** 2 / (2 * std2 ** 2)

    return energy


def ring_energy(radius: float = 2.0, width: float = 0.2) -> EnergyFn:
    """A ring: ``E(x) = (|x| - radius)^2 / (2 width^2)`` (smooth at the origin)."""
    def energy(x: torch.Tensor) -> torch.Tensor:
        r = (x.pow(2).sum(1) + 1e-12).sqrt()
        return (r - radius) ** 2 / (2 * width ** 2)

    return energy


MIXTURE = {"means": [[-2.0, -1.0], [2.0, -1.0], [0.0, 2.0]], "stds": [0.5, 0.5, 0.5],
           "weights": [0.3, 0.3, 0.4]}
#: Far apart, unequal weights (Song and Ermon's example): single-scale Langevin gets stuck.
TWO_MODES = {"means": [[-2.5, -2.5], [2.5, 2.5]], "stds": [0.4, 0.4], "weights": [0.2, 0.8]}


def energies_2d() -> dict[str, tuple[EnergyFn, Box]]:
    """The three 2D targets of the assignment, each with a box that holds (almost) all its mass."""
    return {"mixture": (mixture_energy(**MIXTURE), (-4.0, 4.0)),
            "banana": (banana_energy(), (-4.5, 4.5)),
            "ring": (ring_energy(), (-3.5, 3.5))}


def grid_density(energy_fn: EnergyFn, box: Box, n_grid: int) -> tuple[torch.Tensor, float]:
    """Exact cell probabilities (n_grid, n_grid) of ``exp(-E) / Z`` on the grid, and log Z.

    Cell (i, j) spans the i-th interval of the first coordinate and the j-th of the second (the
    row-major order of :func:`ebm_course.toy.grid_points`). Float64; log Z by a midpoint sum on a
    grid 8x finer than ``n_grid`` (cell probabilities from the same fine grid, summed).
    """
    fine = 8 * n_grid
    centres, area = grid_points(box, fine)
    with torch.no_grad():
        log_mass = -grid_energy(energy_fn, centres.double()) + math.log(area)  # (fine^2,)
    log_z = torch.logsumexp(log_mass, 0).item()
    probs = (log_mass - log_z).exp().reshape(n_grid, 8, n_grid, 8).sum((1, 3))
    return probs, log_z


# --------------------------------------------------------------------------------------------
# Running chains with the notebook's steps.
# --------------------------------------------------------------------------------------------

def run_chains(step: Transition, energy_fn: EnergyFn, x: torch.Tensor, n_steps: int,
               generator: torch.Generator, keep_every: int = 0):
    """``n_steps`` moves of ``step`` on the batch ``x`` of independent chains.

    Args:
        step: ``step(energy_fn, x, generator)`` returning ``x`` or ``(x, accepted)``.
        energy_fn: the target's energy.
        x: starts, (B, ...).
        n_steps: moves.
        generator: the chains' noise.
        keep_every: also return the chains every ``keep_every`` moves (0: no trace).
    Returns:
        dict with ``x`` (B, ...), ``acceptance`` (mean accepted share, 1.0 without a Metropolis
        test) and, with ``keep_every``, ``trace`` (n_kept, B, ...).
    """
    accepted, trace = [], []
    for t in range(1, n_steps + 1):
        out = step(energy_fn, x, generator)
        if isinstance(out, tuple):
            x, acc = out
            accepted.append(acc.float().mean().item())
        else:
            x = out
        if keep_every and t % keep_every == 0:
            trace.append(x.detach().cpu())
    result = {"x": x.detach(), "acceptance": float(np.mean(accepted)) if accepted else 1.0}
    if keep_every:
        result["trace"] = torch.stack(trace)
    return result


def dispersed_starts(n_chains: int, box: Box, generator: torch.Generator) -> torch.Tensor:
    """Chain starts spread over the box (the corners' neighbourhoods): R-hat needs starts more
    dispersed than the target, or it cannot see a chain that has not left its start."""
    angles = 2 * math.pi * (torch.arange(n_chains, dtype=torch.float64) + 0.5) / n_chains
    radius = 0.85 * box[1]
    start = radius * torch.stack([angles.cos(), angles.sin()], 1)
    return (start + 0.1 * torch.randn(n_chains, 2, generator=generator, dtype=torch.float64)).float()


def diagnostics(trace: np.ndarray) -> dict[str, float]:
    """ArviZ's bulk ESS and rank-normalised split R-hat of a scalar trace (chain, draw)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # arviz announces its refactor on import
        import arviz

    trace = np.asarray(trace, dtype=float)
    return {"ess": float(arviz.ess(trace)), "rhat": float(arviz.rhat(trace))}


# --------------------------------------------------------------------------------------------
# Noise-conditional scores (annealed Langevin): exact for a mixture, and learnt by DSM.
# --------------------------------------------------------------------------------------------

def noised_mixture_score(means, stds, weights) -> Callable[[torch.Tensor, float], torch.Tensor]:
    """The exact score ``grad log p_sigma(x)`` of a Gaussian mixture blurred by ``N(0, sigma^2 I)``
    (each component's variance grows by sigma^2): the oracle a learnt score is compared with."""
    means = torch.as_tensor(means, dtype=torch.float64)
    stds = torch.as_tensor(stds, dtype=torch.float64)

    def score(x: torch.Tensor, sigma: float) -> torch.Tensor:
        blurred = (stds ** 2 + sigma ** 2).sqrt()
        energy = mixture_energy(means, blurred, weights)
        x = x.detach().double().requires_grad_(True)
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(energy(x).sum(), x)
        return -grad.float()

    return score


class ScoreNet(nn.Module):
    """A noise-conditional score network for 2D: MLP of (x, log sigma), output divided by sigma
    (Song and Ermon's scaling: the true score of the blurred data scales as 1 / sigma)."""

    def __init__(self, hidden: int = 128) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(3, hidden), nn.SiLU(), nn.Linear(hidden, hidden),
                                 nn.SiLU(), nn.Linear(hidden, 2))

    def forward(self, x: torch.Tensor, sigma) -> torch.Tensor:
        sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).expand(len(x))
        return self.net(torch.cat([x, sigma.log()[:, None]], 1)) / sigma[:, None]


def train_score_dsm(x_data: torch.Tensor, sigmas, n_iter: int, seed: int = 0,
                    batch_size: int = 512, lr: float = 3e-3) -> ScoreNet:
    """Denoising score matching at every noise scale (Vincent 2011; Song and Ermon 2019).

    Loss: ``sigma^2 |s(x + sigma z, sigma) + z / sigma|^2`` averaged over data, z and a uniformly
    drawn sigma; its minimiser is the score of the data blurred by ``N(0, sigma^2)``.
    """
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = ScoreNet()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(n_iter, 1))
    sig = torch.as_tensor(list(sigmas), dtype=torch.float32)
    for _ in range(n_iter):
        x = x_data[torch.randint(len(x_data), (batch_size,), generator=g)]
        s = sig[torch.randint(len(sig), (batch_size,), generator=g)]
        z = torch.randn(x.shape, generator=g)
        pred = net(x + s[:, None] * z, s)
        loss = (s[:, None] * pred + z).pow(2).sum(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return net.eval()


def score_fn_of(net: ScoreNet) -> Callable[[torch.Tensor, float], torch.Tensor]:
    """The network as ``score_fn(x, sigma) -> (B, 2)``, without a graph."""
    def score(x: torch.Tensor, sigma: float) -> torch.Tensor:
        with torch.no_grad():
            return net(x, sigma)

    return score


def mode_share(x: torch.Tensor, means) -> torch.Tensor:
    """Share of samples nearest each mode (K,): mixing between modes, read off the samples."""
    means = torch.as_tensor(means, dtype=x.dtype)
    nearest = torch.cdist(x, means).argmin(1)
    return torch.bincount(nearest, minlength=len(means)).to(x.dtype) / len(x)


# --------------------------------------------------------------------------------------------
# The MNIST EBM of assignment 3.
# --------------------------------------------------------------------------------------------

PIXEL_BOX: Box = (-1.0, 1.0)
WALL = 1e3  # the soft wall's stiffness outside [-1, 1]: mass outside is sqrt(pi / WALL) per pixel


def wall_energy(x: torch.Tensor) -> torch.Tensor:
    """``WALL * |x - clamp(x, -1, 1)|^2`` per image, (B,): zero on the pixel box."""
    return WALL * (x - x.clamp(*PIXEL_BOX)).pow(2).flatten(1).sum(1)


def wall_log_z(n_pixels: int) -> float:
    """log of the integral of ``exp(-wall_energy)``: per pixel ``2 + sqrt(pi / WALL)``."""
    return n_pixels * math.log(2.0 + math.sqrt(math.pi / WALL))


def sample_wall_base(n: int, n_pixels: int, generator: torch.Generator) -> torch.Tensor:
    """Exact samples (n, n_pixels) of ``exp(-wall_energy) / exp(wall_log_z)``: per pixel, uniform
    on [-1, 1] with probability 2 / (2 + sqrt(pi / WALL)), else a half-normal tail beyond -1 or 1."""
    tail_std = 1 / math.sqrt(2 * WALL)
    p_inside = 2 / (2 + math.sqrt(math.pi / WALL))
    inside = torch.rand(n, n_pixels, generator=generator) < p_inside
    uniform = torch.rand(n, n_pixels, generator=generator) * 2 - 1
    sign = torch.where(torch.rand(n, n_pixels, generator=generator) < 0.5, -1.0, 1.0)
    tail = sign * (1 + tail_std * torch.randn(n, n_pixels, generator=generator).abs())
    return torch.where(inside, uniform, tail)


def image_energy(net: nn.Module) -> EnergyFn:
    """The EBM on the pixel box: ``E(x) = -logsumexp f(clamp(x)) + wall(x)``.

    03 sampled inside [-1, 1] (it clamps every step) and never trained the network outside, so
    the density this assignment estimates is the one restricted to the box; the soft wall makes
    that exact for gradient-based samplers and keeps log Z of the base known.
    """
    return lambda x: -net.get_logits(x.clamp(*PIXEL_BOX)).logsumexp(1) + wall_energy(x)


class _ClipGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, clip):
        ctx.clip = clip
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return grad.clamp(-ctx.clip, ctx.clip), None


def clipped_energy(energy_fn: EnergyFn, grad_clip: float) -> EnergyFn:
    """``energy_fn`` whose input gradient is clipped per entry to [-grad_clip, grad_clip].

    With it, ``ula_step(clipped_energy(E, c), x, step, g, noise_std)`` then a clamp is exactly
    the SGLD step 03 trained with (per-sample energies: each image's gradient is its own).
    """
    return lambda x: energy_fn(_ClipGrad.apply(x, grad_clip))


def saturation(x: torch.Tensor) -> torch.Tensor:
    """Share of pixels at the box edge (|x| > 0.99) per image, (B,)."""
    return (x.abs() > 0.99).flatten(1).float().mean(1)


def ink_share(x: torch.Tensor) -> torch.Tensor:
    """Share of pixels brighter than mid-grey (x > 0: the strokes of a digit) per image, (B,)."""
    return (x > 0).flatten(1).float().mean(1)


def find_mnist_ebm(profile: str) -> tuple[Path | None, str]:
    """Which 03 EBM :func:`load_mnist_ebm` will load, and a line saying so: the student's own
    export in ``profile``, else another profile's, else the course's shipped model (the
    reference run's, quick profile), else none (the ``grade`` profile's stand-in, or an error).
    Cheap: a first cell calls it to say at once what the notebook will use."""
    from .config import display_path
    from .export import export_path, shipped_path

    path = export_path("03_mnist_ebm", profile)
    if path.exists():
        return path, f"03_mnist_ebm: your export {display_path(path)}"
    others = sorted(path.parent.glob("03_mnist_ebm-*.pt2"), key=lambda q: q.stat().st_mtime)
    if others:
        return others[-1], (f"03_mnist_ebm: your export {display_path(others[-1])} (another "
                            f"profile's: run 03 in {profile} for this one)")
    shipped = shipped_path("03_mnist_ebm")
    if shipped is not None:
        return shipped, (f"03_mnist_ebm: no export of yours under {display_path(path.parent)}; "
                         f"the course's shipped model {display_path(shipped)} (the reference "
                         "run, quick profile) stands in until you run 03")
    if profile == "grade":
        return None, ("03_mnist_ebm: no export (grade profile): an untrained network stands in; "
                      "its numbers mean nothing")
    return None, (f"03_mnist_ebm: no model: {display_path(path)} not found and no shipped "
                  "model: run assignment 3 (03_mnist_ebm) first")


def load_mnist_ebm(profile: str):
    """The network (``get_logits``) and replay-buffer sample of assignment 3, as
    :func:`find_mnist_ebm` chooses them; in the ``grade`` profile without any model, an
    untrained network and uniform noise stand in (the autograder trains nothing).

    Returns:
        (net in eval mode, buffer (N, 1, 28, 28) or None, a line saying where they came from).
    Raises:
        FileNotFoundError: no model at all outside the grade profile, with what to run.
    """
    from .export import load_exported

    found, how = find_mnist_ebm(profile)
    if found is not None:
        net = load_exported(found)
        buffer_path = found.with_suffix(".buffer.pt")
        buffer = torch.load(buffer_path) if buffer_path.exists() else None
        return net.eval(), buffer, f"{how}: loaded, {net.meta.get('train_steps')} training steps"
    if profile == "grade":
        from .metrics import Classifier

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            stand_in = Classifier(1, 1).eval()
            buffer = torch.rand(64, 1, 28, 28) * 2 - 1
        return stand_in, buffer, how
    raise FileNotFoundError(how + ", in the same profile and with the same EBM_COURSE_DATA; its "
                            "last cell exports your EBM")


class AdaptiveStep:
    """A transition for AIS whose step size keeps the acceptance rate near ``target``.

    ``AdaptiveStep(mala_step, step_size, generator)(energy_fn, x)`` runs one move and scales the
    step by 1.1 or 0.9 from that move's acceptance. The step used at temperature k depends only
    on the moves before it, so each move still leaves its own intermediate density invariant.
    """

    def __init__(self, step: Callable, step_size: float, generator: torch.Generator,
                 target: float = 0.6, **kwargs) -> None:
        self.step, self.step_size, self.generator = step, step_size, generator
        self.target, self.kwargs, self.acceptance = target, kwargs, []

    def __call__(self, energy_fn: EnergyFn, x: torch.Tensor) -> torch.Tensor:
        x, accepted = self.step(energy_fn, x, self.step_size, self.generator, **self.kwargs)
        rate = accepted.float().mean().item()
        self.acceptance.append(rate)
        self.last = x  # where the chains are: after the last temperature, the AIS samples
        self.step_size *= 1.1 if rate > self.target else 0.9
        return x
