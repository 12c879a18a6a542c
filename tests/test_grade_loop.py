"""The instructor loop end to end (``ebm-course grade``), hostile submissions, feedback integrity.

Two grading runs, each shared by the tests below it:

* ``loop``: the reference and the blank release on every assignment, and a partly wrong
  student (the reference with its last solution cell broken) on half of them, in the scratch
  course of ``course_copy``. The reference's full marks are the check that it passes every test,
  hidden ones included, in the grade profile, and the blank release's zero that every test fails
  without the student's work (what ``nbgrader validate`` and ``validate --invert`` would say,
  run once here instead of twice).
* ``hostile``: four hostile students of ``01_theory`` (the cheapest notebook) in a fresh course
  with no gradebook yet, so the loop must generate the assignment first. The cases are spread over
  the exercises so that each student also has untouched exercises that must keep full marks.
"""

from __future__ import annotations

import ast
import html
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from ebm_course.instructor.assignments import ASSIGNMENTS as UNITS
from ebm_course.instructor.gradebook import find_submissions

from .conftest import ASSIGNMENTS, ROOT, nbgrader_cmd, run

SOLUTION = re.compile(r"(?P<indent>[ \t]*)### BEGIN SOLUTION\n.*?### END SOLUTION", re.S)


def read_grades(path: Path) -> dict[tuple[str, str], dict]:
    """The exported CSV as ``{(student_id, assignment): row}``."""
    import csv

    with open(path, newline="") as f:
        return {(row["student_id"], row["assignment"]): row for row in csv.DictReader(f)}


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _break_solution(nb, grade_id=None):
    """The reference with the body of one solution cell (``grade_id``, else the last) replaced
    by a wrong one."""
    cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")
             and c.cell_type == "code"]
    cell = next(c for c in cells if c.metadata["nbgrader"]["grade_id"] == grade_id) \
        if grade_id else cells[-1]
    cell.source = SOLUTION.sub(lambda m: m["indent"] + 'raise RuntimeError("seeded bug")',
                               cell.source)
    return cell.metadata["nbgrader"]["grade_id"]


def _grade(args, root, env=None):
    proc = run([sys.executable, "-m", "ebm_course.instructor.cli", "grade", *args, "--course-root", str(root)],
               cwd=root, timeout=900, env=env)
    return proc.stdout + proc.stderr


def _gradebook(root):
    from nbgrader.api import Gradebook

    return Gradebook(f"sqlite:///{root / 'gradebook.db'}")


# ------------------------------------------------------------------ the loop on every assignment


# The partly wrong student hands in these (01's last cell feeds nothing after it; 03's last and
# 06's leapfrog feed later cells, which must fail without costing the tests of other parts:
# 06's hmc_step calls the student's leapfrog, and its visible test must not spill).
PARTLY = tuple(a.name for a in UNITS if a.partly_wrong)
BROKEN_PART = {"06_sampling_likelihood": "leapfrog"}


@pytest.fixture(scope="module")
def loop(course_copy, tmp_path_factory):
    subs = tmp_path_factory.mktemp("loop_submissions")
    broken = {}
    for name in ASSIGNMENTS:
        reference = course_copy / "course" / name / f"{name}.ipynb"
        (subs / "ref").mkdir(exist_ok=True)
        shutil.copy(reference, subs / "ref" / f"{name}.ipynb")  # flat layout
        (subs / "blank" / name).mkdir(parents=True)  # nested layout
        shutil.copy(course_copy / "release" / name / f"{name}.ipynb", subs / "blank" / name)
        if name in PARTLY:
            nb = nbformat.read(reference, as_version=4)
            broken[name] = _break_solution(nb, BROKEN_PART.get(name))
            (subs / "partly").mkdir(exist_ok=True)
            nbformat.write(nb, subs / "partly" / f"{name}.ipynb")
    out = course_copy / "loop" / "grades.csv"
    # An instructor who built the course with EBM_COURSE_PROFILE=quick still exports it: the
    # loop must grade in the grade profile anyway (quick training would time cells out). Two
    # workers, as on this 2-core machine an instructor would (each takes whole assignments;
    # test_parallel_and_sharded_grading_equal_a_sequential_run checks the grades equal a
    # sequential run's).
    summary = _grade([str(subs), "--out", str(out), "--jobs", "2"], course_copy,
                     {"EBM_COURSE_PROFILE": "quick"})
    return {"root": course_copy, "csv": out, "summary": summary, "broken": broken}


