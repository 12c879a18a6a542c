"""Hidden checks of 04_glyph_jem: ``run_chain`` and ``run_chain_conditional``."""

from __future__ import annotations

import contextlib
import math

import torch

from ebm_course import models
from ebm_course.instructor.grading.common import (
    expect_close,
    expect_no_graph,
    expect_not_aliased,
    expect_tensor,
    guard_checks,
)

from ._shared import _chain_net, _single_threaded


class _RecordingStep:
    """A deterministic stand-in for ``sgld_step`` that records every call: its energy function,
    a copy of the state it was given and its other arguments. It moves down the energy it gets
    plus an offset that differs from call to call (consecutive states differ, and so do chains
    one step longer or shorter), then clamps. With ``in_place`` it writes the new state into the
    tensor it was given and returns that tensor, as an optimised step may."""

    def __init__(self, in_place: bool = False) -> None:
        self.in_place = in_place
        self.calls, self.outputs = [], []

    def __call__(self, energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
        self.calls.append({"energy_fn": energy_fn, "x": x.detach().clone(), "step_size": step_size,
                           "noise_std": noise_std, "grad_clip": grad_clip, "clamp": clamp})
        leaf = x.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(energy_fn(leaf).sum(), leaf)
        new = leaf.detach() - 0.5 * grad + 0.1 * math.sin(1.0 + len(self.calls))
        new = new if clamp is None else new.clamp(*clamp)
        self.outputs.append(new.clone())
        if not self.in_place:
            return new
        with torch.no_grad():
            x.copy_(new)
        return x


def _chain_start(seed: int, b: int, dtype=torch.float32) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand((b, 1, 8, 8), generator=gen, dtype=torch.float64) * 1.8 - 0.9).to(dtype)


