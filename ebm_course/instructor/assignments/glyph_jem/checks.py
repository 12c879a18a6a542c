"""Hidden checks of assignment 04_glyph_jem. Each grades one part, with the reference for every
other part, by properties: values on deterministic cases, gradient flow, random-number use
(statistics, independence, generator), a batch of one, extreme values, float64 inputs.

No check compares a random draw of the student's code with one of the reference: where a part
draws random numbers (the sampler's SGLD inside ``px_step``), the check records the draw the
student's code received and computes what it should return from that draw; ``run_chain`` runs
with a deterministic step that records what it was given.
"""

from __future__ import annotations

import contextlib
import functools
import math

import torch
from torch import nn

from ebm_course import models
from ebm_course.instructor.assignments.glyph_jem import reference as ref04
from ebm_course.instructor.assignments.mnist_ebm import reference as ref03
from ebm_course.instructor.grading.common import (
    expect_close,
    expect_generator_advances,
    expect_no_graph,
    expect_not_aliased,
    expect_tensor,
    guard_checks,
)

# ---------------------------------------------------------------- helpers

def _single_threaded(check):
    """Run a check with one intra-op thread: its networks are tiny, and on a busy machine
    (several kernels grading at once) two or more threads only spin against each other."""

    @functools.wraps(check)
    def run(*args, **kwargs):
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return check(*args, **kwargs)
        finally:
            torch.set_num_threads(threads)

    return run


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


def _corr(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.double().flatten(), b.double().flatten()
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / (a.norm() * b.norm() + 1e-30))


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


# ---------------------------------------------------------------- Exercise 1: class-Gaussian starts

def _class_gaussians(k: int, d: int, r: int, seed: int, dtype=torch.float32):
    """Means well apart (class k sits at 10 * k in every entry) and random factors (K, D, r)."""
    gen = torch.Generator().manual_seed(seed)
    means = (10.0 * torch.arange(k, dtype=torch.float64))[:, None].repeat(1, d)
    means = means + 0.1 * torch.randn(k, d, generator=gen, dtype=torch.float64)
    factors = 0.3 * torch.randn(k, d, r, generator=gen, dtype=torch.float64)
    return means.to(dtype), factors.to(dtype)


def _check_random_classes(init_fn) -> None:
    """y=None: an independent uniform class per draw, whatever n: consecutive draws share
    their class with probability 1/K (no cyclic pattern such as arange(n) % K), and with fewer
    draws than classes every class still starts some chain over several generator seeds."""
    k = 5
    means, factors = _class_gaussians(k, 4, 2, seed=13)

    def classes(x, n, what):
        x = expect_tensor(x, f"class_gaussian_init {what}", (n, 4))
        return (x.double().mean(1) / 10).round().clamp(0, k - 1).long()

    label = classes(init_fn(3000, means, factors, torch.Generator().manual_seed(8)), 3000,
                    "with y=None")
    same = (label[1:] == label[:-1]).double().mean().item()
    assert abs(same - 1 / k) < 6 * math.sqrt((1 / k) * (1 - 1 / k) / 2999), (
        "class_gaussian_init with y=None: consecutive draws should share their class with "
        "probability 1/K: draw each class at random (torch.randint(K, (n,), generator=...)), "
        "not in a fixed pattern such as arange(n) % K")
    seen = set()
    for seed in range(40):
        seen.update(classes(init_fn(2, means, factors, torch.Generator().manual_seed(100 + seed)),
                            2, "with fewer draws than classes").tolist())
    assert seen == set(range(k)), (
        "class_gaussian_init with fewer draws than classes (n < K) and y=None: over many "
        "generator seeds some classes never start a chain: draw the classes at random, not as "
        "arange(n) % K or another fixed assignment")


