"""The main job (``make course``): execute every reference notebook into ``solutions/``,
rebuild ``release/`` and write the results table. Instructor-only: the student edition omits it.

Each notebook runs with nbclient in the profile that fits the hardware (``quick`` on a CPU,
``full`` on a GPU, or ``EBM_COURSE_PROFILE``); a notebook that fails is saved with its error
and the job goes on to the next, then exits non-zero: nothing already run is lost.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellControlSignal, DeadKernelError
from tqdm.auto import tqdm

from ..config import get_profile
from ..results import machine_metadata, results_dir
from ..settings import overridden
from .paths import ROOT
from .release import assignments, build_release


def execute_notebook(source: Path, target: Path, timeout: int = 3600) -> float:
    """Execute ``source`` with cwd = its target folder and save it (outputs kept) at ``target``.

    A progress bar counts the code cells as they finish.

    Returns:
        wall time in seconds. After saving a failed notebook raises nbclient's
        ``CellExecutionError`` (a cell raised), ``CellTimeoutError`` (a cell ran past
        ``timeout`` seconds) or ``DeadKernelError`` (the kernel died, e.g. out of memory).
    """
    nb = nbformat.read(source, as_version=4)
    target.parent.mkdir(parents=True, exist_ok=True)
    n_code = sum(cell.cell_type == "code" for cell in nb.cells)
    bar = tqdm(total=n_code, desc=f"  {source.stem}", unit="cell", leave=False)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", coalesce_streams=True,
                            resources={"metadata": {"path": str(target.parent)}},
                            on_cell_executed=lambda **_: bar.update(1))
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        bar.close()
        nbformat.write(nb, target)
    return time.perf_counter() - start


def _flatten(value, path=()) -> dict[tuple, object]:
    """Leaves of nested dicts keyed by their path."""
    if isinstance(value, dict):
        out = {}
        for key, sub in value.items():
            out.update(_flatten(sub, (*path, str(key))))
        return out
    return {path: value}


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return json.dumps(value)
    return str(value)


def _nested_table(name: str, value: dict) -> list[str]:
    """A dict of numbers as a table: rows = the path to a leaf's parent, columns = leaf keys."""
    leaves = _flatten(value)
    depths = {len(path) for path in leaves}
    if len(depths) != 1 or depths == {1}:
        return [f"| {name} / {' / '.join(path)} | {_fmt(v)} |" for path, v in leaves.items()]
    columns = sorted({path[-1] for path in leaves})
    rows: dict[tuple, dict] = {}
    for path, v in leaves.items():
        rows.setdefault(path[:-1], {})[path[-1]] = v
    lines = ["", f"**{name}**", "", "| " + " | ".join(["", *columns]) + " |",
             "|" + "---|" * (len(columns) + 1)]
    for row, cells in rows.items():
        lines.append("| " + " | ".join([" / ".join(row), *(_fmt(cells.get(c, "")) for c in columns)])
                     + " |")
    return lines + [""]


def results_report(results: Path, profile: str, failed: list[str] = ()) -> str:
    """The markdown report of ``results/``: times, every metric of every notebook, figures.

    ``failed``: what failed in this run; the report says so at the top (their results, if any,
    are an earlier run's).
    """
    out = [f"# Results ({profile} profile)", "",
           "Written by `make course` from `results/*.json`; figures are the notebooks' own.", ""]
    if failed:
        out += [f"**Failed in this run: {', '.join(failed)}.** Their numbers below, if any, are "
                "from an earlier run; the failed notebooks are saved in `solutions/` as far as "
                "they ran.", ""]
    for path in sorted(results.glob("*.json")):
        data = json.loads(path.read_text())
        out += [f"## {path.stem}", ""]
        run = data.get("run")
        if isinstance(run, dict):
            versions = run.get("versions") or {}
            out += [f"Run of {run.get('written', '?')}: commit {run.get('commit')}, "
                    f"{run.get('profile')} profile, device {run.get('device')} "
                    f"({run.get('cpu')}, {run.get('torch_threads')} torch threads, "
                    f"sampler precision {run.get('cpu_precision')}), torch "
                    f"{versions.get('torch')}, Lightning {versions.get('pytorch-lightning')}.", ""]
        out += ["| metric | value |", "|---|---|"]
        tables, details = [], []
        for key, value in sorted(data.items()):
            if key == "run":
                continue
            if key == "config" or key.endswith("_config"):
                details += [f"<details><summary>{key}</summary>", "", "```json",
                            json.dumps(value, indent=1, sort_keys=True), "```", "", "</details>"]
            elif isinstance(value, dict):
                rows = _nested_table(key, value)
                (tables if rows and rows[0] == "" else out).extend(rows)
            else:
                out.append(f"| {key} | {_fmt(value)} |")
        out += tables + details + [""]
        # an assignment's figures start with its number (02_toy_spiral.png, 05_ood_*.png)
        prefix = path.stem.split("_")[0] + "_" if path.stem[:2].isdigit() else path.stem
        figures = sorted(results.glob(f"{prefix}*.png"))
        out += [f"![{fig.stem}]({fig.name})" for fig in figures] + ([""] if figures else [])
    return "\n".join(out) + "\n"


