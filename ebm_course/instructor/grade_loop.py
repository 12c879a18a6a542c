"""The instructor's grading loop: a folder of submissions in, a grades CSV and feedback HTML out.

``ebm-course grade SUBMISSIONS`` (``make grade SUBMISSIONS=path``) takes

    SUBMISSIONS/<student_id>/<assignment>.ipynb              (or)
    SUBMISSIONS/<student_id>/<assignment>/<assignment>.ipynb

copies each notebook into nbgrader's ``submitted/<student_id>/<assignment>/`` under the course
root, makes sure every assignment it grades is generated in the gradebook, and runs nbgrader:
``autograde`` (per assignment, all its students in one run), ``generate_feedback`` and
``export``. One student's notebook that cannot be graded at all (unreadable, kernel lost) is
reported and scores 0 until fixed; it never stops the others. Instructor-only: the student
edition omits this module.
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from tqdm.auto import tqdm

from .paths import ROOT
from .release import assignments, tool_env

ERROR = re.compile(r"There was an error processing assignment '(?P<a>[^']+)' for student "
                   r"'(?P<s>[^']+)'")
ERROR_PATH = re.compile(r"There was an error processing assignment: (?P<path>\S+)")
STARTED = re.compile(r"Converting notebook (?P<path>\S+/submitted/\S+)")  # once per student
# nbgrader's OverwriteCells logs every attribute of a locked cell that differs from the gradebook.
# A changed 'checksum' alone is noise on freshly released notebooks (jupyter/nbgrader#1961);
# a changed 'source' is a student's edit of a locked cell (restored from the gradebook).
CHANGED = re.compile(r"Attribute '(?P<attr>\w+)' for cell (?P<cell>\S+) has changed!")


@dataclass
class GradeReport:
    """What one grading run did. ``scores[student][assignment] = (code_score, max_code_score)``."""

    students: list[str]
    assignments: list[str]
    scores: dict[str, dict[str, tuple[float, float]]]
    failures: dict[tuple[str, str], str]  # (student, assignment) -> why it could not be graded
    csv: Path
    feedback: Path
    log: Path
    seconds: float
    generated: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    manual_cells: int = 0
    locked_edits: list[tuple[str, str, str, str]] = field(default_factory=list)  # s, a, cell, how
    checksum_notices: int = 0

    def summary(self) -> str:
        """A plain-text table: one row per student, autograded points per assignment."""
        width = max([7] + [len(s) for s in self.students])
        cols = [max(len(a), 9) for a in self.assignments]
        lines = [f"graded {len(self.students)} student(s) x {len(self.assignments)} "
                 f"assignment(s) in {self.seconds:.0f} s",
                 f"{'student':<{width}}  " + "  ".join(f"{a:>{c}}" for a, c in
                                                    zip(self.assignments, cols)) + "      total"]
        for student in self.students:
            cells, got, best = [], 0.0, 0.0
            for a, c in zip(self.assignments, cols):
                if (student, a) in self.failures:
                    cells.append(f"{'FAILED':>{c}}")
                elif a in self.scores.get(student, {}):
                    score, max_score = self.scores[student][a]
                    got, best = got + score, best + max_score
                    cells.append(f"{_fmt(score) + '/' + _fmt(max_score):>{c}}")
                else:
                    cells.append(f"{'-':>{c}}")
            lines.append(f"{student:<{width}}  " + "  ".join(cells) + f"  {_fmt(got)}/{_fmt(best)}")
        lines.append("(autograded points; written answers await hand grading: nbgrader formgrade)"
                     if self.manual_cells else "(autograded points)")
        for (student, a), why in sorted(self.failures.items()):
            lines.append(f"could not grade {student}/{a} (0 points until fixed): {why}")
        for student, a, cell, how in self.locked_edits:
            lines.append(f"locked cell {how}: {student}/{a} cell {cell} (graded as released: "
                         "nbgrader restored it)")
        if self.checksum_notices:
            lines.append(f"({self.checksum_notices} nbgrader checksum notices left out of the "
                         "log: every released test cell lacks its hidden tests, nbgrader#1961; "
                         "real edits of locked cells are listed above)")
        for note in self.ignored:
            lines.append(f"ignored: {note}")
        if self.generated:
            lines.append(f"generated in the gradebook first: {', '.join(self.generated)}")
        lines += [f"grades:   {self.csv}", f"feedback: {self.feedback}/<student>/<assignment>/",
                  f"log:      {self.log}"]
        return "\n".join(lines)


def _fmt(x: float) -> str:
    return f"{x:g}"


def find_submissions(folder: Path,
                     names: list[str]) -> tuple[dict[str, dict[str, Path]], list[str]]:
    """``{student: {assignment: notebook}}`` under ``folder``, and what was ignored (and why)."""
    found: dict[str, dict[str, Path]] = {}
    ignored = []
    for student_dir in sorted(p for p in Path(folder).iterdir() if not p.name.startswith(".")):
        if not student_dir.is_dir():
            ignored.append(f"{student_dir.name}: not a student folder")
            continue
        for name in names:
            for candidate in (student_dir / f"{name}.ipynb", student_dir / name / f"{name}.ipynb"):
                if candidate.is_file():
                    found.setdefault(student_dir.name, {})[name] = candidate
                    break
        known = {f"{n}.ipynb" for n in names}
        for extra in sorted(student_dir.rglob("*.ipynb")):
            if extra.name not in known and ".ipynb_checkpoints" not in extra.parts:
                ignored.append(f"{extra.relative_to(folder)}: not an assignment of this course")
        if student_dir.name not in found:
            ignored.append(f"{student_dir.name}: no notebook named after an assignment")
    return found, ignored


def _nbgrader(root: Path, *args: str, log=None, on_line=None, env: dict | None = None) -> int:
    """Run one nbgrader command in ``root``; stream its log to ``on_line`` and to ``log``
    (``on_line`` returning False keeps a line out of the log)."""
    full_env = tool_env()
    full_env.update(env or {})
    proc = subprocess.Popen([sys.executable, "-m", "nbgrader", *args], cwd=root, env=full_env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:
        keep = on_line(line) if on_line is not None else True
        if log is not None and keep is not False:
            log.write(line)
    return proc.wait()


@contextlib.contextmanager
def _tools_on_path():
    """This interpreter's ``bin/`` on PATH for in-process nbgrader too: its ``Gradebook`` runs
    ``alembic`` by name when it creates a database, which fails from a shell without the
    virtual environment activated (``.venv/bin/ebm-course grade ...``)."""
    old = os.environ.get("PATH")
    os.environ["PATH"] = tool_env()["PATH"]
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PATH", None)
        else:
            os.environ["PATH"] = old


def _source_grade_ids(root: Path, name: str) -> set[str]:
    nb = nbformat.read(root / "course" / name / f"{name}.ipynb", as_version=4)
    return {c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade")}


def needs_generation(root: Path, names: list[str]) -> list[str]:
    """Assignments missing from the gradebook, or whose graded cells changed since generated."""
    from nbgrader.api import Gradebook, MissingEntry

    stale = []
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for name in names:
            try:
                notebooks = gb.find_assignment(name).notebooks
            except MissingEntry:
                stale.append(name)
                continue
            cells = {c.name for nb in notebooks for c in nb.grade_cells}
            if not notebooks or cells != _source_grade_ids(root, name):
                stale.append(name)
    return stale


def stage(root: Path, found: dict[str, dict[str, Path]]) -> None:
    """Copy each notebook to ``submitted/<student>/<assignment>/<assignment>.ipynb``."""
    for student, notebooks in found.items():
        for name, path in notebooks.items():
            target = root / "submitted" / student / name
            if path.resolve() == (target / f"{name}.ipynb").resolve():
                continue  # SUBMISSIONS is the course's own submitted/: already in place
            if target.exists():
                shutil.rmtree(target)
            target.mkdir(parents=True)
            shutil.copy2(path, target / f"{name}.ipynb")


def _exclude_others(root: Path, name: str, found: dict[str, dict[str, Path]]) -> list[str]:
    """nbgrader option leaving out students already in ``submitted/`` but not in this run (an
    earlier batch, maybe hand-graded since): they are neither re-graded nor re-fed-back."""
    others = sorted(p.parent.name for p in (root / "submitted").glob(f"*/{name}")
                    if name not in found.get(p.parent.name, {}))
    return [f"--CourseDirectory.student_id_exclude={','.join(others)}"] if others else []


def _parse_failures(lines: list[str]) -> dict[tuple[str, str], str]:
    """(student, assignment) -> the exception nbgrader logged for it."""
    reasons, failures = {}, {}
    for i, line in enumerate(lines):
        m = ERROR_PATH.search(line)
        if m:
            parts = Path(m.group("path")).parts
            key = (parts[-2], parts[-1]) if len(parts) >= 2 else None
            tail = [ln.strip() for ln in lines[i + 1:i + 80] if ln.strip()]
            last = next((ln for ln in reversed(_one_record(tail)) if ln), "")
            if key:
                reasons[key] = last
        m = ERROR.search(line)
        if m:
            key = (m.group("s"), m.group("a"))
            failures[key] = reasons.get(key) or "nbgrader could not execute the notebook"
    return failures


def _one_record(lines: list[str]) -> list[str]:
    """The traceback lines of the next log record (until the record after it starts)."""
    out = []
    for j, ln in enumerate(lines):
        if j > 0 and ln.startswith("[") and "|" in ln.split("]")[0]:
            break
        out.append(ln)
    return out


def _autograde(root: Path, todo: list[str], found: dict, extra: list[str], env: dict, log, bar,
               feedback: bool, failures: dict, locked_edits: list, notices: list,
               exclude: bool) -> None:
    """nbgrader autograde (and generate_feedback) of every staged student of ``root``."""
    for name in todo:
        lines: list[str] = []
        started = []

        def on_line(line, lines=lines, started=started, name=name):
            lines.append(line)
            m = STARTED.search(line)
            if m:
                if started:
                    bar.update(1)
                started.append(m.group("path"))
                bar.set_postfix_str(f"{name} {Path(m.group('path')).parts[-3]}")
            changed = CHANGED.search(line)
            if changed and changed["attr"] == "checksum":
                notices[0] += 1  # real edits are found from the notebooks themselves
                return False
            return True

        versions = locked_cells(root, name)
        for student in found:
            if name in found[student]:
                locked_edits += [(student, name, cell, how) for cell, how in
                                 locked_cell_changes(versions, found[student][name])]
        others = _exclude_others(root, name, found) if exclude else []
        log.write(f"### nbgrader autograde {name}\n")
        _nbgrader(root, "autograde", name, "--create", "--force", *extra, *others, log=log,
                  on_line=on_line, env=env)
        if started:
            bar.update(1)
        failures.update(_parse_failures(lines))
        n_here = sum(name in nbs for nbs in found.values())
        bar.update(max(0, n_here - len(started)))  # notebooks nbgrader never reached
    if feedback:
        places = instructor_places(root)
        for name in todo:
            others = _exclude_others(root, name, found) if exclude else []
            log.write(f"### nbgrader generate_feedback {name}\n")
            _nbgrader(root, "generate_feedback", name, "--force", *others, log=log, env=env)
            for student in found:
                for page in (root / "feedback" / student / name).glob("*.html"):
                    scrub_paths(page, places)


def instructor_places(root: Path) -> dict[str, str]:
    """The instructor's folders a feedback page may name, each with its placeholder."""
    import ebm_course

    package = Path(ebm_course.__file__).resolve().parent
    return {str(Path(root).resolve()): "<course>", str(Path(root)): "<course>",
            str(package): "<ebm_course>", str(package.parent): "<project>",
            str(Path(sys.prefix)): "<python>", str(Path(sys.base_prefix)): "<python>",
            str(Path.home()): "~"}


