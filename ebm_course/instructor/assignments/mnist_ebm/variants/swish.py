"""03_mnist_ebm, ``swish``: wrong implementations (``BUGS``: each must fail ``check_swish``) and
correct ones written differently (``ALT_CORRECT``: each must pass)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ebm_course.instructor.assignments.mnist_ebm import checks


class SwishExpRatio(nn.Module):
    """x * exp(x) / (1 + exp(x)): overflows to inf / inf = NaN for large x."""

    def forward(self, x):
        return x * torch.exp(x) / (1 + torch.exp(x))


class SwishDetachedGate(nn.Module):
    """x * sigmoid(x).detach(): right values, but the derivative misses the gate's term."""

    def forward(self, x):
        return x * torch.sigmoid(x).detach()


class SwishInPlace(nn.Module):
    """x.mul_(sigmoid(x)): overwrites the caller's tensor."""

    def forward(self, x):
        return x.mul_(torch.sigmoid(x))


class SwishClampedInput(nn.Module):
    """Clamps the sigmoid's input to [-10, 10] "for stability": wrong for very negative x."""

    def forward(self, x):
        return x * torch.sigmoid(x.clamp(-10.0, 10.0))


class SwishFloat32(nn.Module):
    """Casts to float32 first: float64 inputs come back as float32."""

    def forward(self, x):
        x = x.float()
        return x * torch.sigmoid(x)


class SwishRatio(nn.Module):
    """x / (1 + exp(-x)): exp overflows to inf for very negative x, and x / inf is still 0."""

    def forward(self, x):
        return x / (1 + torch.exp(-x))


class SwishTanh(nn.Module):
    """The tanh form of the sigmoid: x * (1 + tanh(x / 2)) / 2."""

    def forward(self, x):
        return 0.5 * x * (1 + torch.tanh(0.5 * x))


class SwishPiecewise(nn.Module):
    """A piecewise stable sigmoid: exp(-|x|) on both sides, so nothing overflows."""

    def forward(self, x):
        e = torch.exp(-x.abs())
        gate = torch.where(x >= 0, 1 / (1 + e), e / (1 + e))
        return x * gate


class SwishXTanhX(torch.nn.Module):
    """x * tanh(x): a different smooth activation."""

    def forward(self, x):
        return x * torch.tanh(x)


class SwishSilu(torch.nn.Module):
    def forward(self, x):
        return F.silu(x)


BUGS = [
    (checks.check_swish, SwishExpRatio),
    (checks.check_swish, SwishDetachedGate),
    (checks.check_swish, SwishInPlace),
    (checks.check_swish, SwishClampedInput),
    (checks.check_swish, SwishFloat32),
    (checks.check_swish, SwishXTanhX),
]


ALT_CORRECT = [
    (checks.check_swish, SwishRatio),
    (checks.check_swish, SwishTanh),
    (checks.check_swish, SwishPiecewise),
    (checks.check_swish, SwishSilu),
]
