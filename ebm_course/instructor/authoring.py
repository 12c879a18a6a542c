"""Build nbgrader source notebooks from plain-text sources (instructor-only; not released).

Each notebook's source is a "percent" script, ``course/src/<assignment>.py``: readable diffs, code
that is code. Cell headers carry the nbgrader role in a short form::

    # %% [markdown]                           a markdown cell (lines start with "# ")
    # %%                                      a plain code cell
    # %% solution id=sgld_step from=glyph_jem:sgld_step
                                              code a student writes: the cell is the source of
                                              ``sgld_step`` in ``instructor/reference/glyph_jem.py``
                                              (several names: ``from=mod:a,b``); it has no body
                                              in the percent script
    # %% tests id=sgld_step_tests points=3     an autograder test cell (locked); hidden checks go
                                               between ### BEGIN/END HIDDEN TESTS
    # %% [markdown] written id=q_buffer points=2   a manually graded answer; the cell holds the
                                                    model answer, the release shows YOUR ANSWER HERE

One source per graded part: a solution cell's code is copied from the reference module, with
its ``### BEGIN/END SOLUTION`` markers, so the notebook, the hidden checks (which import the
reference) and the tests run the same text. ``python -m ebm_course.instructor.authoring``
(``make notebooks``) writes ``course/<a>/<a>.ipynb`` for every source; a test checks that the
committed notebooks are up to date and that every reference definition is used exactly once.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import nbformat

HEADER = re.compile(r"^# %%(?: \[(?P<kind>markdown)\])?(?P<rest>.*)$")
ROLES = ("solution", "tests", "written")


def _parse_header(line: str) -> tuple[str, str | None, dict]:
    match = HEADER.match(line)
    kind = "markdown" if match.group("kind") else "code"
    words = match.group("rest").split()
    role = words[0] if words and words[0] in ROLES else None
    opts = dict(w.split("=", 1) for w in words[1 if role else 0:])
    return kind, role, opts


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


REFERENCE_DIR = Path(__file__).resolve().parent / "reference"


def reference_source(spec: str, where: str, reference_dir: Path = REFERENCE_DIR) -> str:
    """The source text of ``module:name[,name...]`` in the reference package, top-level
    definitions joined by two blank lines (decorators included, as written)."""
    module, _, names = spec.partition(":")
    path = reference_dir / f"{module}.py"
    if not names or not path.is_file():
        raise ValueError(f"{where}: from={spec!r} should name reference/<module>.py:<definition>")
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


def build_notebook(source: Path, reference_dir: Path = REFERENCE_DIR) -> nbformat.NotebookNode:
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
            if role != "solution":
                raise ValueError(f"{where}: only a solution cell takes from=")
            if "\n".join(lines).strip():
                raise ValueError(f"{where}: a from= cell is written in the reference module; "
                                 "its body here must be empty")
            cell = nbformat.v4.new_code_cell(reference_source(opts["from"], where, reference_dir))
        else:
            cell = nbformat.v4.new_code_cell("\n".join(lines).strip("\n"))
        if role:
            cell.metadata["nbgrader"] = _nbgrader_meta(role, opts, where)
        cell.pop("id", None)
        nb.cells.append(cell)
    # Stable ids keep diffs quiet and nbgrader's checksums reproducible.
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:03d}"
    return nb


def notebook_path(source: Path, course_dir: Path) -> Path:
    """``course/src/03_x.py`` -> ``course/03_x/03_x.ipynb``."""
    return course_dir / source.stem / f"{source.stem}.ipynb"


def given_code(assignment: str, name: str, namespace: dict, course_dir: Path | None = None):
    """The object that a plain code cell of ``course/src/<assignment>.py`` defines as ``name``
    (code a notebook gives, not graded: 04's ``GlyphCNN`` and ``GlyphSampler``), run with
    ``namespace``, the names the notebook has imported by then. Tests and benchmarks build the
    notebook's pieces with it, so the given code they run is the code students receive."""
    from .paths import ROOT

    source = (course_dir or ROOT / "course") / "src" / f"{assignment}.py"
    cells = re.split(r"^# %%.*$", source.read_text(), flags=re.M)
    found = [c for c in cells if re.search(rf"^(class|def) {name}\b", c, re.M)]
    if len(found) != 1:
        raise LookupError(f"{source}: {len(found)} cells define {name!r}, expected one")
    scope = {"__name__": f"notebook_{assignment}", **namespace}
    exec(compile(found[0], f"course/src/{assignment}.py:{name}", "exec"), scope)
    return scope[name]


def render(source: Path, reference_dir: Path = REFERENCE_DIR) -> str:
    return nbformat.writes(build_notebook(source, reference_dir)) + "\n"


def main(course_dir: str | None = None) -> int:
    from .paths import ROOT

    course = Path(course_dir) if course_dir else ROOT / "course"
    sources = sorted((course / "src").glob("*.py"))
    if not sources:
        print(f"no notebook sources under {course / 'src'}", file=sys.stderr)
        return 1
    for source in sources:
        out = notebook_path(source, course)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render(source))
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
