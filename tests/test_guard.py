"""The divergence guard: a forced divergence is detected and the run recovers."""

import math

import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from ebm_course.ebm import EBMConfig
from ebm_course.guard import DivergenceGuard, buffer_diversity
from ebm_course.instructor.assignments.glyph_jem import reference as ref04
from ebm_course.instructor.assignments.mnist_ebm import reference as ref03
from ebm_course.instructor.assignments.mnist_ebm.reference import ebm_loss

from .reference_models import ebm_model, jem_model


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
    model = ebm_model(cfg, loss_fn=exploding_loss)
    guard = DivergenceGuard(every_n_steps=1, seed=1)
    trainer = pl.Trainer(max_steps=8, accelerator="cpu", logger=False, enable_progress_bar=False,
                         enable_model_summary=False, enable_checkpointing=False, callbacks=[guard])
    trainer.fit(model, loader())
    assert len(guard.recoveries) == 1
    assert all(torch.isfinite(p).all() for p in model.parameters()), "weights should be restored"
    assert trainer.optimizers[0].param_groups[0]["lr"] <= 5e-4 + 1e-12  # halved (and decayed)
    assert math.isfinite(float(trainer.callback_metrics["loss"]))


def test_sample_quality_collapse_is_recovered():
    # At the 4th step every buffered chain collapses onto one image (what a mode-collapsed run
    # looks like): energies stay finite, so only the quality check can see it.
    model_box = {}

    def collapsing_loss(energy_data, energy_model, alpha):
        model_box["n"] = model_box.get("n", 0) + 1
        if model_box["n"] == 4:
            model_box["model"].sampler.buffer[:] = 0.3
        return ebm_loss(energy_data, energy_model, alpha)

    pl.seed_everything(0)
    cfg = EBMConfig(n_steps=2, buffer_size=64, hidden=8, batch_size=16, lr=1e-3)
    model = model_box["model"] = ebm_model(cfg, loss_fn=collapsing_loss)
    guard = DivergenceGuard(every_n_steps=1, seed=1, quality_fn=buffer_diversity,
                            min_quality=0.1, quality_every_n_steps=1)
    trainer = pl.Trainer(max_steps=8, accelerator="cpu", logger=False, enable_progress_bar=False,
                         enable_model_summary=False, enable_checkpointing=False, callbacks=[guard])
    trainer.fit(model, loader())
    assert guard.recoveries == [4] and "sample quality" in guard.reasons[0]
    assert len(guard.quality) == 8 and min(q for _, q in guard.quality) < 0.1
    assert buffer_diversity(model) > 0.5, "the buffer should be restored from the snapshot"


def test_buffer_diversity_scale():
    class Holder:
        pass
    m = Holder()
    m.sampler = ref03.MCMCSampler((1, 8, 8), buffer_size=300, seed=0)
    assert math.isnan(buffer_diversity(m))
    m.sampler.buffer.uniform_(-1, 1, generator=torch.Generator().manual_seed(0))
    m.sampler.n_filled = 300
    assert abs(buffer_diversity(m) - math.sqrt(2 / 3)) < 0.02  # E(x - y)^2 = 2 Var U(-1, 1)
    m.sampler.buffer[:] = 0.5
    assert buffer_diversity(m) < 1e-3


def test_quality_fn_needs_a_threshold():
    with pytest.raises(ValueError, match="min_quality"):
        DivergenceGuard(quality_fn=buffer_diversity)
    with pytest.raises(ValueError, match="multiple"):
        DivergenceGuard(quality_fn=buffer_diversity, min_quality=0.1, every_n_steps=30,
                        quality_every_n_steps=20)


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
        trainer.fit(ebm_model(cfg, loss_fn=always_nan), loader())
    except RuntimeError as err:
        assert "giving up" in str(err)
    else:
        raise AssertionError("the guard should give up")


def test_jem_runaway_energy_gap_is_recovered():
    # JEM logs the mean energies of its px step, so the guard sees a runaway gap between data
    # and samples (finite numbers: the NaN check alone would miss it). At step 4 the px part
    # reports a gap of 1,000 and a weight blows up to 1e4; the guard must restore the weights.
    from ebm_course import jem

    calls = {"n": 0}

    def runaway_px(net, sampler, x, alpha):
        calls["n"] += 1
        loss, e_data, e_model = ref04.px_step(net, sampler, x, alpha)
        if calls["n"] == 4:
            e_data = e_data - 1000.0
            next(net.parameters()).data.view(-1)[0] = 1e4
        return loss, e_data, e_model

    n = 64
    x = torch.rand(n, 1, 56, 56) * 2 - 1
    train = DataLoader(TensorDataset(x, torch.randint(0, 42, (n,))), 16, drop_last=True)
    val = DataLoader(TensorDataset(x[:16], torch.zeros(16, dtype=torch.long)), 16)
    cfg = jem.JEMConfig(hidden=8, n_steps=2, buffer_size=64, batch_size=16, px_start_step=0,
                        max_steps=8, max_epochs=2, n_val=16, lr=1e-3)
    model = jem_model(cfg, px_step_fn=runaway_px)
    guard = DivergenceGuard(every_n_steps=1, seed=1, max_energy_gap=100)
    jem.fit_jem(cfg, (train, val), model, callbacks=[guard], enable_progress_bar=False)
    assert guard.recoveries == [4] and "energy gap" in guard.reasons[0]
    assert max(p.abs().max() for p in model.parameters()) < 100, "weights should be restored"
    metrics = model.trainer.callback_metrics
    assert abs(float(metrics["energy_data"]) - float(metrics["energy_model"])) < 100


def test_jem_recovery_keeps_the_lr_cut_under_its_px_lr_schedule():
    """JEM's quick profile schedules its rate with LambdaLR (px_lr from px_start_step on), which
    recomputes every rate from base_lrs at each step: a cut of the optimiser's rates alone was
    undone one step later. The cut must last, and a second recovery must halve once more (not
    compound on a snapshot taken after the first)."""
    from ebm_course import jem

    calls = {"n": 0}

    def poisoned_px(net, sampler, x, alpha):
        calls["n"] += 1
        loss, e_data, e_model = ref04.px_step(net, sampler, x, alpha)
        if calls["n"] in (3, 7):  # px steps 3 and 7 = global steps 5 and 9
            loss = loss * float("nan")
        return loss, e_data, e_model

    n = 64
    x = torch.rand(n, 1, 56, 56) * 2 - 1
    train = DataLoader(TensorDataset(x, torch.randint(0, 42, (n,))), 16, drop_last=True)
    val = DataLoader(TensorDataset(x[:16], torch.zeros(16, dtype=torch.long)), 16)
    cfg = jem.JEMConfig(hidden=8, n_steps=1, buffer_size=64, batch_size=16, px_start_step=2,
                        lr=1e-3, px_lr=1e-4, max_steps=14, max_epochs=4, n_val=16)
    model = jem_model(cfg, px_step_fn=poisoned_px)
    guard = DivergenceGuard(every_n_steps=1, seed=1)
    jem.fit_jem(cfg, (train, val), model, callbacks=[guard], enable_progress_bar=False)
    assert len(guard.recoveries) == 2, guard.reasons
    lr = model.trainer.optimizers[0].param_groups[0]["lr"]
    assert lr == pytest.approx(cfg.px_lr * 0.25), f"two recoveries should leave px_lr / 4, got {lr}"
