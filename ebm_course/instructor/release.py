"""Build ``release/``: nbgrader's student notebooks plus the student edition of the package.

The student edition is ``ebm_course`` without its ``instructor`` subpackage, copied as it is:
the science package holds no graded part (those live in ``instructor/assignments/<unit>/
reference.py`` and reach the notebooks through ``authoring``), so nothing needs stubbing. The build refuses a release in
which a solution or hidden-test marker survives, or in which a module of the student edition
imports ``ebm_course.instructor`` (docs/design.md, "One source per graded part").
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from ..settings import environment
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
# Student edition of the course's companion package: `pip install .` here (see README.md).
# flit_core builds the wheel outside this folder: no build/ or *.egg-info left behind.
[build-system]
requires = ["flit_core>=3.9,<5"]
build-backend = "flit_core.buildapi"

[project]
name = "ebm_course"
version = "{version}"
description = "EBM course: student edition of the companion package"
requires-python = ">=3.11"
dependencies = {dependencies}

# JupyterLab settings for students, installed into the environment (<prefix>/etc/jupyter/):
# nbgrader's Validate button stays, its instructor tools (Formgrader, Create Assignment) and the
# exchange-based lists go.
[tool.flit.external-data]
directory = "jupyter_data"
"""

#: Student-side JupyterLab: nbgrader's server and lab extensions an instructor needs, off.
STUDENT_SERVER_CONFIG = {"ServerApp": {"jpserver_extensions": {
    "nbgrader.server_extensions.formgrader": False,
    "nbgrader.server_extensions.assignment_list": False,
    "nbgrader.server_extensions.course_list": False,
    "nbgrader.server_extensions.validate_assignment": True}}}
STUDENT_PAGE_CONFIG = {"disabledExtensions": {
    "@jupyter/nbgrader:formgrader": True, "@jupyter/nbgrader:create-assignment": True,
    "@jupyter/nbgrader:assignment-list": True, "@jupyter/nbgrader:course-list": True,
    "@jupyterlab/apputils-extension:announcements": True}}  # no "Jupyter news?" pop-up
STUDENT_EXTRA_DEPENDENCIES = ["jupyterlab>=4", "ipykernel>=6", "ipywidgets>=8",
                              "nbgrader>=0.9,<0.10"]


def _project_table() -> dict:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def student_pyproject() -> str:
    project = _project_table()
    deps = project["dependencies"] + STUDENT_EXTRA_DEPENDENCIES
    listed = "[\n" + "".join(f'    "{d}",\n' for d in deps) + "]"
    return STUDENT_PYPROJECT.format(version=project["version"], dependencies=listed)


def assignments(course_dir: Path | None = None) -> list[str]:
    """Assignment names: the registry's, in course order (``assignments.ASSIGNMENTS``); for
    another nbgrader course folder (a scratch or sharded copy), its folders holding a notebook."""
    if course_dir is None:
        from .assignments import names

        return names()
    return sorted(p.name for p in course_dir.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def tool_env() -> dict:
    """The environment with this interpreter's ``bin/`` first on PATH: nbgrader runs ``alembic``
    and Jupyter kernels by name, which must come from the same virtual environment."""
    env = environment()
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def nbgrader(*args: str, cwd: Path = ROOT, check: bool = True) -> subprocess.CompletedProcess:
    """Run one nbgrader command with the course's config."""
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=tool_env(),
                          check=check)


STUB = "raise NotImplementedError()"
DEFINITION = re.compile(r"^(?P<indent>\s*)(?:def|class)\s+(?P<name>\w+)")


def name_stubs(nb) -> int:
    """Make every blank exercise of a release notebook say which one it is when it runs.

    nbgrader leaves ``raise NotImplementedError()`` where a solution was, and a student who
    runs the notebook before finishing it sees a bare ``NotImplementedError:``. Here each stub
    names its function (``Class.method`` in a class) and exercise; the cell's nbgrader checksum
    is recomputed. Returns the number of stubs named.
    """
    from nbgrader.utils import compute_checksum

    named = 0
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("solution") or meta.get("grade"):
            continue
        lines, scope = cell.source.split("\n"), []
        for i, line in enumerate(lines):
            match = DEFINITION.match(line)
            if match:
                depth = len(match["indent"])
                scope = [(d, n) for d, n in scope if d < depth] + [(depth, match["name"])]
            if line.strip() == STUB:
                what = ".".join(n for _, n in scope) or "this cell"
                indent = line[: len(line) - len(line.lstrip())]
                lines[i] = (f'{indent}raise NotImplementedError("{what} is not written yet '
                            f'(exercise {meta["grade_id"]}): replace this line with your code")')
                named += 1
        cell.source = "\n".join(lines)
        meta["checksum"] = compute_checksum(cell)
    return named


def generate_assignments(names: list[str], root: Path = ROOT) -> None:
    """``nbgrader generate_assignment`` for each name (solutions and hidden tests removed),
    then :func:`name_stubs` on the student notebooks."""
    import nbformat

    for name in names:
        nbgrader("generate_assignment", name, "--force", "--log-level=WARN", cwd=root)
        path = root / "release" / name / f"{name}.ipynb"
        nb = nbformat.read(path, as_version=4)
        name_stubs(nb)
        nbformat.write(nb, path)


