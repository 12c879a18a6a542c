"""Hidden checks of assignment 03_mnist_ebm. Each grades one part against the reference."""

from __future__ import annotations

import torch
from torch import nn

from ... import models
from ..reference import mnist_ebm as ref03
from .common import expect_close, expect_tensor, guard_checks


def check_swish(swish_cls) -> None:
    """The student's Swish equals x * sigmoid(x), stays finite at large |x| and has gradients."""
    act = swish_cls()
    assert isinstance(act, nn.Module), "Swish should be a torch.nn.Module subclass"
    x = torch.linspace(-60, 60, 240).reshape(3, -1).requires_grad_(True)
    out = act(x)
    expect_close(out, x.detach() * torch.sigmoid(x.detach()), "Swish(x)")
    out.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all(), (
        "Swish should be differentiable with finite gradients everywhere")


def check_cnn_energy(cnn_cls) -> None:
    """get_logits and the three forward cases, compared with the reference on shared weights."""
    for in_ch, size, hidden, k in [(1, 28, 32, 1), (1, 28, 16, 10), (1, 56, 8, 3)]:
        torch.manual_seed(1000 + k)
        net = cnn_cls(in_ch, size, hidden, k)
        ref = ref03.CNNEnergy(in_ch, size, hidden, k)
        ref.load_state_dict(net.state_dict())
        x = torch.rand(6, in_ch, size, size) * 2 - 1
        y = torch.randint(k, (6,))
        case = f"(image_size={size}, n_classes={k})"
        with torch.no_grad():
            expect_close(net.get_logits(x), ref.get_logits(x), f"get_logits {case}")
            expect_close(net(x), ref(x), f"forward(x) = logsumexp of the logits {case}")
            expect_close(net(x, y), ref(x, y), f"forward(x, y) = logits[y] {case}")


