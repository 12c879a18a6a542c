"""02_toy_densities, ``grid_log_likelihood``: wrong implementations (``BUGS``: each must fail
``check_grid_log_likelihood``) and correct ones written differently (``ALT_CORRECT``: each must
pass)."""

from __future__ import annotations

import math

import torch

from ebm_course import toy
from ebm_course.instructor.assignments.toy import checks


def grid_ll_naive_exp(energy_fn, x_test, box=toy.TOY_BOX, n_grid=256):
    """log Z as log(sum(exp(-E)) * area): overflows / underflows for energies far from zero."""
    centres, area = toy.grid_points(box, n_grid)
    log_z = torch.log(torch.exp(-energy_fn(centres)).sum() * area)
    return -energy_fn(x_test).mean() - log_z


def grid_ll_ignores_n_grid(energy_fn, x_test, box=toy.TOY_BOX, n_grid=256):
    """Always sums over the default 256 x 256 grid, whatever n_grid is passed."""
    centres, area = toy.grid_points(box, 256)
    log_z = torch.logsumexp(-energy_fn(centres), 0) + math.log(area)
    return -energy_fn(x_test).mean() - log_z


def grid_ll_linspace_nodes(energy_fn, x_test, box=toy.TOY_BOX, n_grid=256):
    """Grid nodes from linspace(low, high, n_grid) (cell edges, not centres) with area h^2."""
    low, high = box
    axis = torch.linspace(low, high, n_grid)
    xx, yy = torch.meshgrid(axis, axis, indexing="ij")
    pts = torch.stack([xx.reshape(-1), yy.reshape(-1)], 1)
    h = (high - low) / n_grid
    return -energy_fn(x_test).mean() - (torch.logsumexp(-energy_fn(pts), 0) + 2 * math.log(h))


def grid_ll_rewrapped_float(energy_fn, x_test, box=toy.TOY_BOX, n_grid=256):
    """Returns torch.tensor(value.item()): always float32, whatever the dtype of x_test."""
    centres, area = toy.grid_points(box, n_grid)
    log_z = torch.logsumexp(-energy_fn(centres), 0) + math.log(area)
    return torch.tensor((-energy_fn(x_test).mean() - log_z).item())


def grid_ll_stable_by_hand_float64(energy_fn, x_test, box=toy.TOY_BOX, n_grid=256):
    """Own float64 grid ('xy' order), a hand-written max-shifted logsumexp, energies in chunks."""
    low, high = box
    h = (high - low) / n_grid
    axis = low + h * (torch.arange(n_grid, dtype=torch.float64) + 0.5)
    pts = torch.stack(torch.meshgrid(axis, axis, indexing="xy"), -1).reshape(-1, 2).float()
    neg = torch.cat([-energy_fn(chunk) for chunk in pts.split(1000)]).double()
    m = neg.max()
    log_z = m + (neg - m).exp().sum().log() + 2 * math.log(h)
    return (-energy_fn(x_test)).mean() - log_z.to(x_test.dtype)


def grid_ll_adds_log_z(energy_fn, x_test, box, n_grid=256):
    """log p = -E + log Z: the sign of log Z flipped."""
    centres, area = toy.grid_points(box, n_grid)
    log_z = torch.logsumexp(-energy_fn(centres), 0) + math.log(area)
    return -energy_fn(x_test).mean() + log_z


BUGS = [
    (checks.check_grid_log_likelihood, grid_ll_naive_exp),
    (checks.check_grid_log_likelihood, grid_ll_ignores_n_grid),
    (checks.check_grid_log_likelihood, grid_ll_linspace_nodes),
    (checks.check_grid_log_likelihood, grid_ll_rewrapped_float),
    (checks.check_grid_log_likelihood, grid_ll_adds_log_z),
]


ALT_CORRECT = [
    (checks.check_grid_log_likelihood, grid_ll_stable_by_hand_float64),
]
