"""01_theory, ``grid_log_partition``: wrong implementations (``BUGS``: each must fail
``check_grid_log_partition``) and correct ones written differently (``ALT_CORRECT``: each must
pass)."""

from __future__ import annotations

import math

import torch

from ebm_course import toy
from ebm_course.instructor.assignments.theory import checks


def log_z_under_no_grad(energy_fn, box, n_grid, dim=2):
    """Evaluates the grid under torch.no_grad(): log Z has no gradient for section 3."""
    with torch.no_grad():
        centres, vol = toy.grid_points(box, n_grid, dim)
        return torch.logsumexp(-energy_fn(centres), 0) + math.log(vol)


def log_z_item(energy_fn, box, n_grid, dim=2):
    """Goes through .item() and wraps the float back into torch.tensor: the graph is cut."""
    centres, vol = toy.grid_points(box, n_grid, dim)
    return torch.tensor(torch.logsumexp(-energy_fn(centres), 0).item() + math.log(vol))


def log_z_shift_by_max_energy(energy_fn, box, n_grid, dim=2):
    """Stabilises by the largest energy instead of the smallest: exp overflows on wide ranges."""
    centres, vol = toy.grid_points(box, n_grid, dim)
    e = energy_fn(centres)
    c = e.max()
    return torch.log(torch.exp(c - e).sum()) - c + math.log(vol)


def log_z_symmetric_box(energy_fn, box, n_grid, dim=2):
    """Cell side 2 * high / n_grid: assumes a box (-L, L)."""
    low, high = box
    h = 2 * high / n_grid
    axis = low + (high - low) / n_grid * (torch.arange(n_grid, dtype=torch.float32) + 0.5)
    pts = (axis[:, None] if dim == 1 else
           torch.stack(torch.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2))
    return torch.logsumexp(-energy_fn(pts), 0) + dim * math.log(h)


def log_z_linspace_nodes(energy_fn, box, n_grid, dim=2):
    """Evaluates E at linspace(low, high, n_grid) (edges and endpoints), not at the centres."""
    low, high = box
    h = (high - low) / n_grid
    axis = torch.linspace(low, high, n_grid)
    pts = (axis[:, None] if dim == 1 else
           torch.stack(torch.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2))
    return torch.logsumexp(-energy_fn(pts), 0) + dim * math.log(h)


def grid_log_partition_min_shift(energy_fn, box, n_grid, dim=2):
    """Own midpoints, a hand-made shift by the smallest energy instead of torch.logsumexp."""
    low, high = box
    h = (high - low) / n_grid
    axis = torch.arange(n_grid, dtype=torch.float32) * h + (low + h / 2)
    pts = (axis.unsqueeze(1) if dim == 1 else
           torch.cartesian_prod(axis, axis).reshape(-1, 2))
    e = energy_fn(pts)
    e_min = e.min()
    return -e_min + torch.log(torch.exp(-(e - e_min)).sum()) + dim * math.log(h)


def grid_log_partition_chunked_float64(energy_fn, box, n_grid, dim=2):
    """float64 cell centres evaluated in chunks, combined with torch.logaddexp."""
    low, high = box
    h = (high - low) / n_grid
    axis = low + h * (torch.arange(n_grid, dtype=torch.float64) + 0.5)
    pts = (axis[:, None] if dim == 1 else
           torch.stack(torch.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2))
    acc = None
    for chunk in pts.split(1000):
        part = torch.logsumexp(-energy_fn(chunk), 0)
        acc = part if acc is None else torch.logaddexp(acc, part)
    return acc + dim * math.log(h)


def log_z_cell_off_by_one(energy_fn, box, n_grid, dim=2):
    """Cell length (high - low) / (n_grid - 1): the off-by-one of linspace endpoints."""
    low, high = box
    centres, _ = toy.grid_points(box, n_grid, dim)
    return torch.logsumexp(-energy_fn(centres), 0) + dim * math.log((high - low) / (n_grid - 1))


def log_z_area_ignores_dim(energy_fn, box, n_grid, dim=2):
    """Always adds the log of a 2D cell area, also in 1D."""
    low, high = box
    centres, _ = toy.grid_points(box, n_grid, dim)
    return torch.logsumexp(-energy_fn(centres), 0) + 2 * math.log((high - low) / n_grid)


def grid_log_partition_meshgrid(energy_fn, box, n_grid, dim=2):
    """Builds the midpoints itself (meshgrid, 'xy' order: the sum does not care)."""
    low, high = box
    h = (high - low) / n_grid
    axis = low + h * (torch.arange(n_grid, dtype=torch.float32) + 0.5)
    pts = (axis[:, None] if dim == 1 else
           torch.stack(torch.meshgrid(axis, axis, indexing="xy"), -1).reshape(-1, 2))
    return torch.logsumexp(-energy_fn(pts), 0) + dim * math.log(h)


BUGS = [
    (checks.check_grid_log_partition, log_z_under_no_grad),
    (checks.check_grid_log_partition, log_z_item),
    (checks.check_grid_log_partition, log_z_shift_by_max_energy),
    (checks.check_grid_log_partition, log_z_symmetric_box),
    (checks.check_grid_log_partition, log_z_linspace_nodes),
    (checks.check_grid_log_partition, log_z_cell_off_by_one),
    (checks.check_grid_log_partition, log_z_area_ignores_dim),
]


ALT_CORRECT = [
    (checks.check_grid_log_partition, grid_log_partition_min_shift),
    (checks.check_grid_log_partition, grid_log_partition_chunked_float64),
    (checks.check_grid_log_partition, grid_log_partition_meshgrid),
]
