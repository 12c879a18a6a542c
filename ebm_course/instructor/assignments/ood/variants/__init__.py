"""05_ood_detection: more wrong implementations (each must FAIL its check) and more correct ones
written differently (each must PASS), for the issue-12 checks of
``ebm_course.instructor.assignments.ood.checks``: gradient flow, batch of one, extreme logits, float64,
ties, non-whole ``tpr * N``, few inputs, lists / numpy / torch scores, and isolation (a wrong
``threshold_at_tpr`` in the notebook must not cost ``ood_metrics`` its points).
"""

from __future__ import annotations

from . import metrics, scores, typicality

_MODULES = (  # one module per exercise (or group of exercises)
    scores, metrics, typicality,
)
BUGS = [pair for module in _MODULES for pair in module.BUGS]
ALT_CORRECT = [pair for module in _MODULES for pair in module.ALT_CORRECT]
