"""The numbers the prose of 06_sampling_likelihood quotes, each tied to the results file that holds it
(checked by ``tests/test_prose_numbers.py``; how to write a claim: ``..claims``)."""

from __future__ import annotations

from ebm_course.instructor.claims import Claim

M03 = "03_mnist_ebm"
M06 = "06_sampling_likelihood"


CLAIMS = [
    # 06, the time note at the top (run times vary from run to run: a quarter either way)
    Claim(M06, "about 70 s on a 2-core CPU", "70", "course_timings",
          lambda r: r["seconds_06_sampling_likelihood"], tol=17.5),
    # 06, section 5: AIS error against the number of temperatures
    *(Claim(M06, "error is 0.038, 0.059, 0.047 and 0.018 nats at K = 10, 30, 100 and 300", number,
            M06, lambda r, k=k: r["ais_2d_abs_error"]["banana"][k])
      for number, k in (("0.038", "10"), ("0.059", "30"), ("0.047", "100"), ("0.018", "300"))),
    # (two CPUs gave -540.7 and -542.5: the tolerance covers both)
    Claim(M06, "*at most* about this number (about -541 nats)", "-541", M06,
          lambda r: r["mnist_ais"]["test_ll_nats_mean"], tol=2.0),
    # 06, Question 1's model answer
    *(Claim(M06, "R-hat is far above 1.01 (2.41 and 2.40)", number, M06,
            lambda r, s=s: r["diagnostics"][f"mixture/{s}"]["rhat"])
      for number, s in (("2.41", "ULA"), ("2.40", "MALA"))),
    Claim(M06, "R-hat stays at 1.76 (ESS 6)", "1.76", M06,
          lambda r: r["diagnostics"]["mixture/HMC"]["rhat"]),
    Claim(M06, "R-hat stays at 1.76 (ESS 6)", "6", M06,
          lambda r: r["diagnostics"]["mixture/HMC"]["ess"]),
    Claim(M06, "R-hat (1.44) flags the disagreement", "1.44", M06,
          lambda r: r["diagnostics"]["banana/HMC"]["rhat"]),
    # 06, Question 1's model answer (the ring, then the MNIST chains) and the AIS caveats
    Claim(M06, "the circle (R-hat about 1.01, an ESS in the hundreds", "1.01", M06,
          lambda r: r["diagnostics"]["ring/HMC"]["rhat"], tol=0.01),
    # (two CPUs: -0.015 and -0.012 against 0.026 and 0.028; a "1" share of 0.19 and 0.28)
    Claim(M06, "(median about -0.01 against 0.03)", "-0.01", M06,
          lambda r: r["mnist_chains"]["energy_after_long_run"], tol=0.006),
    Claim(M06, "(median about -0.01 against 0.03)", "0.03", M06,
          lambda r: r["mnist_chains"]["energy_data_median"], tol=0.005),
    Claim(M06, "0.28 after the long run here, 0.19 on another CPU", "0.28", M06,
          lambda r: r["mnist_chains"]["top_digit_share_after_long_run"], tol=0.1),
    Claim(M06, "give an R-hat of about 11 with an ESS near 40", "11", M06,
          lambda r: r["mnist_chains"]["rhat_energy_second_half"], tol=1.0),
    Claim(M06, "give an R-hat of about 11 with an ESS near 40", "40", M06,
          lambda r: r["mnist_chains"]["ess_energy_second_half"], tol=5.0),
    Claim(M06, "energy gap between noise and digits (about 23 nats in the quick profile)", "23",
          M03, lambda r: r["mean_neg_energy_test"] - r["mean_neg_energy_noise"], tol=1.5),
]
