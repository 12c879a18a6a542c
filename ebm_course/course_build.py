"""The main job (``make course``): execute every reference notebook into ``solutions/``,
rebuild ``release/`` and write the results table. Instructor-only: the student edition omits it.

Each notebook runs with nbclient in the profile that fits the hardware (``quick`` on a CPU,
``full`` on a GPU, or ``EBM_COURSE_PROFILE``); a notebook that fails is saved with its error
and the job goes on to the next, then exits non-zero: nothing already run is lost.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from tqdm.auto import tqdm

from .config import get_profile
from .release import ROOT, assignments, build_release
from .results import results_dir


def execute_notebook(source: Path, target: Path, timeout: int = 3600) -> float:
    """Execute ``source`` with cwd = its target folder and save it (outputs kept) at ``target``.

    Returns:
        wall time in seconds. Raises ``CellExecutionError`` after saving a failed notebook.
    """
    nb = nbformat.read(source, as_version=4)
    target.parent.mkdir(parents=True, exist_ok=True)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(target.parent)}})
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        nbformat.write(nb, target)
    return time.perf_counter() - start


def results_table(results: Path) -> str:
    """A markdown table of every number in ``results/*.json``."""
    rows = ["| assignment | metric | value |", "|---|---|---|"]
    for path in sorted(results.glob("*.json")):
        for key, value in sorted(json.loads(path.read_text()).items()):
            if isinstance(value, float):
                value = f"{value:.4g}"
            if isinstance(value, (dict, list)):
                value = json.dumps(value)
            rows.append(f"| {path.stem} | {key} | {value} |")
    return "\n".join(rows) + "\n"


def build_course(names: list[str] | None = None) -> int:
    """Run the solutions, the release and the results table; return a process exit code."""
    os.environ.setdefault("EBM_COURSE_PROFILE", get_profile())
    profile = os.environ["EBM_COURSE_PROFILE"]
    names = names or assignments()
    results = results_dir()
    results.mkdir(parents=True, exist_ok=True)
    timings, failed = {}, []
    for name in tqdm(names, desc=f"reference notebooks ({profile})", unit="notebook"):
        source = ROOT / "course" / name / f"{name}.ipynb"
        target = ROOT / "solutions" / name / f"{name}.ipynb"
        tqdm.write(f"running {name} ...")
        try:
            timings[name] = round(execute_notebook(source, target), 1)
            tqdm.write(f"  {name}: {timings[name]} s")
        except CellExecutionError as err:
            failed.append(name)
            tqdm.write(f"  {name} FAILED (saved with the error at {target}):\n{str(err)[-2000:]}")
    build_release()
    timing_file = results / "course_timings.json"
    previous = json.loads(timing_file.read_text()) if timing_file.exists() else {}
    previous.update({"profile": profile, **{f"seconds_{k}": v for k, v in timings.items()}})
    timing_file.write_text(json.dumps(previous, indent=2, sort_keys=True) + "\n")
    table = results_table(results)
    (results / "README.md").write_text(f"# Results ({profile} profile)\n\n{table}")
    print(table)
    if failed:
        print(f"failed notebooks: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
