"""Hidden checks of 04_glyph_jem: ``pyx_step`` and ``px_step`` and ``jem_step``."""

from __future__ import annotations

import torch
from torch import nn

from ebm_course.instructor.assignments.glyph_jem import reference as ref04
from ebm_course.instructor.assignments.mnist_ebm import reference as ref03
from ebm_course.instructor.grading.common import expect_close, guard_checks

from ._shared import _chain_net, _single_threaded


def _params(net: nn.Module) -> list:
    return list(net.parameters())


def _grads(out: torch.Tensor, inputs: list) -> list:
    """d out / d inputs, zeros for inputs the graph does not reach (out: a scalar)."""
    if not out.requires_grad:
        return [torch.zeros_like(t) for t in inputs]
    got = torch.autograd.grad(out, inputs, allow_unused=True, retain_graph=True)
    return [torch.zeros_like(t) if g is None else g for g, t in zip(got, inputs)]


def _rel_err(got: list, want: list) -> float:
    """Largest abs difference over a list of tensors, relative to the largest reference entry."""
    scale = max(float(w.abs().max()) for w in want) if want else 0.0
    err = max(float((g.detach().to(w.dtype) - w).abs().max()) for g, w in zip(got, want))
    return err / max(scale, 1e-6)


def _grads_match(got: list, want: list, rtol: float = 1e-4) -> bool:
    return all(g.shape == w.shape for g, w in zip(got, want)) and _rel_err(got, want) <= rtol


