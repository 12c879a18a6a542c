"""Hidden checks of assignment 04_glyph_jem. Each grades one part against the reference."""

from __future__ import annotations

import types

import torch

from ... import models
from ..reference import glyph_jem as ref04, mnist_ebm as ref03
from .common import expect_close, expect_tensor, guard_checks


def _net_cases():
    return [(1, 56, 8, 42), (1, 20, 8, 5), (1, 28, 16, 1)]


def check_get_logits(net_cls) -> None:
    """get_logits equals the reference on shared weights, shape (B, K), with gradients."""
    for in_ch, size, hidden, k in _net_cases():
        torch.manual_seed(2000 + size + k)
        net = net_cls(in_ch, size, hidden, k)
        ref = ref04.GlyphCNN(in_ch, size, hidden, k)
        ref.load_state_dict(net.state_dict())
        x = torch.rand(3, in_ch, size, size) * 2 - 1
        logits = net.get_logits(x)
        expect_close(logits, ref.get_logits(x).detach(),
                     f"get_logits on a {size}x{size} image with K={k}")
        assert logits.requires_grad, "get_logits must keep the graph (no torch.no_grad / detach)"


def check_forward(net_cls) -> None:
    """forward's three cases on fixed logits (so get_logits' own correctness does not matter):
    EBM (K = 1), unconditional JEM (logsumexp), class-conditional JEM (f(x)[y])."""
    torch.manual_seed(31)
    for k in (1, 7, 42):
        net = net_cls(1, 20, 8, k)
        logits = (torch.randn(6, k) * 3).requires_grad_(True)
        net.get_logits = types.MethodType(lambda self, x: logits, net)  # isolate forward
        x = torch.zeros(6, 1, 20, 20)
        got = net(x)
        expect_close(got, logits.detach().logsumexp(1),
                     f"forward(x) with K={k}: expected logsumexp of the logits, shape (B,)")
        assert got.requires_grad, "forward(x) must keep the graph to the logits"
        y = torch.randint(k, (6,))
        expect_close(net(x, y), logits.detach()[torch.arange(6), y],
                     f"forward(x, y) with K={k}: expected the logit of class y[i] for image i")
        if k == 1:
            expect_close(net(x), logits.detach()[:, 0],
                         "forward(x) with K=1 (plain EBM): expected the single logit")
    big = torch.full((2, 3), 1000.0)
    net.get_logits = types.MethodType(lambda self, x: big, net)
    expect_tensor(net(torch.zeros(2, 1, 20, 20)), "forward(x) on logits of 1000 (overflow?)", (2,))


def check_gaussian_init(init_fn) -> None:
    """Fresh chains: right shape, N(0, init_std^2), drawn from the given generator only."""
    for shape, std in [((1, 8, 8), 0.1), ((2, 5, 5), 0.5)]:
        a = init_fn(3000, shape, std, torch.Generator().manual_seed(5))
        a = expect_tensor(a, f"gaussian_init(3000, {shape}, {std}, generator)", (3000, *shape))
        assert a.dtype == torch.float32, f"expected float32 starts, got {a.dtype}"
        assert abs(a.mean().item()) < 0.01 * max(1, std * 10), (
            f"starts should have mean 0, got {a.mean().item():.4f}")
        assert abs(a.std().item() / std - 1) < 0.03, (
            f"starts should have std init_std={std}, got {a.std().item():.4f}")
        torch.manual_seed(123)
        b = init_fn(3000, shape, std, torch.Generator().manual_seed(5))
        assert torch.equal(a, b), (
            "gaussian_init must draw from the generator it is given (generator=...), so that "
            "the same generator state gives the same starts whatever the global seed")
        c = init_fn(3000, shape, std, torch.Generator().manual_seed(6))
        assert not torch.equal(a, c), "a different generator seed should give different starts"


