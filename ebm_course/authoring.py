"""Build nbgrader source notebooks from plain-text sources (instructor-only; not released).

Each notebook's source is a "percent" script, ``course/src/<assignment>.py``: readable diffs, code
that is code. Cell headers carry the nbgrader role in a short form::

    # %% [markdown]                           a markdown cell (lines start with "# ")
    # %%                                      a plain code cell
    # %% solution id=sgld_step                 code a student writes (### BEGIN/END SOLUTION inside)
    # %% tests id=sgld_step_tests points=3     an autograder test cell (locked); hidden checks go
                                               between ### BEGIN/END HIDDEN TESTS
    # %% [markdown] written id=q_buffer points=2   a manually graded answer; the cell holds the
                                                    model answer, the release shows YOUR ANSWER HERE

``python -m ebm_course.authoring`` (``make notebooks``) writes ``course/<a>/<a>.ipynb`` for every
source; a test checks the committed notebooks are up to date.
"""

from __future__ import annotations

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


def build_notebook(source: Path) -> nbformat.NotebookNode:
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


def render(source: Path) -> str:
    return nbformat.writes(build_notebook(source)) + "\n"


def main(course_dir: str = "course") -> int:
    course = Path(course_dir)
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