class _FirstK(nn.Module):
    """A head whose logits are the first K inputs: the logits are whatever the image holds."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.k = k

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h[:, : self.k] * 1.0


def _logits_net(k: int) -> nn.Module:
    """The course's network (reference get_logits) with its layers replaced so that
    get_logits(x) = the first K pixels of x: the logits are whatever the image holds."""
    net = ref03.CNNEnergy(1, 12, 8, k)
    net.features, net.head = nn.Flatten(), _FirstK(k)
    return net


def _images_with_logits(logits: torch.Tensor, size: int = 8) -> torch.Tensor:
    """Images (B, 1, size, size) whose first K pixels are ``logits`` (B, K), the rest zeros."""
    b, k = logits.shape
    x = torch.zeros(b, size * size, dtype=logits.dtype)
    x[:, :k] = logits
    return x.view(b, 1, size, size)


@_single_threaded
def check_pyx_step(pyx_fn) -> None:
    """Mean cross-entropy of get_logits and the batch accuracy, on the reference network: values,
    gradients to every parameter, a batch of one, odd batch sizes, logits of 1e3, tied logits,
    float64."""
    gen = torch.Generator().manual_seed(4)
    torch.manual_seed(4)
    for k, b, what in ((42, 16, "with 42 classes"), (3, 7, "on a batch of seven"),
                       (5, 1, "on a batch of one"), (4, 9, "on float64 inputs")):
        net = ref03.CNNEnergy(1, 20, 8, k)
        dtype = torch.float64 if "float64" in what else torch.float32
        net = net.to(dtype)
        x = (torch.rand((b, 1, 20, 20), generator=gen) * 2 - 1).to(dtype)
        y = torch.randint(k, (b,), generator=gen)
        with torch.no_grad():  # a few labels set to the prediction: an accuracy strictly in (0, 1)
            pred = net.get_logits(x).argmax(1)
        y[: (b + 1) // 3] = pred[: (b + 1) // 3]
        out = pyx_fn(net, x, y)
        assert isinstance(out, tuple) and len(out) == 2, "pyx_step should return (loss, acc)"
        loss, acc = out
        ref_loss, ref_acc = ref04.pyx_step(net, x, y)
        expect_close(loss, ref_loss.detach(), f"pyx_step {what}: loss = mean cross-entropy of "
                     "get_logits(x) against y (a scalar, in the dtype of the logits)")
        assert abs(float(acc) - float(ref_acc)) < 1e-6, (
            f"pyx_step {what}: acc should be the share of images whose argmax logit equals y")
        assert loss.requires_grad, f"pyx_step {what}: the loss must carry the gradient"
        g_got, g_want = _grads(loss, _params(net)), _grads(ref_loss, _params(net))
        assert _grads_match(g_got, g_want, 1e-4), (
            f"pyx_step {what}: the loss's gradient w.r.t. the parameters differs from the "
            f"cross-entropy's (max relative error {_rel_err(g_got, g_want):.3g}): no detach of "
            "the logits or of the normaliser logsumexp")

    # Known logits (reference get_logits on controlled layers): extremes and ties.
    big = torch.tensor([[1000.0, -1000.0, 0.0, 999.0], [-1000.0, 1000.0, -1000.0, 0.0],
                        [5.0, 5.0, 5.0, 5.0], [-1000.0, -1001.0, -1000.5, -1003.0],
                        [0.5, -2.0, 3.0, 1.0]])
    y = torch.tensor([0, 0, 2, 0, 2])
    for logits, labels, what in ((big, y, "with logits of 1e3 and -1e3 and tied logits"),
                                 (big.double(), y, "with float64 logits of 1e3")):
        net = _logits_net(4)
        x = _images_with_logits(logits).requires_grad_(True)
        out = pyx_fn(net, x, labels)
        assert isinstance(out, tuple) and len(out) == 2, "pyx_step should return (loss, acc)"
        loss, acc = out
        want = torch.nn.functional.cross_entropy(logits.double(), labels).to(logits.dtype)
        expect_close(loss, want, f"pyx_step {what}: mean cross-entropy (use log_softmax / "
                     "cross_entropy, not log of softmax)", atol=1e-5, rtol=1e-5)
        assert loss.requires_grad, f"pyx_step {what}: the loss must carry the gradient"
        (g,) = torch.autograd.grad(loss, x)
        soft = logits.double().softmax(1)
        g_want = ((soft - torch.nn.functional.one_hot(labels, 4)) / len(labels)).to(logits.dtype)
        assert torch.allclose(g.view(len(labels), -1)[:, :4], g_want, atol=1e-6, rtol=1e-4), (
            f"pyx_step {what}: the gradient w.r.t. the logits should be (softmax - onehot(y)) / B")
        # Rows without ties: rows 0, 1, 3, 4 predict 0, 1, 0, 2: three of the four match.
        ok = [0, 1, 3, 4]
        sub = pyx_fn(net, x.detach()[ok], labels[ok])
        assert abs(float(sub[1]) - 0.75) < 1e-6, (
            f"pyx_step {what}: acc should be the share of images whose argmax logit equals y, "
            "averaged over the batch")


def _spy_sampler(size: int, buffer_size: int, seed: int):
    """The reference sampler (reference buffer policy and SGLD step), recording each sample call."""

    class SpySampler(ref03.MCMCSampler):
        def sample(self, net, batch_size, y=None, n_steps=None):
            out = super().sample(net, batch_size, y, n_steps)
            self.calls.append((batch_size, y, n_steps, out.detach().clone()))
            return out

    s = SpySampler((1, size, size), buffer_size, 0.3, 3, 1.0, 0.01, None, (-1.0, 1.0),
                   init="gaussian", init_std=0.1, seed=seed, step_fn=ref03.langevin_step)
    s.calls = []
    return s


def _px_parts(net, x_data, x_model, alpha, detach_data=False, detach_model=False):
    e_data, e_model = -net(x_data), -net(x_model)
    if detach_data:
        e_data = e_data.detach()
    if detach_model:
        e_model = e_model.detach()
    cd = e_data.mean() - e_model.mean()
    return cd + alpha * (e_data.pow(2).mean() + e_model.pow(2).mean()), e_data, e_model


def _px_net(seed: int, k: int, size: int, bias: float | None = 0.0):
    """The course's CNN; with ``bias=None`` a network whose energies differ by several nats
    between images (a CNN at its initialisation gives nearly equal energies, where the form of
    the regulariser, mean of squares or square of the mean, cannot show)."""
    if bias is None:
        net = _chain_net(seed, k)
        with torch.no_grad():
            for p in net.head.parameters():
                p.mul_(3.0)
        return net
    torch.manual_seed(seed)
    net = ref03.CNNEnergy(1, size, 8, k)
    if bias:
        with torch.no_grad():
            net.head[-1].bias += bias
    return net


def _px_step_call(px_fn, net, sampler, x, alpha: float, where: str):
    """Call px_step once: it draws one batch of B unconditional samples, calls no backward()
    and leaves the parameters trainable. Returns (its output, the samples it was given)."""
    net.zero_grad(set_to_none=True)
    n_calls = len(sampler.calls)
    out = px_fn(net, sampler, x, alpha)
    assert isinstance(out, tuple) and len(out) == 3, (
        "px_step should return (loss, energy_data, energy_model)")
    calls = sampler.calls[n_calls:]
    assert len(calls) == 1, (
        f"{where}: call sampler.sample(net, B) exactly once per step (called "
        f"{len(calls)} times)")
    batch_size, y_used, _, x_model = calls[0]
    assert batch_size == len(x), (
        f"{where}: draw as many samples as there are data images, "
        "sampler.sample(net, x_data.shape[0]), not a fixed number")
    assert y_used is None, f"{where}: p(x) needs unconditional samples (no labels)"
    assert all(p.grad is None for p in net.parameters()), (
        f"{where}: px_step must not call backward() itself: the training step does")
    assert all(p.requires_grad for p in net.parameters()), (
        f"{where}: px_step left the network's parameters frozen")
    return out, x_model


def _check_px_loss(out, net, x, x_model, alpha: float, where: str) -> None:
    """The energies of the data and of exactly those samples, the CD + L2 loss, and its
    parameter gradient through both energies (the samples constant)."""
    loss, e_data, e_model = out
    want_loss, want_data, want_model = _px_parts(net, x, x_model, alpha)
    expect_close(e_data, want_data.detach(), f"{where}: energy_data = -net(x_data), "
                 "shape (B,)", atol=1e-4)
    expect_close(e_model, want_model.detach(), f"{where}: energy_model = -net(x_model) "
                 "of the samples that sampler.sample returned, shape (B,)", atol=1e-4)
    expect_close(loss, want_loss.detach(), f"{where}: loss = mean E_data - mean E_model "
                 "+ alpha * (mean E_data^2 + mean E_model^2), a scalar", atol=1e-4)
    assert loss.requires_grad, (
        f"{where}: the loss carries no gradient; the energies must keep their graph")
    params = _params(net)
    g_got = _grads(loss, params)
    g_want = _grads(want_loss, params)
    if _grads_match(g_got, g_want, 1e-3):
        return
    no_model = _grads(_px_parts(net, x, x_model, alpha, detach_model=True)[0], params)
    no_data = _grads(_px_parts(net, x, x_model, alpha, detach_data=True)[0], params)
    if _grads_match(g_got, no_model, 1e-3):
        raise AssertionError(
            f"{where}: the loss does not reach the parameters through energy_model: "
            "-net(x_model) must be computed with gradients (the samples themselves are "
            "constants, their energy is not)")
    if _grads_match(g_got, no_data, 1e-3):
        raise AssertionError(
            f"{where}: the loss does not reach the parameters through energy_data "
            "(no detach / no_grad on -net(x_data))")
    raise AssertionError(
        f"{where}: the gradient of the loss w.r.t. the parameters is wrong (max relative "
        f"error {_rel_err(g_got, g_want):.3g}); it must flow through both energies and "
        "not through the SGLD samples")


@_single_threaded
def check_px_step(px_fn) -> None:
    """px_step on the reference network and sampler: one sampler.sample(net, B) call, energies
    -net(x) of the data and of exactly those samples, the CD + L2 loss, and its parameter gradient
    through both energies (samples constant); batch of one, odd sizes, energies near +-500, an
    empty, a filling and a full buffer."""
    gen = torch.Generator().manual_seed(21)
    cases = [  # seed, K, image size, batch, alpha, logit bias, what
        (1, 5, 20, 8, 0.1, 0.0, "on a batch of eight"),
        (2, 3, 16, 7, 0.0, 0.0, "with alpha = 0 on a batch of seven"),
        (3, 4, 16, 1, 0.37, 0.0, "on a batch of one"),
        (4, 5, 16, 5, 0.1, 500.0, "with energies near -500"),
        (5, 5, 16, 5, 0.1, -500.0, "with energies near +500"),
        (6, 4, 8, 6, 0.5, None, "on a network whose energies differ widely between images "
         "(reg = mean of the squared energies, not the square of their mean)"),
    ]
    for seed, k, size, b, alpha, bias, what in cases:
        net = _px_net(seed, k, size, bias)
        sampler = _spy_sampler(size, max(b + b // 2, 2), seed)
        for phase in ("an empty buffer", "a buffer filling up", "a full buffer"):
            where = f"px_step {what}, {phase}"
            x = torch.rand((b, 1, size, size), generator=gen) * 2 - 1
            out, x_model = _px_step_call(px_fn, net, sampler, x, alpha, where)
            _check_px_loss(out, net, x, x_model, alpha, where)


def _fake_parts(calls: list):
    """Stand-ins for px_step and pyx_step returning leaves of known value (2 and 3, accuracy
    0.625), each recording its calls in ``calls``: (px_leaf, pyx_leaf, fake_px, fake_pyx)."""
    px_leaf = torch.tensor(2.0, requires_grad=True)
    pyx_leaf = torch.tensor(3.0, requires_grad=True)

    def fake_px(net, sampler, x_data, alpha):
        calls.append(("px", net, sampler, x_data, alpha))
        return px_leaf * 1.0, torch.zeros(len(x_data)), torch.zeros(len(x_data))

    def fake_pyx(net, x, y):
        calls.append(("pyx", net, x, y))
        return pyx_leaf * 1.0, torch.tensor(0.625)

    return px_leaf, pyx_leaf, fake_px, fake_pyx


def _check_weighted_sum(step_fn, calls: list, net, sampler, x, y, w_px: float, w_pyx: float,
                        what: str) -> None:
    """One call with the stand-in parts: each part called once with its own arguments, the loss
    px_weight * loss_px + pyx_weight * loss_pyx, the parts unweighted, the accuracy passed on,
    the gradient reaching both parts with their weights."""
    calls.clear()
    px_leaf, pyx_leaf, fake_px, fake_pyx = _fake_parts(calls)
    out = step_fn(net, sampler, x, y, 0.3, w_px, w_pyx, fake_px, fake_pyx)
    assert isinstance(out, tuple) and len(out) == 4, (
        "jem_step should return (loss, loss_px, loss_pyx, acc)")
    loss, loss_px, loss_pyx, acc = out
    px_calls = [c for c in calls if c[0] == "px"]
    pyx_calls = [c for c in calls if c[0] == "pyx"]
    assert px_calls and pyx_calls, (
        f"jem_step {what}: call the px_step_fn and pyx_step_fn it is given (not the "
        "notebook's functions by name)")
    assert len(px_calls) == 1, (
        f"jem_step {what}: call px_step_fn once per step (each call runs SGLD and "
        "updates the buffer)")
    _, n_, s_, x_, a_ = px_calls[0]
    assert n_ is net and s_ is sampler and x_ is x and a_ == 0.3, (
        f"jem_step {what}: call px_step_fn(net, sampler, x, alpha) with its own arguments")
    _, n_, x_, y_ = pyx_calls[0]
    assert n_ is net and x_ is x and y_ is y, (
        f"jem_step {what}: call pyx_step_fn(net, x, y) with its own arguments")
    assert isinstance(loss, torch.Tensor) and loss.dim() == 0, (
        f"jem_step {what}: the loss should be a scalar tensor")
    want = w_px * 2.0 + w_pyx * 3.0
    assert abs(float(loss.detach()) - want) < 1e-5, (
        f"jem_step {what}: loss should be px_weight * loss_px + pyx_weight * loss_pyx")
    assert (abs(float(torch.as_tensor(loss_px).detach()) - 2.0) < 1e-6
            and abs(float(torch.as_tensor(loss_pyx).detach()) - 3.0) < 1e-6), (
        f"jem_step {what}: loss_px and loss_pyx should be the two parts' losses, unweighted")
    assert abs(float(torch.as_tensor(acc)) - 0.625) < 1e-6, (
        f"jem_step {what}: acc should be the accuracy pyx_step_fn returns")
    assert loss.requires_grad, f"jem_step {what}: the loss must carry the gradient"
    g_px, g_pyx = _grads(loss, [px_leaf, pyx_leaf])
    assert abs(float(g_px) - w_px) < 1e-6, (
        f"jem_step {what}: the gradient must reach the p(x) part with weight px_weight "
        "(no .item() / detach of loss_px in the sum)")
    assert abs(float(g_pyx) - w_pyx) < 1e-6, (
        f"jem_step {what}: the gradient must reach the classifier part with weight "
        "pyx_weight (no .item() / detach of loss_pyx in the sum)")


def _check_px_weight_zero(step_fn, calls: list, net, sampler, x, y, w_pyx: float) -> None:
    """px_weight=0: px_step skipped, loss_px 0, the loss and gradient the classifier's alone."""
    calls.clear()
    px_leaf, pyx_leaf, fake_px, fake_pyx = _fake_parts(calls)
    loss, loss_px, loss_pyx, acc = step_fn(net, sampler, x, y, 0.3, 0.0, w_pyx, fake_px, fake_pyx)
    assert not any(c[0] == "px" for c in calls), (
        "with px_weight=0 jem_step should skip px_step (no SGLD: a plain classifier step)")
    assert abs(float(torch.as_tensor(loss_px).detach())) < 1e-6, (
        "with px_weight=0 jem_step should report loss_px = 0")
    assert isinstance(loss, torch.Tensor) and abs(float(loss.detach()) - w_pyx * 3.0) < 1e-6, (
        "with px_weight=0 the loss is pyx_weight * loss_pyx (the classifier's alone)")
    assert loss.requires_grad and abs(float(_grads(loss, [pyx_leaf])[0]) - w_pyx) < 1e-6, (
        "with px_weight=0 the gradient must reach the classifier part with weight pyx_weight")


