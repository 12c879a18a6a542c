"""The student edition: no solutions, no hidden tests, no reference body, and it installs."""

import ast
import re

import pytest

from ebm_course.instructor.release import (
    INSTRUCTOR_ONLY,
    MARKERS,
    PACKAGE,
    student_package,
)

from .conftest import ROOT


def _regions() -> list[tuple[str, list[str]]]:
    """(module, stripped non-empty lines) of every solution region of the reference modules."""
    found = []
    from ebm_course.instructor.assignments import ASSIGNMENTS

    for path in (a.folder / "reference.py" for a in ASSIGNMENTS):
        for body in re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", path.read_text(), re.S):
            lines = [ln.strip() for ln in body.splitlines()
                     if ln.strip() and not ln.strip().startswith("#")]
            found.append((path.parent.name, lines))
    return found


def test_student_package_holds_no_graded_part(tmp_path):
    """No marker, and no two consecutive lines of any reference body, anywhere in the student
    edition: the graded parts live in the units' reference.py only (one source per part)."""
    written = student_package(tmp_path)
    names = {p.relative_to(tmp_path / "ebm_course").parts[0] for p in written}
    assert not names & set(INSTRUCTOR_ONLY), "instructor-only modules leaked"
    regions = _regions()
    assert len(regions) >= 27, f"expected every graded body in the reference modules, found {len(regions)}"
    pairs = {(a, b) for _, lines in regions for a, b in zip(lines, lines[1:])}
    singles = {lines[0] for _, lines in regions if len(lines) == 1 and len(lines[0]) > 30}
    for path in written:
        text = path.read_text()
        assert not MARKERS.search(text), f"{path.name}: solution markers"
        ast.parse(text)
        code = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
        for a, b in zip(code, code[1:]):
            assert (a, b) not in pairs, f"{path.name}: a reference body survives: {a!r} / {b!r}"
        for line in code:
            assert line not in singles, f"{path.name}: a reference body survives: {line!r}"


def test_a_package_module_with_a_solution_region_is_refused(tmp_path, monkeypatch):
    """The builder itself refuses to ship a graded body or an instructor import."""
    import ebm_course.instructor.release as release

    fake = tmp_path / "pkg"
    (fake / "instructor").mkdir(parents=True)
    (fake / "ok.py").write_text("X = 1\n")
    (fake / "bad.py").write_text("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n")
    monkeypatch.setattr(release, "PACKAGE", fake)
    with pytest.raises(RuntimeError, match="bad.py"):
        release.student_package(tmp_path / "out")
    (fake / "bad.py").write_text("from .instructor.assignments.theory import reference\n")
    with pytest.raises(RuntimeError, match="bad.py"):
        release.student_package(tmp_path / "out")


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
    """The course machinery is absent from the student edition, and nothing in it imports it."""
    probe = "from .instructor import release\nimport ebm_course.instructor.authoring\n"
    assert _module_level_imports(ast.parse(probe)) == {"instructor"}
    written = student_package(tmp_path)
    rels = {p.relative_to(tmp_path / "ebm_course").as_posix() for p in written}
    assert not any(r.startswith("instructor/") for r in rels)
    assert {"sampling.py", "models.py", "jem.py", "ebm.py", "ood.py", "toy_train.py"} <= rels
    for path in written:
        text = path.read_text()
        assert "instructor" not in _module_level_imports(ast.parse(text)), path.name
        assert not re.search(r"^\s*(from|import)\s+[.\w]*instructor", text, re.M), (
            f"{path.name} imports from the instructor package")


def test_committed_release_is_clean_and_current():
    release = ROOT / "release"
    files = [p for p in release.rglob("*") if p.is_file()]
    assert files, "release/ is empty: run `make release`"
    for path in files:
        if path.suffix in (".py", ".ipynb", ".md", ".toml"):
            assert not MARKERS.search(path.read_text()), f"markers in {path}"
    fresh = {p.relative_to(PACKAGE): p.read_text() for p in PACKAGE.rglob("*.py")
             if p.relative_to(PACKAGE).parts[0] not in INSTRUCTOR_ONLY
             and "__pycache__" not in p.parts}
    shipped = {p.relative_to(release / "ebm_course") for p in (release / "ebm_course").rglob("*.py")
               if "__pycache__" not in p.parts}
    assert shipped == set(fresh), f"release/ebm_course differs in files: {shipped ^ set(fresh)}"
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
    """release/ alone is enough for a student: pip-installable, importable, no graded body (the
    network asks for the student's), no instructor module."""
    import shutil
    import subprocess
    import sys

    from .conftest import run

    site, student_copy = tmp_path / "site", tmp_path / "release"
    shutil.copytree(ROOT / "release", student_copy)
    before = sorted(p.relative_to(student_copy) for p in student_copy.rglob("*"))
    run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(site), str(student_copy)], cwd=tmp_path)
    # the hand-out stays as it was: no build/ or *.egg-info debris from the install
    assert sorted(p.relative_to(student_copy) for p in student_copy.rglob("*")) == before
    # This interpreter also has the instructor package installed in editable mode; drop that
    # finder so the subprocess sees what a student's environment has: the release alone.
    code = ("import sys\nsys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in "
            "repr(f).lower() and 'editable' not in getattr(f, '__module__', '').lower()]\n"
            "import ebm_course, ebm_course.sampling, ebm_course.models as m, torch, importlib.util\n"
            f"assert ebm_course.__file__.startswith({str(site)!r}), ebm_course.__file__\n"
            "try:\n    m.CNNEnergy().get_logits(torch.zeros(1, 1, 28, 28))\n"
            "except NotImplementedError:\n    print('stub')\n"
            "print(importlib.util.find_spec('ebm_course.instructor'))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["stub", "None"]
