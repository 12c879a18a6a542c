"""JEM: the pieces, a fast_dev_run fit, generation, and the hidden checks (pass / catch bugs)."""

from __future__ import annotations

import dataclasses

import pytest
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from ebm_course import jem, models, sampling  # noqa: F401
from ebm_course.instructor.assignments.glyph_jem import checks as checks
from ebm_course.instructor.assignments.glyph_jem import reference as ref04
from ebm_course.instructor.assignments.mnist_ebm import reference as ref03

from .reference_models import GlyphCNN, jem_model


def test_profiles_are_frozen_configs():
    for profile in ("quick", "full", "grade"):
        cfg = jem.jem_config(profile)
        assert cfg.n_classes == 42 and cfg.image_size == 56
        with pytest.raises(dataclasses.FrozenInstanceError):
            cfg.lr = 1.0
    with pytest.raises(ValueError):
        jem.jem_config("nope")


def test_forward_three_cases():
    torch.manual_seed(0)
    x = torch.rand(3, 1, 56, 56) * 2 - 1
    net = jem.make_net(jem.jem_config("grade"), GlyphCNN)  # the network notebook 4 gives
    logits = net.get_logits(x)
    assert logits.shape == (3, 42)
    assert torch.allclose(net(x), logits.logsumexp(1), atol=1e-5)
    y = torch.tensor([0, 5, 41])
    assert torch.allclose(net(x, y), logits[torch.arange(3), y], atol=1e-5)
    ebm = GlyphCNN(1, 56, 8, 1)
    assert torch.allclose(ebm(x), ebm.get_logits(x)[:, 0], atol=1e-5)


def _tiny_loaders(n=64, k=42):
    g = torch.Generator().manual_seed(0)
    ds = TensorDataset(torch.rand(n, 1, 56, 56, generator=g) * 2 - 1, torch.randint(k, (n,), generator=g))
    return DataLoader(ds, 16, shuffle=True, drop_last=True), DataLoader(ds, 32)


