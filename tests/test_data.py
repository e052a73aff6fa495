"""helpers.data: the data root, the official splits, the split, both batch paths. (Finding,
downloading and checking the files: test_mnist_files.py.)"""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import pytest
import torch
import torchvision
from torchvision import transforms

from helpers import data as D
from helpers._internal.mnist_files import FILES
from helpers._internal.paths import DATA, ROOT

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_data_root_resolution_order(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "env"))
    assert D.data_root(tmp_path / "arg") == tmp_path / "arg"
    assert D.data_root() == tmp_path / "env"
    monkeypatch.delenv("COURSE_DATA_DIR")
    assert D.data_root() == DATA == ROOT / "data"


def test_loads_the_official_splits(data_dir):
    images, labels = D.load_split(True, data_dir=data_dir, download=False)
    assert images.shape == (60000, 28, 28) and images.dtype == torch.uint8
    assert labels.dtype == torch.int64
    assert torch.bincount(labels).tolist() == TRAIN_COUNTS
    test_images, test_labels = D.load_split(False, data_dir=data_dir, download=False)
    assert test_images.shape == (10000, 28, 28) and len(test_labels) == 10000


def test_gz_only_folder_loads_without_writing(tmp_path, data_dir):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in FILES:
        shutil.copy(Path(data_dir) / "MNIST" / "raw" / f"{name}.gz", raw)
    before = listing(tmp_path)
    images, labels = D.load_split(False, data_dir=tmp_path, download=False)
    reference = D.load_split(False, data_dir=data_dir, download=False)
    assert torch.equal(images, reference[0]) and torch.equal(labels, reference[1])
    ds = D.mnist_dataset(False, data_dir=tmp_path, download=False)
    assert (
        isinstance(ds, torchvision.datasets.MNIST)
        and len(ds) == 10000
        and ds[0][1] == int(labels[0])
    )
    assert listing(tmp_path) == before  # nothing unpacked, nothing written


def test_split_is_deterministic_disjoint_and_complete():
    train, val = D.split_indices(60000)
    assert len(train) == 55000 and len(val) == 5000
    again = D.split_indices(60000)
    assert torch.equal(train, again[0]) and torch.equal(val, again[1])
    assert len(set(train.tolist()) | set(val.tolist())) == 60000
    assert not torch.equal(val, D.split_indices(60000, split_seed=1)[1])
    with pytest.raises(
        ValueError, match="val_size must be smaller than the 100 training images, got 100"
    ):
        D.split_indices(100, val_size=100)


def test_mnist_splits_sizes(mnist_splits):
    assert {k: len(v[1]) for k, v in mnist_splits.items()} == {
        "train": 55000,
        "val": 5000,
        "test": 10000,
    }


def test_normalization_constants():
    assert D.normalization() == (D.MNIST_MEAN, D.MNIST_STD) == (0.1307, 0.3081)
    assert D.normalization("FashionMNIST") == (D.FASHION_MEAN, D.FASHION_STD)
    with pytest.raises(KeyError, match="CIFAR10"):
        D.normalization("CIFAR10")


def test_in_memory_loader_matches_totensor_normalize(mnist_splits, data_dir):
    images, labels = mnist_splits["val"]
    fast = D.InMemoryLoader(images, labels, batch_size=100)
    x, y = next(iter(fast))
    assert x.shape == (100, 1, 28, 28) and x.dtype == torch.float32
    standard = D.dataloaders(data_dir, batch_size=64, eval_batch_size=100)["val"]
    xs, ys = next(iter(standard))
    torch.testing.assert_close(x, xs, atol=1e-5, rtol=1e-5)
    assert torch.equal(y, ys)


def test_in_memory_loader_shuffles_reproducibly_and_covers_every_image():
    images = torch.arange(10, dtype=torch.uint8).view(10, 1, 1).expand(10, 28, 28).contiguous()
    labels = torch.arange(10)
    loader = D.InMemoryLoader(
        images, labels, batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(3)
    )
    assert len(loader) == 3
    first = torch.cat([y for _, y in loader])
    second = torch.cat([y for _, y in loader])
    assert sorted(first.tolist()) == list(range(10)) and not torch.equal(first, second)
    again = D.InMemoryLoader(
        images, labels, batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(3)
    )
    assert torch.equal(torch.cat([y for _, y in again]), first)
    for x, y in again:  # every image still carries its own label after shuffling
        expected = (y.float() / 255 - D.MNIST_MEAN) / D.MNIST_STD
        torch.testing.assert_close(x[:, 0, 0, 0], expected)
    assert len(D.InMemoryLoader(images, labels, batch_size=4, drop_last=True)) == 2


def test_in_memory_loader_refuses_what_would_fail_silently():
    images, labels = torch.zeros(4, 28, 28, dtype=torch.uint8), torch.zeros(4, dtype=torch.long)
    with pytest.raises(ValueError, match=r"images must be a uint8 tensor .*got torch.float32"):
        D.InMemoryLoader(images.float(), labels)  # would be scaled by 1/255 a second time
    with pytest.raises(ValueError, match="labels must have one entry per image.* 3 labels"):
        D.InMemoryLoader(images, labels[:3])  # would drop an image
    with pytest.raises(ValueError, match="device must be one of"):
        D.InMemoryLoader(images, labels, device="gpu")


def test_fast_loaders_shuffle_only_training(mnist_splits):
    loaders = D.fast_loaders(
        mnist_splits, batch_size=32, generator=torch.Generator().manual_seed(0)
    )
    assert loaders["train"].shuffle and not loaders["val"].shuffle and not loaders["test"].shuffle
    assert len(loaders["train"]) == -(-55000 // 32) and loaders["test"].batch_size == 1000


def test_mnist_dataset_is_torchvisions_and_pickles(data_dir):
    ds = D.mnist_dataset(True, transforms.ToTensor(), data_dir=data_dir, download=False)
    assert isinstance(ds, torchvision.datasets.MNIST)
    x, y = ds[0]
    assert x.shape == (1, 28, 28) and y == 5
    copy = pickle.loads(pickle.dumps(ds))  # what a DataLoader's spawned worker does
    assert torch.equal(copy[0][0], x)
    with pytest.raises(ValueError, match="name must be one of"):
        D.mnist_dataset(name="CIFAR10")
    fashion = D.mnist_dataset(False, name="FashionMNIST", data_dir=data_dir, download=False)
    assert isinstance(fashion, torchvision.datasets.FashionMNIST) and len(fashion) == 10000
