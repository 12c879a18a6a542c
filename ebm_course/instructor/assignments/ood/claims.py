"""The numbers the prose of 05_ood_detection quotes, each tied to the results file that holds it
(checked by ``tests/test_prose_numbers.py``; how to write a claim: ``..claims``)."""

from __future__ import annotations

from typing import Callable

from ebm_course.instructor.claims import Claim

M05 = "05_ood_detection"


def _ood(table: str, model: str, score: str, ood: str) -> Callable[[dict], float]:
    return lambda r: r[table][model][score][ood]["auroc"]


def _mnist_ood(model: str, score: str, ood: str) -> Callable[[dict], float]:
    return _ood("mnist_ood", model, score, ood)


def _fashion(r: dict, key: str) -> float:
    """A FashionMNIST headline value; a KeyError (the claim is skipped) where the run had no
    FashionMNIST under its data root."""
    value = r["headline"].get(key)
    if value is None:
        raise KeyError(f"headline/{key}")
    return value


CLAIMS = [
    # 05, the time note at the top (two 2-core CPUs took 24 s and 33 s)
    Claim(M05, "this notebook takes about 30 seconds in the quick profile on a 2-core CPU", "30",
          "course_timings", lambda r: r["seconds_05_ood_detection"], tol=7),
    # 05, Question 1's model answer (glyph OOD) and the corrected scores
    *(Claim(M05, quote, number, M05, _ood("glyph_ood", model, score, ood))
      for quote, number, model, score, ood in (
        ("AUROC 0.87 against 0.73 for the classifier's max-softmax", "0.87", "JEM", "energy",
         "MNIST"),
        ("AUROC 0.87 against 0.73 for the classifier's max-softmax", "0.73", "classifier",
         "max-softmax", "MNIST"),
        ("slightly worse (0.868 against 0.886)", "0.868", "JEM", "energy", "unseen classes"),
        ("slightly worse (0.868 against 0.886)", "0.886", "classifier", "max-softmax",
         "unseen classes"),
        ("JEM's energy gives 0.46 and the classifier's max-softmax 0.45", "0.46", "JEM", "energy",
         "sans-serif"),
        ("JEM's energy gives 0.46 and the classifier's max-softmax 0.45", "0.45", "classifier",
         "max-softmax", "sans-serif"),
        ("(MNIST 0.87 against 0.40, sans-serif 0.46 against 0.19)", "0.87", "JEM", "energy",
         "MNIST"),
        ("(MNIST 0.87 against 0.40, sans-serif 0.46 against 0.19)", "0.40", "classifier",
         "energy", "MNIST"),
        ("(MNIST 0.87 against 0.40, sans-serif 0.46 against 0.19)", "0.46", "JEM", "energy",
         "sans-serif"),
        ("(MNIST 0.87 against 0.40, sans-serif 0.46 against 0.19)", "0.19", "classifier",
         "energy", "sans-serif"))),
    # 05, section 6: typicality against Serra's sum
    *(Claim(M05, "completely (AUROC 1.0 for both models)", "1.0", M05,
            _ood("glyph_ood_corrected", model, "typicality of (-E, L)", ood))
      for model in ("JEM", "classifier") for ood in ("sans-serif", "MNIST", "uniform noise")),
    *(Claim(M05, "Serra's sum fails on noise (AUROC 0:", "0", M05,
            _ood("glyph_ood_corrected", model, "Serra: -E + L ln 2", "uniform noise"))
      for model in ("JEM", "classifier")),
    Claim(M05, "max-softmax (0.80 against 0.91)", "0.80", M05,
          _ood("glyph_ood_corrected", "JEM", "typicality of (-E, L)", "unseen classes")),
    # 05, reading the MNIST table
    Claim(M05, "separates them only partly (AUROC about 0.78", "0.78", M05,
          _mnist_ood("03 EBM", "energy", "MNIST-rotated"), tol=0.02),
    Claim(M05, "the classifier's max-softmax better (about 0.89)", "0.89", M05,
          _mnist_ood("MNIST classifier", "max-softmax", "MNIST-rotated"), tol=0.02),
    Claim(M05, "about 0.97 on scikit-learn's digits (the classifier's max-softmax: 0.95)", "0.97",
          M05, _mnist_ood("03 EBM", "grad-norm", "sklearn-digits-8x8"), tol=0.02),
    Claim(M05, "about 0.97 on scikit-learn's digits (the classifier's max-softmax: 0.95)", "0.95",
          M05, _mnist_ood("MNIST classifier", "max-softmax", "sklearn-digits-8x8")),
    Claim(M05, "0.84 on the rotated ones (its own energy: 0.78; max-softmax: 0.89)", "0.84", M05,
          _mnist_ood("03 EBM", "grad-norm", "MNIST-rotated")),
    # 05, FashionMNIST against the literature (only where FashionMNIST was under the data root)
    Claim(M05, "gradient size both reach an AUROC above 0.99 against FashionMNIST", "0.99", M05,
          lambda r: min(_fashion(r, "auroc_ebm_energy_fashion"),
                        _fashion(r, "auroc_ebm_gradnorm_fashion")) - 0.005, tol=0.005),
    Claim(M05, "the classifier's max-softmax about 0.98", "0.98", M05,
          lambda r: _fashion(r, "auroc_classifier_msp_fashion"), tol=0.01),
]
