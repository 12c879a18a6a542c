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


def find_export(name: str, profile: str, made_by: str, shipped: bool = True
                ) -> tuple[Path | None, str]:
    """Which export of ``name`` a later assignment uses, and a line saying so: the student's own
    export in ``profile``, else their newest of another profile, else (with ``shipped``) the
    course's shipped model, else None with what to run (``made_by``, e.g. "assignment 3
    (03_mnist_ebm)"). In the ``grade`` profile None means a stand-in: the autograder trains
    nothing. Cheap: a first cell calls it to say at once what the notebook will use."""
    from .config import display_path

    path = export_path(name, profile)
    if path.exists():
        return path, f"{name}: your export {display_path(path)}"
    others = sorted(path.parent.glob(f"{name}-*.pt2"), key=lambda q: q.stat().st_mtime)
    if others:
        return others[-1], (f"{name}: your export {display_path(others[-1])} (another profile's: "
                            f"run {made_by} in the {profile} profile for this one)")
    course_model = shipped_path(name) if shipped else None
    if course_model is not None:
        return course_model, (f"{name}: no export of yours under {display_path(path.parent)}; the "
                              f"course's shipped model {display_path(course_model)} (the "
                              f"reference run, quick profile) stands in until you run {made_by}")
    if profile == "grade":
        return None, (f"{name}: no export (grade profile): an untrained network stands in; "
                      "its numbers mean nothing")
    return None, (f"{name}: {display_path(path)} not found: run {made_by} first, in the same "
                  f"profile ({profile}) and with the same EBM_COURSE_DATA")


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
