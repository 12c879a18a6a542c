"""Replay-buffer SGLD: the tutorial's algorithm vs ``ebm_course.sampling.MCMCSampler``.

Same CNN, batch 128, 60 steps, 28x28, on the CPU. The tutorial's version is reproduced as it is
written (UvA DL tutorial 8): the buffer is a Python list of one-image tensors, starts are drawn
with ``random.choices`` and ``torch.cat``, every step calls ``.backward()`` on the input with the
parameters' ``requires_grad`` toggled off and on around the chain, updates go through ``.data``,
and the batch is chunked back into the list. Prints img-steps/s of both and the ratio, and writes
``results/bench_sampler.json``.

``MCMCSampler`` runs twice: ``precision="fp32"`` (same arithmetic as the tutorial) and
``precision="auto"`` (a bfloat16 copy of the network on CPUs with AMX / AVX512-BF16, else
fp32 again), both with the path the notebooks run: assignment 3's buffer policy and its
``langevin_step`` (the reference bodies, ``ebm_course.instructor.assignments.mnist_ebm.reference``) called
step by step. The three are timed round-robin within one run: on a shared machine the absolute
rates swing with the load, their ratio much less. The same network (assignment 3's
``CNNEnergy``) serves both, so only the samplers differ.

    python benchmarks/sampler_speed.py [--repeats 10] [--threads N]     (or: make bench)

The same run also times the limit of one step: one forward plus one input-gradient backward of
the same frozen network (the sampler's channels-last chain copy, in each precision), 60 times on a
batch of 128, with nothing else: no buffer, no clipping, no noise. ``overhead_fp32`` and
``overhead_auto`` say how much slower the sampler is than that limit (0.05: 5%); once it is near
0, the step costs what the network costs and the ratio to the tutorial says how wasteful the
tutorial is, not how fast this sampler could get.

The last line printed is ``ratio: X``: the median over the interleaved rounds of the paired
ratio (notebook path / tutorial, same round), also written to ``results/bench_sampler.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time

import numpy as np
import torch
from tutorial import TutorialSampler

from ebm_course.instructor.assignments.mnist_ebm.reference import (
    CNNEnergy,
    MCMCSampler,
    langevin_step,
)
from ebm_course.results import results_dir
from ebm_course.sampling import (
    chain_energy_fn,
    cpu_has_native_bf16,
    resolve_precision,
    sampling_mode,
)

BATCH, STEPS, STEP_SIZE, NOISE, SHAPE = 128, 60, 10.0, 0.005, (1, 28, 28)


def time_interleaved(fns: dict, repeats: int) -> dict[str, list[float]]:
    """img-steps/s of each sampler, timed round-robin so that a busy machine slows all alike."""
    for fn in fns.values():
        fn()  # warm-up: allocator, thread pool, oneDNN kernels
    rates = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            rates[name].append(BATCH * STEPS / (time.perf_counter() - start))
    return rates


def one_step_limit(net, precision: str):
    """A chain of STEPS bare steps: forward and input gradient of the frozen chain copy."""
    x0 = (torch.rand(BATCH, *SHAPE) * 2 - 1).contiguous(memory_format=torch.channels_last)

    def run():
        with sampling_mode(net):
            energy = chain_energy_fn(net, None, precision, "cpu")
            x = x0
            for _ in range(STEPS):
                x = x.detach().requires_grad_(True)
                (grad,) = torch.autograd.grad(energy(x).sum(), x)
                x = x - 1e-3 * grad
        return x
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    random.seed(0)
    np.random.seed(0)
    net = CNNEnergy(1, 28, 32, 1)
    tutorial = TutorialSampler(net, SHAPE, BATCH)
    samplers = {precision: MCMCSampler(SHAPE, 8192, 0.05, STEPS, STEP_SIZE, NOISE, 0.03, seed=0,
                                       step_fn=langevin_step, precision=precision)
                for precision in ("fp32", "auto")}
    for sampler in samplers.values():
        sampler.sample(net, BATCH)  # fill a batch, as the tutorial's constructor does
    auto = resolve_precision("auto", torch.device("cpu"))
    load_before = os.getloadavg()[0]
    rates = time_interleaved({
        "tutorial": lambda: tutorial.sample_new_exmps(STEPS, STEP_SIZE),
        "ebm_course_fp32": lambda: samplers["fp32"].sample(net, BATCH),
        f"ebm_course_auto_{auto}": lambda: samplers["auto"].sample(net, BATCH),
        "limit_fp32": one_step_limit(net, "fp32"),
        f"limit_{auto}": one_step_limit(net, auto),
    }, args.repeats)
    # The best repeat is the one least disturbed by other processes: on a shared machine it is
    # the statistic that estimates the undisturbed rate; the median is reported beside it.
    best = {name: max(r) for name, r in rates.items()}
    median = {name: statistics.median(r) for name, r in rates.items()}
    ours = f"ebm_course_auto_{auto}"
    result = {"batch": BATCH, "steps": STEPS, "threads": torch.get_num_threads(),
              "cpu_native_bf16": cpu_has_native_bf16(), "auto_precision": auto,
              "timing": f"best of {args.repeats} interleaved repeats",
              "load_average_1min": round(load_before, 2),
              "tutorial_img_steps_per_s": round(best["tutorial"]),
              "ebm_course_img_steps_per_s": round(best[ours]),
              "speedup": round(best[ours] / best["tutorial"], 3),
              "ebm_course_fp32_img_steps_per_s": round(best["ebm_course_fp32"]),
              "speedup_fp32": round(best["ebm_course_fp32"] / best["tutorial"], 3),
              "speedup_median": round(median[ours] / median["tutorial"], 3),
              "limit_fp32_img_steps_per_s": round(best["limit_fp32"]),
              f"limit_{auto}_img_steps_per_s": round(best[f"limit_{auto}"]),
              "overhead_fp32": round(best["limit_fp32"] / best["ebm_course_fp32"] - 1, 3),
              "overhead_auto": round(best[f"limit_{auto}"] / best[ours] - 1, 3),
              # the headline: the median over rounds of the paired ratio, this round's notebook
              # path over this round's tutorial (both timed back to back: load cancels out)
              "ratio": round(statistics.median(
                  a / b for a, b in zip(rates[ours], rates["tutorial"])), 3),
              "all": {name: [round(x) for x in r] for name, r in rates.items()}}
    print(f"load average (1 min) before: {result['load_average_1min']}, "
          f"{result['threads']} threads, {args.repeats} interleaved repeats")
    print(f"{'':22s}  {'best':>8s}  {'median':>8s}  img-steps/s;  speedup best (median)")
    for name in rates:
        print(f"{name:22s}: {best[name]:8.0f}  {median[name]:8.0f}   "
              f"{best[name] / best['tutorial']:5.2f}x ({median[name] / median['tutorial']:.2f}x)")
    print(f"speedup (MCMCSampler, precision=auto -> {auto}): {result['speedup']:.2f}x")
    out = results_dir() / "bench_sampler.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print("wrote", out)
    print(f"ratio: {result['ratio']:.2f}")


if __name__ == "__main__":
    main()
