"""Build ``release/``: nbgrader's student notebooks plus the student edition of the package.

The student edition is ``ebm_course`` without its ``instructor`` subpackage, copied as it is:
the science package holds no graded part (those live in ``instructor/reference`` and reach the
notebooks through ``authoring``), so nothing needs stubbing. The build refuses a release in
which a solution or hidden-test marker survives, or in which a module of the student edition
imports ``ebm_course.instructor`` (docs/design.md, "One source per graded part").
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from .paths import ROOT

PACKAGE = Path(__file__).resolve().parents[1]  # ebm_course/
INSTRUCTOR_ONLY = ("instructor",)
MARKERS = re.compile(r"BEGIN SOLUTION|END SOLUTION|BEGIN HIDDEN TESTS|END HIDDEN TESTS")
INSTRUCTOR_IMPORT = re.compile(r"^\s*(from\s+(ebm_course)?\.+instructor|from\s+ebm_course\s+import\s+"
                               r"instructor|import\s+ebm_course\.instructor)", re.M)


def student_package(dest: Path) -> list[Path]:
    """Write the student edition of ``ebm_course`` into ``dest/ebm_course``; return its files."""
    target = dest / "ebm_course"
    if target.exists():
        shutil.rmtree(target)
    written = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] in INSTRUCTOR_ONLY or "__pycache__" in rel.parts:
            continue
        text = path.read_text()
        if MARKERS.search(text) or INSTRUCTOR_IMPORT.search(text):
            raise RuntimeError(f"ebm_course/{rel}: the student edition may hold no solution "
                               "marker and import nothing from ebm_course.instructor")
        out = target / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        written.append(out)
    return written


STUDENT_PYPROJECT = """\
# Student edition of the course's companion package: install with `pip install -e .` here.
[build-system]
requires = ["setuptools>=68", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "ebm_course"
version = "{version}"
description = "EBM course: student edition of the companion package"
requires-python = ">=3.10"
dependencies = {dependencies}

[tool.setuptools.packages.find]
include = ["ebm_course*"]
"""


def _project_table() -> dict:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def student_pyproject() -> str:
    project = _project_table()
    deps = project["dependencies"] + ["jupyterlab>=4", "ipykernel>=6"]
    listed = "[\n" + "".join(f'    "{d}",\n' for d in deps) + "]"
    return STUDENT_PYPROJECT.format(version=project["version"], dependencies=listed)


def assignments(course_dir: Path = ROOT / "course") -> list[str]:
    """Assignment names: the folders of ``course/`` holding a notebook."""
    return sorted(p.name for p in course_dir.iterdir()
                  if p.is_dir() and p.name != "src" and any(p.glob("*.ipynb")))


def tool_env() -> dict:
    """The environment with this interpreter's ``bin/`` first on PATH: nbgrader runs ``alembic``
    and Jupyter kernels by name, which must come from the same virtual environment."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def nbgrader(*args: str, cwd: Path = ROOT, check: bool = True) -> subprocess.CompletedProcess:
    """Run one nbgrader command with the course's config."""
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=tool_env(),
                          check=check)


def generate_assignments(names: list[str]) -> None:
    """``nbgrader generate_assignment`` for each name (solutions and hidden tests removed)."""
    for name in names:
        nbgrader("generate_assignment", name, "--force", "--log-level=WARN")


STUDENT_README = """\
# EBM course: student files

One folder per assignment, each with its notebook, and `ebm_course/`, the student edition of the
course's companion package. It holds none of the parts you write: where it needs one
(a sampler step, a loss), your notebook passes its own version in.

    python -m venv .venv && . .venv/bin/activate
    pip install -e .            # the package and everything the notebooks need
    jupyter lab                 # open <assignment>/<assignment>.ipynb

Fill in every `YOUR CODE HERE` and `YOUR ANSWER HERE` cell; run the test cell below each exercise.
Set `EBM_COURSE_PROFILE=quick` for short CPU training; `EBM_COURSE_DATA` points at the datasets
(MNIST in torchvision's layout, `<data>/MNIST/raw/`); `EBM_COURSE_DOWNLOAD=1` lets torchvision
download them when you are online.
"""


def build_release(release_dir: Path = ROOT / "release") -> None:
    """Regenerate every assignment and the student package under ``release_dir``."""
    names = assignments()
    generate_assignments(names)
    student_package(release_dir)
    (release_dir / "pyproject.toml").write_text(student_pyproject())
    (release_dir / "README.md").write_text(STUDENT_README)
    leaks = [str(p) for p in release_dir.rglob("*") if p.is_file()
             and p.suffix in (".py", ".ipynb") and MARKERS.search(p.read_text())]
    if leaks:
        raise RuntimeError(f"solution or hidden-test markers left in the release: {leaks}")
    print(f"release/: {len(names)} assignments ({', '.join(names)}) and the student package")


if __name__ == "__main__":
    build_release()
