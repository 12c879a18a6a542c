"""Build nbgrader source notebooks from plain-text sources (instructor-only; not released).

Each notebook's source is a "percent" script in its assignment's unit,
``assignments/<unit>/<assignment>.py``: readable diffs, code that is code. Cell headers carry the
nbgrader role in a short form::

    # %% [markdown]                           a markdown cell (lines start with "# ")
    # %%                                      a plain code cell
    # %% solution id=sgld_step from=glyph_jem:sgld_step
                                              code a student writes: the cell is the source of
                                              ``sgld_step`` in ``assignments/glyph_jem/reference.py``
                                              (several names: ``from=unit:a,b``); it has no body
                                              in the percent script
    # %% given from=glyph_jem:GlyphCNN        code the notebook gives (not graded): the text of
                                              ``GlyphCNN`` in the unit's ``given.py``, then the
                                              cell's own lines, if any
    # %% tests id=sgld_step_tests points=3     an autograder test cell (locked); hidden checks go
                                               between ### BEGIN/END HIDDEN TESTS
    # %% [markdown] written id=q_buffer points=2   a manually graded answer; the cell holds the
                                                    model answer, the release shows YOUR ANSWER HERE

One source per graded part: a solution cell's code is copied from the reference module, with
its ``### BEGIN/END SOLUTION`` markers, so the notebook, the hidden checks (which import the
reference) and the tests run the same text. ``python -m ebm_course.instructor.authoring``
(``make notebooks``) writes ``course/<a>/<a>.ipynb`` for every registered assignment; a test checks that the
committed notebooks are up to date and that every reference definition is used exactly once.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import nbformat

HEADER = re.compile(r"^# %%(?: \[(?P<kind>markdown)\])?(?P<rest>.*)$")
ROLES = ("solution", "tests", "written", "given")


def _parse_header(line: str) -> tuple[str, str | None, dict]:
    match = HEADER.match(line)
    kind = "markdown" if match.group("kind") else "code"
    words = match.group("rest").split()
    role = words[0] if words and words[0] in ROLES else None
    opts = dict(w.split("=", 1) for w in words[1 if role else 0:])
    return kind, role, opts


def _graded_role(role: str | None) -> str | None:
    """The nbgrader role of a cell: a given cell is a plain code cell."""
    return None if role == "given" else role


def _nbgrader_meta(role: str, opts: dict, where: str) -> dict:
    if "id" not in opts:
        raise ValueError(f"{where}: a {role} cell needs id=<grade_id>")
    graded = role in ("tests", "written")
    meta = {"grade": graded, "grade_id": opts["id"], "locked": role == "tests",
            "schema_version": 3, "solution": role in ("solution", "written"), "task": False}
    if graded:
        if "points" not in opts:
            raise ValueError(f"{where}: a {role} cell needs points=<n>")
        meta["points"] = float(opts["points"]) if "." in opts["points"] else int(opts["points"])
    return meta


UNITS_DIR = Path(__file__).resolve().parent / "assignments"


def reference_source(spec: str, where: str, units_dir: Path = UNITS_DIR,
                     part: str = "reference") -> str:
    """The source text of ``unit:name[,name...]`` in ``assignments/<unit>/<part>.py``, top-level
    definitions joined by two blank lines (decorators included, as written)."""
    module, _, names = spec.partition(":")
    path = units_dir / module / f"{part}.py"
    if not names or not path.is_file():
        raise ValueError(f"{where}: from={spec!r} should name assignments/<unit>/{part}.py:"
                         "<definition>")
    text = path.read_text()
    lines = text.splitlines()
    defs = {node.name: node for node in ast.parse(text).body
            if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    parts = []
    for name in names.split(","):
        if name not in defs:
            raise ValueError(f"{where}: {path.name} defines no {name!r}")
        node = defs[name]
        start = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
        end = node.end_lineno
        # The closing "### END SOLUTION" comment of a body lies past the last statement.
        while end < len(lines) and lines[end].strip().startswith("#") and \
                lines[end].startswith(" "):
            end += 1
        parts.append("\n".join(lines[start:end]))
    return "\n\n\n".join(parts)


def build_notebook(source: Path, units_dir: Path = UNITS_DIR) -> nbformat.NotebookNode:
    """Parse a percent-script source into an nbgrader notebook."""
    cells, current = [], None
    for lineno, line in enumerate(source.read_text().splitlines(), 1):
        if HEADER.match(line):
            current = (*_parse_header(line), [], f"{source.name}:{lineno}")
            cells.append(current)
        elif current is None:
            if line.strip():
                raise ValueError(f"{source.name}:{lineno}: text before the first '# %%' cell")
        else:
            current[3].append(line)

    nb = nbformat.v4.new_notebook()
    nb.metadata.update({
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                       "name": "python3"},
        "language_info": {"name": "python"},
    })
    for kind, role, opts, lines, where in cells:
        if kind == "markdown":
            text = "\n".join(re.sub(r"^# ?", "", ln) for ln in lines).strip("\n")
            cell = nbformat.v4.new_markdown_cell(text)
        elif "from" in opts:
            own = "\n".join(lines).strip("\n")
            if role == "solution":
                if own.strip():
                    raise ValueError(f"{where}: a from= cell is written in the reference module; "
                                     "its body here must be empty")
                text = reference_source(opts["from"], where, units_dir)
            elif role == "given":
                text = reference_source(opts["from"], where, units_dir, "given")
                text = f"{text}\n\n\n{own}" if own.strip() else text
            else:
                raise ValueError(f"{where}: only a solution or given cell takes from=")
            cell = nbformat.v4.new_code_cell(text)
        else:
            if role == "given":
                raise ValueError(f"{where}: a given cell needs from=<unit>:<definition>")
            cell = nbformat.v4.new_code_cell("\n".join(lines).strip("\n"))
        if _graded_role(role):
            cell.metadata["nbgrader"] = _nbgrader_meta(role, opts, where)
        cell.pop("id", None)
        nb.cells.append(cell)
    # Stable ids keep diffs quiet and nbgrader's checksums reproducible.
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:03d}"
    return nb


def render(source: Path, units_dir: Path = UNITS_DIR) -> str:
    return nbformat.writes(build_notebook(source, units_dir)) + "\n"


def main(course_dir: str | None = None) -> int:
    """Write ``course/<a>/<a>.ipynb`` for every registered assignment."""
    from .assignments import ASSIGNMENTS
    from .paths import ROOT

    course = Path(course_dir) if course_dir else ROOT / "course"
    for assignment in ASSIGNMENTS:
        out = course / assignment.name / f"{assignment.name}.ipynb"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render(assignment.source))
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
