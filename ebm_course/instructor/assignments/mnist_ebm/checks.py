"""Hidden checks of assignment 03_mnist_ebm. Each grades one part, in isolation, by properties.

What every check holds to (see the issue on hidden checks):

* properties, not one reference output: values on fixed inputs where the part is deterministic,
  statistics with wide margins where it draws random numbers, gradients (what reaches what),
  a batch of one, non-round sizes and ratios, extreme values, ties, float64 inputs, and every
  phase of the stateful sampler (empty, filling, full);
* the verdict does not depend on the global random state or on the order in which a correct
  answer draws its random numbers: the cases are built from local generators, and global
  draws made for a case run inside ``torch.random.fork_rng`` (the notebook's stream is left as
  it was);
* isolation: a part is graded with the reference for every other part (the CNN with torch's
  SiLU in place of the student's Swish and the reference ``get_logits`` under ``forward``; the
  sampler's two methods on states the check sets or builds itself);
* messages name the property and the kind of input, never a hidden case's numbers.
"""

from __future__ import annotations

import contextlib
import math
import types

import torch
from torch import nn

from ebm_course import models
from ebm_course.instructor.assignments.mnist_ebm import reference as ref03
from ebm_course.instructor.grading.common import guard_checks

# --------------------------------------------------------------------------- helpers


def _expect(value, what: str, shape: tuple | None = None, shape_desc: str = "",
            dtype: torch.dtype | None = None) -> torch.Tensor:
    """A finite tensor with data, of the given shape and dtype; the message names no sizes."""
    assert isinstance(value, torch.Tensor), (
        f"{what}: expected a torch.Tensor, got {type(value).__name__}")
    assert value.device.type != "meta", f"{what}: expected a tensor with values, got a 'meta' one"
    if shape is not None and tuple(value.shape) != tuple(shape):
        got = (f"a {value.dim()}-dimensional one" if value.dim() != len(shape)
               else "one with other sizes")
        raise AssertionError(f"{what}: returned a tensor of the wrong shape (expected "
                             f"{shape_desc or 'another shape'}, got {got})")
    if dtype is not None:
        assert value.dtype == dtype, (
            f"{what}: expected dtype {dtype} (the dtype of the inputs), got {value.dtype}")
    if value.is_floating_point():
        assert torch.isfinite(value).all(), f"{what}: contains NaN or inf"
    return value


def _close(actual, expected: torch.Tensor, what: str, shape_desc: str = "",
           atol: float = 1e-5, rtol: float = 1e-4) -> None:
    """``actual`` has ``expected``'s shape, dtype and device type, and is close to it."""
    actual = _expect(actual, what, tuple(expected.shape), shape_desc, dtype=expected.dtype)
    assert actual.device.type == expected.device.type, (
        f"{what}: expected a tensor on {expected.device.type} (the device of the inputs), got "
        f"{actual.device}")
    actual = actual.detach()
    if not torch.allclose(actual, expected.detach(), atol=atol, rtol=rtol):
        err = (actual - expected.detach()).abs().max().item()
        raise AssertionError(f"{what}: values differ from the reference (max abs error {err:.3g})")


@contextlib.contextmanager
def _global_seed(seed: int):
    """Run the body from a fixed global seed, and give the notebook its random stream back."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


@contextlib.contextmanager
def _notebook_names(cls, **names):
    """Swap notebook globals (``Swish``) seen by the methods ``cls`` defines, then restore them:
    the student's own class then builds its layers from the reference pieces."""
    spaces = {}
    for klass in cls.__mro__:
        if klass.__module__.startswith(("ebm_course.", "torch.")) or klass is object:
            continue
        for member in vars(klass).values():
            code = getattr(member, "__globals__", None)
            if isinstance(code, dict):
                spaces[id(code)] = code
    saved = []
    for space in spaces.values():
        for name, value in names.items():
            if name in space:
                saved.append((space, name, space[name]))
                space[name] = value
    try:
        yield
    finally:
        for space, name, value in reversed(saved):
            space[name] = value


_LAYERS = (nn.Conv2d, nn.Linear, nn.Flatten, nn.Sequential)


def _reference_activations(net: nn.Module) -> nn.Module:
    """Every activation of the package's layer stacks becomes torch's SiLU (= the reference
    Swish), so a wrong Swish costs no points here."""
    for module in list(net.modules()):
        if isinstance(module, nn.Sequential):
            for name, child in list(module.named_children()):
                if not isinstance(child, _LAYERS):
                    module._modules[name] = nn.SiLU()
    return net


# --------------------------------------------------------------------------- Exercise 1: Swish


