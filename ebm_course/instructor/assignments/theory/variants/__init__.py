"""More wrong and correct implementations of 01_theory (issue 12): the mistakes the hidden checks
used to miss (gradient flow, the generator, a batch of one, extreme values, per-element noise,
non-round sizes, dtype) and correct answers written differently (other random-draw orders,
loops, other stable formulas, float64-safe code, local generators, a call into another graded
function through the notebook's globals).

Each wrong implementation is wrong by the exercise statement (the notebook source 01_theory.py); each
correct one must pass its check under every global seed.
"""

from __future__ import annotations

from . import cd_gradient, gmm_energy, grid_log_partition, histogram_tv, ula_chain

_MODULES = (  # one module per exercise (or group of exercises)
    gmm_energy, grid_log_partition, cd_gradient, ula_chain, histogram_tv,
)
BUGS = [pair for module in _MODULES for pair in module.BUGS]
ALT_CORRECT = [pair for module in _MODULES for pair in module.ALT_CORRECT]
