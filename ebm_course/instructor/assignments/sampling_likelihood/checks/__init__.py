"""Hidden checks of assignment 06_sampling_likelihood: properties of each graded part.

Each check grades one function on energies it builds itself (1D and 2D analytic ones), never
through another graded part of the notebook: ``check_hmc_step`` runs with the reference
``leapfrog`` in the notebook's namespace for its duration. Deterministic quantities (a noise-free
step, leapfrog, the histogram distance, AIS with a deterministic transition) are compared with the
reference; random ones (noise, Metropolis tests) by statistics over thousands of chains with
margins of at least five standard errors, under generators the check owns, so that the verdict
does not depend on the global seed or on the order in which a correct implementation draws its
random numbers. Failure messages name the property and the kind of input, never a case's values.

One module per exercise (helpers several checks share in ``_shared``); the checks are
re-exported here, where the notebook's test cells find them (``checks.check_<part>``).
"""

from __future__ import annotations

from .ais_log_z import check_ais_log_z
from .annealed_langevin import check_annealed_langevin
from .mala_hmc import check_hmc_step, check_leapfrog, check_mala_step
from .tv_distance import check_tv_distance
from .ula_step import check_ula_step

__all__ = [
    "check_ula_step",
    "check_mala_step",
    "check_leapfrog",
    "check_hmc_step",
    "check_tv_distance",
    "check_ais_log_z",
    "check_annealed_langevin",
]
