"""Energy networks. The course's one sign convention is stated here.

Sign convention
---------------
An energy-based model defines ``p(x) = exp(-E(x)) / Z``: low energy, high probability.
Every network in this package returns the **negative energy** ``f(x) = -E(x)`` from
``forward``, i.e. the log of the unnormalised density. This is the form JEM needs: a
classifier's logits give ``-E(x) = logsumexp_y f(x)[y]`` and ``-E(x, y) = f(x)[y]``.

Every function that takes a callable takes an ``energy_fn`` returning ``E(x)`` itself, shape
``(B,)``; :func:`energy_fn_of` turns a network into one. Tensors are named by what they hold:
``energy_data`` / ``energy_model`` or ``neg_energy``, never a bare ``out``.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

EnergyFn = Callable[[torch.Tensor], torch.Tensor]


class Swish(nn.Module):
    """Swish / SiLU, ``x * sigmoid(x)``.

    Why not ReLU: SGLD follows ``d E / d x``; ReLU's gradient is piecewise constant and its
    second derivative is zero, so the energy landscape is made of flat facets with kinks. Swish is
    smooth, which gives the sampler (and the double backward in score matching) useful gradients.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        # F.silu is exactly x * sigmoid(x) with fused forward and backward kernels: SGLD spends
        # most of its time in this network's input gradient, so the fusion pays off.
        return torch.nn.functional.silu(x)
        ### END SOLUTION


class CNNEnergy(nn.Module):
    """Small CNN that maps an image to ``n_classes`` logits (the course's energy network).

    ``n_classes=1`` is a plain EBM; ``n_classes=K`` is a JEM classifier whose logits also define
    ``-E(x) = logsumexp f(x)`` and ``-E(x, y) = f(x)[y]``.

    Args:
        in_channels: image channels C.
        image_size: side H = W of the square input (28 for MNIST, 56 for glyphs).
        hidden: width of the first hidden block; later blocks use ``hidden`` and ``2 * hidden``.
        n_classes: number of logits K.
    """

    #: the activation's class. A subclass may set ``torch.nn.SiLU`` (torch's own Swish, same
    #: numbers): the student edition's ``Swish`` is a stub (assignment 3 writes it), and later
    #: notebooks must not depend on it.
    activation: type[nn.Module] = Swish

    def __init__(self, in_channels: int = 1, image_size: int = 28, hidden: int = 32,
                 n_classes: int = 1) -> None:
        super().__init__()
        c1, c2, c3 = hidden // 2, hidden, hidden * 2
        act = self.activation
        # Four stride-2 convolutions: 28 -> 16 -> 8 -> 4 -> 2 (padding 4 on the first pads to 32).
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, kernel_size=5, stride=2, padding=4), act(),
            nn.Conv2d(c1, c2, kernel_size=3, stride=2, padding=1), act(),
            nn.Conv2d(c2, c3, kernel_size=3, stride=2, padding=1), act(),
            nn.Conv2d(c3, c3, kernel_size=3, stride=2, padding=1), act(),
            nn.Flatten(),
        )
        with torch.no_grad():
            n_flat = self.features(torch.zeros(1, in_channels, image_size, image_size)).shape[1]
        self.head = nn.Sequential(nn.Linear(n_flat, c3), act(), nn.Linear(c3, n_classes))
        self.in_channels, self.image_size, self.n_classes = in_channels, image_size, n_classes

    def get_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits f(x).

        Args:
            x: images, (B, C, H, W), values in [-1, 1].
        Returns:
            logits, (B, K).
        """
        ### BEGIN SOLUTION
        return self.head(self.features(x))
        ### END SOLUTION

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Negative energy: ``logsumexp_k f(x)[k]`` without ``y``, ``f(x)[y]`` with it.

        With ``K = 1`` the logsumexp of one logit is that logit, so the plain EBM is the same code.

        Args:
            x: images, (B, C, H, W).
            y: optional class labels, (B,), int64.
        Returns:
            neg_energy, (B,).
        """
        ### BEGIN SOLUTION
        logits = self.get_logits(x)
        if y is None:
            return logits.logsumexp(dim=1)
        return logits.gather(1, y[:, None]).squeeze(1)
        ### END SOLUTION


def energy_fn_of(net: nn.Module, y: torch.Tensor | None = None) -> EnergyFn:
    """The energy ``E(x) = -net(x, y)`` as a callable, shape (B,) -> (B,)."""
    if y is None:
        return lambda x: -net(x)
    return lambda x: -net(x, y)