# Run by the whole job after the notebooks: (script, *arguments); each writes results/bench_*.json.
BENCHMARKS = (("sampler_speed.py",),
              ("grading_time.py", "--students", "1", "--blank", "1"))


def build_course(names: list[str] | None = None, timeout: int = 3600) -> int:
    """Run the solutions, the release and the results table; return a process exit code.

    A notebook that raises, times out (``timeout`` seconds per cell) or kills its kernel is
    saved as far as it got and reported; the others still run and the release and the report
    are still written, then the exit code is 1.
    """
    profile = get_profile()
    with overridden(EBM_COURSE_PROFILE=profile):  # the kernels and benchmarks inherit it
        return _build_course(profile, names, timeout)


def _build_course(profile: str, names: list[str] | None, timeout: int) -> int:
    names = names or assignments()
    results = results_dir()
    results.mkdir(parents=True, exist_ok=True)
    timings, loads, failed = {}, {}, []
    for name in tqdm(names, desc=f"reference notebooks ({profile})", unit="notebook"):
        source = ROOT / "course" / name / f"{name}.ipynb"
        target = ROOT / "solutions" / name / f"{name}.ipynb"
        tqdm.write(f"running {name} ...")
        load = os.getloadavg()[0]
        try:
            timings[name] = round(execute_notebook(source, target, timeout), 1)
            # The 1-minute load when it started and ended: above the CPU count, another job
            # shared the cores and the time overstates what a quiet machine takes.
            loads[name] = [round(load, 2), round(os.getloadavg()[0], 2)]
            tqdm.write(f"  {name}: {timings[name]} s")
        except (CellControlSignal, DeadKernelError) as err:  # raised, timed out, kernel died
            failed.append(name)
            tqdm.write(f"  {name} FAILED ({type(err).__name__}; saved as far as it ran at "
                       f"{target}):\n{str(err)[-2000:]}")
    build_release()  # before the benchmarks: the grading one grades today's blank release
    if set(names) == set(assignments()):  # the whole job also runs the benchmarks
        for script, *bench_args in BENCHMARKS:
            tqdm.write(f"running benchmarks/{script} {' '.join(bench_args)} ...")
            bench = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *bench_args],
                                   cwd=ROOT, capture_output=True, text=True)
            if bench.returncode == 0:
                tqdm.write(bench.stdout[-1500:])
            else:
                failed.append(f"benchmarks/{script}")
                tqdm.write(f"  FAILED:\n{bench.stdout[-1000:]}{bench.stderr[-2000:]}")
    timing_file = results / "course_timings.json"
    previous = json.loads(timing_file.read_text()) if timing_file.exists() else {}
    previous.update({"profile": profile, **{f"seconds_{k}": v for k, v in timings.items()},
                     **{f"load_{k}": v for k, v in loads.items()}})
    previous["machine"] = machine_metadata()
    timing_file.write_text(json.dumps(previous, indent=2, sort_keys=True) + "\n")
    report = results_report(results, profile, failed)
    (results / "README.md").write_text(report)
    print(report)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def scratch_data_root(data: Path, source: Path) -> Path:
    """A data root at ``data`` that shares ``source``'s read-only parts and keeps its own exports.

    MNIST, FashionMNIST (when ``source`` has it), the generated glyph set and the cached metric
    classifiers (the judges) are links into
    ``source`` (``source``'s MNIST and glyph folders are created when missing, so that a
    download or the glyph generation lands there once); ``checkpoints/`` is otherwise empty: a
    network exported by a capped or scratch run never passes for a real run's, and a real run's
    never stands in for a notebook that did not export one. Returns ``data``.
    """
    (data / "checkpoints").mkdir(parents=True)
    for shared in ("MNIST", "glyphs"):
        (source / shared).mkdir(parents=True, exist_ok=True)
        (data / shared).symlink_to((source / shared).resolve())
    for optional in ("FashionMNIST",):  # 05's far-OOD set, where this machine has it
        if (source / optional).exists():
            (data / optional).symlink_to((source / optional).resolve())
    for judge in (source / "checkpoints").glob("metric_classifier_*.pt"):
        (data / "checkpoints" / judge.name).symlink_to(judge.resolve())
    return data


