"""Two 03 trainings on one machine at once: the rate each keeps against one alone.

Runs assignment 3's quick-profile training (the reference pieces, as ``train_time.py`` builds
it) in separate processes for ``--seconds`` of wall time each and measures training iterations per
second after a short warm-up:

* **solo**: one run alone, threads fitted (every CPU this process may use);
* **pair, fitted**: two runs at once, each sharing the CPUs with the other
  (:mod:`ebm_course.threads`: the course's default);
* **pair, torch default**: two runs at once, each with ``OMP_NUM_THREADS`` = every CPU (what
  torch does on its own: one thread per core in every process).

    python benchmarks/contention.py [--seconds 45] [--runs 2]   (or: make bench-contention)

Writes ``results/bench_contention.json`` (rates, each pair run's share of the solo rate, threads
each run ended with, the machine); the last line printed is ``fitted: X% of solo each | torch
default: Y%``. Run it on a quiet machine: other work on the cores is not counted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WARM_UP = 5  # iterations before the clock starts (data loading, first allocations)


def worker(seconds: float) -> None:
    """One training run; prints a JSON line with its rate."""
    import pytorch_lightning as pl
    import torch
    from train_time import course_model

    from ebm_course import config, data

    config.quiet_lightning()

    class Rate(pl.Callback):
        def __init__(self):
            self.start, self.threads = None, []

        def on_train_batch_start(self, trainer, *args):
            if trainer.global_step == WARM_UP:
                self.start = time.perf_counter()

        def on_train_batch_end(self, trainer, *args):
            self.threads.append(torch.get_num_threads())

        def on_train_end(self, trainer, *args):
            if self.start is None:
                raise SystemExit(f"--seconds too short: fewer than {WARM_UP + 1} iterations")
            self.rate = (trainer.global_step - WARM_UP) / (time.perf_counter() - self.start)

    pl.seed_everything(0, verbose=False)
    model, *_ = course_model(0, 1)
    loader, _ = data.mnist_loaders(128, None, 1, 0)
    rate = Rate()
    trainer = pl.Trainer(max_time={"seconds": seconds}, max_epochs=-1, accelerator="cpu",
                         devices=1, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, limit_val_batches=0,
                         enable_model_summary=False, gradient_clip_val=0.1, callbacks=[rate])
    trainer.fit(model, loader)
    print(json.dumps({"iterations_per_s": round(rate.rate, 3), "iterations": trainer.global_step,
                      "threads_min": min(rate.threads), "threads_max": max(rate.threads)}))


def launch(n: int, seconds: float, env_changes: dict) -> list[dict]:
    """``n`` workers started together; their JSON lines."""
    from ebm_course import settings

    env = settings.environment(**env_changes)
    procs = [subprocess.Popen([sys.executable, __file__, "--worker", "--seconds", str(seconds)],
                              cwd=HERE, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True) for _ in range(n)]
    out = []
    for proc in procs:
        stdout, _ = proc.communicate()
        if proc.returncode:
            raise SystemExit(f"a training run failed (exit {proc.returncode})")
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=45.0, help="wall time of each run")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help="results file (default results/bench_contention.json)")
    args = parser.parse_args()
    if args.worker:
        worker(args.seconds)
        return

    from ebm_course.results import machine_metadata, results_dir
    from ebm_course.threads import cpu_budget

    cpus = cpu_budget()
    cases = {"solo": (1, {"OMP_NUM_THREADS": None}),
             "pair_fitted": (2, {"OMP_NUM_THREADS": None}),
             "pair_torch_default": (2, {"OMP_NUM_THREADS": str(cpus)})}
    result = {"seconds_each": args.seconds, "warm_up_iterations": WARM_UP,
              "machine": machine_metadata()}
    for name, (n, env) in cases.items():
        print(f"{name}: {n} run(s) of {args.seconds:.0f} s ...", flush=True)
        result[name] = launch(n, args.seconds, env)
        print("  ", result[name], flush=True)
    solo = result["solo"][0]["iterations_per_s"]
    for name in ("pair_fitted", "pair_torch_default"):
        result[f"{name}_share_of_solo"] = [round(r["iterations_per_s"] / solo, 3)
                                           for r in result[name]]
    out = Path(args.out) if args.out else results_dir() / "bench_contention.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print("wrote", out)
    fitted = min(result["pair_fitted_share_of_solo"])
    default = min(result["pair_torch_default_share_of_solo"])
    print(f"fitted: {fitted:.0%} of solo each (at least) | torch default: {default:.0%}")


if __name__ == "__main__":
    main()
