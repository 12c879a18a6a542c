"""Run profiles, seeding and the run banner every notebook prints at its top.

Three profiles (docs/design.md, "Profiles"):

* ``quick``: CPU, minutes; what CI and a laptop run.
* ``full``: one GPU, the real course settings.
* ``grade``: what ``nbgrader autograde`` uses: every graded cell runs, heavy training is tiny.

``EBM_COURSE_PROFILE`` chooses; without it, ``grade`` when nbgrader is executing the notebook
(``NBGRADER_EXECUTION`` is set), else ``full`` with CUDA, else ``quick``.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch

PROFILES = ("quick", "full", "grade")


def get_profile() -> str:
    """The active run profile: ``quick``, ``full`` or ``grade``."""
    name = os.environ.get("EBM_COURSE_PROFILE", "").strip().lower()
    if name:
        if name not in PROFILES:
            raise ValueError(f"EBM_COURSE_PROFILE={name!r}: expected one of {', '.join(PROFILES)}")
        return name
    if os.environ.get("NBGRADER_EXECUTION"):
        return "grade"
    return "full" if torch.cuda.is_available() else "quick"


def get_device() -> torch.device:
    """CUDA when available, else CPU. The package never reads a global device."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def course_root() -> Path:
    """The course folder: the nearest folder above the working directory whose
    ``pyproject.toml`` is the course's (the project checkout, or a student's ``release/``);
    the working directory itself when there is none (an installed package, no checkout)."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        project = folder / "pyproject.toml"
        if project.is_file() and 'name = "ebm_course"' in project.read_text(errors="replace"):
            return folder
    return here


def data_root() -> Path:
    """Root of the dataset cache: ``EBM_COURSE_DATA``, else ``data/`` in :func:`course_root`."""
    env = os.environ.get("EBM_COURSE_DATA")
    if env:
        return Path(env).expanduser().resolve()
    return course_root() / "data"


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) so a rerun gives the same numbers."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)


def run_banner(data_source: str = "") -> str:
    """One line naming the profile, device, torch version and data source; notebooks print it."""
    parts = [
        f"profile={get_profile()}",
        f"device={get_device()}",
        f"torch={torch.__version__}",
        f"threads={torch.get_num_threads()}",
    ]
    if data_source:
        parts.append(f"data={data_source}")
    return "EBM course run: " + ", ".join(parts)
