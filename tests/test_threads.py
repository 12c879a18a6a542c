"""Threads that fit the machine: the CPUs a process may use, shared among busy course runs."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from ebm_course import lightning_hooks, settings, threads

from .tiny_module import TinyModule, tiny_batches


def test_cpu_budget_follows_affinity_and_cgroup_quota(monkeypatch):
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    monkeypatch.setattr(threads, "_cgroup_cpu_quota", lambda: None)
    assert threads.cpu_budget() == 4
    monkeypatch.setattr(threads, "_cgroup_cpu_quota", lambda: 1.5)  # a container's 1.5 CPUs
    assert threads.cpu_budget() == 1
    monkeypatch.setattr(threads, "_cgroup_cpu_quota", lambda: 0.2)
    assert threads.cpu_budget() == 1


def test_fair_share_splits_and_never_reaches_zero():
    assert [threads.fair_share(8, n) for n in (0, 1, 2, 3, 16)] == [8, 8, 4, 2, 1]


@pytest.fixture
def machine(monkeypatch, tmp_path):
    """A 4-CPU machine with its own registry of busy runs and no OMP_NUM_THREADS."""
    monkeypatch.setattr(threads, "cpu_budget", lambda: 4)
    monkeypatch.setattr(threads, "busy_dir", lambda: tmp_path)
    before = torch.get_num_threads()
    with settings.overridden(OMP_NUM_THREADS=None):
        yield tmp_path
    torch.set_num_threads(before)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_busy_runs_counts_live_processes_and_clears_dead_ones(machine):
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (machine / str(other.pid)).touch()
        dead = machine / str(_dead_pid())
        dead.touch()
        (machine / "notes.txt").touch()  # not a process id: ignored
        assert threads.busy_runs() == 1
        assert not dead.exists()
        with threads.Busy():
            assert threads.busy_runs() == 2
            assert torch.get_num_threads() == 2  # 4 CPUs, two busy runs
            with threads.Busy():  # nested: still one run
                assert threads.busy_runs() == 2
            assert threads.busy_runs() == 2
        assert threads.busy_runs() == 1
        assert torch.get_num_threads() == 4  # alone again: every CPU
    finally:
        other.kill()
        other.wait()


def test_explicit_omp_num_threads_wins(machine):
    with settings.overridden(OMP_NUM_THREADS="3"):
        assert threads.fitted_threads(busy=5) == (3, "OMP_NUM_THREADS")
    assert threads.fitted_threads(busy=1)[0] == 4
    assert threads.fitted_threads(busy=3)[0] == 1


def test_a_training_run_hands_threads_back_when_another_starts(machine):
    """The course's LightningModules register while they train and refit their share."""
    import pytorch_lightning as pl

    from ebm_course.ebm import DeepEnergyModel, mnist_ebm_config

    seen = []

    class Watch(pl.Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            seen.append((batch_idx, torch.get_num_threads(), threads.busy_runs()))
            if batch_idx == 0:  # a second course run starts training
                (machine / str(other.pid)).touch()

    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        model = DeepEnergyModel(mnist_ebm_config("grade"), net=torch.nn.Linear(4, 1),
                                sampler=None, loss_fn=None)
        assert any(isinstance(c, lightning_hooks.FitThreads) for c in model.configure_callbacks())
        fit = lightning_hooks.FitThreads(every_n_steps=2)
        trainer = pl.Trainer(max_steps=4, callbacks=[fit, Watch()], logger=False,
                             enable_checkpointing=False, enable_progress_bar=False,
                             enable_model_summary=False, accelerator="cpu")
        trainer.fit(TinyModule(), tiny_batches(4))
    finally:
        other.kill()
        other.wait()
    assert seen[0][1:] == (4, 1)  # alone: all 4 CPUs
    assert seen[-1][1:] == (2, 2)  # refitted at step 2: half
    assert threads.busy_runs() == 0  # the run deregistered when it ended