def check_sgld_step(step_fn) -> None:
    """The SGLD update against the reference: noise-free part exactly, the noise statistically."""
    from .mnist_ebm import check_langevin_step

    check_langevin_step(step_fn)
    torch.manual_seed(8)
    net = ref04.GlyphCNN(1, 20, 8, 5)
    x = torch.randn(4, 1, 20, 20) * 0.1
    for y in (None, torch.tensor([0, 1, 2, 4])):  # the JEM energies, with and without labels
        energy_fn = models.energy_fn_of(net, y)
        got = step_fn(energy_fn, x, 1.0, 0.0, None, (-1.0, 1.0))
        want = ref03.langevin_step(energy_fn, x, 1.0, 0.0, None, (-1.0, 1.0))
        expect_close(got, want, f"SGLD step on the JEM energy (y={'given' if y is not None else None})")


def _px_setup(seed: int, k: int = 5, size: int = 20):
    torch.manual_seed(seed)
    net = ref04.GlyphCNN(1, size, 8, k)
    x = torch.rand(8, 1, size, size) * 2 - 1
    make = lambda: ref03.MCMCSampler((1, size, size), 32, 0.05, 3, 1.0, 0.01, None,  # noqa: E731
                                     (-1.0, 1.0), init="gaussian", init_std=0.1, seed=seed,
                                     step_fn=ref03.langevin_step)
    return net, x, make


def check_px_step(px_fn) -> None:
    """px_step on the reference net and sampler: same loss, energies and parameter gradients."""
    for seed, alpha in ((1, 0.1), (2, 0.0), (3, 1.0)):
        net, x, make = _px_setup(seed)
        sampler_a, sampler_b = make(), make()
        torch.manual_seed(seed)
        out = px_fn(net, sampler_a, x, alpha)
        assert isinstance(out, tuple) and len(out) == 3, (
            "px_step should return (loss, energy_data, energy_model)")
        loss, e_data, e_model = out
        assert sampler_a.n_filled == len(x), (
            f"px_step should draw len(x_data) = {len(x)} samples with sampler.sample(net, B) "
            f"once; the buffer holds {sampler_a.n_filled}")
        net.zero_grad()
        expect_tensor(loss, "px_step loss", ())
        loss.backward()
        grads = [p.grad.clone() if p.grad is not None else torch.zeros_like(p)
                 for p in net.parameters()]
        net.zero_grad()
        torch.manual_seed(seed)
        ref_loss, ref_data, ref_model = ref04.px_step(net, sampler_b, x, alpha)
        what = f"px_step(alpha={alpha})"
        expect_close(e_data, ref_data.detach(), f"{what}: energy_data = -net(x_data)", atol=1e-4)
        expect_close(e_model, ref_model.detach(),
                     f"{what}: energy_model = -net(x_model) of the sampler's samples", atol=1e-4)
        expect_close(loss, ref_loss.detach(),
                     f"{what}: loss = mean E_data - mean E_model + alpha * (mean E_data^2 + "
                     f"mean E_model^2)", atol=1e-4)
        ref_loss.backward()
        for g, p in zip(grads, net.parameters()):
            expect_close(g, p.grad, f"{what}: gradient of the loss w.r.t. the parameters "
                         "(the samples must be constants: no gradient through SGLD)", atol=1e-4)


