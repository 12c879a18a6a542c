"""Run profiles, seeding and the run banner every notebook prints at its top.

Three profiles (docs/design.md, "Profiles"):

* ``quick``: CPU, minutes; what CI and a laptop run.
* ``full``: one GPU, the real course settings.
* ``grade``: what ``nbgrader autograde`` uses: every graded cell runs, heavy training is tiny.

``EBM_COURSE_PROFILE`` chooses; without it, ``grade`` when nbgrader is executing the notebook
(``NBGRADER_EXECUTION`` is set), else ``full`` with CUDA, else ``quick``.
"""

from __future__ import annotations

import importlib.util
import logging
import random
import sys
import warnings
from pathlib import Path

import numpy as np
import torch

from . import settings
from .threads import fit_threads

PROFILES = settings.PROFILES


def get_profile() -> str:
    """The active run profile: ``quick``, ``full`` or ``grade``."""
    s = settings.current()
    if s.profile:
        return s.profile
    if s.under_nbgrader:
        return "grade"
    return "full" if torch.cuda.is_available() else "quick"


def step_cap() -> int | None:
    """``EBM_COURSE_STEP_CAP``: at most this many training steps per training run, whatever the
    profile says (``ebm-course smoke`` runs the ``full`` profile's code paths on a CPU this way),
    and the long sampling runs of notebooks 4 and 6 shortened alike (:func:`cap_length`); None
    when unset."""
    return settings.current().step_cap


def cap_steps(n_steps: int) -> int:
    """``n_steps`` limited by :func:`step_cap` (-1, "until the epochs end", becomes the cap)."""
    cap = step_cap()
    if cap is None:
        return n_steps
    return cap if n_steps < 0 else min(n_steps, cap)


def with_run_seed(cfg):
    """A profile's settings dataclass with ``EBM_COURSE_SEED_OFFSET`` added to its ``seed``: the
    same run on another seed (``make seeds``); unchanged when the offset is 0."""
    from dataclasses import replace

    offset = settings.current().seed_offset
    return replace(cfg, seed=cfg.seed + offset) if offset else cfg


def ablation_steps(default: int) -> int:
    """Training steps of each of 03's experiments (section 7): ``EBM_COURSE_ABLATION_STEPS``
    when set (0 skips them), else ``default`` under :func:`step_cap`."""
    chosen = settings.current().ablation_steps
    return cap_steps(default) if chosen is None else chosen


def cap_length(n: int, floor: int) -> int:
    """A sampling length (chain steps) under :func:`step_cap`: ``n`` limited by the cap, but
    not below ``floor`` (the ``grade`` profile's length, which every cell handles)."""
    cap = step_cap()
    return n if cap is None else min(n, max(cap, floor))


def get_device() -> torch.device:
    """CUDA when available, else CPU. The package never reads a global device."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _is_course(folder: Path) -> bool:
    project = folder / "pyproject.toml"
    return project.is_file() and 'name = "ebm_course"' in project.read_text(errors="replace")


def course_root() -> Path:
    """The course folder: the nearest folder above the working directory whose
    ``pyproject.toml`` is the course's (the project checkout, or a student's ``release/``);
    else the checkout this package runs from (an instructor's editable install, working in a
    scratch folder); else the working directory."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if _is_course(folder):
            return folder
    checkout = Path(__file__).resolve().parents[1]
    return checkout if _is_course(checkout) else here


def is_student_edition() -> bool:
    """Whether this ``ebm_course`` is the student edition (no ``instructor`` subpackage)."""
    return importlib.util.find_spec("ebm_course.instructor") is None


def cache_root() -> Path:
    """Where a student's runs keep what they generate (datasets they download, glyph cache,
    training logs, exported networks, results): ``EBM_COURSE_CACHE``, else
    ``$XDG_CACHE_HOME/ebm_course`` (``~/.cache/ebm_course``). Outside the hand-out folder, so
    the files a student submits stay the notebooks."""
    s = settings.current()
    if s.cache:
        return s.cache.resolve()
    return (s.xdg_cache_home or Path.home() / ".cache").resolve() / "ebm_course"


