"""``make seeds`` (``ebm-course seeds``): how far each notebook's numbers hold across seeds.

A notebook draws its conclusions from one quick run. This reruns the reference notebooks that
train (02-07) in the ``quick`` profile with ``EBM_COURSE_SEED_OFFSET`` = 1, 2, ... (every
profile's seed moves: network initialisation, data order and subsets, chains), each seed in its
own scratch data root and results folder (``build.scratch_data_root``: shared MNIST, glyphs and
judges; its own exports, so 05 and 06 read the 03 and 04 models of the same seed), with 03's
section-7 ablations off. Seed offset 0 is the committed run (``results/``).

``results/seeds.json`` holds, per assignment, every number its results file holds (a JSON
pointer per number: nested keys joined by ``/``, a ``/`` inside a key written ``~1``) with the value of each seed, mean, min, max, and ``sign_changes`` where the
seeds disagree in sign. The notebooks quote the spread from there (claims in each assignment's
``claims.py`` read it). A notebook that fails on a seed is recorded under ``failed`` with the
scratch folder kept, and the other seeds and notebooks go on.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

from tqdm.auto import tqdm

from ..config import data_root
from ..results import results_dir, run_metadata
from ..settings import overridden
from .paths import ROOT

ASSIGNMENTS = ("02_toy_densities", "03_mnist_ebm", "04_glyph_jem", "05_ood_detection",
               "06_sampling_likelihood", "07_score_models")
SKIP = {"run", "config", "profile", "device", "data", "models", "timings_s", "machine"}


def _escape(key: str) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def _unescape(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")


def numbers(results: dict, prefix: str = "") -> dict[str, float]:
    """Every finite number of a results file by its JSON pointer without the leading ``/``
    (``tv/banana~1HMC~10.2`` for ``results["tv"]["banana/HMC/0.2"]``); bookkeeping keys such
    as ``run`` and ``config``, and booleans, left out."""
    out = {}
    for key, value in results.items():
        if not prefix and key in SKIP:
            continue
        path = f"{prefix}{_escape(key)}"
        if isinstance(value, dict):
            out.update(numbers(value, path + "/"))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            if math.isfinite(value):
                out[path] = value
    return out


def unflatten(values: dict[str, float]) -> dict:
    """The nested results dict back from :func:`numbers`' pointers."""
    out: dict = {}
    for pointer, value in values.items():
        *parents, last = [_unescape(p) for p in pointer.split("/")]
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return out


def seed_results(record: dict, name: str) -> list[tuple[int, dict]]:
    """Each seed's results of assignment ``name`` (numbers only) rebuilt from a seeds record:
    ``(seed offset, results)`` for every seed that ran it."""
    values = record["values"].get(name, {})
    return [(offset, unflatten({k: v["per_seed"][i] for k, v in values.items()
                                if v["per_seed"][i] is not None}))
            for i, offset in enumerate(record["seed_offsets"])
            if any(v["per_seed"][i] is not None for v in values.values())]


def spread(per_seed: dict[int, dict[str, float]]) -> dict[str, dict]:
    """Per key: the value of each seed (None where a seed lacks it), mean, min, max and whether
    the sign changes across seeds."""
    keys = sorted({k for values in per_seed.values() for k in values})
    seeds = sorted(per_seed)
    out = {}
    for key in keys:
        values = [per_seed[s].get(key) for s in seeds]
        present = [v for v in values if v is not None]
        out[key] = {"per_seed": values, "n": len(present), "mean": sum(present) / len(present),
                    "min": min(present), "max": max(present),
                    "sign_changes": min(present) < 0 < max(present)}
    return out


