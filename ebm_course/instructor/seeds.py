"""``make seeds`` (``ebm-course seeds``): how far each notebook's numbers hold across seeds.

A notebook draws its conclusions from one quick run. This reruns the reference notebooks that
train (02-06) in the ``quick`` profile with ``EBM_COURSE_SEED_OFFSET`` = 1, 2, ... (every
profile's seed moves: network initialisation, data order and subsets, chains), each seed in its
own scratch data root and results folder (``build.scratch_data_root``: shared MNIST, glyphs and
judges; its own exports, so 05 and 06 read the 03 and 04 models of the same seed), with 03's
section-7 ablations off. Seed offset 0 is the committed run (``results/``).

``results/seeds.json`` holds, per assignment, every number its results file holds (nested keys
joined by ``/``) with the value of each seed, mean, min, max, and ``sign_changes`` where the
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
               "06_sampling_likelihood")
SKIP = {"run", "config", "profile", "device", "data", "models", "timings_s", "machine"}


def numbers(results: dict, prefix: str = "") -> dict[str, float]:
    """Every finite number of a results file, nested keys joined by ``/`` (bookkeeping keys
    such as ``run`` and ``config``, and booleans, left out)."""
    out = {}
    for key, value in results.items():
        if not prefix and key in SKIP:
            continue
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(numbers(value, path + "/"))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            if math.isfinite(value):
                out[path] = value
    return out


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
    """Rerun ``names`` (default: 02-06) for each seed offset and write ``results/seeds.json``
    (seed 0 read from the committed results). Returns a process exit code."""
    from nbclient.exceptions import CellControlSignal, DeadKernelError

    from .build import execute_notebook, scratch_data_root

    names = list(names or ASSIGNMENTS)
    scratch = Path(tempfile.mkdtemp(prefix="ebm_seeds_"))
    results = {0: {n: numbers(json.loads((results_dir() / f"{n}.json").read_text()))
                   for n in names if (results_dir() / f"{n}.json").exists()}}
    failed, seconds = [], {}
    bar = tqdm(total=len(offsets) * len(names), desc="seeds", unit="notebook")
    for offset in offsets:
        folder = scratch / f"seed{offset}"
        data = scratch_data_root(folder / "data", data_root())
        env = {"EBM_COURSE_PROFILE": "quick", "EBM_COURSE_SEED_OFFSET": str(offset),
               "EBM_COURSE_DATA": str(data), "EBM_COURSE_RESULTS": str(folder / "results"),
               "EBM_COURSE_ABLATION_STEPS": "0", "EBM_COURSE_STEP_CAP": None}
        results[offset] = {}
        with overridden(**env):  # the kernels inherit them
            for name in names:
                bar.set_postfix_str(f"seed {offset}: {name}")
                target = folder / "notebooks" / f"{name}.ipynb"
                try:
                    seconds[f"{offset}/{name}"] = round(execute_notebook(
                        ROOT / "course" / name / f"{name}.ipynb", target, timeout), 1)
                    file = folder / "results" / f"{name}.json"
                    results[offset][name] = numbers(json.loads(file.read_text()))
                except (CellControlSignal, DeadKernelError, FileNotFoundError) as err:
                    failed.append(f"{offset}/{name}")
                    tqdm.write(f"  seed {offset}: {name} FAILED (saved as far as it ran at "
                               f"{target}):\n{str(err)[-1500:]}")
                bar.update(1)
    bar.close()
    record = {"seed_offsets": [0, *offsets], "profile": "quick",
              "note": "seed offset 0 is the committed run (results/); the others reran the "
                      "reference notebooks with EBM_COURSE_SEED_OFFSET, 03's ablations off",
              "seconds": seconds, "failed": failed, "scratch": str(scratch), "run": run_metadata(),
              "values": {n: spread({s: results[s].get(n, {}) for s in results})
                         for n in names}}
    out = results_dir() / "seeds.json"
    out.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    changes = [f"{n}/{k}" for n, values in record["values"].items()
               for k, v in values.items() if v["sign_changes"]]
    print(f"seeds {record['seed_offsets']}: {len(names)} notebooks, {len(failed)} failed; "
          f"{len(changes)} numbers change sign across seeds; wrote {out}")
    return 1 if failed else 0
