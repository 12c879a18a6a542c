"""Time to quality: assignment 3's EBM and the tutorial's, each trained for the same wall clock.

Both train on MNIST (all 60,000 training digits, batch 128, the same seed) for ``--budget``
seconds of wall time, validation off, through ``pytorch_lightning.Trainer(max_time=...)``:

* **course**: ``DeepEnergyModel`` with assignment 3's reference pieces (CNN, replay-buffer
  sampler, SGLD step, loss) and the ``quick`` profile's settings (``mnist_ebm_config``);
* **tutorial**: the UvA tutorial 8 model and training step as it is written (``tutorial.py``).

Then, outside the budget, each model is judged the same way:

* **fresh samples**: ``--samples`` chains from uniform noise, ``--gen-steps`` (256) SGLD steps with the model's own
  sampler settings, scored by the course's MNIST classifier (``ebm_course.metrics``): Inception
  Score, classes present among confident samples, Frechet distance to real test digits;
* **AUROC against flipped digits**: -E of 1,000 test digits against the same digits flipped
  left-right (same ink, other shape: a pure shape test).

    python benchmarks/train_time.py [--budget 240] [--samples 256] [--only course|tutorial]
    (or: make bench-train BUDGET=240)

Writes ``results/bench_train.json``; the last line printed is
``course: AUROC flipped X, IS Y | tutorial: AUROC flipped X, IS Y``. Wall-clock budgets depend on
what else runs: the JSON keeps the 1-minute load average before each run and the iterations done.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import pytorch_lightning as pl
import torch
from overrides import parse_overrides
from sklearn.metrics import roc_auc_score
from tutorial import TutorialEBM, TutorialSampler

from ebm_course import config, data, metrics
from ebm_course.ebm import DeepEnergyModel, EBMConfig, make_sampler, mnist_ebm_config
from ebm_course.instructor.assignments.mnist_ebm.reference import (
    CNNEnergy,
    MCMCSampler,
    ebm_loss,
    langevin_step,
)
from ebm_course.results import results_dir
from ebm_course.sampling import langevin_chain


def course_model(seed: int, gen_steps: int, overrides: dict | None = None):
    """Assignment 3 as the quick profile trains it (with ``overrides`` of its settings, for
    recipe experiments); its -E and its fresh-sample generator."""
    cfg = replace(mnist_ebm_config("quick"), **(overrides or {}))
    sampler = make_sampler(replace(cfg, seed=seed), langevin_step, MCMCSampler)
    model = DeepEnergyModel(cfg, net=CNNEnergy(1, 28, cfg.hidden), sampler=sampler,
                            loss_fn=ebm_loss)

    def neg_energy(x):
        return model.net(x)

    def generate(n, generator):
        x0 = torch.rand(n, 1, 28, 28, generator=generator) * 2 - 1
        energy = lambda x: -model.net(x)  # noqa: E731
        return langevin_chain(energy, x0, gen_steps, cfg.step_size, cfg.noise_std,
                              cfg.grad_clip, (-1.0, 1.0), step_fn=langevin_step)
    return model, neg_energy, generate, cfg.batch_size


def tutorial_model(seed: int, gen_steps: int, overrides: dict | None = None):
    """The tutorial's model; its fresh samples come from its own ``generate_samples``."""
    if overrides:
        raise ValueError("--set changes the course's settings only")
    model = TutorialEBM()

    def neg_energy(x):
        return model.cnn(x)

    def generate(n, generator):
        x0 = torch.rand(n, 1, 28, 28, generator=generator) * 2 - 1
        return TutorialSampler.generate_samples(model.cnn, x0, steps=gen_steps, step_size=10)
    return model, neg_energy, generate, 128


def run(which: str, budget: float, n_samples: int, seed: int, classifier,
        gen_steps: int = 256, overrides: dict | None = None, steps: int | None = None) -> dict:
    pl.seed_everything(seed, workers=True, verbose=False)
    model, neg_energy, generate, batch_size = {"course": course_model, "tutorial": tutorial_model
                                               }[which](seed, gen_steps, overrides)
    train_loader, _ = data.mnist_loaders(batch_size, None, 1, seed)
    limit = {"max_steps": steps} if steps else {"max_time": {"seconds": budget}}
    trainer = pl.Trainer(**limit, max_epochs=-1, accelerator="cpu",
                         devices=1, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, limit_val_batches=0,
                         enable_model_summary=False, gradient_clip_val=0.1)
    load = os.getloadavg()[0]
    start = time.perf_counter()
    trainer.fit(model, train_loader)
    seconds = time.perf_counter() - start
    model.eval()
    x_test = data.load_mnist_family("MNIST", train=False).tensors[0]
    x_id = x_test[:1000]
    with torch.no_grad():
        s_id = neg_energy(x_id).flatten()
        s_flip = neg_energy(torch.flip(x_id, dims=[3])).flatten()
    auroc = float(roc_auc_score([1] * len(s_id) + [0] * len(s_flip),
                                torch.cat([s_id, s_flip]).numpy()))
    samples = generate(n_samples, torch.Generator().manual_seed(seed)).detach()
    quality = metrics.sample_quality(classifier, samples, x_test[1000:3000])
    return {"train_seconds": round(seconds, 1), "iterations": int(trainer.global_step),
            "load_average_1min_before": round(load, 2),
            "auroc_vs_flipped": round(auroc, 4),
            "inception_score": round(quality["inception_score"], 3),
            "classes_present": quality["classes_present"],
            "confident_share": round(quality["confident_share"], 3),
            "frechet_distance": round(quality["frechet_distance"], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=240.0, help="seconds of training each")
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=("course", "tutorial"), default=None)
    parser.add_argument("--gen-steps", type=int, default=256, help="SGLD steps of fresh samples")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="change one of the course's quick settings (EBMConfig), repeatable")
    parser.add_argument("--steps", type=int, default=None,
                        help="train this many iterations instead of --budget seconds (recipe "
                             "experiments on a busy machine: count, not wall clock)")
    parser.add_argument("--out", default=None, help="results file (default results/bench_train.json)")
    args = parser.parse_args()
    overrides = parse_overrides(args.set, EBMConfig)
    config.quiet_lightning()
    classifier = metrics.mnist_classifier()
    result = {"budget_seconds": None if args.steps else args.budget, "steps": args.steps,
              "samples": args.samples, "seed": args.seed,
              "threads": torch.get_num_threads(), "generation_steps": args.gen_steps,
              **({"course_overrides": overrides} if overrides else {})}
    for which in ([args.only] if args.only else ["course", "tutorial"]):
        print(f"training {which} for "
              + (f"{args.steps} iterations" if args.steps else f"{args.budget:.0f} s") + " ...",
              flush=True)
        result[which] = run(which, args.budget, args.samples, args.seed, classifier,
                            args.gen_steps, overrides if which == "course" else None,
                            args.steps)
        print(f"  {which}: {result[which]}", flush=True)
    out = Path(args.out) if args.out else results_dir() / "bench_train.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print("wrote", out)
    print(" | ".join(f"{w}: AUROC flipped {result[w]['auroc_vs_flipped']:.3f}, "
                     f"IS {result[w]['inception_score']:.2f}, "
                     f"{result[w]['iterations']} iterations"
                     for w in ("course", "tutorial") if w in result))


if __name__ == "__main__":
    main()