@pytest.mark.slow
def test_loop_grades_every_student_and_assignment(loop):
    grades = read_grades(loop["csv"])
    with _gradebook(loop["root"]) as gb:
        for name in ASSIGNMENTS:
            max_code = gb.find_submission(name, "ref").max_code_score
            ref, blank = (float(grades[(s, name)]["score"]) for s in ("ref", "blank"))
            assert max_code > 0
            assert ref == max_code, f"{name}: reference {ref} / {max_code}"
            assert blank == 0, f"{name}: blank release earned {blank}"
            if name not in PARTLY:
                assert float(grades.get(("partly", name), {"score": 0})["score"]) == 0  # not handed in
                continue
            # Exactly the broken part's tests lose their points; every other part keeps all.
            cells = gb.find_submission_notebook(name, name, "partly").grades
            lost = {g.name for g in cells if g.name.endswith("_tests") and g.score < g.max_score}
            part = loop["broken"][name]
            assert lost and all(cell.startswith(part) for cell in lost), (
                f"{name}: with {part} broken, points lost on {sorted(lost)}")
    for name in ASSIGNMENTS:
        for student in ("ref", "blank", *(["partly"] if name in PARTLY else [])):
            assert (loop["root"] / "feedback" / student / name / f"{name}.html").is_file()
    summary = loop["summary"]
    assert f"graded 3 student(s) x {len(ASSIGNMENTS)} assignment(s)" in summary and "FAILED" not in summary, summary
    for name in ASSIGNMENTS:
        graded = (loop["root"] / "autograded" / "ref" / name / f"{name}.ipynb").read_text()
        assert "profile=grade" in graded and "profile=quick" not in graded, name


# ------------------------------------------------------------------ hostile submissions

HOSTILE_ENV = {"EBM_COURSE_CHECK_TIMEOUT_S": "3", "EBM_COURSE_CHECK_MEMORY_MB": "256",
               "EBM_COURSE_GRADE_MEMORY_MB": "2500"}
CELL_TIMEOUT = 15  # s per cell in this run (the course's default is 120)

HOG = ("    hog = []\n"
       "    while True:\n"
       "        hog.append(torch.ones(2 ** 25))  # 128 MiB more each time\n")


def _define(cell, signature, body):
    cell.source = f"def {signature}:\n{body}"


GLP = "grid_log_partition(energy_fn, box, n_grid, dim=2)"
CDG = "cd_gradient(energy_fn, params, x_data, x_model)"
ULA = "ula_chain(energy_fn, x, n_steps, step_size, generator=None)"
TV = "histogram_tv(samples, energy_fn, box, n_bins)"
GMM = "gmm_energy(x, means, stds, weights)"

# student -> {test cell: expected points}; the notebooks are built in ``hostile`` below.
EXPECTED = {
    "errors": {"gmm_energy_tests": 2, "grid_log_partition_tests": 0, "cd_gradient_tests": 0,
               "ula_chain_tests": 0, "histogram_tv_tests": 2},
    "limits": {"gmm_energy_tests": 2, "grid_log_partition_tests": 0, "cd_gradient_tests": 0,
               "ula_chain_tests": 0, "histogram_tv_tests": 0},
    "tampered": {"gmm_energy_tests": 0, "grid_log_partition_tests": 3, "cd_gradient_tests": 0,
                 "ula_chain_tests": 0, "histogram_tv_tests": 2},
    # Correct, but every part writes to stderr: warnings and notices never cost points.
    "warns": {"gmm_energy_tests": 2, "grid_log_partition_tests": 3, "cd_gradient_tests": 3,
              "ula_chain_tests": 3, "histogram_tv_tests": 2},
}