def check_class_gaussian_init(init_fn) -> None:
    """Class-Gaussian chain starts: shape (n, D), the inputs' dtype; classes uniform and
    independent when y is None (no fixed pattern, every class reachable when n < K), else the
    given ones; per class the mean means[k] and the covariance factors[k]
    factors[k]^T; independent draws; drawn from the given generator only (reproducible,
    advancing, the global RNG untouched); n of one and zero."""
    for k, d, r, n, what in [(3, 6, 2, 6000, "with 3 classes, D = 6, rank 2"),
                             (5, 4, 4, 10000, "with 5 classes, D = 4, full rank"),
                             (2, 9, 1, 6000, "with rank 1")]:
        means, factors = _class_gaussians(k, d, r, seed=k + d)
        x = init_fn(n, means, factors, torch.Generator().manual_seed(3))
        x = expect_tensor(x, f"class_gaussian_init {what}", (n, d), dtype=torch.float32)
        label = (x.double().mean(1) / 10).round().clamp(0, k - 1).long()  # classes lie 10 apart
        share = torch.bincount(label, minlength=k).double() / n
        assert (share - 1 / k).abs().max() < 6 * math.sqrt(1 / (k * n)) + 0.01, (
            f"class_gaussian_init {what} and y=None: the classes should be drawn uniformly, got "
            f"shares {[round(float(s), 3) for s in share]}")
        for c in range(k):
            xc = x[label == c].double()
            cov = factors[c].double() @ factors[c].double().T
            err_mean = (xc.mean(0) - means[c].double()).abs().max().item()
            tol_mean = 6 * math.sqrt(cov.diagonal().max().item() / len(xc)) + 1e-3
            assert err_mean < tol_mean, (
                f"class_gaussian_init {what}: the draws of class {c} should have mean means[{c}] "
                f"(off by {err_mean:.3g}); x = means[y] + factors[y] @ z")
            err_cov = (torch.cov(xc.T) - cov).abs().max().item()
            scale = cov.abs().max().item()
            assert err_cov < 0.15 * scale, (
                f"class_gaussian_init {what}: the draws of class {c} should have covariance "
                f"factors[{c}] @ factors[{c}].T (largest error {err_cov:.3g} against entries up to "
                f"{scale:.3g}): z ~ N(0, I) of length r, one per draw, multiplied by the class's "
                f"factors (not its transpose, not squared)")
        flat = x.double() - means[label].double()
        assert abs(_corr(flat[:-1], flat[1:])) < 6 / math.sqrt(flat.numel()) + 0.01, (
            f"class_gaussian_init {what}: neighbouring draws are correlated; every draw needs its "
            f"own z")

    means, factors = _class_gaussians(4, 5, 2, seed=11)
    y = torch.tensor([3, 0, 0, 2, 1, 3] * 1000)
    x = expect_tensor(init_fn(len(y), means, factors, torch.Generator().manual_seed(4), y),
                      "class_gaussian_init with labels y", (len(y), 5))
    for c in range(4):
        err = (x[y == c].double().mean(0) - means[c].double()).abs().max().item()
        assert err < 0.1, (f"class_gaussian_init with labels y: the draw for y[i] = {c} should "
                           f"come from class {c}'s Gaussian (means[y], factors[y])")
    m64, f64 = _class_gaussians(3, 4, 2, seed=5, dtype=torch.float64)
    x64 = init_fn(50, m64, f64, torch.Generator().manual_seed(1))
    expect_tensor(x64, "class_gaussian_init with float64 means and factors", (50, 4),
                  dtype=torch.float64)

    gen = torch.Generator().manual_seed(5)
    state = torch.get_rng_state()
    a = init_fn(300, means, factors, gen)
    assert torch.equal(torch.get_rng_state(), state), (
        "class_gaussian_init must neither draw from nor re-seed the global random generator: "
        "pass generator=generator to every draw (the classes and z)")
    torch.manual_seed(123)
    b = init_fn(300, means, factors, torch.Generator().manual_seed(5))
    assert torch.equal(a, b), (
        "class_gaussian_init must draw from the generator it is given: the same generator "
        "state should give the same starts whatever the global seed")
    expect_generator_advances(lambda g: init_fn(300, means, factors, g), gen,
                              "class_gaussian_init called twice with one generator")
    _check_random_classes(init_fn)
    one = expect_tensor(init_fn(1, means, factors, torch.Generator().manual_seed(7)),
                        "class_gaussian_init of a single chain (n = 1)", (1, 5))
    zero = init_fn(0, means, factors, torch.Generator().manual_seed(7))
    expect_tensor(zero, "class_gaussian_init with n = 0 (an iteration where no chain restarts)",
                  (0, 5))
    del one


