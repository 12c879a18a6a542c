"""Hidden checks of assignment 07_score_models: properties of each graded part.

Each check grades one part on cases it builds itself, never through another graded part of the
notebook: the samplers run with the reference ``tweedie_denoise`` in the notebook's namespace
for the check's duration (``reference_in``). Deterministic parts (the schedule, the score read
off a noise predictor, the two losses, Tweedie's formula) are compared with closed forms,
including exact answers for Gaussian data, whose blurred score is known; random ones (the
annealed sampler, inpainting) by the moments of thousands of chains under a Gaussian's exact
score, with margins of several standard errors, under generators the check owns, so that the
verdict depends neither on the global seed nor on the order in which a correct answer draws.
Messages name the property and the kind of input, never a case's values.

One module per exercise (helpers in ``_shared``); the checks are re-exported here, where the
notebook's test cells find them (``checks.check_<part>``).
"""

from __future__ import annotations

from .annealed_langevin import check_annealed_langevin
from .dsm_loss import check_dsm_loss, check_eps_loss
from .eps_score import check_eps_score
from .geometric_sigmas import check_geometric_sigmas
from .inpaint_score import check_inpaint_score
from .tweedie_denoise import check_tweedie_denoise

__all__ = [
    "check_geometric_sigmas",
    "check_eps_score",
    "check_dsm_loss",
    "check_eps_loss",
    "check_tweedie_denoise",
    "check_annealed_langevin",
    "check_inpaint_score",
]
