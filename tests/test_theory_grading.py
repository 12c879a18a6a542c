"""The hidden checks of 01_theory pass the reference and fail seeded bugs."""

from __future__ import annotations

import math

import pytest
import torch

from ebm_course import toy
from ebm_course.instructor.assignments.glyph_jem import reference as ref04  # noqa: F401
from ebm_course.instructor.assignments.mnist_ebm import reference as ref03  # noqa: F401
from ebm_course.instructor.assignments.ood import reference as ref05  # noqa: F401
from ebm_course.instructor.assignments.theory import checks as grading_theory
from ebm_course.instructor.assignments.theory import reference as ref01  # noqa: F401
from ebm_course.instructor.assignments.toy import reference as ref02  # noqa: F401


def _bad_gmm_no_normaliser(x, means, stds, weights):  # forgets the -d log(sigma) term
    sq = (x[:, None, :] - means[None]).pow(2).sum(-1)
    return -torch.logsumexp(torch.log(weights) - sq / (2 * stds ** 2)
                            - 0.5 * x.shape[1] * math.log(2 * math.pi), 1)


def _bad_gmm_naive(x, means, stds, weights):  # log of a sum of exps: -inf far away
    d = x.shape[1]
    sq = (x[:, None, :] - means[None]).pow(2).sum(-1)
    dens = weights * torch.exp(-sq / (2 * stds ** 2)) / (2 * math.pi * stds ** 2) ** (d / 2)
    return -torch.log(dens.sum(1))


def _bad_log_z_no_area(energy_fn, box, n_grid, dim=2):
    centres, _ = toy.grid_points(box, n_grid, dim)
    return torch.logsumexp(-energy_fn(centres), 0)


def _bad_log_z_naive(energy_fn, box, n_grid, dim=2):  # exp underflows for shifted energies
    centres, vol = toy.grid_points(box, n_grid, dim)
    return torch.log(torch.exp(-energy_fn(centres)).sum() * vol)


def _bad_cd_gradient_sign(energy_fn, params, x_data, x_model):
    loss = energy_fn(x_model).mean() - energy_fn(x_data).mean()
    return list(torch.autograd.grad(loss, list(params)))


def _bad_cd_gradient_sum(energy_fn, params, x_data, x_model):  # sums instead of averaging
    loss = energy_fn(x_data).sum() - energy_fn(x_model).sum()
    return list(torch.autograd.grad(loss, list(params)))


def _bad_ula_noise(energy_fn, x, n_steps, step_size, generator=None):  # noise std = step_size
    x = x.clone()
    for _ in range(n_steps):
        x.requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(energy_fn(x).sum(), x)
        x = (x - step_size * g + step_size * torch.randn_like(x)).detach()
    return x


def _bad_ula_sign(energy_fn, x, n_steps, step_size, generator=None):  # ascends the energy
    x = x.clone()
    for _ in range(n_steps):
        x.requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(energy_fn(x).sum(), x)
        x = (x + step_size * g + math.sqrt(2 * step_size) * torch.randn_like(x)).detach()
    return x


def _bad_tv_no_half(samples, energy_fn, box, n_bins):
    return 2 * ref01.histogram_tv(samples, energy_fn, box, n_bins)


def _bad_tv_transposed(samples, energy_fn, box, n_bins):  # histogram axes swapped
    return ref01.histogram_tv(samples.flip(1), energy_fn, box, n_bins)


@pytest.mark.parametrize("check, reference, bugs", [
    (grading_theory.check_gmm_energy, ref01.gmm_energy, [_bad_gmm_no_normaliser, _bad_gmm_naive]),
    (grading_theory.check_grid_log_partition, ref01.grid_log_partition,
     [_bad_log_z_no_area, _bad_log_z_naive]),
    (grading_theory.check_cd_gradient, ref01.cd_gradient,
     [_bad_cd_gradient_sign, _bad_cd_gradient_sum]),
    (grading_theory.check_ula_chain, ref01.ula_chain, [_bad_ula_noise, _bad_ula_sign]),
    (grading_theory.check_histogram_tv, ref01.histogram_tv, [_bad_tv_no_half, _bad_tv_transposed]),
], ids=["gmm_energy", "log_partition", "cd_gradient", "ula_chain", "histogram_tv"])
def test_theory_grader_passes_reference_and_fails_bugs(check, reference, bugs):
    torch.manual_seed(0)
    check(reference)
    for bug in bugs:
        with pytest.raises(AssertionError):
            check(bug)
