"""Train a module with strategy="ddp" on 2 CPU processes (gloo); each rank writes a report.

Run by tests/test_ddp.py as a script (``ddp_fit.py OUT_DIR {ebm,jem}``): Lightning's DDP
launcher re-runs this file once per rank.
"""

import json
import sys
from pathlib import Path

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from ebm_course.ebm import EBMConfig
from ebm_course.jem import JEMConfig

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.reference_models import ebm_model, jem_model  # noqa: E402  (the reference pieces)


def make_module(kind: str) -> tuple[pl.LightningModule, str]:
    """The module to train and the name of a validation metric it logs with sync_dist."""
    if kind == "ebm":
        return ebm_model(EBMConfig(n_steps=2, buffer_size=64, hidden=8, batch_size=16)), \
            "val_cd_noise"
    config = JEMConfig(image_size=28, n_classes=3, hidden=8, n_steps=2, buffer_size=64,
                       batch_size=16)
    return jem_model(config), "val_acc"


def main(out_dir: str, kind: str) -> None:
    pl.seed_everything(0)
    x = torch.rand(96, 1, 28, 28) * 2 - 1  # 3 batches of 16 per rank
    y = torch.randint(3, (96,))
    data = DataLoader(TensorDataset(x, y), 16)
    model, metric = make_module(kind)
    trainer = pl.Trainer(strategy="ddp", accelerator="cpu", devices=2, max_epochs=1,
                         logger=False, enable_progress_bar=False, enable_model_summary=False,
                         enable_checkpointing=False)
    trainer.fit(model, data, data)
    sampler = model.sampler
    report = {"rank": trainer.global_rank, "world_size": trainer.world_size,
              "n_filled": sampler.n_filled,
              "buffer_sum": float(sampler.buffer[: sampler.n_filled].sum()),
              "weight_sum": float(sum(p.sum() for p in model.parameters())),
              "metric": float(trainer.callback_metrics[metric])}
    with open(f"{out_dir}/rank{trainer.global_rank}.json", "w") as f:
        json.dump(report, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
