"""Build ``release/``: nbgrader's student notebooks plus the student edition of the package.

The student edition is a copy of ``ebm_course`` in which every region between
``### BEGIN SOLUTION`` and ``### END SOLUTION`` becomes ``raise NotImplementedError`` and the
instructor-only modules (hidden checks, authoring, grading loop, this builder) are left out (DESIGN.md).
Instructor-only: the student edition omits this module.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent
INSTRUCTOR_ONLY = ("grading", "authoring.py", "release.py", "course_build.py", "grade_loop.py")
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = ('raise NotImplementedError("the student edition leaves this out: '
        'your notebook defines its own version")')
MARKERS = re.compile(r"BEGIN SOLUTION|END SOLUTION|BEGIN HIDDEN TESTS|END HIDDEN TESTS")


def strip_solutions(source: str, where: str = "<source>") -> str:
    """Replace each solution region by ``raise NotImplementedError`` at the region's indent."""
    out, inside = [], False
    for lineno, line in enumerate(source.splitlines(keepends=True), 1):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise ValueError(f"{where}:{lineno}: nested {BEGIN}")
            inside = True
            out.append(line[: len(line) - len(line.lstrip())] + STUB + "\n")
        elif stripped == END:
            if not inside:
                raise ValueError(f"{where}:{lineno}: {END} without {BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{where}: {BEGIN} never closed")
    return "".join(out)


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
        out = target / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(strip_solutions(path.read_text(), str(rel)))
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
course's companion package (the parts you write in the notebooks are left out of it).

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
