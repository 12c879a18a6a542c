"""Lightning hooks shared by the course's training modules (:mod:`.ebm`, :mod:`.jem`).

A module that trains with a replay-buffer sampler (``self.sampler``, ``self.config.seed``)
inherits :class:`ReplayBufferHooks` first, so the buffer rides in every checkpoint and every
DDP rank keeps its own chains.
"""

from __future__ import annotations


class ReplayBufferHooks:
    """Per-rank chain seeds and the buffer in checkpoints (mix in before ``LightningModule``)."""

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
