"""02_toy_densities, ``exact_sm_loss``: wrong implementations (``BUGS``: each must fail
``check_exact_sm_loss``) and correct ones written differently (``ALT_CORRECT``: each must pass)."""

from __future__ import annotations

import torch

from ebm_course.instructor.assignments.toy import checks


def sm_loss_trace_without_create_graph(energy_fn, x_data):
    """The Hessian diagonal without create_graph=True: the trace term has no parameter gradient."""
    x = x_data.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(energy_fn(x).sum(), x, create_graph=True)
    trace = sum(torch.autograd.grad(g[:, i].sum(), x, retain_graph=True)[0][:, i]
                for i in range(x.shape[1]))
    return (0.5 * g.pow(2).sum(1) - trace).mean()


def sm_loss_two_coordinates(energy_fn, x_data):
    """Hard-codes two dimensions in the trace loop (range(2))."""
    x = x_data.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(energy_fn(x).sum(), x, create_graph=True)
    trace = sum(torch.autograd.grad(g[:, i].sum(), x, create_graph=True)[0][:, i]
                for i in range(2))
    return (0.5 * g.pow(2).sum(1) - trace).mean()


def sm_loss_hessian_sum(energy_fn, x_data):
    """Differentiates sum(grad) once: the sum of all Hessian entries, not its trace."""
    x = x_data.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(energy_fn(x).sum(), x, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), x, create_graph=True)
    return (0.5 * g.pow(2).sum(1) - h.sum(1)).mean()


def sm_loss_backward_for_score(energy_fn, x_data):
    """Gets the score with .backward(create_graph=True) and x.grad: stray parameter gradients."""
    x = x_data.detach().requires_grad_(True)
    energy_fn(x).sum().backward(create_graph=True)
    g = x.grad
    trace = sum(torch.autograd.grad(g[:, i].sum(), x, create_graph=True)[0][:, i]
                for i in range(x.shape[1]))
    return (0.5 * g.pow(2).sum(1) - trace).mean()


def sm_loss_one_hot_grad_outputs(energy_fn, x_data):
    """Hessian diagonal through grad_outputs = one-hot columns, a sum over a list comprehension."""
    x = x_data.detach().clone().requires_grad_(True)
    energy = energy_fn(x)
    (score,) = torch.autograd.grad(energy, x, grad_outputs=torch.ones_like(energy),
                                   create_graph=True)
    diag = []
    for i in range(x.shape[1]):
        e_i = torch.zeros_like(score)
        e_i[:, i] = 1.0
        (row,) = torch.autograd.grad(score, x, grad_outputs=e_i, create_graph=True)
        diag.append(row[:, i])
    laplacian = torch.stack(diag, 1).sum(1)
    return (0.5 * (score * score).sum(1) - laplacian).mean()


def sm_loss_no_half(energy_fn, x_data):
    """Drops the 1/2 in front of the squared score."""
    x = x_data.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(energy_fn(x).sum(), x, create_graph=True)
    trace = sum(torch.autograd.grad(g[:, i].sum(), x, create_graph=True)[0][:, i]
                for i in range(x.shape[1]))
    return (g.pow(2).sum(1) - trace).mean()


BUGS = [
    (checks.check_exact_sm_loss, sm_loss_trace_without_create_graph),
    (checks.check_exact_sm_loss, sm_loss_two_coordinates),
    (checks.check_exact_sm_loss, sm_loss_hessian_sum),
    (checks.check_exact_sm_loss, sm_loss_backward_for_score),
    (checks.check_exact_sm_loss, sm_loss_no_half),
]


ALT_CORRECT = [
    (checks.check_exact_sm_loss, sm_loss_one_hot_grad_outputs),
]
