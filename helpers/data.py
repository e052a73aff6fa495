"""Locating, checking and loading MNIST (and Fashion-MNIST), and two ways to batch it.

Data root, in order: the ``data_dir`` argument, the ``COURSE_DATA_DIR`` environment variable,
then ``data/`` in the project's root. Files are looked for in torchvision's layout,
``<root>/MNIST/raw/train-images-idx3-ubyte`` (or the same name with ``.gz``).

* With the files present nothing touches the network, and a read-only folder works.
* Missing files are downloaded (unless ``download=False``) into a temporary folder first and
  moved into place only when complete and checked, so a failed download leaves nothing behind,
  not even the empty folders it created. A mirror that stays silent for
  ``DOWNLOAD_TIMEOUT_S`` seconds counts as failed.
* Every file is checked when read: its header and length, labels in 0-9, and the SHA-256 of its
  unpacked bytes against the official data set's (``CONTENT_SHA256``), so a ``.gz`` the user
  recompressed is accepted and a flipped byte is not. A bad file raises :class:`DataError`
  naming it.

Two batch paths:

* :func:`mnist_dataset` / :func:`dataloaders`: the standard ``torchvision`` dataset and
  ``DataLoader``, one PIL image and one ``ToTensor`` call per sample (what the notebooks teach
  first);
* :func:`mnist_splits` / :class:`InMemoryLoader`: the whole split as one ``uint8`` tensor on the
  chosen device, scaled and normalized one batch at a time, shuffled by a seeded
  ``torch.Generator``. Several times faster on a CPU, and the data stays on the GPU when there is
  one.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch.utils.data import DataLoader, Subset

from ._internal.checks import check_choice, check_positive_int, check_type
from ._internal.paths import DATA
from .runtime import get_device

if TYPE_CHECKING:
    import torchvision

# torchvision is imported only where it is used (the torchvision datasets, their transforms, a
# download): importing it costs about 2 s, which the in-memory path, and every process that
# only trains, never needs.
DATASETS = ("MNIST", "FashionMNIST")
# Where to download from: torchvision's list for each data set (a public attribute), read when a
# download starts; put a list here to use other mirrors.
MIRRORS: dict[str, list[str]] = {}
# SHA-256 of each unpacked file: the content, whatever the compression. (MNIST's match the .gz
# files of torchvision's md5 list once unpacked; Fashion-MNIST's are those of Zalando's release.)
FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
CONTENT_SHA256 = {
    "MNIST": dict(
        zip(
            FILES,
            (
                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
                "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
                "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            ),
        )
    ),
    "FashionMNIST": dict(
        zip(
            FILES,
            (
                "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
                "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
            ),
        )
    ),
}
DOWNLOAD_TIMEOUT_S = 30.0  # a mirror silent this long (connecting or mid-file) counts as failed
DOWNLOAD_DEADLINE_S = 900.0  # the most one file may take in all (a proxy that drips bytes)
NUM_CLASSES = 10
# Mean and standard deviation of the MNIST training pixels (scaled to [0, 1]); notebook 03 computes
# them.
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
FASHION_MEAN, FASHION_STD = 0.2860, 0.3530
IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049


class DataError(RuntimeError):
    """The data set is missing, incomplete or corrupted; the message says which file and what to
    do."""


def data_root(data_dir: str | os.PathLike | None = None) -> Path:
    """Resolve the data root: the argument, else ``$COURSE_DATA_DIR``, else ``<project>/data``."""
    check_type("data_dir", data_dir, (str, os.PathLike, type(None)))
    if data_dir is None:
        data_dir = os.environ.get("COURSE_DATA_DIR") or DATA
    return Path(data_dir).expanduser()


def _file_names(name: str) -> list[str]:
    return list(CONTENT_SHA256[name])


def _how_to_provide(name: str, raw: Path) -> str:
    files = ", ".join(_file_names(name))
    return (
        f"Put the four {name} files ({files}, each unpacked or as .gz) into {raw}, "
        f"or point COURSE_DATA_DIR (or data_dir=...) at a folder that has {name}/raw/ with them."
    )


def _make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return the ones created, outermost first."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    created = []
    for path in reversed(missing):
        path.mkdir()
        created.append(path)
    return created


def _fetch(url: str, dest: Path, md5: str) -> None:
    """Download ``url`` to ``dest`` with a timeout and a deadline; check its md5."""
    request = urllib.request.Request(url, headers={"User-Agent": "pytorch-mnist-course"})
    start, digest = time.monotonic(), hashlib.md5()
    with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_S) as response:
        with open(dest, "wb") as fh:
            while chunk := response.read(1 << 16):
                if time.monotonic() - start > DOWNLOAD_DEADLINE_S:
                    raise TimeoutError(f"still downloading after {DOWNLOAD_DEADLINE_S:g} s")
                fh.write(chunk)
                digest.update(chunk)
    if digest.hexdigest() != md5:
        raise ValueError("the download does not match torchvision's md5")


def _why(err: Exception) -> str:
    """One short reason for a failed download."""
    if isinstance(err, TimeoutError) or isinstance(getattr(err, "reason", None), TimeoutError):
        return f"no answer within {DOWNLOAD_TIMEOUT_S:g} s"
    if isinstance(err, urllib.error.URLError) and not isinstance(err, urllib.error.HTTPError):
        return str(err.reason)
    return str(err) or type(err).__name__


def _download(name: str, raw: Path, missing: list[str]) -> None:
    """Download the ``.gz`` of each missing file into a temp folder, check its md5, then move
    them all in. On failure nothing is left: no partial file, no temp folder, no new folder."""
    try:
        created = _make_folders(raw)
        tmp = Path(tempfile.mkdtemp(prefix=".download-", dir=raw))
    except OSError as err:
        raise DataError(
            f"{name} is missing from {raw} and that folder cannot be written ({err.strerror}). "
            + _how_to_provide(name, raw)
        ) from None
    try:
        official = _torchvision_class(name)
        mirrors = MIRRORS.get(name) or official.mirrors
        md5 = dict(official.resources)  # of each official .gz: torchvision's list (public)
        for fname in missing:
            gz = fname + ".gz"
            errors = []
            for mirror in mirrors:
                try:
                    _fetch(mirror + gz, tmp / gz, md5[gz])
                    break
                except Exception as err:  # URLError, timeouts, md5 mismatch: try the next mirror
                    errors.append(f"{mirror}: {_why(err)}")
                    (tmp / gz).unlink(missing_ok=True)
            else:
                raise DataError(
                    f"{name} file {fname} is missing from {raw} and could not be downloaded "
                    f"({'; '.join(errors) or 'no mirror'}). " + _how_to_provide(name, raw)
                )
        for fname in missing:
            os.replace(tmp / (fname + ".gz"), raw / (fname + ".gz"))
        created = []  # complete: keep the folders
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        for folder in reversed(created):
            try:
                folder.rmdir()
            except OSError:  # not empty after all (another process wrote there): keep it
                pass


def _expected_size(fname: str, count: int) -> int:
    return 16 + count * 28 * 28 if "images" in fname else 8 + count


def _read_idx(path: Path, name: str = "MNIST") -> torch.Tensor:
    """Read one IDX file of ``name`` (plain or gzipped) into a uint8 tensor, checking its header,
    its length, its labels (0-9) and the SHA-256 of its unpacked bytes."""
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as fh:
            blob = fh.read()
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise DataError(
            f"cannot read {path}: {getattr(err, 'strerror', None) or err}. The file is "
            "corrupted or truncated; delete it and provide it again."
        ) from None
    fname = path.name.removesuffix(".gz")
    images = "images" in fname
    header = 16 if images else 8
    magic = int.from_bytes(blob[0:4], "big") if len(blob) >= 4 else None
    want_magic = IMAGE_MAGIC if images else LABEL_MAGIC
    if magic != want_magic:
        raise DataError(
            f"{path} is not an IDX {'image' if images else 'label'} file (magic number "
            f"{magic}, expected {want_magic}); it is corrupted, delete it and provide it again."
        )
    count = int.from_bytes(blob[4:8], "big")
    want = _expected_size(fname, count)
    if len(blob) != want:
        raise DataError(
            f"{path} is truncated or corrupted: {len(blob)} bytes where its header promises "
            f"{want}; delete it and provide it again."
        )
    data = torch.frombuffer(bytearray(blob[header:]), dtype=torch.uint8)
    if not images and len(data) and int(data.max()) >= NUM_CLASSES:
        index = int((data >= NUM_CLASSES).nonzero()[0])
        raise DataError(
            f"{path} is corrupted: label {int(data[index])} at position {index}, where {name} "
            f"labels are 0 to {NUM_CLASSES - 1}; delete it and provide it again."
        )
    expected = CONTENT_SHA256.get(name, {}).get(fname)
    if expected is not None and hashlib.sha256(blob).hexdigest() != expected:
        raise DataError(
            f"{path} is corrupted: its content differs from the official {name} {fname} "
            "(its SHA-256 does not match); delete it and provide it again."
        )
    return data.view(count, 28, 28) if images else data


def ensure_files(
    name: str = "MNIST", data_dir: str | os.PathLike | None = None, download: bool = True
) -> dict[str, Path]:
    """Find (or download) the four files of ``name``; return a map from file name to the path to
    read.

    An unpacked file is preferred over its ``.gz``. The content of each is checked when it is
    read (:func:`load_split`), so a recompressed ``.gz`` is as good as the original.
    """
    check_choice("name", name, DATASETS)
    check_type("download", download, bool)
    raw = data_root(data_dir) / name / "raw"
    found: dict[str, Path] = {}
    missing = []
    for fname in _file_names(name):
        if (raw / fname).is_file():
            found[fname] = raw / fname
        elif (raw / (fname + ".gz")).is_file():
            found[fname] = raw / (fname + ".gz")
        else:
            missing.append(fname)
    if missing and not download:
        raise DataError(
            f"{name} not found: {', '.join(missing)} missing from {raw} (download=False). "
            + _how_to_provide(name, raw)
        )
    if missing:
        _download(name, raw, missing)
        found.update({fname: raw / (fname + ".gz") for fname in missing})
    return found


def load_split(
    train: bool,
    name: str = "MNIST",
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load one official split as ``(images uint8 [N, 28, 28], labels int64 [N])``."""
    check_type("train", train, bool)
    files = ensure_files(name, data_dir, download)
    prefix = "train" if train else "t10k"
    images = _read_idx(files[f"{prefix}-images-idx3-ubyte"], name)
    labels = _read_idx(files[f"{prefix}-labels-idx1-ubyte"], name).long()
    if len(images) != len(labels):
        raise DataError(
            f"{name} {prefix} split has {len(images)} images but {len(labels)} labels; "
            "one of the files is from another data set or corrupted."
        )
    return images, labels


