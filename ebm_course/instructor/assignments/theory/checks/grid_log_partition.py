"""Hidden checks of 01_theory: ``grid_log_partition``."""

from __future__ import annotations

import math

import torch

from ebm_course.instructor.assignments.theory import reference as ref01
from ebm_course.instructor.grading.common import expect_tensor, guard_checks

from ._shared import _close, _isolated, _mixture


def _gaussian(mean, std, dtype=torch.float32):
    mean_t = torch.tensor(mean, dtype=dtype)
    return lambda x: (x.to(dtype) - mean_t).pow(2).sum(1) / (2 * std ** 2)


def _scalar(value, what: str) -> torch.Tensor:
    value = expect_tensor(value, what)
    assert value.shape == (), (
        f"{what}: log Z should be a scalar tensor (shape ()), got a tensor with "
        f"{value.dim()} dimension(s)")
    assert value.is_floating_point(), f"{what}: expected a floating-point tensor"
    return value


def _check_gaussians(log_partition_fn) -> None:
    """Analytic Gaussians: asymmetric boxes, non-round numbers of cells; a narrow Gaussian, whose
    energies span hundreds of nats across the box."""
    for dim, mean, std, box, n_grid in [(1, [0.4], 0.7, (-5.3, 6.1), 37),
                                        (2, [0.3, -0.6], 0.55, (-3.7, 4.4), 53),
                                        (2, [1.1, 0.2], 1.3, (-8.2, 9.5), 61)]:
        what = (f"log Z of a {dim}D Gaussian on an asymmetric box with a non-round number "
                f"of cells")
        got = _scalar(log_partition_fn(_gaussian(mean, std), box, n_grid, dim), what)
        exact = 0.5 * dim * math.log(2 * math.pi * std ** 2)
        err = abs(got.item() - exact)
        assert err < 2e-3, (
            f"{what}: differs from d/2 log(2 pi std^2) by {err:.2g}. Evaluate E at the cell "
            f"centres, low + (i + 1/2) (high - low) / n_grid, and add dim * log of the cell "
            f"side (high - low) / n_grid")

    # a narrow Gaussian: energies spanning hundreds of nats across the box
    got = _scalar(log_partition_fn(_gaussian([0.2, -0.1], 0.2), (-6.0, 6.0), 97, 2),
                  "log Z of a narrow Gaussian (energies spanning a wide range)")
    err = abs(got.item() - math.log(2 * math.pi * 0.2 ** 2))
    assert err < 2e-3, (
        f"log Z of a narrow Gaussian, whose energies span hundreds of nats over the box: off "
        f"by {err:.2g}. exp(E_max - E) overflows: use torch.logsumexp over -E")


def _check_shifted_energies(log_partition_fn) -> None:
    """A mixture plus constants: log Z(E + c) = log Z(E) - c, with exp(-E) under/overflowing."""
    g = torch.Generator().manual_seed(7)
    means, stds, weights = _mixture(4, 2, g)
    box = (-6.5, 5.5)
    base = lambda x: ref01.gmm_energy(x, means, stds, weights)  # noqa: E731
    want = ref01.grid_log_partition(base, box, 71, 2)
    for shift, words in [(0.0, "a Gaussian mixture"),
                         (700.0, "energies around +700 (exp(-E) underflows)"),
                         (-700.0, "energies around -700 (exp(-E) overflows)")]:
        energy = (lambda s: lambda x: base(x) + s)(shift)
        what = f"log Z of {words}"
        got = _scalar(log_partition_fn(energy, box, 71, 2), what)
        err = abs(got.item() - (want.item() - shift))
        assert err < 3e-3, (f"{what}: off by {err:.2g}; log Z(E + c) must be log Z(E) - c. "
                            f"Work in logs: torch.logsumexp(-E) + dim * log(cell side)")


def _check_coarse_grids(log_partition_fn) -> None:
    """Very coarse grids: the midpoint rule itself, against the reference."""
    for dim, n_grid in [(1, 1), (2, 3)]:
        energy = _gaussian([0.3] * dim, 1.1)
        what = f"log Z on a very coarse {dim}D grid (few cells per axis)"
        got = _scalar(log_partition_fn(energy, (-2.2, 3.1), n_grid, dim), what)
        want = ref01.grid_log_partition(energy, (-2.2, 3.1), n_grid, dim)
        err = abs(got.item() - want.item())
        assert err < 1e-4, (f"{what}: off by {err:.2g}; one value per cell, at its centre, "
                            f"times the cell volume")


def _check_parameter_gradients(log_partition_fn) -> None:
    """Differentiable in the energy's parameters: d log Z / d theta = -E_p[dE/dtheta]."""
    mu = torch.tensor([0.3, -0.4], requires_grad=True)
    log_s = torch.tensor(-0.2, requires_grad=True)
    tilt = torch.tensor(0.6, requires_grad=True)
    params = [mu, log_s, tilt]

    def tilted(x):
        return ((x - mu).pow(2).sum(1) / (2 * torch.exp(2 * log_s))
                + tilt * torch.sin(2 * x[:, 0]))

    what = "log Z of an energy with parameters"
    got = _scalar(log_partition_fn(tilted, (-5.1, 4.7), 89, 2), what)
    assert got.requires_grad, (
        f"{what}: log Z must stay differentiable in the parameters (section 3 differentiates "
        f"through it): no torch.no_grad(), .item(), .detach() or torch.tensor(...) around it")
    grads = torch.autograd.grad(got, params, allow_unused=True)
    want = torch.autograd.grad(ref01.grid_log_partition(tilted, (-5.1, 4.7), 89, 2), params)
    for name, a, b in zip(("the means", "the log std", "a tilt"), grads, want):
        assert a is not None, f"{what}: no gradient reaches {name} of the energy"
        _close(a, b, f"the gradient of log Z with respect to {name} of the energy "
               f"(= -E_p[dE/dtheta])", 1e-4, 1e-3)


def _check_float64(log_partition_fn) -> None:
    """A float64 energy: log Z in float64, at float64 precision."""
    energy = _gaussian([0.1, 0.7], 0.9, dtype=torch.float64)
    what = "log Z of a float64 energy"
    got = _scalar(log_partition_fn(energy, (-5.9, 6.3), 67, 2), what)
    assert got.dtype == torch.float64, (
        f"{what}: expected dtype torch.float64 (the energy's), got {got.dtype}")
    err = abs(got.item() - ref01.grid_log_partition(energy, (-5.9, 6.3), 67, 2).item())
    assert err < 1e-6, f"{what}: off by {err:.2g} (float32 somewhere?)"


def check_grid_log_partition(log_partition_fn) -> None:
    """log Z by the midpoint rule: Gaussians (analytic) on asymmetric boxes and non-round grids
    in 1D and 2D, energies around +-700 and spanning a wide range, a float64 energy, and the
    gradient of log Z with respect to the energy's parameters."""
    with _isolated(log_partition_fn, "grid_log_partition"):
        _check_gaussians(log_partition_fn)
        _check_shifted_energies(log_partition_fn)
        _check_coarse_grids(log_partition_fn)
        _check_parameter_gradients(log_partition_fn)
        _check_float64(log_partition_fn)


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
