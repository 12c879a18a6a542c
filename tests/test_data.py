"""MNIST-family loading: offline errors that say what to do, IDX files the test writes."""

import struct

import numpy as np
import pytest
import torch

from ebm_course.data import (
    DatasetNotFound,
    dataset_available,
    load_mnist_family,
    mnist_loaders,
)


def write_idx(path, array):
    """Write an IDX file (the MNIST format): magic, dims, then the raw uint8 data."""
    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.tobytes())


def make_fake(root, name, n=12):
    raw = root / name / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, count in (("train", n), ("t10k", n // 2)):
        write_idx(raw / f"{split}-images-idx3-ubyte", rng.integers(0, 256, (count, 28, 28)))
        write_idx(raw / f"{split}-labels-idx1-ubyte", rng.integers(0, 10, count))


def test_missing_dataset_names_folder_files_and_remedy(tmp_path):
    with pytest.raises(DatasetNotFound) as err:
        load_mnist_family("FashionMNIST", root=tmp_path, download=False)
    message = str(err.value)
    assert str(tmp_path / "FashionMNIST" / "raw") in message
    assert "train-images-idx3-ubyte" in message and "EBM_COURSE_DATA" in message


def test_unknown_name_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset"):
        load_mnist_family("CIFAR10", root=tmp_path)


@pytest.mark.parametrize("name", ["MNIST", "FashionMNIST", "KMNIST"])
def test_loads_idx_files_in_minus_one_one(tmp_path, name):
    make_fake(tmp_path, name)
    assert dataset_available(name, tmp_path)
    train = load_mnist_family(name, train=True, root=tmp_path)
    test = load_mnist_family(name, train=False, root=tmp_path)
    images, labels = train.tensors
    assert images.shape == (12, 1, 28, 28) and len(test) == 6
    assert images.min() >= -1 and images.max() <= 1 and labels.dtype == torch.int64


def test_real_mnist_sizes(mnist_root):
    train, test = load_mnist_family("MNIST", True), load_mnist_family("MNIST", False)
    assert len(train) == 60000 and len(test) == 10000
    loader, _ = mnist_loaders(32, n_train=100, n_val=50, seed=0)
    first = next(iter(loader))[0]
    again = next(iter(mnist_loaders(32, n_train=100, n_val=50, seed=0)[0]))[0]
    assert torch.equal(first, again), "the seeded loader must give the same first batch"


def test_require_says_in_one_sentence_why_a_dataset_is_missing(tmp_path, monkeypatch):
    from ebm_course import data

    monkeypatch.setenv("EBM_COURSE_DOWNLOAD", "0")
    with pytest.raises(DatasetNotFound, match="switched off.*EBM_COURSE_DATA"):
        data.require("MNIST", tmp_path)
    monkeypatch.setenv("EBM_COURSE_DOWNLOAD", "auto")
    monkeypatch.setattr(data, "mirror_reachable", lambda name: False)  # offline
    with pytest.raises(DatasetNotFound, match="cannot reach torchvision's download mirrors"):
        data.require("KMNIST", tmp_path)
    with pytest.raises(DatasetNotFound, match="does not download"):
        load_mnist_family("MNIST", root=tmp_path, download=False)
    assert data.download_policy() == "auto"
    monkeypatch.setenv("EBM_COURSE_DOWNLOAD", "1")
    assert data.download_policy() == "always"


def test_require_finds_what_is_there(mnist_root):
    from ebm_course import data

    assert data.require("MNIST", mnist_root) == f"MNIST under {mnist_root}"


def test_a_torchvision_that_does_not_fit_torch_says_so(monkeypatch):
    """A CPU torch beside a CUDA torchvision fails deep inside ("operator torchvision::nms does
    not exist"); the first import of the course says what to install instead."""
    import builtins

    from ebm_course.util import import_torchvision

    real_import = builtins.__import__

    def broken(name, *args, **kwargs):
        if name == "torchvision":
            raise RuntimeError("operator torchvision::nms does not exist")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", broken)
    with pytest.raises(ImportError, match="matching pair"):
        import_torchvision()
