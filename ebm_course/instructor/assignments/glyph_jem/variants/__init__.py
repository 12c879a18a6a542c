"""More wrong and correct implementations of 04_glyph_jem (issues 12 and 14).

``BUGS``: realistic student mistakes the hidden checks must catch: gradient flow (detach,
no_grad, .item(), backward inside a step, gradients reaching parameters that must get none),
a generator ignored or re-seeded, a batch of one, numerical extremes, noise shared across
chains / entries / calls, dtype handling, fixed batch sizes, an empty n; for ``run_chain``,
steps off by one or called with other arguments, kept states that a step working in place
overwrites, a trace off by one step, of the wrong energy or of another gradient size.
``ALT_CORRECT``: correct implementations written differently (other random-draw orders, loops,
other stable formulas, a module-level generator, a trace computed afterwards or with
torch.func), which must pass whatever the global seed.
"""

from __future__ import annotations

from . import calibration, class_gaussian_init, objectives, run_chain, run_chain_conditional

_MODULES = (  # one module per exercise (or group of exercises)
    class_gaussian_init, calibration, objectives, run_chain, run_chain_conditional,
)
BUGS = [pair for module in _MODULES for pair in module.BUGS]
ALT_CORRECT = [pair for module in _MODULES for pair in module.ALT_CORRECT]
