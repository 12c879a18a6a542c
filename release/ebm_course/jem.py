"""JEM, the Joint Energy-based Model (Grathwohl et al. 2020): a classifier that is also an EBM.

A classifier's logits ``f(x)`` define an energy of the pair and of the image alone
(sign convention in :mod:`ebm_course.models`; the net returns neg_energy)::

    -E(x, y) = f(x)[y]                 (forward(x, y))
    -E(x)    = logsumexp_y f(x)[y]     (forward(x))
    q(y | x) = softmax(f(x))[y]        (the usual classifier; Z cancels)

Training maximises ``log q(x, y) = log q(x) + log q(y | x)``: ``px_step`` is the EBM part
(contrastive divergence with SGLD samples from a replay buffer, plus the L2 energy penalty),
``pyx_step`` the cross-entropy, ``jem_step`` their weighted sum. Assignment 4 asks a student to
write all three (and ``run_chain``, the traced SGLD chain that generates glyphs), so this module
holds none of them: :class:`JEM` is a thin LightningModule that trains the pieces it is given.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Callable

import pytorch_lightning as pl
import torch
from torch import nn

from .config import cap_steps, with_run_seed
from .export import find_export, load_exported
from .interrupts import take_interrupt_exit
from .lightning_hooks import ReplayBufferHooks, log_sample_grad_norm
from .metrics import accuracy, predict_logits  # noqa: F401  (notebook 4 imports them from here)
from .sampling import MCMCSampler, StepFn


@dataclass(frozen=True)
class JEMConfig:
    """Settings of the glyph JEM (defaults: the ``full`` profile, one GPU)."""

    image_size: int = 56
    in_channels: int = 1
    n_classes: int = 42
    hidden: int = 64              # CNN width (32 / 64 / 128 channels)
    lr: float = 1e-4              # JEM's Adam rate; higher diverges (wgrathwohl/JEM #4, #8)
    px_lr: float | None = None    # Adam rate from px_start_step on (None: lr); a warm-started
                                  # classifier at a classifier's rate is torn apart by log q(x)
    beta1: float = 0.9
    alpha: float = 0.1            # L2 energy penalty: keeps both energies near 0 (stability)
    px_weight: float = 1.0        # weight of log q(x) in the objective
    pyx_weight: float = 1.0       # weight of log q(y|x)
    px_start_step: int = 0        # classification-only steps before log q(x) joins
    batch_size: int = 64
    buffer_size: int = 10_000     # reservoir of persistent chains (fixed maximum)
    reinit_prob: float = 0.05     # share of chains restarted from fresh noise
    n_steps: int = 20             # SGLD steps per training iteration
    step_size: float = 1.0        # SGLD gradient step
    noise_std: float = 0.01       # SGLD noise
    grad_clip: float | None = None  # JEM does not clip dE/dx
    init: str = "class"           # fresh chains: "class" (a per-class Gaussian fitted to the
                                  # data, JEM++'s informative start) or "gaussian" (N(0, init_std^2))
    init_rank: int = 32           # principal directions kept per class Gaussian
    init_std: float = 0.1         # "gaussian": fresh chains from N(0, 0.01), i.e. std 0.1
    data_noise_std: float = 0.03  # Gaussian noise on data images (JEM's value)
    max_epochs: int = 60
    max_steps: int = -1           # -1: run max_epochs
    n_train: int | None = None    # training images (None: the whole split)
    n_val: int | None = None      # validation images
    seed: int = 42


def jem_config(profile: str) -> JEMConfig:
    """The JEM settings of a profile (see :func:`_jem_config`); with ``EBM_COURSE_STEP_CAP`` set
    (``config.cap_steps``) training stops after that many steps, and a warm start shrinks to half
    of them so that both phases (classifier, then JEM) still run."""
    cfg = with_run_seed(_jem_config(profile))
    steps = cap_steps(cfg.max_steps)
    if steps == cfg.max_steps:
        return cfg
    return replace(cfg, max_steps=steps, px_start_step=min(cfg.px_start_step, steps // 2))


def _jem_config(profile: str) -> JEMConfig:
    """The JEM settings of a profile: ``full`` (GPU), ``quick`` (2-core CPU), ``grade`` (tiny).

    ``quick`` warm-starts: 300 classifier steps at a classifier's rate (1e-3; ~96% test accuracy
    alone), then 200 JEM steps at JEM's rate (1e-4) with 5 SGLD steps per iteration from a
    persistent buffer whose chains start from per-class Gaussians (JEM++'s informative start,
    rank 32), ``log q(x)`` weighted 0.1 and a light L2 penalty (0.01). Measured on the glyph set
    (2-core CPU; the judge of :mod:`.metrics` on 512 samples, K = 16 SGLD steps from the class
    Gaussians; notebook 4): IS 34, 37 classes, Frechet distance 1.9x that of as many real
    glyphs, 94% of class-conditional samples judged as their class, test accuracy 96.5%,
    buffer diversity 0.51. The same recipe with chains from N(0, 0.1^2) gave saturated blobs
    (IS 5.3, 9 classes, 27x the real Frechet distance, buffer diversity 0.26, 48 samples);
    with the class starts but K = 256 generation steps: IS 26 but 47x the real Frechet
    distance (long chains leave the horizon the short training chains shaped). Open: this
    JEM is under-confident (ECE 0.20-0.22 against the classifier's 0.01; logsumexp f(x) about 6
    on test glyphs against 25). Tried (one seed each; ``benchmarks/jem_calibration.py``,
    ``results/jem_calibration.jsonl``): alpha 0 -> ECE 0.17, alpha 0.001 -> 0.18,
    10 / 20 SGLD steps -> 0.23 / 0.24, px_weight 0.05 -> 0.16 (Frechet 4.2x real); a validation
    temperature of 0.3 -> 0.004, so the logits are shrunk, not misordered. Weight 1 on
    ``log q(x)`` (alpha 0.1, 0.01 or 0)
    drags a warm-started classifier to 24-63% accuracy within 150 steps; alpha 0.1 with
    weight 0.1 pulls noise energies up to the data's.
    """
    if profile == "full":
        return JEMConfig()
    if profile == "quick":
        return JEMConfig(hidden=32, lr=1e-3, px_lr=1e-4, alpha=0.01, px_weight=0.1,
                         max_epochs=100, max_steps=500, px_start_step=300, n_steps=5,
                         buffer_size=2000, n_val=512, batch_size=64)
    if profile == "grade":
        return JEMConfig(hidden=16, lr=1e-3, max_epochs=1, max_steps=4, px_start_step=2,
                         n_steps=2, buffer_size=64, n_train=256, n_val=128, batch_size=32)
    raise ValueError(f"unknown profile {profile!r}")


def make_sampler(config: JEMConfig, step_fn: StepFn, sampler_cls: type[MCMCSampler],
                 seed_offset: int = 0, class_gaussians: "ClassGaussians | None" = None) -> MCMCSampler:
    """The JEM sampler: the notebook's ``sampler_cls`` (a buffer policy) with its ``step_fn``,
    set up from ``config``, images clamped to [-1, 1]. Fresh chains come from small Gaussian
    noise; a ``sampler_cls`` that reads ``self.class_gaussians`` (the notebook's) starts them
    from those instead when they are given (``config.init == "class"``)."""
    sampler = sampler_cls(
        (config.in_channels, config.image_size, config.image_size), config.buffer_size,
        config.reinit_prob, config.n_steps, config.step_size, config.noise_std, config.grad_clip,
        (-1.0, 1.0), init="gaussian", init_std=config.init_std, seed=config.seed + seed_offset,
        step_fn=step_fn)
    sampler.class_gaussians = class_gaussians if config.init == "class" else None
    return sampler


@dataclass(frozen=True)
class ClassGaussians:
    """One Gaussian per class fitted to the training images (JEM++'s informative start).

    Class ``k`` is ``N(means[k], factors[k] factors[k]^T)``: its mean image and the top
    ``rank`` principal directions of its images, scaled by their standard deviations (a full
    56x56 covariance per class would take 42 x 3136^2 floats; ``rank`` directions keep most of
    the variance). A draw ``means[y] + factors[y] @ z``, ``z ~ N(0, I_rank)``, is a blurry but
    recognisable glyph of class ``y``, so SGLD starts near the data instead of in mid-gray.

    Attributes:
        means: (K, D) class means, D = C * H * W.
        factors: (K, D, rank).
        sample_shape: (C, H, W).
    """

    means: torch.Tensor
    factors: torch.Tensor
    sample_shape: tuple

    @property
    def n_classes(self) -> int:
        return self.means.shape[0]


def fit_class_gaussians(x: torch.Tensor, y: torch.Tensor, n_classes: int,
                        rank: int = 32) -> ClassGaussians:
    """Fit :class:`ClassGaussians` to images ``x`` (N, C, H, W) with labels ``y`` (N,).

    Each class's factors are the top ``rank`` right singular vectors of its centred images times
    ``singular value / sqrt(n_k - 1)``: ``factors @ factors.T`` is the class covariance
    restricted to those directions. Deterministic (no random numbers)."""
    flat = x.flatten(1).double()
    means, factors = [], []
    for k in range(n_classes):
        xk = flat[y == k]
        mean = xk.mean(0)
        _, sv, vh = torch.linalg.svd(xk - mean, full_matrices=False)
        r = min(rank, len(sv))
        factor = vh[:r].T * (sv[:r] / max(len(xk) - 1, 1) ** 0.5)  # (D, r)
        factors.append(torch.nn.functional.pad(factor, (0, rank - r)))  # classes with few images
        means.append(mean)
    return ClassGaussians(torch.stack(means).float(), torch.stack(factors).float(),
                          tuple(x.shape[1:]))


def make_net(config: JEMConfig, net_cls: type[nn.Module]) -> nn.Module:
    """``net_cls(in_channels, image_size, hidden, n_classes)`` from ``config`` (the notebook's
    subclass of :class:`~ebm_course.models.CNNEnergy`)."""
    return net_cls(config.in_channels, config.image_size, config.hidden, config.n_classes)


class JEM(ReplayBufferHooks, pl.LightningModule):
    """JEM training of a glyph classifier, ``log q(x, y) = log q(x) + log q(y | x)``.

    Args:
        config: a :class:`JEMConfig`.
        net: network with ``get_logits`` and ``forward(x, y=None)`` (the notebook's).
        sampler: an :class:`MCMCSampler` with a buffer policy and a ``step_fn``
            (:func:`make_sampler`).
        px_step_fn: ``(net, sampler, x_data, alpha) -> (loss, energy_data, energy_model)``.
        pyx_step_fn: ``(net, x, y) -> (loss, acc)``; also scores the validation batches.
        step_fn: ``(net, sampler, x, y, alpha, px_weight, pyx_weight, px_step_fn, pyx_step_fn)
            -> (loss, loss_px, loss_pyx, acc)`` (the notebook's ``jem_step``).

    Logs ``loss``, ``loss_px``, ``loss_pyx`` and ``train_acc`` every step and, on steps with a
    px part, the mean ``energy_data`` / ``energy_model`` of that part (what
    :class:`~ebm_course.guard.DivergenceGuard` watches); ``val_acc`` and friends per epoch.
    """

    def __init__(self, config: JEMConfig, net: nn.Module, sampler: MCMCSampler,
                 px_step_fn: Callable, pyx_step_fn: Callable, step_fn: Callable) -> None:
        super().__init__()
        self.save_hyperparameters({"config": asdict(config)})
        self.config = config
        self.net, self.sampler = net, sampler
        self.px_step_fn, self.pyx_step_fn, self.step_fn = px_step_fn, pyx_step_fn, step_fn

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """neg_energy: ``-E(x)`` without ``y``, ``-E(x, y)`` with it; (B,)."""
        return self.net(x, y)

    def configure_optimizers(self):
        cfg = self.config
        opt = torch.optim.Adam(self.net.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999))
        if cfg.px_lr is None or cfg.px_lr == cfg.lr:
            return opt
        factor = cfg.px_lr / cfg.lr  # the same schedule for a classifier baseline: a fair budget
        schedule = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda step: 1.0 if step < cfg.px_start_step else factor)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    def training_step(self, batch, batch_idx):
        x, y = batch
        cfg = self.config
        x = (x + cfg.data_noise_std * torch.randn_like(x)).clamp(-1, 1)
        px_weight = cfg.px_weight if self.global_step >= cfg.px_start_step else 0.0
        energies = {}

        def px_step_fn(net, sampler, x_data, alpha):
            # The step's own px part; keep its mean energies for the log (DivergenceGuard
            # watches energy_data / energy_model for a runaway gap).
            out = self.px_step_fn(net, sampler, x_data, alpha)
            if isinstance(out, (tuple, list)) and len(out) == 3:
                energies["energy_data"] = out[1].detach().float().mean()
                energies["energy_model"] = out[2].detach().float().mean()
            return out

        loss, loss_px, loss_pyx, acc = self.step_fn(
            self.net, self.sampler, x, y, cfg.alpha, px_weight, cfg.pyx_weight,
            px_step_fn, self.pyx_step_fn)
        self.log_dict({"loss": loss, "loss_px": loss_px, "loss_pyx": loss_pyx, "train_acc": acc},
                      prog_bar=True, sync_dist=True)
        if energies:
            self.log_dict(energies, sync_dist=True)
            n = min(len(x), self.sampler.n_filled)  # the buffer holds this step's samples
            log_sample_grad_norm(self, self.sampler.buffer[:n])
        return loss

    def _eval_step(self, batch, stage: str) -> None:
        x, y = batch
        loss, acc = self.pyx_step_fn(self.net, x, y)  # the notebook's own cross-entropy
        x_noise = torch.rand_like(x) * 2 - 1
        self.log_dict({f"{stage}_acc": acc, f"{stage}_loss": loss,
                       f"{stage}_energy_data": -self.net(x).mean(),
                       f"{stage}_energy_noise": -self.net(x_noise).mean()},
                      prog_bar=stage == "val", sync_dist=True)

    def validation_step(self, batch, batch_idx):
        self._eval_step(batch, "val")

    def test_step(self, batch, batch_idx):
        self._eval_step(batch, "test")


# ----------------------------------------------------------------------------- train / evaluate


def fit_jem(config: JEMConfig, glyphs, model: JEM, callbacks=(),
            enable_progress_bar: bool = True, logger=False) -> JEM:
    """Train ``model`` (a :class:`JEM`) on a :class:`~ebm_course.glyphs.GlyphSet` (or on a
    ``(train_loader, val_loader)`` pair, e.g. MNIST's).

    CPU or one GPU, seeded; no checkpoints (a notebook keeps the model); ``logger`` (default
    off) is passed to the Trainer, e.g. a ``CSVLogger`` for :func:`~ebm_course.plotting.training_dynamics`.
    Ctrl+C stops training and returns the model as it is then (no ``SystemExit`` in the notebook).
    """
    from .glyphs import glyph_loaders

    pl.seed_everything(config.seed, verbose=False)
    if isinstance(glyphs, (tuple, list)):
        train, val = glyphs[:2]
    else:
        train, val, _ = glyph_loaders(glyphs, config.batch_size, config.n_train, config.n_val,
                                      seed=config.seed)
    trainer = pl.Trainer(max_epochs=config.max_epochs, max_steps=config.max_steps,
                         accelerator="auto", devices=1, logger=logger, enable_checkpointing=False,
                         enable_model_summary=False, callbacks=list(callbacks),
                         enable_progress_bar=enable_progress_bar, num_sanity_val_steps=0,
                         limit_val_batches=1.0, val_check_interval=None)
    try:
        trainer.fit(model, train, val)
    except SystemExit:  # Lightning's answer to Ctrl+C; KeepInterruptible has said where it stopped
        take_interrupt_exit()
        if not trainer.interrupted:
            raise
    return model


def classifier_config(config: JEMConfig) -> JEMConfig:
    """The same architecture and budget trained as a plain classifier (no ``log q(x)``)."""
    return replace(config, px_weight=0.0)


# ----------------------------------------------------------------------------- trained nets


def load_trained(name: str, config: JEMConfig, profile: str) -> tuple[nn.Module, str]:
    """The network assignment 4 exported as ``name`` in ``profile``, for assignment 5.

    An export counts when its config matches ``config``; otherwise the newest export of another
    profile is taken, and said so. In the ``grade`` profile (the autograder trains nothing and
    writes nothing) an untrained network of the same shape stands in when there is no export:
    the graded parts of assignment 5 are tested on their own cases, not on this network.

    Returns:
        (net in eval mode with ``get_logits``, a line saying where it came from).
    Raises:
        FileNotFoundError: no export at all outside the grade profile, with what to run.
    """
    path, how = find_export(name, profile, "assignment 4 (04_glyph_jem)", shipped=False)
    if path is not None:
        net = load_exported(path)
        settings = "" if net.meta.get("config") == asdict(config) else (
            " (its settings differ from this profile's)")
        return net, f"{how}: loaded{settings}, test accuracy {net.meta.get('test_accuracy')}"
    if profile == "grade":
        from .metrics import Classifier

        torch.manual_seed(config.seed)
        return Classifier(config.in_channels, config.n_classes).eval(), how
    raise FileNotFoundError(how + "; its last cells train your JEM and a classifier baseline and "
                            "export both there")
