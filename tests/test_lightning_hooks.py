"""The course's Lightning callbacks: one progress bar for the whole run."""

from __future__ import annotations

import re

import pytest
import pytorch_lightning as pl
import torch

from ebm_course.ebm import DeepEnergyModel, mnist_ebm_config
from ebm_course.lightning_hooks import FitThreads, KeepInterruptible, RunProgressBar

from .tiny_module import TinyModule, tiny_batches


class Tiny(TinyModule):
    def configure_callbacks(self):
        return [RunProgressBar()]


def _loader(n_batches: int):
    return tiny_batches(n_batches)


def test_the_bar_counts_the_run_not_the_epoch(capsys):
    """10 steps over 4-batch epochs: one bar whose total is 10, not 4, and that ends at 10."""
    trainer = pl.Trainer(max_steps=10, max_epochs=-1, logger=False, enable_checkpointing=False,
                         enable_model_summary=False, accelerator="cpu")
    trainer.fit(Tiny(), _loader(4))
    bar = trainer.progress_bar_callback
    assert isinstance(bar, RunProgressBar)
    assert (bar.train_progress_bar.total, bar.train_progress_bar.n) == (10, 10)
    out = capsys.readouterr().out
    assert "10/10" in out and "Training (epoch 2)" in out


def test_epochs_bound_the_total_when_they_end_first():
    trainer = pl.Trainer(max_steps=100, max_epochs=2, logger=False, enable_checkpointing=False,
                         enable_model_summary=False, accelerator="cpu")
    trainer.fit(Tiny(), _loader(3))
    assert trainer.progress_bar_callback.train_progress_bar.total == 6


def test_course_modules_add_the_bar_only_where_lightning_would_show_one():
    model = DeepEnergyModel(mnist_ebm_config("grade"), net=torch.nn.Linear(4, 1), sampler=None,
                            loss_fn=None)
    for enabled in (True, False):
        model.trainer = pl.Trainer(enable_progress_bar=enabled, logger=False)
        kinds = {type(c) for c in model.configure_callbacks()}
        assert FitThreads in kinds and KeepInterruptible in kinds
        assert (RunProgressBar in kinds) == enabled


def test_an_interrupt_says_one_line_and_the_kernel_stays_interruptible(capsys):
    import signal

    class Interrupted(Tiny):
        def training_step(self, batch, batch_idx):
            if batch_idx == 2:
                raise KeyboardInterrupt
            return super().training_step(batch, batch_idx)

        def configure_callbacks(self):
            return [KeepInterruptible()]

    def kernel_handler(signum, frame):
        raise KeyboardInterrupt

    before = signal.signal(signal.SIGINT, kernel_handler)
    try:
        trainer = pl.Trainer(max_steps=10, logger=False, enable_checkpointing=False,
                             enable_model_summary=False, enable_progress_bar=False,
                             accelerator="cpu")
        with pytest.raises(SystemExit):
            trainer.fit(Interrupted(), _loader(4))
        assert signal.getsignal(signal.SIGINT) is kernel_handler  # not SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)
    assert "Training interrupted at step 2" in capsys.readouterr().out


def test_the_model_summary_goes_to_stdout_not_stderr(capsys):
    from ebm_course import config

    config.quiet_lightning()
    trainer = pl.Trainer(max_steps=1, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, accelerator="cpu")
    trainer.fit(Tiny(), _loader(2))
    out, err = capsys.readouterr()
    assert "Total params" in out and "Total params" not in err


def test_fit_jem_returns_the_model_when_training_is_interrupted(monkeypatch):
    """04's training cell: Ctrl+C ends training, not the cell (Lightning raises SystemExit)."""
    from ebm_course import jem

    class Interrupted:
        interrupted = True

        def __init__(self, **kwargs):
            pass

        def fit(self, *args):
            raise SystemExit(1)

    class Failed(Interrupted):
        interrupted = False

    model = object()
    monkeypatch.setattr(jem.pl, "Trainer", Interrupted)
    assert jem.fit_jem(jem.jem_config("grade"), (None, None), model) is model
    monkeypatch.setattr(jem.pl, "Trainer", Failed)  # a SystemExit that is not an interrupt
    with pytest.raises(SystemExit):
        jem.fit_jem(jem.jem_config("grade"), (None, None), model)


def test_an_interrupted_fit_ends_in_ipython_with_one_line_and_no_system_exit(capsys):
    """In a kernel, the SystemExit(1) Lightning raises after Ctrl+C shows nothing more (the
    cell still fails, so run-all stops); any other SystemExit still shows."""
    from IPython.core.interactiveshell import InteractiveShell

    from ebm_course.interrupts import quiet_interrupt_exit

    class Interrupted(Tiny):
        def training_step(self, batch, batch_idx):
            if batch_idx == 1:
                raise KeyboardInterrupt
            return super().training_step(batch, batch_idx)

        def configure_callbacks(self):
            return [KeepInterruptible()]

    shell = InteractiveShell.instance()
    try:
        assert quiet_interrupt_exit(shell)
        shell.user_ns.update(pl=pl, model=Interrupted(), loader=_loader(4))
        result = shell.run_cell(
            "trainer = pl.Trainer(max_steps=10, logger=False, enable_checkpointing=False, "
            "enable_model_summary=False, enable_progress_bar=False, accelerator='cpu')\n"
            "trainer.fit(model, loader)\nprint('after fit')")
        out, err = capsys.readouterr()
        assert isinstance(result.error_in_exec, SystemExit)
        assert "Training interrupted at step 1" in out
        assert "SystemExit" not in out + err and "after fit" not in out
        result = shell.run_cell("raise SystemExit(3)")  # not an interrupt: shown as before
        out, err = capsys.readouterr()
        assert "SystemExit: 3" in re.sub(r"\x1b\[[0-9;]*m", "", out + err)  # colours dropped
    finally:
        InteractiveShell.clear_instance()
