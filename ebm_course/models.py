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


class CNNEnergy(nn.Module):
    """The course's CNN energy network: the layers; a subclass writes what they compute.

    Four stride-2 convolutions (``self.features``, flattened) and two linear layers
    (``self.head``) ending in ``n_classes`` logits. ``n_classes=1`` is a plain EBM;
    ``n_classes=K`` is a JEM classifier whose logits also define ``-E(x) = logsumexp f(x)`` and
    ``-E(x, y) = f(x)[y]``. ``get_logits`` and ``forward`` are what assignment 3 asks a student to
    write, so this class leaves them abstract: the notebooks subclass it (assignment 4 gives its
    subclass, with ``nn.SiLU``).

    Why a smooth activation (Swish, ``x * sigmoid(x)``) rather than ReLU: SGLD follows
    ``dE/dx``; ReLU's input gradient is piecewise constant and its second derivative zero, so the
    energy landscape is made of flat facets with kinks.

    Args:
        in_channels: image channels C.
        image_size: side H = W of the square input (28 for MNIST, 56 for glyphs).
        hidden: width of the first hidden block; later blocks use ``hidden`` and ``2 * hidden``.
        n_classes: number of logits K.
        activation: the activation's class (assignment 3 passes its own Swish; the default is
            torch's, ``nn.SiLU``, the same function).
    """

    def __init__(self, in_channels: int = 1, image_size: int = 28, hidden: int = 32,
                 n_classes: int = 1, activation: type[nn.Module] = nn.SiLU) -> None:
        super().__init__()
        c1, c2, c3 = hidden // 2, hidden, hidden * 2
        act = activation
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
        """Class logits f(x): images (B, C, H, W) in [-1, 1] -> (B, K). Written by a subclass."""
        raise NotImplementedError(
            f"{type(self).__name__}.get_logits: subclass CNNEnergy and write it (assignment 3, "
            "Exercise 2; assignment 4 gives it)")

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """neg_energy (B,): ``logsumexp_k f(x)[k]``, or ``f(x)[y]`` for labels y (B,)."""
        raise NotImplementedError(
            f"{type(self).__name__}.forward: subclass CNNEnergy and write it (assignment 3, "
            "Exercise 2; assignment 4 gives it)")


def energy_fn_of(net: nn.Module, y: torch.Tensor | None = None) -> EnergyFn:
    """The energy ``E(x) = -net(x, y)`` as a callable, shape (B,) -> (B,)."""
    if y is None:
        return lambda x: -net(x)
    return lambda x: -net(x, y)
