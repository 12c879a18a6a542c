"""Lightning 2.x callbacks for image EBMs: generation over SGLD steps, buffer samples, outliers.

Each saves a PNG under ``<log_dir>/images/`` and, when the logger is TensorBoard, logs the grid
too; the latest grid is kept on the callback (``last_grid``) for notebooks to show.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pytorch_lightning as pl
import torch

from .models import energy_fn_of
from .sampling import langevin_chain, sampling_mode
from .util import import_torchvision

torchvision = import_torchvision()  # a clear error when torch and torchvision are no pair


def _publish(trainer: pl.Trainer, name: str, images: torch.Tensor, nrow: int) -> torch.Tensor:
    grid = torchvision.utils.make_grid(images.detach().cpu(), nrow=nrow, normalize=True,
                                       value_range=(-1, 1), pad_value=0.5)
    experiment = getattr(trainer.logger, "experiment", None)
    if hasattr(experiment, "add_image"):
        experiment.add_image(name, grid, global_step=trainer.current_epoch)
    if trainer.log_dir is not None and trainer.is_global_zero:
        out = Path(trainer.log_dir) / "images" / f"{name}_epoch{trainer.current_epoch:03d}.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        plt.imsave(out, grid.permute(1, 2, 0).numpy())
    return grid


class GenerateCallback(pl.Callback):
    """Every ``every_n_epochs``, run fresh chains from noise and show them at ``vis_steps`` steps.

    The chains use the training sampler's settings and its ``step_fn`` (the notebook's own step).

    Args:
        batch_size: number of chains.
        vis_steps: how many columns (steps) to show, evenly spaced over ``n_steps``.
        n_steps: SGLD steps from uniform noise (much longer than a training chain).
        every_n_epochs: how often.
    """

    def __init__(self, batch_size: int = 8, vis_steps: int = 8, n_steps: int = 256,
                 every_n_epochs: int = 5) -> None:
        self.batch_size, self.vis_steps, self.n_steps = batch_size, vis_steps, n_steps
        self.every_n_epochs = every_n_epochs
        self.last_grid: torch.Tensor | None = None

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.current_epoch % self.every_n_epochs:
            return
        sampler = pl_module.sampler
        keep = torch.linspace(0, self.n_steps, self.vis_steps).round().long().tolist()
        x = (torch.rand((self.batch_size, *sampler.sample_shape), device=pl_module.device) * 2 - 1)
        with sampling_mode(pl_module.net):
            _, kept = langevin_chain(energy_fn_of(pl_module.net), x, self.n_steps,
                                     sampler.step_size, sampler.noise_std, sampler.grad_clip,
                                     sampler.clamp, step_fn=sampler.step_fn, keep_steps=keep)
        frames = torch.stack([kept[s] for s in keep], dim=1).flatten(0, 1)
        self.last_grid = _publish(trainer, "generation", frames, nrow=len(keep))


class SamplerCallback(pl.Callback):
    """Every ``every_n_epochs``, show ``n_images`` random samples from the replay buffer."""

    def __init__(self, n_images: int = 32, every_n_epochs: int = 5) -> None:
        self.n_images, self.every_n_epochs = n_images, every_n_epochs
        self.last_grid: torch.Tensor | None = None

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        sampler = pl_module.sampler
        if trainer.current_epoch % self.every_n_epochs or sampler.n_filled == 0:
            return
        idx = torch.randperm(sampler.n_filled)[: self.n_images]
        self.last_grid = _publish(trainer, "buffer", sampler.buffer[idx.to(sampler.buffer.device)],
                                  nrow=8)


class OutlierCallback(pl.Callback):
    """Log the mean neg_energy of uniform noise: it should stay well below that of data."""

    def __init__(self, batch_size: int = 1024) -> None:
        self.batch_size = batch_size

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        shape = (self.batch_size, *pl_module.sampler.sample_shape)
        with torch.no_grad():
            noise = torch.rand(shape, device=pl_module.device) * 2 - 1
            pl_module.log("rand_neg_energy", pl_module.net(noise).mean(), sync_dist=True)