STUDENT_README = """\
# EBM course: student files

One folder per assignment, each with its notebook, and `ebm_course/`, the student edition of the
course's companion package. It holds none of the parts you write: where it needs one (a sampler
step, a loss, the replay buffer's policy), your notebook passes its own version in, so the code
that trains is yours.

## Install (once)

    python -m venv .venv && . .venv/bin/activate      # Windows: .venv\\Scripts\\activate
    # On a laptop without an NVIDIA GPU, take torch's CPU build first: a few hundred MB instead
    # of several GB of CUDA libraries that plain `pip install torch` pulls on Linux.
    pip install torch torchvision --index-url https://download.pytorch.org/whl/cpu
    pip install .               # the package, JupyterLab, nbgrader's Validate button
    jupyter lab                 # open <assignment>/<assignment>.ipynb

With an NVIDIA GPU, skip the CPU line: `pip install .` takes the CUDA build (about 6 GB with
its libraries).

## Work

Fill in every `YOUR CODE HERE` and `YOUR ANSWER HERE` cell and run the test cell below each
exercise: it prints a line when your code passes the visible tests (hidden tests grade more
cases after you submit). Before you submit, click **Validate** in the notebook's toolbar, or run
`nbgrader validate 03_mnist_ebm/03_mnist_ebm.ipynb` (it runs the notebook in the short `grade`
profile, as the grader does).

`EBM_COURSE_PROFILE=quick` keeps training to minutes on a CPU (the default without a GPU);
`full` is the course's real settings on one GPU. MNIST is downloaded on first use when you are
online (`EBM_COURSE_DOWNLOAD=0` forbids it); offline, put the files in torchvision's layout
under `EBM_COURSE_DATA` (`<data>/MNIST/raw/`). What the notebooks generate (datasets, logs,
trained networks, figures) goes to `~/.cache/ebm_course` (`EBM_COURSE_CACHE` moves it), never
into this folder.

**A slow machine.** `EBM_COURSE_STEP_CAP=400` (any number) stops every training run after that
many steps and shortens the long sampling runs alike: the notebook runs the same code, sooner,
with worse samples (03's quick run trains 1,600 steps, about 4 minutes on a 2-core CPU). Set it
before you start JupyterLab (`EBM_COURSE_STEP_CAP=400 jupyter lab`) or in a cell
(`%env EBM_COURSE_STEP_CAP=400`) before the training cell.

**Two notebooks training at once.** Each training run shares the CPUs with the course's other
busy runs (the first line a notebook prints says how many threads it took and why); an explicit
`OMP_NUM_THREADS` wins. Training one notebook at a time is still the fastest way through.

**Assignment 6 before assignment 3 is done.** 6 studies the EBM your 03 exported; until it
exists, 6 uses `models/03_mnist_ebm.pt2`, the course's own quick-profile run, and its first cell
says which model it uses.

**`torchvision` fails to import** ("operator torchvision::nms does not exist"): torch and
torchvision come from different builds. Reinstall them as one pair from one index (the CPU line
above, with `--force-reinstall`).
"""


STUDENT_NBGRADER_CONFIG = """\
# nbgrader's settings for a student's copy of the course: `nbgrader validate` (the Validate
# button) reads them. Validation runs each notebook as the grader does, in the short `grade`
# profile.
c = get_config()  # noqa: F821  (provided by nbgrader)
c.CourseDirectory.course_id = "ebm_course"
c.Execute.timeout = 120

# Warnings cost no points when graded, so Validate must not mark them either.
try:
    from ebm_course.nbgrader_notes import validate_with_notes
except ImportError:  # the course package is not installed here: Validate as nbgrader does
    pass
else:
    validate_with_notes()
"""


SHIPPED_MODELS = ("03_mnist_ebm",)  # exports a later assignment falls back on (06 uses 03's)


def ship_models(release_dir: Path) -> list[Path]:
    """Copy the reference run's quick-profile exports of :data:`SHIPPED_MODELS` (and their
    buffer samples) into ``release_dir/models/``, where a student's notebook finds them when
    the student's own export is missing (``export.shipped_path``). An export that this checkout
    has not made keeps the copy already shipped."""
    from ..export import SHIPPED, export_path

    written = []
    for name in SHIPPED_MODELS:
        source = export_path(name, "quick")
        if not source.exists():
            continue
        target = release_dir / SHIPPED / f"{name}.pt2"
        target.parent.mkdir(parents=True, exist_ok=True)
        for src, dst in ((source, target),
                         (source.with_suffix(".buffer.pt"), target.with_suffix(".buffer.pt"))):
            if src.exists():
                shutil.copy2(src, dst)
                written.append(dst)
    return written


def build_release(release_dir: Path = ROOT / "release") -> None:
    """Regenerate every assignment, the student package and the shipped models under
    ``release_dir``."""
    names = assignments()
    generate_assignments(names)
    student_package(release_dir)
    ship_models(release_dir)
    (release_dir / "pyproject.toml").write_text(student_pyproject())
    (release_dir / "README.md").write_text(STUDENT_README)
    (release_dir / "nbgrader_config.py").write_text(STUDENT_NBGRADER_CONFIG)
    shutil.rmtree(release_dir / "jupyter", ignore_errors=True)  # the setuptools layout's
    etc = release_dir / "jupyter_data" / "etc" / "jupyter"
    (etc / "jupyter_server_config.d").mkdir(parents=True, exist_ok=True)
    (etc / "labconfig").mkdir(parents=True, exist_ok=True)
    (etc / "jupyter_server_config.d" / "zz_ebm_course_student.json").write_text(
        json.dumps(STUDENT_SERVER_CONFIG, indent=2) + "\n")
    (etc / "labconfig" / "page_config.json").write_text(
        json.dumps(STUDENT_PAGE_CONFIG, indent=2) + "\n")
    leaks = [str(p) for p in release_dir.rglob("*") if p.is_file()
             and p.suffix in (".py", ".ipynb") and MARKERS.search(p.read_text())]
    if leaks:
        raise RuntimeError(f"solution or hidden-test markers left in the release: {leaks}")
    print(f"release/: {len(names)} assignments ({', '.join(names)}) and the student package")


if __name__ == "__main__":
    build_release()