def run_seeds(offsets: list[int], names: list[str] | None = None, timeout: int = 3600) -> int:
    """Rerun ``names`` (default: 02-07) for each seed offset and write ``results/seeds.json``
    (seed 0 read from the committed results). Returns a process exit code."""
    from nbclient.exceptions import CellControlSignal, DeadKernelError

    from .build import execute_notebook, scratch_data_root

    names = list(names or ASSIGNMENTS)
    scratch = Path(tempfile.mkdtemp(prefix="ebm_seeds_"))
    failed, seconds = [], {}
    bar = tqdm(total=len(offsets) * len(names), desc="seeds", unit="notebook")
    for offset in offsets:
        folder = scratch / f"seed{offset}"
        data = scratch_data_root(folder / "data", data_root())
        env = {"EBM_COURSE_PROFILE": "quick", "EBM_COURSE_SEED_OFFSET": str(offset),
               "EBM_COURSE_DATA": str(data), "EBM_COURSE_RESULTS": str(folder / "results"),
               "EBM_COURSE_ABLATION_STEPS": "0", "EBM_COURSE_STEP_CAP": None}
        with overridden(**env):  # the kernels inherit them
            for name in names:
                bar.set_postfix_str(f"seed {offset}: {name}")
                target = folder / "notebooks" / f"{name}.ipynb"
                try:
                    seconds[f"{offset}/{name}"] = round(execute_notebook(
                        ROOT / "course" / name / f"{name}.ipynb", target, timeout), 1)
                except (CellControlSignal, DeadKernelError, FileNotFoundError) as err:
                    failed.append(f"{offset}/{name}")
                    tqdm.write(f"  seed {offset}: {name} FAILED (saved as far as it ran at "
                               f"{target}):\n{str(err)[-1500:]}")
                bar.update(1)
    bar.close()
    return write_record(scratch, offsets, names, failed, seconds)


def _keep_the_others(record: dict, out: Path, names: list[str]) -> dict:
    """``record`` (a rerun of ``names``) with the entries of every other notebook carried over
    from the record at ``out``, when that record has the same seed offsets: rerunning one
    notebook's seeds (``make seeds ASSIGNMENTS=07_score_models``) keeps the others' spreads."""
    if not out.exists():
        return record
    old = json.loads(out.read_text())
    if old.get("seed_offsets") != record["seed_offsets"]:
        print(f"{out.name} had seeds {old.get('seed_offsets')}; replaced, not merged")
        return record
    kept = [n for n in old.get("values", {}) if n not in names]
    mine = set(names)
    for key in ("values", "committed_runs"):
        record[key] = {**{n: old[key][n] for n in kept if n in old.get(key, {})}, **record[key]}
    record["scratch"] = {**{n: p for n, p in old.get("scratch", {}).items() if n in kept},
                         **record["scratch"]}
    record["seconds"] = {**{k: v for k, v in old.get("seconds", {}).items()
                            if k.split("/", 1)[-1] not in mine}, **record["seconds"]}
    record["failed"] = sorted({f for f in old.get("failed", []) if f.split("/", 1)[-1] not in mine}
                              | set(record["failed"]))
    return record


def write_record(scratch: Path, offsets: list[int], names: list[str], failed: list[str],
                 seconds: dict) -> int:
    """``results/seeds.json`` from the committed results (seed 0) and each seed's results
    folder under ``scratch``; a process exit code (1 when some notebook failed)."""
    committed = {n: json.loads((results_dir() / f"{n}.json").read_text())
                 for n in names if (results_dir() / f"{n}.json").exists()}
    results = {0: {n: numbers(r) for n, r in committed.items()}}
    for offset in offsets:
        folder = scratch / f"seed{offset}" / "results"
        results[offset] = {n: numbers(json.loads((folder / f"{n}.json").read_text()))
                           for n in names if (folder / f"{n}.json").exists()
                           and f"{offset}/{n}" not in failed}
    record = {"seed_offsets": [0, *offsets], "profile": "quick",
              "note": "seed offset 0 is the committed run (results/); the others reran the "
                      "reference notebooks with EBM_COURSE_SEED_OFFSET, 03's ablations off",
              "committed_runs": {n: r.get("run", {}).get("id") for n, r in committed.items()},
              "seconds": seconds, "failed": failed, "scratch": {n: str(scratch) for n in names},
              "run": run_metadata(),
              "values": {n: spread({s: results[s].get(n, {}) for s in results})
                         for n in names}}
    out = results_dir() / "seeds.json"
    record = _keep_the_others(record, out, names)
    out.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    changes = [f"{n}/{k}" for n, values in record["values"].items()
               for k, v in values.items() if v["sign_changes"]]
    print(f"seeds {record['seed_offsets']}: {len(names)} notebooks, {len(failed)} failed; "
          f"{len(changes)} numbers change sign across seeds; wrote {out}")
    return 1 if failed else 0
