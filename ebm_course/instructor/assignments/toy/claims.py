"""The numbers the prose of 02_toy_densities quotes, each tied to the results file that holds it
(checked by ``tests/test_prose_numbers.py``; how to write a claim: ``..claims``)."""

from __future__ import annotations

from typing import Callable

from ebm_course.instructor.claims import Claim

M02 = "02_toy_densities"


def _toy(density: str, method: str) -> Callable[[dict], float]:
    return lambda r: r["equal_budget"]["test_nll"][density][method]


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
    # 02, the time note at the top (run times vary from run to run: a quarter either way)
    Claim(M02, "in about 3 minutes on a 2-core CPU", "3", "course_timings",
          lambda r: r["seconds_02_toy_densities"] / 60, tol=0.75),
]
