"""Hidden checks of assignment 05_ood_detection. Each grades one part against the reference.

The graded parts are deterministic, so every check compares with the reference on fixed inputs
built under a forked (and restored) global random state: the verdict does not depend on the
global seed, and a check leaves the notebook's random state as it found it. Each check grades
its part alone: the score checks build the (reference) networks themselves, and
``check_ood_metrics`` runs the student's ``ood_metrics`` with the reference ``threshold_at_tpr``
in place of the notebook's for its duration.

One module per exercise (the three scores share one); the checks are re-exported here,
where the notebook's test cells find them (``checks.check_<part>``).
"""

from __future__ import annotations

from .metrics import check_ood_metrics, check_threshold_at_tpr
from .scores import check_energy_score, check_grad_norm_score, check_max_softmax_score
from .typicality import check_typicality_score

__all__ = [
    "check_energy_score",
    "check_max_softmax_score",
    "check_grad_norm_score",
    "check_threshold_at_tpr",
    "check_ood_metrics",
    "check_typicality_score",
]
