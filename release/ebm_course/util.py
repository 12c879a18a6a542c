"""Small helpers the other modules share: atomic file writes, batched inference.

Written once here so that every cache, export and results file is written the same safe way,
and every "run a network over a big tensor" loop moves data, switches modes and batches alike.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Callable, Iterator

import torch
from torch import nn


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; moved onto ``path`` when the block succeeds.

    The rename is atomic: a reader never sees half a file, and an interrupted or failing write
    leaves the earlier ``path`` (if any) as it was and no temporary file behind.

    Args:
        path: the file to (re)write; its folder is created.
        suffix: appended to the temporary name (``.tmp.npz`` for ``np.savez``, which adds
            ``.npz`` to any other name).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + suffix)
    try:
        yield tmp
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def eval_mode(net: nn.Module) -> Iterator[nn.Module]:
    """``net`` in eval mode inside the block, its earlier mode restored after."""
    was_training = net.training
    net.eval()
    try:
        yield net
    finally:
        net.train(was_training)


def map_batches(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                batch_size: int = 512, device: torch.device | str | None = None) -> torch.Tensor:
    """``fn`` over ``x`` in batches: each batch moved to ``device``, results gathered on the CPU.

    Gradient mode is the caller's (wrap in ``torch.no_grad()`` for plain inference; a score that
    differentiates with respect to its input enables gradients itself).

    Args:
        fn: maps a batch (b, ...) to a tensor (b, ...).
        x: inputs, (N, ...).
        batch_size: rows per call.
        device: where each batch runs (default: where it is).
    Returns:
        ``torch.cat`` of the outputs, (N, ...), detached, on the CPU.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    outs = [fn(chunk if device is None else chunk.to(device)).detach().cpu()
            for chunk in x.split(batch_size)]
    return torch.cat(outs) if outs else torch.empty(0)


def net_device(net: nn.Module) -> torch.device:
    """The device of ``net``'s first parameter (CPU for a network without parameters)."""
    return next(iter(net.parameters()), torch.empty(0)).device


def import_torchvision():
    """``torchvision``, or an ``ImportError`` that says what is wrong when it does not load
    beside this torch: a CPU torch next to a CUDA torchvision (or the reverse, or versions
    that are not a pair) fails deep inside with "operator torchvision::nms does not exist"."""
    try:
        import torchvision
    except (ImportError, RuntimeError) as err:
        raise ImportError(
            f"torchvision does not load beside torch {torch.__version__}: {err}. torch and "
            "torchvision must be one matching pair from one index, e.g. "
            "`pip install --force-reinstall torch==2.14.1 torchvision==0.29.1 --index-url "
            "https://download.pytorch.org/whl/cpu` (or both from the default index for CUDA)"
        ) from err
    return torchvision
