"""Every assignment: source current, one source per graded part, nbgrader's checks, autograde.

Parametrised over the registry (``ebm_course.instructor.assignments``), so a new assignment is
covered as soon as it is registered.
"""

from __future__ import annotations

import nbformat
import pytest

from ebm_course.instructor.assignments import by_name
from ebm_course.instructor.authoring import render

from .conftest import ASSIGNMENTS, ROOT

pytestmark = pytest.mark.parametrize("name", ASSIGNMENTS)


def test_notebook_is_built_from_its_source(name):
    built = (ROOT / "course" / name / f"{name}.ipynb").read_text()
    source = by_name(name).source
    assert built == render(source), (
        f"course/{name} is out of date with {source.relative_to(ROOT)}: run `make notebooks`")


def test_graded_cells_are_well_formed(name):
    nb = nbformat.read(ROOT / "course" / name / f"{name}.ipynb", as_version=4)
    meta = [c.metadata["nbgrader"] for c in nb.cells if "nbgrader" in c.metadata]
    tests = [m for m in meta if m["grade"] and not m["solution"]]
    written = [m for m in meta if m["grade"] and m["solution"]]
    ids = [m["grade_id"] for m in meta]
    assert len(ids) == len(set(ids)), "grade_ids must be unique"
    assignment = by_name(name)
    min_tests, min_written = assignment.min_tests, assignment.min_written
    assert len(tests) >= min_tests and len(written) >= min_written, (len(tests), len(written))
    for cell in nb.cells:
        m = cell.metadata.get("nbgrader", {})
        if m.get("grade") and not m.get("solution"):
            assert "### BEGIN HIDDEN TESTS" in cell.source, f"{m['grade_id']} has no hidden tests"
            assert cell.source.lstrip().startswith('"""'), f"{m['grade_id']}: one-line docstring first"


def test_every_reference_definition_is_one_notebook_cell(name):
    """One source per graded part: each solution cell of the source names reference code
    (``from=``) and has no body of its own; each definition of the assignment's reference
    module appears in exactly one cell; the notebook's cell is that definition's text."""
    import ast
    import re

    from ebm_course.instructor.authoring import reference_source
    assignment = by_name(name)
    module = assignment.unit
    text = assignment.source.read_text()
    assert "BEGIN SOLUTION" not in text, "graded bodies belong in the unit's reference.py"
    specs = re.findall(r"^# %% solution .*?from=(\S+)", text, re.M)
    headers = re.findall(r"^# %% solution.*$", text, re.M)
    assert len(specs) == len(headers), "every solution cell needs from=module:name"
    used = [n for spec in specs for n in spec.split(":")[1].split(",")]
    assert {spec.split(":")[0] for spec in specs} == {module}
    ref = assignment.folder / "reference.py"
    defined = [n.name for n in ast.parse(ref.read_text()).body
               if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    assert sorted(used) == sorted(defined), "each reference definition in exactly one cell"
    nb = nbformat.read(ROOT / "course" / name / f"{name}.ipynb", as_version=4)
    cells = [c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")
             and c.cell_type == "code"]
    assert cells == [reference_source(spec, name) for spec in specs]


def test_every_given_definition_is_one_notebook_cell(name):
    """Given code is written once too: each definition of the unit's ``given.py`` is named by
    exactly one ``# %% given from=`` cell of its source and is that cell's text."""
    import ast
    import re

    from ebm_course.instructor.authoring import reference_source

    assignment = by_name(name)
    text = assignment.source.read_text()
    specs = re.findall(r"^# %% given .*?from=(\S+)", text, re.M)
    given = assignment.folder / "given.py"
    if not given.is_file():
        assert not specs, "a given cell needs the unit's given.py"
        return
    used = [n for spec in specs for n in spec.split(":")[1].split(",")]
    defined = [n.name for n in ast.parse(given.read_text()).body
               if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    assert sorted(used) == sorted(defined), "each given definition in exactly one cell"
    nb = nbformat.read(ROOT / "course" / name / f"{name}.ipynb", as_version=4)
    sources = [c.source for c in nb.cells if c.cell_type == "code"]
    for spec in specs:
        definition = reference_source(spec, name, part="given")
        assert any(s.startswith(definition) for s in sources), spec


# The reference passes every test, hidden ones included, in the grade profile, and the blank
# release fails every one: checked by autograding both on every assignment through the
# instructor loop (tests/test_grade_loop.py), which is how a course uses them.