def scrub_paths(page: Path, places: dict[str, str]) -> None:
    """Replace the instructor's folders in a feedback page by placeholders (a traceback through
    the package names its files): ``places`` from :func:`instructor_places`."""
    text = original = page.read_text()
    for place in sorted(places, key=len, reverse=True):
        if len(place) > 1:
            text = text.replace(place, places[place])
    if text != original:
        page.write_text(text)


def _locked(nb) -> dict[str, str]:
    return {c.metadata["nbgrader"]["grade_id"]: c.source.strip() for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("locked")
            and "grade_id" in c.metadata["nbgrader"]}


def locked_cells(root: Path, name: str) -> tuple[dict, dict] | None:
    """The locked cells of an assignment as released and as in the source (with its hidden
    tests), ``{grade_id: source}`` each; None when either notebook cannot be read."""
    try:
        return tuple(_locked(nbformat.read(root / folder / name / f"{name}.ipynb", as_version=4))
                     for folder in ("release", "course"))
    except Exception:
        return None


def locked_cell_changes(versions: tuple[dict, dict] | None,
                        notebook: Path) -> list[tuple[str, str]]:
    """``(cell, "edited" | "deleted")`` for each locked cell of the released notebook that a
    submission changed or removed (nbgrader restores both from the gradebook when grading).

    nbgrader itself cannot tell: it logs a checksum change for every released test cell,
    because the release drops the hidden tests that the source cell's checksum includes
    (nbgrader#1961). Here a cell counts as untouched when it equals the released cell or the
    source cell (a submission made from the instructor's notebook carries the hidden tests).

    Args:
        versions: :func:`locked_cells` of the assignment (read once for all its students).
        notebook: the submission.
    """
    try:
        submitted = nbformat.read(notebook, as_version=4)
    except Exception:  # a notebook nbgrader cannot read either: reported as ungradable
        return []
    if versions is None:
        return []
    released, source = versions
    got = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source.strip()
           for c in submitted.cells}
    return [(cell, "deleted" if cell not in got else "edited") for cell in released
            if got.get(cell) not in (released[cell], source.get(cell))]


