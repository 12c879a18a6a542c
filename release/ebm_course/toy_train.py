"""Training 2D EBMs four ways: contrastive divergence, score matching, denoising score matching, NCE.

Each method is a *pure loss function* of an ``energy_fn`` (returning ``E(x)``, shape (B,); see
:mod:`ebm_course.models` for the sign convention) and tensors. :func:`train_toy` wraps any of them
in one seeded Adam loop, so a student's notebook-defined loss trains exactly like the reference:
``train_toy("dsm", x_train, cfg, loss_fn=dsm_loss)``.

What each method needs from the model:

* contrastive divergence: samples of the model (SGLD), every step; no Z.
* exact score matching: ``dE/dx`` and the Laplacian of ``E`` (double backward; cheap in 2D, the
  Hessian trace costs d backward passes).
* denoising score matching: ``dE/dx`` at noisy data only; learns the density smoothed by the noise.
* noise-contrastive estimation: ``E`` itself, plus a noise density ``q`` it can evaluate; the
  network's output bias plays the role of ``-log Z`` (the model is self-normalised).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, replace
from typing import Callable

import torch
from torch import nn
from tqdm import tqdm  # text bars, not tqdm.auto's widget (see the loop below)

from .config import cap_steps, with_run_seed
from .models import energy_fn_of
from .sampling import sampling_mode
from .toy import TOY_BOX, Box

METHODS = ("cd", "sm", "dsm", "nce")
LOSS_NAMES = {"cd": "cd_loss", "sm": "exact_sm_loss", "dsm": "dsm_loss", "nce": "nce_loss"}
METHOD_NAMES = {"cd": "contrastive divergence (SGLD)", "sm": "exact score matching",
                "dsm": "denoising score matching", "nce": "noise-contrastive estimation"}


class MLPEnergy(nn.Module):
    """MLP ``R^d -> R`` with Swish activations; ``forward`` returns ``neg_energy = -E(x)``, (B,).

    Swish is smooth, so SGLD gets useful input gradients and score matching a non-zero Hessian
    (a ReLU MLP has zero second derivatives almost everywhere: exact SM cannot train it). This is
    torch's ``nn.SiLU``, the same function assignment 3 asks a student to write.

    Args:
        dim: input dimension d (2 for the toy densities).
        hidden: width of each hidden layer.
        n_layers: number of hidden layers.
    """

    def __init__(self, dim: int = 2, hidden: int = 128, n_layers: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(n_layers):
            layers += [nn.Linear(dim if i == 0 else hidden, hidden), nn.SiLU()]
        layers.append(nn.Linear(hidden, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """neg_energy, (B,), of points (B, d)."""
        return self.net(x).squeeze(1)


# --------------------------------------------------------------------------------------------
# What the losses need: a noise density for NCE, persistent chains for CD. The losses themselves
# are assignment 2's exercises; :func:`train_toy` takes them as arguments.
# --------------------------------------------------------------------------------------------

def fit_gaussian_noise(x_train: torch.Tensor,
                       scale: float = 1.0) -> torch.distributions.MultivariateNormal:
    """NCE's noise ``q``: a Gaussian with the data's mean and covariance times ``scale^2``.

    Why fit it: NCE learns well only where data and noise overlap; a noise close to the data
    (but wider, so it covers the tails) makes the classification task informative.
    """
    mean = x_train.mean(0)
    cov = torch.cov(x_train.T) * scale ** 2 + 1e-4 * torch.eye(x_train.shape[1])
    return torch.distributions.MultivariateNormal(mean, covariance_matrix=cov)


class PersistentChains:
    """Persistent contrastive divergence's chains (Tieleman 2008) for low-dimensional data.

    A fixed set of ``n_chains`` chains that all start as uniform noise in ``box`` and all move on
    every training step, each continuing where it stopped; a share ``reinit_prob`` restarts from
    fresh noise each step so that the set keeps exploring. Unlike a replay buffer (assignment 3)
    no slots are drawn: every chain is advanced, and the batch of model samples is the whole set.

    Args:
        n_chains: number of chains (the model batch of every CD step).
        dim: sample dimension.
        reinit_prob: share of chains restarted from uniform noise each step.
        box: (low, high) range of the restarts.
        seed: seeds the chains' own generator (starts and restarts).
    """

    def __init__(self, n_chains: int, dim: int = 2, reinit_prob: float = 0.05,
                 box: Box = TOY_BOX, seed: int = 0) -> None:
        if n_chains < 1:
            raise ValueError(f"n_chains must be >= 1, got {n_chains}")
        if not 0.0 <= reinit_prob <= 1.0:
            raise ValueError(f"reinit_prob must lie in [0, 1], got {reinit_prob}")
        self.box, self.reinit_prob = box, reinit_prob
        self.generator = torch.Generator().manual_seed(seed)
        self.x = self.uniform(n_chains, dim)  # (n_chains, d)

    def uniform(self, n: int, dim: int) -> torch.Tensor:
        """``n`` points uniform in ``box ** dim``, (n, dim)."""
        low, high = self.box
        return low + (high - low) * torch.rand(n, dim, generator=self.generator)

    def starts(self) -> torch.Tensor:
        """This step's chain starts, (n_chains, d): the chains, a ``reinit_prob`` share restarted."""
        fresh = torch.rand(len(self.x), generator=self.generator) < self.reinit_prob
        x = self.x.clone()
        x[fresh] = self.uniform(int(fresh.sum()), x.shape[1])
        return x

    def advance(self, run: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """Move every chain with ``run`` (starts (n, d) -> ends (n, d)); keep and return the ends."""
        x_end = run(self.starts())
        if x_end.shape != self.x.shape:
            raise ValueError(f"the sampler returned shape {tuple(x_end.shape)}, expected "
                             f"{tuple(self.x.shape)}")
        self.x = x_end.detach().to(self.x.device, self.x.dtype)
        return self.x


# --------------------------------------------------------------------------------------------
# Configuration and the training loop.
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ToyConfig:
    """Settings of the 2D experiments (defaults: the ``quick`` profile, CPU)."""

    n_train: int = 5000            # training points per density
    n_test: int = 2000             # held-out points for the test NLL
    hidden: int = 128              # MLP width
    n_layers: int = 3              # MLP hidden layers
    # Adam steps per method. A CD step runs cd_steps SGLD steps (~10x the cost of an NCE step);
    # exact SM does one double backward per dimension (~3x); DSM one double backward (~2x).
    n_iters_cd: int = 300
    n_iters_sm: int = 300
    n_iters_dsm: int = 1000
    n_iters_nce: int = 1500
    batch_size: int = 256
    lr: float = 3e-3               # cosine-decayed to 0 over the method's steps
    dsm_sigma: float = 0.1         # DSM learns the data smoothed by N(0, sigma^2): keep it small
    nce_noise_scale: float = 1.2   # NCE noise = data Gaussian widened by this factor
    nce_noise_ratio: int = 2       # noise samples per data sample
    cd_steps: int = 10             # SGLD steps per CD iteration (persistent chains)
    cd_step_size: float = 0.05     # proper Langevin: noise_std = sqrt(2 * step_size)
    cd_alpha: float = 0.1          # L2 energy penalty: without it PCD energies drift off
    n_chains: int = 256            # persistent CD chains, all advanced every step
    reinit_prob: float = 0.05      # share of chains restarted from uniform noise each step
    n_grid: int = 200              # grid cells per axis for log Z
    box: Box = TOY_BOX
    n_iters_equal: int = 600       # the equal-budget comparison: Adam steps for every method
    equal_densities: tuple[str, ...] = ("two_rings", "spiral")  # ... on the thin densities
    cd_small_step: float = 0.005   # ... and CD once more with an SGLD step below their width
    n_sample_steps: int = 100      # Langevin steps for the sample plots (uniform starts)
    sample_step_size: float = 0.02  # their step; noise_std = sqrt(2 * step_size)
    n_plot_samples: int = 500      # chains per sample plot
    kde_cv_points: int = 1500      # points used to cross-validate the KDE bandwidth
    cpu_threads: int = 1           # tiny MLPs: intra-op threads cost more than they save
    seed: int = 0


def toy_config(profile: str) -> ToyConfig:
    """The 2D settings of a profile: ``quick`` (CPU, ~1 min), ``full`` (longer), ``grade`` (tiny);
    Adam steps limited by ``EBM_COURSE_STEP_CAP`` when it is set (``config.cap_steps``)."""
    cfg = with_run_seed(_toy_config(profile))
    return replace(cfg, **{f: cap_steps(getattr(cfg, f)) for f in
                           ("n_iters_cd", "n_iters_sm", "n_iters_dsm", "n_iters_nce", "n_iters_equal")})


def _toy_config(profile: str) -> ToyConfig:
    if profile == "quick":
        return ToyConfig()
    if profile == "full":
        return ToyConfig(n_train=20000, n_test=5000, n_iters_cd=3000, n_iters_sm=3000,
                         n_iters_dsm=6000, n_iters_nce=6000, cd_steps=40, nce_noise_ratio=4,
                         n_iters_equal=3000,
                         n_chains=1024,
                         n_grid=300, n_sample_steps=500, n_plot_samples=2000,
                         kde_cv_points=5000)
    if profile == "grade":
        return ToyConfig(n_train=1000, n_test=500, hidden=32, n_iters_cd=20, n_iters_sm=20,
                         n_iters_dsm=30, n_iters_nce=30, cd_steps=5, n_iters_equal=10,
                         n_grid=64, n_sample_steps=20, n_plot_samples=300,
                         kde_cv_points=500)
    raise ValueError(f"unknown profile {profile!r}")


def _method_loss(method: str, x_train: torch.Tensor, cfg: ToyConfig, loss_fn: Callable,
                 sample_fn: Callable | None, generator: torch.Generator) -> Callable:
    """A closure ``(net, x_batch) -> loss`` for one method, around the notebook's pure loss."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    if not callable(loss_fn):
        raise TypeError(f"train_toy({method!r}) needs loss_fn=<your {LOSS_NAMES[method]}>, "
                        f"got {loss_fn!r}")
    if method == "sm":
        return lambda net, x: loss_fn(energy_fn_of(net), x)
    if method == "dsm":
        return lambda net, x: loss_fn(energy_fn_of(net), x, cfg.dsm_sigma)
    if method == "nce":
        q = fit_gaussian_noise(x_train, cfg.nce_noise_scale)

        def nce_step(net, x):
            x_noise = q.sample((len(x) * cfg.nce_noise_ratio,))
            return loss_fn(energy_fn_of(net), x, x_noise, q.log_prob(x), q.log_prob(x_noise))
        return nce_step
    if not callable(sample_fn):
        raise TypeError(f"train_toy('cd') needs sample_fn=<your sgld_sample>, got {sample_fn!r}")
    chains = PersistentChains(cfg.n_chains, x_train.shape[1], cfg.reinit_prob, cfg.box,
                              seed=int(torch.randint(2 ** 31, (1,), generator=generator)))

    def cd_step(net, x):
        with sampling_mode(net):
            x_model = chains.advance(lambda x0: sample_fn(
                energy_fn_of(net), x0, cfg.cd_steps, cfg.cd_step_size,
                math.sqrt(2 * cfg.cd_step_size)))
        return loss_fn(energy_fn_of(net), x, x_model, cfg.cd_alpha)
    return cd_step


def train_toy(method: str, x_train: torch.Tensor, cfg: ToyConfig = ToyConfig(), *,
              loss_fn: Callable, sample_fn: Callable | None = None,
              seed: int | None = None, progress: bool = True,
              desc: str = "") -> tuple[MLPEnergy, list[float]]:
    """Train an :class:`MLPEnergy` on 2D data with one method.

    Args:
        method: ``"cd"``, ``"sm"``, ``"dsm"`` or ``"nce"``.
        x_train: (N, 2).
        cfg: the settings (see :func:`toy_config`).
        loss_fn: the notebook's pure loss for that method (assignment 2): ``cd_loss(energy_fn,
            x_data, x_model, alpha)``, ``exact_sm_loss(energy_fn, x_data)``,
            ``dsm_loss(energy_fn, x_data, sigma)``, ``nce_loss(energy_fn, x_data, x_noise,
            log_q_data, log_q_noise)``.
        sample_fn: for ``"cd"``, the notebook's ``sgld_sample(energy_fn, x_init, n_steps,
            step_size, noise_std)``; it moves :class:`PersistentChains` every step.
        seed: seeds the initial weights, batches and noise (default ``cfg.seed``).
        progress: show a tqdm bar.
        desc: progress-bar label.
    Returns:
        the trained network (eval mode) and the loss at every iteration.
    """
    seed = cfg.seed if seed is None else seed
    torch.manual_seed(seed)  # weights, batches and the losses' own torch.randn draws
    generator = torch.Generator().manual_seed(seed)
    net = MLPEnergy(x_train.shape[1], cfg.hidden, cfg.n_layers)
    step = _method_loss(method, x_train, cfg, loss_fn, sample_fn, generator)
    n_iters = getattr(cfg, f"n_iters_{method}")
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, n_iters)
    history: list[float] = []
    threads = torch.get_num_threads()
    torch.set_num_threads(cfg.cpu_threads)
    try:
        # a text bar on stdout: tqdm.auto's widget is saved in an executed notebook as a static "0%"
        for _ in tqdm(range(n_iters), disable=not progress, desc=desc or method, leave=False,
                      file=sys.stdout, mininterval=1.0):
            idx = torch.randint(len(x_train), (cfg.batch_size,), generator=generator)
            loss = step(net, x_train[idx])
            if not torch.isfinite(loss):
                raise FloatingPointError(f"{method}: the loss became {loss.item()}; lower cfg.lr")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            history.append(loss.item())
    finally:
        torch.set_num_threads(threads)
    return net.eval(), history
