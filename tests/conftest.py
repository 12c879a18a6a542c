"""Shared fixtures: the project root, the assignments, an nbgrader course in a scratch folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("EBM_COURSE_DOWNLOAD", "0")  # tests never touch the network

from ebm_course.instructor.release import assignments, generate_assignments, tool_env  # noqa: E402

ASSIGNMENTS = assignments()


@pytest.fixture(scope="session", autouse=True)
def _scratch_results(tmp_path_factory):
    """Notebooks run by tests write their results into a scratch folder, not results/."""
    os.environ["EBM_COURSE_RESULTS"] = str(tmp_path_factory.mktemp("results"))
    yield


def run(cmd: list[str], cwd: Path, env: dict | None = None, check: bool = True,
        timeout: float = 1200) -> subprocess.CompletedProcess:
    """Run a command, capture its output, and show that output if it fails."""
    full_env = tool_env()
    full_env.update(env or {})
    proc = subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n"
                             f"{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}")
    return proc


def nbgrader_cmd(*args: str) -> list[str]:
    quiet = [] if args[0] == "validate" else ["--log-level=WARN"]  # validate has no such flag
    return [sys.executable, "-m", "nbgrader", *args, *quiet]


@pytest.fixture(scope="session")
def course_copy(tmp_path_factory) -> Path:
    """A scratch nbgrader course: config + course/ copied, every assignment generated."""
    root = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "nbgrader_config.py", root)
    shutil.copytree(ROOT / "course", root / "course")
    generate_assignments(ASSIGNMENTS, root)  # as make release does (named stubs included)
    return root


@pytest.fixture(scope="session")
def mnist_root() -> Path:
    """The data root, which must hold MNIST (``make test`` links ../shared/data/MNIST)."""
    from ebm_course.config import data_root
    from ebm_course.data import dataset_available

    root = data_root()
    if not dataset_available("MNIST", root):
        pytest.fail(f"MNIST is not under {root}: run `make data` or set EBM_COURSE_DATA")
    return root
