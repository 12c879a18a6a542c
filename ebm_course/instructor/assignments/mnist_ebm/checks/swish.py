"""Hidden checks of 03_mnist_ebm: ``swish``."""

from __future__ import annotations

import torch
from torch import nn

from ebm_course.instructor.grading.common import guard_checks

from ._shared import _close


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


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
