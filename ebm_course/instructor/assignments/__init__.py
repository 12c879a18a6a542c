"""The assignments of the course, one unit each, and the registry that every tool iterates.

An assignment is one folder here (``<unit>/``) holding everything that belongs to it:

* ``<name>.py``: the notebook source, a percent script (``..authoring`` turns it into the
  nbgrader source notebook ``course/<name>/<name>.ipynb``);
* ``reference.py``: its graded parts, each written once (the notebook's solution cells copy
  their text);
* ``given.py`` (where it gives code): the plain code cells that other code imports too;
* ``checks.py`` (or a package ``checks/``, one module per exercise): the hidden checks the
  notebook's test cells call;
* ``variants.py`` (or a package ``variants/``): wrong implementations (``BUGS``: each must
  fail its check) and correct ones written differently (``ALT_CORRECT``: each must pass);
* ``claims.py``: the numbers its prose quotes, each tied to the results file that holds it.

:data:`ASSIGNMENTS` lists them in course order; a new assignment is a new folder and one line
there (docs/design.md, "One assignment, one place"). Instructor-only: the student edition
omits this package.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Assignment:
    """One assignment of the course."""

    name: str                       # nbgrader's assignment and notebook name: "03_mnist_ebm"
    unit: str                       # its folder (and Python package) here: "mnist_ebm"
    min_tests: int                  # floors: at least this many autograded test cells ...
    min_written: int                # ... and hand-graded written answers
    needs: tuple[str, ...] = ()     # assignments whose exported models its notebook loads
    partly_wrong: bool = False      # the grade-loop test also hands in a partly wrong copy
    grade_seconds: float = 20.0     # autograding one notebook, about (make bench-grading): the
                                    # grading loop balances its workers by it

    @property
    def folder(self) -> Path:
        return HERE / self.unit

    @property
    def source(self) -> Path:
        """The notebook source (percent script)."""
        return self.folder / f"{self.name}.py"

    @property
    def results(self) -> str:
        """The results file its reference run writes, under ``results/``."""
        return f"{self.name}.json"

    def part(self, name: str) -> ModuleType | None:
        """Its module ``name`` (``reference``, ``given``, ``checks``, ``variants``, ``claims``),
        or None where the unit has none."""
        if not ((self.folder / f"{name}.py").is_file()
                or (self.folder / name / "__init__.py").is_file()):  # a module or a package
            return None
        return importlib.import_module(f"{__name__}.{self.unit}.{name}")


ASSIGNMENTS: tuple[Assignment, ...] = (
    # grade_seconds: autograde + feedback of one notebook, grade profile, 2-core CPU
    # (results/bench_grading.json, seconds_by_assignment)
    Assignment("01_theory", "theory", min_tests=4, min_written=3, partly_wrong=True,
               grade_seconds=13),
    Assignment("02_toy_densities", "toy", min_tests=5, min_written=1, grade_seconds=20),
    Assignment("03_mnist_ebm", "mnist_ebm", min_tests=4, min_written=2, partly_wrong=True,
               grade_seconds=18),
    Assignment("04_glyph_jem", "glyph_jem", min_tests=6, min_written=2, grade_seconds=28),
    Assignment("05_ood_detection", "ood", min_tests=3, min_written=2,
               needs=("03_mnist_ebm", "04_glyph_jem"), grade_seconds=28),
    Assignment("06_sampling_likelihood", "sampling_likelihood", min_tests=6, min_written=2,
               needs=("03_mnist_ebm",), partly_wrong=True, grade_seconds=25),
    Assignment("07_score_models", "score_models", min_tests=6, min_written=2, grade_seconds=24),
)


def by_name(name: str) -> Assignment:
    """The assignment called ``name`` (``03_mnist_ebm``) or whose unit is ``name``."""
    for a in ASSIGNMENTS:
        if name in (a.name, a.unit):
            return a
    raise KeyError(f"no assignment {name!r}: the course has {[a.name for a in ASSIGNMENTS]}")


def names() -> list[str]:
    return [a.name for a in ASSIGNMENTS]