def check_swish(swish_cls) -> None:
    """Swish(x) = x * sigmoid(x) elementwise: any shape (a batch of one too), the input left
    untouched, float64 kept, finite and right at very large and very negative inputs, and the
    exact derivative flowing back to x."""
    act = swish_cls()
    assert isinstance(act, nn.Module), "Swish should be a torch.nn.Module subclass"
    gen = torch.Generator().manual_seed(0)
    for shape, kind in (((13,), "on a 1-D tensor"), ((1, 1, 5, 7), "on a batch of one image"),
                        ((3, 4, 2, 5), "on a 4-D batch")):
        x = torch.randn(shape, generator=gen) * 4
        x0 = x.clone()
        out = act(x)
        _close(out, x0 * torch.sigmoid(x0), f"Swish {kind}", "the input's shape")
        assert torch.equal(x, x0), (
            f"Swish {kind}: the input changed; do not modify x in place (x *= ..., x.mul_)")

    x = torch.tensor([-1e4, -1e3, -200.0, -90.0, -30.0, -20.0, -12.0, 0.0, 12.0, 20.0, 30.0,
                      90.0, 200.0, 1e3, 1e4])
    _close(act(x.clone()), x * torch.sigmoid(x), "Swish with very large and very negative inputs "
           "(it must neither overflow nor be cut off)", "the input's shape")

    x64 = torch.randn(4, 6, generator=gen, dtype=torch.float64) * 5
    _close(act(x64.clone()), x64 * torch.sigmoid(x64), "Swish on a float64 tensor",
           "the input's shape", atol=1e-10, rtol=1e-8)

    x = torch.linspace(-80, 80, 321).requires_grad_(True)
    out = act(x)
    assert isinstance(out, torch.Tensor) and out.requires_grad, (
        "Swish must keep the autograd graph (no torch.no_grad, .detach() or .item() inside): "
        "SGLD differentiates through it")
    (grad,) = torch.autograd.grad(out.sum(), x)
    s = torch.sigmoid(x.detach())
    want = s * (1 + x.detach() * (1 - s))
    _close(grad, want, "the derivative of Swish (d/dx of x * sigmoid(x), through both factors)",
           "the input's shape")


# --------------------------------------------------------------------------- Exercise 2: CNN


class _FixedLogits(nn.Module):
    """A head that returns given logits: forward is graded on chosen logits (extremes, ties)."""

    def __init__(self, logits: torch.Tensor) -> None:
        super().__init__()
        self.logits = logits

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.logits


def _build_cnn(cnn_cls, in_ch: int, size: int, hidden: int, k: int, seed: int):
    """The student's network with the reference activations, and the reference on its weights."""
    with _global_seed(seed), _notebook_names(cnn_cls, Swish=ref03.Swish):
        net = cnn_cls(in_ch, size, hidden, k)
        ref = _reference_activations(ref03.CNNEnergy(in_ch, size, hidden, k))
    assert isinstance(net, nn.Module), "CNNEnergy(...) should build a torch.nn.Module"
    _reference_activations(net)
    try:
        ref.load_state_dict(net.state_dict())
    except RuntimeError:
        raise AssertionError(
            "CNNEnergy should keep the package's layers (self.features, self.head) unchanged: "
            "its parameters differ from the course's network") from None
    return net, ref


def _check_net(cnn_cls, case, kind, gen, dtype=torch.float32) -> None:
    """get_logits, then forward(x) and forward(x, y) under the reference get_logits, on one
    network: values, and the gradients reaching the input images and every parameter."""
    in_ch, size, hidden, k, b, seed = case
    net, ref = _build_cnn(cnn_cls, in_ch, size, hidden, k, seed)
    net.to(dtype), ref.to(dtype)
    x = (torch.rand(b, in_ch, size, size, generator=gen) * 2 - 1).to(dtype)
    y = torch.randint(k, (b,), generator=gen)
    w = torch.randn(b, k, generator=gen, dtype=dtype)
    f32 = dtype == torch.float32
    tol = dict(atol=1e-5, rtol=1e-4) if f32 else dict(atol=1e-10, rtol=1e-8)
    grad_tol = dict(atol=1e-6, rtol=1e-3) if f32 else dict(atol=1e-12, rtol=1e-8)

    def compare_grads(x_net, x_ref, what):
        assert x_net.grad is not None, (
            f"{what}: no gradient reaches the input images (SGLD needs dE/dx): a detach, .data "
            "or torch.no_grad on the way?")
        _close(x_net.grad, x_ref.grad, f"{what}: the gradient with respect to the input images",
               **grad_tol)
        for p_net, p_ref in zip(net.parameters(), ref.parameters()):
            assert p_net.grad is not None, (
                f"{what}: some of the network's parameters get no gradient (a detach, .data or "
                "torch.no_grad on the way?)")
            _close(p_net.grad, p_ref.grad, f"{what}: the parameters' gradients",
                   atol=grad_tol["atol"] * 10, rtol=1e-3)
        net.zero_grad(), ref.zero_grad()

    x_net, x_ref = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    logits, want = net.get_logits(x_net), ref.get_logits(x_ref)
    what = f"get_logits {kind}"
    _close(logits, want, what, "shape (B, K)", **tol)
    assert logits.requires_grad, (
        f"{what}: the logits must keep the autograd graph (no torch.no_grad / detach): the "
        "loss and SGLD differentiate through them")
    (logits * w).sum().backward()
    (want * w).sum().backward()
    compare_grads(x_net, x_ref, what)

    net.get_logits = types.MethodType(ref03.CNNEnergy.get_logits, net)  # isolate forward
    for labels, name in ((None, "forward(x)"), (y, "forward(x, y)")):
        x_net, x_ref = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
        got = net(x_net) if labels is None else net(x_net, labels)
        want = ref(x_ref) if labels is None else ref(x_ref, labels)
        what = f"{name} {kind}"
        _close(got, want, what, "shape (B,), one neg_energy per image", **tol)
        assert got.requires_grad, (
            f"{what}: neg_energy must keep the autograd graph (no torch.no_grad / detach)")
        got.sum().backward()
        want.sum().backward()
        compare_grads(x_net, x_ref, what)


