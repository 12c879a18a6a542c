"""04_glyph_jem, ``run_chain``: wrong implementations (``BUGS``: each must fail
``check_run_chain``) and correct ones written differently (``ALT_CORRECT``: each must pass)."""

from __future__ import annotations

import math

import torch

from ebm_course import models, sampling
from ebm_course.instructor.assignments.glyph_jem import checks
from ebm_course.instructor.assignments.glyph_jem import reference as ref04
from ebm_course.instructor.assignments.mnist_ebm import reference as ref03

from ._shared import CLAMP, _at, _chain, _energy_of, _grad_at, _traced, _traced_chain


def rc_one_step_short(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                      keep_steps=()):
    """range(1, n_steps): one step fewer than asked."""
    energy_fn = _energy_of(net, y)
    x = x_init.detach().clone()
    states = [x.clone()]
    for _ in range(1, n_steps):
        x = step_fn(energy_fn, x, step_size, noise_std, None, CLAMP)
        states.append(x.detach().clone())
    kept = {t: states[t] for t in keep_steps if t < len(states)}
    return x, kept, _traced(energy_fn, states)


def rc_one_step_long(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                     keep_steps=()):
    """Steps inside a loop over the n_steps + 1 trace points: one step too many."""
    energy_fn = _energy_of(net, y)
    x = x_init.detach().clone()
    kept, states = {}, []
    for t in range(n_steps + 1):
        if t in keep_steps:
            kept[t] = x.detach().clone()
        states.append(x.detach().clone())
        x = step_fn(energy_fn, x, step_size, noise_std, None, CLAMP)
    return x, kept, _traced(energy_fn, states)


def rc_trace_without_start(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                           keep_steps=()):
    """Traces the state after each step only: (n_steps, B), no t = 0."""
    energy_fn = _energy_of(net, y)
    x, kept, states = _chain(energy_fn, x_init, n_steps, step_fn, keep_steps,
                             (step_size, noise_std, None, CLAMP))
    return x, kept, _traced(energy_fn, states[1:] or states)


def rc_trace_before_each_step(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                              keep_steps=()):
    """Traces the start, then each step's input: x_0 twice, x_n never."""
    energy_fn = _energy_of(net, y)
    x, kept, states = _chain(energy_fn, x_init, n_steps, step_fn, keep_steps,
                             (step_size, noise_std, None, CLAMP))
    return x, kept, _traced(energy_fn, [states[0], *states[:-1]])


def rc_kept_aliases_chain(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                          keep_steps=()):
    """Keeps the chain's own tensor: a step that works in place rewrites every kept state."""
    energy_fn = _energy_of(net, y)
    x = x_init.detach().clone()
    kept, states = {}, []
    for t in range(n_steps + 1):
        if t > 0:
            x = step_fn(energy_fn, x, step_size, noise_std, None, CLAMP)
        if t in keep_steps:
            kept[t] = x
        states.append(x.clone())
    return x, kept, _traced(energy_fn, states)


def rc_energy_is_neg_energy(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                            keep_steps=()):
    """Samples and traces net(x) itself: chains climb the energy."""
    energy_fn = (lambda x: net(x)) if y is None else (lambda x: net(x, y))
    x, kept, states = _chain(energy_fn, x_init, n_steps, step_fn, keep_steps,
                             (step_size, noise_std, None, CLAMP))
    return x, kept, _traced(energy_fn, states)


def _with_step_args(step_args, net, x_init, n_steps, step_fn, y, keep_steps):
    """The reference chain and trace, its steps called with ``step_args``."""
    energy_fn = _energy_of(net, y)
    x, kept, states = _chain(energy_fn, x_init, n_steps, step_fn, keep_steps, step_args)
    return x, kept, _traced(energy_fn, states)


def rc_no_clamp(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None, keep_steps=()):
    """Calls step_fn(energy_fn, x, step_size, noise_std): no clamp to [-1, 1]."""
    return _with_step_args((step_size, noise_std), net, x_init, n_steps, step_fn, y, keep_steps)


def rc_clamp_as_grad_clip(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                          keep_steps=()):
    """Passes the clamp in grad_clip's place (a positional argument too few)."""
    return _with_step_args((step_size, noise_std, CLAMP), net, x_init, n_steps, step_fn, y,
                           keep_steps)


def rc_langevin_noise(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                      keep_steps=()):
    """Replaces the noise by the textbook's sqrt(2 * step_size)."""
    return _with_step_args((step_size, math.sqrt(2 * step_size), None, CLAMP), net, x_init,
                           n_steps, step_fn, y, keep_steps)


