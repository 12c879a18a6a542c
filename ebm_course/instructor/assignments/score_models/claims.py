"""The numbers the prose of 07_score_models quotes, each tied to the results file that holds it
(checked by ``tests/test_prose_numbers.py``; how to write a claim: ``..claims``)."""

from __future__ import annotations

from ebm_course.instructor.claims import Claim, quoted  # noqa: F401

M07 = "07_score_models"

CLAIMS: list[Claim] = []