# ---------------------------------------------------------------- Exercise 3: calibration

def _ece_reference(conf: torch.Tensor, correct: torch.Tensor, n_bins: int) -> float:
    conf, correct = conf.double(), correct.double()
    total = 0.0
    for b in range(n_bins):
        lo, hi = b / n_bins, (b + 1) / n_bins
        in_bin = (conf > lo) & (conf <= hi) if b else (conf <= hi)
        if in_bin.any():
            total += in_bin.double().mean().item() * abs(
                correct[in_bin].mean().item() - conf[in_bin].mean().item())
    return total


def _probs_with(conf: torch.Tensor, k: int) -> torch.Tensor:
    """Probabilities (N, K) whose largest entry is ``conf`` at class 0, the rest spread evenly."""
    rest = ((1 - conf) / (k - 1))[:, None].expand(-1, k - 1)
    return torch.cat([conf[:, None], rest], 1)


def check_expected_calibration_error(ece_fn) -> None:
    """ECE: a float; 0 for a perfectly calibrated case; |accuracy - confidence| for one bin;
    each bin weighted by its share of the inputs; equal-width bins (lo, hi] of the top-class
    probability; the given n_bins; accuracy of the argmax (not of the label's probability)."""
    def ece(probs, labels, n_bins=15, what=""):
        got = ece_fn(probs, labels, n_bins)
        got = float(got.item() if isinstance(got, torch.Tensor) else got)
        assert math.isfinite(got), f"expected_calibration_error {what}: got {got}"
        return got

    k = 4
    conf = torch.full((10,), 0.8)
    labels = torch.tensor([0] * 8 + [1] * 2)  # 80% right at confidence 0.8: calibrated
    assert abs(ece(_probs_with(conf, k), labels, 10, "calibrated")) < 1e-6, (
        "expected_calibration_error: 10 inputs at confidence 0.8 of which 8 are right should give "
        "ECE 0")
    labels = torch.tensor([0] * 5 + [1] * 5)
    got = ece(_probs_with(conf, k), labels, 10, "one bin")
    assert abs(got - 0.3) < 1e-6, (
        f"expected_calibration_error: confidence 0.8 with accuracy 0.5 in one bin should give "
        f"|0.5 - 0.8| = 0.3, got {got:.4g}")
    gen = torch.Generator().manual_seed(0)
    for n, n_bins, k, what in [(500, 15, 5, "on 500 random inputs, 15 bins"),
                               (333, 7, 3, "with n_bins = 7"), (1, 10, 4, "on a single input"),
                               (200, 1, 6, "with one bin")]:
        logits = 3 * torch.randn(n, k, generator=gen)
        probs = logits.softmax(1)
        labels = torch.randint(k, (n,), generator=gen)
        conf, pred = probs.max(1)
        want = _ece_reference(conf, (pred == labels), n_bins)
        got = ece(probs, labels, n_bins, what)
        assert abs(got - want) < 1e-5, (
            f"expected_calibration_error {what}: got {got:.5f}; expected the share-weighted "
            "mean over the bins of |accuracy - mean confidence|, with equal-width bins of the "
            "largest probability and the argmax as the prediction")
    conf = torch.tensor([0.25, 0.5, 0.5, 0.75, 1.0])  # on the edges of 4 bins (exact in binary)
    probs = _probs_with(conf, 5).double()  # the top class stays class 0
    labels = torch.tensor([1, 0, 0, 0, 1])
    want = _ece_reference(conf, labels == 0, 4)
    got = ece(probs, labels, 4, "with float64 probabilities and confidences on bin edges")
    assert abs(got - want) < 1e-6, (
        f"expected_calibration_error with confidences on bin edges: bins are (lo, hi], so a "
        f"confidence of exactly 0.5 with 4 bins belongs to (0.25, 0.5]; got {got:.4g}, expected "
        f"{want:.4g}")


