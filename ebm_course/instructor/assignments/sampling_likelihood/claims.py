"""The numbers the prose of 06_sampling_likelihood quotes, each tied to the results file that holds it
(checked by ``tests/test_prose_numbers.py``; how to write a claim: ``..claims``)."""

from __future__ import annotations

import math
from typing import Callable

from ebm_course.instructor.claims import SEEDS, Claim, over_seeds, quoted

M03 = "03_mnist_ebm"
M06 = "06_sampling_likelihood"


def _lowest(*pointers: str) -> Callable[[dict], float]:
    return lambda r: min(over_seeds(M06, p, "min")(r) for p in pointers)


def _highest(*pointers: str) -> Callable[[dict], float]:
    return lambda r: max(over_seeds(M06, p, "max")(r) for p in pointers)


UNIFORM_LOG_DENSITY = -784 * math.log(2)  # the uniform density on the pixel box [-1, 1]^784
TV_FLOORS = tuple(f"exact_sample_tv/{n}" for n in ("banana", "mixture", "ring"))
TV_MALA_HMC = ("headline/mala_tv_at_largest_step", "headline/hmc_tv_at_largest_step")
AIS_LL = "mnist_ais/test_ll_nats_mean"
RHAT_ULA_MALA = ("diagnostics/mixture~1ULA/rhat", "diagnostics/mixture~1MALA/rhat")

