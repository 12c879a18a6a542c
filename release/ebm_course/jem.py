"""JEM, the Joint Energy-based Model (Grathwohl et al. 2020): a classifier that is also an EBM.

A classifier's logits ``f(x)`` define an energy of the pair and of the image alone
(sign convention in :mod:`ebm_course.models`; the net returns neg_energy)::

    -E(x, y) = f(x)[y]                 (forward(x, y))
    -E(x)    = logsumexp_y f(x)[y]     (forward(x))
    q(y | x) = softmax(f(x))[y]        (the usual classifier; Z cancels)

Training maximises ``log q(x, y) = log q(x) + log q(y | x)``: :func:`px_step` is the EBM part
(contrastive divergence with SGLD samples from a replay buffer, plus the L2 energy penalty),
:func:`pyx_step` the cross-entropy, :func:`jem_step` their weighted sum. :class:`JEM` is a thin
LightningModule around them with every piece injectable, so a notebook trains with its own.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn

from .config import data_root
from .export import export_net, export_path, load_exported
from .models import CNNEnergy, energy_fn_of
from .sampling import MCMCSampler, langevin_chain, langevin_step, sampling_mode


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
    init_std: float = 0.1         # fresh chains start from N(0, 0.01), i.e. std 0.1
    data_noise_std: float = 0.03  # Gaussian noise on data images (JEM's value)
    max_epochs: int = 60
    max_steps: int = -1           # -1: run max_epochs
    n_train: int | None = None    # training images (None: the whole split)
    n_val: int | None = None      # validation images
    seed: int = 42


def jem_config(profile: str) -> JEMConfig:
    """The JEM settings of a profile: ``full`` (GPU), ``quick`` (2-core CPU), ``grade`` (tiny).

    ``quick`` warm-starts: 300 classifier steps at a classifier's rate (1e-3; ~96% test accuracy
    alone), then 200 JEM steps at JEM's rate (1e-4) with 5 SGLD steps per iteration from a
    persistent buffer, ``log q(x)`` weighted 0.1 and a light L2 penalty (0.01). Measured on the
    glyph set: with weight 1 (alpha 0.1, 0.01 or 0) the fresh ``log q(x)`` gradient of a trained
    classifier, whose energies sit near -20, drags the accuracy to 24-63% within 150 steps;
    alpha 0.1 with weight 0.1 keeps the accuracy but pulls noise energies up to the data's
    (AUROC vs noise 0.98). Weight 0.1, alpha 0.01 keeps ~95% and AUROC 1.0 while the energy gap
    between data and samples opens (the CD term works).
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


def make_sampler(config: JEMConfig, seed_offset: int = 0,
                 step_fn: Callable[..., torch.Tensor] = langevin_step,
                 sampler_cls: type = MCMCSampler) -> MCMCSampler:
    """The JEM sampler: SGLD, reservoir buffer, fresh chains from small Gaussian noise."""
    return sampler_cls(
        (config.in_channels, config.image_size, config.image_size), config.buffer_size,
        config.reinit_prob, config.n_steps, config.step_size, config.noise_std, config.grad_clip,
        (-1.0, 1.0), init="gaussian", init_std=config.init_std, seed=config.seed + seed_offset,
        step_fn=step_fn)


def make_net(config: JEMConfig, net_cls: type = CNNEnergy) -> nn.Module:
    """A :class:`CNNEnergy` with ``n_classes`` logits (or a notebook's subclass of it)."""
    return net_cls(config.in_channels, config.image_size, config.hidden, config.n_classes)


def gaussian_init(n: int, sample_shape: Sequence[int], init_std: float,
                  generator: torch.Generator) -> torch.Tensor:
    """Fresh chain starts ``x ~ N(0, init_std^2)``, drawn from ``generator`` (CPU).

    Args:
        n: number of chains.
        sample_shape: shape of one sample, e.g. (1, 56, 56).
        init_std: standard deviation.
        generator: the sampler's own generator: starts do not depend on the global seed.
    Returns:
        (n, *sample_shape) float32.
    """
    raise NotImplementedError("the student edition leaves this out: your notebook defines its own version")


