"""Lightning hooks and logs shared by the course's training modules (:mod:`.ebm`, :mod:`.jem`).

A module that trains with a replay-buffer sampler (``self.sampler``, ``self.config.seed``)
inherits :class:`ReplayBufferHooks` first, so the buffer rides in every checkpoint and every
DDP rank keeps its own chains.
"""

from __future__ import annotations

import torch

from .threads import FitThreads


class ReplayBufferHooks:
    """Per-rank chain seeds, the buffer in checkpoints, and a thread share that fits the machine
    while training (:class:`~ebm_course.threads.FitThreads`); mix in before ``LightningModule``."""

    def configure_callbacks(self):
        return [FitThreads()]

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