def shard_course(root: Path, shard: Path) -> Path:
    """A scratch nbgrader course at ``shard`` that grades like ``root``: its config, its
    ``course/`` (linked) and a copy of its gradebook (assignments already generated)."""
    if shard.exists():
        shutil.rmtree(shard)
    shard.mkdir(parents=True)
    shutil.copy2(root / "nbgrader_config.py", shard / "nbgrader_config.py")
    (shard / "course").symlink_to((root / "course").resolve(), target_is_directory=True)
    if (root / "release").is_dir():  # what locked_cell_changes compares submissions with
        (shard / "release").symlink_to((root / "release").resolve(), target_is_directory=True)
    shutil.copy2(root / "gradebook.db", shard / "gradebook.db")
    return shard


def _autograde_shards(root: Path, shards: list[list[str]], todo: list[str], found: dict,
                      extra: list[str], env: dict, log, bar, feedback: bool, failures: dict,
                      locked_edits: list, notices: list) -> None:
    """Grade groups of students in parallel, each in its own scratch course (its own gradebook:
    SQLite takes one writer at a time), then merge the results into ``root``."""
    from concurrent.futures import ThreadPoolExecutor

    work = root / ".grading"
    courses, logs = [], []
    for i, students in enumerate(shards):
        course = shard_course(root, work / f"shard-{i}")
        stage(course, {s: found[s] for s in students})
        courses.append(course)
        logs.append(open(course / "grades.log", "w"))

    def run(i):
        part = {s: found[s] for s in shards[i]}
        _autograde(courses[i], todo, part, extra, env, logs[i], bar, feedback, failures,
                   locked_edits, notices, exclude=False)

    try:
        with ThreadPoolExecutor(len(shards)) as pool:
            list(pool.map(run, range(len(shards))))
    finally:
        for handle in logs:
            handle.close()
    for i, course in enumerate(courses):
        log.write(f"### shard {i}: {', '.join(shards[i])}\n{(course / 'grades.log').read_text()}")
        merge_graded(course, root, students=shards[i], names=todo)
    shutil.rmtree(work, ignore_errors=True)


