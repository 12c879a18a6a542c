"""Hidden checks of 02_toy_densities: ``sgld_sample``."""

from __future__ import annotations

import math

import torch

from ebm_course.instructor.assignments.toy import reference as ref02
from ebm_course.instructor.grading.common import expect_close, expect_tensor, guard_checks

from ._shared import _net, _no_stray_grads


def _check_sgld_noise_free(sample_fn) -> None:
    """noise_std=0: the reference's steps (with and without clipping, a clip of zero, zero steps, a
    batch of one, float64), detached results, x_init untouched, no parameter gradients."""
    net = _net(70)
    energy_fn = lambda z: -net(z) * 5  # noqa: E731
    x = torch.rand(64, 2, generator=torch.Generator().manual_seed(71)) * 4 - 2
    x_before = x.clone()
    cases = [  # n_steps, step_size, grad_clip, batch, what
        (1, 0.05, None, 64, "one noise-free step"),
        (10, 0.02, None, 64, "several noise-free steps"),
        (10, 0.1, 0.5, 64, "noise-free steps with gradient clipping"),
        (5, 0.1, 0.01, 64, "noise-free steps with a clip that acts on every entry"),
        (3, 0.1, 0.0, 64, "grad_clip=0 (every gradient entry clipped to 0: the chains stay)"),
        (0, 0.1, None, 64, "zero steps (x_init comes back)"),
        (4, 0.05, 0.5, 1, "a batch of one"),
    ]
    for n_steps, step_size, grad_clip, batch, what in cases:
        with torch.no_grad():
            got = sample_fn(energy_fn, x[:batch], n_steps, step_size, 0.0, grad_clip)
        want = ref02.sgld_sample(energy_fn, x[:batch], n_steps, step_size, 0.0, grad_clip)
        expect_close(got, want, f"sgld_sample with noise_std=0, {what}, called under "
                     f"torch.no_grad()", atol=1e-4)
        assert not got.requires_grad, "sgld_sample should return detached samples"
    net64 = _net(70, dtype=torch.float64)
    energy64 = lambda z: -net64(z) * 5  # noqa: E731
    with torch.no_grad():
        got = sample_fn(energy64, x.double(), 5, 0.1, 0.0, 0.5)
    expect_close(got, ref02.sgld_sample(energy64, x.double(), 5, 0.1, 0.0, 0.5),
                 "sgld_sample with float64 points (noise-free)", atol=1e-6)
    leaf = x.clone().requires_grad_(True)
    got = sample_fn(energy_fn, leaf * 1.0, 2, 0.05, 0.0)  # grad mode on, x_init with a graph
    expect_tensor(got, "sgld_sample of an x_init that requires grad", shape=(64, 2))
    assert not got.requires_grad, (
        "sgld_sample should return detached samples (x_init had requires_grad=True)")
    assert torch.equal(x, x_before), "sgld_sample must not modify x_init in place"
    assert leaf.grad is None, "sgld_sample put a gradient into x_init's .grad"
    _no_stray_grads(net, "sgld_sample")
    _no_stray_grads(net64, "sgld_sample")


def _check_sgld_noise(sample_fn) -> None:
    """The noise, on a flat energy: after n steps each element is x_init + N(0, n noise_std^2),
    independent for every element, fresh on every call."""
    flat = lambda z: 0.0 * z.sum(1)  # noqa: E731
    n, n_steps, noise_std, start = 6000, 3, 0.2, 0.7
    z = expect_tensor(sample_fn(flat, torch.full((n, 2), start), n_steps, 0.1, noise_std),
                      "sgld_sample on a flat energy", shape=(n, 2), dtype=torch.float32)
    z = z - start
    target = math.sqrt(n_steps) * noise_std
    means, stds = z.mean(0), z.std(0)
    assert means.abs().max().item() < 6 * target / math.sqrt(n), (
        "sgld_sample on a flat energy: the chains drift; the noise must have mean zero "
        "(torch.randn_like)")
    worst = (stds / target - 1).abs().max().item()
    assert worst < 0.06, (
        f"sgld_sample on a flat energy: after n_steps steps every coordinate should have std "
        f"sqrt(n_steps) * noise_std (relative error {worst:.3g}): draw fresh N(0, 1) noise at "
        f"every step, independently for every chain and coordinate, times noise_std")
    corr = torch.corrcoef(z.T)[0, 1].item()
    assert abs(corr) < 0.08, (
        f"sgld_sample on a flat energy: the two coordinates move together (correlation "
        f"{corr:.2f}): every element needs its own noise (torch.randn_like(x))")
    a = sample_fn(flat, torch.zeros(8, 2), 1, 0.1, 1.0)
    b = sample_fn(flat, torch.zeros(8, 2), 1, 0.1, 1.0)
    assert not torch.equal(a, b), (
        "sgld_sample returned the same noise on two calls: draw fresh noise from the global "
        "generator (do not re-seed it)")


def check_sgld_sample(sample_fn) -> None:
    """SGLD: noise-free steps against the reference (with and without clipping, a clip of zero,
    zero steps, a batch of one, float64), detached results, x_init untouched, no parameter
    gradients; the noise: N(0, noise_std^2) per step, independent for every element, fresh on
    every call."""
    _check_sgld_noise_free(sample_fn)
    _check_sgld_noise(sample_fn)


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