def _check_forward_on_logits(cnn_cls, logits: torch.Tensor, y: torch.Tensor, kind: str) -> None:
    """forward on chosen logits (the head replaced): values and d neg_energy / d logits."""
    b, k = logits.shape
    net, _ = _build_cnn(cnn_cls, 1, 8, 4, k, seed=5)
    net.to(logits.dtype)
    net.get_logits = types.MethodType(ref03.CNNEnergy.get_logits, net)
    net.features = nn.Flatten()  # the head below ignores the features: skip the convolutions
    x = torch.zeros(b, 1, 8, 8, dtype=logits.dtype)
    tol = dict(atol=1e-5, rtol=1e-5) if logits.dtype == torch.float32 else dict(atol=1e-10,
                                                                                rtol=1e-10)
    for labels, name in ((None, "forward(x), the logsumexp of the logits,"),
                         (y, "forward(x, y), the logit of class y,")):
        leaf = logits.clone().requires_grad_(True)
        net.head = _FixedLogits(leaf)
        got = net(x) if labels is None else net(x, labels)
        exact = leaf.detach().double()
        want = (exact.logsumexp(1) if labels is None
                else exact[torch.arange(b), labels]).to(logits.dtype)
        what = f"{name} {kind}"
        _close(got, want, what, "shape (B,), one neg_energy per image", **tol)
        assert got.requires_grad, f"{what}: the result must keep the autograd graph"
        (grad,) = torch.autograd.grad(got.sum(), leaf, allow_unused=True)
        grad = torch.zeros_like(leaf) if grad is None else grad
        if labels is None:
            grad_want = exact.softmax(1).to(logits.dtype)
            rule = "softmax(logits) for logsumexp"
        else:
            grad_want = nn.functional.one_hot(labels, k).to(logits.dtype)
            rule = "1 for the logit of class y, 0 for every other logit"
        _close(grad, grad_want, f"{what}: its gradient with respect to the logits (should be "
               f"{rule})", "the logits' shape",
               atol=1e-5 if logits.dtype == torch.float32 else 1e-10)


def check_cnn_energy(cnn_cls) -> None:
    """get_logits (values, and gradients reaching the input and every parameter) and forward
    (logsumexp or the logit of class y) on networks built with the reference activation: non-round
    sizes, a batch of one, K = 1 and K > 1, float64, and forward on chosen logits (of 1e3, of
    -1e3, tied) with its gradient with respect to the logits."""
    gen = torch.Generator().manual_seed(1000)
    # (in_channels, image_size, hidden, n_classes, batch, seed)
    _check_net(cnn_cls, (1, 28, 8, 1, 1, 1), "on a batch of one MNIST-sized image, one logit",
               gen)
    _check_net(cnn_cls, (2, 17, 6, 10, 4, 2), "on odd-sized two-channel float64 images (float64 "
               "weights), ten logits", gen, dtype=torch.float64)

    big = torch.tensor([[1000.0, 999.0, -5.0], [1000.0, 1000.0, 1000.0],
                        [-1000.0, -1001.0, -1000.5], [3.0, 3.0, -2.0]])
    _check_forward_on_logits(cnn_cls, big, torch.tensor([2, 1, 0, 0]),
                             "with logits of 1e3 and of -1e3, and tied logits")
    _check_forward_on_logits(cnn_cls, torch.tensor([[2.5, -1.0, 0.3, 7.0]]), torch.tensor([3]),
                             "on a batch of one")
    _check_forward_on_logits(cnn_cls, torch.tensor([[1000.0], [-1000.0], [0.25]]),
                             torch.tensor([0, 0, 0]), "with a single logit (a plain EBM)")
    _check_forward_on_logits(cnn_cls, torch.tensor([[0.5, -800.0], [300.0, 300.0]],
                                                   dtype=torch.float64),
                             torch.tensor([1, 0]), "with float64 logits")


# --------------------------------------------------------------------------- Exercise 3: SGLD


