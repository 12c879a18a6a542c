"""The student edition: no solutions, no hidden tests, no reference body, and it installs."""

import ast
import re
from pathlib import Path

import pytest

from ebm_course.release import (INSTRUCTOR_ONLY, MARKERS, PACKAGE, strip_solutions,
                                student_package)

from .conftest import ROOT


def test_strip_solutions_keeps_signature_and_indent():
    source = ("def f(x):\n    \"\"\"Doc.\"\"\"\n    ### BEGIN SOLUTION\n    return x + 1\n"
              "    ### END SOLUTION\n\nY = 2\n")
    out = strip_solutions(source)
    assert "return x + 1" not in out and "def f(x):" in out and "Y = 2" in out
    assert re.search(r"^    raise NotImplementedError", out, re.M)
    ast.parse(out)


@pytest.mark.parametrize("bad", ["### BEGIN SOLUTION\nx\n", "x\n### END SOLUTION\n",
                                 "### BEGIN SOLUTION\n### BEGIN SOLUTION\n"])
def test_unbalanced_markers_are_errors(bad):
    with pytest.raises(ValueError):
        strip_solutions(bad)


def _outside_regions(reference):
    """Stripped lines of ``reference`` outside every solution region (legitimately kept)."""
    outside = re.sub(r"### BEGIN SOLUTION\n.*?### END SOLUTION", "", reference, flags=re.S)
    return {ln.strip() for ln in outside.splitlines()}


def test_student_package_has_no_reference_body(tmp_path):
    written = student_package(tmp_path)
    names = {p.relative_to(tmp_path / "ebm_course").parts[0] for p in written}
    assert not names & set(INSTRUCTOR_ONLY), "instructor-only modules leaked"
    n_regions = 0
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        reference = path.read_text()
        if rel.parts[0] in INSTRUCTOR_ONLY or "### BEGIN SOLUTION" not in reference:
            continue
        student = (tmp_path / "ebm_course" / rel).read_text()
        assert not MARKERS.search(student), f"{rel}: markers left"
        ast.parse(student)
        student_lines = {ln.strip() for ln in student.splitlines()}
        kept = _outside_regions(reference)
        for region in re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", reference, re.S):
            n_regions += 1
            for line in region.splitlines():
                code = line.strip()
                if code and code not in kept:
                    assert code not in student_lines, (
                        f"{rel}: reference line {code!r} survives in the student edition")
    assert n_regions >= 5, "expected the graded bodies of models, sampling and losses"


def _module_level_imports(tree: ast.Module) -> set[str]:
    """First component under ``ebm_course`` of every import run when the module is imported."""
    found = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            parts = (node.module or "").split(".")
            if node.level == 0 and parts[0] != "ebm_course":
                continue
            inner = parts[1:] if node.level == 0 else [p for p in parts if p]
            found |= {inner[0]} if inner else {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names
                      if a.name.startswith("ebm_course.")}
    return found


def test_student_edition_imports_no_instructor_module(tmp_path):
    """The grading loop, checks, authoring and release builder are absent, and nothing a student
    imports needs them (the CLI reaches them only inside the instructor commands)."""
    probe = "from .grading import theory\nfrom . import release\nimport ebm_course.authoring\n"
    assert _module_level_imports(ast.parse(probe)) == {"grading", "release", "authoring"}
    written = student_package(tmp_path)
    rels = {p.relative_to(tmp_path / "ebm_course").as_posix() for p in written}
    assert "grade_loop.py" in INSTRUCTOR_ONLY and "grade_loop.py" not in rels
    assert not any(r.startswith("grading/") for r in rels)
    instructor = {name.removesuffix(".py") for name in INSTRUCTOR_ONLY}
    for path in written:
        used = _module_level_imports(ast.parse(path.read_text())) & instructor
        assert not used, f"{path.name} imports instructor-only {used} at import time"


def test_committed_release_is_clean_and_current():
    release = ROOT / "release"
    files = [p for p in release.rglob("*") if p.is_file()]
    assert files, "release/ is empty: run `make release`"
    for path in files:
        if path.suffix in (".py", ".ipynb", ".md", ".toml"):
            assert not MARKERS.search(path.read_text()), f"markers in {path}"
    fresh = {p.relative_to(PACKAGE): strip_solutions(p.read_text()) for p in PACKAGE.rglob("*.py")
             if p.relative_to(PACKAGE).parts[0] not in INSTRUCTOR_ONLY}
    for rel, text in fresh.items():
        committed = release / "ebm_course" / rel
        assert committed.exists() and committed.read_text() == text, (
            f"release/ebm_course/{rel} is out of date: run `make release`")


def test_release_notebooks_match_a_fresh_generation(course_copy):
    from .conftest import ASSIGNMENTS

    for name in ASSIGNMENTS:
        fresh = (course_copy / "release" / name / f"{name}.ipynb").read_text()
        committed = (ROOT / "release" / name / f"{name}.ipynb").read_text()
        assert fresh == committed, f"release/{name} is out of date: run `make release`"


def test_student_edition_installs_and_imports(tmp_path):
    """release/ alone is enough for a student: pip-installable, importable, graded bodies stubbed,
    no instructor module."""
    import subprocess
    import sys

    from .conftest import run

    import shutil

    site, student_copy = tmp_path / "site", tmp_path / "release"
    shutil.copytree(ROOT / "release", student_copy)  # setuptools builds in-tree: not in release/
    run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(site), str(student_copy)], cwd=tmp_path)
    # This interpreter also has the instructor package installed in editable mode; drop that
    # finder so the subprocess sees what a student's environment has: the release alone.
    code = ("import sys\nsys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in "
            "repr(f).lower() and 'editable' not in getattr(f, '__module__', '').lower()]\n"
            "import ebm_course, ebm_course.sampling, ebm_course.models as m, torch, importlib.util\n"
            f"assert ebm_course.__file__.startswith({str(site)!r}), ebm_course.__file__\n"
            "try:\n    m.Swish()(torch.zeros(1))\nexcept NotImplementedError:\n    print('stub')\n"
            "print(importlib.util.find_spec('ebm_course.grading'))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["stub", "None"]