# How the "warns" student's correct parts write to stderr, each in another way.
WARNS = {
    "gmm_energy": (GMM, "    import warnings\n"
                   "    warnings.warn('a UserWarning from a correct solution')\n"),
    "grid_log_partition": (GLP, "    import warnings\n"
                           "    warnings.warn('a FutureWarning', FutureWarning)\n"),
    "cd_gradient": (CDG, "    import warnings\n"
                    "    warnings.warn('a DeprecationWarning', DeprecationWarning)\n"),
    "ula_chain": (ULA, "    import sys\n"
                  "    print('written to sys.stderr directly', file=sys.stderr)\n"),
    "histogram_tv": (TV, "    import os\n"
                     "    os.write(2, b'written to file descriptor 2\\n')\n"),
}


def _hostile_notebooks(reference: Path, folder: Path) -> None:
    def load():
        return nbformat.read(reference, as_version=4)

    # Raises, NaN, wrong shape; gmm_energy and histogram_tv untouched.
    nb = load()
    _define(_cell(nb, "grid_log_partition"), GLP, "    return torch.tensor(float('nan'))\n")
    _define(_cell(nb, "cd_gradient"), CDG, "    raise RuntimeError('student bug')\n")
    _define(_cell(nb, "ula_chain"), ULA, "    return x[:, :1].clone()\n")
    nbformat.write(nb, folder / "errors" / "01_theory.ipynb")

    # Hogs and hangs, in the visible tests (the kernel's memory cap, nbgrader's cell timeout) and
    # only on hidden cases (the check's own memory and time limits). A function that never
    # returns costs one cell timeout per cell calling it, so this one hangs only on the visible
    # test's input: one timeout.
    nb = load()
    _define(_cell(nb, "grid_log_partition"), GLP, HOG)
    _define(_cell(nb, "cd_gradient"), CDG,
            "    from ebm_course.instructor.assignments.theory import reference as ref01\n"
            "    while len(x_data) == 2:  # the visible test's input\n"
            "        pass\n"
            "    return ref01.cd_gradient(energy_fn, params, x_data, x_model)\n")
    _define(_cell(nb, "ula_chain"), ULA,
            "    from ebm_course.instructor.assignments.theory import reference as ref01\n"
            "    while x.shape[0] == 4000:  # a hidden case's input\n"
            "        pass\n"
            "    return ref01.ula_chain(energy_fn, x, n_steps, step_size, generator)\n")
    _define(_cell(nb, "histogram_tv"), TV,
            "    from ebm_course.instructor.assignments.theory import reference as ref01\n"
            "    if n_bins == 30:  # a hidden case's input\n"
            "        hog = []\n"
            "        while True:\n"
            "            hog.append(torch.ones(2 ** 24))\n"
            "    return ref01.histogram_tv(samples, energy_fn, box, n_bins)\n")
    nbformat.write(nb, folder / "limits" / "01_theory.ipynb")

    # Tampering: another kernel, an edited and two deleted locked test cells, wrong dtype,
    # a syntax error, a meta-device tensor.
    nb = load()
    nb.metadata["kernelspec"] = {"name": "conda-env-old-py", "display_name": "Old kernel",
                                 "language": "python"}
    _define(_cell(nb, "gmm_energy"), GMM,
            "    from ebm_course.instructor.assignments.theory import reference as ref01\n"
            "    return ref01.gmm_energy(x, means, stds, weights).double()\n")
    _cell(nb, "gmm_energy_tests").source = '"""Edited by the student."""\nprint("all good")'
    _cell(nb, "cd_gradient").source = f"def {CDG}:\n    return [("
    _define(_cell(nb, "ula_chain"), ULA, "    return torch.empty(x.shape, device='meta')\n")
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                not in ("grid_log_partition_tests", "histogram_tv_tests")]
    nbformat.write(nb, folder / "tampered" / "01_theory.ipynb")

    # Correct parts that warn or write to stderr (and then call the reference).
    nb = load()
    for part, (signature, noise) in WARNS.items():
        call = signature.replace(", generator=None", ", generator").replace(", dim=2", ", dim")
        _define(_cell(nb, part), signature,
                noise + "    from ebm_course.instructor.assignments.theory import reference as ref01\n"
                f"    return ref01.{call}\n")
    nbformat.write(nb, folder / "warns" / "01_theory.ipynb")

    # Not a notebook at all: nbgrader cannot grade it; nobody else may suffer.
    (folder / "corrupt" / "01_theory.ipynb").write_text("{ this is not json")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile_course")
    shutil.copy(ROOT / "nbgrader_config.py", root)
    shutil.copytree(ROOT / "course" / "01_theory", root / "course" / "01_theory")
    subs = tmp_path_factory.mktemp("hostile_submissions")
    for student in (*EXPECTED, "corrupt"):
        (subs / student).mkdir()
    _hostile_notebooks(root / "course" / "01_theory" / "01_theory.ipynb", subs)
    # A shell without the virtual environment on PATH (nbgrader runs `alembic` by name when it
    # creates the gradebook): the loop must find its tools anyway.
    summary = _grade([str(subs), "--timeout", str(CELL_TIMEOUT)], root,
                     {**HOSTILE_ENV, "PATH": "/usr/bin:/bin"})
    return {"root": root, "summary": summary}


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_hostile_submission_costs_only_the_affected_tests(hostile, student):
    with _gradebook(hostile["root"]) as gb:
        grades = gb.find_submission_notebook("01_theory", "01_theory", student).grades
        got = {g.name: g.score for g in grades if g.name.endswith("_tests")}
    assert got == EXPECTED[student], got


