"""The package's training modules assembled with the reference pieces, as a notebook would.

The package holds no graded part, so a test that trains builds its modules the way the
notebooks do: the network, sampler, step and losses of each unit's ``reference.py``,
and the code a notebook gives (04's ``GlyphCNN``, from its unit's ``given.py``).
"""

from __future__ import annotations

from ebm_course.ebm import DeepEnergyModel, EBMConfig
from ebm_course.ebm import make_sampler as make_ebm_sampler
from ebm_course.instructor.assignments.glyph_jem import reference as ref04
from ebm_course.instructor.assignments.glyph_jem.given import GlyphCNN
from ebm_course.instructor.assignments.mnist_ebm import reference as ref03
from ebm_course.jem import JEM, JEMConfig, make_net, make_sampler


def ebm_parts(cfg: EBMConfig, seed_offset: int = 0) -> dict:
    """Assignment 3's pieces (reference bodies) for ``DeepEnergyModel(cfg, **parts)``."""
    sampler = make_ebm_sampler(cfg, ref03.langevin_step, ref03.MCMCSampler, seed_offset)
    return {"net": ref03.CNNEnergy(cfg.in_channels, cfg.image_size, cfg.hidden, 1),
            "sampler": sampler, "loss_fn": ref03.ebm_loss}


def ebm_model(cfg: EBMConfig, **overrides) -> DeepEnergyModel:
    return DeepEnergyModel(cfg, **{**ebm_parts(cfg), **overrides})


def jem_parts(cfg: JEMConfig, seed_offset: int = 0) -> dict:
    """Assignment 4's pieces (reference bodies; 03's buffer policy) for ``JEM(cfg, **parts)``."""
    return {"net": make_net(cfg, GlyphCNN),
            "sampler": make_sampler(cfg, ref03.langevin_step, ref03.MCMCSampler, seed_offset),
            "px_step_fn": ref04.px_step, "pyx_step_fn": ref04.pyx_step,
            "step_fn": ref04.jem_step}


def jem_model(cfg: JEMConfig, **overrides) -> JEM:
    return JEM(cfg, **{**jem_parts(cfg), **overrides})
