"""More wrong and correct implementations of 03_mnist_ebm (issue 12: the hidden checks test
properties). Each wrong one is wrong by the exercise statement (the notebook source 03_mnist_ebm.py); each
correct one is written differently from the reference (other draw orders, loops, other stable
formulas, float64-safe code, the global RNG where the statement allows it)."""

from __future__ import annotations

from . import cnn_energy, ebm_loss, langevin_step, sampler, swish

_MODULES = (  # one module per exercise (or group of exercises)
    swish, cnn_energy, langevin_step, sampler, ebm_loss,
)
BUGS = [pair for module in _MODULES for pair in module.BUGS]
ALT_CORRECT = [pair for module in _MODULES for pair in module.ALT_CORRECT]