@pytest.mark.slow
def test_hostile_run_reports_the_unreadable_notebook_and_generated_first(hostile):
    summary = hostile["summary"]
    assert "could not grade corrupt/01_theory" in summary, summary
    assert "generated in the gradebook first: 01_theory" in summary, summary
    grades = read_grades(hostile["root"] / "grades.csv")
    assert float(grades[("corrupt", "01_theory")]["score"]) == 0
    assert float(grades[("errors", "01_theory")]["score"]) == 4  # the others were graded


@pytest.mark.slow
def test_locked_cell_edits_are_reported_and_checksum_noise_filtered(hostile):
    summary = hostile["summary"]
    assert "locked cell edited: tampered/01_theory cell gmm_energy_tests" in summary, summary
    for cell in ("grid_log_partition_tests", "histogram_tv_tests"):
        assert f"locked cell deleted: tampered/01_theory cell {cell}" in summary, summary
    touched = [line for line in summary.splitlines() if line.startswith("locked cell")]
    assert len(touched) == 3, touched  # nobody else touched a locked cell
    log = (hostile["root"] / "grades.log").read_text()
    assert "Attribute 'checksum'" not in log


def test_a_failed_first_run_leaves_no_gradebook(tmp_path, monkeypatch):
    from ebm_course.instructor import grade_loop

    def fails(*args, **kwargs):
        (tmp_path / "gradebook.db").write_text("half")
        raise RuntimeError("nbgrader export failed")

    monkeypatch.setattr(grade_loop, "_grade", fails)
    with pytest.raises(RuntimeError):
        grade_loop.grade(tmp_path / "subs", tmp_path)
    assert not (tmp_path / "gradebook.db").exists()
    (tmp_path / "gradebook.db").write_text("an earlier run's")  # never delete an existing one
    with pytest.raises(RuntimeError):
        grade_loop.grade(tmp_path / "subs", tmp_path)
    assert (tmp_path / "gradebook.db").read_text() == "half"


