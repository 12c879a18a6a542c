"""07_score_models, ``dsm_loss`` and ``eps_loss``: wrong implementations (``BUGS``: each must
fail its check) and correct ones written differently (``ALT_CORRECT``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ebm_course.instructor.assignments.score_models import checks


def _col(sigma, x):
    return sigma.view(-1, *[1] * (x.dim() - 1))


def dsm_weight_sigma(score_fn, x, sigma, z):
    """Weights by sigma, not sigma^2."""
    s = _col(sigma, x)
    r = score_fn(x + s * z, sigma) + z / s
    return (sigma * r.pow(2).flatten(1).sum(1)).mean()


def dsm_unweighted(score_fn, x, sigma, z):
    """No weighting: the smallest sigma's 1/sigma^2 targets dominate."""
    s = _col(sigma, x)
    return (score_fn(x + s * z, sigma) + z / s).pow(2).flatten(1).sum(1).mean()


def dsm_mean_over_elements(score_fn, x, sigma, z):
    """F.mse_loss: the mean over elements, not their sum per sample."""
    s = _col(sigma, x)
    return F.mse_loss(s * score_fn(x + s * z, sigma), -z)


def dsm_target_sign(score_fn, x, sigma, z):
    """Target +z / sigma: the score would point away from the data."""
    s = _col(sigma, x)
    r = score_fn(x + s * z, sigma) - z / s
    return (sigma ** 2 * r.pow(2).flatten(1).sum(1)).mean()


def dsm_last_dim(score_fn, x, sigma, z):
    """sigma (B,) broadcast along the last dimension instead of per sample."""
    r = score_fn(x + sigma * z, sigma) + z / sigma
    return (sigma ** 2 * r.pow(2).flatten(1).sum(1)).mean()


def dsm_score_at_clean(score_fn, x, sigma, z):
    """Evaluates the score at the clean data."""
    s = _col(sigma, x)
    r = score_fn(x, sigma) + z / s
    return (sigma ** 2 * r.pow(2).flatten(1).sum(1)).mean()


def dsm_sum_over_batch(score_fn, x, sigma, z):
    """Sums over the batch instead of averaging."""
    s = _col(sigma, x)
    r = score_fn(x + s * z, sigma) + z / s
    return (sigma ** 2 * r.pow(2).flatten(1).sum(1)).sum()


def dsm_item(score_fn, x, sigma, z):
    """Returns a tensor rebuilt from .item(): no gradient reaches the network."""
    s = _col(sigma, x)
    r = score_fn(x + s * z, sigma) + z / s
    return torch.tensor((sigma ** 2 * r.pow(2).flatten(1).sum(1)).mean().item(), dtype=x.dtype)


def dsm_sigma_times_score(score_fn, x, sigma, z):
    """|sigma s + z|^2, the same quantity written without the weight."""
    s = _col(sigma, x)
    return (s * score_fn(x + s * z, sigma) + z).square().sum(dim=tuple(range(1, x.dim()))).mean()


def dsm_loop(score_fn, x, sigma, z):
    """One sample at a time (batches of one), float math of the weight."""
    total = 0.0
    for i in range(len(x)):
        xi, zi, si = x[i:i + 1], z[i:i + 1], sigma[i:i + 1]
        r = score_fn(xi + si.item() * zi, si) + zi / si.item()
        total = total + si[0] ** 2 * r.pow(2).sum()
    return total / len(x)


def eps_mean_over_elements(eps_fn, x, sigma, z):
    """F.mse_loss: the mean over elements."""
    return F.mse_loss(eps_fn(x + _col(sigma, x) * z, sigma), z)


def eps_at_clean(eps_fn, x, sigma, z):
    """Predicts the noise from the clean data."""
    return (eps_fn(x, sigma) - z).pow(2).flatten(1).sum(1).mean()


def eps_weighted_again(eps_fn, x, sigma, z):
    """Weights by sigma^2 once more: already the DSM weighting, now twice."""
    e = (eps_fn(x + _col(sigma, x) * z, sigma) - z).pow(2).flatten(1).sum(1)
    return (sigma ** 2 * e).mean()


def eps_predicts_clean(eps_fn, x, sigma, z):
    """Regresses onto the clean image instead of the noise."""
    return (eps_fn(x + _col(sigma, x) * z, sigma) - x).pow(2).flatten(1).sum(1).mean()


def eps_last_dim(eps_fn, x, sigma, z):
    """sigma broadcast along the last dimension."""
    return (eps_fn(x + sigma * z, sigma) - z).pow(2).flatten(1).sum(1).mean()


def eps_detached(eps_fn, x, sigma, z):
    """Detaches the prediction."""
    return (eps_fn(x + _col(sigma, x) * z, sigma).detach() - z).pow(2).flatten(1).sum(1).mean()


def eps_mse_times_size(eps_fn, x, sigma, z):
    """F.mse_loss with reduction='sum', divided by the batch size."""
    pred = eps_fn(x + _col(sigma, x) * z, sigma)
    return F.mse_loss(pred, z, reduction="sum") / x.shape[0]


def eps_via_dsm(eps_fn, x, sigma, z):
    """Through the identity: the sigma^2-weighted DSM loss of the score -eps / sigma."""
    s = _col(sigma, x)
    score = -eps_fn(x + s * z, sigma) / s
    return (sigma ** 2 * (score + z / s).pow(2).flatten(1).sum(1)).mean()


BUGS = [
    (checks.check_dsm_loss, dsm_weight_sigma),
    (checks.check_dsm_loss, dsm_unweighted),
    (checks.check_dsm_loss, dsm_mean_over_elements),
    (checks.check_dsm_loss, dsm_target_sign),
    (checks.check_dsm_loss, dsm_last_dim),
    (checks.check_dsm_loss, dsm_score_at_clean),
    (checks.check_dsm_loss, dsm_sum_over_batch),
    (checks.check_dsm_loss, dsm_item),
    (checks.check_eps_loss, eps_mean_over_elements),
    (checks.check_eps_loss, eps_at_clean),
    (checks.check_eps_loss, eps_weighted_again),
    (checks.check_eps_loss, eps_predicts_clean),
    (checks.check_eps_loss, eps_last_dim),
    (checks.check_eps_loss, eps_detached),
]

ALT_CORRECT = [
    (checks.check_dsm_loss, dsm_sigma_times_score),
    (checks.check_dsm_loss, dsm_loop),
    (checks.check_eps_loss, eps_mse_times_size),
    (checks.check_eps_loss, eps_via_dsm),
]
