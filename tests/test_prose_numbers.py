"""The numbers the notebooks' prose quotes from the quick reference runs agree with ``results/``.

A rerun changes the results files; the prose does not follow by itself. (06's model answer once
quoted an R-hat "near 6" after a rerun had made it 8, and a class collapse of a model two recipes
old.) Each claim below names the words as the notebook source has them and the results value
they quote, so whoever commits a rerun of a notebook also updates its text: this test fails until
the words and the file agree again.

A number written with k decimals must be the value rounded to k decimals (within half a unit of
the last digit); words like "about" or "near" get an explicit tolerance.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Claim:
    notebook: str                      # course/src/<notebook>.py
    quote: str                         # words of its markdown, as written (line breaks ignored)
    number: str                        # the number inside ``quote`` that is checked
    results: str                       # results/<results>.json
    value: Callable[[dict], float]     # the quoted quantity, read from that file
    tol: float | None = None           # None: the number is the value rounded as written

    def bounds(self) -> tuple[float, float]:
        x = float(self.number)
        if self.tol is not None:
            return x - self.tol, x + self.tol
        decimals = len(self.number.split(".")[1]) if "." in self.number else 0
        half = 0.5 * 10.0 ** -decimals + 1e-12
        return x - half, x + half


def _quoted(notebook: str, quote: str, results: str, *numbers: tuple) -> list[Claim]:
    """One claim per number of a quote: ``(number, value)`` or ``(number, value, tol)``."""
    return [Claim(notebook, quote, number, results, *rest) for number, *rest in numbers]


def _ablation(name: str, key: str) -> Callable[[dict], float]:
    return lambda r: r["ablations"][name][key]


def _toy(density: str, method: str) -> Callable[[dict], float]:
    return lambda r: r["equal_budget"]["test_nll"][density][method]


def _calibration(overrides: dict, key: str) -> Callable[[dict], float]:
    """``key`` of the newest calibration run with exactly these settings changed."""
    def value(r: dict) -> float:
        runs = [run for run in r["runs"] if run["overrides"] == overrides]
        assert runs, f"results/jem_calibration.jsonl has no run with --set {overrides}"
        return runs[-1][key]
    return value


def _long_run(step: int, key: str) -> Callable[[dict], float]:
    return lambda r: r["long_run"][str(step)][key]


def _ood(table: str, model: str, score: str, ood: str) -> Callable[[dict], float]:
    return lambda r: r[table][model][score][ood]["auroc"]


def _mnist_ood(model: str, score: str, ood: str) -> Callable[[dict], float]:
    return _ood("mnist_ood", model, score, ood)


RECIPE, NO_ALPHA, NO_MOMENTUM, NO_RESTARTS, NO_NOISE = (
    "recipe (same budget)", "no regulariser (alpha 0)", "no momentum (beta1 0)",
    "no restarts (reinit_prob 0)", "no data noise")
M02, M03, M04, M05, M06 = ("02_toy_densities", "03_mnist_ebm", "04_glyph_jem",
                           "05_ood_detection", "06_sampling_likelihood")
CAL = "jem_calibration"  # results/jem_calibration.jsonl: the quick JEM with settings changed

CLAIMS = [
    # 02, section 10 (equal budgets) and Question 2's model answer
    *(Claim(M02, "becomes the best method there (3.11 nats against 3.63 with the wide step, "
            "3.19 for DSM)", number, M02, _toy("spiral", method)) for number, method in (
        ("3.11", "cd, step 0.005"), ("3.63", "cd"), ("3.19", "dsm"))),
    *(Claim(M02, "On the two rings the small step hurts (2.85 against 2.54)", number, M02,
            _toy("two_rings", method)) for number, method in (("2.85", "cd, step 0.005"),
                                                               ("2.54", "cd"))),
    *(Claim(M02, "CD is second on the two rings (2.54 nats, NCE 2.49, DSM 2.58)", number, M02,
            _toy("two_rings", method)) for number, method in (("2.54", "cd"), ("2.49", "nce"),
                                                               ("2.58", "dsm"))),
    *(Claim(M02, "it is best on the spiral (3.11, DSM 3.19, NCE 3.38)", number, M02,
            _toy("spiral", method)) for number, method in (("3.11", "cd, step 0.005"),
                                                            ("3.19", "dsm"), ("3.38", "nce"))),
    # 03, section 5 and the profile note at the top
    Claim(M03, "and fresh samples scored IS 6.5 (Frechet distance 53) instead of 7.9 (22)", "7.9",
          M03, lambda r: r["fresh_inception_score"]),
    Claim(M03, "and fresh samples scored IS 6.5 (Frechet distance 53) instead of 7.9 (22)", "22",
          M03, lambda r: r["fresh_frechet_distance"]),
    Claim(M03, "4.3 of them the main training", "4.3", M03, lambda r: r["train_seconds"] / 60),
    # 03, digits that are a little off
    Claim(M03, "the AUROC of originals against shrunk is only about 0.6", "0.6", M03,
          lambda r: r["auroc_original_vs"]["shrunk to half"], tol=0.05),
    Claim(M03, "(mean $-E$ -0.042 against -0.033 for the originals", "-0.042", M03,
          lambda r: r["mean_neg_energy_shrunk_to_half"]),
    Claim(M03, "(mean $-E$ -0.042 against -0.033 for the originals", "-0.033", M03,
          lambda r: r["mean_neg_energy_original"]),
    # 03, Question 3's model answer (section 7's table)
    *_quoted(M03, "buffer scores IS 4.9 with all 10 classes and AUROC 0.71", M03,
             ("4.9", _ablation(RECIPE, "buffer_inception_score")),
             ("10", _ablation(RECIPE, "buffer_classes_present")),
             ("0.71", _ablation(RECIPE, "auroc_vs_flipped"))),
    *_quoted(M03, r"$|E| \approx 8.6$ (0.09 with it)", M03,
             ("8.6", _ablation(NO_ALPHA, "mean_abs_energy_data")),
             ("0.09", _ablation(RECIPE, "mean_abs_energy_data"))),
    *_quoted(M03, "Its samples are not worse yet (IS 5.0)", M03,
             ("5.0", _ablation(NO_ALPHA, "buffer_inception_score"))),
    *_quoted(M03, "the buffer fell to IS 4.3 with 8 classes and the flip AUROC to 0.61", M03,
             ("4.3", _ablation(NO_MOMENTUM, "buffer_inception_score")),
             ("8", _ablation(NO_MOMENTUM, "buffer_classes_present")),
             ("0.61", _ablation(NO_MOMENTUM, "auroc_vs_flipped"))),
    *_quoted(M03, "a similar IS (4.7) and a slightly lower AUROC (0.68)", M03,
             ("4.7", _ablation(NO_RESTARTS, "buffer_inception_score")),
             ("0.68", _ablation(NO_RESTARTS, "auroc_vs_flipped"))),
    *_quoted(M03, "(0.724 against 0.746)", M03,
             ("0.724", _ablation(NO_RESTARTS, "buffer_diversity")),
             ("0.746", _ablation(RECIPE, "buffer_diversity"))),
    *_quoted(M03, "(IS 4.8, 9 classes, AUROC 0.69)", M03,
             ("4.8", _ablation(NO_NOISE, "buffer_inception_score")),
             ("9", _ablation(NO_NOISE, "buffer_classes_present")),
             ("0.69", _ablation(NO_NOISE, "auroc_vs_flipped"))),
    # 04, Question 4's model answer (the long run) and Question 5's (calibration)
    *(Claim(M04, "(-8.3 at K = 16, -10.2 at 64, -11.9 at 512)", number, M04,
            _long_run(step, "energy_mean")) for number, step in (("-8.3", 16), ("-10.2", 64),
                                                                  ("-11.9", 512))),
    Claim(M04, "start at the test glyphs' energy (mean -5.7 against", "-5.7", M04,
          _long_run(0, "energy_mean")),
    *(Claim(M04, "best at K = 16 (0.86) and grows to 4.5 at $t = 64$, 14 at 256 and 22 at 512",
            number, M04, _long_run(step, "frechet_ratio_to_real"))
      for number, step in (("0.86", 16), ("4.5", 64), ("14", 256), ("22", 512))),
    Claim(M04, "The gradient size falls from 0.55 (as at real glyphs)", "0.55", M04,
          _long_run(0, "grad_norm_mean")),
    Claim(M04, "about 0.27 by $t = 64$", "0.27", M04, _long_run(64, "grad_norm_mean"), tol=0.01),
    Claim(M04, "(ECE about 0.01 against about 0.2 for JEM)", "0.01", M04,
          lambda r: r["calibration_ece"]["classifier"], tol=0.005),
    Claim(M04, "(ECE about 0.01 against about 0.2 for JEM)", "0.2", M04,
          lambda r: r["calibration_ece"]["JEM"], tol=0.03),
    # 04, Question 5's model answer: the calibration experiments (benchmarks/jem_calibration.py)
    Claim(M04, "is about 6 on test glyphs against about 22 for a classifier trained as long", "6",
          CAL, _calibration({}, "mean_neg_energy_test"), tol=0.5),
    Claim(M04, "is about 6 on test glyphs against about 22 for a classifier trained as long", "22",
          CAL, _calibration({"px_weight": 0.0}, "mean_neg_energy_test"), tol=1.0),
    Claim(M04, "the mean margin between the top two logits about 2.4 (8.5 for", "2.4", CAL,
          _calibration({}, "mean_top2_margin"), tol=0.05),
    Claim(M04, "the mean margin between the top two logits about 2.4 (8.5 for", "8.5", CAL,
          _calibration({"px_weight": 0.0}, "mean_top2_margin"), tol=0.05),
    Claim(M04, "`alpha = 0` gives ECE 0.17 and `alpha = 0.001` 0.18", "0.17", CAL,
          _calibration({"alpha": 0.0}, "ece")),
    Claim(M04, "`alpha = 0` gives ECE 0.17 and `alpha = 0.001` 0.18", "0.18", CAL,
          _calibration({"alpha": 0.001}, "ece")),
    Claim(M04, "10 or 20 SGLD steps per iteration give 0.23 and 0.24", "0.23", CAL,
          _calibration({"n_steps": 10}, "ece")),
    Claim(M04, "10 or 20 SGLD steps per iteration give 0.23 and 0.24", "0.24", CAL,
          _calibration({"n_steps": 20}, "ece")),
    Claim(M04, "half the weight on $\\log p(x)$ gives 0.16", "0.16", CAL,
          _calibration({"px_weight": 0.05}, "ece")),
    Claim(M04, "(logits multiplied by about 3) brings JEM's ECE to 0.004", "3", CAL,
          lambda r: 1.0 / _calibration({}, "validation_temperature")(r), tol=0.5),
    Claim(M04, "(logits multiplied by about 3) brings JEM's ECE to 0.004", "0.004", CAL,
          _calibration({}, "ece_after_temperature")),
    # 05, Question 1's model answer (glyph OOD) and the corrected scores
    *(Claim(M05, quote, number, M05, _ood("glyph_ood", model, score, ood))
      for quote, number, model, score, ood in (
        ("its energy reaches AUROC 0.87 on MNIST", "0.87", "JEM", "energy", "MNIST"),
        ("its max-softmax 0.91 on unseen classes and 0.87 on MNIST", "0.91", "JEM", "max-softmax",
         "unseen classes"),
        ("its max-softmax 0.91 on unseen classes and 0.87 on MNIST", "0.87", "JEM", "max-softmax",
         "MNIST"),
        ("against 0.89 and 0.73 for the classifier's max-softmax", "0.89", "classifier",
         "max-softmax", "unseen classes"),
        ("against 0.89 and 0.73 for the classifier's max-softmax", "0.73", "classifier",
         "max-softmax", "MNIST"),
        ("(MNIST 0.87 against 0.40:", "0.40", "classifier", "energy", "MNIST"),
        ("JEM's energy gives 0.46 and the classifier's 0.19", "0.46", "JEM", "energy",
         "sans-serif"),
        ("JEM's energy gives 0.46 and the classifier's 0.19", "0.19", "classifier", "energy",
         "sans-serif"))),
    Claim(M05, "max-softmax (0.80 against 0.91)", "0.80", M05,
          _ood("glyph_ood_corrected", "JEM", "typicality of (-E, L)", "unseen classes")),
    # 05, reading the MNIST table
    Claim(M05, "separates them only partly (AUROC about 0.78", "0.78", M05,
          _mnist_ood("03 EBM", "energy", "MNIST-flipped"), tol=0.02),
    Claim(M05, "the classifier's max-softmax better (about 0.89)", "0.89", M05,
          _mnist_ood("MNIST classifier", "max-softmax", "MNIST-flipped"), tol=0.02),
    Claim(M05, "about 0.97 on scikit-learn's digits (the classifier's max-softmax: 0.95)", "0.97",
          M05, _mnist_ood("03 EBM", "grad-norm", "sklearn-digits-8x8"), tol=0.02),
    Claim(M05, "about 0.97 on scikit-learn's digits (the classifier's max-softmax: 0.95)", "0.95",
          M05, _mnist_ood("MNIST classifier", "max-softmax", "sklearn-digits-8x8")),
    Claim(M05, "0.84 on the rotated ones (its own energy: 0.78; max-softmax: 0.89)", "0.84", M05,
          _mnist_ood("03 EBM", "grad-norm", "MNIST-flipped")),
    # 06, Question 1's model answer and the AIS caveats
    Claim(M06, "R-hat is far above 1.01 (about 2)", "2", M06,
          lambda r: min(r["diagnostics"][f"mixture/{s}"]["rhat"] for s in ("ULA", "MALA", "HMC")),
          tol=0.5),
    Claim(M06, "the circle (R-hat about 1.01, an ESS in the hundreds", "1.01", M06,
          lambda r: r["diagnostics"]["ring/HMC"]["rhat"], tol=0.01),
    Claim(M06, "(median about -0.015 against 0.026)", "-0.015", M06,
          lambda r: r["mnist_chains"]["energy_after_long_run"]),
    Claim(M06, "(median about -0.015 against 0.026)", "0.026", M06,
          lambda r: r["mnist_chains"]["energy_data_median"]),
    Claim(M06, "the class mix moves only a little (\"1\" 0.19", "0.19", M06,
          lambda r: r["mnist_chains"]["top_digit_share_after_long_run"]),
    Claim(M06, "give an R-hat of about 11 with an ESS near 40", "11", M06,
          lambda r: r["mnist_chains"]["rhat_energy_second_half"], tol=1.0),
    Claim(M06, "give an R-hat of about 11 with an ESS near 40", "40", M06,
          lambda r: r["mnist_chains"]["ess_energy_second_half"], tol=5.0),
    Claim(M06, "energy gap between noise and digits (about 24 nats in the quick profile)", "24",
          M03, lambda r: r["mean_neg_energy_test"] - r["mean_neg_energy_noise"], tol=1.0),
]


def _prose(notebook: str) -> str:
    """The markdown of a notebook source, comment markers dropped and whitespace collapsed."""
    lines = (ROOT / "course" / "src" / f"{notebook}.py").read_text().splitlines()
    text = " ".join(re.sub(r"^#\s?", "", line) for line in lines if line.startswith("#"))
    return " ".join(text.split())


def _results(name: str) -> dict:
    """A results JSON; a JSON-lines file (one run a line) as ``{"profile", "runs"}``."""
    lines = ROOT / "results" / f"{name}.jsonl"
    if lines.exists():
        return {"profile": "quick", "runs": [json.loads(line) for line in
                                             lines.read_text().splitlines() if line.strip()]}
    return json.loads((ROOT / "results" / f"{name}.json").read_text())


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: f"{c.notebook}:{c.number}:{c.quote[:40]}")
def test_the_prose_quotes_the_committed_results(claim):
    assert claim.number in claim.quote, "the claim's number must be part of its quote"
    assert claim.quote in _prose(claim.notebook), (
        f"{claim.notebook}: the text no longer says {claim.quote!r}: update this claim with it")
    results = _results(claim.results)
    if results.get("profile") != "quick":
        pytest.skip(f"results/{claim.results}.json is from the {results.get('profile')} profile; "
                    "the prose quotes the quick one")
    value = float(claim.value(results))
    low, high = claim.bounds()
    assert low <= value <= high, (
        f"{claim.notebook} says {claim.number} ({claim.quote!r}) but results/{claim.results}.json "
        f"has {value:.4g}: rerun and text disagree; update the text (and this claim)")


def test_a_claim_that_misquotes_its_results_is_caught():
    """The check is not vacuous: the same quote with a value moved by one unit fails."""
    claim = CLAIMS[0]
    wrong = Claim(claim.notebook, claim.quote, claim.number, claim.results,
                  lambda r: claim.value(r) + 0.1)
    low, high = wrong.bounds()
    assert not low <= float(wrong.value(_results(wrong.results))) <= high
