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
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from tqdm.auto import tqdm

from ..settings import current, overridden
from ..threads import cpu_budget
from .gradebook import (
    exclude_others,
    find_submissions,
    instructor_places,
    locked_cell_changes,
    locked_cells,
    merge_graded,
    needs_generation,
    scores,
    scrub_paths,
    shard_course,
    stage,
)
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


@dataclass(frozen=True)
class NbgraderStep:
    """One nbgrader command of a grading run: what it did, when it started (epoch seconds,
    to line up with the cell timings nbclient writes into autograded notebooks), how long."""

    command: str                     # autograde, generate_feedback, export
    assignment: str
    started: float
    seconds: float


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
    steps: list[NbgraderStep] = field(default_factory=list)  # each nbgrader command, timed

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
    with overridden(PATH=tool_env()["PATH"]):
        yield


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


@dataclass
class GradingRun:
    """What one grading run shares while nbgrader works: where it logs, its progress bar, and
    what it has found so far (notebooks that could not be graded, edited locked cells, the
    count of nbgrader's checksum notices). Shards grade in threads: their updates go through
    :meth:`_record` under one lock."""

    env: dict                        # nbgrader's environment (profile, data root, threads)
    extra: list[str]                 # extra nbgrader options (the cell timeout)
    bar: tqdm
    feedback: bool
    failures: dict[tuple[str, str], str] = field(default_factory=dict)
    locked_edits: list[tuple[str, str, str, str]] = field(default_factory=list)
    checksum_notices: int = 0
    steps: list[NbgraderStep] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _record(self, failures=None, locked_edits=(), notices: int = 0) -> None:
        with self._lock:
            self.failures.update(failures or {})
            self.locked_edits += list(locked_edits)
            self.checksum_notices += notices

    def _nbgrader(self, course: Path, command: str, name: str, *args: str, log=None,
                  on_line=None) -> int:
        """One timed nbgrader command (its time kept in :attr:`steps`)."""
        started, clock = time.time(), time.perf_counter()
        code = _nbgrader(course, command, name, *args, log=log, on_line=on_line, env=self.env)
        with self._lock:
            self.steps.append(NbgraderStep(command, name, started, time.perf_counter() - clock))
        return code

    def _autograde_one(self, course: Path, name: str, found: dict, log: TextIO,
                       exclude: bool) -> None:
        """nbgrader autograde of assignment ``name`` for every staged student of ``course``."""
        lines: list[str] = []
        started: list[str] = []
        notices = 0

        def on_line(line):
            nonlocal notices
            lines.append(line)
            m = STARTED.search(line)
            if m:
                if started:
                    self.bar.update(1)
                started.append(m.group("path"))
                self.bar.set_postfix_str(f"{name} {Path(m.group('path')).parts[-3]}")
            changed = CHANGED.search(line)
            if changed and changed["attr"] == "checksum":
                notices += 1  # real edits are found from the notebooks themselves
                return False
            return True

        versions = locked_cells(course, name)
        edits = [(student, name, cell, how) for student in found if name in found[student]
                 for cell, how in locked_cell_changes(versions, found[student][name])]
        others = exclude_others(course, name, found) if exclude else []
        log.write(f"### nbgrader autograde {name}\n")
        self._nbgrader(course, "autograde", name, "--create", "--force", *self.extra, *others,
                       log=log, on_line=on_line)
        if started:
            self.bar.update(1)
        n_here = sum(name in nbs for nbs in found.values())
        self.bar.update(max(0, n_here - len(started)))  # notebooks nbgrader never reached
        self._record(_parse_failures(lines), edits, notices)

    def autograde(self, course: Path, todo: list[str], found: dict, log: TextIO,
                  exclude: bool = True) -> None:
        """nbgrader autograde (and generate_feedback) of every staged student of ``course``;
        ``exclude`` leaves out students staged by an earlier run."""
        for name in todo:
            self._autograde_one(course, name, found, log, exclude)
        if not self.feedback:
            return
        places = instructor_places(course)
        for name in todo:
            others = exclude_others(course, name, found) if exclude else []
            log.write(f"### nbgrader generate_feedback {name}\n")
            self._nbgrader(course, "generate_feedback", name, "--force", *others, log=log)
            for student in found:
                for page in (course / "feedback" / student / name).glob("*.html"):
                    scrub_paths(page, places)

    def autograde_shards(self, root: Path, shards: list[Shard], found: dict,
                         log: TextIO) -> None:
        """Grade shards in parallel, each in its own scratch course (its own gradebook: SQLite
        takes one writer at a time), then merge them into ``root``."""
        from concurrent.futures import ThreadPoolExecutor

        work = root / ".grading"
        courses = [shard_course(root, work / f"shard-{i}") for i in range(len(shards))]
        mine = [{s: {a: p for a, p in found[s].items() if a in shard.names}
                 for s in shard.students if any(a in shard.names for a in found[s])}
                for shard in shards]
        for course, found_here in zip(courses, mine):
            stage(course, found_here)

        def run(i):
            with open(courses[i] / "grades.log", "w") as shard_log:
                self.autograde(courses[i], shards[i].names, mine[i], shard_log, exclude=False)

        with ThreadPoolExecutor(len(shards)) as pool:
            list(pool.map(run, range(len(shards))))
        for i, course in enumerate(courses):
            log.write(f"### shard {i}: {', '.join(shards[i].names)} of "
                      f"{', '.join(shards[i].students)}\n{(course / 'grades.log').read_text()}")
            merge_graded(course, root, students=shards[i].students, names=shards[i].names)
        shutil.rmtree(work, ignore_errors=True)


