"""Hidden checks of assignment 01_theory. Each grades one function by its properties.

What every check holds to (see ``docs/design.md``, Hidden checks):

* properties, not one reference output: analytic values, invariances, deterministic parts of a
  random result (two chains with the same generator seed differ only by the drift), statistics
  with tolerances many standard errors wide. A verdict never depends on the order in which a
  correct answer draws its random numbers, nor on torch's global random state (each check runs
  in a forked RNG state and seeds what it needs itself);
* the inputs students' code breaks on: a batch of one, non-round sizes and boxes, float64,
  energies around +-500, points far from every mode, samples outside the box, leftover ``.grad``;
* where gradients must (and must not) flow;
* isolation: every other graded function the student's code reaches through its notebook globals
  is the reference's while the check runs, and the energies are the package's, not the student's.

Messages name the property and the kind of input, never a hidden case's numbers.

One module per exercise (helpers several checks share in ``_shared``); the checks are
re-exported here, where the notebook's test cells find them (``checks.check_<part>``).
"""

from __future__ import annotations

from .cd_gradient import check_cd_gradient
from .gmm_energy import check_gmm_energy
from .grid_log_partition import check_grid_log_partition
from .histogram_tv import check_histogram_tv
from .ula_chain import check_ula_chain

__all__ = [
    "check_gmm_energy",
    "check_grid_log_partition",
    "check_cd_gradient",
    "check_ula_chain",
    "check_histogram_tv",
]
