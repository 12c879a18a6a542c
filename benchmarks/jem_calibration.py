"""Calibration of assignment 4's JEM: which setting makes it under-confident?

Trains the JEM of notebook 4 (the ``quick`` profile's recipe, the reference pieces and the
notebook's own given code: ``GlyphCNN``, ``sgld_step``, ``GlyphSampler`` with class-Gaussian
chain starts) with some settings changed, then reports on the glyph test set:

* test accuracy, expected calibration error (15 bins), mean confidence;
* the size of the logits: mean ``-E(x) = logsumexp f(x)`` and the mean margin between the top
  two logits;
* the temperature ``T`` (a grid) that minimises the validation cross-entropy of ``f(x) / T``,
  and the test ECE after it: if one factor removes most of the ECE, the logits are shrunk (or
  inflated), not misordered;
* optionally (``--judge``) the glyph judge's Inception Score, classes and Frechet ratio of 512
  samples (K = 16 SGLD steps from the class Gaussians, as notebook 4 measures them).

    python benchmarks/jem_calibration.py [--set alpha=0 --set px_weight=0.05 ...] [--judge]
        [--out results/jem_calibration.jsonl]

Appends one JSON line per run to ``--out`` and prints it; the classifier of the same budget is
``--set px_weight=0``.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F
from overrides import parse_overrides

from ebm_course import config, metrics
from ebm_course import glyphs as glyph_data
from ebm_course.instructor.assignments.glyph_jem import given as given04
from ebm_course.instructor.assignments.glyph_jem import reference as ref04
from ebm_course.jem import (
    JEM,
    JEMConfig,
    fit_class_gaussians,
    fit_jem,
    jem_config,
    make_net,
    make_sampler,
    predict_logits,
)
from ebm_course.models import energy_fn_of
from ebm_course.results import results_dir
from ebm_course.sampling import sampling_mode

TEMPERATURES = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.5, 2.0, 3.0)


def notebook_pieces(cfg: JEMConfig, glyphs):
    """Notebook 4's network class, SGLD step and sampler (its given code, from its unit's
    ``given.py``; the graded parts from the reference), and the fitted class Gaussians."""
    x_train, y_train = glyphs.dataset("train").tensors
    gaussians = fit_class_gaussians(x_train, y_train, len(glyphs.classes), cfg.init_rank)
    glyph_cnn, sgld_step, sampler_cls = given04.GlyphCNN, given04.sgld_step, given04.GlyphSampler
    sampler = make_sampler(cfg, step_fn=sgld_step, sampler_cls=sampler_cls,
                           class_gaussians=gaussians)
    return glyph_cnn, sgld_step, sampler, gaussians


def best_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The grid temperature with the lowest cross-entropy of ``logits / T``."""
    return min(TEMPERATURES, key=lambda t: F.cross_entropy(logits / t, labels).item())


def judge_samples(net, glyphs, gaussians, sgld_step, cfg: JEMConfig, n: int = 512,
                  k: int = 16) -> dict:
    """The glyph judge on ``n`` samples, ``k`` SGLD steps from the class Gaussians."""
    judge = metrics.glyph_classifier(glyphs)
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    y = torch.randint(len(glyphs.classes), (n,), generator=gen)
    x = ref04.class_gaussian_init(n, gaussians.means, gaussians.factors, gen, y)
    x = x.clamp(-1, 1).view(n, 1, cfg.image_size, cfg.image_size)
    torch.manual_seed(cfg.seed + 1)
    with sampling_mode(net):
        energy_fn = energy_fn_of(net)
        for _ in range(k):
            x = sgld_step(energy_fn, x, cfg.step_size, cfg.noise_std, None, (-1.0, 1.0))
    real = glyphs.dataset("test", n=2 * n).tensors[0]
    ours = metrics.sample_quality(judge, x, real[n:])
    reference = metrics.sample_quality(judge, real[:n], real[n:])
    return {"judge_inception_score": round(ours["inception_score"], 2),
            "judge_classes_present": ours["classes_present"],
            "frechet_ratio_to_real": round(ours["frechet_distance"]
                                           / reference["frechet_distance"], 2)}


def run(overrides: dict, judge: bool) -> dict:
    cfg = replace(jem_config("quick"), **overrides)
    glyphs = glyph_data.glyphs_for_profile("quick")
    config.seed_everything(cfg.seed)
    glyph_cnn, sgld_step, sampler, gaussians = notebook_pieces(cfg, glyphs)
    model = JEM(cfg, net=make_net(cfg, glyph_cnn), sampler=sampler, px_step_fn=ref04.px_step,
                pyx_step_fn=ref04.pyx_step, step_fn=ref04.jem_step)
    start = time.perf_counter()
    fit_jem(cfg, glyphs, model, enable_progress_bar=False)
    seconds = time.perf_counter() - start
    net = model.net.eval()
    x_test, y_test = glyphs.dataset("test").tensors
    x_val, y_val = glyphs.dataset("val").tensors
    logits = predict_logits(net, x_test)
    probs = logits.softmax(1)
    top2 = logits.topk(2, dim=1).values
    temperature = best_temperature(predict_logits(net, x_val), y_val)
    out = {"overrides": overrides, "train_seconds": round(seconds, 1),
           "test_accuracy": round((probs.argmax(1) == y_test).float().mean().item(), 4),
           "ece": round(ref04.expected_calibration_error(probs, y_test, 15), 4),
           "mean_confidence": round(probs.max(1).values.mean().item(), 4),
           "mean_neg_energy_test": round(logits.logsumexp(1).mean().item(), 2),
           "mean_top2_margin": round((top2[:, 0] - top2[:, 1]).mean().item(), 2),
           "validation_temperature": temperature,
           "ece_after_temperature": round(ref04.expected_calibration_error(
               (logits / temperature).softmax(1), y_test, 15), 4)}
    if judge:
        out.update(judge_samples(net, glyphs, gaussians, sgld_step, cfg))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="change one of the quick JEM settings (JEMConfig), repeatable")
    parser.add_argument("--judge", action="store_true", help="also judge 512 samples")
    parser.add_argument("--out", default=None,
                        help="JSON-lines file to append to (default results/jem_calibration.jsonl)")
    args = parser.parse_args()
    config.quiet_lightning()
    result = run(parse_overrides(args.set, JEMConfig), args.judge)
    out = Path(args.out) if args.out else results_dir() / "jem_calibration.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a") as f:
        f.write(json.dumps(result) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
