"""03_mnist_ebm, ``ebm_loss``: wrong implementations (``BUGS``: each must fail ``check_ebm_loss``)
and correct ones written differently (``ALT_CORRECT``: each must pass)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ebm_course.instructor.assignments.mnist_ebm import checks
from ebm_course.instructor.assignments.mnist_ebm import reference as ref03


def loss_model_energy_detached(energy_data, energy_model, alpha):
    """Detaches energy_model ("no gradient through the samples"): its gradient is lost."""
    return ref03.ebm_loss(energy_data, energy_model.detach(), alpha)


def loss_reg_detached(energy_data, energy_model, alpha):
    """Computes reg from detached energies: the regulariser never acts on the network."""
    cd = energy_data.mean() - energy_model.mean()
    reg = energy_data.detach().pow(2).mean() + energy_model.detach().pow(2).mean()
    return cd + alpha * reg, cd, reg


def loss_reg_over_concatenation(energy_data, energy_model, alpha):
    """reg = mean of E^2 over both batches together: half the regulariser."""
    cd = energy_data.mean() - energy_model.mean()
    reg = torch.cat([energy_data, energy_model]).pow(2).mean()
    return cd + alpha * reg, cd, reg


def loss_returns_scaled_reg(energy_data, energy_model, alpha):
    """Returns alpha * reg as reg."""
    cd = energy_data.mean() - energy_model.mean()
    reg = alpha * (energy_data.pow(2).mean() + energy_model.pow(2).mean())
    return cd + reg, cd, reg


def loss_reg_by_variance(energy_data, energy_model, alpha):
    """mean E^2 as var() + mean^2 with the unbiased var: wrong, NaN on a batch of one."""
    cd = energy_data.mean() - energy_model.mean()
    reg = (energy_data.var() + energy_data.mean() ** 2
           + energy_model.var() + energy_model.mean() ** 2)
    return cd + alpha * reg, cd, reg


def loss_reg_sum(energy_data, energy_model, alpha):
    """Sums the squared energies instead of averaging them."""
    cd = energy_data.mean() - energy_model.mean()
    reg = energy_data.pow(2).sum() + energy_model.pow(2).sum()
    return cd + alpha * reg, cd, reg


def loss_reg_l1(energy_data, energy_model, alpha):
    """An L1 regulariser, mean |E|, instead of mean E^2."""
    cd = energy_data.mean() - energy_model.mean()
    reg = energy_data.abs().mean() + energy_model.abs().mean()
    return cd + alpha * reg, cd, reg


def loss_pairwise(energy_data, energy_model, alpha):
    """cd as the mean of differences, reg as the mean of summed squares (one batch size B)."""
    cd = (energy_data - energy_model).mean()
    reg = (energy_data.square() + energy_model.square()).mean()
    return cd + alpha * reg, cd, reg


def loss_mse_logged_detached(energy_data, energy_model, alpha):
    """reg by F.mse_loss against zeros; cd and reg returned detached, for logging only."""
    cd = torch.mean(energy_data) - torch.mean(energy_model)
    reg = (F.mse_loss(energy_data, torch.zeros_like(energy_data))
           + F.mse_loss(energy_model, torch.zeros_like(energy_model)))
    loss = cd + alpha * reg
    return loss, cd.detach(), reg.detach()


def loss_float64_sums(energy_data, energy_model, alpha):
    """Sums divided by the batch size, computed in float64 and cast back to the input dtype."""
    d, m = energy_data.double(), energy_model.double()
    n = len(d)
    cd = (d.sum() - m.sum()) / n
    reg = (d.pow(2).sum() + m.pow(2).sum()) / n
    loss = cd + float(alpha) * reg
    dtype = energy_data.dtype
    return loss.to(dtype), cd.to(dtype), reg.to(dtype)


def ebm_loss_square_of_mean(energy_data, energy_model, alpha):
    """reg = mean(E)^2 instead of mean(E^2)."""
    cd = energy_data.mean() - energy_model.mean()
    reg = energy_data.mean() ** 2 + energy_model.mean() ** 2
    return cd + alpha * reg, cd, reg


def ebm_loss_python_floats(energy_data, energy_model, alpha):
    """Numbers, not tensors: no gradient reaches the network."""
    cd = energy_data.mean().item() - energy_model.mean().item()
    reg = energy_data.pow(2).mean().item() + energy_model.pow(2).mean().item()
    return cd + alpha * reg, cd, reg


def ebm_loss_stack(energy_data, energy_model, alpha):
    """torch.stack and dot products."""
    means = torch.stack([energy_data.mean(), energy_model.mean()])
    cd = means @ torch.tensor([1.0, -1.0])
    reg = (energy_data.dot(energy_data) / len(energy_data)
           + energy_model.dot(energy_model) / len(energy_model))
    return cd + alpha * reg, cd, reg


BUGS = [
    (checks.check_ebm_loss, loss_model_energy_detached),
    (checks.check_ebm_loss, loss_reg_detached),
    (checks.check_ebm_loss, loss_reg_over_concatenation),
    (checks.check_ebm_loss, loss_returns_scaled_reg),
    (checks.check_ebm_loss, loss_reg_by_variance),
    (checks.check_ebm_loss, loss_reg_sum),
    (checks.check_ebm_loss, loss_reg_l1),
    (checks.check_ebm_loss, ebm_loss_square_of_mean),
    (checks.check_ebm_loss, ebm_loss_python_floats),
]


ALT_CORRECT = [
    (checks.check_ebm_loss, loss_pairwise),
    (checks.check_ebm_loss, loss_mse_logged_detached),
    (checks.check_ebm_loss, loss_float64_sums),
    (checks.check_ebm_loss, ebm_loss_stack),
]
