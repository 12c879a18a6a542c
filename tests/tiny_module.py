"""The smallest LightningModule that trains: for tests of callbacks and hooks."""

from __future__ import annotations

import pytorch_lightning as pl
import torch


class TinyModule(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(4, 1)

    def training_step(self, batch, batch_idx):
        return self.lin(batch[0]).pow(2).mean()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def tiny_batches(n_batches: int, batch_size: int = 4) -> torch.utils.data.DataLoader:
    data = torch.utils.data.TensorDataset(torch.randn(batch_size * n_batches, 4))
    return torch.utils.data.DataLoader(data, batch_size=batch_size)
