"""Divergence guard: detect a diverging EBM / JEM run and restart it from the last good state.

EBM training diverges now and then (the JEM issue tracker is full of it). The remedy users
confirm: go back to the last good checkpoint, re-seed, lower the learning rate. This callback
does exactly that, automatically, inside one ``trainer.fit``.
"""

from __future__ import annotations

import copy
import math
from typing import Callable

import pytorch_lightning as pl
import torch


def buffer_diversity(pl_module: pl.LightningModule, n: int = 256) -> float:
    """How different the sampler's buffered samples are: :func:`metrics.pairwise_diversity`
    of up to ``n`` evenly spaced filled slots of ``pl_module.sampler`` (float32, as the buffer
    is). A buffer collapsed onto one blob gives nearly 0; NaN below 2 samples."""
    from .metrics import pairwise_diversity

    sampler = pl_module.sampler
    return pairwise_diversity(sampler.buffer[:sampler.n_filled], n, dtype=torch.float32)


def scale_learning_rates(trainer: pl.Trainer, factor: float) -> None:
    """Multiply every learning rate by ``factor`` so that it stays cut: the optimisers' current
    rates and the ``base_lrs`` their schedulers recompute rates from (a ``LambdaLR``, as JEM's
    ``px_lr`` schedule, sets ``lr = base_lr * lambda(step)`` at every step and would undo a cut
    of the rates alone; chainable schedulers such as ``StepLR`` scale the current rate)."""
    for opt in trainer.optimizers:
        for group in opt.param_groups:
            group["lr"] *= factor
    for config in trainer.lr_scheduler_configs:
        scheduler = config.scheduler
        if hasattr(scheduler, "base_lrs"):
            scheduler.base_lrs = [lr * factor for lr in scheduler.base_lrs]


