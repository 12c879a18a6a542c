"""Export a trained network's ``get_logits`` to one file, and load it without its class.

Assignment 4 trains the student's own JEM (their notebook cells) and exports it; assignment 5
scores it. The export is a ``torch.export`` program (graph and weights in one ``.pt2`` file) of
``get_logits``, loadable without the Python class that built it: the student edition, whose
``CNNEnergy`` bodies are stubs, still runs notebook 5 on the student's model. (``torch.jit`` would
do the same but is deprecated.)
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from .config import data_root
from .util import atomic_path


def export_path(name: str, profile: str) -> Path:
    """``<data root>/checkpoints/<name>-<profile>.pt2``: an exported network."""
    return data_root() / "checkpoints" / f"{name}-{profile}.pt2"


SHIPPED = "models"  # the folder of the hand-out (release/models/) with the course's own exports


def shipped_path(name: str) -> Path | None:
    """The course's own export of ``name`` shipped with the hand-out (``models/<name>.pt2`` of
    the course folder; in the instructor's checkout, ``release/models/``), or None. A later
    assignment uses it when the student's own export is missing (docs/design.md)."""
    from .config import course_root

    root = course_root()
    for folder in (root / SHIPPED, root / "release" / SHIPPED):
        if (folder / f"{name}.pt2").is_file():
            return folder / f"{name}.pt2"
    return None


class _Logits(nn.Module):
    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.get_logits(x)


def export_net(net: nn.Module, path: Path, meta: dict | None = None) -> Path:
    """Export ``net.get_logits`` (eval mode, CPU, any batch size) with a JSON ``meta`` record.

    Args:
        net: network with ``get_logits``, (B, C, H, W) -> (B, K), and ``in_channels`` /
            ``image_size`` attributes (as :class:`CNNEnergy`).
        path: where to write (``.pt2``); parents are created.
        meta: JSON-able facts to keep with it (config, profile, test accuracy, ...).
    Returns:
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    was_training, device = net.training, next(net.parameters()).device
    net = net.cpu().eval()
    example = torch.zeros(2, net.in_channels, net.image_size, net.image_size)
    program = torch.export.export(_Logits(net), (example,),
                                  dynamic_shapes={"x": {0: torch.export.Dim("batch")}})
    meta = {"in_channels": net.in_channels, "image_size": net.image_size, **(meta or {})}
    with atomic_path(path) as tmp:  # an interrupted export never leaves a broken file behind
        torch.export.save(program, tmp, extra_files={"meta.json": json.dumps(meta, default=str)})
    net.to(device).train(was_training)
    return path


class ExportedNet(nn.Module):
    """A network loaded by :func:`load_exported`: ``get_logits`` only, (B, C, H, W) -> (B, K).

    The scores of assignment 5 need nothing else. The graph was captured in eval mode and has no
    mode-dependent layer, so ``train()`` / ``eval()`` only set the flag.
    """

    def __init__(self, program: nn.Module, meta: dict) -> None:
        super().__init__()
        self.program, self.meta = program, meta
        self.in_channels, self.image_size = meta["in_channels"], meta["image_size"]

    def get_logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.program(x)

    def train(self, mode: bool = True) -> "ExportedNet":
        self.training = mode  # an exported program refuses train() / eval() itself
        return self


def load_exported(path: Path) -> ExportedNet:
    """Load what :func:`export_net` wrote (CPU); its ``meta`` dict rides along as ``.meta``."""
    extra = {"meta.json": ""}
    program = torch.export.load(Path(path), extra_files=extra).module()
    return ExportedNet(program, json.loads(extra["meta.json"]))
