"""The numbers the prose of 03_mnist_ebm quotes, each tied to the results file that holds it
(checked by ``tests/test_prose_numbers.py``; how to write a claim: ``..claims``)."""

from __future__ import annotations

from typing import Callable

from ebm_course.instructor.claims import Claim, quoted

RECIPE = "recipe (same budget)"
NO_ALPHA = "no regulariser (alpha 0)"
NO_MOMENTUM = "no momentum (beta1 0)"
NO_RESTARTS = "no restarts (reinit_prob 0)"
NO_NOISE = "no data noise"
M03 = "03_mnist_ebm"


def _ablation(name: str, key: str) -> Callable[[dict], float]:
    return lambda r: r["ablations"][name][key]


CLAIMS = [
    # 03, section 5 and the profile note at the top
    Claim(M03, "this run's fresh samples score IS 7.9 (Frechet distance 22;", "7.9", M03,
          lambda r: r["fresh_inception_score"]),
    Claim(M03, "this run's fresh samples score IS 7.9 (Frechet distance 22;", "22", M03,
          lambda r: r["fresh_frechet_distance"]),
    Claim(M03, "4.3 of them the main training", "4.3", M03, lambda r: r["train_seconds"] / 60),
    # the whole notebook's time (run times vary from run to run: a quarter either way)
    Claim(M03, "took about 7.4 minutes on a 2-core CPU", "7.4", "course_timings",
          lambda r: r["seconds_03_mnist_ebm"] / 60, tol=1.85),
    # 03, digits that are a little off
    Claim(M03, "the AUROC of originals against shrunk is only about 0.6", "0.6", M03,
          lambda r: r["auroc_original_vs"]["shrunk to half"], tol=0.05),
    Claim(M03, "(mean $-E$ -0.042 against -0.033 for the originals", "-0.042", M03,
          lambda r: r["mean_neg_energy_shrunk_to_half"]),
    Claim(M03, "(mean $-E$ -0.042 against -0.033 for the originals", "-0.033", M03,
          lambda r: r["mean_neg_energy_original"]),
    # 03, Question 2's model answer (section 7's table)
    *quoted(M03, "buffer scores IS 4.9 with all 10 classes and AUROC 0.71", M03,
             ("4.9", _ablation(RECIPE, "buffer_inception_score")),
             ("10", _ablation(RECIPE, "buffer_classes_present")),
             ("0.71", _ablation(RECIPE, "auroc_vs_flipped"))),
    *quoted(M03, r"$|E| \approx 8.6$ (0.09 with it)", M03,
             ("8.6", _ablation(NO_ALPHA, "mean_abs_energy_data")),
             ("0.09", _ablation(RECIPE, "mean_abs_energy_data"))),
    *quoted(M03, "Its samples are not worse yet (IS 5.0)", M03,
             ("5.0", _ablation(NO_ALPHA, "buffer_inception_score"))),
    *quoted(M03, "the buffer fell to IS 4.3 with 8 classes and the flip AUROC to 0.61", M03,
             ("4.3", _ablation(NO_MOMENTUM, "buffer_inception_score")),
             ("8", _ablation(NO_MOMENTUM, "buffer_classes_present")),
             ("0.61", _ablation(NO_MOMENTUM, "auroc_vs_flipped"))),
    *quoted(M03, "a similar IS (4.7) and a slightly lower AUROC (0.68)", M03,
             ("4.7", _ablation(NO_RESTARTS, "buffer_inception_score")),
             ("0.68", _ablation(NO_RESTARTS, "auroc_vs_flipped"))),
    *quoted(M03, "(0.724 against 0.746)", M03,
             ("0.724", _ablation(NO_RESTARTS, "buffer_diversity")),
             ("0.746", _ablation(RECIPE, "buffer_diversity"))),
    *quoted(M03, "(IS 4.8, 9 classes, AUROC 0.69)", M03,
             ("4.8", _ablation(NO_NOISE, "buffer_inception_score")),
             ("9", _ablation(NO_NOISE, "buffer_classes_present")),
             ("0.69", _ablation(NO_NOISE, "auroc_vs_flipped"))),
]