def merge_graded(shard: Path, root: Path, students: list[str] | None = None,
                 names: list[str] | None = None) -> list[tuple[str, str]]:
    """Copy what a shard course graded into ``root``: the submissions' grades and comments in
    the gradebook, and ``submitted/``, ``autograded/`` and ``feedback/`` of those students.

    ``root`` must have the same assignments generated (the shard was made from it, or from the
    same ``course/``). A student already in ``root`` for that assignment is replaced. Returns
    the ``(student, assignment)`` pairs merged.
    """
    from nbgrader.api import Gradebook, MissingEntry

    merged = []
    with Gradebook(f"sqlite:///{Path(shard) / 'gradebook.db'}") as src, \
            Gradebook(f"sqlite:///{Path(root) / 'gradebook.db'}") as dst:
        for assignment in src.assignments:
            if names is not None and assignment.name not in names:
                continue
            try:
                dst.find_assignment(assignment.name)
            except MissingEntry:
                raise ValueError(f"{assignment.name} is not generated in {root}: run "
                                 f"nbgrader generate_assignment {assignment.name} there first")
            for sub in assignment.submissions:
                student = sub.student.id
                if students is not None and student not in students:
                    continue
                dst.update_or_create_student(student, first_name=sub.student.first_name,
                                             last_name=sub.student.last_name,
                                             email=sub.student.email)
                try:
                    dst.remove_submission(assignment.name, student)
                except MissingEntry:
                    pass
                dst.add_submission(assignment.name, student, timestamp=sub.timestamp,
                                   extension=sub.extension)
                for nb in sub.notebooks:
                    target = dst.find_submission_notebook(nb.name, assignment.name, student)
                    target.flagged = nb.flagged
                    for grade in nb.grades:
                        into = dst.find_grade(grade.name, nb.name, assignment.name, student)
                        into.auto_score, into.manual_score = grade.auto_score, grade.manual_score
                        into.extra_credit = grade.extra_credit
                        into.needs_manual_grade = grade.needs_manual_grade
                    for comment in nb.comments:
                        into = dst.find_comment(comment.name, nb.name, assignment.name, student)
                        into.auto_comment = comment.auto_comment
                        into.manual_comment = comment.manual_comment
                dst.db.commit()
                merged.append((student, assignment.name))
                for folder in ("submitted", "autograded", "feedback"):
                    source = Path(shard) / folder / student / assignment.name
                    target_dir = Path(root) / folder / student / assignment.name
                    if source.exists() and source.resolve() != target_dir.resolve():
                        if target_dir.exists():
                            shutil.rmtree(target_dir)
                        shutil.copytree(source, target_dir)
    return merged


