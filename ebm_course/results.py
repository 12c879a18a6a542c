"""Where notebooks write their measured numbers: ``results/<assignment>.json``.

A results file holds one run: the first write of a process replaces what an earlier run left
(a key a notebook no longer writes disappears instead of outliving its code), later writes of
the same process add to it. Each file records where its numbers come from under ``"run"``:
commit, library versions, profile, device, torch threads and the sampler's CPU precision.
"""

from __future__ import annotations

import json
import platform
import subprocess
import uuid
from datetime import datetime, timezone
from pathlib import Path

from .util import atomic_path


def results_dir() -> Path:
    """``EBM_COURSE_RESULTS``; else ``results/`` of the course checkout (the instructor's), or
    ``<cache_root>/results`` in the student edition (``config.cache_root``)."""
    from .config import cache_root, course_root, is_student_edition
    from .settings import current

    env = current().results
    if env:
        return env
    return (cache_root() if is_student_edition() else course_root()) / "results"


RUN_ID = uuid.uuid4().hex  # this process's run: its writes merge, an earlier run's are replaced


def _commit() -> str | None:
    """The course checkout's commit (with ``+dirty`` for uncommitted changes), or None."""
    from .config import course_root

    try:
        root = course_root()
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root,
                              capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True, timeout=10).stdout
        return head.stdout.strip() + ("+dirty" if dirty.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def machine_metadata() -> dict:
    """The CPU side of a run: processor, CPUs usable (affinity, cgroup quota), torch threads and
    the sampler's CPU precision (``"auto"``: bf16 on a CPU with hardware bfloat16, else fp32)."""
    import torch

    from .sampling import resolve_precision
    from .threads import cpu_budget

    return {"cpu": platform.processor() or platform.machine(), "cpus_usable": cpu_budget(),
            "torch_threads": torch.get_num_threads(),
            "cpu_precision": resolve_precision("auto", torch.device("cpu"))}


def run_metadata() -> dict:
    """Where a run's numbers come from: commit, versions, profile, device, threads, CPU
    precision (the sampler's ``"auto"``: bf16 on a CPU with hardware bfloat16, else fp32)."""
    from importlib.metadata import PackageNotFoundError, version

    import torch

    from .config import get_device, get_profile

    versions = {}
    for package in ("torch", "torchvision", "pytorch-lightning", "numpy", "scikit-learn",
                    "arviz"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    device = get_device()
    return {"id": RUN_ID, "commit": _commit(), "profile": get_profile(),
            "device": str(device) if device.type != "cuda" else torch.cuda.get_device_name(),
            **machine_metadata(), "python": platform.python_version(), "versions": versions,
            "written": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def write_results(assignment: str, metrics: dict) -> Path:
    """Write ``metrics`` into ``results/<assignment>.json`` and return its path: merged with
    this process's earlier writes, replacing an earlier run's file (module docstring)."""
    path = results_dir() / f"{assignment}.json"
    current = json.loads(path.read_text()) if path.exists() else {}
    if current.get("run", {}).get("id") != RUN_ID:
        current = {}
    current.update(metrics)
    current["run"] = run_metadata()
    with atomic_path(path) as tmp:  # an interrupted write never loses the earlier results
        tmp.write_text(json.dumps(current, indent=2, sort_keys=True, default=float) + "\n")
    return path


def figure_path(filename: str) -> Path | None:
    """``results/<filename>`` for a notebook's key figure (the folder made if missing); None
    under the ``grade`` profile, where the autograder must not write files."""
    from .config import get_profile

    if get_profile() == "grade":
        return None
    folder = results_dir()
    folder.mkdir(parents=True, exist_ok=True)  # a notebook's first figure may come before
    return folder / filename                    # its first results file (a fresh cache)


def save_samples(filename: str, x, y=None, max_images: int = 256, **meta) -> Path | None:
    """Save the tensor behind a sample figure as ``results/<filename>`` (a ``.pt`` file), so that
    anyone can re-score the samples with a classifier of their own.

    The file holds ``{"x": (N, C, H, W) float16 in [-1, 1]}`` with N <= ``max_images``, plus
    ``"y"`` (the target labels, int64) when given and any ``meta`` (e.g. ``n_steps=``): the same
    layout as 04's sample files. float16 keeps a 256-image file of 56 x 56 glyphs at 1.6 MB.
    Returns its path; None under the ``grade`` profile (no files).
    """
    import torch

    path = figure_path(filename)
    if path is None:
        return None
    record = {"x": x.detach()[:max_images].float().clamp(-1.0, 1.0).half().cpu().contiguous(),
              **meta}
    if y is not None:
        record["y"] = torch.as_tensor(y).detach()[:max_images].long().cpu()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save(record, tmp)
    return path
