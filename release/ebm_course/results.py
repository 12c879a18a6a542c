"""Where notebooks write their measured numbers: ``results/<assignment>.json``."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .util import atomic_path


def results_dir() -> Path:
    """``EBM_COURSE_RESULTS``; else ``results/`` of the course checkout (the instructor's), or
    ``<cache_root>/results`` in the student edition (``config.cache_root``)."""
    from .config import cache_root, course_root, is_student_edition

    env = os.environ.get("EBM_COURSE_RESULTS")
    if env:
        return Path(env)
    return (cache_root() if is_student_edition() else course_root()) / "results"


def write_results(assignment: str, metrics: dict) -> Path:
    """Merge ``metrics`` into ``results/<assignment>.json`` and return its path."""
    path = results_dir() / f"{assignment}.json"
    current = json.loads(path.read_text()) if path.exists() else {}
    current.update(metrics)
    with atomic_path(path) as tmp:  # an interrupted write never loses the earlier results
        tmp.write_text(json.dumps(current, indent=2, sort_keys=True, default=float) + "\n")
    return path


def figure_path(filename: str) -> Path | None:
    """``results/<filename>`` for a notebook's key figure; None under the ``grade`` profile,
    where the autograder must not write files."""
    from .config import get_profile

    return None if get_profile() == "grade" else results_dir() / filename


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