@pytest.mark.slow
def test_hostile_feedback_says_what_was_expected(hostile):
    feedback = _text(hostile["root"] / "feedback" / "limits" / "01_theory" / "01_theory.html")
    assert "did not finish within 3 s on a hidden case" in feedback  # ula_chain, hidden only
    assert "more than the 256 MiB of memory a hidden case allows" in feedback  # histogram_tv
    assert "can't allocate memory" in feedback  # the visible hog hit the kernel's cap
    assert "CellTimeoutError" in feedback or "KeyboardInterrupt" in feedback  # the visible hang
    warns = _text(hostile["root"] / "feedback" / "warns" / "01_theory" / "01_theory.html")
    assert "written to stderr; warnings cost no points" in warns and "a FutureWarning" in warns
    tampered = _text(hostile["root"] / "feedback" / "tampered" / "01_theory" / "01_theory.html")
    assert "SyntaxError" in tampered and "was missing from the submission" in tampered


# ------------------------------------------------------------------ integrity of the feedback


def _text(path: Path) -> str:
    """The visible text of an HTML page (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text()))


def _hidden_modules(assignment) -> list:
    """The modules that hold an assignment's hidden cases: its checks.py, or every module of its
    checks/ package."""
    single = assignment.folder / "checks.py"
    found = [single] if single.is_file() else sorted((assignment.folder / "checks").glob("*.py"))
    assert found, f"{assignment.name}: no hidden checks found"
    return found


def _case_lines() -> set[str]:
    """Code lines of the modules that hold hidden cases (docstrings and message strings aside:
    messages are meant to be read; import lines aside: a student's cell may import the same
    module; lines that the notebooks or the package, whose frames tracebacks show, contain as
    well aside)."""
    public = [*(ROOT / "ebm_course").glob("*.py"),
              *(p for a in UNITS for p in (a.source, a.folder / "reference.py",
                                           a.folder / "given.py") if p.is_file())]  # notebook cells
    public_text = "\n".join(src.read_text() for src in public)  # what students may see anyway
    lines = set()
    for path in (p for a in UNITS for p in _hidden_modules(a)):
        # Docstrings say what a check tests (the feedback quotes them: meant to be read).
        tree = ast.parse(path.read_text())
        said = {line.strip() for node in ast.walk(tree)
                if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef))
                and ast.get_docstring(node) for line in ast.get_docstring(node).splitlines()}
        for line in path.read_text().splitlines():
            if line.strip() in said:
                continue
            code = line.strip()
            if (len(code) >= 20 and not code.startswith(('"', "f\"", "'", "#", "(", ")", "from ",
                                                         "import "))
                    and not code.endswith('"""')):
                lines.add(code)
    return {line for line in lines if line not in public_text}


@pytest.mark.slow
def test_feedback_shows_the_check_call_but_no_hidden_case(hostile, loop):
    lines = _case_lines()
    assert len(lines) > 100
    pages = sorted((hostile["root"] / "feedback").rglob("*.html"))
    pages += sorted((loop["root"] / "feedback").rglob("*.html"))
    assert len(pages) >= 3 + 2 * len(ASSIGNMENTS) + len(PARTLY)
    for page in pages:
        text = _text(page)
        leaked = [line for line in lines if line in text]
        assert not leaked, f"{page}: hidden-check source in the feedback: {leaked[:3]}"
        for folder in (ROOT, hostile["root"], loop["root"]):  # the instructor's folders
            assert str(folder) not in text, f"{page}: shows the instructor path {folder}"
    assert "grading_theory.check_ula_chain(ula_chain)" in _text(
        hostile["root"] / "feedback" / "limits" / "01_theory" / "01_theory.html")


# ------------------------------------------------------------------ fast: layout, CLI wiring


