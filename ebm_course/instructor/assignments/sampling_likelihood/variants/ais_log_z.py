"""06_sampling_likelihood, ``ais_log_z``: wrong implementations (``BUGS``: each must fail
``check_ais_log_z``) and correct ones written differently (``ALT_CORRECT``: each must pass)."""

from __future__ import annotations

import math

import torch

from ebm_course.instructor.assignments.sampling_likelihood import checks
from ebm_course.instructor.assignments.sampling_likelihood import reference as ref


def _ais(energy_fn, base_energy_fn, base_log_z, x, betas, transition, *, mean_log=False,
         move_first=False, reverse=False, sign=1.0, prev_beta=False, no_base=False):
    betas = [float(b) for b in betas]
    if reverse:
        betas = [1 - b for b in betas[::-1]]
    log_w = torch.zeros(len(x), dtype=x.dtype)
    for b_prev, b in zip(betas[:-1], betas[1:]):
        energy_b = (lambda z, b=(b_prev if prev_beta else b):
                    (1 - b) * base_energy_fn(z) + b * energy_fn(z))
        if move_first:
            x = transition(energy_b, x).detach()
        with torch.no_grad():
            log_w = log_w + sign * (b_prev - b) * (energy_fn(x) - base_energy_fn(x))
        if not move_first:
            x = transition(energy_b, x).detach()
    z0 = 0.0 if no_base else base_log_z
    if mean_log:
        return z0 + log_w.mean(), log_w
    return z0 + torch.logsumexp(log_w, 0) - math.log(len(log_w)), log_w


def ais_mean_log_weights(energy_fn, base_energy_fn, base_log_z, x, betas, transition):
    """Mean of the log weights instead of the log of the mean weight."""
    return _ais(energy_fn, base_energy_fn, base_log_z, x, betas, transition, mean_log=True)


def ais_move_before_weight(energy_fn, base_energy_fn, base_log_z, x, betas, transition):
    """Moves first, then adds the weight increment at the new state."""
    return _ais(energy_fn, base_energy_fn, base_log_z, x, betas, transition, move_first=True)


def ais_reversed_temperatures(energy_fn, base_energy_fn, base_log_z, x, betas, transition):
    """Walks the schedule backwards (from the target to the base)."""
    return _ais(energy_fn, base_energy_fn, base_log_z, x, betas, transition, reverse=True)


def ais_weight_sign(energy_fn, base_energy_fn, base_log_z, x, betas, transition):
    """(b - b_prev)(E - E_0): the increment with the wrong sign."""
    return _ais(energy_fn, base_energy_fn, base_log_z, x, betas, transition, sign=-1.0)


def ais_moves_at_old_temperature(energy_fn, base_energy_fn, base_log_z, x, betas, transition):
    """The move after increment k leaves the previous temperature b_{k-1} invariant."""
    return _ais(energy_fn, base_energy_fn, base_log_z, x, betas, transition, prev_beta=True)


def ais_forgets_base_log_z(energy_fn, base_energy_fn, base_log_z, x, betas, transition):
    """Returns log(Z / Z_0): the base's normaliser left out."""
    return _ais(energy_fn, base_energy_fn, base_log_z, x, betas, transition, no_base=True)


def ais_naive_mean_exp(energy_fn, base_energy_fn, base_log_z, x, betas, transition):
    """log(mean(exp(log_w))) by hand: underflows to -inf far from the base."""
    log_z, log_w = _ais(energy_fn, base_energy_fn, base_log_z, x, betas, transition)
    return base_log_z + torch.log(torch.exp(log_w).mean()), log_w


def ais_log_z_tensor_betas(energy_fn, base_energy_fn, base_log_z, x, betas, transition):
    """Betas as a tensor, increments via torch.diff, logsumexp by hand (stable), no final move."""
    betas = torch.as_tensor(betas, dtype=torch.float64)
    diffs = torch.diff(betas)
    log_w = x.new_zeros(len(x))
    for k, d in enumerate(diffs):
        b = betas[k + 1].item()
        with torch.no_grad():
            log_w -= d.item() * (energy_fn(x) - base_energy_fn(x))
        if k < len(diffs) - 1:
            x = transition(lambda z: base_energy_fn(z) + b * (energy_fn(z) - base_energy_fn(z)), x)
    m = log_w.max()
    return base_log_z + m + torch.log(torch.exp(log_w - m).mean()), log_w


BUGS = [
    (checks.check_ais_log_z, ais_mean_log_weights),
    (checks.check_ais_log_z, ais_move_before_weight),
    (checks.check_ais_log_z, ais_reversed_temperatures),
    (checks.check_ais_log_z, ais_weight_sign),
    (checks.check_ais_log_z, ais_moves_at_old_temperature),
    (checks.check_ais_log_z, ais_forgets_base_log_z),
    (checks.check_ais_log_z, ais_naive_mean_exp),
]


ALT_CORRECT = [
    (checks.check_ais_log_z, ref.ais_log_z),
    (checks.check_ais_log_z, ais_log_z_tensor_betas),
]