def grade(submissions: Path, course_root: Path = ROOT, out: Path | None = None,
          names: list[str] | None = None, timeout: int | None = None, feedback: bool = True,
          progress: bool = True, env: dict | None = None, jobs: int = 1) -> GradeReport:
    """Autograde every submission under ``submissions``; write the CSV and feedback HTML.

    Args:
        submissions: folder of ``<student_id>/<assignment>.ipynb`` (or
            ``<student_id>/<assignment>/<assignment>.ipynb``).
        course_root: the nbgrader course (holds ``nbgrader_config.py``, ``course/``, the gradebook).
        out: the grades CSV (default ``<course_root>/grades.csv``); the log goes beside it.
        names: assignments to grade (default: every one that has submissions).
        timeout: seconds per notebook cell (default: ``c.Execute.timeout`` of the config, 120).
        feedback: also run ``nbgrader generate_feedback``.
        jobs: grade this many groups of students at once, each in a scratch copy of the course
            with its own gradebook (SQLite allows one writer), merged into ``course_root``
            afterwards (:func:`merge_graded`); the grades are those of a sequential run.
        env: extra environment for nbgrader and its kernels (e.g. the limits of
            :mod:`ebm_course.instructor.grading.limits`). Notebooks are graded in the ``grade`` profile
            even when the instructor's shell exports ``EBM_COURSE_PROFILE`` (say ``quick``
            from building the course): a training profile would time cells out and cost
            students points. Only ``env`` itself can choose another.
    """
    root = Path(course_root).resolve()
    database = root / "gradebook.db"
    new_database = not database.exists()
    try:
        with _tools_on_path():
            return _grade(submissions, root, out, names, timeout, feedback, progress, env, jobs)
    except BaseException:
        if new_database:  # a failed first run leaves no half-made gradebook behind
            database.unlink(missing_ok=True)
        raise