def rc_restarts_every_step(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                           keep_steps=()):
    """Steps from x_init every time: n_steps one-step chains."""
    energy_fn = _energy_of(net, y)
    x = x_init.detach().clone()
    kept, states = {}, []
    for t in range(n_steps + 1):
        if t > 0:
            x = step_fn(energy_fn, x_init.detach().clone(), step_size, noise_std, None, CLAMP)
        if t in keep_steps:
            kept[t] = x.detach().clone()
        states.append(x.detach().clone())
    return x, kept, _traced(energy_fn, states)


def rc_calls_langevin_step_by_name(net, x_init, n_steps, step_size, noise_std, *, step_fn,
                                   y=None, keep_steps=()):
    """Calls assignment 3's langevin_step by name instead of the step_fn it is given."""
    return _traced_chain(_at, net, x_init, n_steps, step_size, noise_std, ref03.langevin_step,
                         y, keep_steps)


def rc_kept_as_list(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                    keep_steps=()):
    """Returns the kept states as a list in step order, not a dict by step."""
    x, kept, trace = _traced_chain(_at, net, x_init, n_steps, step_size, noise_std, step_fn, y,
                                   keep_steps)
    return x, [kept[t] for t in sorted(kept)], trace


def rc_kept_after_step_index(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                             keep_steps=()):
    """Keeps x_{t+1} under the 0-based loop index t: every kept state one step late."""
    energy_fn = _energy_of(net, y)
    x = x_init.detach().clone()
    kept, states = {}, [x.clone()]
    for t in range(n_steps):
        x = step_fn(energy_fn, x, step_size, noise_std, None, CLAMP)
        if t in keep_steps:
            kept[t] = x.detach().clone()
        states.append(x.detach().clone())
    return x, kept, _traced(energy_fn, states)


def rc_keeps_steps_past_the_end(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                                keep_steps=()):
    """Keeps the final state for requested steps after n_steps too."""
    x, kept, trace = _traced_chain(_at, net, x_init, n_steps, step_size, noise_std, step_fn, y,
                                   keep_steps)
    kept.update({t: x.detach().clone() for t in keep_steps if t > n_steps})
    return x, kept, trace


def _normed(norm, net, x_init, n_steps, step_size, noise_std, step_fn, y, keep_steps):
    """The reference chain with the trace's gradient size measured by ``norm(grad (B, ...))``."""

    def at(energy_fn, x):
        energy, grad = _grad_at(energy_fn, x)
        return energy, norm(grad)

    return _traced_chain(at, net, x_init, n_steps, step_size, noise_std, step_fn, y, keep_steps)


def rc_grad_norm_over_batch(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                            keep_steps=()):
    """One norm over the whole batch, repeated for every chain."""
    return _normed(lambda g: g.norm().expand(len(g)), net, x_init, n_steps, step_size, noise_std,
                   step_fn, y, keep_steps)


def rc_grad_norm_squared(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                         keep_steps=()):
    """The squared norm."""
    return _normed(lambda g: g.flatten(1).pow(2).sum(1), net, x_init, n_steps, step_size,
                   noise_std, step_fn, y, keep_steps)


def rc_grad_rms(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None, keep_steps=()):
    """The root mean square over the pixels (the norm / sqrt(D))."""
    return _normed(lambda g: g.flatten(1).pow(2).mean(1).sqrt(), net, x_init, n_steps, step_size,
                   noise_std, step_fn, y, keep_steps)


def rc_grad_of_mean_energy(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                           keep_steps=()):
    """Differentiates the batch's mean energy: every chain's norm divided by B."""
    return _normed(lambda g: (g / len(g)).flatten(1).norm(dim=1), net, x_init, n_steps,
                   step_size, noise_std, step_fn, y, keep_steps)


def rc_grad_of_logit_sum(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                         keep_steps=()):
    """The gradient of the sum of the logits, not of the energy."""

    def at(energy_fn, x):
        leaf = x.requires_grad_(True)
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(net.get_logits(leaf).sum(), leaf)
        return energy_fn(x).detach(), grad.flatten(1).norm(dim=1)

    return _traced_chain(at, net, x_init, n_steps, step_size, noise_std, step_fn, y, keep_steps)


