"""Hidden checks of assignment 04_glyph_jem. Each grades one part, with the reference for every
other part, by properties: values on deterministic cases, gradient flow, random-number use
(statistics, independence, generator), a batch of one, extreme values, float64 inputs.

No check compares a random draw of the student's code with one of the reference: where a part
draws random numbers (the sampler's SGLD inside ``px_step``), the check records the draw the
student's code received and computes what it should return from that draw; ``run_chain`` runs
with a deterministic step that records what it was given.

One module per exercise (helpers several checks share in ``_shared``); the checks are
re-exported here, where the notebook's test cells find them (``checks.check_<part>``).
"""

from __future__ import annotations

from .calibration import check_expected_calibration_error
from .class_gaussian_init import check_class_gaussian_init
from .objectives import check_jem_step, check_px_step, check_pyx_step
from .run_chain import check_run_chain, check_run_chain_conditional

__all__ = [
    "check_class_gaussian_init",
    "check_expected_calibration_error",
    "check_pyx_step",
    "check_px_step",
    "check_jem_step",
    "check_run_chain",
    "check_run_chain_conditional",
]