def _grade(submissions: Path, root: Path, out: Path | None, names: list[str] | None,
           timeout: int | None, feedback: bool, progress: bool, env: dict | None,
           jobs: int = 1) -> GradeReport:
    from ..config import data_root

    start = time.time()
    # The grade profile, and the instructor's datasets, whatever the course folder holds
    # (a scratch course for a shard, a course copy without data/).
    env = {"EBM_COURSE_PROFILE": "grade", "EBM_COURSE_DATA": str(data_root()), **(env or {})}
    out = Path(out).resolve() if out else root / "grades.csv"
    log_path = out.with_suffix(".log")
    available = assignments(root / "course")
    wanted = names or available
    unknown = sorted(set(wanted) - set(available))
    if unknown:
        raise ValueError(f"not assignments of the course in {root / 'course'}: {unknown}")
    found, ignored = find_submissions(Path(submissions), wanted)
    if not found:
        raise ValueError(f"no submissions under {submissions}: expected "
                         "<student_id>/<assignment>.ipynb for one of " + ", ".join(wanted))
    todo = [a for a in wanted if any(a in nbs for nbs in found.values())]
    students = sorted(found)
    failures: dict[tuple[str, str], str] = {}
    locked_edits: list[tuple[str, str, str, str]] = []
    notices = [0]
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        generated = needs_generation(root, todo)
        for name in generated:
            log.write(f"### nbgrader generate_assignment {name}\n")
            if _nbgrader(root, "generate_assignment", name, "--force", log=log, env=env):
                raise RuntimeError(f"nbgrader generate_assignment {name} failed: see {log_path}")
        stage(root, found)
        extra = [f"--Execute.timeout={int(timeout)}"] if timeout else []
        total = sum(len(nbs) for nbs in found.values())
        bar = tqdm(total=total, desc="autograde", unit="notebook", disable=not progress)
        shards = [students[i::jobs] for i in range(max(1, min(jobs, len(students))))]
        if len(shards) == 1:
            _autograde(root, todo, found, extra, env, log, bar, feedback, failures, locked_edits,
                       notices, exclude=True)
        else:
            _autograde_shards(root, shards, todo, found, extra, env, log, bar, feedback,
                              failures, locked_edits, notices)
        bar.close()
        log.write("### nbgrader export\n")
        if _nbgrader(root, "export", "--to", str(out), log=log, env=env) or not out.exists():
            raise RuntimeError(f"nbgrader export failed: see {log_path}")
    scores, manual = _scores(root, students, todo, found)
    for (student, a) in list(failures):
        if student not in found or a not in found[student]:
            failures.pop((student, a))  # an earlier run's student, not ours
    for student, notebooks in found.items():
        for a in notebooks:
            if a not in scores.get(student, {}) and (student, a) not in failures:
                failures[(student, a)] = f"nbgrader recorded no grade: see {log_path}"
    return GradeReport(students, todo, scores, failures, out, root / "feedback", log_path,
                       time.time() - start, generated, ignored, manual,
                       sorted(set(locked_edits)), notices[0])


def _scores(root: Path, students: list[str], names: list[str], found) -> tuple[dict, int]:
    from nbgrader.api import Gradebook, MissingEntry

    scores: dict[str, dict[str, tuple[float, float]]] = {}
    manual = 0
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for student in students:
            for name in names:
                if name not in found[student]:
                    continue
                try:
                    sub = gb.find_submission(name, student)
                except MissingEntry:
                    continue
                scores.setdefault(student, {})[name] = (sub.code_score, sub.max_code_score)
                manual += sum(g.needs_manual_grade for nb in sub.notebooks for g in nb.grades)
    return scores, manual


def read_grades(path: Path) -> dict[tuple[str, str], dict]:
    """The exported CSV as ``{(student_id, assignment): row}``."""
    with open(path, newline="") as f:
        return {(row["student_id"], row["assignment"]): row for row in csv.DictReader(f)}


def run(args) -> int:
    """``ebm-course grade`` (arguments parsed in :mod:`ebm_course.instructor.cli`): grade, print a summary."""
    report = grade(Path(args.submissions), Path(args.course_root or ROOT),
                   Path(args.out) if args.out else None, args.assignments, args.timeout,
                   feedback=not args.no_feedback, jobs=args.jobs)
    print(report.summary())
    return 0


def merge_run(args) -> int:
    """``ebm-course merge SHARD... [--course-root R] [--out CSV]``: merge, then export."""
    root = Path(args.course_root or ROOT).resolve()
    out = Path(args.out).resolve() if args.out else root / "grades.csv"
    with _tools_on_path():
        for shard in args.shards:
            merged = merge_graded(Path(shard), root)
            print(f"merged {len(merged)} graded submission(s) from {shard}")
        if _nbgrader(root, "export", "--to", str(out)) or not out.exists():
            raise RuntimeError("nbgrader export failed")
    print(f"grades: {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from .cli import main as cli_main

    return cli_main(["grade", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
