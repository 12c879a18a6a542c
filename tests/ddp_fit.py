"""Train DeepEnergyModel with strategy="ddp" on 2 CPU processes (gloo); each rank reports.

Run by tests/test_ddp.py as a script: Lightning's DDP launcher re-runs this file per rank.
"""

import json
import sys

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from ebm_course.ebm import DeepEnergyModel, EBMConfig


def main(out_dir: str) -> None:
    pl.seed_everything(0)
    x = torch.rand(96, 1, 28, 28) * 2 - 1  # 3 batches of 16 per rank
    data = DataLoader(TensorDataset(x, torch.zeros(96, dtype=torch.long)), 16)
    model = DeepEnergyModel(EBMConfig(n_steps=2, buffer_size=64, hidden=8, batch_size=16))
    trainer = pl.Trainer(strategy="ddp", accelerator="cpu", devices=2, max_epochs=1,
                         logger=False, enable_progress_bar=False, enable_model_summary=False,
                         enable_checkpointing=False)
    trainer.fit(model, data, data)
    report = {"rank": trainer.global_rank, "world_size": trainer.world_size,
              "n_filled": model.sampler.n_filled,
              "buffer_sum": float(model.sampler.buffer[: model.sampler.n_filled].sum()),
              "weight_sum": float(sum(p.sum() for p in model.parameters())),
              "val_cd_noise": float(trainer.callback_metrics["val_cd_noise"])}
    with open(f"{out_dir}/rank{trainer.global_rank}.json", "w") as f:
        json.dump(report, f)


if __name__ == "__main__":
    main(sys.argv[1])