def test_find_submissions_accepts_both_layouts(tmp_path):
    (tmp_path / "ann").mkdir()
    (tmp_path / "ann" / "01_theory.ipynb").write_text("{}")
    (tmp_path / "bob" / "02_toy_densities").mkdir(parents=True)
    (tmp_path / "bob" / "02_toy_densities" / "02_toy_densities.ipynb").write_text("{}")
    (tmp_path / "bob" / "scratch.ipynb").write_text("{}")
    (tmp_path / "carl").mkdir()
    (tmp_path / "notes.txt").write_text("")
    found, ignored = find_submissions(tmp_path, ASSIGNMENTS)
    assert set(found) == {"ann", "bob"}
    assert set(found["ann"]) == {"01_theory"} and set(found["bob"]) == {"02_toy_densities"}
    assert any("scratch.ipynb" in i for i in ignored) and any(i.startswith("carl") for i in ignored)
    assert any(i.startswith("notes.txt") for i in ignored)


def test_staging_from_the_courses_own_submitted_folder_keeps_the_notebooks(tmp_path):
    from ebm_course.instructor.gradebook import exclude_others as _exclude_others
    from ebm_course.instructor.gradebook import stage

    notebook = tmp_path / "submitted" / "ann" / "01_theory" / "01_theory.ipynb"
    notebook.parent.mkdir(parents=True)
    notebook.write_text("{}")
    found, _ = find_submissions(tmp_path / "submitted", ASSIGNMENTS)
    stage(tmp_path, found)
    assert notebook.read_text() == "{}"
    other = tmp_path / "elsewhere"
    stage(other, found)
    assert (other / "submitted" / "ann" / "01_theory" / "01_theory.ipynb").read_text() == "{}"
    # An earlier batch's student stays out of this run's autograde and feedback.
    (other / "submitted" / "zoe" / "01_theory").mkdir(parents=True)
    assert _exclude_others(other, "01_theory", found) == [
        "--CourseDirectory.student_id_exclude=zoe"]
    assert _exclude_others(other, "02_toy_densities", found) == []


def test_grade_command_is_wired():
    out = subprocess.run([sys.executable, "-m", "ebm_course.instructor.cli", "grade", "--help"],
                         capture_output=True, text=True, check=True).stdout
    assert "--course-root" in out and "--out" in out and "--timeout" in out
    assert "grade:" in (ROOT / "Makefile").read_text()


# ------------------------------------------------------------------ a class at once: parallel


def _small_class(tmp_path_factory) -> Path:
    """Three students of 01_theory: the reference, the blank release, one broken part; and the
    blank release of 02_toy_densities from bob (a second assignment, cheap to grade: each
    part stops at its first line)."""
    subs = tmp_path_factory.mktemp("class_submissions")
    reference = ROOT / "course" / "01_theory" / "01_theory.ipynb"
    for student in ("ann", "bob", "cid"):
        (subs / student).mkdir()
    shutil.copy(reference, subs / "ann" / "01_theory.ipynb")
    shutil.copy(ROOT / "release" / "01_theory" / "01_theory.ipynb", subs / "bob")
    shutil.copy(ROOT / "release" / "02_toy_densities" / "02_toy_densities.ipynb", subs / "bob")
    nb = nbformat.read(reference, as_version=4)
    _break_solution(nb)
    nbformat.write(nb, subs / "cid" / "01_theory.ipynb")
    return subs


def _course(tmp_path_factory, name: str) -> Path:
    root = tmp_path_factory.mktemp(name)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    for assignment in ("01_theory", "02_toy_densities"):
        shutil.copytree(ROOT / "course" / assignment, root / "course" / assignment)
    return root


def _gradebook_contents(root: Path) -> dict:
    """Every grade and comment of every submission: what must not depend on how we graded."""
    with _gradebook(root) as gb:
        return {(sub.student.id, nb.name, g.name): (g.auto_score, g.manual_score,
                                                    g.needs_manual_grade)
                for a in gb.assignments for sub in a.submissions for nb in sub.notebooks
                for g in nb.grades} | {
               (sub.student.id, nb.name, c.name): (c.auto_comment, c.manual_comment)
                for a in gb.assignments for sub in a.submissions for nb in sub.notebooks
                for c in nb.comments}


