"""torch's intra-op threads, sized to the CPUs this process may use and shared with the course's
other busy runs.

torch starts with one thread per core of the host. On a machine where several kernels train at
once (a student with two notebooks open, ``make course`` beside a test run, a JupyterHub node)
that oversubscribes the cores, and OpenMP's spinning threads then wait on each other: measured on a
2-core machine, two 03 trainings at once ran at 19% of the solo rate each with torch's default
and at 66-71% with shared threads (``make bench-contention``, ``results/bench_contention.json``).
So every course training counts itself in while it is busy, and each takes an equal share of
the CPUs:

* the CPUs this process may use: :func:`cpu_budget` (affinity mask, capped by
  the cgroup's CPU quota, which ``os.cpu_count`` ignores);
* divided by the number of course runs busy right now on this machine (each holds a file named
  by its process id in :func:`busy_dir` while it trains; a dead process's file is ignored and
  removed);
* unless ``OMP_NUM_THREADS`` is set: an explicit choice (the grading loop sets it per worker)
  always wins.

A run alone gets every CPU it may use, so a quiet machine trains exactly as before (same threads,
same numbers). The share is refitted every few training steps (``lightning_hooks.FitThreads``), so a run
that started alone hands back threads when a second one starts, and takes them again when it
ends. Non-course work on the machine is not counted: it is not ours to size.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import suppress
from pathlib import Path

import torch

from . import settings


def _cgroup_cpu_quota() -> float | None:
    """The CPU quota of this process's cgroup in CPUs (cgroup v2 ``cpu.max``, v1
    ``cpu.cfs_quota_us``), or None when there is none."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())
        period = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
        return None if quota <= 0 else quota / period
    except (OSError, ValueError):
        return None


def cpu_budget() -> int:
    """The CPUs this process may use: its affinity mask, capped by its cgroup's CPU quota (a
    JupyterHub node or a container allots a share, which ``os.cpu_count`` ignores)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        n = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    if quota is not None:
        n = min(n, max(1, int(quota)))
    return max(1, n)


def busy_dir() -> Path:
    """Where busy course runs of this user register (one empty file per process id)."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"ebm_course-busy-{uid}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def busy_runs(folder: Path | None = None) -> int:
    """How many course runs are busy now (this one included when registered); files of
    processes that died without cleaning up are removed."""
    folder = busy_dir() if folder is None else folder
    count = 0
    for entry in folder.glob("*") if folder.is_dir() else ():
        if not entry.name.isdigit():
            continue
        if _alive(int(entry.name)):
            count += 1
        else:
            with suppress(OSError):
                entry.unlink()
    return count


def fair_share(budget: int, busy: int) -> int:
    """An equal share of ``budget`` CPUs among ``busy`` runs, at least one thread."""
    return max(1, budget // max(1, busy))


def fitted_threads(busy: int | None = None) -> tuple[int, str]:
    """The thread count this process should use now, and why (for the run banner)."""
    explicit = settings.current().omp_num_threads
    if explicit:
        return explicit, "OMP_NUM_THREADS"
    budget = cpu_budget()
    busy = busy_runs() if busy is None else busy
    if busy > 1:
        return fair_share(budget, busy), f"{budget} CPUs shared by {busy} busy course runs"
    return budget, f"{budget} CPUs usable"


def fit_threads(busy: int | None = None) -> tuple[int, str]:
    """Set torch's intra-op threads to :func:`fitted_threads` (only when it changes: setting
    it is cheap but not free) and return the count and why."""
    n, why = fitted_threads(busy)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n, why


class Busy:
    """Registers this process as a busy course run for the ``with`` block (re-entrant: nested
    blocks of one process count once)."""

    _depth = 0

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = busy_dir() if folder is None else folder
        self.file = self.folder / str(os.getpid())

    def __enter__(self) -> Busy:
        if Busy._depth == 0:
            with suppress(OSError):
                self.folder.mkdir(parents=True, exist_ok=True)
                self.file.touch()
        Busy._depth += 1
        fit_threads()
        return self

    def __exit__(self, *exc) -> None:
        Busy._depth -= 1
        if Busy._depth == 0:
            with suppress(OSError):
                self.file.unlink()
        fit_threads()