def _energy_and_grad_norm(energy_fn, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """E(x) (B,) and ||dE/dx||_2 of each chain (B,)."""
    leaf = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        energy = energy_fn(leaf)
        (grad,) = torch.autograd.grad(energy.sum(), leaf)
    return energy.detach(), grad.flatten(1).norm(dim=1)


def _recorded_chain(chain_fn, net, x_init, n_steps, where, *, y=None, keep_steps=(),
                    in_place=False, strict=True, step_size=0.7, noise_std=0.02):
    """Run the student's chain with a recording step; check the energy each step received and,
    if ``strict``, the step calls (how many, their arguments, each continuing from the last
    state). Returns (x_final, kept, trace, states): states[t] = x_t, the start and what each
    step returned."""
    step = _RecordingStep(in_place)
    start = x_init.detach().clone()
    out = chain_fn(net, x_init, n_steps, step_size, noise_std, step_fn=step, y=y,
                   keep_steps=keep_steps)
    assert isinstance(out, tuple) and len(out) == 3, (
        "run_chain should return a tuple (x_final, kept, trace)")
    assert not strict or len(step.calls) == n_steps, (
        f"{where}: call step_fn exactly n_steps = {n_steps} times, one call per step (it was "
        f"called {len(step.calls)} times)")
    states = [start, *step.outputs]
    energy_fn = models.energy_fn_of(net, y)
    probe = _chain_start(99, len(start), start.dtype)
    want = "E(x, y) = -net(x, y) with the labels y" if y is not None else "E(x) = -net(x)"
    for t, call in enumerate(step.calls):
        got = call["energy_fn"](probe)
        expect_close(got, energy_fn(probe).detach(), f"{where}: the energy function given to "
                     f"step_fn should be {want} (the network returns the negative energy)",
                     atol=1e-5, rtol=1e-4)
        if not strict:
            continue
        assert call["step_size"] == step_size and call["noise_std"] == noise_std, (
            f"{where}: call step {t + 1} with the given step_size and noise_std, unchanged (got "
            f"{call['step_size']!r} and {call['noise_std']!r})")
        assert call["grad_clip"] is None, (
            f"{where}: JEM does not clip the gradient: pass grad_clip=None to step_fn")
        clamp = call["clamp"]
        assert clamp is not None and tuple(float(c) for c in clamp) == (-1.0, 1.0), (
            f"{where}: pass clamp=(-1.0, 1.0) to step_fn (images stay in [-1, 1]), got {clamp!r}")
        assert torch.equal(call["x"], states[t]), (
            f"{where}: step {t + 1} should continue from "
            + ("x_init" if t == 0 else f"the state step {t} returned") + " (step_fn(energy_fn, x, "
            "...) returns the next state)")
    return (*out, states)


def _check_trace(trace, key: str, want: torch.Tensor, where: str, what: str) -> torch.Tensor:
    assert isinstance(trace, dict) and key in trace, (
        f'{where}: trace should be a dict with the keys "energy" and "grad_norm"')
    got = expect_tensor(trace[key], f'{where}: trace["{key}"] (one row per state t = 0, the '
                        "start, to n_steps; one column per chain)", tuple(want.shape))
    expect_close(got, want, f'{where}: trace["{key}"][t] should be {what} at the state after t '
                 "steps (t = 0: the start)", atol=1e-5, rtol=1e-4)
    return got


@_single_threaded
def check_run_chain(chain_fn) -> None:
    """The unconditional chain, with a recording SGLD step: n_steps calls of step_fn(E, x,
    step_size, noise_std, None, (-1, 1)), each from the last state, on E(x) = -net(x); x_final;
    kept {t: x_t} for the requested steps in 0..n_steps, copies (also under a step that works in
    place); trace["energy"] and trace["grad_norm"] (n_steps + 1, B) equal to E(x_t) and
    ||dE/dx (x_t)||_2; everything detached (also from an x_init that requires grad), kept[0] a
    copy of x_init, not x_init itself; n_steps = 0, a batch of one, float64."""
    cases = [  # K, batch, n_steps, keep_steps, in place, dtype, what
        (4, 3, 5, (0, 2, 5, 7), False, torch.float32, "on three chains for five steps"),
        (3, 2, 4, [1, 3, 4], True, torch.float32, "with a step_fn that updates x in place"),
        (5, 2, 0, (0, 1), False, torch.float32, "with n_steps = 0"),
        (2, 1, 3, range(0, 10, 3), False, torch.float64, "on a batch of one in float64"),
        (4, 3, 2, (), False, torch.float32, "with no kept steps"),
        (3, 2, 2, (0, 2), False, torch.float32, "from an x_init that requires grad"),
    ]
    for seed, (k, b, n_steps, keep_steps, in_place, dtype, what) in enumerate(cases):
        where = f"run_chain {what}"
        net = _chain_net(seed, k, dtype)
        x_init = _chain_start(seed, b, dtype).requires_grad_("requires grad" in what)
        x_final, kept, trace, states = _recorded_chain(
            chain_fn, net, x_init, n_steps, where, keep_steps=keep_steps, in_place=in_place)
        expect_close(x_final, states[-1], f"{where}: x_final should be the state after the last "
                     "step (x_init when n_steps = 0)", atol=0, rtol=0)
        expect_no_graph(x_final, f"{where}: x_final")
        assert isinstance(kept, dict), (
            f"{where}: kept should be a dict {{step: x at that step}}, got {type(kept).__name__}")
        want_steps = sorted({t for t in keep_steps if 0 <= t <= n_steps})
        assert sorted(kept) == want_steps, (
            f"{where}: with keep_steps={list(keep_steps)}, kept should hold exactly the steps "
            f"{want_steps} (0 = the start; steps after n_steps = {n_steps} are not kept), got "
            f"{sorted(kept)}")
        for t in want_steps:
            expect_close(kept[t], states[t], f"{where}: kept[{t}] should be the chain's state "
                         f"at step {t}" + (", a copy (this step_fn overwrites the tensor it is "
                                           "given)" if in_place else ""), atol=0, rtol=0)
            expect_no_graph(kept[t], f"{where}: kept[{t}]")
            expect_not_aliased(kept[t], x_init, f"{where}: kept[{t}] (a copy of the state, "
                               "not x_init itself)")
        energy_fn = models.energy_fn_of(net)
        want = [torch.stack(v) for v in zip(*(_energy_and_grad_norm(energy_fn, x) for x in states))]
        _check_trace(trace, "energy", want[0], where, "E(x_t) = -net(x_t) of each chain")
        _check_trace(trace, "grad_norm", want[1], where, "||dE/dx (x_t)||_2 of each chain, the "
                     "norm over all its pixels (not squared, not over the batch)")
        for key in ("energy", "grad_norm"):
            assert not trace[key].requires_grad, (
                f'{where}: trace["{key}"] should be detached (it carries an autograd graph)')


@_single_threaded
def check_run_chain_conditional(chain_fn) -> None:
    """The class-conditional chain: step_fn and trace["energy"] on E(x, y) = -net(x, y) and
    trace["grad_norm"] of that energy, at the states the chain visited (the step calls are the
    other check's); under torch.no_grad too; the parameters get no gradient and keep their
    requires_grad flags; x_init unchanged (also under a step that works in place)."""
    cases = [  # K, labels, n_steps, in place, no_grad, what
        (5, [4, 0, 2, 2], 3, False, False, "with labels y"),
        (3, [1, 2, 0], 2, False, True, "with labels y, called inside torch.no_grad()"),
        (4, [3, 3], 3, True, False, "with labels y and a step_fn that updates x in place"),
    ]
    for seed, (k, labels, n_steps, in_place, no_grad, what) in enumerate(cases):
        where = f"run_chain {what}"
        net = _chain_net(10 + seed, k)
        params = list(net.parameters())
        params[0].requires_grad_(False)  # a network with a frozen layer: flags to restore
        flags = [p.requires_grad for p in params]
        y = torch.tensor(labels)
        x_init = _chain_start(10 + seed, len(y))
        start = x_init.clone()
        try:
            with torch.no_grad() if no_grad else contextlib.nullcontext():
                _, _, trace, states = _recorded_chain(chain_fn, net, x_init, n_steps, where, y=y,
                                                      in_place=in_place, strict=False)
        except RuntimeError as err:
            if not no_grad:
                raise
            raise AssertionError(
                f"{where}: raised RuntimeError ({str(err).splitlines()[0][:80]}): the trace needs "
                "dE/dx even when the caller turned gradients off: compute it inside "
                "torch.enable_grad()") from None
        assert all(p.grad is None for p in params), (
            f"{where}: gradients reached the network's parameters: differentiate E with respect "
            "to x only (torch.autograd.grad(..., x)), not with .backward()")
        assert [p.requires_grad for p in params] == flags, (
            f"{where}: leave the parameters' requires_grad flags as they were (restore each one "
            "if you freeze them)")
        assert torch.equal(x_init, start) and not x_init.requires_grad, (
            f"{where}: x_init was modified: start the chain from a copy (x_init.detach().clone()"
            "), a step may overwrite the tensor it is given")
        joint = [_energy_and_grad_norm(models.energy_fn_of(net, y), x) for x in states]
        _check_trace(trace, "energy", torch.stack([e for e, _ in joint]), where,
                     "E(x_t, y) = -net(x_t, y) of each chain, its own label")
        marginal = torch.stack([_energy_and_grad_norm(models.energy_fn_of(net), x)[1]
                                for x in states])
        got = expect_tensor(trace.get("grad_norm"), f'{where}: trace["grad_norm"]',
                            tuple(marginal.shape))
        assert not (got.shape == marginal.shape and torch.allclose(got, marginal, rtol=1e-4)), (
            f'{where}: trace["grad_norm"] is the gradient of the unconditional energy -net(x); '
            "with labels it should be that of E(x, y) = -net(x, y)")


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
