"""The numbers the prose of 06_sampling_likelihood quotes, each tied to the results file that holds it
(checked by ``tests/test_prose_numbers.py``; how to write a claim: ``..claims``)."""

from __future__ import annotations

from ebm_course.instructor.claims import Claim


M03 = "03_mnist_ebm"
M06 = "06_sampling_likelihood"


CLAIMS = [
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
