"""07_score_models, ``tweedie_denoise``: wrong implementations (``BUGS``: each must fail
``check_tweedie_denoise``) and correct ones written differently (``ALT_CORRECT``)."""

from __future__ import annotations

import torch

from ebm_course.instructor.assignments.score_models import checks


def _col(sigma, x):
    s = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
    return s.view(-1, *[1] * (x.dim() - 1)) if s.dim() == 1 else s


def tweedie_sigma_not_squared(score_fn, x, sigma):
    """x + sigma * score."""
    return x + _col(sigma, x) * score_fn(x, sigma)


def tweedie_minus(score_fn, x, sigma):
    """x - sigma^2 * score: away from the data."""
    return x - _col(sigma, x) ** 2 * score_fn(x, sigma)


def tweedie_last_dim(score_fn, x, sigma):
    """sigma (B,) broadcast along the last dimension."""
    return x + torch.as_tensor(sigma, dtype=x.dtype) ** 2 * score_fn(x, sigma)


def tweedie_in_place(score_fn, x, sigma):
    """x += ...: the caller's x changes, and the result is that same tensor."""
    x += _col(sigma, x) ** 2 * score_fn(x, sigma)
    return x


def tweedie_half(score_fn, x, sigma):
    """x + sigma^2 / 2 * score (a Langevin half step, not Tweedie)."""
    return x + 0.5 * _col(sigma, x) ** 2 * score_fn(x, sigma)


def tweedie_detached(score_fn, x, sigma):
    """Under no_grad: the denoised images carry no graph."""
    with torch.no_grad():
        return x + _col(sigma, x) ** 2 * score_fn(x, sigma)


def tweedie_float32(score_fn, x, sigma):
    """Casts to float32."""
    return (x + _col(sigma, x) ** 2 * score_fn(x, sigma)).float()


def tweedie_addcmul(score_fn, x, sigma):
    """torch.addcmul with the squared levels reshaped by unsqueeze."""
    s = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
    while s.dim() and s.dim() < x.dim():
        s = s.unsqueeze(-1)
    return torch.addcmul(x, s * s, score_fn(x, sigma))


def tweedie_clone_add(score_fn, x, sigma):
    """A clone updated in place."""
    out = x.clone()
    out.add_(_col(sigma, x).pow(2) * score_fn(x, sigma))
    return out


BUGS = [
    (checks.check_tweedie_denoise, tweedie_sigma_not_squared),
    (checks.check_tweedie_denoise, tweedie_minus),
    (checks.check_tweedie_denoise, tweedie_last_dim),
    (checks.check_tweedie_denoise, tweedie_in_place),
    (checks.check_tweedie_denoise, tweedie_half),
    (checks.check_tweedie_denoise, tweedie_detached),
    (checks.check_tweedie_denoise, tweedie_float32),
]

ALT_CORRECT = [
    (checks.check_tweedie_denoise, tweedie_addcmul),
    (checks.check_tweedie_denoise, tweedie_clone_add),
]
