"""DeepEnergyModel: a fast_dev_run fit, config per profile, checkpointed buffer."""

import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from ebm_course.ebm import DeepEnergyModel, EBMConfig, mnist_ebm_config

from .reference_models import ebm_model, ebm_parts


def tiny_loader(n=64, batch=16):
    images = torch.rand(n, 1, 28, 28) * 2 - 1
    return DataLoader(TensorDataset(images, torch.zeros(n, dtype=torch.long)), batch, drop_last=True)


def test_fast_dev_run_fit_changes_weights_and_fills_buffer():
    pl.seed_everything(0)
    cfg = EBMConfig(n_steps=3, buffer_size=64, hidden=8, batch_size=16)
    model = ebm_model(cfg)
    before = [p.detach().clone() for p in model.parameters()]
    trainer = pl.Trainer(fast_dev_run=2, accelerator="cpu", logger=False,
                         enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(model, tiny_loader(), tiny_loader())
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert model.sampler.n_filled == 32
    for key in ("loss", "loss_cd", "loss_reg", "val_cd_noise"):
        assert torch.isfinite(trainer.callback_metrics[key]), key


def test_injected_pieces_are_used():
    calls = []

    def loss_fn(energy_data, energy_model, alpha):
        calls.append(alpha)
        cd = energy_data.mean() - energy_model.mean()
        return cd, cd, cd * 0

    cfg = EBMConfig(n_steps=1, buffer_size=32, hidden=8, alpha=0.25)
    model = ebm_model(cfg, loss_fn=loss_fn)
    trainer = pl.Trainer(fast_dev_run=1, accelerator="cpu", logger=False,
                         enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(model, tiny_loader())
    assert calls == [0.25]


@pytest.mark.parametrize("profile", ["quick", "full", "grade"])
def test_profiles_are_frozen_configs(profile):
    cfg = mnist_ebm_config(profile)
    with pytest.raises(Exception):
        cfg.lr = 1.0
    assert cfg.n_steps > 0 and cfg.batch_size > 0


def test_unknown_profile_is_refused():
    with pytest.raises(ValueError, match="unknown profile"):
        mnist_ebm_config("fast")


def test_checkpoint_round_trip_keeps_buffer(tmp_path):
    cfg = EBMConfig(n_steps=1, buffer_size=32, hidden=8, batch_size=16)
    model = ebm_model(cfg)
    trainer = pl.Trainer(max_steps=2, accelerator="cpu", logger=False, enable_progress_bar=False,
                         enable_model_summary=False, default_root_dir=tmp_path)
    trainer.fit(model, tiny_loader())
    path = tmp_path / "m.ckpt"
    trainer.save_checkpoint(path)
    restored = DeepEnergyModel.load_from_checkpoint(path, config=cfg, **ebm_parts(cfg))
    assert restored.sampler.n_filled == model.sampler.n_filled
    assert torch.equal(restored.sampler.buffer[:32], model.sampler.buffer[:32])


def _train_recording_weights(cfg: EBMConfig, steps: int):
    """The reference model trained ``steps`` steps; the raw weights after each step."""
    model, seen = ebm_model(cfg), []

    class Record(pl.Callback):
        def on_train_batch_end(self, trainer, pl_module, *args):
            seen.append([p.detach().clone() for p in pl_module.net.parameters()])

    trainer = pl.Trainer(max_steps=steps, accelerator="cpu", logger=False,
                         enable_progress_bar=False, enable_model_summary=False,
                         enable_checkpointing=False, callbacks=[Record()])
    trainer.fit(model, tiny_loader())
    return model, seen


def test_ema_decay_ends_on_the_moving_average_of_the_weights():
    """With ema_decay, the trained model holds the EMA of the weights after every step (the
    first step's weights start it), not the last step's weights; the buffer still fills."""
    cfg = EBMConfig(n_steps=1, buffer_size=32, hidden=8, batch_size=16, ema_decay=0.5)
    model, seen = _train_recording_weights(cfg, 3)
    assert len(seen) == 3
    ema = seen[0]
    for step in seen[1:]:
        ema = [0.5 * e + 0.5 * w for e, w in zip(ema, step)]
    for got, want in zip(model.net.parameters(), ema):
        torch.testing.assert_close(got.detach(), want)
    assert any(not torch.equal(got.detach(), last)
               for got, last in zip(model.net.parameters(), seen[-1]))
    assert model.sampler.n_filled == 32


@pytest.mark.parametrize("decay", [1.0, -0.1])
def test_ema_decay_outside_zero_one_is_refused(decay):
    from ebm_course.ebm import ema_callback

    with pytest.raises(ValueError, match="ema_decay"):
        ema_callback(decay)


def test_a_warmed_up_average_spans_a_share_of_the_steps_then_the_plain_decay():
    """ema_warmup: after n updates the decay is min(decay, 1 - w / (n + w)): early averages
    forget the untrained start quickly; late ones are the plain average."""
    from ebm_course.ebm import warmed_ema

    update = warmed_ema(0.998, 3.0)
    for n, decay in [(1, 0.25), (700, 1 - 3 / 703), (1497, 0.998), (5000, 0.998)]:
        averaged = [torch.zeros(2)]
        update(averaged, [torch.ones(2)], torch.tensor(n))
        torch.testing.assert_close(averaged[0], torch.full((2,), 1 - decay))


def test_ema_warmup_trains_through_lightning():
    cfg = EBMConfig(n_steps=1, buffer_size=32, hidden=8, batch_size=16, ema_decay=0.9,
                    ema_warmup=3.0)
    model, seen = _train_recording_weights(cfg, 3)
    ema = seen[0]
    for n, step in enumerate(seen[1:], start=1):  # decays 0.25 then 0.4 (both below 0.9)
        d = min(0.9, 1 - 3 / (n + 3))
        ema = [d * e + (1 - d) * w for e, w in zip(ema, step)]
    for got, want in zip(model.net.parameters(), ema):
        torch.testing.assert_close(got.detach(), want)
    with pytest.raises(ValueError, match="ema_warmup"):
        from ebm_course.ebm import ema_callback

        ema_callback(0.9, -1.0)