@pytest.mark.slow
def test_parallel_and_sharded_grading_equal_a_sequential_run(tmp_path_factory):
    subs = _small_class(tmp_path_factory)
    sequential, parallel = _course(tmp_path_factory, "seq"), _course(tmp_path_factory, "par")
    _grade([str(subs)], sequential)
    # two assignments, two workers: each worker grades one assignment for all its students
    # (with fewer assignments than workers, students are split: test_workers_take_whole_...
    # plans it, and the cross-machine shards below grade and merge groups of students)
    summary = _grade([str(subs), "--jobs", "2"], parallel)
    assert "graded 3 student(s) x 2 assignment(s)" in summary, summary
    want = read_grades(sequential / "grades.csv")
    assert read_grades(parallel / "grades.csv") == want
    assert _gradebook_contents(parallel) == _gradebook_contents(sequential)
    score = {s: float(want[(s, "01_theory")]["score"]) for s in ("ann", "bob", "cid")}
    assert score["ann"] > score["cid"] > score["bob"] == 0, score
    assert float(want[("bob", "02_toy_densities")]["score"]) == 0
    for student in ("ann", "bob", "cid"):
        assert (parallel / "feedback" / student / "01_theory" / "01_theory.html").is_file()
    assert (parallel / "feedback" / "bob" / "02_toy_densities" / "02_toy_densities.html").is_file()
    assert not (parallel / ".grading").exists(), "scratch shards are removed"

    # Sharded across machines: each shard a course copy graded on its own, merged afterwards.
    # The sequential run above is one shard; the other grades one more student (blank: cheap).
    part_b = tmp_path_factory.mktemp("part_b")
    (part_b / "dan").mkdir()
    shutil.copy(ROOT / "release" / "01_theory" / "01_theory.ipynb", part_b / "dan")
    shard_b = _course(tmp_path_factory, "shard_b")
    _grade([str(part_b)], shard_b)
    merged = _course(tmp_path_factory, "merged")
    for assignment in ("01_theory", "02_toy_densities"):
        run(nbgrader_cmd("generate_assignment", assignment, "--force"), cwd=merged)
    out = run([sys.executable, "-m", "ebm_course.instructor.cli", "merge", str(sequential),
               str(shard_b), "--course-root", str(merged)], cwd=merged).stdout
    assert "merged 4 graded submission(s)" in out and "merged 1 graded submission(s)" in out, out
    grades = read_grades(merged / "grades.csv")
    assert float(grades.pop(("dan", "01_theory"))["score"]) == 0
    assert float(grades.pop(("dan", "02_toy_densities"))["score"]) == 0  # not handed in
    assert grades == want
    contents = _gradebook_contents(merged)
    assert {key[0] for key in contents} == {"ann", "bob", "cid", "dan"}
    assert {k: v for k, v in contents.items() if k[0] != "dan"} == _gradebook_contents(sequential)
    assert (merged / "feedback" / "cid" / "01_theory" / "01_theory.html").is_file()
    assert (merged / "feedback" / "dan" / "01_theory" / "01_theory.html").is_file()


def test_workers_take_whole_assignments_balanced_by_their_time():
    """Enough assignments: each worker grades whole assignments (every student of each),
    longest first onto the least loaded; too few: students are split."""
    from ebm_course.instructor.grade_loop import Shard, plan_shards

    found = {s: {a: Path(f"{s}/{a}.ipynb") for a in ("01", "02", "03")} for s in ("x", "y")}
    found["z"] = {"03": Path("z/03.ipynb")}
    seconds = {"01": 10.0, "02": 20.0, "03": 15.0}  # per notebook: 20, 40 and 45 s in all
    shards = plan_shards(found, ["01", "02", "03"], 2, seconds)
    assert shards == [Shard(["x", "y", "z"], ["03"]), Shard(["x", "y", "z"], ["01", "02"])]
    assert plan_shards(found, ["03"], 2, seconds) == [Shard(["x", "z"], ["03"]),
                                                     Shard(["y"], ["03"])]
    assert plan_shards(found, ["01", "02"], 1, seconds) == [Shard(["x", "y", "z"], ["01", "02"])]