@dataclass(frozen=True)
class Shard:
    """What one grading worker grades: these assignments of these students."""

    students: list[str]
    names: list[str]


def plan_shards(found: dict, todo: list[str], workers: int,
                seconds_per_notebook: dict[str, float]) -> list[Shard]:
    """Split the work between ``workers``. With at least as many assignments as workers, each
    worker grades whole assignments (every student of each), balanced by their expected time
    (notebooks x ``seconds_per_notebook``, longest first onto the least loaded worker): nbgrader
    starts once per assignment as in a sequential run, where splitting by students would start
    it once per assignment in every worker. With fewer assignments, students are split."""
    students = sorted(found)
    if workers <= 1:
        return [Shard(students, list(todo))]
    if len(todo) < workers:
        return [Shard(students[i::workers], list(todo)) for i in range(workers)
                if students[i::workers]]
    cost = {a: seconds_per_notebook.get(a, 1.0) * sum(a in nbs for nbs in found.values())
            for a in todo}
    loads: list[tuple[float, list[str]]] = [(0.0, []) for _ in range(workers)]
    for a in sorted(todo, key=lambda a: (-cost[a], a)):
        i = min(range(workers), key=lambda i: loads[i][0])
        loads[i] = (loads[i][0] + cost[a], loads[i][1] + [a])
    return [Shard(students, [a for a in todo if a in names]) for _, names in loads if names]


def grading_seconds() -> dict[str, float]:
    """Each registered assignment's autograding seconds per notebook (its ``grade_seconds``)."""
    from .assignments import ASSIGNMENTS

    return {a.name: a.grade_seconds for a in ASSIGNMENTS}


def worker_threads(jobs: int) -> int:
    """torch threads for each of ``jobs`` grading workers: the CPUs this process may use
    (affinity, cgroup quota) split between them, so that parallel kernels do not oversubscribe
    the cores (each spinning on the others' threads)."""
    return max(1, cpu_budget() // max(1, jobs))


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
        jobs: this many workers at once (:func:`plan_shards`: whole assignments each, or
            groups of students when there are fewer assignments), each in a scratch copy of the course
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
    workers = max(1, min(jobs, max(len(students), len(todo))))
    if not current().omp_num_threads:  # the instructor's OMP_NUM_THREADS wins
        env.setdefault("OMP_NUM_THREADS", str(worker_threads(workers)))
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
        shards = plan_shards(found, todo, workers, grading_seconds())
        run = GradingRun(env, extra, bar, feedback)
        if len(shards) == 1:
            run.autograde(root, todo, found, log)
        else:
            run.autograde_shards(root, shards, found, log)
        bar.close()
        log.write("### nbgrader export\n")
        if _nbgrader(root, "export", "--to", str(out), log=log, env=env) or not out.exists():
            raise RuntimeError(f"nbgrader export failed: see {log_path}")
    failures = run.failures
    graded, manual = scores(root, students, todo, found)
    for (student, a) in list(failures):
        if student not in found or a not in found[student]:
            failures.pop((student, a))  # an earlier run's student, not ours
    for student, notebooks in found.items():
        for a in notebooks:
            if a not in graded.get(student, {}) and (student, a) not in failures:
                failures[(student, a)] = f"nbgrader recorded no grade: see {log_path}"
    return GradeReport(students, todo, graded, failures, out, root / "feedback", log_path,
                       time.time() - start, generated, ignored, manual,
                       sorted(set(run.locked_edits)), run.checksum_notices, run.steps)


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