class DivergenceGuard(pl.Callback):
    """Snapshot a healthy run every ``every_n_steps``; on divergence restore it and re-seed.

    Divergence is any of: a non-finite loss or energy, ``|energy_data - energy_model|`` above
    ``max_energy_gap``, ``|energy|`` above ``max_abs_energy``, or (when ``quality_fn`` is
    given) sample quality below ``min_quality``: ``quality_fn(pl_module)`` is checked every
    ``quality_every_n_steps`` steps, e.g. :func:`buffer_diversity` to catch the collapse of
    every chain onto one blob, or a judge classifier's confident share
    (:mod:`ebm_course.metrics`). On recovery the model,
    optimiser and sampler buffer are restored, torch is re-seeded with ``seed + n_recoveries``,
    and every learning rate is multiplied by ``lr_factor`` once per recovery, in a way the
    learning-rate schedulers keep (:func:`scale_learning_rates`).

    Args:
        every_n_steps: snapshot interval (in optimiser steps) while healthy.
        max_energy_gap: largest tolerated gap between mean data and sample energies.
        max_abs_energy: largest tolerated magnitude of a mean energy.
        lr_factor: learning-rate multiplier applied at each recovery.
        max_recoveries: give up (raise) after this many recoveries.
        seed: base seed for re-seeding.
        quality_fn: optional ``pl_module -> float`` sample-quality score (higher is better).
        min_quality: the lowest healthy value of ``quality_fn`` (required with it).
        quality_every_n_steps: how often ``quality_fn`` runs (it may cost a forward pass or
            a few); a snapshot is only taken on a step where quality was checked, if it is.
    """

    def __init__(self, every_n_steps: int = 50, max_energy_gap: float = 50.0,
                 max_abs_energy: float = 1e3, lr_factor: float = 0.5, max_recoveries: int = 3,
                 seed: int = 0, quality_fn: Callable[[pl.LightningModule], float] | None = None,
                 min_quality: float | None = None, quality_every_n_steps: int = 50) -> None:
        if quality_fn is not None and min_quality is None:
            raise ValueError("quality_fn needs min_quality, the lowest healthy value")
        if quality_fn is not None and every_n_steps % quality_every_n_steps:
            raise ValueError(f"every_n_steps ({every_n_steps}) must be a multiple of "
                             f"quality_every_n_steps ({quality_every_n_steps}): a snapshot is "
                             "only taken after a quality check")
        self.quality_fn, self.min_quality = quality_fn, min_quality
        self.quality_every_n_steps = quality_every_n_steps
        self.quality: list[tuple[int, float]] = []  # (global step, quality_fn value)
        self.every_n_steps, self.max_energy_gap = every_n_steps, max_energy_gap
        self.max_abs_energy, self.lr_factor = max_abs_energy, lr_factor
        self.max_recoveries, self.seed = max_recoveries, seed
        self.recoveries: list[int] = []  # global steps at which a recovery happened
        self.reasons: list[str] = []     # and why
        self._snapshot: dict | None = None

    def diverged(self, metrics: dict) -> str | None:
        """Why the logged ``metrics`` count as divergence, or None if they look healthy."""
        values = {k: float(v) for k, v in metrics.items()
                  if k in ("loss", "energy_data", "energy_model")}
        for key, value in values.items():
            if not math.isfinite(value):
                return f"{key} is {value}"
        if "energy_data" in values and "energy_model" in values:
            gap = abs(values["energy_data"] - values["energy_model"])
            if gap > self.max_energy_gap:
                return f"energy gap {gap:.3g} > {self.max_energy_gap}"
            worst = max(abs(values["energy_data"]), abs(values["energy_model"]))
            if worst > self.max_abs_energy:
                return f"|energy| {worst:.3g} > {self.max_abs_energy}"
        return None

    def quality_collapsed(self, step: int, pl_module: pl.LightningModule) -> str | None:
        """Run ``quality_fn``; the reason if its value is below ``min_quality`` (NaN is not)."""
        value = float(self.quality_fn(pl_module))
        self.quality.append((step, value))
        if value < self.min_quality:
            return f"sample quality {value:.3g} < {self.min_quality}"
        return None

    def _take_snapshot(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        sampler = getattr(pl_module, "sampler", None)
        self._snapshot = {
            "model": copy.deepcopy(pl_module.state_dict()),
            "optimizers": [copy.deepcopy(opt.state_dict()) for opt in trainer.optimizers],
            "sampler": copy.deepcopy(sampler.state_dict()) if sampler is not None else None,
        }

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._take_snapshot(trainer, pl_module)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs,
                           batch, batch_idx: int) -> None:
        metrics = dict(trainer.callback_metrics)
        if isinstance(outputs, dict) and "loss" in outputs:
            metrics["loss"] = outputs["loss"].detach()
        reason = self.diverged(metrics)
        if reason is None and self.quality_fn is not None \
                and trainer.global_step % self.quality_every_n_steps == 0:
            reason = self.quality_collapsed(trainer.global_step, pl_module)
        if reason is None:
            if trainer.global_step % self.every_n_steps == 0:
                self._take_snapshot(trainer, pl_module)
            return
        if len(self.recoveries) >= self.max_recoveries:
            raise RuntimeError(f"training diverged ({reason}) after {len(self.recoveries)} "
                               f"recoveries at steps {self.recoveries}; giving up")
        self.recoveries.append(trainer.global_step)
        self.reasons.append(reason)
        pl_module.load_state_dict(self._snapshot["model"])
        for opt, state in zip(trainer.optimizers, self._snapshot["optimizers"]):
            # Restore the moments, keep the learning rate the schedule gives now (the snapshot's
            # may be an older point of the schedule, or already cut by an earlier recovery).
            lrs = [group["lr"] for group in opt.param_groups]
            opt.load_state_dict(state)
            for group, lr in zip(opt.param_groups, lrs):
                group["lr"] = lr
        scale_learning_rates(trainer, self.lr_factor)
        if self._snapshot["sampler"] is not None:
            pl_module.sampler.load_state_dict(copy.deepcopy(self._snapshot["sampler"]))
        torch.manual_seed(self.seed + len(self.recoveries))
        pl_module.print(f"DivergenceGuard: {reason} at step {trainer.global_step}; restored the "
                        f"last good state, re-seeded, lr x{self.lr_factor:g} "
                        f"(x{self.lr_factor ** len(self.recoveries):g} in all)")
