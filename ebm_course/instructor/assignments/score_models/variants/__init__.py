"""07_score_models: wrong implementations (each must FAIL its check) and correct ones written
differently (each must PASS), for ``ebm_course.instructor.assignments.score_models.checks``: the
mistakes students make with noise schedules, the sigma^2 weighting, broadcasting one level per
sample, signs, the step of annealed Langevin, Tweedie's formula and re-noising known pixels.
"""

from __future__ import annotations

from . import (
    annealed_langevin,
    dsm_loss,
    eps_score,
    geometric_sigmas,
    inpaint_score,
    tweedie_denoise,
)

_MODULES = (  # one module per exercise (or group of exercises)
    geometric_sigmas, eps_score, dsm_loss, tweedie_denoise, annealed_langevin, inpaint_score,
)
BUGS = [pair for module in _MODULES for pair in module.BUGS]
ALT_CORRECT = [pair for module in _MODULES for pair in module.ALT_CORRECT]