def check_pyx_step(pyx_fn) -> None:
    """Cross-entropy on get_logits and the accuracy, against the reference."""
    for seed, k in ((4, 42), (5, 3)):
        torch.manual_seed(seed)
        net = ref04.GlyphCNN(1, 20, 8, k)
        x = torch.rand(16, 1, 20, 20) * 2 - 1
        y = torch.randint(k, (16,))
        out = pyx_fn(net, x, y)
        assert isinstance(out, tuple) and len(out) == 2, "pyx_step should return (loss, acc)"
        loss, acc = out
        ref_loss, ref_acc = ref04.pyx_step(net, x, y)
        expect_close(loss, ref_loss.detach(), f"pyx_step loss (K={k}): mean cross-entropy")
        expect_close(torch.as_tensor(acc, dtype=torch.float32), ref_acc,
                     f"pyx_step acc (K={k}): share of argmax logits equal to y")
        assert loss.requires_grad, "the pyx_step loss must carry the gradient"
    # A net whose logits are known: the accuracy must count argmax == y.
    net = ref04.GlyphCNN(1, 20, 8, 3)
    logits = torch.tensor([[5.0, 0, 0], [0, 5.0, 0], [0, 0, 5.0], [5.0, 0, 0]], requires_grad=True)
    net.get_logits = types.MethodType(lambda self, x: logits, net)
    loss, acc = pyx_fn(net, torch.zeros(4, 1, 20, 20), torch.tensor([0, 1, 0, 0]))
    assert abs(float(acc) - 0.75) < 1e-6, f"3 of 4 argmax logits match y: expected acc 0.75, got {float(acc)}"


def check_jem_step(step_fn) -> None:
    """The objective combines the two parts with their weights and skips q(x) at weight 0."""
    calls = []
    px_loss, pyx_loss = torch.tensor(2.0, requires_grad=True), torch.tensor(3.0, requires_grad=True)

    def fake_px(net, sampler, x, alpha):
        calls.append(("px", alpha))
        return px_loss * 1.0, torch.zeros(len(x)), torch.zeros(len(x))

    def fake_pyx(net, x, y):
        calls.append(("pyx",))
        return pyx_loss * 1.0, torch.tensor(0.5)

    x, y = torch.zeros(4, 1, 8, 8), torch.zeros(4, dtype=torch.long)
    for w_px, w_pyx in ((1.0, 1.0), (0.5, 2.0)):
        calls.clear()
        out = step_fn(None, None, x, y, 0.3, w_px, w_pyx, fake_px, fake_pyx)
        assert isinstance(out, tuple) and len(out) == 4, (
            "jem_step should return (loss, loss_px, loss_pyx, acc)")
        loss, loss_px, loss_pyx, acc = out
        want = w_px * 2.0 + w_pyx * 3.0
        assert abs(float(loss.detach()) - want) < 1e-5, (
            f"with px_weight={w_px}, pyx_weight={w_pyx}, loss_px=2, loss_pyx=3 the loss should be "
            f"{want}, got {float(loss.detach())}")
        assert abs(float(loss_px.detach()) - 2.0) < 1e-6 and abs(float(loss_pyx.detach()) - 3.0) < 1e-6, (
            "loss_px and loss_pyx should be the two parts' losses, unweighted")
        assert ("px", 0.3) in calls, "jem_step should call px_step_fn(net, sampler, x, alpha)"
        assert isinstance(loss, torch.Tensor) and loss.requires_grad, "loss must carry the gradient"
    calls.clear()
    loss, loss_px, _, _ = step_fn(None, None, x, y, 0.3, 0.0, 1.0, fake_px, fake_pyx)
    assert not any(c[0] == "px" for c in calls), (
        "with px_weight=0 jem_step should skip px_step (no SGLD: a plain classifier step)")
    assert abs(float(loss.detach()) - 3.0) < 1e-6 and abs(float(torch.as_tensor(loss_px).detach())) < 1e-6, (
        "with px_weight=0 the loss is the classifier's alone and loss_px is 0")
    # With the real parts.
    net, x, make = _px_setup(9)
    y = torch.randint(5, (8,))
    torch.manual_seed(9)
    got = step_fn(net, make(), x, y, 0.1, 1.0, 1.0, ref04.px_step, ref04.pyx_step)
    torch.manual_seed(9)
    want = ref04.jem_step(net, make(), x, y, 0.1, 1.0, 1.0)
    expect_close(got[0], want[0].detach(), "jem_step loss with the reference parts", atol=1e-4)


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