def rc_trace_keeps_graph(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                         keep_steps=()):
    """Stacks the energies with their autograd graph (no detach)."""

    def at(energy_fn, x):
        leaf = x.requires_grad_(True)
        with torch.enable_grad():
            energy = energy_fn(leaf)
            (grad,) = torch.autograd.grad(energy.sum(), leaf, retain_graph=True)
        return energy, grad.flatten(1).norm(dim=1)

    return _traced_chain(at, net, x_init, n_steps, step_size, noise_std, step_fn, y, keep_steps)


def rc_trace_float32(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                     keep_steps=()):
    """Collects the trace as Python floats: float32 whatever the chains' dtype."""
    x, kept, trace = _traced_chain(_at, net, x_init, n_steps, step_size, noise_std, step_fn, y,
                                   keep_steps)
    return x, kept, {k: torch.tensor(v.tolist()) for k, v in trace.items()}


def rc_trace_squeezed(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                      keep_steps=()):
    """.squeeze() on the trace: (n_steps + 1,) for a batch of one."""
    x, kept, trace = _traced_chain(_at, net, x_init, n_steps, step_size, noise_std, step_fn, y,
                                   keep_steps)
    return x, kept, {k: v.squeeze() for k, v in trace.items()}


def rc_trace_afterwards_in_one_batch(net, x_init, n_steps, step_size, noise_std, *, step_fn,
                                     y=None, keep_steps=()):
    """Keeps every state, then one forward and one gradient over all (n_steps + 1) * B of them."""
    energy_fn = _energy_of(net, y)
    states = [x_init.detach().clone()]
    for _ in range(n_steps):
        states.append(step_fn(energy_fn, states[-1].clone(), step_size, noise_std, None,
                              CLAMP).detach().clone())
    kept = {t: states[t] for t in set(keep_steps) if 0 <= t <= n_steps}
    flat = torch.cat(states).requires_grad_(True)
    labels = None if y is None else y.repeat(n_steps + 1)
    with torch.enable_grad():
        energy = -net(flat) if labels is None else -net(flat, labels)
        (grad,) = torch.autograd.grad(energy.sum(), flat)
    b = len(x_init)
    trace = {"energy": energy.detach().view(n_steps + 1, b),
             "grad_norm": torch.linalg.vector_norm(grad.flatten(1), dim=1).view(n_steps + 1, b)}
    return states[-1], kept, trace


def rc_torch_func_while(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                        keep_steps=()):
    """A while loop; torch.func.grad for dE/dx (it ignores an outer no_grad, and its result
    depends on the parameters: detached); the energy straight from the network under no_grad."""
    wanted = set(keep_steps)

    def energy_fn(x):
        return -(net(x) if y is None else net(x, y))

    x, t = torch.clone(x_init).detach(), 0
    kept, energies, norms = {}, [], []
    while True:
        if t in wanted:
            kept[t] = torch.clone(x).detach()
        with torch.no_grad():
            energies.append(energy_fn(x))
        grad = torch.func.grad(lambda z: energy_fn(z).sum())(x.detach()).detach()
        norms.append(grad.reshape(len(grad), -1).norm(p=2, dim=-1))
        if t == n_steps:
            break
        x = step_fn(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=(-1, 1))
        t += 1
    return x.detach(), kept, {"grad_norm": torch.stack(norms), "energy": torch.stack(energies)}


def rc_frozen_backward(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                       keep_steps=()):
    """Freezes the parameters (restoring each flag afterwards) and uses .backward() on a leaf."""
    flags = [p.requires_grad for p in net.parameters()]
    for p in net.parameters():
        p.requires_grad_(False)
    try:
        energy_fn = _energy_of(net, y)
        x = x_init.clone().detach()
        kept, energies, norms = {}, [], []
        for t in range(n_steps + 1):
            if t:
                x = step_fn(energy_fn, x, step_size, noise_std, None, (-1.0, 1.0)).detach()
            if t in keep_steps:
                kept[t] = x.clone()
            leaf = x.clone().requires_grad_(True)
            with torch.enable_grad():
                energy = energy_fn(leaf)
                energy.sum().backward()
            energies.append(energy.detach())
            norms.append(leaf.grad.pow(2).sum(dim=(1, 2, 3)).sqrt())
        return x, kept, {"energy": torch.stack(energies), "grad_norm": torch.stack(norms)}
    finally:
        for p, flag in zip(net.parameters(), flags):
            p.requires_grad_(flag)