def _torchvision_class(name: str) -> type[torchvision.datasets.MNIST]:
    """torchvision's own class for the data set ``name`` (imports torchvision)."""
    import torchvision.datasets

    return getattr(torchvision.datasets, name)


class _CheckedFiles:
    """Make a torchvision MNIST-style dataset read through :func:`load_split` (gz or unpacked,
    checked). Only the file reading changes; indexing, transforms and attributes are torchvision's.

    The one place the course touches torchvision internals: ``MNIST.__init__`` calls the private
    ``_check_exists`` and ``_load_data``, and torchvision has no public hook to read ``.gz`` files
    in place (its own path unpacks them, which fails in a read-only folder, and checks nothing).
    If a torchvision release renames them, only these two methods change.
    """

    def _check_exists(self) -> bool:  # called by torchvision before loading: ensure_files did it
        return True

    def _load_data(self) -> tuple[torch.Tensor, torch.Tensor]:
        return load_split(self.train, type(self).__name__, self.root, download=False)


@cache
def _dataset_class(name: str) -> type[torchvision.datasets.MNIST]:
    """``helpers.data.MNIST`` / ``FashionMNIST``: torchvision's class for ``name``, reading
    through :func:`load_split`; made on first use, so that importing helpers skips torchvision."""
    return type(
        name,
        (_CheckedFiles, _torchvision_class(name)),
        {"__doc__": f"``torchvision.datasets.{name}`` that reads through :func:`load_split`.",
         "__module__": __name__},
    )  # fmt: skip


