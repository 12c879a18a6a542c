"""07_score_models, ``inpaint_score``: wrong implementations (``BUGS``: each must fail
``check_inpaint_score``) and correct ones written differently (``ALT_CORRECT``)."""

from __future__ import annotations

import math

import torch

from ebm_course.instructor.assignments.score_models import checks
from ebm_course.instructor.assignments.score_models.reference import tweedie_denoise

from ._shared import _levels, _noise, _private


def _fill(score_fn, x_known, mask, sigmas, n_steps_each, eps, generator, *, renoise=True,
          restore=True, start="noise", tweedie=True, invert=False, known_level="current"):
    x_known = x_known.detach()
    if invert:
        mask = ~mask
    first, last = float(sigmas[0]), float(sigmas[-1])
    if start == "noise":
        x = torch.where(mask, first * _noise(x_known, generator),
                        x_known + first * _noise(x_known, generator))
    else:  # from the known image itself (its masked values included)
        x = x_known.clone()
    for s in sigmas:
        s = float(s)
        alpha = eps * (s / last) ** 2
        for _ in range(n_steps_each):
            x = (x + 0.5 * alpha * score_fn(x, _levels(x, s))
                 + math.sqrt(alpha) * _noise(x, generator)).detach()
            if renoise:
                lvl = s if known_level == "current" else first
                x = torch.where(mask, x, x_known + lvl * _noise(x, generator))
            else:
                x = torch.where(mask, x, x_known)
    if tweedie:
        x = tweedie_denoise(score_fn, x, _levels(x, last)).detach()
    return torch.where(mask, x, x_known) if restore else x


def inpaint_clean_known(score_fn, x_known, mask, sigmas, n_steps_each, eps, generator):
    """Holds the known pixels clean at every level (as 03's SGLD inpainting does)."""
    return _fill(score_fn, x_known, mask, sigmas, n_steps_each, eps, generator, renoise=False)


def inpaint_not_restored(score_fn, x_known, mask, sigmas, n_steps_each, eps, generator):
    """Returns the denoised image without restoring the known pixels."""
    return _fill(score_fn, x_known, mask, sigmas, n_steps_each, eps, generator, restore=False)


def inpaint_inverted_mask(score_fn, x_known, mask, sigmas, n_steps_each, eps, generator):
    """Fills the known pixels and keeps the missing ones."""
    return _fill(score_fn, x_known, mask, sigmas, n_steps_each, eps, generator, invert=True)


def inpaint_no_tweedie(score_fn, x_known, mask, sigmas, n_steps_each, eps, generator):
    """No Tweedie step at the end."""
    return _fill(score_fn, x_known, mask, sigmas, n_steps_each, eps, generator, tweedie=False)


def inpaint_known_at_first_level(score_fn, x_known, mask, sigmas, n_steps_each, eps, generator):
    """Re-noises the known pixels at sigma_1 at every level."""
    return _fill(score_fn, x_known, mask, sigmas, n_steps_each, eps, generator,
                 known_level="first")


def inpaint_start_from_known(score_fn, x_known, mask, sigmas, n_steps_each, eps, generator):
    """Starts from x_known as given (the ignored values under the mask included)."""
    return _fill(score_fn, x_known, mask, sigmas, n_steps_each, eps, generator, start="known")


def inpaint_private_generator(score_fn, x_known, mask, sigmas, n_steps_each, eps, generator):
    """A private generator from the caller's seed."""
    return _fill(score_fn, x_known, mask, sigmas, n_steps_each, eps, _private(generator))


def inpaint_arithmetic_mask(score_fn, x_known, mask, sigmas, n_steps_each, eps, generator):
    """Masks as 0/1 floats, the noise of all pixels drawn together, Tweedie inline."""
    m = mask.to(x_known.dtype).expand_as(x_known)
    known = x_known.detach() * (1 - m)
    first, last = float(sigmas[0]), float(sigmas[-1])
    x = known + first * torch.randn(x_known.shape, generator=generator, dtype=x_known.dtype)
    with torch.no_grad():
        for s in sigmas:
            s = float(s)
            alpha = eps * s * s / (last * last)
            level = torch.full((len(x),), s, dtype=x.dtype)
            for _ in range(n_steps_each):
                z = torch.randn(x.shape, generator=generator, dtype=x.dtype)
                x = x + alpha / 2 * score_fn(x, level) + math.sqrt(alpha) * z
                z_known = torch.randn(x.shape, generator=generator, dtype=x.dtype)
                x = m * x + (1 - m) * (known + s * z_known)
        level = torch.full((len(x),), last, dtype=x.dtype)
        x = x + last ** 2 * score_fn(x, level)
    return m * x + (1 - m) * x_known.detach()


def inpaint_clone_and_index(score_fn, x_known, mask, sigmas, n_steps_each, eps, generator):
    """Boolean indexing of a clone, the mask expanded once."""
    full = mask.expand_as(x_known)
    keep = ~full
    x0 = x_known.detach()
    first, last = float(sigmas[0]), float(sigmas[-1])
    x = x0.clone()
    x[full] = 0.0
    x = x + first * torch.randn(x.shape, generator=generator, dtype=x.dtype)
    for s in sigmas:
        s = float(s)
        alpha = eps * (s / last) ** 2
        for _ in range(n_steps_each):
            step = score_fn(x, _levels(x, s)).detach()
            x = x + 0.5 * alpha * step + math.sqrt(alpha) * torch.randn(
                x.shape, generator=generator, dtype=x.dtype)
            again = x0 + s * torch.randn(x.shape, generator=generator, dtype=x.dtype)
            x = x.clone()
            x[keep] = again[keep]
    x = tweedie_denoise(score_fn, x, _levels(x, last)).detach().clone()
    x[keep] = x0[keep]
    return x


BUGS = [
    (checks.check_inpaint_score, inpaint_clean_known),
    (checks.check_inpaint_score, inpaint_not_restored),
    (checks.check_inpaint_score, inpaint_inverted_mask),
    (checks.check_inpaint_score, inpaint_no_tweedie),
    (checks.check_inpaint_score, inpaint_known_at_first_level),
    (checks.check_inpaint_score, inpaint_start_from_known),
    (checks.check_inpaint_score, inpaint_private_generator),
]

ALT_CORRECT = [
    (checks.check_inpaint_score, inpaint_arithmetic_mask),
    (checks.check_inpaint_score, inpaint_clone_and_index),
]
