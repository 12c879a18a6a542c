"""Datasets of the MNIST family through torchvision, offline-aware.

Files live under ``config.data_root()`` in torchvision's layout (``<root>/MNIST/raw/...``).
Nothing is downloaded unless the caller (or ``EBM_COURSE_DOWNLOAD=1``) allows it; a missing
dataset raises :class:`DatasetNotFound` naming the folder, the files and how to get them.
Images come back as one in-memory tensor in [-1, 1], which on a CPU is much faster than
torchvision's per-item PIL transforms.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torchvision
from torch.utils.data import DataLoader, Dataset, TensorDataset, random_split

from .config import data_root

MNIST_FAMILY = {
    "MNIST": torchvision.datasets.MNIST,
    "FashionMNIST": torchvision.datasets.FashionMNIST,
    "KMNIST": torchvision.datasets.KMNIST,
}


class DatasetNotFound(FileNotFoundError):
    """A dataset's files are not under the data root and downloading is not allowed."""


def _raw_files(cls) -> list[str]:
    return [Path(url).name.removesuffix(".gz") for url, _ in cls.resources]


def dataset_available(name: str, root: str | Path | None = None) -> bool:
    """Whether ``name``'s raw files are all present under ``root`` (default: the data root)."""
    cls = MNIST_FAMILY[name]
    raw = Path(root or data_root()) / name / "raw"
    return all((raw / f).exists() for f in _raw_files(cls))


def load_mnist_family(name: str = "MNIST", train: bool = True, root: str | Path | None = None,
                      download: bool | None = None) -> TensorDataset:
    """One split of MNIST / FashionMNIST / KMNIST as a ``TensorDataset(images, labels)``.

    Args:
        name: "MNIST", "FashionMNIST" or "KMNIST".
        train: the 60,000-image training split, else the 10,000-image test split.
        root: data root; default ``EBM_COURSE_DATA`` or ``data/``.
        download: allow torchvision to download; default from ``EBM_COURSE_DOWNLOAD``.
    Returns:
        images (N, 1, 28, 28) float32 in [-1, 1] and labels (N,) int64.
    """
    if name not in MNIST_FAMILY:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(MNIST_FAMILY)}")
    cls, root = MNIST_FAMILY[name], Path(root or data_root())
    if download is None:
        download = os.environ.get("EBM_COURSE_DOWNLOAD", "") in ("1", "true", "yes")
    if not download and not dataset_available(name, root):
        files = ", ".join(_raw_files(cls))
        raise DatasetNotFound(
            f"{name} not found: expected {files} under {root / name / 'raw'}. "
            f"Either point EBM_COURSE_DATA at a folder that holds {name}/raw/, copy the files "
            f"there (gzipped .gz files work too once unpacked), or allow a download with "
            f"EBM_COURSE_DOWNLOAD=1 on a machine that is online.")
    ds = cls(root=str(root), train=train, download=download)
    images = ds.data.unsqueeze(1).float().div(127.5).sub(1.0)  # (N, 1, 28, 28) in [-1, 1]
    return TensorDataset(images, ds.targets.long())


def take(dataset: Dataset, n: int | None, seed: int = 0) -> Dataset:
    """A seeded random subset of ``n`` items (all of them when ``n`` is None or too large)."""
    if n is None or n >= len(dataset):
        return dataset
    generator = torch.Generator().manual_seed(seed)
    subset, _ = random_split(dataset, [n, len(dataset) - n], generator=generator)
    return subset


def mnist_loaders(batch_size: int, n_train: int | None = None, n_val: int | None = None,
                  seed: int = 0, root: str | Path | None = None) -> tuple[DataLoader, DataLoader]:
    """Seeded train / test loaders over in-memory MNIST (drop_last on train: full SGLD batches)."""
    train = take(load_mnist_family("MNIST", True, root), n_train, seed)
    test = take(load_mnist_family("MNIST", False, root), n_val, seed)
    generator = torch.Generator().manual_seed(seed)
    return (DataLoader(train, batch_size, shuffle=True, drop_last=True, generator=generator),
            DataLoader(test, batch_size * 2, shuffle=False))
