"""Lightning hooks and logs shared by the course's training modules (:mod:`.ebm`, :mod:`.jem`).

A module that trains with a replay-buffer sampler (``self.sampler``, ``self.config.seed``)
inherits :class:`ReplayBufferHooks` first, so the buffer rides in every checkpoint and every
DDP rank keeps its own chains.
"""

from __future__ import annotations

import signal
import threading

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import TQDMProgressBar

from . import interrupts
from .config import quiet_lightning
from .threads import Busy, fit_threads


class ReplayBufferHooks:
    """Per-rank chain seeds, the buffer in checkpoints, a thread share that fits the machine
    while training (:class:`FitThreads`), one progress bar for the run
    (:class:`RunProgressBar`) and a kernel that stays interruptible (:class:`KeepInterruptible`);
    mix in before ``LightningModule``."""

    def configure_callbacks(self):
        quiet_lightning()  # also when Lightning was imported after the notebook's banner
        bar = self.trainer.progress_bar_callback if self._trainer is not None else None
        return [FitThreads(), KeepInterruptible()] + (
            [RunProgressBar()] if type(bar) is TQDMProgressBar else [])

    def setup(self, stage: str) -> None:
        # Under DDP every rank keeps its own buffer; give each its own chain starts.
        rank = self.trainer.global_rank if self._trainer is not None else 0
        if rank:
            self.sampler.generator.manual_seed(self.config.seed + rank)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["sampler"] = self.sampler.state_dict()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        if "sampler" in checkpoint:
            self.sampler.load_state_dict(checkpoint["sampler"])


def log_sample_grad_norm(module, x_model: torch.Tensor, every_n_steps: int = 10) -> None:
    """Log ``sample_grad_norm``, the mean per-sample ``|dE/dx|`` at the model's samples.

    The diagnostic the EBM literature recommends watching (with the energies): a gradient that
    grows by orders of magnitude means the energy landscape is getting sharp (divergence ahead);
    one near zero means the samples sit in flat regions. Only every ``every_n_steps`` steps (an
    extra forward and backward of the batch); no parameter gradient is touched.
    """
    if module.global_step % every_n_steps:
        return
    x = x_model.detach().float().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(-module.net(x).sum(), x)
    module.log("sample_grad_norm", grad.flatten(1).norm(dim=1).mean(), sync_dist=True)


class FitThreads(pl.Callback):
    """Counts the run in as busy while it trains and refits its thread share every
    ``every_n_steps`` training steps (the course's LightningModules add it themselves)."""

    def __init__(self, every_n_steps: int = 20) -> None:
        self.every_n_steps = every_n_steps
        self._busy: Busy | None = None

    def on_fit_start(self, trainer, pl_module) -> None:
        self._busy = Busy().__enter__()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if self._busy is not None and batch_idx % self.every_n_steps == 0:
            fit_threads()

    def _leave(self) -> None:
        if self._busy is not None:
            self._busy.__exit__(None, None, None)
            self._busy = None

    def on_fit_end(self, trainer, pl_module) -> None:
        self._leave()

    def on_exception(self, trainer, pl_module, exception) -> None:
        self._leave()


class RunProgressBar(TQDMProgressBar):
    """One progress bar for the whole training run, with the run's ETA: Lightning's own bar
    restarts every epoch and counts the epoch's batches (468 for MNIST) even when the run stops
    after ``max_steps`` (03's quick run: 1,600 steps over four epochs, an ETA for epoch 0 only).
    The course's LightningModules use it in place of Lightning's default bar."""

    def _run_total(self, trainer) -> float:
        per_epoch = self.total_train_batches
        epochs = trainer.max_epochs if trainer.max_epochs and trainer.max_epochs > 0 else None
        by_epochs = per_epoch * epochs if epochs and per_epoch != float("inf") else float("inf")
        return min(trainer.max_steps, by_epochs) if trainer.max_steps > 0 else by_epochs

    def on_train_epoch_start(self, trainer, *_) -> None:
        bar = self.train_progress_bar
        if trainer.current_epoch == 0 or bar.total is None:
            total = self._run_total(trainer)
            bar.reset(total=None if total == float("inf") else int(total))
            bar.initial = 0
        bar.set_description(f"Training (epoch {trainer.current_epoch})")

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        n = trainer.fit_loop.total_batch_idx + 1
        bar = self.train_progress_bar
        if bar is not None and self._should_update(n, bar.total):
            bar.n = n
            bar.refresh()
            bar.set_postfix(self.get_metrics(trainer, pl_module))


class KeepInterruptible(pl.Callback):
    """Ctrl+C (a notebook's stop button) during training: one line saying where training
    stopped, and a kernel that can still be interrupted. Lightning's handler ignores SIGINT from
    then on (``signal.SIG_IGN``, meant for a script about to exit) and then raises
    ``SystemExit(1)``; in a notebook kernel that outlives the run, every later stop button
    would be ignored. This puts back the handler the kernel had when training started."""

    def __init__(self) -> None:
        self._handler = None

    def on_fit_start(self, trainer, pl_module) -> None:
        if threading.current_thread() is threading.main_thread():
            self._handler = signal.getsignal(signal.SIGINT)

    def on_exception(self, trainer, pl_module, exception) -> None:
        if not isinstance(exception, KeyboardInterrupt):
            return
        if self._handler is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, self._handler)
        print(f"Training interrupted at step {trainer.global_step}: the network keeps the weights "
              "of that step (run the cell again to train from the start).", flush=True)
        interrupts.exit_follows()  # Lightning's SystemExit(1) comes next: nothing more to show
