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
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch import nn
from tqdm.auto import tqdm

from .models import EnergyFn, energy_fn_of
from .sampling import sampling_mode
from .toy import TOY_BOX, Box

METHODS = ("cd", "sm", "dsm", "nce")
METHOD_NAMES = {"cd": "contrastive divergence (SGLD)", "sm": "exact score matching",
                "dsm": "denoising score matching", "nce": "noise-contrastive estimation"}


class MLPEnergy(nn.Module):
    """MLP ``R^d -> R`` with Swish activations; ``forward`` returns ``neg_energy = -E(x)``, (B,).

    Swish is smooth, so SGLD gets useful input gradients and score matching a non-zero Hessian
    (a ReLU MLP has zero second derivatives almost everywhere: exact SM cannot train it). We use
    torch's ``nn.SiLU`` (the same function as :class:`ebm_course.models.Swish`) because the
    student edition of the package blanks ``Swish`` for assignment 3, and 2D training must not
    depend on that exercise.

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
# The four losses (pure functions).
# --------------------------------------------------------------------------------------------

def cd_loss(energy_fn: EnergyFn, x_data: torch.Tensor, x_model: torch.Tensor,
            alpha: float = 0.0) -> torch.Tensor:
    """Contrastive divergence with an L2 energy penalty.

    ``mean E(x_data) - mean E(x_model) + alpha * (mean E(x_data)^2 + mean E(x_model)^2)``.
    Its parameter gradient is the Monte-Carlo estimate of the maximum-likelihood gradient when
    ``x_model ~ p``; no gradient flows through the samples (they are detached).

    Args:
        energy_fn: maps (B, d) to energies (B,).
        x_data: data batch, (B, d).
        x_model: model samples, (B', d).
        alpha: weight of the L2 penalty (keeps the energies near 0).
    Returns:
        scalar tensor.
    """
    raise NotImplementedError("the student edition leaves this out: your notebook defines its own version")


def cd_gradient(energy_fn: EnergyFn, params: Sequence[torch.Tensor], x_data: torch.Tensor,
                x_model: torch.Tensor) -> list[torch.Tensor]:
    """The contrastive-divergence estimate of ``d NLL / d theta``.

    ``mean_data dE/dtheta - mean_model dE/dtheta``: exact in expectation when ``x_model ~ p_theta``
    because ``d log Z / d theta = -E_{x ~ p}[dE(x)/dtheta]``.

    Args:
        energy_fn: maps (B, d) to energies (B,), depending on ``params``.
        params: the parameters theta (tensors with ``requires_grad=True``).
        x_data: (B, d).
        x_model: (B', d).
    Returns:
        one gradient tensor per parameter, each shaped like it.
    """
    raise NotImplementedError("the student edition leaves this out: your notebook defines its own version")


def exact_sm_loss(energy_fn: EnergyFn, x_data: torch.Tensor) -> torch.Tensor:
    """Hyvarinen's score-matching loss, ``mean( 0.5 * ||dE/dx||^2 - trace(d^2E/dx^2) )``.

    With the score ``s = d log p / dx = -dE/dx`` this is ``E[0.5 ||s||^2 + trace(ds/dx)]``; it
    equals the Fisher divergence to the data up to a constant and never needs Z.

    Args:
        energy_fn: maps (B, d) to energies (B,); twice differentiable (Swish, not ReLU).
        x_data: data batch, (B, d).
    Returns:
        scalar tensor, differentiable with respect to the parameters (``create_graph=True``).
    """
    raise NotImplementedError("the student edition leaves this out: your notebook defines its own version")


def dsm_loss(energy_fn: EnergyFn, x_data: torch.Tensor, sigma: float,
             noise: torch.Tensor | None = None) -> torch.Tensor:
    """Denoising score matching, ``0.5 * mean ||s(x_noisy) + noise / sigma||^2``.

    ``x_noisy = x_data + sigma * noise`` and ``s = -dE/dx``; the target ``-noise / sigma`` is the
    score of the Gaussian corruption ``N(x_noisy; x_data, sigma^2 I)``. The minimiser is the score
    of the data density convolved with that Gaussian.

    Args:
        energy_fn: maps (B, d) to energies (B,).
        x_data: data batch, (B, d).
        sigma: noise standard deviation.
        noise: standard normal draws, (B, d); None draws fresh ones.
    Returns:
        scalar tensor.
    """
    raise NotImplementedError("the student edition leaves this out: your notebook defines its own version")


def nce_loss(energy_fn: EnergyFn, x_data: torch.Tensor, x_noise: torch.Tensor,
             log_q_data: torch.Tensor, log_q_noise: torch.Tensor) -> torch.Tensor:
    """Noise-contrastive estimation: logistic regression of data against noise.

    With ``nu = len(x_noise) / len(x_data)`` and the logit ``G(x) = -E(x) - log q(x) - log nu``::

        loss = -( mean_data log sigmoid(G) + nu * mean_noise log sigmoid(-G) )

    Its minimiser is ``-E = log p_data``, normalised: the constant in ``E`` is learned.

    Args:
        energy_fn: maps (B, d) to energies (B,).
        x_data: (B, d); x_noise: (B', d) drawn from q.
        log_q_data: log q(x_data), (B,); log_q_noise: log q(x_noise), (B',).
    Returns:
        scalar tensor.
    """
    raise NotImplementedError("the student edition leaves this out: your notebook defines its own version")


def sgld_sample(energy_fn: EnergyFn, x_init: torch.Tensor, n_steps: int, step_size: float,
                noise_std: float, grad_clip: float | None = None) -> torch.Tensor:
    """``n_steps`` of SGLD, ``x <- x - step_size * clip(dE/dx) + noise_std * eps``, from x_init.

    Args:
        energy_fn: maps (B, d) to energies (B,).
        x_init: chain starts, (B, d). Not modified.
        n_steps, step_size, noise_std: SGLD settings.
        grad_clip: clip each gradient entry to [-grad_clip, grad_clip]; None for no clip.
    Returns:
        final samples, (B, d), detached.
    """
    raise NotImplementedError("the student edition leaves this out: your notebook defines its own version")


# --------------------------------------------------------------------------------------------
# What the losses need: a noise density for NCE, a replay buffer for CD.
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


class ReplayBuffer2D:
    """Persistent SGLD chains for low-dimensional data, restarted uniformly in a box.

    Args:
        dim: sample dimension.
        buffer_size: number of stored chains.
        reinit_prob: share of chains restarted from uniform noise each draw.
        box: (low, high) range of the restarts.
        seed: seeds the buffer's own generator.
    """

    def __init__(self, dim: int = 2, buffer_size: int = 4096, reinit_prob: float = 0.05,
                 box: Box = TOY_BOX, seed: int = 0) -> None:
        self.box, self.reinit_prob = box, reinit_prob
        self.generator = torch.Generator().manual_seed(seed)
        self.buffer = self.uniform(buffer_size, dim)  # (N, d): start full of noise

    def uniform(self, n: int, dim: int) -> torch.Tensor:
        low, high = self.box
        return low + (high - low) * torch.rand(n, dim, generator=self.generator)

    def draw(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Chain starts (B, d) and their slots (B,): buffer copies, ``reinit_prob`` restarts."""
        idx = torch.randint(len(self.buffer), (batch_size,), generator=self.generator)
        x = self.buffer[idx].clone()
        fresh = torch.rand(batch_size, generator=self.generator) < self.reinit_prob
        x[fresh] = self.uniform(int(fresh.sum()), x.shape[1])
        return x, idx

    def store(self, x: torch.Tensor, idx: torch.Tensor) -> None:
        """Write the chains' end points back to their slots."""
        self.buffer[idx] = x.detach().cpu()


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
    buffer_size: int = 2048
    reinit_prob: float = 0.05
    n_grid: int = 200              # grid cells per axis for log Z
    box: Box = TOY_BOX
    n_sample_steps: int = 100      # Langevin steps for the sample plots (uniform starts)
    sample_step_size: float = 0.02  # their step; noise_std = sqrt(2 * step_size)
    n_plot_samples: int = 500      # chains per sample plot
    kde_cv_points: int = 1500      # points used to cross-validate the KDE bandwidth
    cpu_threads: int = 1           # tiny MLPs: intra-op threads cost more than they save
    seed: int = 0


def toy_config(profile: str) -> ToyConfig:
    """The 2D settings of a profile: ``quick`` (CPU, ~1 min), ``full`` (longer), ``grade`` (tiny)."""
    if profile == "quick":
        return ToyConfig()
    if profile == "full":
        return ToyConfig(n_train=20000, n_test=5000, n_iters_cd=3000, n_iters_sm=3000,
                         n_iters_dsm=6000, n_iters_nce=6000, cd_steps=40, nce_noise_ratio=4,
                         buffer_size=8192,
                         n_grid=300, n_sample_steps=500, n_plot_samples=2000,
                         kde_cv_points=5000)
    if profile == "grade":
        return ToyConfig(n_train=1000, n_test=500, hidden=32, n_iters_cd=20, n_iters_sm=20,
                         n_iters_dsm=30, n_iters_nce=30, cd_steps=5,
                         buffer_size=256, n_grid=64, n_sample_steps=20, n_plot_samples=300,
                         kde_cv_points=500)
    raise ValueError(f"unknown profile {profile!r}")


def _method_loss(method: str, x_train: torch.Tensor, cfg: ToyConfig, loss_fn: Callable | None,
                 sample_fn: Callable | None, generator: torch.Generator) -> Callable:
    """A closure ``(net, x_batch) -> loss`` for one method, around a (student's) pure loss."""
    if method == "sm":
        loss_fn = loss_fn or exact_sm_loss
        return lambda net, x: loss_fn(energy_fn_of(net), x)
    if method == "dsm":
        loss_fn = loss_fn or dsm_loss
        return lambda net, x: loss_fn(energy_fn_of(net), x, cfg.dsm_sigma)
    if method == "nce":
        loss_fn = loss_fn or nce_loss
        q = fit_gaussian_noise(x_train, cfg.nce_noise_scale)

        def nce_step(net, x):
            x_noise = q.sample((len(x) * cfg.nce_noise_ratio,))
            return loss_fn(energy_fn_of(net), x, x_noise, q.log_prob(x), q.log_prob(x_noise))
        return nce_step
    if method == "cd":
        loss_fn, sample_fn = loss_fn or cd_loss, sample_fn or sgld_sample
        buffer = ReplayBuffer2D(x_train.shape[1], cfg.buffer_size, cfg.reinit_prob, cfg.box,
                                seed=int(torch.randint(2 ** 31, (1,), generator=generator)))

        def cd_step(net, x):
            x_init, idx = buffer.draw(len(x))
            with sampling_mode(net):
                x_model = sample_fn(energy_fn_of(net), x_init, cfg.cd_steps, cfg.cd_step_size,
                                    math.sqrt(2 * cfg.cd_step_size))
            buffer.store(x_model, idx)
            return loss_fn(energy_fn_of(net), x, x_model, cfg.cd_alpha)
        return cd_step
    raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")


def train_toy(method: str, x_train: torch.Tensor, cfg: ToyConfig = ToyConfig(),
              loss_fn: Callable | None = None, sample_fn: Callable | None = None,
              seed: int | None = None, progress: bool = True,
              desc: str = "") -> tuple[MLPEnergy, list[float]]:
    """Train an :class:`MLPEnergy` on 2D data with one method.

    Args:
        method: ``"cd"``, ``"sm"``, ``"dsm"`` or ``"nce"``.
        x_train: (N, 2).
        cfg: the settings (see :func:`toy_config`).
        loss_fn: the pure loss to use, with that method's signature (:func:`cd_loss`,
            :func:`exact_sm_loss`, :func:`dsm_loss`, :func:`nce_loss`); None: the reference.
        sample_fn: for ``"cd"``, the SGLD sampler (signature of :func:`sgld_sample`).
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
        for _ in tqdm(range(n_iters), disable=not progress, desc=desc or method, leave=False):
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