def test_fast_dev_run_fit_logs_and_fills_the_buffer():
    cfg = dataclasses.replace(jem.jem_config("grade"), px_start_step=0)
    model = jem_model(cfg)
    assert model.hparams["config"]["n_classes"] == 42
    trainer = pl.Trainer(fast_dev_run=2, accelerator="cpu", logger=False,
                         enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(model, *_tiny_loaders())
    assert model.sampler.n_filled == 32  # two JEM steps of 16 chains
    assert {"loss", "loss_px", "loss_pyx", "val_acc"} <= set(trainer.callback_metrics)


def test_fit_jem_injected_pieces_are_used():
    calls = {"px": 0, "pyx": 0}

    def px(net, sampler, x, alpha):
        calls["px"] += 1
        return ref04.px_step(net, sampler, x, alpha)

    def pyx(net, x, y):
        calls["pyx"] += 1
        return ref04.pyx_step(net, x, y)

    cfg = dataclasses.replace(jem.jem_config("grade"), max_steps=3, px_start_step=1)
    model = jem_model(cfg, px_step_fn=px, pyx_step_fn=pyx)
    jem.fit_jem(cfg, _tiny_loaders(), model, enable_progress_bar=False)
    assert calls == {"px": 2, "pyx": 3}  # classifier-only first step, then both


def test_run_chain_generates_as_notebook_4_does():
    """The reference run_chain with SGLD on a glyph network, frozen by sampling_mode: kept
    states in [-1, 1], a trace per step and chain, the network restored afterwards."""
    torch.manual_seed(0)
    net = GlyphCNN(1, 56, 8, 42)
    x0 = torch.randn(2, 1, 56, 56) * 0.1
    with sampling.sampling_mode(net):
        x, kept, trace = ref04.run_chain(net, x0, 4, 1.0, 0.01, step_fn=ref03.langevin_step,
                                         y=torch.tensor([1, 2]), keep_steps=(0, 2, 4, 8))
    assert x.shape == (2, 1, 56, 56) and sorted(kept) == [0, 2, 4] and torch.equal(kept[4], x)
    assert torch.equal(kept[0], x0) and x.min() >= -1 and x.max() <= 1
    assert trace["energy"].shape == trace["grad_norm"].shape == (5, 2)
    assert torch.isfinite(trace["energy"]).all() and (trace["grad_norm"] > 0).all()
    assert all(p.requires_grad and p.grad is None for p in net.parameters()) and net.training


def test_validation_scores_with_the_notebooks_pyx_step():
    """The eval step calls the injected pyx_step (the package has no cross-entropy of its own)."""
    seen = []

    def pyx(net, x, y):
        seen.append(torch.is_grad_enabled())
        return ref04.pyx_step(net, x, y)

    cfg = dataclasses.replace(jem.jem_config("grade"), max_steps=4, px_start_step=9)
    model = jem_model(cfg, pyx_step_fn=pyx)
    jem.fit_jem(cfg, _tiny_loaders(), model, enable_progress_bar=False)
    assert True in seen and False in seen  # a training step, then validation under no_grad


def test_the_package_needs_every_piece():
    cfg = jem.jem_config("grade")
    with pytest.raises(TypeError):
        jem.JEM(cfg)  # no default network, sampler or steps: they are the notebook's
    assert not hasattr(jem, "generate")  # generation is the notebook's run_chain


# ---------------------------------------------------------------- hidden checks: pass and fail

def _bad_init(n, means, factors, generator, y=None):
    y = torch.randint(len(means), (n,)) if y is None else y  # ignores the generator
    return means[y] + (factors[y] @ torch.randn(n, factors.shape[2], 1, dtype=factors.dtype))[..., 0]


def _bad_ece(probs, labels, n_bins=15):
    conf, pred = probs.max(1)
    return float(((pred == labels).double().mean() - conf.double().mean()).abs())  # one bin


def _bad_px(net, sampler, x, alpha):
    x_model = sampler.sample(net, len(x))
    e_data, e_model = -net(x), -net(x_model)
    return e_model.mean() - e_data.mean() + alpha * (e_data.pow(2).mean() + e_model.pow(2).mean()), e_data, e_model


def _bad_pyx(net, x, y):
    logits = net.get_logits(x)
    return F.nll_loss(logits, y), (logits.argmax(1) == y).float().mean()  # no log-softmax


def _bad_step(net, sampler, x, y, alpha, px_weight=1.0, pyx_weight=1.0, px_step_fn=ref04.px_step,
              pyx_step_fn=ref04.pyx_step):
    loss_pyx, acc = pyx_step_fn(net, x, y)
    loss_px = px_step_fn(net, sampler, x, alpha)[0]  # never skipped, weights ignored
    return loss_px + loss_pyx, loss_px, loss_pyx, acc


def _bad_chain(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None, keep_steps=()):
    x, kept, trace = ref04.run_chain(net, x_init, n_steps, step_size, noise_std, step_fn=step_fn,
                                     y=y, keep_steps=keep_steps)
    return x, kept, {"energy": trace["energy"][1:], "grad_norm": trace["grad_norm"][1:]}  # no t = 0


def _bad_conditional_chain(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                           keep_steps=()):
    return ref04.run_chain(net, x_init, n_steps, step_size, noise_std, step_fn=step_fn,
                           keep_steps=keep_steps)  # y ignored


@pytest.mark.parametrize("check, good, bad", [
    (checks.check_class_gaussian_init, ref04.class_gaussian_init, _bad_init),
    (checks.check_expected_calibration_error, ref04.expected_calibration_error, _bad_ece),
    (checks.check_px_step, ref04.px_step, _bad_px),
    (checks.check_pyx_step, ref04.pyx_step, _bad_pyx),
    (checks.check_jem_step, ref04.jem_step, _bad_step),
    (checks.check_run_chain, ref04.run_chain, _bad_chain),
    (checks.check_run_chain_conditional, ref04.run_chain, _bad_conditional_chain),
])
def test_hidden_checks_pass_reference_and_catch_bug(check, good, bad):
    check(good)
    with pytest.raises(AssertionError):
        check(bad)


def test_class_gaussians_fit_and_start_chains():
    """Per-class means and top-r covariance; the sampler starts its chains from them."""
    gen = torch.Generator().manual_seed(0)
    x = torch.cat([torch.randn(40, 1, 4, 4, generator=gen) * 0.1 - 0.5,
                   torch.randn(40, 1, 4, 4, generator=gen) * 0.1 + 0.5])
    y = torch.tensor([0] * 40 + [1] * 40)
    g = jem.fit_class_gaussians(x, y, 2, rank=16)
    assert g.means.shape == (2, 16) and g.factors.shape == (2, 16, 16)
    assert torch.allclose(g.means[1], x[40:].flatten(1).mean(0), atol=1e-6)
    cov = torch.cov(x[:40].flatten(1).T)
    assert torch.allclose(g.factors[0] @ g.factors[0].T, cov, atol=1e-5)  # full rank: exact
    small = jem.fit_class_gaussians(x[:45], y[:45], 2, rank=8)  # class 1 has 5 images
    assert small.factors.shape == (2, 16, 8) and small.factors[1, :, 5:].abs().max() == 0
