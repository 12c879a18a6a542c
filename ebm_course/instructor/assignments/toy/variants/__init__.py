"""More wrong and correct implementations of 02_toy_densities (issue 12).

``BUGS``: realistic mistakes the property checks of ``ebm_course.instructor.assignments.toy.checks`` must
catch (gradient flow, re-seeded or shared noise, batch sizes, numerical extremes, non-round sizes
and ratios, float64, edge cases of the sampler). ``ALT_CORRECT``: correct answers written
differently from the reference (other random-draw orders, loops, other stable formulas, float64
grids), which must pass whatever the global seed.
"""

from __future__ import annotations

from . import cd_loss, dsm_loss, exact_sm_loss, grid_log_likelihood, nce_loss, sgld_sample

_MODULES = (  # one module per exercise (or group of exercises)
    grid_log_likelihood, cd_loss, sgld_sample, exact_sm_loss, dsm_loss, nce_loss,
)
BUGS = [pair for module in _MODULES for pair in module.BUGS]
ALT_CORRECT = [pair for module in _MODULES for pair in module.ALT_CORRECT]
