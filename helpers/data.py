"""MNIST (and Fashion-MNIST): where it lives, the train/validation split, two ways to batch it:
torchvision's dataset and a ``DataLoader`` (one PIL image per sample, taught first), or the whole
split as one ``uint8`` tensor, batched by :class:`InMemoryLoader` (several times faster on a CPU).
A missing or damaged file raises :class:`DataError` naming it (``_internal/mnist_files.py``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch.utils.data import DataLoader, Subset

from ._internal.mnist_files import DataError as DataError  # raised for a missing or bad file
from ._internal.mnist_files import dataset_class, find_files, read_idx
from ._internal.paths import DATA
from .runtime import get_device

if TYPE_CHECKING:  # torchvision is imported where it is used: it takes about 2 s
    import torchvision

# Mean and standard deviation of the training pixels scaled to [0, 1] (notebook 03 computes them).
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
FASHION_MEAN, FASHION_STD = 0.2860, 0.3530


def data_root(data_dir: str | os.PathLike | None = None) -> Path:
    """The data root: ``data_dir``, else ``$COURSE_DATA_DIR``, else ``<project>/data``."""
    return Path(data_dir or os.environ.get("COURSE_DATA_DIR") or DATA).expanduser()


def load_split(
    train: bool,
    name: str = "MNIST",
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One official split, 60,000 training or 10,000 test images, read from the IDX files:
    ``(images uint8 [N, 28, 28], labels int64 [N])``."""
    files = find_files(name, data_root(data_dir), download)
    prefix = "train" if train else "t10k"
    images = read_idx(files[f"{prefix}-images-idx3-ubyte"], name)
    labels = read_idx(files[f"{prefix}-labels-idx1-ubyte"], name).long()
    return images, labels


def mnist_dataset(
    train: bool = True,
    transform: Callable | None = None,
    *,
    name: str = "MNIST",
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
) -> torchvision.datasets.MNIST:
    """``torchvision.datasets.MNIST(root, train, transform)`` (or ``FashionMNIST``) on the
    course's data root; it also reads ``.gz`` files in a read-only folder and checks them."""
    find_files(name, data_root(data_dir), download)
    return dataset_class(name)(root=str(data_root(data_dir)), train=train, transform=transform)


def split_indices(
    n: int, val_size: int = 5000, split_seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed random train/validation split of ``range(n)``: ``(train_idx, val_idx)``. It depends
    on ``split_seed`` only, so every run and model is selected on the same validation images."""
    if not 0 <= val_size < n:
        raise ValueError(f"val_size must be smaller than the {n} training images, got {val_size}")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(split_seed))
    return perm[val_size:].sort().values, perm[:val_size].sort().values


def mnist_splits(
    data_dir: str | os.PathLike | None = None,
    *,
    name: str = "MNIST",
    val_size: int = 5000,
    split_seed: int = 0,
    download: bool = True,
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """``{"train", "val", "test"}`` -> ``(images uint8 [N, 28, 28], labels int64 [N])``: by
    default 55,000/5,000 from the official training set, and the official 10,000 test images."""
    images, labels = load_split(True, name, data_dir, download)
    train_idx, val_idx = split_indices(len(images), val_size, split_seed)
    return {
        "train": (images[train_idx], labels[train_idx]),
        "val": (images[val_idx], labels[val_idx]),
        "test": load_split(False, name, data_dir, download),
    }


def normalization(name: str = "MNIST") -> tuple[float, float]:
    """The (mean, std) of the training pixels of ``name`` in [0, 1]."""
    return {"MNIST": (MNIST_MEAN, MNIST_STD), "FashionMNIST": (FASHION_MEAN, FASHION_STD)}[name]


class InMemoryLoader:
    """Batches ``(x float32 [B, 1, 28, 28], y)`` from one ``uint8`` image tensor on ``device``,
    scaled and normalized as ``ToTensor()`` + ``Normalize`` would, without a Python call per
    image. ``generator`` (on the CPU) shuffles; ``transform`` maps a normalized batch."""

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        *,
        batch_size: int = 64,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        device: str | torch.device = "cpu",
        mean: float = MNIST_MEAN,
        std: float = MNIST_STD,
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
        drop_last: bool = False,
    ):
        # float images would be scaled twice, missing labels drop images: both silently
        if images.dtype != torch.uint8 or images.dim() != 3 or len(labels) != len(images):
            raise ValueError(
                "images must be a uint8 tensor [N, H, W] and labels must have one entry per "
                f"image; got {images.dtype} {list(images.shape)} and {len(labels)} labels"
            )
        self.device = get_device(device)
        self.images, self.labels = images.to(self.device), labels.to(self.device)
        self.batch_size, self.shuffle, self.generator = batch_size, shuffle, generator
        self.transform, self.drop_last = transform, drop_last
        # (x / 255 - mean) / std  ==  x * scale + shift, one fused multiply-add per batch
        self.scale, self.shift = 1.0 / (255.0 * std), -mean / std
        self.dataset = self.labels  # len(loader.dataset) works as with a DataLoader

    def __len__(self) -> int:
        n = len(self.labels)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.labels)
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator).to(self.device)
        for b in range(len(self)):
            batch = slice(b * self.batch_size, min((b + 1) * self.batch_size, n))
            if self.shuffle:
                batch = order[batch]
            x = self.images[batch].unsqueeze(1).float().mul_(self.scale).add_(self.shift)
            if self.transform is not None:
                x = self.transform(x)
            yield x, self.labels[batch]


def fast_loaders(
    splits: dict[str, tuple[torch.Tensor, torch.Tensor]],
    *,
    batch_size: int = 64,
    device: str | torch.device = "cpu",
    generator: torch.Generator | None = None,
    eval_batch_size: int = 1000,
    name: str = "MNIST",
) -> dict[str, InMemoryLoader]:
    """An :class:`InMemoryLoader` per split: the training one shuffled by ``generator``, the
    others in order."""
    mean, std = normalization(name)
    common = {"generator": generator, "device": device, "mean": mean, "std": std}
    return {
        split: InMemoryLoader(images, labels, batch_size=batch_size, shuffle=True, **common)
        if split == "train"
        else InMemoryLoader(images, labels, batch_size=eval_batch_size, **common)
        for split, (images, labels) in splits.items()
    }


def dataloaders(
    data_dir: str | os.PathLike | None = None,
    *,
    name: str = "MNIST",
    batch_size: int = 64,
    generator: torch.Generator | None = None,
    val_size: int = 5000,
    split_seed: int = 0,
    eval_batch_size: int = 1000,
    download: bool = True,
) -> dict[str, DataLoader]:
    """``DataLoader`` s over torchvision's datasets with ``ToTensor`` + ``Normalize``, split as
    :func:`mnist_splits` does; the training loader shuffles with ``generator``."""
    from torchvision import transforms

    mean, std = normalization(name)
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((mean,), (std,))])
    full = mnist_dataset(True, tf, name=name, data_dir=data_dir, download=download)
    test = mnist_dataset(False, tf, name=name, data_dir=data_dir, download=download)
    train_idx, val_idx = split_indices(len(full), val_size, split_seed)
    return {
        "train": DataLoader(
            Subset(full, train_idx.tolist()), batch_size, shuffle=True, generator=generator
        ),
        "val": DataLoader(Subset(full, val_idx.tolist()), batch_size=eval_batch_size),
        "test": DataLoader(test, batch_size=eval_batch_size),
    }
