"""02_toy_densities, ``cd_loss``: wrong implementations (``BUGS``: each must fail
``check_cd_loss``) and correct ones written differently (``ALT_CORRECT``: each must pass)."""

from __future__ import annotations

import torch

from ebm_course.instructor.assignments.toy import checks


def cd_loss_no_grad_model_term(energy_fn, x_data, x_model, alpha=0.0):
    """Computes the model energies under torch.no_grad(): the push-up term loses its gradient."""
    e_data = energy_fn(x_data)
    with torch.no_grad():
        e_model = energy_fn(x_model)
    return e_data.mean() - e_model.mean() + alpha * (e_data.pow(2).mean() + e_model.pow(2).mean())


def cd_loss_samples_not_detached(energy_fn, x_data, x_model, alpha=0.0):
    """Forgets to detach x_model: gradients flow back into the samples."""
    e_data, e_model = energy_fn(x_data), energy_fn(x_model)
    return e_data.mean() - e_model.mean() + alpha * (e_data.pow(2).mean() + e_model.pow(2).mean())


def cd_loss_penalty_detached(energy_fn, x_data, x_model, alpha=0.0):
    """Detaches the L2 penalty: right value, but the penalty never acts on the parameters."""
    e_data, e_model = energy_fn(x_data), energy_fn(x_model.detach())
    reg = (e_data.pow(2).mean() + e_model.pow(2).mean()).detach()
    return e_data.mean() - e_model.mean() + alpha * reg


def cd_loss_penalty_pooled(energy_fn, x_data, x_model, alpha=0.0):
    """Pools both batches for the penalty (2 * mean over all energies): right only if B == B'."""
    e_data, e_model = energy_fn(x_data), energy_fn(x_model.detach())
    reg = 2 * torch.cat([e_data, e_model]).pow(2).mean()
    return e_data.mean() - e_model.mean() + alpha * reg


def cd_loss_detach_everything_but_params(energy_fn, x_data, x_model, alpha=0.0):
    """Detaches both inputs (allowed), a loop over the two batches, torch.square."""
    means, squares = [], []
    for batch in (x_data.detach(), x_model.detach()):
        e = energy_fn(batch)
        means.append(e.mean())
        squares.append(torch.square(e).mean())
    return means[0] - means[1] + alpha * (squares[0] + squares[1])


def cd_loss_reg_data_only(energy_fn, x_data, x_model, alpha=0.0):
    """The L2 regulariser on the data energies only."""
    e_data, e_model = energy_fn(x_data), energy_fn(x_model)
    return e_data.mean() - e_model.mean() + alpha * e_data.pow(2).mean()


def cd_loss_reg_abs(energy_fn, x_data, x_model, alpha=0.0):
    """An L1 regulariser where the L2 one belongs."""
    e_data, e_model = energy_fn(x_data), energy_fn(x_model)
    return e_data.mean() - e_model.mean() + alpha * (e_data.abs().mean() + e_model.abs().mean())


def cd_loss_one_pass(energy_fn, x_data, x_model, alpha=0.0):
    """One forward pass over data and samples together."""
    e = energy_fn(torch.cat([x_data, x_model.detach()]))
    e_data, e_model = e[: len(x_data)], e[len(x_data):]
    reg = e_data.square().mean() + e_model.square().mean()
    return e_data.mean() - e_model.mean() + alpha * reg


def cd_loss_square_of_mean(energy_fn, x_data, x_model, alpha=0.0):
    """alpha * (mean(E_data)^2 + mean(E_model)^2): squares the means instead of averaging the
    squares (the same only when the energies are equal across points)."""
    e_data, e_model = energy_fn(x_data), energy_fn(x_model.detach())
    return e_data.mean() - e_model.mean() + alpha * (e_data.mean() ** 2 + e_model.mean() ** 2)


def cd_loss_variance_plus_mean(energy_fn, x_data, x_model, alpha=0.0):
    """mean(E^2) written as the (biased) variance plus the squared mean."""
    e_data, e_model = energy_fn(x_data), energy_fn(x_model.detach())
    reg = sum(e.var(unbiased=False) + e.mean() ** 2 if len(e) > 1 else e.pow(2).sum()
              for e in (e_data, e_model))
    return e_data.mean() - e_model.mean() + alpha * reg


BUGS = [
    (checks.check_cd_loss, cd_loss_no_grad_model_term),
    (checks.check_cd_loss, cd_loss_samples_not_detached),
    (checks.check_cd_loss, cd_loss_penalty_detached),
    (checks.check_cd_loss, cd_loss_penalty_pooled),
    (checks.check_cd_loss, cd_loss_reg_data_only),
    (checks.check_cd_loss, cd_loss_reg_abs),
    (checks.check_cd_loss, cd_loss_square_of_mean),
]


ALT_CORRECT = [
    (checks.check_cd_loss, cd_loss_detach_everything_but_params),
    (checks.check_cd_loss, cd_loss_one_pass),
    (checks.check_cd_loss, cd_loss_variance_plus_mean),
]
