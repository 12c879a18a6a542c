"""The numbers the prose of 04_glyph_jem quotes, each tied to the results file that holds it
(checked by ``tests/test_prose_numbers.py``; how to write a claim: ``..claims``)."""

from __future__ import annotations

from typing import Callable

from ebm_course.instructor.claims import Claim

M04 = "04_glyph_jem"
CAL = "jem_calibration"


def _calibration(overrides: dict, key: str) -> Callable[[dict], float]:
    """``key`` of the newest calibration run with exactly these settings changed."""
    def value(r: dict) -> float:
        runs = [run for run in r["runs"] if run["overrides"] == overrides]
        assert runs, f"results/jem_calibration.jsonl has no run with --set {overrides}"
        return runs[-1][key]
    return value


def _long_run(step: int, key: str) -> Callable[[dict], float]:
    return lambda r: r["long_run"][str(step)][key]


CLAIMS = [
    # 04, the time note at the top (run times vary from run to run: a quarter either way)
    # (two 2-core CPUs took 1.9 and 2.7 minutes)
    Claim(M04, "about 2.5 minutes for the whole notebook on a 2-core CPU", "2.5", "course_timings",
          lambda r: r["seconds_04_glyph_jem"] / 60, tol=0.7),
    # 04, section 3 (chain starts) and Question 2's model answer
    Claim(M04, "Inception Score of 1.0, the value of a single repeated blob", "1.0", M04,
          lambda r: r["sample_quality"]["K=16 from N(0, 0.1^2) noise"]["inception_score"]),
    Claim(M04, "Gaussian noise of standard deviation 0.1,", "0.1", M04,
          lambda r: r["config"]["init_std"]),
    Claim(M04, "the quick profile's JEM step first runs 5 SGLD steps", "5", M04,
          lambda r: r["config"]["n_steps"]),
    # 04, Question 4's model answer (the long run) and Question 5's (calibration)
    *(Claim(M04, "(-8.3 at K = 16, -10.2 at 64, -11.9 at 512)", number, M04,
            _long_run(step, "energy_mean")) for number, step in (("-8.3", 16), ("-10.2", 64),
                                                                  ("-11.9", 512))),
    Claim(M04, "start at the test glyphs' energy (mean -5.7 against", "-5.7", M04,
          _long_run(0, "energy_mean")),
    # Two CPUs gave 0.86 and 0.89 at K = 16, 21.5 and 21.0 at 512, 1.94 and 2.03 for the
    # 512-sample ratio: the tolerances cover both.
    *(Claim(M04, "lowest at K = 16 (about 0.9) and grows to 4.5 at $t = 64$, 14 at 256 and about "
            "21 at 512", number, M04, _long_run(step, "frechet_ratio_to_real"), tol)
      for number, step, tol in (("0.9", 16, 0.05), ("4.5", 64, None), ("14", 256, None),
                                ("21", 512, 0.6))),
    Claim(M04, "the 512-sample table of section 7 gives about 2 at the same K", "2", M04,
          lambda r: r["headline"]["frechet_ratio_to_real"], tol=0.1),
    Claim(M04, "The gradient size falls from 0.55 (as at real glyphs)", "0.55", M04,
          _long_run(0, "grad_norm_mean")),
    Claim(M04, "about 0.27 by $t = 64$", "0.27", M04, _long_run(64, "grad_norm_mean"), tol=0.01),
    Claim(M04, "(ECE about 0.01 against about 0.2 for JEM)", "0.01", M04,
          lambda r: r["calibration_ece"]["classifier"], tol=0.005),
    Claim(M04, "(ECE about 0.01 against about 0.2 for JEM)", "0.2", M04,
          lambda r: r["calibration_ece"]["JEM"], tol=0.03),
    # 04, Question 5's model answer: the calibration experiments (benchmarks/jem_calibration.py)
    Claim(M04, "test accuracy 0.974 and ECE 0.22, against this notebook's 0.965 and 0.20", "0.974",
          CAL, _calibration({}, "test_accuracy")),
    Claim(M04, "test accuracy 0.974 and ECE 0.22, against this notebook's 0.965 and 0.20", "0.22",
          CAL, _calibration({}, "ece")),
    Claim(M04, "test accuracy 0.974 and ECE 0.22, against this notebook's 0.965 and 0.20", "0.965",
          M04, lambda r: r["test_accuracy"]),
    Claim(M04, "test accuracy 0.974 and ECE 0.22, against this notebook's 0.965 and 0.20", "0.20",
          M04, lambda r: r["calibration_ece"]["JEM"]),
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
]