def _check_reference_parts(step_fn) -> None:
    """With the reference parts on a real network and the reference sampler: a batch of three."""
    net = _px_net(9, 5, 16)
    sampler = _spy_sampler(16, 6, 9)
    gen = torch.Generator().manual_seed(9)
    x = torch.rand((3, 1, 16, 16), generator=gen) * 2 - 1
    y = torch.tensor([4, 0, 2])
    net.zero_grad(set_to_none=True)
    out = step_fn(net, sampler, x, y, 0.1, 0.5, 2.0, ref04.px_step, ref04.pyx_step)
    assert len(sampler.calls) == 1, "jem_step with the reference parts should draw one batch of samples"
    x_model = sampler.calls[0][3]
    want = 0.5 * _px_parts(net, x, x_model, 0.1)[0] + 2.0 * ref04.pyx_step(net, x, y)[0]
    expect_close(out[0], want.detach(), "jem_step loss with the reference parts on a network",
                 atol=1e-4)
    params = _params(net)
    g_got, g_want = _grads(out[0], params), _grads(want, params)
    assert _grads_match(g_got, g_want, 1e-3), (
        "jem_step with the reference parts: the loss's gradient w.r.t. the parameters is wrong "
        f"(max relative error {_rel_err(g_got, g_want):.3g})")


@_single_threaded
def check_jem_step(step_fn) -> None:
    """The objective px_weight * loss_px + pyx_weight * loss_pyx with the parts it is given:
    values, unweighted parts, gradient reaching both parts with their weights; px_step skipped
    (loss_px 0) at px_weight 0; with the reference parts, loss and gradient on a real network."""
    calls = []  # what the stand-in parts were called with

    # A real network and sampler: code that calls other parts than the ones it is given runs,
    # and the check can say so.
    net, sampler = _px_net(9, 5, 16), _spy_sampler(16, 6, 9)
    x, y = torch.rand(3, 1, 16, 16) * 2 - 1, torch.tensor([1, 0, 4])
    for w_px, w_pyx, what in ((1.0, 1.0, "with unit weights"), (0.37, 2.5, "with other weights"),
                              (1.0, 0.25, "with a small classifier weight")):
        _check_weighted_sum(step_fn, calls, net, sampler, x, y, w_px, w_pyx, what)
    for w_pyx in (1.0, 2.5):
        _check_px_weight_zero(step_fn, calls, net, sampler, x, y, w_pyx)
    _check_reference_parts(step_fn)


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