def run_chain_without_noise(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                            keep_steps=()):
    """Runs the chain with noise_std = 0 ("the samples come out cleaner")."""
    return ref04.run_chain(net, x_init, n_steps, step_size, 0.0, step_fn=step_fn, y=y,
                           keep_steps=keep_steps)


def run_chain_package_chain(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                            keep_steps=()):
    """The package's langevin_chain keeping every state, the trace computed from them after."""
    energy_fn = models.energy_fn_of(net, y)
    _, states = sampling.langevin_chain(energy_fn, x_init.detach().clone(), n_steps, step_size,
                                        noise_std, None, (-1.0, 1.0), step_fn=step_fn,
                                        keep_steps=range(n_steps + 1))
    energies, norms = [], []
    for t in range(n_steps + 1):
        leaf = states[t].clone().requires_grad_(True)
        with torch.enable_grad():
            energy = energy_fn(leaf)
            (grad,) = torch.autograd.grad(energy.sum(), leaf)
        energies.append(energy.detach())
        norms.append(grad.flatten(1).norm(dim=1))
    kept = {t: states[t] for t in keep_steps if t in states}
    return states[n_steps], kept, {"energy": torch.stack(energies), "grad_norm": torch.stack(norms)}


def rc_kept_start_aliases_x_init(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                                 keep_steps=()):
    """kept[0] = x_init itself (the chain runs on a copy): the caller's later changes to x_init
    change the kept start."""
    x, kept, trace = _traced_chain(_at, net, x_init, n_steps, step_size, noise_std, step_fn, y,
                                   keep_steps)
    if 0 in kept:
        kept[0] = x_init.detach()
    return x, kept, trace


def rc_kept_start_with_graph(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                             keep_steps=()):
    """x_init.clone() without detach: the kept start carries x_init's graph."""
    x, kept, trace = _traced_chain(_at, net, x_init, n_steps, step_size, noise_std, step_fn, y,
                                   keep_steps)
    if 0 in kept:
        kept[0] = x_init.clone()
    return x, kept, trace


def rc_kept_by_copy(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                    keep_steps=()):
    """Kept states copied into fresh tensors (empty_like + copy_), the chain on x_init.detach()
    replaced at every step."""
    energy_fn = _energy_of(net, y)
    x = x_init.detach().clone()
    kept, states = {}, []
    for t in range(n_steps + 1):
        if t > 0:
            x = step_fn(energy_fn, x, step_size, noise_std, None, CLAMP).detach()
        if t in keep_steps:
            kept[t] = torch.empty_like(x).copy_(x)
        states.append(x.clone())
    return x, kept, _traced(energy_fn, states)


BUGS = [
    (checks.check_run_chain, rc_one_step_short),
    (checks.check_run_chain, rc_one_step_long),
    (checks.check_run_chain, rc_trace_without_start),
    (checks.check_run_chain, rc_trace_before_each_step),
    (checks.check_run_chain, rc_kept_aliases_chain),
    (checks.check_run_chain, rc_energy_is_neg_energy),
    (checks.check_run_chain, rc_no_clamp),
    (checks.check_run_chain, rc_clamp_as_grad_clip),
    (checks.check_run_chain, rc_langevin_noise),
    (checks.check_run_chain, rc_restarts_every_step),
    (checks.check_run_chain, rc_calls_langevin_step_by_name),
    (checks.check_run_chain, rc_kept_as_list),
    (checks.check_run_chain, rc_kept_after_step_index),
    (checks.check_run_chain, rc_keeps_steps_past_the_end),
    (checks.check_run_chain, rc_grad_norm_over_batch),
    (checks.check_run_chain, rc_grad_norm_squared),
    (checks.check_run_chain, rc_grad_rms),
    (checks.check_run_chain, rc_grad_of_mean_energy),
    (checks.check_run_chain, rc_grad_of_logit_sum),
    (checks.check_run_chain, rc_trace_keeps_graph),
    (checks.check_run_chain, rc_trace_float32),
    (checks.check_run_chain, rc_trace_squeezed),
    (checks.check_run_chain, run_chain_without_noise),
    (checks.check_run_chain, rc_kept_start_aliases_x_init),
    (checks.check_run_chain, rc_kept_start_with_graph),
]


ALT_CORRECT = [
    (checks.check_run_chain, rc_trace_afterwards_in_one_batch),
    (checks.check_run_chain, rc_torch_func_while),
    (checks.check_run_chain, rc_frozen_backward),
    (checks.check_run_chain, run_chain_package_chain),
    (checks.check_run_chain, rc_kept_by_copy),
]
