"""The divergence guard: a forced divergence is detected and the run recovers."""

import math

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from ebm_course.ebm import DeepEnergyModel, EBMConfig
from ebm_course.guard import DivergenceGuard
from ebm_course.losses import ebm_loss


def loader(n=96, batch=16):
    x = torch.rand(n, 1, 28, 28) * 2 - 1
    return DataLoader(TensorDataset(x, torch.zeros(n, dtype=torch.long)), batch, drop_last=True)


def test_forced_divergence_is_recovered():
    calls = {"n": 0}

    def exploding_loss(energy_data, energy_model, alpha):
        calls["n"] += 1
        loss, cd, reg = ebm_loss(energy_data, energy_model, alpha)
        if calls["n"] == 4:  # one poisoned step: NaN gradients wreck every weight
            loss = loss * float("nan")
        return loss, cd, reg

    pl.seed_everything(0)
    cfg = EBMConfig(n_steps=2, buffer_size=64, hidden=8, batch_size=16, lr=1e-3)
    model = DeepEnergyModel(cfg, loss_fn=exploding_loss)
    guard = DivergenceGuard(every_n_steps=1, seed=1)
    trainer = pl.Trainer(max_steps=8, accelerator="cpu", logger=False, enable_progress_bar=False,
                         enable_model_summary=False, enable_checkpointing=False, callbacks=[guard])
    trainer.fit(model, loader())
    assert len(guard.recoveries) == 1
    assert all(torch.isfinite(p).all() for p in model.parameters()), "weights should be restored"
    assert trainer.optimizers[0].param_groups[0]["lr"] <= 5e-4 + 1e-12  # halved (and decayed)
    assert math.isfinite(float(trainer.callback_metrics["loss"]))


def test_detection_rules():
    guard = DivergenceGuard(max_energy_gap=10, max_abs_energy=100)
    assert guard.diverged({"loss": torch.tensor(1.0), "energy_data": torch.tensor(-1.0),
                           "energy_model": torch.tensor(1.0)}) is None
    assert "nan" in guard.diverged({"loss": torch.tensor(float("nan"))})
    assert "gap" in guard.diverged({"energy_data": torch.tensor(-20.0), "energy_model": torch.tensor(0.0)})
    assert "|energy|" in guard.diverged({"energy_data": torch.tensor(200.0), "energy_model": torch.tensor(195.0)})


def test_gives_up_after_max_recoveries():
    def always_nan(energy_data, energy_model, alpha):
        loss, cd, reg = ebm_loss(energy_data, energy_model, alpha)
        return loss * float("nan"), cd, reg

    cfg = EBMConfig(n_steps=1, buffer_size=32, hidden=8, batch_size=16)
    guard = DivergenceGuard(max_recoveries=2)
    trainer = pl.Trainer(max_steps=6, accelerator="cpu", logger=False, enable_progress_bar=False,
                         enable_model_summary=False, enable_checkpointing=False, callbacks=[guard])
    try:
        trainer.fit(DeepEnergyModel(cfg, loss_fn=always_nan), loader())
    except RuntimeError as err:
        assert "giving up" in str(err)
    else:
        raise AssertionError("the guard should give up")