def _quadratic_energy(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * (x.flatten(1) - 0.3).pow(2).sum(1) * 4.0


def check_langevin_step(step_fn) -> None:
    """The deterministic part equals the reference; the noise has the right mean and std;
    parameters get no gradient; works under no_grad; returns detached samples; x untouched."""
    torch.manual_seed(7)
    net = ref03.CNNEnergy(1, 28, 8, 1)
    x = torch.rand(5, 1, 28, 28) * 2 - 1
    cases = [(_quadratic_energy, 0.1, None, None), (_quadratic_energy, 0.5, 0.2, (-1.0, 1.0)),
             (_quadratic_energy, 0.5, None, (-1.0, 1.0)),  # overshoots: the clamp must act
             (models.energy_fn_of(net), 10.0, 0.03, (-1.0, 1.0))]
    for energy_fn, step_size, grad_clip, clamp in cases:
        x_before = x.clone()
        with torch.no_grad():  # Lightning validation runs like this: the step must cope
            got = step_fn(energy_fn, x, step_size, 0.0, grad_clip, clamp)
        want = ref03.langevin_step(energy_fn, x, step_size, 0.0, grad_clip, clamp)
        what = f"langevin_step with noise_std=0, step_size={step_size}, grad_clip={grad_clip}, clamp={clamp}"
        expect_close(got, want, what, atol=1e-5)
        assert torch.equal(x, x_before), "langevin_step must not modify its input x in place"
        assert not got.requires_grad, (
            "langevin_step should return a detached tensor (x.detach()): a graph kept alive "
            "in the buffer leaks memory every iteration")
    assert all(p.grad is None for p in net.parameters()), (
        "langevin_step accumulated gradients in the network's parameters: differentiate with "
        "respect to x only (torch.autograd.grad(energy.sum(), x))")
    flat = lambda z: torch.zeros(z.shape[0]) + 0.0 * z.flatten(1).sum(1)  # noqa: E731
    z = step_fn(flat, torch.zeros(4000, 5), 0.1, 0.3, None, None)
    z = expect_tensor(z, "langevin_step on a flat energy", shape=(4000, 5))
    assert abs(z.mean().item()) < 0.02 and abs(z.std().item() - 0.3) < 0.02, (
        f"with a flat energy a step should add N(0, noise_std^2) noise: expected mean 0 and std "
        f"0.3, got mean {z.mean().item():.3f} and std {z.std().item():.3f}")
    z = step_fn(flat, torch.full((2000, 5), 0.95), 0.1, 0.3, None, (-1.0, 1.0))
    z = expect_tensor(z, "langevin_step with noise and clamp=(-1, 1)", shape=(2000, 5))
    assert z.min() >= -1.0 and z.max() <= 1.0, (
        "with clamp=(low, high) every returned sample must lie in [low, high]: clamp after "
        "adding the noise, as the last operation of the step")


def check_sampler(sampler_cls) -> None:
    """Buffer logic: starts, copies, capacity, re-init rate and write-back."""
    sampler = sampler_cls((1, 4, 4), buffer_size=50, reinit_prob=0.2, seed=3)
    x, idx = sampler._init_chains(16)
    expect_tensor(x, "_init_chains(16) samples on an empty buffer", shape=(16, 1, 4, 4))
    expect_tensor(idx, "_init_chains(16) slots", shape=(16,))
    assert x.min() >= -1 and x.max() <= 1 and x.std() > 0.3, (
        "with an empty buffer every chain should start from uniform noise in [-1, 1]")
    sampler._update_buffer(x, idx)
    assert sampler.n_filled == 16, f"after storing 16 samples n_filled should be 16, got {sampler.n_filled}"
    assert torch.equal(sampler.buffer[:16], x), "the first samples should be stored in slots 0..15"
    for _ in range(10):
        x, idx = sampler._init_chains(16)
        sampler._update_buffer(x + 0.0, idx)
        assert sampler.n_filled <= 50 and sampler.buffer.shape[0] == 50, (
            "the buffer must never grow past buffer_size")
    assert sampler.n_filled == 50, f"after 176 stored samples a 50-slot buffer should be full, got {sampler.n_filled}"

    # Distinct slot values: a started chain must copy its slot; the rest are restarts.
    sampler.buffer = torch.arange(50.0).view(50, 1, 1, 1).expand(50, 1, 4, 4).clone() + 5.0
    x, idx = sampler._init_chains(4000)
    from_buffer = (x >= 5.0).all(dim=(1, 2, 3))
    share = 1 - from_buffer.float().mean().item()
    assert abs(share - 0.2) < 0.03, (
        f"with reinit_prob=0.2 about 20% of chains should restart from noise, got {share:.1%}")
    slot = idx.long().clamp(0, 49)
    assert torch.equal(x[from_buffer], sampler.buffer[slot[from_buffer]]), (
        "a chain that does not restart should start from a copy of the buffer slot in idx")
    counts = torch.bincount(slot[from_buffer], minlength=50).float()
    assert counts.min() > 0.5 * counts.mean(), "slots should be drawn uniformly from the buffer"
    x[0] += 100.0
    assert sampler.buffer.max() < 100, "_init_chains must return a copy, not a view of the buffer"

    x_new = torch.full((8, 1, 4, 4), -0.5) + torch.arange(8.0).view(8, 1, 1, 1) * 0.01
    sampler._update_buffer(x_new, idx[:8])
    assert sampler.n_filled == 50 and sampler.buffer.shape[0] == 50, "a full buffer stays full"
    stored = sampler.buffer.flatten(1)
    for j in range(8):
        assert (stored == x_new[j].flatten()).all(dim=1).any(), (
            "every new sample should be stored in a full buffer (replace old samples)")


def check_ebm_loss(loss_fn) -> None:
    """loss = cd + alpha * reg with cd = mean E_data - mean E_model and the L2 regulariser."""
    torch.manual_seed(11)
    for alpha in (0.0, 0.1, 0.7):
        energy_data = torch.randn(32, requires_grad=True)
        energy_model = (torch.randn(32) * 2 + 1).requires_grad_(True)
        out = loss_fn(energy_data, energy_model, alpha)
        assert isinstance(out, tuple) and len(out) == 3, "ebm_loss should return (loss, cd, reg)"
        want = ref03.ebm_loss(energy_data.detach(), energy_model.detach(), alpha)
        for got, ref, name in zip(out, want, ("loss", "cd", "reg")):
            expect_close(got, ref, f"ebm_loss(alpha={alpha}): {name}")
        out[0].backward()
        assert energy_data.grad is not None, "the loss must carry the gradient to the energies"


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