def smoke_run(names: list[str] | None = None, step_cap: int = 3, profile: str = "full",
              timeout: int = 1800) -> int:
    """Run every reference notebook in ``profile`` (default ``full``) with at most ``step_cap``
    training steps per training run (``EBM_COURSE_STEP_CAP``), so that the profile's code paths
    (its data sizes, callbacks, evaluation, exports) execute on any machine in minutes.

    Everything the notebooks write goes to a scratch folder: a data root that links MNIST, the
    glyph set and the metric classifiers, but keeps its own exports (a capped run's networks must
    never pass for a real run's), and its own results. ``results/smoke_<profile>.json`` records
    the step cap, each notebook's wall time and what failed (a run of some notebooks updates
    their entries of an earlier record with the same cap). Returns a process exit code.
    """
    import tempfile

    from ..config import data_root

    names = names or assignments()
    scratch = Path(tempfile.mkdtemp(prefix=f"ebm_smoke_{profile}_"))
    data = scratch_data_root(scratch / "data", data_root())
    env = {"EBM_COURSE_PROFILE": profile, "EBM_COURSE_STEP_CAP": str(step_cap),
           "EBM_COURSE_DATA": str(data), "EBM_COURSE_RESULTS": str(scratch / "results")}
    seconds, failed = {}, []
    with overridden(**env):  # the kernels inherit them
        for name in tqdm(names, desc=f"smoke run ({profile}, <= {step_cap} steps)", unit="notebook"):
            target = scratch / "notebooks" / f"{name}.ipynb"
            try:
                seconds[name] = round(execute_notebook(ROOT / "course" / name / f"{name}.ipynb",
                                                       target, timeout), 1)
                tqdm.write(f"  {name}: {seconds[name]} s")
            except (CellControlSignal, DeadKernelError) as err:
                failed.append(name)
                tqdm.write(f"  {name} FAILED (saved as far as it ran at {target}):\n"
                           f"{str(err)[-2000:]}")
    out = results_dir() / f"smoke_{profile}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    earlier = json.loads(out.read_text()) if out.exists() else {}
    if earlier.get("step_cap") == step_cap:  # a run of some notebooks updates their entries
        seconds = {**{k: v for k, v in earlier.get("seconds", {}).items() if k not in names},
                   **seconds}
        failed = sorted({*(set(earlier.get("failed", [])) - set(names)), *failed})
    record = {"profile": profile, "step_cap": step_cap, "seconds": seconds, "failed": failed,
              "total_seconds": round(sum(seconds.values()), 1), "scratch": str(scratch)}
    out.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    print(f"smoke run ({profile}, <= {step_cap} training steps): "
          f"{len(seconds)} passed, {len(failed)} failed (this run and earlier ones with the same "
          f"cap); wrote {out}")
    return 1 if set(failed) & set(names) else 0


def refresh_prose(source: Path, solution: Path) -> int:
    """Copy the markdown of a source notebook into its executed solution, outputs kept: for a
    text-only edit (a corrected statement, a model answer) that needs no rerun. Refuses, and
    changes nothing, when the two notebooks differ in anything but markdown (cell ids, cell
    types, code): then the solution must be rerun (``make course``). Returns the number of
    markdown cells changed."""
    src = nbformat.read(source, as_version=4)
    sol = nbformat.read(solution, as_version=4)
    shape = [(c.get("id"), c.cell_type) for c in src.cells]
    if shape != [(c.get("id"), c.cell_type) for c in sol.cells]:
        raise ValueError(f"{solution}: its cells are not those of {source}: rerun it")
    code = [i for i, (a, b) in enumerate(zip(src.cells, sol.cells))
            if a.cell_type == "code" and a.source != b.source]
    if code:
        raise ValueError(f"{solution}: code cells {code} differ from {source}: rerun it")
    changed = 0
    for a, b in zip(src.cells, sol.cells):
        if a.cell_type == "markdown" and a.source != b.source:
            b.source = a.source
            changed += 1
    if changed:
        nbformat.write(sol, solution)
    return changed


def refresh_all_prose(names: list[str] | None = None) -> int:
    """``ebm-course prose``: :func:`refresh_prose` for every assignment's solution; a process
    exit code (1 when a solution needs a rerun instead)."""
    status = 0
    for name in names or assignments():
        source = ROOT / "course" / name / f"{name}.ipynb"
        solution = ROOT / "solutions" / name / f"{name}.ipynb"
        try:
            print(f"{name}: {refresh_prose(source, solution)} markdown cell(s) refreshed")
        except (ValueError, FileNotFoundError) as err:
            print(f"{name}: {err}", file=sys.stderr)
            status = 1
    return status