def pyx_step(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The classifier part, ``-log q(y | x)``: cross-entropy on ``net.get_logits(x)``.

    Args:
        net: a network with ``get_logits``, (B, C, H, W) -> (B, K).
        x: images, (B, C, H, W).
        y: labels, (B,), int64.
    Returns:
        (loss, acc): mean cross-entropy (scalar, with gradient) and accuracy (scalar, detached).
    """
    raise NotImplementedError("the student edition leaves this out: your notebook defines its own version")


def px_step(net: nn.Module, sampler: MCMCSampler, x_data: torch.Tensor,
            alpha: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The generative part, ``-log q(x)`` up to ``log Z``: contrastive divergence + L2 penalty.

    Draws ``len(x_data)`` samples with ``sampler.sample(net, B)``, then with
    ``E(x) = -logsumexp_y f(x)[y] = -net(x)``::

        loss = mean E(x_data) - mean E(x_model) + alpha * (mean E(x_data)^2 + mean E(x_model)^2)

    Args:
        net: network returning neg_energy ``net(x)``, (B,).
        sampler: an :class:`MCMCSampler` (call ``sample`` exactly once).
        x_data: data images, (B, C, H, W).
        alpha: weight of the L2 energy penalty.
    Returns:
        (loss, energy_data, energy_model): scalar loss with gradient, energies (B,) with gradient.
    """
    raise NotImplementedError("the student edition leaves this out: your notebook defines its own version")


def jem_step(net: nn.Module, sampler: MCMCSampler, x: torch.Tensor, y: torch.Tensor,
             alpha: float, px_weight: float = 1.0, pyx_weight: float = 1.0,
             px_step_fn: Callable = px_step, pyx_step_fn: Callable = pyx_step):
    """One JEM objective, ``-(px_weight log q(x) + pyx_weight log q(y|x))``.

    With ``px_weight == 0`` the generative part is skipped (no SGLD: a plain classifier step).

    Args:
        net, sampler, alpha: as in :func:`px_step`.
        x, y: a labelled batch, (B, C, H, W) and (B,).
        px_weight, pyx_weight: weights of the two parts.
        px_step_fn, pyx_step_fn: the two parts (a notebook passes its own).
    Returns:
        (loss, loss_px, loss_pyx, acc): scalars; ``loss`` carries the gradient; ``loss_px`` is
        0 when skipped.
    """
    raise NotImplementedError("the student edition leaves this out: your notebook defines its own version")


class JEM(pl.LightningModule):
    """JEM training of a glyph classifier, ``log q(x, y) = log q(x) + log q(y | x)``.

    Args:
        config: a :class:`JEMConfig`.
        net: network with ``get_logits`` and ``forward(x, y=None)``; default :class:`CNNEnergy`.
        sampler: an :class:`MCMCSampler`; default :func:`make_sampler`.
        px_step_fn, pyx_step_fn, step_fn: the three pieces of the objective (defaults: this
            module's :func:`px_step`, :func:`pyx_step`, :func:`jem_step`).

    Logs ``loss``, ``loss_px``, ``loss_pyx`` and ``train_acc`` every step and, on steps with a
    px part, the mean ``energy_data`` / ``energy_model`` of that part (what
    :class:`~ebm_course.guard.DivergenceGuard` watches); ``val_acc`` and friends per epoch.
    """

    def __init__(self, config: JEMConfig = JEMConfig(), net: nn.Module | None = None,
                 sampler: MCMCSampler | None = None, px_step_fn: Callable = px_step,
                 pyx_step_fn: Callable = pyx_step, step_fn: Callable = jem_step) -> None:
        super().__init__()
        self.save_hyperparameters({"config": asdict(config)})
        self.config = config
        self.net = net if net is not None else make_net(config)
        self.sampler = sampler if sampler is not None else make_sampler(config)
        self.px_step_fn, self.pyx_step_fn, self.step_fn = px_step_fn, pyx_step_fn, step_fn

    def setup(self, stage: str) -> None:
        # Under DDP every rank keeps its own buffer; give each its own chain starts.
        rank = self.trainer.global_rank if self._trainer is not None else 0
        if rank:
            self.sampler.generator.manual_seed(self.config.seed + rank)

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
        return loss

    def _eval_step(self, batch, stage: str) -> None:
        x, y = batch
        logits = self.net.get_logits(x)
        x_noise = torch.rand_like(x) * 2 - 1
        self.log_dict({f"{stage}_acc": (logits.argmax(1) == y).float().mean(),
                       f"{stage}_loss": F.cross_entropy(logits, y),
                       f"{stage}_energy_data": -logits.logsumexp(1).mean(),
                       f"{stage}_energy_noise": -self.net(x_noise).mean()},
                      prog_bar=stage == "val", sync_dist=True)

    def validation_step(self, batch, batch_idx):
        self._eval_step(batch, "val")

    def test_step(self, batch, batch_idx):
        self._eval_step(batch, "test")

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["sampler"] = self.sampler.state_dict()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        if "sampler" in checkpoint:
            self.sampler.load_state_dict(checkpoint["sampler"])


# ----------------------------------------------------------------------------- generation


def generate(net: nn.Module, n: int, n_steps: int = 256, y: torch.Tensor | None = None,
             step_size: float = 1.0, noise_std: float = 0.01, init_std: float = 0.1,
             keep_steps: Sequence[int] = (), seed: int = 0, progress: bool = False,
             step_fn: Callable = langevin_step):
    """Long-run SGLD from fresh noise ``N(0, init_std^2)``: unconditional, or class ``y``.

    Args:
        net: network returning neg_energy; ``y`` (n,) gives ``E(x, y) = -f(x)[y]``.
        n: number of chains.
        n_steps: K, e.g. 256 or 512.
        keep_steps: also return the samples at these steps (0 = the start).
    Returns:
        samples (n, C, H, W); with ``keep_steps`` also ``{step: samples}``.
    """
    device = next(net.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    shape = (n, net.in_channels, net.image_size, net.image_size)
    x = (torch.randn(shape, generator=gen) * init_std).to(device)
    if y is not None:
        y = y.to(device)
    torch.manual_seed(seed)  # the SGLD noise
    with sampling_mode(net):
        return langevin_chain(energy_fn_of(net, y), x, n_steps, step_size, noise_std, None,
                              (-1.0, 1.0), keep_steps=keep_steps, progress=progress,
                              step_fn=step_fn)


# ----------------------------------------------------------------------------- train / evaluate


@torch.no_grad()
def predict_logits(net: nn.Module, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Logits of a tensor of images in batches, eval mode, on CPU: (N, K)."""
    device = next(net.parameters()).device
    was_training = net.training
    net.eval()
    out = torch.cat([net.get_logits(x[i:i + batch_size].to(device)).cpu()
                     for i in range(0, len(x), batch_size)])
    net.train(was_training)
    return out


def accuracy(net: nn.Module, dataset) -> float:
    """Top-1 accuracy of ``net`` on a ``TensorDataset(x, y)``."""
    x, y = dataset.tensors
    return (predict_logits(net, x).argmax(1) == y).float().mean().item()


def fit_jem(config: JEMConfig, glyphs, model: JEM | None = None, callbacks=(),
            enable_progress_bar: bool = True) -> JEM:
    """Train a :class:`JEM` (or ``model``) on a :class:`~ebm_course.glyphs.GlyphSet` (or on a
    ``(train_loader, val_loader)`` pair, e.g. MNIST's).

    CPU or one GPU, seeded; the checkpointing and logging are off (a notebook keeps the model).
    """
    from .glyphs import glyph_loaders

    pl.seed_everything(config.seed, verbose=False)
    model = model if model is not None else JEM(config)
    if isinstance(glyphs, (tuple, list)):
        train, val = glyphs[:2]
    else:
        train, val, _ = glyph_loaders(glyphs, config.batch_size, config.n_train, config.n_val,
                                      seed=config.seed)
    trainer = pl.Trainer(max_epochs=config.max_epochs, max_steps=config.max_steps,
                         accelerator="auto", devices=1, logger=False, enable_checkpointing=False,
                         enable_model_summary=False, callbacks=list(callbacks),
                         enable_progress_bar=enable_progress_bar, num_sanity_val_steps=0,
                         limit_val_batches=1.0, val_check_interval=None)
    trainer.fit(model, train, val)
    return model


def classifier_config(config: JEMConfig) -> JEMConfig:
    """The same architecture and budget trained as a plain classifier (no ``log q(x)``)."""
    return replace(config, px_weight=0.0)


def checkpoint_path(name: str, profile: str) -> Path:
    """``<data root>/checkpoints/<name>-<profile>.pt``."""
    return data_root() / "checkpoints" / f"{name}-{profile}.pt"


def save_net(net: nn.Module, config: JEMConfig, path: Path) -> Path:
    """Save a network's weights and the config that built it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"config": asdict(config), "state_dict": net.state_dict()}, path)
    return path


def load_net(path: Path, net_cls: type = CNNEnergy) -> tuple[nn.Module, JEMConfig]:
    """Load what :func:`save_net` wrote: (net in eval mode, config)."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    config = JEMConfig(**state["config"])
    net = make_net(config, net_cls)
    net.load_state_dict(state["state_dict"])
    return net.eval(), config


# ----------------------------------------------------------------------------- load or train


def reference_available() -> bool:
    """Whether this ``ebm_course`` holds the reference bodies (instructor package), not the
    student edition's stubs."""
    try:
        pyx_step(_Probe(), torch.zeros(1, 1), torch.zeros(1, dtype=torch.long))
    except NotImplementedError:
        return False
    return True


class _Probe(nn.Module):
    def get_logits(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros(len(x), 2)


def load_or_train(name: str, config: JEMConfig, profile: str, glyphs,
                  enable_progress_bar: bool = True, save: bool = True) -> tuple[nn.Module, str]:
    """The exported net ``export_path(name, profile)``, else (instructor package) trained now.

    An export counts when its config matches ``config``. Without one, the instructor package
    trains ``JEM(config)`` with the reference pieces (and exports it when ``save``). The student
    edition cannot (its bodies are stubs): it takes the export of another profile if there is
    one, else raises ``FileNotFoundError`` saying to run assignment 4 first.

    Returns:
        (net in eval mode with ``get_logits``, a line saying where it came from).
    """
    path = export_path(name, profile)
    wanted = asdict(config)
    if path.exists():
        net = load_exported(path)
        if net.meta.get("config") == wanted:
            return net, f"{name}: loaded {path} (test accuracy {net.meta.get('test_accuracy')})"
    if not reference_available():
        others = sorted(path.parent.glob(f"{name}-*.pt2"), key=lambda q: q.stat().st_mtime)
        if path.exists() or others:
            chosen = path if path.exists() else others[-1]
            return load_exported(chosen), (f"{name}: loaded {chosen} (its settings differ from "
                                           f"the {profile} profile's)")
        raise FileNotFoundError(
            f"{path} not found: run assignment 4 (04_glyph_jem) first, in the same profile "
            f"({profile}) and with the same EBM_COURSE_DATA; its last cells train your JEM and "
            "a classifier baseline and export both there")
    model = fit_jem(config, glyphs, enable_progress_bar=enable_progress_bar)
    net = model.net.eval()
    if not save:
        return net, f"{name}: trained now ({profile} profile), not saved"
    meta = {"config": wanted, "profile": profile, "name": name}
    if hasattr(glyphs, "dataset"):
        meta["test_accuracy"] = round(accuracy(net, glyphs.dataset("test")), 4)
    export_net(net, path, meta)
    return net, f"{name}: trained now ({profile} profile), exported to {path}"
