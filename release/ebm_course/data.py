"""Datasets of the MNIST family through torchvision, offline-aware.

Files live under ``config.data_root()`` in torchvision's layout (``<root>/MNIST/raw/...``). A
missing dataset is downloaded from torchvision's mirrors when the machine is online, unless
``EBM_COURSE_DOWNLOAD=0`` forbids it (``make test`` and CI do); offline, or forbidden, it raises
:class:`DatasetNotFound` with one sentence saying where the files should be and how to get them.
:func:`require` is what a notebook's first cell calls, so a missing dataset shows up at once,
not at the training cell. Images come back as one in-memory tensor in [-1, 1], which on a CPU is
much faster than torchvision's per-item PIL transforms.
"""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset, random_split

from . import settings
from .config import data_root
from .util import import_torchvision

torchvision = import_torchvision()  # a clear error when torch and torchvision are no pair

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


def download_policy() -> str:
    """``EBM_COURSE_DOWNLOAD``: ``"auto"`` (default: download a missing dataset when online),
    ``"never"`` (``0``, ``no``, ``false``, ``never``) or ``"always"`` (``1``, ``yes``, ...)."""
    return settings.current().download


def mirror_reachable(name: str, timeout: float = 3.0) -> bool:
    """Whether one of torchvision's mirrors for ``name`` answers (a TCP connection, no data)."""
    for mirror in getattr(MNIST_FAMILY[name], "mirrors", []) or []:
        url = urlparse(mirror if "://" in mirror else f"https://{mirror}")
        try:
            port = url.port or (80 if url.scheme == "http" else 443)
            socket.create_connection((url.hostname, port), timeout=timeout).close()
            return True
        except OSError:
            continue
    return False


def _missing(name: str, root: Path, why: str) -> DatasetNotFound:
    files = ", ".join(_raw_files(MNIST_FAMILY[name]))
    return DatasetNotFound(
        f"{name} is not under {root / name / 'raw'} ({files}) and {why}: copy the files there, or "
        f"point EBM_COURSE_DATA at a folder that holds {name}/raw/, then rerun this cell.")


def require(name: str = "MNIST", root: str | Path | None = None) -> str:
    """Make sure ``name`` is under the data root, downloading it if allowed and online.

    Returns:
        a line for the notebook's output saying where the data is.
    Raises:
        DatasetNotFound: missing, and forbidden to download or offline (one sentence why).
    """
    root = Path(root or data_root())
    if dataset_available(name, root):
        return f"{name} under {root}"
    policy = download_policy()
    if policy == "never":
        raise _missing(name, root, "downloading is switched off (EBM_COURSE_DOWNLOAD=0)")
    if not mirror_reachable(name):
        raise _missing(name, root, "this machine cannot reach torchvision's download mirrors "
                       "(offline?)")
    MNIST_FAMILY[name](root=str(root), download=True)  # fetches both splits' files
    return f"{name} under {root} (downloaded now)"


def load_mnist_family(name: str = "MNIST", train: bool = True, root: str | Path | None = None,
                      download: bool | None = None) -> TensorDataset:
    """One split of MNIST / FashionMNIST / KMNIST as a ``TensorDataset(images, labels)``.

    Args:
        name: "MNIST", "FashionMNIST" or "KMNIST".
        train: the 60,000-image training split, else the 10,000-image test split.
        root: data root; default ``config.data_root()``.
        download: download when missing; default :func:`download_policy` (``"auto"``: when
            online).
    Returns:
        images (N, 1, 28, 28) float32 in [-1, 1] and labels (N,) int64.
    """
    if name not in MNIST_FAMILY:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(MNIST_FAMILY)}")
    cls, root = MNIST_FAMILY[name], Path(root or data_root())
    if not dataset_available(name, root):
        if download is False:
            raise _missing(name, root, "this call does not download")
        require(name, root)
    ds = cls(root=str(root), train=train, download=False)
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
