"""The numbers the prose of 07_score_models quotes, each tied to the results file that holds it
(checked by ``tests/test_prose_numbers.py``; how to write a claim: ``..claims``).

The comparison runs on a wall-clock budget, so a rerun moves the steps each model manages and
the numbers with them: the prose quotes each number's range over the three seeds of
``make seeds`` (run one after another on a quiet 2-core machine)."""

from __future__ import annotations

from ebm_course.instructor.claims import SEEDS, Claim, on_seed, over_seeds, quoted

M03 = "03_mnist_ebm"
M07 = "07_score_models"


def _h(key: str):
    return lambda r: r["headline"][key]


CLAIMS = [
    # the time note at the top (run times vary from run to run: a quarter either way)
    Claim(M07, "took about 4 minutes on a 2-core CPU", "4", "course_timings",
          lambda r: r["seconds_07_score_models"] / 60, tol=1.0),
    Claim(M07, "two trainings of 90 s each included", "90", M07, _h("budget_seconds")),
    # section 9: the 2D check, over the three seeds of make seeds
    *quoted(M07, "0.058-0.065 in total variation from the exact grid density over three seeds, "
            "with the network your loss trained 0.069-0.071, against 0.028-0.041 for as many "
            "exact samples", SEEDS,
            ("0.058", over_seeds(M07, "tv_2d/annealed, exact score", "min")),
            ("0.065", over_seeds(M07, "tv_2d/annealed, exact score", "max")),
            ("0.069", over_seeds(M07, "tv_2d/annealed, your DSM network", "min")),
            ("0.071", over_seeds(M07, "tv_2d/annealed, your DSM network", "max")),
            ("0.028", over_seeds(M07, "tv_2d/exact samples", "min")),
            ("0.041", over_seeds(M07, "tv_2d/exact samples", "max"))),
    *quoted(M07, "in this run the mode shares came out at 0.22 / 0.78 and 0.23 / 0.77", M07,
            ("0.22", lambda r: r["mode_shares_2d"]["annealed, exact score"][0], None, False),
            ("0.23", lambda r: r["mode_shares_2d"]["annealed, your DSM network"][0], None,
             False)),
    # section 9: MNIST, the budget and the judge, as ranges over the three seeds
    *quoted(M07, "the score model made 1301-1427 training steps and 03's EBM 520-566", SEEDS,
            ("1301", over_seeds(M07, "score_model/train_steps", "min")),
            ("1427", over_seeds(M07, "score_model/train_steps", "max")),
            ("520", over_seeds(M07, "ebm03/train_steps", "min")),
            ("566", over_seeds(M07, "ebm03/train_steps", "max"))),
    *quoted(M07, "IS 4.3-5.0 with 9 or 10 classes present and a Frechet distance of 101-136; the "
            "EBM's IS 5.8-6.8 and 47-111", SEEDS,
            ("4.3", over_seeds(M07, "headline/inception_score", "min")),
            ("5.0", over_seeds(M07, "headline/inception_score", "max")),
            ("9", over_seeds(M07, "headline/classes_present", "min")),
            ("10", over_seeds(M07, "headline/classes_present", "max")),
            ("101", over_seeds(M07, "headline/frechet_distance", "min")),
            ("136", over_seeds(M07, "headline/frechet_distance", "max")),
            ("5.8", over_seeds(M07, "headline/ebm03_inception_score", "min")),
            ("6.8", over_seeds(M07, "headline/ebm03_inception_score", "max")),
            ("47", over_seeds(M07, "headline/ebm03_frechet_distance", "min")),
            ("111", over_seeds(M07, "headline/ebm03_frechet_distance", "max"))),
    # the closest seed: the EBM's worst Frechet distance against that seed's score model
    *quoted(M07, "closest on the Frechet distance of one seed: 111 against 119; real test digits: "
            "9.5 and 3.1", SEEDS,
            ("111", on_seed(M07, "headline/ebm03_frechet_distance", 2)),
            ("119", on_seed(M07, "headline/frechet_distance", 2))),
    *quoted(M07, "real test digits: 9.5 and 3.1", M07,
            ("9.5", lambda r: r["real"]["inception_score"]),
            ("3.1", lambda r: r["real"]["frechet_distance"])),
    *quoted(M07, "an AUROC of 0.78-0.83, the score model's denoising error hardly at all (0.54)",
            SEEDS,
            ("0.78", over_seeds(M07, "auroc_vs_flipped/ebm03", "min")),
            ("0.83", over_seeds(M07, "auroc_vs_flipped/ebm03", "max")),
            ("0.54", over_seeds(M07, "auroc_vs_flipped/score_model", "min")),
            ("0.54", over_seeds(M07, "auroc_vs_flipped/score_model", "max"))),
    *quoted(M07, "03's own 1,600-step run reached IS 7.9 on each of three seeds", SEEDS,
            ("7.9", over_seeds(M03, "fresh_inception_score", "min")),
            ("7.9", over_seeds(M03, "fresh_inception_score", "max"))),
    *quoted(M07, "1301-1427 steps of 64 images are about one and a half epochs", SEEDS,
            ("1301", over_seeds(M07, "score_model/train_steps", "min")),
            ("1427", over_seeds(M07, "score_model/train_steps", "max"))),
    # Question 3's model answer
    *quoted(M07, "IS 5.8-6.8 against 4.3-5.0, Frechet distance 47-111 against 101-136, and flipped "
            "digits recognised (AUROC 0.78-0.83 against 0.54)", SEEDS,
            ("5.8", over_seeds(M07, "headline/ebm03_inception_score", "min")),
            ("6.8", over_seeds(M07, "headline/ebm03_inception_score", "max")),
            ("4.3", over_seeds(M07, "headline/inception_score", "min")),
            ("5.0", over_seeds(M07, "headline/inception_score", "max")),
            ("47", over_seeds(M07, "headline/ebm03_frechet_distance", "min")),
            ("111", over_seeds(M07, "headline/ebm03_frechet_distance", "max")),
            ("101", over_seeds(M07, "headline/frechet_distance", "min")),
            ("136", over_seeds(M07, "headline/frechet_distance", "max")),
            ("0.78", over_seeds(M07, "auroc_vs_flipped/ebm03", "min")),
            ("0.83", over_seeds(M07, "auroc_vs_flipped/ebm03", "max")),
            ("0.54", over_seeds(M07, "auroc_vs_flipped/score_model", "max"))),
    *quoted(M07, "1301-1427 steps in the budget) and the EBM dearer (20 SGLD steps of its CNN and "
            "one update on 128: 520-566 steps)", SEEDS,
            ("1301", over_seeds(M07, "score_model/train_steps", "min")),
            ("1427", over_seeds(M07, "score_model/train_steps", "max")),
            ("520", over_seeds(M07, "ebm03/train_steps", "min")),
            ("566", over_seeds(M07, "ebm03/train_steps", "max"))),
    Claim(M07, "(03 reached IS 7.9 in its own longer runs", "7.9", SEEDS,
          over_seeds(M03, "fresh_inception_score", "max")),
]
