"""01_theory, ``gmm_energy``: wrong implementations (``BUGS``: each must fail ``check_gmm_energy``)
and correct ones written differently (``ALT_CORRECT``: each must pass)."""

from __future__ import annotations

import math

import torch

from ebm_course.instructor.assignments.theory import checks
from ebm_course.instructor.assignments.theory import reference as ref01


def gmm_squeezes_batch_of_one(x, means, stds, weights):
    """keepdim logsumexp then .squeeze(): a batch of one gives a 0-d tensor, not shape (1,)."""
    d = x.shape[1]
    sq = (x[:, None, :] - means[None]).pow(2).sum(-1)
    log_n = -sq / (2 * stds ** 2) - d * torch.log(stds) - 0.5 * d * math.log(2 * math.pi)
    return -torch.logsumexp(torch.log(weights) + log_n, dim=1, keepdim=True).squeeze()


def gmm_batch_max_shift(x, means, stds, weights):
    """Hand-made logsumexp shifted by the max over the whole batch: far points underflow to inf."""
    d = x.shape[1]
    sq = (x[:, None, :] - means[None]).pow(2).sum(-1)
    terms = (torch.log(weights) - sq / (2 * stds ** 2) - d * torch.log(stds)
             - 0.5 * d * math.log(2 * math.pi))
    m = terms.max()
    return -(m + torch.log(torch.exp(terms - m).sum(1)))


def gmm_under_no_grad(x, means, stds, weights):
    """Computed under torch.no_grad() 'for speed': no dE/dx, Langevin cannot run on it."""
    with torch.no_grad():
        return ref01.gmm_energy(x, means, stds, weights)


def gmm_float32_table(x, means, stds, weights):
    """Fills a torch.zeros(B, K) table (default float32) per component: float64 is truncated."""
    d = x.shape[1]
    table = torch.zeros(x.shape[0], len(weights))
    for k in range(len(weights)):
        sq = (x - means[k]).pow(2).sum(1)
        table[:, k] = (torch.log(weights[k]) - sq / (2 * stds[k] ** 2) - d * torch.log(stds[k])
                       - 0.5 * d * math.log(2 * math.pi))
    return -torch.logsumexp(table, dim=1)


def gmm_log_sigma_once(x, means, stds, weights):
    """-log(sigma) instead of -d log(sigma): only right in 1D."""
    d = x.shape[1]
    sq = (x[:, None, :] - means[None]).pow(2).sum(-1)
    log_n = -sq / (2 * stds ** 2) - torch.log(stds) - 0.5 * d * math.log(2 * math.pi)
    return -torch.logsumexp(torch.log(weights) + log_n, dim=1)


def gmm_energy_component_loop(x, means, stds, weights):
    """A loop over components, a per-point max shift by hand, tables in the inputs' dtype."""
    d = x.shape[1]
    cols = []
    for k in range(len(weights)):
        sq = ((x - means[k]) ** 2).sum(dim=1)
        cols.append(torch.log(weights[k]) - 0.5 * sq / stds[k] ** 2 - d * torch.log(stds[k])
                    - d / 2 * math.log(2 * math.pi))
    terms = torch.stack(cols, dim=1)
    m = terms.max(dim=1, keepdim=True).values
    return -(m.squeeze(1) + torch.log(torch.exp(terms - m).sum(dim=1)))


def gmm_energy_expanded_square(x, means, stds, weights):
    """||x - mu||^2 expanded as ||x||^2 - 2 x . mu + ||mu||^2 (a matrix product), logsumexp."""
    d = x.shape[1]
    sq = (x * x).sum(1, keepdim=True) - 2 * x @ means.T + (means * means).sum(1)
    log_n = -0.5 * sq / stds.pow(2) - d * stds.log() - 0.5 * d * math.log(2 * math.pi)
    return -(weights.log() + log_n).logsumexp(1)


def gmm_ignores_weights(x, means, stds, weights):
    """Every component weighted 1/K."""
    return ref01.gmm_energy(x, means, stds, torch.full_like(weights, 1 / len(weights)))


def gmm_std_as_variance(x, means, stds, weights):
    """Plugs sigma where sigma^2 belongs."""
    return ref01.gmm_energy(x, means, stds.sqrt(), weights)


D = torch.distributions


def gmm_energy_distributions(x, means, stds, weights):
    """torch.distributions' mixture, not a hand-written logsumexp."""
    d = x.shape[1]
    comp = D.Independent(D.Normal(means, stds[:, None].expand(-1, d)), 1)
    return -D.MixtureSameFamily(D.Categorical(probs=weights), comp).log_prob(x)


BUGS = [
    (checks.check_gmm_energy, gmm_squeezes_batch_of_one),
    (checks.check_gmm_energy, gmm_batch_max_shift),
    (checks.check_gmm_energy, gmm_under_no_grad),
    (checks.check_gmm_energy, gmm_float32_table),
    (checks.check_gmm_energy, gmm_log_sigma_once),
    (checks.check_gmm_energy, gmm_ignores_weights),
    (checks.check_gmm_energy, gmm_std_as_variance),
]


ALT_CORRECT = [
    (checks.check_gmm_energy, gmm_energy_component_loop),
    (checks.check_gmm_energy, gmm_energy_expanded_square),
    (checks.check_gmm_energy, gmm_energy_distributions),
]
