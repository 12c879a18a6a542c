"""06_sampling_likelihood: wrong implementations (each must FAIL its check) and correct ones
written differently (each must PASS), for ``ebm_course.instructor.assignments.sampling_likelihood.checks``:
the mistakes students make with Langevin noise scales, Metropolis-Hastings corrections, leapfrog
half steps, momenta, histogram bins, AIS weights and the annealing schedule.
"""

from __future__ import annotations

from . import ais_log_z, annealed_langevin, mala_hmc, tv_distance, ula_step

_MODULES = (  # one module per exercise (or group of exercises)
    ula_step, mala_hmc, tv_distance, ais_log_z, annealed_langevin,
)
BUGS = [pair for module in _MODULES for pair in module.BUGS]
ALT_CORRECT = [pair for module in _MODULES for pair in module.ALT_CORRECT]
