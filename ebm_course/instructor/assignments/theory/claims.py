"""The numbers the prose of 01_theory quotes, each tied to the results file that holds it
(checked by ``tests/test_prose_numbers.py``; how to write a claim: ``..claims``)."""

from __future__ import annotations

from ebm_course.instructor.claims import Claim

M01 = "01_theory"


CLAIMS = [
    # 01, the time note at the top (two 2-core CPUs took 12.1 s and 21.7 s)
    Claim(M01, "the whole notebook took about 15 s on a 2-core CPU", "15", "course_timings",
          lambda r: r["seconds_01_theory"], tol=7.5),
]