CLAIMS = [
    # 06, the time note at the top (run times vary from run to run: a quarter either way)
    Claim(M06, "about 70 s on a 2-core CPU", "70", "course_timings",
          lambda r: r["seconds_06_sampling_likelihood"], tol=17.5),
    # 06, section 3: the TV at the largest step, ULA against MALA and HMC, over three seeds
    Claim(M06, "at the largest step ($\\epsilon = 0.2$)", "0.2", M06, lambda r: r["largest_step"]),
    *quoted(M06, "ULA's TV is 0.73 to 0.74 over three seeds, MALA's and HMC's 0.08 to 0.09, at the "
            "floor (0.06 to 0.10)", SEEDS,
            ("0.73", over_seeds(M06, "headline/ula_tv_at_largest_step", "min")),
            ("0.74", over_seeds(M06, "headline/ula_tv_at_largest_step", "max")),
            ("0.08", _lowest(*TV_MALA_HMC)), ("0.09", _highest(*TV_MALA_HMC)),
            ("0.06", _lowest(*TV_FLOORS)), ("0.10", _highest(*TV_FLOORS))),
    # 06, section 5: AIS error against the number of temperatures
    *(Claim(M06, "error is 0.038, 0.059, 0.047 and 0.018 nats at K = 10, 30, 100 and 300", number,
            M06, lambda r, k=k: r["ais_2d_abs_error"]["banana"][k])
      for number, k in (("0.038", "10"), ("0.059", "30"), ("0.047", "100"), ("0.018", "300"))),
    # the MNIST AIS test log-likelihood: this run's, then the spread over three seeds (each seed
    # trains its own 03 model) and its distance above the uniform density's -784 log 2
    Claim(M06, "(-538.0 nats in this run", "-538.0", M06,
          lambda r: r["mnist_ais"]["test_ll_nats_mean"], across_seeds=False),
    *quoted(M06, "-538.2 to -537.2 over three seeds, each with its own 03 model), 5.3 to 6.2 nats "
            "above", SEEDS,
            ("-538.2", over_seeds(M06, AIS_LL, "min")), ("-537.2", over_seeds(M06, AIS_LL, "max")),
            ("5.3", lambda r: over_seeds(M06, AIS_LL, "min")(r) - UNIFORM_LOG_DENSITY),
            ("6.2", lambda r: over_seeds(M06, AIS_LL, "max")(r) - UNIFORM_LOG_DENSITY)),
    # 06, Question 1's model answer: this run's chains, then the spread over three seeds
    *(Claim(M06, "R-hat is far above 1.01 (2.41 and 2.40 in this run", number, M06,
            lambda r, s=s: r["diagnostics"][f"mixture/{s}"]["rhat"], across_seeds=False)
      for number, s in (("2.41", "ULA"), ("2.40", "MALA"))),
    *quoted(M06, "2.1 to 2.5 over three seeds", SEEDS,
            ("2.1", _lowest(*RHAT_ULA_MALA)), ("2.5", _highest(*RHAT_ULA_MALA))),
    Claim(M06, "R-hat stays at 1.76 here", "1.76", M06,
          lambda r: r["diagnostics"]["mixture/HMC"]["rhat"], across_seeds=False),
    *quoted(M06, "(1.74 to 1.78 over three seeds, ESS 6 on each)", SEEDS,
            ("1.74", over_seeds(M06, "diagnostics/mixture~1HMC/rhat", "min")),
            ("1.78", over_seeds(M06, "diagnostics/mixture~1HMC/rhat", "max"))),
    Claim(M06, "(1.74 to 1.78 over three seeds, ESS 6 on each)", "6", M06,
          lambda r: r["diagnostics"]["mixture/HMC"]["ess"]),
    Claim(M06, "R-hat (1.44 here) flags the disagreement", "1.44", M06,
          lambda r: r["diagnostics"]["banana/HMC"]["rhat"], across_seeds=False),
    # the banana's stuck HMC chain happened on two seeds of three
    *quoted(M06, "its R-hat there was 1.44 and 1.53 on two, 1.01 on the third (ESS 664)", SEEDS,
            ("1.44", over_seeds(M06, "diagnostics/banana~1HMC/rhat", "middle")),
            ("1.53", over_seeds(M06, "diagnostics/banana~1HMC/rhat", "max")),
            ("1.01", over_seeds(M06, "diagnostics/banana~1HMC/rhat", "min")),
            ("664", over_seeds(M06, "diagnostics/banana~1HMC/ess", "max"))),
    # 06, Question 1's model answer (the ring, then the MNIST chains) and the AIS caveats
    Claim(M06, "the circle (R-hat about 1.01, an ESS in the hundreds", "1.01", M06,
          lambda r: r["diagnostics"]["ring/HMC"]["rhat"], tol=0.01),
    # the long chains end below the test digits' energy on every seed; no class takes over
    *quoted(M06, "(median -0.0363 to -0.0328 over three seeds, against -0.0098 to -0.0065 for "
            "the test digits", SEEDS,
            ("-0.0363", over_seeds(M06, "mnist_chains/energy_after_long_run", "min")),
            ("-0.0328", over_seeds(M06, "mnist_chains/energy_after_long_run", "max")),
            ("-0.0098", over_seeds(M06, "mnist_chains/energy_data_median", "min")),
            ("-0.0065", over_seeds(M06, "mnist_chains/energy_data_median", "max"))),
    *quoted(M06, 'the commonest class holds 0.22 to 0.28 of the chains over three seeds, "1" on '
            'two of them and "7" on the third', SEEDS,
            ("0.22", over_seeds(M06, "mnist_chains/top_digit_share_after_long_run", "min")),
            ("0.28", over_seeds(M06, "mnist_chains/top_digit_share_after_long_run", "max")),
            ("1", over_seeds(M06, "mnist_chains/top_digit_after_long_run", "min")),
            ("7", over_seeds(M06, "mnist_chains/top_digit_after_long_run", "max"))),
    Claim(M06, "give an R-hat of about 9 here", "9", M06,
          lambda r: r["mnist_chains"]["rhat_energy_second_half"], tol=1.0, across_seeds=False),
    *quoted(M06, "(7 to 10 over three seeds) with an ESS near 40", SEEDS,
            ("7", over_seeds(M06, "mnist_chains/rhat_energy_second_half", "min")),
            ("10", over_seeds(M06, "mnist_chains/rhat_energy_second_half", "max"))),
    Claim(M06, "(7 to 10 over three seeds) with an ESS near 40", "40", M06,
          lambda r: r["mnist_chains"]["ess_energy_second_half"], tol=5.0),
    Claim(M06, "energy gap between noise and digits (about 27 nats in the quick profile)", "27",
          M03, lambda r: r["mean_neg_energy_test"] - r["mean_neg_energy_noise"], tol=1.5),
]
