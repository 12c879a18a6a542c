"""The instructor loop, timed: ``ebm-course grade`` on simulated students of every assignment.

A scratch nbgrader course (``nbgrader_config.py`` and ``course/`` copied into a temporary folder)
gets every assignment generated into its gradebook first (timed apart: a course does it once),
then one ``grade`` run over ``--students`` complete reference submissions (the source notebooks)
and ``--blank`` untouched releases: autograde, feedback HTML, CSV export. Writes
``results/bench_grading.json`` with the wall times, the seconds per submitted notebook set, and
every student's autograded points (reference students must get full marks, blank ones zero;
the script exits 1 otherwise).

    python benchmarks/grading_time.py [--students 1] [--blank 0] [--jobs 1,2]
                                                                   (or: make bench-grading)

Each ``--jobs`` value grades the same class in its own scratch course; with 1 and 2 the JSON
holds ``speedup_2_jobs``, and the scores must be the same for every value.

Issue 6's target: one complete submission of all assignments in <= 3 minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

from ebm_course.instructor.grade_loop import grade
from ebm_course.instructor.paths import ROOT
from ebm_course.instructor.release import assignments, generate_assignments
from ebm_course.results import results_dir


def scratch_course(root: Path, names: list[str]) -> float:
    """Copy the course into ``root`` and generate every assignment; return the seconds taken."""
    shutil.copy(ROOT / "nbgrader_config.py", root)
    shutil.copytree(ROOT / "course", root / "course")
    start = time.perf_counter()
    generate_assignments(names, root)
    return time.perf_counter() - start


def submissions(folder: Path, names: list[str], n_reference: int, n_blank: int) -> None:
    """``reference-i/`` hold the source notebooks (the solutions), ``blank-j/`` the releases."""
    for kind, count, src in (("reference", n_reference, ROOT / "course"),
                             ("blank", n_blank, ROOT / "release")):
        for i in range(count):
            student = folder / f"{kind}-{i}"
            student.mkdir(parents=True)
            for name in names:
                shutil.copy(src / name / f"{name}.ipynb", student / f"{name}.ipynb")


def _when(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _kind(cell) -> str:
    meta = cell.metadata.get("nbgrader", {})
    if meta.get("grade") and not meta.get("solution"):
        return "checks"             # a test cell: visible and hidden checks
    if meta.get("solution"):
        return "answers"            # the student's code cells
    return "the rest"               # given code: training, sampling, judging, plots


def breakdown(root: Path, steps) -> dict:
    """Where the seconds of each assignment go, summed over its graded notebooks: before each
    notebook's first cell (nbgrader's start and the gradebook for the first, saving the previous
    one for the others, and each kernel's start), the first cell (imports, the banner), the
    answer cells, the test cells, the rest (given code: training, sampling, judging, plots), and
    nbgrader's work after the last cell; generate_feedback apart. Cell times are the ones
    nbclient writes into every autograded notebook."""
    import nbformat

    timed = []  # (first busy, last idle, seconds by kind) of every autograded notebook
    for path in root.glob("autograded/*/*/*.ipynb"):
        cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"
                 and "iopub.status.busy" in c.metadata.get("execution", {})]
        if not cells:
            continue
        kinds: Counter = Counter()
        for i, cell in enumerate(cells):
            t = cell.metadata.execution
            kind = "first cell (imports)" if i == 0 else _kind(cell)
            kinds[kind] += _when(t["iopub.status.idle"]) - _when(t["iopub.status.busy"])
        timed.append((_when(cells[0].metadata.execution["iopub.status.busy"]),
                      _when(cells[-1].metadata.execution["iopub.status.idle"]), kinds))
    out: dict[str, Counter] = defaultdict(Counter)
    for step in steps:
        row = out[step.assignment]
        row[step.command] += step.seconds
        if step.command != "autograde":
            continue
        end = step.started + step.seconds
        mine = sorted(t for t in timed if step.started <= t[0] <= end)
        row["notebooks"] += len(mine)
        previous = step.started
        for first, last, kinds in mine:
            row["before the first cell"] += first - previous
            row.update(kinds)
            previous = last
        row["nbgrader after the cells"] += end - previous
    return {name: {k: round(v, 1) for k, v in sorted(row.items())} for name, row in
            sorted(out.items())}


def _print_breakdown(where: dict, jobs: int) -> None:
    columns = ["autograde", "before the first cell", "first cell (imports)", "answers", "checks",
               "the rest", "nbgrader after the cells", "generate_feedback"]
    print(f"seconds per assignment (--jobs {jobs}, summed over notebooks):")
    print(f"{'assignment':<24}" + "".join(f"{c[:12]:>13}" for c in columns))
    for name, row in where.items():
        print(f"{name:<24}" + "".join(f"{row.get(c, 0.0):>13.1f}" for c in columns))
    total = {c: sum(r.get(c, 0.0) for r in where.values()) for c in columns}
    print(f"{'total':<24}" + "".join(f"{total[c]:>13.1f}" for c in columns))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1, help="complete reference submissions")
    parser.add_argument("--blank", type=int, default=0, help="untouched releases")
    parser.add_argument("--no-feedback", action="store_true", help="skip generate_feedback")
    parser.add_argument("--jobs", default="1,2",
                        help="comma-separated worker counts, each timed on the same class "
                             "(default 1,2: the speed-up of two workers)")
    args = parser.parse_args()
    if args.students + args.blank < 1:
        parser.error("grade at least one student (--students / --blank)")
    names = assignments()
    jobs_list = [int(j) for j in args.jobs.split(",")]
    seconds, generate_s, reports, where = {}, None, {}, {}
    for jobs in jobs_list:
        with tempfile.TemporaryDirectory(prefix="ebm-grading-bench-") as tmp:
            root, subs = Path(tmp) / "course-root", Path(tmp) / "submissions"
            root.mkdir()
            print(f"generating {len(names)} assignments in a scratch gradebook ...", flush=True)
            generated = scratch_course(root, names)
            generate_s = generated if generate_s is None else generate_s
            submissions(subs, names, args.students, args.blank)
            start = time.perf_counter()
            reports[jobs] = grade(subs, root, feedback=not args.no_feedback, jobs=jobs)
            seconds[jobs] = time.perf_counter() - start
            where[jobs] = breakdown(root, reports[jobs].steps)
        print(f"--jobs {jobs}: {seconds[jobs]:.0f} s", flush=True)
    report = reports[jobs_list[0]]
    print("\n".join(line for line in report.summary().splitlines()  # not the scratch paths
                    if not line.startswith(("grades:", "feedback:", "log:"))))
    n = len(report.students)
    points = {s: {a: list(v) for a, v in report.scores.get(s, {}).items()} for s in report.students}
    wrong = [s for s, per in points.items()
             if any((got != best) if s.startswith("reference") else (got != 0)
                    for got, best in per.values()) or len(per) != len(names)]
    same = all(r.scores == report.scores for r in reports.values())
    grade_s = seconds[jobs_list[0]]
    result = {
        "assignments": names, "students": n, "reference_students": args.students,
        "blank_students": args.blank, "feedback": not args.no_feedback,
        "cpu_count": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 2),
        "generate_seconds": round(generate_s, 1), "grade_seconds": round(grade_s, 1),
        "seconds_per_student": round(grade_s / n, 1), "points": points,
        "grade_seconds_by_jobs": {str(j): round(t, 1) for j, t in seconds.items()},
        "same_scores_for_every_jobs": same, "unexpected_scores": wrong,
        "seconds_by_assignment": {str(j): w for j, w in where.items()},
        "breakdown_note": "per assignment, summed over its notebooks and (with jobs > 1) its "
                          "workers: before the first cell = nbgrader's start and the gradebook (or "
                          "saving the previous notebook) and the kernel's start; then the cells "
                          "by kind; nbgrader after the cells = saving the last notebook and exit",
    }
    if 1 in seconds and 2 in seconds:
        result["speedup_2_jobs"] = round(seconds[1] / seconds[2], 2)
    out = results_dir() / "bench_grading.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    _print_breakdown(where[jobs_list[0]], jobs_list[0])
    print(f"generate {generate_s:.0f} s once; grade {n} student(s) x {len(names)} assignments: "
          f"{grade_s:.0f} s ({grade_s / n:.0f} s per student)")
    if "speedup_2_jobs" in result:
        print(f"2 workers against 1: {result['speedup_2_jobs']:.2f}x")
    print(f"wrote {out}")
    if wrong or not same:
        print(f"unexpected scores for {wrong}" if wrong else "scores differ between --jobs",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
