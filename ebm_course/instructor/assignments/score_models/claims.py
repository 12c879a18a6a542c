"""The numbers the prose of 07_score_models quotes, each tied to the results file that holds it
(checked by ``tests/test_prose_numbers.py``; how to write a claim: ``..claims``).

The comparison runs on a wall-clock budget, so a rerun on the same machine moves the steps each
model manages and the numbers with them: the sample-quality claims carry tolerances (the reference
run had one thread, on a machine another job shared for part of the run)."""

from __future__ import annotations

from ebm_course.instructor.claims import SEEDS, Claim, over_seeds, quoted

M03 = "03_mnist_ebm"
M07 = "07_score_models"


def _h(key: str):
    return lambda r: r["headline"][key]


CLAIMS = [
    # the time note at the top (run times vary from run to run: a quarter either way)
    Claim(M07, "took about 4 minutes on a 2-core CPU", "4", "course_timings",
          lambda r: r["seconds_07_score_models"] / 60, tol=1.0),
    Claim(M07, "two trainings of 90 s each included", "90", M07, _h("budget_seconds")),
    # section 9: the 2D check
    *quoted(M07, "0.065 in total variation from the exact grid density, with the network your "
            "loss trained 0.071, against 0.041 for as many exact samples", M07,
            ("0.065", lambda r: r["tv_2d"]["annealed, exact score"], 0.01),
            ("0.071", lambda r: r["tv_2d"]["annealed, your DSM network"], 0.015),
            ("0.041", lambda r: r["tv_2d"]["exact samples"], 0.005)),
    *quoted(M07, "shares came out at 0.22 / 0.78 and 0.23 / 0.77", M07,
            ("0.22", lambda r: r["mode_shares_2d"]["annealed, exact score"][0], 0.02),
            ("0.23", lambda r: r["mode_shares_2d"]["annealed, your DSM network"][0], 0.03)),
    # section 9: MNIST, the budget and the judge
    *quoted(M07, "In 90 s each, the score model made 875 training steps and 03's EBM 364", M07,
            ("90", _h("budget_seconds")),
            ("875", lambda r: r["score_model"]["train_steps"], 200),
            ("364", lambda r: r["ebm03"]["train_steps"], 80)),
    *quoted(M07, "IS 4.5 with all 10 classes present and a Frechet distance of 133; the EBM's "
            "IS 5.9 and 72 (real test digits: 9.5 and 3.1)", M07,
            ("4.5", _h("inception_score"), 0.4),
            ("10", _h("classes_present"), 1),
            ("133", _h("frechet_distance"), 25),
            ("5.9", _h("ebm03_inception_score"), 0.4),
            ("72", _h("ebm03_frechet_distance"), 12),
            ("9.5", lambda r: r["real"]["inception_score"], 0.05),
            ("3.1", lambda r: r["real"]["frechet_distance"], 0.05)),
    *quoted(M07, "an AUROC of 0.80, the score model's denoising error hardly at all (0.54)", M07,
            ("0.80", lambda r: r["auroc_vs_flipped"]["ebm03"], 0.04),
            ("0.54", lambda r: r["auroc_vs_flipped"]["score_model"], 0.05)),
    *quoted(M07, "03's own 1,600-step run reached IS 7.3-8.0 over three seeds", SEEDS,
            ("7.3", over_seeds(M03, "fresh_inception_score", "min")),
            ("8.0", over_seeds(M03, "fresh_inception_score", "max"))),
    # Question 3's model answer
    *quoted(M07, "IS 5.9 against 4.5, Frechet distance 72 against 133, and flipped digits "
            "recognised (AUROC 0.80 against 0.54)", M07,
            ("5.9", _h("ebm03_inception_score"), 0.4),
            ("4.5", _h("inception_score"), 0.4),
            ("72", _h("ebm03_frechet_distance"), 12),
            ("133", _h("frechet_distance"), 25),
            ("0.80", lambda r: r["auroc_vs_flipped"]["ebm03"], 0.04),
            ("0.54", lambda r: r["auroc_vs_flipped"]["score_model"], 0.05)),
    *quoted(M07, "(one forward and backward pass of its network on 64 images: 875 steps in the "
            "budget)", M07, ("875", lambda r: r["score_model"]["train_steps"], 200)),
    *quoted(M07, "one update on 128: 364 steps)", M07,
            ("364", lambda r: r["ebm03"]["train_steps"], 80)),
]
