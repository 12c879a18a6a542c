"""The gradebook side of the grading loop: submissions found and staged, assignments that
need generating, locked-cell edits, scratch courses for parallel grading and their merge, the
scores, and feedback pages scrubbed of the instructor's folders. Instructor-only."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbformat


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


def exclude_others(root: Path, name: str, found: dict[str, dict[str, Path]]) -> list[str]:
    """nbgrader option leaving out students already in ``submitted/`` but not in this run (an
    earlier batch, maybe hand-graded since): they are neither re-graded nor re-fed-back."""
    others = sorted(p.parent.name for p in (root / "submitted").glob(f"*/{name}")
                    if name not in found.get(p.parent.name, {}))
    return [f"--CourseDirectory.student_id_exclude={','.join(others)}"] if others else []


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


def scores(root: Path, students: list[str], names: list[str], found) -> tuple[dict, int]:
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