def __getattr__(attribute: str) -> type:
    """``helpers.data.MNIST`` and ``helpers.data.FashionMNIST``, made on first use."""
    if attribute in DATASETS:
        return _dataset_class(attribute)
    raise AttributeError(f"module {__name__!r} has no attribute {attribute!r}")


def mnist_dataset(
    train: bool = True,
    transform: Callable | None = None,
    *,
    name: str = "MNIST",
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
) -> torchvision.datasets.MNIST:
    """``torchvision.datasets.MNIST`` (or ``FashionMNIST``) on the course's data root.

    The same object as ``torchvision.datasets.MNIST(root, train, transform)``, but it also reads
    ``.gz`` files in a read-only folder, downloads atomically and reports corrupted files clearly.
    """
    check_choice("name", name, DATASETS)
    ensure_files(name, data_dir, download)
    return _dataset_class(name)(root=str(data_root(data_dir)), train=train, transform=transform)


def split_indices(
    n: int, val_size: int = 5000, split_seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed random train/validation split of ``range(n)``: ``(train_idx, val_idx)``.

    It depends on ``split_seed`` only, not on the training seed, so every run and every model
    is selected on the same validation images.
    """
    check_positive_int("n", n)
    check_positive_int("val_size", val_size, allow_zero=True)
    check_type("split_seed", split_seed, int)
    if val_size >= n:
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
    """``{"train", "val", "test"}`` -> ``(images uint8 [N, 28, 28], labels int64 [N])``.

    55,000/5,000 train/validation from the official training set by default; the official
    10,000 test images are kept apart for final numbers only.
    """
    images, labels = load_split(True, name, data_dir, download)
    train_idx, val_idx = split_indices(len(images), val_size, split_seed)
    test = load_split(False, name, data_dir, download)
    return {
        "train": (images[train_idx], labels[train_idx]),
        "val": (images[val_idx], labels[val_idx]),
        "test": test,
    }


def normalization(name: str = "MNIST") -> tuple[float, float]:
    """The (mean, std) of the training pixels of ``name`` in [0, 1]."""
    check_choice("name", name, DATASETS)
    return (MNIST_MEAN, MNIST_STD) if name == "MNIST" else (FASHION_MEAN, FASHION_STD)


class InMemoryLoader:
    """Batches from one ``uint8`` image tensor held in memory (on the GPU when there is one).

    Iterating yields ``(x, y)`` with ``x`` float32 ``[B, 1, 28, 28]``, scaled to [0, 1] and
    normalized, just like ``DataLoader`` over ``ToTensor()`` + ``Normalize``, but without a
    Python call per image. Shuffling uses ``generator``, a seeded ``torch.Generator`` on the CPU,
    so the batch order is reproducible. ``transform`` (optional) maps a normalized batch to an
    augmented one.
    """

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
        check_type("images", images, torch.Tensor)
        check_type("labels", labels, torch.Tensor)
        if images.dtype != torch.uint8 or images.dim() != 3:
            raise ValueError(
                f"images must be a uint8 tensor [N, H, W], got {images.dtype} {list(images.shape)}"
            )
        if len(labels) != len(images):
            raise ValueError(
                f"labels must have one entry per image ({len(images)}), got {len(labels)}"
            )
        check_positive_int("batch_size", batch_size)
        check_type("shuffle", shuffle, bool)
        check_type("generator", generator, (torch.Generator, type(None)))
        check_type("std", std, float)
        if std <= 0:
            raise ValueError(f"std must be > 0, got {std!r}")
        self.device = get_device(device)
        self.images = images.to(self.device)
        self.labels = labels.to(self.device)
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
        order = (
            torch.randperm(n, generator=self.generator).to(self.device) if self.shuffle else None
        )
        for b in range(len(self)):
            sl = slice(b * self.batch_size, min((b + 1) * self.batch_size, n))
            if order is None:
                xb, yb = self.images[sl], self.labels[sl]
            else:
                idx = order[sl]
                xb, yb = self.images[idx], self.labels[idx]
            x = xb.unsqueeze(1).float().mul_(self.scale).add_(self.shift)
            if self.transform is not None:
                x = self.transform(x)
            yield x, yb


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
    return {
        split: InMemoryLoader(
            images,
            labels,
            batch_size=batch_size if split == "train" else eval_batch_size,
            shuffle=split == "train",
            generator=generator,
            device=device,
            mean=mean,
            std=std,
        )
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
    """The standard path: ``DataLoader`` over torchvision datasets with ``ToTensor`` +
    ``Normalize``.

    Same train/validation split as :func:`mnist_splits`; the training loader shuffles with
    ``generator``.
    """
    from torchvision import transforms

    check_positive_int("batch_size", batch_size)
    check_positive_int("eval_batch_size", eval_batch_size)
    mean, std = normalization(name)
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((mean,), (std,))])
    full = mnist_dataset(True, tf, name=name, data_dir=data_dir, download=download)
    test = mnist_dataset(False, tf, name=name, data_dir=data_dir, download=download)
    train_idx, val_idx = split_indices(len(full), val_size, split_seed)
    return {
        "train": DataLoader(
            Subset(full, train_idx.tolist()),
            batch_size=batch_size,
            shuffle=True,
            generator=generator,
        ),
        "val": DataLoader(Subset(full, val_idx.tolist()), batch_size=eval_batch_size),
        "test": DataLoader(test, batch_size=eval_batch_size),
    }
