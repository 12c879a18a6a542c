"""04_glyph_jem: helpers shared by the variants of several parts."""

from __future__ import annotations

import torch

CLAMP = (-1.0, 1.0)


def _energy_of(net, y):
    return (lambda x: -net(x)) if y is None else (lambda x: -net(x, y))


def _grad_at(energy_fn, x):
    """E(x) (detached) and dE/dx at one state."""
    leaf = x.detach().requires_grad_(True)
    with torch.enable_grad():
        energy = energy_fn(leaf)
        (grad,) = torch.autograd.grad(energy.sum(), leaf)
    return energy.detach(), grad


def _at(energy_fn, x):
    """The reference's trace point: E(x) and ||dE/dx|| of each chain."""
    energy, grad = _grad_at(energy_fn, x)
    return energy, grad.flatten(1).norm(dim=1)


def _traced(energy_fn, states, at=_at):
    """The trace of the states, ``at(energy_fn, x)`` giving E and the gradient size at each."""
    energies, norms = zip(*(at(energy_fn, x) for x in states))
    return {"energy": torch.stack(energies), "grad_norm": torch.stack(norms)}


def _chain(energy_fn, x_init, n_steps, step_fn, keep_steps, step_args):
    """The reference loop with the given step arguments: (x_final, kept, states)."""
    x = x_init.detach().clone()
    kept, states = {}, []
    for t in range(n_steps + 1):
        if t > 0:
            x = step_fn(energy_fn, x, *step_args)
        if t in keep_steps:
            kept[t] = x.detach().clone()
        states.append(x.detach().clone())
    return x, kept, states


def _traced_chain(at, net, x_init, n_steps, step_size, noise_std, step_fn, y, keep_steps):
    """The reference chain, its trace measured by ``at`` (see :func:`_traced`)."""
    energy_fn = _energy_of(net, y)
    x, kept, states = _chain(energy_fn, x_init, n_steps, step_fn, keep_steps,
                             (step_size, noise_std, None, CLAMP))
    return x, kept, _traced(energy_fn, states, at)