def _quadratic_energy(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * (x.flatten(1) - 0.3).pow(2).sum(1) * 4.0


def _flat_energy(x: torch.Tensor) -> torch.Tensor:
    return 0.0 * x.flatten(1).sum(1)


def _corr(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.flatten().double(), b.flatten().double()
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / (a.norm() * b.norm()).clamp_min(1e-30))


def check_langevin_step(step_fn) -> None:
    """One SGLD step. Noise-free: x - step_size * clip(dE/dx), then clamp, as the reference
    (gradient of the summed energy, every entry clipped, grad_clip=0 included; a batch of one,
    float64, a CNN energy, under no_grad or not); x untouched, the result detached, no gradient
    reaching the network's parameters or x.grad. Noise: N(0, noise_std^2), Gaussian, its own
    draw for every element, fresh at every call, added after the gradient step and before the
    clamp."""
    gen = torch.Generator().manual_seed(7)
    with _global_seed(7):
        net = ref03.CNNEnergy(1, 20, 8, 1)
    energy_net = models.energy_fn_of(net)
    x5 = torch.rand(5, 1, 7, 9, generator=gen) * 2 - 1
    x_img = torch.rand(3, 1, 20, 20, generator=gen) * 2 - 1
    x64 = torch.rand(6, 11, generator=gen, dtype=torch.float64) * 2 - 1
    params = list(net.parameters())
    params[0].grad = torch.zeros_like(params[0])  # an earlier backward's (zeroed) gradient
    cases = (
        ("a plain gradient step", _quadratic_energy, x5, 0.1, None, None),
        ("with gradient clipping and a clamp", _quadratic_energy, x5, 0.5, 0.2, (-1.0, 1.0)),
        ("when the step overshoots the clamp", _quadratic_energy, x5, 0.5, None, (-1.0, 1.0)),
        ("with grad_clip=0 (every gradient entry clipped to 0)", _quadratic_energy, x5, 0.5,
         0.0, None),
        ("on a CNN energy", energy_net, x_img, 10.0, 0.03, (-1.0, 1.0)),
        ("on a CNN energy and a batch of one", energy_net, x_img[:1], 20.0, None, (-1.0, 1.0)),
        ("with float64 inputs", _quadratic_energy, x64, 0.1, 0.5, (-0.9, 0.9)),
    )
    for i, (kind, energy_fn, x, step_size, grad_clip, clamp) in enumerate(cases):
        x_before = x.clone()
        mode = torch.no_grad() if i % 2 == 0 else contextlib.nullcontext()
        with mode:  # Lightning validation runs under no_grad: the step must cope
            got = step_fn(energy_fn, x, step_size, 0.0, grad_clip, clamp)
        want = ref03.langevin_step(energy_fn, x, step_size, 0.0, grad_clip, clamp)
        tol = dict(atol=1e-7, rtol=1e-6) if x.dtype == torch.float64 else dict(atol=1e-5)
        _close(got, want, f"langevin_step with noise_std=0 {kind} (x - step_size * clip(dE/dx), "
               "then clamp)", "x's shape", **tol)
        assert torch.equal(x, x_before), "langevin_step must not modify its input x in place"
        assert not got.requires_grad, (
            "langevin_step should return a detached tensor (x.detach()): a graph kept alive "
            "in the buffer leaks memory every iteration")
    assert torch.equal(params[0].grad, torch.zeros_like(params[0])) and all(
        p.grad is None for p in params[1:]), (
        "langevin_step changed the network's parameter gradients: differentiate with respect to "
        "x only (torch.autograd.grad(energy.sum(), x)), not with .backward()")

    x_req = x5.clone().requires_grad_(True)
    got = step_fn(_quadratic_energy, x_req, 0.1, 0.0, None, None)
    _close(got, ref03.langevin_step(_quadratic_energy, x5, 0.1, 0.0), "langevin_step when x "
           "itself requires grad", "x's shape")
    assert not got.requires_grad, (
        "when x itself requires grad langevin_step must still return a detached tensor (start "
        "from x.detach(), and build the result from it)")
    assert x_req.grad is None, "langevin_step must not fill x.grad of its input"

    # ---- the noise, on a flat energy: N(0, noise_std^2), one draw per element, fresh each call
    noise_std = 0.3
    zeros = torch.zeros(4000, 5)
    z1 = _expect(step_fn(_flat_energy, zeros, 0.1, noise_std, None, None),
                 "langevin_step with noise on a flat energy", (4000, 5), "x's shape", torch.float32)
    z2 = _expect(step_fn(_flat_energy, zeros, 0.1, noise_std, None, None),
                 "langevin_step with noise on a flat energy", (4000, 5), "x's shape", torch.float32)
    where = "on a flat energy (zero gradient) a step should add noise_std * N(0, 1) noise"
    ratio = z1.std().item() / noise_std
    assert abs(z1.mean().item()) < 0.015, f"{where}: the noise does not have mean 0"
    assert abs(ratio - 1) < 0.04, (
        f"{where}: its standard deviation is {ratio:.2f} x noise_std (noise_std is a standard "
        "deviation, not a variance; the noise is not scaled by step_size)")
    tail = (z1.abs() > 2 * noise_std).float().mean().item()
    assert 0.035 < tail < 0.057, f"{where}: the noise is not Gaussian (use torch.randn_like)"
    col_std = z1.std(0) / noise_std
    assert (col_std - 1).abs().max() < 0.1, (
        f"{where}: every element needs its own noise draw (the same noise is shared across the "
        "batch)")
    cols = [_corr(z1[:, i], z1[:, j]) for i in range(5) for j in range(i + 1, 5)]
    assert max(abs(c) for c in cols) < 0.1 and abs(_corr(z1[:2000], z1[2000:])) < 0.1, (
        f"{where}: every element needs its own, independent noise draw (one noise value is "
        "shared by the elements of a sample)")
    assert (z1 == z2).float().mean().item() < 0.01 and abs(_corr(z1, z2)) < 0.1, (
        "two calls of langevin_step drew the same noise: draw fresh noise at every step (do not "
        "re-seed the random generator inside the step)")

    # ---- the noise on a curved energy: added after the gradient step
    x = torch.rand(3000, 4, generator=gen) - 0.5
    out = _expect(step_fn(_quadratic_energy, x, 0.1, 0.05, None, None),
                  "langevin_step with noise on a curved energy", tuple(x.shape), "x's shape",
                  torch.float32)
    resid = out - ref03.langevin_step(_quadratic_energy, x, 0.1, 0.0)
    ratio = resid.std().item() / 0.05
    assert abs(resid.mean().item()) < 0.005 and abs(ratio - 1) < 0.07, (
        "on a curved energy a step should be x - step_size * dE/dx (the gradient at x itself) "
        f"plus noise_std * N(0, 1): the result minus the noise-free step has mean "
        f"{resid.mean().item() / 0.05:.2f} x noise_std and std {ratio:.2f} x noise_std "
        "(add the noise after the gradient step, to x, unscaled)")

    z = _expect(step_fn(_flat_energy, torch.full((2000, 5), 0.95), 0.1, noise_std, None,
                        (-1.0, 1.0)), "langevin_step with noise and a clamp", (2000, 5),
                "x's shape", torch.float32)
    assert z.min() >= -1.0 and z.max() <= 1.0, (
        "with clamp=(low, high) every returned sample must lie in [low, high]: clamp after "
        "adding the noise, as the last operation of the step")
    assert (z < 0.95).float().mean() > 0.3, "with a clamp the noise must still be added"

    one = _expect(step_fn(_quadratic_energy, x64[:1], 0.1, 0.01, None, None),
                  "langevin_step with noise on a float64 batch of one", (1, 11), "x's shape",
                  torch.float64)
    assert (one != ref03.langevin_step(_quadratic_energy, x64[:1], 0.1, 0.0)).any(), (
        "langevin_step with noise on a float64 batch of one: no noise was added")


# --------------------------------------------------------------------------- Exercise 4: buffer


def _make_sampler(sampler_cls, shape, buffer_size, reinit_prob, seed, init="uniform"):
    sampler = sampler_cls(shape, buffer_size=buffer_size, reinit_prob=reinit_prob, init=init,
                          init_std=0.1, seed=seed)
    assert int(sampler.n_filled) == 0 and tuple(sampler.buffer.shape) == (buffer_size, *shape), (
        "MCMCSampler should keep the package's __init__ (an empty, preallocated buffer)")
    return sampler


def _marked_buffer(buffer_size: int, shape, n_filled: int) -> torch.Tensor:
    """Filled slot k holds 5 + k (+ a small per-element ramp), an unfilled one -(5 + k): values
    no noise start takes, so every chain start tells where it came from."""
    d = math.prod(shape)
    base = torch.arange(buffer_size, dtype=torch.float64)[:, None] + 5
    sign = torch.where(torch.arange(buffer_size) < n_filled, 1.0, -1.0).double()[:, None]
    return ((base + 1e-3 * torch.arange(d)) * sign).float().view(buffer_size, *shape)


def _set_state(sampler, n_filled: int) -> torch.Tensor:
    sampler.buffer = _marked_buffer(sampler.buffer_size, sampler.sample_shape, n_filled)
    sampler.n_filled = n_filled
    return sampler.buffer.clone()


def _init(sampler, batch_size: int, what: str):
    """Call _init_chains; check the types, shapes, dtypes and device of what it returns."""
    out = sampler._init_chains(batch_size)
    assert isinstance(out, (tuple, list)) and len(out) == 2, (
        f"{what}: _init_chains should return (x_init, idx)")
    x, idx = out
    _expect(x, f"{what}: x_init", (batch_size, *sampler.sample_shape), "shape (B, *sample_shape)",
            sampler.buffer.dtype)
    assert x.device == sampler.buffer.device, f"{what}: x_init should be on the buffer's device"
    _expect(idx, f"{what}: idx", (batch_size,), "shape (B,)", torch.int64)
    assert ((idx >= 0) & (idx < sampler.buffer_size)).all(), (
        f"{what}: every idx should be a valid buffer slot")
    return x, idx


def _classify(sampler, x, idx, before, n_filled, what) -> torch.Tensor:
    """True for chains that start from a copy of a filled slot, False for noise restarts."""
    flat = x.flatten(1)
    assert not (flat <= -4).all(1).any(), (
        f"{what}: a chain started from an unfilled buffer slot: draw slots uniformly from the "
        "filled part only, [0, n_filled)")
    from_buffer = (flat >= 4).all(1)
    noise = (flat.abs() <= 1.0).all(1)
    assert (from_buffer | noise).all(), (
        f"{what}: every chain should start either from a copy of one buffer slot or from "
        "init_noise")
    slots = idx[from_buffer]
    assert (slots < n_filled).all() and torch.equal(flat[from_buffer], before.flatten(1)[slots]), (
        f"{what}: a chain that does not restart should start from a copy of buffer slot idx "
        "(the slot returned for it)")
    return from_buffer


def _expect_init_noise(sampler, noise: torch.Tensor, what: str) -> None:
    """Restart values drawn as init_noise draws them (U(-1, 1) for init='uniform', N(0,
    init_std^2) for 'gaussian'): mean, variance (and for the uniform the share of each quarter
    of [-1, 1]) within six standard errors."""
    z = noise.detach().double().flatten()
    n = z.numel()
    if sampler.init == "uniform":
        sd, var, var_sd, desc = math.sqrt(1 / 3), 1 / 3, math.sqrt(4 / 45), "U(-1, 1)"
        shares = torch.histc(z, bins=4, min=-1.0, max=1.0) / n
        ok = bool(((shares - 0.25).abs() < 6 * math.sqrt(3 / 16 / n)).all())
    else:
        s = float(sampler.init_std)
        sd, var, var_sd, desc = s, s * s, math.sqrt(2) * s * s, "N(0, init_std^2)"
        ok = True
    ok = (ok and abs(z.mean().item()) < 6 * sd / math.sqrt(n)
          and abs(z.var().item() - var) < 6 * var_sd / math.sqrt(n))
    assert ok, (
        f"{what}: the restarted chains' starts are not distributed as init_noise draws them "
        f"(init='{sampler.init}': {desc}): restart with self.init_noise(number of restarts)")


def _check_init_empty(sampler_cls) -> None:
    shape = (1, 3, 5)
    what = "_init_chains on an empty buffer"
    s = _make_sampler(sampler_cls, shape, 13, 0.3, seed=21, init="gaussian")
    x, _ = _init(s, 600, what)
    assert int(s.n_filled) == 0 and not s.buffer.abs().sum(), (
        f"{what}: _init_chains must not change the buffer or n_filled")
    ratio = x.std().item() / 0.1
    assert (x.abs() < 1).all() and abs(ratio - 1) < 0.1, (
        f"{what}: every chain should start from init_noise (with init='gaussian' that is "
        "N(0, init_std^2), not the empty buffer's zeros nor noise of your own)")
    assert len(torch.unique(x.flatten(1), dim=0)) == len(x), (
        f"{what}: every chain needs its own noise start (call init_noise(B), not once for all)")
    _expect_init_noise(s, x, what)
    uniform = _make_sampler(sampler_cls, shape, 13, 0.3, seed=23)
    _expect_init_noise(uniform, _init(uniform, 400, what)[0], f"{what} (init='uniform')")
    x1, idx1 = _init(_make_sampler(sampler_cls, shape, 13, 1.0, seed=21), 1,
                     f"{what}, on a batch of one")
    assert (x1.abs() <= 1).all() and x1.std() > 0.2, (
        f"{what}, on a batch of one: the chain should start from init_noise")
    same = _make_sampler(sampler_cls, shape, 13, 0.3, seed=21, init="gaussian")
    other = _make_sampler(sampler_cls, shape, 13, 0.3, seed=22, init="gaussian")
    with _global_seed(1):
        x_same, _ = _init(same, 600, what)
    with _global_seed(2):
        x_other, _ = _init(other, 600, what)
    assert torch.equal(x, x_same), (
        f"{what}: the starts should come from init_noise, which draws from the sampler's own "
        "generator: the same sampler seed must give the same starts whatever the global "
        "random state")
    assert not torch.equal(x, x_other), (
        f"{what}: samplers with different seeds gave the same starts: use init_noise")


def _check_init_partial(sampler_cls) -> None:
    shape, n, n_filled, p, b = (1, 2, 3), 50, 37, 0.25, 4000
    what = "_init_chains on a partly filled buffer"
    s = _make_sampler(sampler_cls, shape, n, p, seed=31)
    before = _set_state(s, n_filled)
    x, idx = _init(s, b, what)
    assert torch.equal(s.buffer, before) and int(s.n_filled) == n_filled, (
        f"{what}: _init_chains must not change the buffer (restart noise goes into x_init, not "
        "into the buffer) or n_filled")
    from_buffer = _classify(s, x, idx, before, n_filled, what)
    restart = ~from_buffer
    share = restart.float().mean().item()
    assert abs(share - p) < 0.04, (
        f"{what}: each chain should restart from noise with probability reinit_prob; "
        f"{'far too few' if share < p else 'far too many'} chains restarted")
    half = b // 2
    first, second = restart[:half].float().mean().item(), restart[half:].float().mean().item()
    assert abs(first - p) < 0.06 and abs(second - p) < 0.06, (
        f"{what}: restarts should be drawn independently for every chain (not the first chains "
        "of the batch)")
    noise = x[restart].flatten(1)
    assert len(noise) < 2 or len(torch.unique(noise, dim=0)) == len(noise), (
        f"{what}: every restarted chain needs its own noise start (not one shared noise image)")
    _expect_init_noise(s, noise, what)
    counts = torch.bincount(idx[from_buffer], minlength=n_filled)[:n_filled].float()
    assert counts.min() > 0.4 * counts.mean() and counts.max() < 1.7 * counts.mean(), (
        f"{what}: slots should be drawn uniformly from the whole filled part, [0, n_filled) "
        "(every filled slot, the last one included, equally often)")
    x[from_buffer] += 100.0
    assert torch.equal(s.buffer, before), (
        "_init_chains must return copies of the buffer slots, not views of the buffer")


def _check_init_rates(sampler_cls) -> None:
    shape, n = (1, 2, 2), 13
    for p, init in ((0.0, "uniform"), (1.0, "uniform"), (1.0, "gaussian")):
        s = _make_sampler(sampler_cls, shape, n, p, seed=41, init=init)
        before = _set_state(s, n)
        what = f"_init_chains on a full buffer with reinit_prob={p:g}"
        x, idx = _init(s, 300, what)
        from_buffer = _classify(s, x, idx, before, n, what)
        assert bool(from_buffer.all()) if p == 0 else not from_buffer.any(), (
            f"{what}: {'no chain' if p == 0 else 'every chain'} should restart from noise")
        if p:
            _expect_init_noise(s, x, f"{what} (init='{init}')")
    # Batches of one, a non-round reinit_prob: each call is one Bernoulli(reinit_prob) draw.
    p, calls = 0.37, 400
    s = _make_sampler(sampler_cls, shape, n, p, seed=42)
    before = _set_state(s, n)
    what = "_init_chains on batches of one"
    restarts, slots = 0, []
    for _ in range(calls):
        x, idx = _init(s, 1, what)
        from_buffer = _classify(s, x, idx, before, n, what)
        restarts += int(not from_buffer[0])
        if from_buffer[0]:
            slots.append(int(idx[0]))
    share = restarts / calls
    assert abs(share - p) < 0.12, (
        f"{what}: each chain should restart with probability reinit_prob, also when "
        f"reinit_prob * B is not a whole number; {'far too few' if share < p else 'far too many'}"
        " chains restarted")
    assert len(set(slots)) == n, (
        f"{what}: every filled slot should be drawn (uniformly from [0, n_filled), the last one "
        "included)")


def _check_init_generator(sampler_cls) -> None:
    shape, n, n_filled, b = (1, 2, 2), 40, 29, 64
    what = "_init_chains on a partly filled buffer"
    samplers = [_make_sampler(sampler_cls, shape, n, 0.0, seed=seed) for seed in (51, 51, 52)]
    draws = []
    for s, global_seed in zip(samplers, (1, 2, 1)):
        before = _set_state(s, n_filled)
        with _global_seed(global_seed):
            x, idx = _init(s, b, what)
        _classify(s, x, idx, before, n_filled, what)
        draws.append(idx.clone())
    assert torch.equal(draws[0], draws[1]), (
        f"{what}: the same sampler seed must draw the same slots whatever the global random "
        "state: draw them with generator=self.generator")
    assert not torch.equal(draws[0], draws[2]), (
        f"{what}: samplers with different seeds drew the same slots: draw them from "
        "self.generator (not from a fixed or freshly made generator)")
    state = samplers[0].generator.get_state()
    _, again = _init(samplers[0], b, what)
    assert not torch.equal(samplers[0].generator.get_state(), state), (
        f"{what}: self.generator did not advance: draw from it directly (a private generator "
        "made from its seed repeats the same slots and restarts at every call)")
    assert not torch.equal(again, draws[0]), (
        f"{what}: two consecutive calls drew the same slots: keep drawing from self.generator "
        "(do not re-create or re-seed it inside _init_chains)")


def _samples(serials, shape) -> torch.Tensor:
    """Sample number s holds 100 + s (+ a small per-element ramp): each one recognisable."""
    d = math.prod(shape)
    values = 100.0 + torch.as_tensor(serials, dtype=torch.float64)[:, None] + 1e-3 * torch.arange(d)
    return values.float().view(-1, *shape)


class _BufferModel:
    """What the check knows of the buffer: its content and the age (serial) of each slot."""

    def __init__(self, sampler) -> None:
        self.n = sampler.buffer_size
        self.content = sampler.buffer.clone()
        self.serial = torch.full((self.n,), -1, dtype=torch.long)
        self.n_filled = 0

    def oldest(self, k: int) -> torch.Tensor:
        filled = torch.nonzero(self.serial >= 0).flatten()
        return filled[self.serial[filled].argsort()][:k]


def _update(sampler, model: _BufferModel, serials, idx, phase: str) -> None:
    """Call _update_buffer once and judge the new buffer against the policy: append in order
    while there is room, then write each remaining sample over the slot its chain was drawn from
    (a chain sharing its slot with another may lose it). A FIFO ring (the rest over the oldest
    samples, in order) is accepted too."""
    shape = sampler.sample_shape
    x_model = _samples(serials, shape)
    b, n0 = len(x_model), model.n_filled
    n_append = min(b, model.n - n0)
    sampler._update_buffer(x_model, idx.clone())
    what = f"_update_buffer {phase}"
    buf = sampler.buffer
    assert isinstance(buf, torch.Tensor) and tuple(buf.shape) == (model.n, *shape), (
        f"{what}: the buffer must keep its shape: it never grows past buffer_size (write into "
        "the preallocated tensor)")
    assert buf.dtype == model.content.dtype, f"{what}: the buffer must keep its dtype"
    assert int(sampler.n_filled) == min(model.n, n0 + b), (
        f"{what}: n_filled should grow by the number of samples appended, up to buffer_size")
    got = buf.detach().clone()
    new = model.content.clone()
    new[n0:n0 + n_append] = x_model[:n_append]
    assert torch.equal(got[n0:n0 + n_append], x_model[:n_append]), (
        f"{what}: while there is room the samples should be appended, in order, at slots "
        "n_filled, n_filled + 1, ...")
    rest, rest_idx = x_model[n_append:], idx[n_append:]
    serial_new = model.serial.clone()
    serial_new[n0:n0 + n_append] = torch.as_tensor(serials[:n_append])

    ok_a, serial_a = True, serial_new.clone()  # policy of the statement: the drawn slots
    expect_a = new.clone()
    for slot in torch.unique(rest_idx).tolist():
        cands = torch.nonzero(rest_idx == slot).flatten()
        match = [int(j) for j in cands if torch.equal(got[slot], rest[j])]
        if not match:
            ok_a = False
            break
        expect_a[slot] = got[slot]
        serial_a[slot] = serials[n_append + match[0]]
    ok_a = ok_a and torch.equal(got, expect_a)

    expect_b, serial_b = new.clone(), serial_new.clone()  # a FIFO ring: the oldest slots
    oldest = model.oldest(len(rest))
    expect_b[oldest] = rest
    serial_b[oldest] = torch.as_tensor(serials[n_append:], dtype=torch.long)
    ok_b = len(oldest) == len(rest) and torch.equal(got, expect_b)

    if not (ok_a or ok_b):
        stored = [(got.flatten(1) == r.flatten()).all(1).any().item() for r in rest]
        unique = [int((rest_idx == rest_idx[j]).sum()) == 1 for j in range(len(rest))]
        if not all(s for s, u in zip(stored, unique) if u):
            raise AssertionError(
                f"{what}: every sample that does not fit should be stored in the full buffer, "
                "over the slot its chain was drawn from (idx)")
        raise AssertionError(
            f"{what}: once the buffer is full, sample j should overwrite slot idx[j], the slot "
            "its own chain was drawn from, and no other slot may change")
    x_model += 1000.0
    assert torch.equal(sampler.buffer, got), (
        f"{what}: the buffer must hold copies of the samples, not views of x_model")
    model.content = got
    model.serial = serial_a if ok_a else serial_b
    model.n_filled = int(sampler.n_filled)


def _check_update(sampler_cls) -> None:
    shape, n = (1, 2, 3), 13
    gen = torch.Generator().manual_seed(61)
    s = _make_sampler(sampler_cls, shape, n, 0.1, seed=61)
    model = _BufferModel(s)
    serial = 0

    def batch(k):
        nonlocal serial
        serial += k
        return list(range(serial - k, serial))

    # Empty, then filling: batches of 5, 1 and 3 (idx as _init_chains would return them).
    _update(s, model, batch(5), torch.zeros(5, dtype=torch.long), "on an empty buffer")
    _update(s, model, batch(1), torch.randint(5, (1,), generator=gen),
            "on a filling buffer, with a batch of one")
    _update(s, model, batch(3), torch.randint(6, (3,), generator=gen), "on a filling buffer")
    # A batch that does not fit: 4 appended, 4 written back. Drawn slots: not the oldest ones,
    # so that "the drawn slots" and "the oldest slots" are different places.
    young = torch.arange(4, 9)[torch.randperm(5, generator=gen)]
    idx = torch.cat([young[1:5].roll(1), young[1:5]])
    _update(s, model, batch(8), idx, "when the batch fills the buffer and overflows")

    def young_slots(k, b):
        old = set(model.oldest(b).tolist())
        pool = torch.tensor([i for i in range(n) if i not in old])
        return pool[torch.randperm(len(pool), generator=gen)[:k]]

    for b in (6, 1, 4):
        _update(s, model, batch(b), young_slots(b, b), "on a full buffer")
    a, c = young_slots(2, 5).tolist()
    _update(s, model, batch(5), torch.tensor([a, a, c, a, c]),
            "on a full buffer when several chains drew the same slot")
    _update(s, model, batch(6), young_slots(6, 6), "on a full buffer")


def check_sampler(sampler_cls) -> None:
    """The buffer policy, phase by phase. _init_chains: on an empty buffer every chain starts
    from init_noise (own draw per chain); on a partly filled or full one from a copy of a slot
    drawn uniformly from the filled part with self.generator (the same seed gives the same slots
    whatever the global random state; it advances), restarting with probability reinit_prob per
    chain (a batch of one, non-round rates, 0 and 1) from init_noise (its distribution checked in
    every phase); idx int64 (B,); the buffer untouched.
    _update_buffer: appends in order while there is room, never grows, then writes each sample
    over the slot its chain was drawn from (a chain sharing its slot may lose it); copies."""
    _check_init_empty(sampler_cls)
    _check_init_partial(sampler_cls)
    _check_init_generator(sampler_cls)
    _check_init_rates(sampler_cls)
    _check_update(sampler_cls)


# --------------------------------------------------------------------------- Exercise 5: loss


def check_ebm_loss(loss_fn) -> None:
    """(loss, cd, reg) with cd = mean E_data - mean E_model, reg = mean E_data^2 + mean
    E_model^2 (returned whatever alpha), loss = cd + alpha * reg: values and the gradient of the
    loss with respect to both energies, on a batch of one, non-round batches, energies of +-500,
    alpha = 0 and an integer alpha; float32 results for float32 energies; inputs untouched."""
    gen = torch.Generator().manual_seed(11)

    def energies(b, scale=1.0, shift=0.0):
        return torch.randn(b, generator=gen) * scale + shift

    cases = (
        ("on a batch", energies(32), energies(32, 2.0, 1.0), 0.1),
        ("with alpha=0", energies(10), energies(10, 3.0), 0.0),
        ("on a batch of one", energies(1), energies(1, 2.0), 0.7),
        ("with energies of -500 and +500", energies(7, 3.0, -500.0),
         energies(7, 3.0, 500.0), 0.1),
        ("on another non-round batch", energies(9), energies(9, 2.0, 0.5), 0.3),
        ("with an integer alpha", energies(5), energies(5, 0.5), 1),
    )
    for kind, e_data, e_model, alpha in cases:
        d, m = e_data.clone().requires_grad_(True), e_model.clone().requires_grad_(True)
        out = loss_fn(d, m, alpha)
        assert isinstance(out, (tuple, list)) and len(out) == 3, (
            "ebm_loss should return (loss, cd, reg)")
        assert torch.equal(d.detach(), e_data) and torch.equal(m.detach(), e_model), (
            f"ebm_loss {kind}: the energies must not be modified in place")
        want = ref03.ebm_loss(e_data, e_model, alpha)
        for got, ref, name in zip(out, want, ("loss", "cd", "reg")):
            _close(got, ref, f"ebm_loss {kind}: {name}", "a 0-dim scalar")
        loss = out[0]
        assert loss.requires_grad, (
            f"ebm_loss {kind}: the loss must carry the gradient to the energies (no .item(), "
            "detach or torch.no_grad)")
        g_data, g_model = torch.autograd.grad(loss, (d, m), allow_unused=True)
        b = len(e_data)
        for g, e, sign, name in ((g_data, e_data, 1.0, "energy_data"),
                                 (g_model, e_model, -1.0, "energy_model")):
            assert g is not None, (
                f"ebm_loss {kind}: no gradient reaches {name} (a detach in one of the terms?)")
            _close(g, (sign + 2 * alpha * e) / b, f"ebm_loss {kind}: the gradient of the loss "
                   f"with respect to {name} (both the cd and the reg terms must reach it)",
                   "the energies' shape")


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