def data_root() -> Path:
    """Root of the datasets: ``EBM_COURSE_DATA``; else ``data/`` of the course checkout (the
    instructor's), or ``<cache_root>/data`` in the student edition."""
    env = settings.current().data
    if env:
        return env.resolve()
    if is_student_edition():
        return cache_root() / "data"
    return course_root() / "data"


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) so a rerun gives the same numbers. (Python's
    string hashing is seeded when the interpreter starts, by ``PYTHONHASHSEED``; setting it here
    would change nothing, and nothing in the course depends on set order.)"""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def display_path(text: str) -> str:
    """``text`` with the data root and the course folder written as ``<data>`` / ``<course>`` in
    the ``grade`` profile: the autograder's output becomes the student's feedback, which should
    not show the instructor's folders. Other profiles show the real paths."""
    if get_profile() != "grade":
        return str(text)
    text = str(text).replace(str(data_root()), "<data>")
    return text.replace(str(course_root()), "<course>").replace(str(Path.home()), "~")


class _DropAdverts(logging.Filter):
    """Lightning's advertisements ("Tip: try installing ..."), device chatter, and its notice of an
    interrupt (``lightning_hooks.KeepInterruptible`` says where training stopped instead)."""

    NOISE = ("Tip: ", "Detected KeyboardInterrupt", "GPU available:", "TPU available:",
             "HPU available:", "IPU available:")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(noise in message for noise in self.NOISE)


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stdout`` is at the time (a notebook kernel swaps it per cell)."""

    @property
    def stream(self):
        import sys

        return sys.stdout

    @stream.setter
    def stream(self, value) -> None:
        pass


def quiet_lightning(only_if_imported: bool = False) -> None:
    """Keep a notebook's output to what it teaches: no Lightning advertisements or device
    chatter, and no deprecation notices from inside the libraries (a student cannot act on
    them). Warnings from the course's own code and every error still show.

    ``only_if_imported``: do nothing unless Lightning is already imported. The banner passes it:
    importing Lightning costs 2-3 s (torchmetrics, torchvision's models), which a notebook that
    trains nothing with it (01) should not pay; the course's training modules import Lightning
    at the top of a notebook, before its banner, and call this again when they fit."""
    if only_if_imported and "pytorch_lightning" not in sys.modules:
        return
    import pytorch_lightning  # noqa: F401  (sets up its loggers and handlers first)

    for name in ("pytorch_lightning", "pytorch_lightning.utilities.rank_zero",
                 "lightning_fabric", "lightning_fabric.utilities.rank_zero"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropAdverts) for f in logger.filters):
            logger.addFilter(_DropAdverts())
        for handler in logger.handlers:
            if not any(isinstance(f, _DropAdverts) for f in handler.filters):
                handler.addFilter(_DropAdverts())
    # The model summary is part of what a notebook shows, not a warning: stdout, not red stderr.
    summary = logging.getLogger("pytorch_lightning.callbacks.model_summary")
    if not any(isinstance(h, _StdoutHandler) for h in summary.handlers):
        summary.addHandler(_StdoutHandler())
    summary.setLevel(logging.INFO)
    summary.propagate = False
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"(pytorch_)?lightning")
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
    warnings.filterwarnings("ignore", message=r".*does not have many workers")


def run_banner(data_source: str = "") -> str:
    """One line naming the profile, device, torch version, threads and data source. Notebooks
    print it in their first cell, so this is also where the kernel is set up: Lightning kept
    quiet (:func:`quiet_lightning`), an interrupted training ending in one line
    (:func:`~ebm_course.interrupts.quiet_interrupt_exit`), torch's threads fitted
    (:mod:`ebm_course.threads`), and a failed ``assert`` made to say what the student's code
    returned (:mod:`ebm_course.assertions`)."""
    from . import assertions
    from .interrupts import quiet_interrupt_exit

    quiet_lightning(only_if_imported=True)
    assertions.install()
    quiet_interrupt_exit()
    threads, why = fit_threads()
    parts = [
        f"profile={get_profile()}",
        f"device={get_device()}",
        f"torch={torch.__version__}",
        f"threads={threads} ({why})",
    ]
    if data_source:
        parts.append(f"data={display_path(data_source)}")
    return "EBM course run: " + ", ".join(parts)
