"""02_toy_densities, ``nce_loss``: wrong implementations (``BUGS``: each must fail
``check_nce_loss``) and correct ones written differently (``ALT_CORRECT``: each must pass)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ebm_course.instructor.assignments.toy import checks


def nce_log_of_sigmoid(energy_fn, x_data, x_noise, log_q_data, log_q_noise):
    """log(sigmoid(G)) instead of logsigmoid: -inf once the logits are large."""
    nu = len(x_noise) / len(x_data)
    g_data = -energy_fn(x_data) - log_q_data - math.log(nu)
    g_noise = -energy_fn(x_noise) - log_q_noise - math.log(nu)
    return -(torch.log(torch.sigmoid(g_data)).mean()
             + nu * torch.log(1 - torch.sigmoid(g_noise)).mean())


def nce_integer_ratio(energy_fn, x_data, x_noise, log_q_data, log_q_noise):
    """nu = len(x_noise) // len(x_data): integer division."""
    nu = max(len(x_noise) // len(x_data), 1)
    g_data = -energy_fn(x_data) - log_q_data - math.log(nu)
    g_noise = -energy_fn(x_noise) - log_q_noise - math.log(nu)
    return -(F.logsigmoid(g_data).mean() + nu * F.logsigmoid(-g_noise).mean())


def nce_noise_energy_detached(energy_fn, x_data, x_noise, log_q_data, log_q_noise):
    """Detaches the noise energies (as CD detaches its samples): half the gradient is lost."""
    nu = len(x_noise) / len(x_data)
    g_data = -energy_fn(x_data) - log_q_data - math.log(nu)
    g_noise = -energy_fn(x_noise).detach() - log_q_noise - math.log(nu)
    return -(F.logsigmoid(g_data).mean() + nu * F.logsigmoid(-g_noise).mean())


def nce_mean_over_all_points(energy_fn, x_data, x_noise, log_q_data, log_q_noise):
    """Averages the per-point losses over data and noise together (divides by B + B')."""
    nu = len(x_noise) / len(x_data)
    g_data = -energy_fn(x_data) - log_q_data - math.log(nu)
    g_noise = -energy_fn(x_noise) - log_q_noise - math.log(nu)
    return -torch.cat([F.logsigmoid(g_data), F.logsigmoid(-g_noise)]).mean()


def nce_loss_softplus_sums(energy_fn, x_data, x_noise, log_q_data, log_q_noise):
    """-logsigmoid(z) = softplus(-z); nu * mean over noise written as sum / B."""
    b = len(x_data)
    log_nu = math.log(len(x_noise)) - math.log(b)
    g_data = -energy_fn(x_data) - log_q_data - log_nu
    g_noise = -energy_fn(x_noise) - log_q_noise - log_nu
    return (F.softplus(-g_data).sum() + F.softplus(g_noise).sum()) / b


def nce_labels_swapped(energy_fn, x_data, x_noise, log_q_data, log_q_noise):
    """Noise classified as the positive class, data as the negative one."""
    nu = len(x_noise) / len(x_data)
    logit_data = -energy_fn(x_data) - log_q_data - math.log(nu)
    logit_noise = -energy_fn(x_noise) - log_q_noise - math.log(nu)
    return -(F.logsigmoid(-logit_data).mean() + nu * F.logsigmoid(logit_noise).mean())


def nce_loss_bce(energy_fn, x_data, x_noise, log_q_data, log_q_noise):
    """binary_cross_entropy_with_logits with per-class weights."""
    nu = len(x_noise) / len(x_data)
    logits = torch.cat([-energy_fn(x_data) - log_q_data, -energy_fn(x_noise) - log_q_noise])
    logits = logits - math.log(nu)
    labels = torch.cat([torch.ones(len(x_data)), torch.zeros(len(x_noise))])
    per_point = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    return per_point[: len(x_data)].mean() + nu * per_point[len(x_data):].mean()


BUGS = [
    (checks.check_nce_loss, nce_log_of_sigmoid),
    (checks.check_nce_loss, nce_integer_ratio),
    (checks.check_nce_loss, nce_noise_energy_detached),
    (checks.check_nce_loss, nce_mean_over_all_points),
    (checks.check_nce_loss, nce_labels_swapped),
]


ALT_CORRECT = [
    (checks.check_nce_loss, nce_loss_softplus_sums),
    (checks.check_nce_loss, nce_loss_bce),
]
