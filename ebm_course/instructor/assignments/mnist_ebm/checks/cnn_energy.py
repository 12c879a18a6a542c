"""Hidden checks of 03_mnist_ebm: ``cnn_energy``."""

from __future__ import annotations

import contextlib
import types

import torch
from torch import nn

from ebm_course.instructor.assignments.mnist_ebm import reference as ref03
from ebm_course.instructor.grading.common import guard_checks

from ._shared import _close, _global_seed


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


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
