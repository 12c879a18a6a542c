"""The ``ebm-course`` command (instructor): ``data``, ``glyphs``, ``course``, ``release``,
``notebooks``, ``grade``, ``merge``, ``smoke``, ``seeds``."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ebm-course", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("data", help="check MNIST under the data root and generate the glyph set")
    glyphs = sub.add_parser("glyphs", help="generate the synthetic glyph set (cached)")
    glyphs.add_argument("--out", default=None, help="output folder (default: <data>/glyphs)")
    course = sub.add_parser("course", help="run reference notebooks, build release, results")
    course.add_argument("assignments", nargs="*", help="default: all")
    smoke = sub.add_parser("smoke", help="run the reference notebooks in the full profile with "
                           "a training-step cap in a scratch folder (every full-profile code path, "
                           "minutes on a CPU)")
    smoke.add_argument("assignments", nargs="*", help="default: all")
    smoke.add_argument("--step-cap", type=int, default=3, help="training steps per run (default 3)")
    smoke.add_argument("--profile", default="full", choices=("full", "quick"))
    seeds = sub.add_parser("seeds", help="rerun the training notebooks (02-07, quick) on more "
                           "seeds in scratch folders; spreads to results/seeds.json")
    seeds.add_argument("assignments", nargs="*", help="default: 02-07; others keep their spreads")
    seeds.add_argument("--seeds", type=int, default=2,
                       help="seeds besides the committed run's (offsets 1..N; default 2)")
    sub.add_parser("release", help="regenerate release/ (instructor)")
    prose = sub.add_parser("prose", help="copy edited notebook text into solutions/ without "
                           "rerunning (refuses when code changed)")
    prose.add_argument("assignments", nargs="*", help="default: all")
    sub.add_parser("notebooks", help="build course/<a>/<a>.ipynb from the assignment units (instructor)")
    grade = sub.add_parser("grade", help="autograde a folder of submissions into a grades CSV "
                           "and feedback HTML (instructor)")
    grade.add_argument("submissions", help="folder of <student_id>/<assignment>.ipynb")
    grade.add_argument("--course-root", default=None,
                       help="the nbgrader course (default: the project root)")
    grade.add_argument("--out", default=None, help="grades CSV (default: <course-root>/grades.csv)")
    grade.add_argument("--assignment", action="append", dest="assignments",
                       help="grade only this assignment (repeatable; default: all submitted)")
    grade.add_argument("--timeout", type=int, default=None,
                       help="seconds per notebook cell (default: nbgrader_config.py's 120)")
    grade.add_argument("--no-feedback", action="store_true", help="skip generate_feedback")
    grade.add_argument("--jobs", type=int, default=1,
                       help="N workers at once (whole assignments each, or groups of "
                            "students when there are fewer assignments than N; default 1)")
    merge = sub.add_parser("merge", help="merge graded shards (other course copies, e.g. one "
                           "per cluster job) into this course's gradebook, then export the CSV")
    merge.add_argument("shards", nargs="+", help="course folders that ran `ebm-course grade`")
    merge.add_argument("--course-root", default=None, help="the course to merge into "
                       "(default: the project root)")
    merge.add_argument("--out", default=None, help="grades CSV (default: <course-root>/grades.csv)")
    args = parser.parse_args(argv)

    if args.command == "data":
        from ..config import data_root
        from ..data import dataset_available

        ok = dataset_available("MNIST")
        print(f"MNIST under {data_root()}: {'found' if ok else 'MISSING'}")
        try:
            from .. import glyphs as glyph_module
        except ImportError:
            return 0 if ok else 1
        glyph_module.main([])
        return 0 if ok else 1
    if args.command == "glyphs":
        from .. import glyphs as glyph_module

        return glyph_module.main([] if args.out is None else ["--out", args.out]) or 0
    if args.command == "course":
        from .build import build_course

        return build_course(args.assignments or None)
    if args.command == "smoke":
        from .build import smoke_run

        return smoke_run(args.assignments or None, args.step_cap, args.profile)
    if args.command == "seeds":
        from .seeds import run_seeds

        return run_seeds(list(range(1, args.seeds + 1)), args.assignments or None)
    if args.command == "release":
        from .release import build_release

        build_release()
        return 0
    if args.command == "grade":
        from .grade_loop import run

        return run(args)
    if args.command == "merge":
        from .grade_loop import merge_run

        return merge_run(args)
    if args.command == "prose":
        from .build import refresh_all_prose

        return refresh_all_prose(args.assignments or None)
    if args.command == "notebooks":
        from .authoring import main as build_notebooks

        return build_notebooks()
    return 2


if __name__ == "__main__":
    sys.exit(main())
