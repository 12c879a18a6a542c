"""01_theory, ``cd_gradient``: wrong implementations (``BUGS``: each must fail
``check_cd_gradient``) and correct ones written differently (``ALT_CORRECT``: each must pass)."""

from __future__ import annotations

import torch

from ebm_course.instructor.assignments.theory import checks


def cd_gradient_samples_attached(energy_fn, params, x_data, x_model):
    """Forgets to detach x_model: a gradient flows through the samples into the parameters."""
    loss = energy_fn(x_data).mean() - energy_fn(x_model).mean()
    return list(torch.autograd.grad(loss, list(params)))


def cd_gradient_divides_by_data_size(energy_fn, params, x_data, x_model):
    """(sum E(data) - sum E(samples)) / len(x_data): only right when both batches are equal."""
    loss = (energy_fn(x_data).sum() - energy_fn(x_model.detach()).sum()) / len(x_data)
    return list(torch.autograd.grad(loss, list(params)))


def cd_gradient_paired_difference(energy_fn, params, x_data, x_model):
    """Mean of E(data_i) - E(sample_i), pairing the two batches: breaks when their sizes differ."""
    loss = (energy_fn(x_data) - energy_fn(x_model.detach())).mean()
    return list(torch.autograd.grad(loss, list(params)))


def cd_gradient_backward_accumulates(energy_fn, params, x_data, x_model):
    """loss.backward() and returns p.grad without clearing it: adds to leftover gradients."""
    params = list(params)
    loss = energy_fn(x_data).mean() - energy_fn(x_model.detach()).mean()
    loss.backward()
    return [p.grad.clone() for p in params]


def cd_gradient_detaches_model_energy(energy_fn, params, x_data, x_model):
    """Detaches the model energy instead of the samples: the negative phase is lost."""
    loss = energy_fn(x_data).mean() - energy_fn(x_model).detach().mean()
    return list(torch.autograd.grad(loss, list(params)))


def cd_gradient_weighted_pass(energy_fn, params, x_data, x_model):
    """One pass over both batches with weights +1/B and -1/B' (torch.cat, a weighted sum)."""
    x_model = x_model.detach()
    energies = energy_fn(torch.cat([x_data, x_model]))
    w = torch.cat([torch.full((len(x_data),), 1.0 / len(x_data)),
                   torch.full((len(x_model),), -1.0 / len(x_model))]).to(energies)
    return list(torch.autograd.grad((w * energies).sum(), list(params)))


def cd_gradient_backward_restored(energy_fn, params, x_data, x_model):
    """loss.backward() on cleared .grad, returns clones and puts the old .grad back."""
    params = list(params)
    saved = [p.grad for p in params]
    for p in params:
        p.grad = None
    loss = energy_fn(x_data).mean() - energy_fn(x_model.detach()).mean()
    loss.backward()
    out = [p.grad.clone() for p in params]
    for p, old in zip(params, saved):
        p.grad = old
    return out


def cd_gradient_no_negative_phase(energy_fn, params, x_data, x_model):
    """Only the data term: the gradient of mean E(x_data)."""
    return list(torch.autograd.grad(energy_fn(x_data).mean(), list(params)))


def cd_gradient_two_grads(energy_fn, params, x_data, x_model):
    """Two autograd calls, subtracted: the gradient of each phase separately."""
    params = list(params)
    g_data = torch.autograd.grad(energy_fn(x_data).mean(), params)
    g_model = torch.autograd.grad(energy_fn(x_model.detach()).mean(), params)
    return [a - b for a, b in zip(g_data, g_model)]


BUGS = [
    (checks.check_cd_gradient, cd_gradient_samples_attached),
    (checks.check_cd_gradient, cd_gradient_divides_by_data_size),
    (checks.check_cd_gradient, cd_gradient_paired_difference),
    (checks.check_cd_gradient, cd_gradient_backward_accumulates),
    (checks.check_cd_gradient, cd_gradient_detaches_model_energy),
    (checks.check_cd_gradient, cd_gradient_no_negative_phase),
]


ALT_CORRECT = [
    (checks.check_cd_gradient, cd_gradient_weighted_pass),
    (checks.check_cd_gradient, cd_gradient_backward_restored),
    (checks.check_cd_gradient, cd_gradient_two_grads),
]
