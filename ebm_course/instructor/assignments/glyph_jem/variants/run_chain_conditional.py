"""04_glyph_jem, ``run_chain_conditional``: wrong implementations (``BUGS``: each must fail
``check_run_chain_conditional``) and correct ones written differently (``ALT_CORRECT``: each
must pass)."""

from __future__ import annotations

import torch

from ebm_course.instructor.assignments.glyph_jem import checks

from ._shared import CLAMP, _at, _energy_of, _traced, _traced_chain
from .run_chain import (
    rc_frozen_backward,
    rc_kept_by_copy,
    rc_torch_func_while,
    rc_trace_afterwards_in_one_batch,
    run_chain_package_chain,
)


def rc_ignores_labels(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                      keep_steps=()):
    """Samples and traces the unconditional energy whatever y is."""
    return _traced_chain(_at, net, x_init, n_steps, step_size, noise_std, step_fn, None,
                         keep_steps)


def rc_trace_unconditional(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                           keep_steps=()):
    """Samples E(x, y) but traces -net(x)."""
    return _traced_chain(lambda energy_fn, x: _at(_energy_of(net, None), x), net, x_init,
                         n_steps, step_size, noise_std, step_fn, y, keep_steps)


def rc_grad_norm_unconditional(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                               keep_steps=()):
    """The energy trace of E(x, y), the gradient norm of -net(x)."""

    def at(energy_fn, x):
        return _at(energy_fn, x)[0], _at(_energy_of(net, None), x)[1]

    return _traced_chain(at, net, x_init, n_steps, step_size, noise_std, step_fn, y, keep_steps)


def rc_backward_into_parameters(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                                keep_steps=()):
    """.backward() for dE/dx: the parameters' .grad fill up too."""

    def at(energy_fn, x):
        leaf = x.requires_grad_(True)
        with torch.enable_grad():
            energy = energy_fn(leaf)
            energy.sum().backward()
        return energy.detach(), leaf.grad.flatten(1).norm(dim=1)

    return _traced_chain(at, net, x_init, n_steps, step_size, noise_std, step_fn, y, keep_steps)


def rc_trace_without_enable_grad(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                                 keep_steps=()):
    """Differentiates without torch.enable_grad(): fails when called under torch.no_grad()."""

    def at(energy_fn, x):
        leaf = x.requires_grad_(True)
        energy = energy_fn(leaf)
        (grad,) = torch.autograd.grad(energy.sum(), leaf)
        return energy.detach(), grad.flatten(1).norm(dim=1)

    return _traced_chain(at, net, x_init, n_steps, step_size, noise_std, step_fn, y, keep_steps)


def rc_start_shares_x_init(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                           keep_steps=()):
    """x = x_init.detach(): shares x_init's memory, so a step in place overwrites x_init."""
    energy_fn = _energy_of(net, y)
    x = x_init.detach()
    kept, states = {}, []
    for t in range(n_steps + 1):
        if t > 0:
            x = step_fn(energy_fn, x, step_size, noise_std, None, CLAMP)
        if t in keep_steps:
            kept[t] = x.detach().clone()
        states.append(x.detach().clone())
    return x, kept, _traced(energy_fn, states)


def rc_unfreezes_every_parameter(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                                 keep_steps=()):
    """Freezes the parameters while sampling, then sets requires_grad=True on all of them."""
    for p in net.parameters():
        p.requires_grad_(False)
    out = _traced_chain(_at, net, x_init, n_steps, step_size, noise_std, step_fn, y, keep_steps)
    for p in net.parameters():
        p.requires_grad_(True)
    return out


BUGS = [
    (checks.check_run_chain_conditional, rc_ignores_labels),
    (checks.check_run_chain_conditional, rc_trace_unconditional),
    (checks.check_run_chain_conditional, rc_grad_norm_unconditional),
    (checks.check_run_chain_conditional, rc_backward_into_parameters),
    (checks.check_run_chain_conditional, rc_trace_without_enable_grad),
    (checks.check_run_chain_conditional, rc_start_shares_x_init),
    (checks.check_run_chain_conditional, rc_unfreezes_every_parameter),
]


ALT_CORRECT = [
    (checks.check_run_chain_conditional, rc_trace_afterwards_in_one_batch),
    (checks.check_run_chain_conditional, rc_torch_func_while),
    (checks.check_run_chain_conditional, rc_frozen_backward),
    (checks.check_run_chain_conditional, run_chain_package_chain),
    (checks.check_run_chain_conditional, rc_kept_by_copy),
]