# ---------------------------------------------------------------- Exercise 2: the objectives

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
                continue
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


def check_jem_step(step_fn) -> None:
    """The objective px_weight * loss_px + pyx_weight * loss_pyx with the parts it is given:
    values, unweighted parts, gradient reaching both parts with their weights; px_step skipped
    (loss_px 0) at px_weight 0; with the reference parts, loss and gradient on a real network."""
    calls = []

    def parts():
        px_leaf = torch.tensor(2.0, requires_grad=True)
        pyx_leaf = torch.tensor(3.0, requires_grad=True)

        def fake_px(net, sampler, x_data, alpha):
            calls.append(("px", net, sampler, x_data, alpha))
            return px_leaf * 1.0, torch.zeros(len(x_data)), torch.zeros(len(x_data))

        def fake_pyx(net, x, y):
            calls.append(("pyx", net, x, y))
            return pyx_leaf * 1.0, torch.tensor(0.625)

        return px_leaf, pyx_leaf, fake_px, fake_pyx

    # A real network and sampler: code that calls other parts than the ones it is given runs,
    # and the check can say so.
    net, sampler = _px_net(9, 5, 16), _spy_sampler(16, 6, 9)
    x, y = torch.rand(3, 1, 16, 16) * 2 - 1, torch.tensor([1, 0, 4])
    for w_px, w_pyx, what in ((1.0, 1.0, "with unit weights"), (0.37, 2.5, "with other weights"),
                              (1.0, 0.25, "with a small classifier weight")):
        calls.clear()
        px_leaf, pyx_leaf, fake_px, fake_pyx = parts()
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

    for w_pyx in (1.0, 2.5):
        calls.clear()
        px_leaf, pyx_leaf, fake_px, fake_pyx = parts()
        loss, loss_px, loss_pyx, acc = step_fn(net, sampler, x, y, 0.3, 0.0, w_pyx, fake_px, fake_pyx)
        assert not any(c[0] == "px" for c in calls), (
            "with px_weight=0 jem_step should skip px_step (no SGLD: a plain classifier step)")
        assert abs(float(torch.as_tensor(loss_px).detach())) < 1e-6, (
            "with px_weight=0 jem_step should report loss_px = 0")
        assert isinstance(loss, torch.Tensor) and abs(float(loss.detach()) - w_pyx * 3.0) < 1e-6, (
            "with px_weight=0 the loss is pyx_weight * loss_pyx (the classifier's alone)")
        assert loss.requires_grad and abs(float(_grads(loss, [pyx_leaf])[0]) - w_pyx) < 1e-6, (
            "with px_weight=0 the gradient must reach the classifier part with weight pyx_weight")

    # With the reference parts on a real network and the reference sampler: a batch of three.
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


# ---------------------------------------------------------------- Exercise 4: long-run generation

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


def _chain_net(seed: int, k: int, dtype=torch.float32) -> nn.Module:
    """The course's network (reference get_logits and forward) on 8x8 images, with a small
    smooth head in place of its layers: K logits whose energy and input gradient change visibly
    from one chain state to the next (a CNN at its initialisation is nearly flat in x)."""
    with torch.random.fork_rng(devices=[]):  # the notebook's random state stays as it was
        torch.manual_seed(seed)
        net = ref03.CNNEnergy(1, 8, 4, k)
        net.features = nn.Flatten()
        net.head = nn.Sequential(nn.Linear(64, 16), nn.Tanh(), nn.Linear(16, k))
    with torch.no_grad():
        for p in net.head.parameters():
            p.mul_(2.0)
    return net.to(dtype)


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


for _name, _check in list(globals().items()):
    if _name.startswith("check_") and callable(_check):
        globals()[_name] = _single_threaded(_check)
guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
