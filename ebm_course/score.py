"""Score-based models of images (assignment 7): a noise-conditional network, its training loop.

Assignment 7 trains a score model of MNIST by denoising score matching (Vincent 2011; Song and
Ermon 2019, NCSN) and compares it with assignment 3's contrastive-divergence EBM on the same
wall-clock budget. This module holds the parts that are not graded:

* :class:`EpsUNet`, a small U-Net that predicts the noise ``z`` added to an image at noise level
  ``sigma`` (the notebook's ``EpsScore`` turns it into a score, ``-eps / sigma``);
* :func:`draw_noise`, one noise level per image and the standard normal noise;
* :func:`train_score_model`, a plain training loop that stops at a wall-clock budget or a step
  count, with an exponential moving average of the weights;
* :class:`ScoreConfig` and :func:`score_config`, the settings of each profile.

The package holds none of the graded parts (the noise schedule, ``EpsScore``, the DSM and
epsilon losses, Tweedie's denoiser, the annealed sampler, inpainting): the loop takes the
notebook's loss as an argument (``loss_fn``).
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from dataclasses import dataclass, replace
from typing import Callable

import torch
from torch import nn

from .config import cap_length, cap_steps, step_cap, with_run_seed
from .sampling import resolve_precision
from .threads import Busy, fit_threads


@dataclass(frozen=True)
class ScoreConfig:
    """Settings of assignment 7 per profile (``quick``: under 5 min on 2 CPU cores).

    The quick settings were chosen by measurement (90-s runs, one thread, 256 samples judged by
    the course's classifier): width 32 at batch 128 managed under 200 steps; width 16 at batch
    64 about 560. The preconditioned network (:class:`EpsUNet`) halved the Frechet distance of
    the bare one at the same budget (FD 208 against 359 at sigma_max 1); sigma_max 2 did better
    than 1 (FD 157 against 208) and than 5 (FD 172); 10 steps per level with eps 5e-5 better
    than 5 steps with 1e-4 or 3 with 3e-4."""

    sigma_max: float = 2.0          # largest noise level (pixels in [-1, 1])
    sigma_min: float = 0.01         # smallest
    n_sigmas: int = 10              # levels of the geometric schedule
    channels: int = 16              # U-Net width (then 2x)
    batch_size: int = 64
    lr: float = 3e-3
    ema_decay: float = 0.999        # the weight average's decay (warmed up: see train_score_model)
    budget_seconds: float = 90.0    # wall clock of EACH training run (score model, 03's EBM)
    max_steps: int = 100_000        # a step cap as well (the budget usually stops first)
    ebm_ema_decay: float = 0.99     # 03's weight average, shortened to the budget's steps
    n_steps_each: int = 10          # annealed Langevin steps per noise level
    step_eps: float = 5e-5          # annealed Langevin: alpha_i = eps sigma_i^2 / sigma_L^2
    n_samples: int = 256            # samples each model generates for the judge
    ebm_gen_steps: int = 256        # SGLD steps of 03's fresh chains (as 03 judges itself)
    n_2d_chains: int = 4000         # chains of the exact 2D check
    n_2d_steps_each: int = 200      # their annealed Langevin steps per level
    n_2d_iters: int = 2000          # DSM steps of the 2D score network
    precision: str = "auto"         # the network's: "fp32", "bf16", "auto" (as 03's sampler)
    seed: int = 0


_LENGTHS = ("n_steps_each", "ebm_gen_steps", "n_2d_steps_each", "n_2d_iters")


def score_config(profile: str) -> ScoreConfig:
    """The settings of a profile. With ``EBM_COURSE_STEP_CAP`` (a smoke run, the student-path
    test) the training steps are capped and sampling lengths shortened, but not below the
    ``grade`` profile's, which every cell handles."""
    cfg = with_run_seed(_score_config(profile))
    cap = step_cap()
    if cap is None:
        return cfg
    floor = _score_config("grade")
    lengths = {f: cap_length(getattr(cfg, f), getattr(floor, f)) for f in _LENGTHS}
    return replace(cfg, max_steps=cap_steps(cfg.max_steps), **lengths)


def _score_config(profile: str) -> ScoreConfig:
    if profile == "quick":
        return ScoreConfig()
    if profile == "full":
        return ScoreConfig(sigma_max=10.0, sigma_min=0.01, n_sigmas=50, channels=64,
                           batch_size=128, lr=2e-3, budget_seconds=1800.0, ema_decay=0.9995, ebm_ema_decay=0.998,
                           n_steps_each=20, step_eps=5e-6, n_samples=1000, ebm_gen_steps=256,
                           n_2d_chains=20000, n_2d_steps_each=300, n_2d_iters=10000)
    if profile == "grade":
        return ScoreConfig(channels=8, batch_size=16, budget_seconds=20.0, max_steps=3,
                           n_steps_each=2, n_samples=16, ebm_gen_steps=4, n_2d_chains=200,
                           n_2d_steps_each=5, n_2d_iters=20)
    raise ValueError(f"unknown profile {profile!r}")


# --------------------------------------------------------------------------------------------
# The network: a small U-Net that predicts the noise.
# --------------------------------------------------------------------------------------------

def sigma_embedding(sigma: torch.Tensor, dim: int) -> torch.Tensor:
    """Fourier features of log sigma, (B,) -> (B, dim): how the network is told the noise level
    (besides the division by sigma that turns its output into a score)."""
    half = dim // 2
    freqs = torch.exp(torch.linspace(0.0, math.log(100.0), half, device=sigma.device))
    angle = sigma.float().log()[:, None] * freqs[None, :] / 4
    return torch.cat([angle.sin(), angle.cos()], dim=1)


class _Block(nn.Module):
    """Two 3x3 convolutions with SiLU, the noise level's embedding added in between, a residual."""

    def __init__(self, c_in: int, c_out: int, emb: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb, c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()
        self.act = nn.SiLU()

    def forward(self, h: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        y = self.conv1(self.act(h)) + self.emb(e)[:, :, None, None]
        return self.skip(h) + self.conv2(self.act(y))


class EpsUNet(nn.Module):
    """Predicts the noise ``z`` in ``x + sigma z`` from the noisy image and its noise level.

    A small U-Net (28 x 28 -> 14 -> 7 and back, skip connections, the level told by Fourier
    features of ``log sigma`` added in every block) ``F``, preconditioned as in Karras et al.
    (2022, "EDM"): with the data's mean ``m`` and standard deviation ``s_d``,

        eps_hat = sigma (x - m) / (sigma^2 + s_d^2) - s_d / sqrt(sigma^2 + s_d^2) * F((x - m) / sqrt(sigma^2 + s_d^2), sigma).

    The first term is the exact noise prediction for Gaussian data of that mean and spread
    (Tweedie's formula for a Gaussian), so an untrained network (``F = 0``, its last layer
    starts at zero) already denoises like a Gaussian model, and ``F`` learns what digits add;
    the input and ``F``'s target have about unit size at every level. Training is much faster
    than with a bare network, which matters on a budget of seconds.

    Args:
        in_channels: image channels C.
        channels: width at full resolution (2x below).
        emb: size of the noise level's embedding.
        data_mean, data_std: ``m`` and ``s_d`` (MNIST in [-1, 1]: about -0.74 and 0.62).
    Forward:
        x (B, C, H, W) with H, W divisible by 4, sigma (B,) -> the predicted noise (B, C, H, W).
    """

    def __init__(self, in_channels: int = 1, channels: int = 32, emb: int = 64,
                 data_mean: float = -0.74, data_std: float = 0.62) -> None:
        super().__init__()
        self.data_mean, self.data_std = data_mean, data_std
        c1, c2 = channels, 2 * channels
        self.emb_dim = emb
        self.emb = nn.Sequential(nn.Linear(emb, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.inp = nn.Conv2d(in_channels, c1, 3, padding=1)
        self.down1 = _Block(c1, c1, emb)
        self.pool1 = nn.Conv2d(c1, c2, 3, stride=2, padding=1)
        self.down2 = _Block(c2, c2, emb)
        self.pool2 = nn.Conv2d(c2, c2, 3, stride=2, padding=1)
        self.mid = _Block(c2, c2, emb)
        self.up2 = _Block(2 * c2, c2, emb)
        self.up1 = _Block(c2 + c1, c1, emb)
        self.out = nn.Sequential(nn.SiLU(), nn.Conv2d(c1, in_channels, 3, padding=1))
        nn.init.zeros_(self.out[1].weight)
        nn.init.zeros_(self.out[1].bias)
        # channels-last convolution weights and activations: oneDNN's preferred layout on a
        # CPU (measured 1.3x per training step at width 32 with bf16); values are unchanged
        self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).expand(x.shape[0])
        e = self.emb(sigma_embedding(sigma, self.emb_dim).to(x.dtype))
        x = x.contiguous(memory_format=torch.channels_last) - self.data_mean
        scale = (sigma ** 2 + self.data_std ** 2)[:, None, None, None]
        h0 = self.inp(x / scale.sqrt())
        h1 = self.down1(h0, e)
        h2 = self.down2(self.pool1(h1), e)
        h = self.mid(self.pool2(h2), e)
        h = nn.functional.interpolate(h, scale_factor=2, mode="nearest")
        h = self.up2(torch.cat([h, h2], 1), e)
        h = nn.functional.interpolate(h, scale_factor=2, mode="nearest")
        h = self.up1(torch.cat([h, h1], 1), e)
        f = self.out(h).contiguous().to(x.dtype)
        s = sigma[:, None, None, None]
        return s * x.contiguous() / scale - self.data_std / scale.sqrt() * f


class EpsMLP(nn.Module):
    """The 2D counterpart of :class:`EpsUNet`: an MLP of ``(x / sqrt(sigma^2 + 1), features of
    log sigma)`` that predicts the noise, (B, dim) and (B,) -> (B, dim)."""

    def __init__(self, dim: int = 2, hidden: int = 128, emb: int = 16) -> None:
        super().__init__()
        self.emb_dim = emb
        self.net = nn.Sequential(nn.Linear(dim + emb, hidden), nn.SiLU(),
                                 nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).expand(x.shape[0])
        h = torch.cat([x / (sigma ** 2 + 1).sqrt()[:, None],
                       sigma_embedding(sigma, self.emb_dim).to(x.dtype)], 1)
        return self.net(h)


# --------------------------------------------------------------------------------------------
# Training: denoising at random noise levels, for a wall-clock budget.
# --------------------------------------------------------------------------------------------

def draw_noise(x: torch.Tensor, sigmas: torch.Tensor,
               generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """One noise level per image, uniform over ``sigmas`` (L,), and standard normal noise like
    ``x``: ``(sigma (B,), z (B, ...))``, in x's dtype, from ``generator`` (on the CPU)."""
    idx = torch.randint(len(sigmas), (x.shape[0],), generator=generator)
    sigma = torch.as_tensor(sigmas, dtype=x.dtype)[idx].to(x.device)
    z = torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)
    return sigma, z


@torch.no_grad()
def _ema_update(avg: nn.Module, net: nn.Module, decay: float) -> None:
    for a, p in zip(avg.parameters(), net.parameters()):
        a.lerp_(p, 1.0 - decay)


@dataclass
class TrainLog:
    """What a budgeted run did: steps, seconds, and the loss every ``every`` steps."""

    steps: int = 0
    seconds: float = 0.0
    losses: list = None  # (step, loss)


def precision_context(precision: str, device: torch.device):
    """bf16 autocast where ``precision`` resolves to bf16 (``"auto"``: a CPU with hardware
    bfloat16, as 03's sampler decides), else nothing. Only the network's convolutions and linear
    layers run in bf16; the losses the notebook writes see float32 outputs divided by float32
    levels, so they stay float32."""
    if resolve_precision(precision, device) == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


class _Float32Out(nn.Module):
    """Runs a network under :func:`precision_context` and returns float32 (a bf16 autocast
    output would otherwise turn the notebook's float32 arithmetic into bf16's)."""

    def __init__(self, net: nn.Module, precision: str) -> None:
        super().__init__()
        self.net, self.precision = net, precision

    def forward(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        with precision_context(self.precision, x.device):
            return self.net(x, sigma).float()


def with_precision(net: nn.Module, precision: str = "auto") -> nn.Module:
    """``net(x, sigma)`` computed in ``precision`` (bf16 autocast on CPUs with hardware
    bfloat16 for ``"auto"``), returning float32; the parameters are ``net``'s own."""
    return _Float32Out(net, precision)


def train_score_model(net: nn.Module, loss_fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor],
                                                        torch.Tensor],
                      images: torch.Tensor, sigmas: torch.Tensor, cfg: ScoreConfig,
                      device: torch.device | None = None,
                      log_every: int = 25) -> tuple[nn.Module, TrainLog]:
    """Train ``net`` by ``loss_fn(x, sigma, z)`` (the notebook's DSM loss of its score) until
    ``cfg.budget_seconds`` of wall clock or ``cfg.max_steps`` steps, whichever comes first.

    Batches are drawn with replacement-free shuffles of ``images`` (N, C, H, W) in [-1, 1], noise
    by :func:`draw_noise`, both from one generator seeded with ``cfg.seed``. Adam with a short
    warm-up of the learning rate; the weights are averaged (EMA) with decay
    ``min(cfg.ema_decay, (1 + t) / (10 + t))`` at step t, so that a short run's average does not
    reach back to the random start. Returns the averaged network (eval mode) and a
    :class:`TrainLog`. The clock starts at the first step and is read after every step.
    """
    device = device or torch.device("cpu")
    gen = torch.Generator().manual_seed(cfg.seed)
    net = net.to(device).train()
    avg = copy.deepcopy(net).eval().requires_grad_(False)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    warmup = 50
    log = TrainLog(losses=[])
    order, pos = torch.randperm(len(images), generator=gen), 0
    sig = torch.as_tensor(sigmas, dtype=torch.float32)
    with Busy():
        start = time.perf_counter()
        while log.steps < cfg.max_steps and time.perf_counter() - start < cfg.budget_seconds:
            if pos + cfg.batch_size > len(order):
                order, pos = torch.randperm(len(images), generator=gen), 0
            x = images[order[pos:pos + cfg.batch_size]].to(device)
            pos += cfg.batch_size
            sigma, z = draw_noise(x, sig, gen)
            for group in opt.param_groups:
                group["lr"] = cfg.lr * min(1.0, (log.steps + 1) / warmup)
            loss = loss_fn(x, sigma, z)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            _ema_update(avg, net, min(cfg.ema_decay, (1 + log.steps) / (10 + log.steps)))
            log.steps += 1
            if log.steps % log_every == 0 or log.steps == 1:
                log.losses.append((log.steps, float(loss.detach())))
            if log.steps % 20 == 0:
                fit_threads()
        log.seconds = time.perf_counter() - start
    return avg, log


def no_grad_score(score_model: nn.Module) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """``score_model`` as ``score_fn(x, sigma)`` without a graph (for the samplers)."""
    def score(x: torch.Tensor, sigma) -> torch.Tensor:
        with torch.no_grad():
            return score_model(x, sigma)

    return score
