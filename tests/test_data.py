"""helpers.data: finding, checking and loading MNIST; the split; both batch paths."""

from __future__ import annotations

import contextlib
import gzip
import http.server
import shutil
import threading
import time
import urllib.error
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
import torchvision
from torchvision import transforms

from helpers import data as D
from helpers._internal.paths import DATA, ROOT

FILES = list(D.FILES)
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_data_root_resolution_order(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "env"))
    assert D.data_root(tmp_path / "arg") == tmp_path / "arg"
    assert D.data_root() == tmp_path / "env"
    monkeypatch.delenv("COURSE_DATA_DIR")
    assert D.data_root() == DATA == ROOT / "data"
    with pytest.raises(TypeError, match="data_dir must be"):
        D.data_root(3)


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


def test_missing_files_without_download_name_folder_and_files(tmp_path):
    with pytest.raises(D.DataError) as err:
        D.load_split(True, data_dir=tmp_path, download=False)
    message = str(err.value)
    assert str(tmp_path / "MNIST" / "raw") in message
    for name in FILES:
        assert name in message
    assert "COURSE_DATA_DIR" in message


def test_failed_download_leaves_nothing_behind(tmp_path, monkeypatch):
    def offline(url, dest, md5):
        dest.write_bytes(b"half a file")  # a partial download...
        raise urllib.error.URLError("no network")  # ...then the connection drops

    monkeypatch.setattr(D, "_fetch", offline)
    typo = tmp_path / "mnst-data"  # a mistyped COURSE_DATA_DIR that does not exist
    monkeypatch.setenv("COURSE_DATA_DIR", str(typo))
    with pytest.raises(D.DataError, match="could not be downloaded.*no network") as err:
        D.load_split(True, download=True)
    assert "train-images-idx3-ubyte" in str(err.value) and str(typo) in str(err.value)
    assert listing(tmp_path) == []  # no partial file, no temp folder, no empty MNIST/raw


@contextlib.contextmanager
def server(handler: type) -> Iterator[str]:
    """A local HTTP server on a free port, in a thread; yields its URL."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_stalled_mirror_times_out_with_the_same_clear_error(tmp_path, monkeypatch):
    release = threading.Event()

    class Silent(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # a proxy that accepts the request and never answers
            release.wait(10)

        def log_message(self, *args):
            pass

    with server(Silent) as url:
        monkeypatch.setitem(D.MIRRORS, "MNIST", [url])
        monkeypatch.setattr(D, "DOWNLOAD_TIMEOUT_S", 0.5)
        start = time.perf_counter()
        with pytest.raises(
            D.DataError, match=r"could not be downloaded \(.*no answer within 0.5 s"
        ):
            D.load_split(False, data_dir=tmp_path, download=True)
        release.set()
    assert time.perf_counter() - start < 5
    assert listing(tmp_path) == []


def test_successful_download_is_checked_and_moved_into_place(tmp_path, monkeypatch, data_dir):
    raw = Path(data_dir) / "MNIST" / "raw"

    class Mirror(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(raw), **kwargs)

        def log_message(self, *args):
            pass

    with server(Mirror) as url:
        monkeypatch.setitem(D.MIRRORS, "MNIST", ["http://127.0.0.1:9/", url])  # first one refuses
        images, _ = D.load_split(False, data_dir=tmp_path, download=True)
    assert len(images) == 10000
    assert listing(tmp_path / "MNIST" / "raw") == sorted(f"{name}.gz" for name in FILES)


def copy_unpacked(data_dir: str, tmp_path: Path, name: str = "MNIST") -> Path:
    raw = tmp_path / name / "raw"
    raw.mkdir(parents=True)
    for fname in FILES:
        shutil.copy(Path(data_dir) / name / "raw" / fname, raw)
        (raw / fname).chmod(0o644)
    return raw


@pytest.mark.parametrize("name", ["MNIST", "FashionMNIST"])
def test_a_flipped_pixel_byte_in_an_unpacked_file_is_caught(tmp_path, data_dir, name):
    raw = copy_unpacked(data_dir, tmp_path, name)
    blob = bytearray((raw / "t10k-images-idx3-ubyte").read_bytes())
    blob[16 + 28 * 14 + 14] ^= 0xFF  # one pixel in the middle of the first image
    (raw / "t10k-images-idx3-ubyte").write_bytes(blob)
    with pytest.raises(D.DataError, match="t10k-images-idx3-ubyte is corrupted: its content"):
        D.load_split(False, name=name, data_dir=tmp_path, download=False)
    D.load_split(True, name=name, data_dir=tmp_path, download=False)  # the others are fine


def test_a_label_outside_0_to_9_is_refused(tmp_path, data_dir):
    raw = copy_unpacked(data_dir, tmp_path)
    blob = bytearray((raw / "t10k-labels-idx1-ubyte").read_bytes())
    blob[8 + 17] = 200
    (raw / "t10k-labels-idx1-ubyte").write_bytes(blob)
    with pytest.raises(
        D.DataError, match="label 200 at position 17, where MNIST labels are 0 to 9"
    ):
        D.load_split(False, data_dir=tmp_path, download=False)


def test_a_recompressed_gz_with_the_right_content_is_accepted(tmp_path, data_dir):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for fname in FILES:  # recompressed: other bytes than torchvision's .gz, same content
        blob = (Path(data_dir) / "MNIST" / "raw" / fname).read_bytes()
        (raw / f"{fname}.gz").write_bytes(gzip.compress(blob, compresslevel=1, mtime=0))
    images, labels = D.load_split(False, data_dir=tmp_path, download=False)
    reference = D.load_split(False, data_dir=data_dir, download=False)
    assert torch.equal(images, reference[0]) and torch.equal(labels, reference[1])


@pytest.mark.parametrize("kind", ["truncated", "garbage"])
def test_corrupted_unpacked_file_is_named(tmp_path, data_dir, kind):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in FILES:
        shutil.copy(Path(data_dir) / "MNIST" / "raw" / name, raw)
    bad = raw / "t10k-images-idx3-ubyte"
    blob = bad.read_bytes()
    bad.write_bytes(blob[:100_000] if kind == "truncated" else b"\x00" * len(blob))
    with pytest.raises(D.DataError, match="t10k-images-idx3-ubyte") as err:
        D.load_split(False, data_dir=tmp_path)
    assert ("truncated" if kind == "truncated" else "magic number") in str(err.value)


def test_corrupted_gz_is_named(tmp_path, data_dir):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in FILES:
        shutil.copy(Path(data_dir) / "MNIST" / "raw" / f"{name}.gz", raw)
    gz = raw / "t10k-labels-idx1-ubyte.gz"
    gz.write_bytes(gz.read_bytes()[:-50])
    with pytest.raises(D.DataError, match="t10k-labels-idx1-ubyte.gz.*corrupted or truncated"):
        D.load_split(False, data_dir=tmp_path)


def test_truncated_gz_of_other_dataset_is_named(tmp_path, data_dir):
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for name in FILES:
        src = Path(data_dir) / "FashionMNIST" / "raw" / name
        with gzip.open(raw / f"{name}.gz", "wb", compresslevel=1) as fh:  # level 9 takes 10 s
            fh.write(src.read_bytes()[: 5000 if name.startswith("t10k-images") else None])
    with pytest.raises(D.DataError, match="t10k-images-idx3-ubyte.gz is truncated"):
        D.load_split(False, name="FashionMNIST", data_dir=tmp_path)


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


def test_in_memory_loader_rejects_bad_input():
    images, labels = torch.zeros(4, 28, 28, dtype=torch.uint8), torch.zeros(4, dtype=torch.long)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1, got 0"):
        D.InMemoryLoader(images, labels, batch_size=0)
    with pytest.raises(ValueError, match="images must be a uint8 tensor"):
        D.InMemoryLoader(images.float(), labels)
    with pytest.raises(ValueError, match="labels must have one entry per image"):
        D.InMemoryLoader(images, labels[:3])
    with pytest.raises(ValueError, match="device must be one of"):
        D.InMemoryLoader(images, labels, device="gpu")


def test_fast_loaders_shuffle_only_training(mnist_splits):
    loaders = D.fast_loaders(
        mnist_splits, batch_size=32, generator=torch.Generator().manual_seed(0)
    )
    assert loaders["train"].shuffle and not loaders["val"].shuffle and not loaders["test"].shuffle
    assert len(loaders["train"]) == -(-55000 // 32) and loaders["test"].batch_size == 1000


def test_mnist_dataset_is_torchvisions(data_dir):
    ds = D.mnist_dataset(True, transforms.ToTensor(), data_dir=data_dir, download=False)
    assert isinstance(ds, torchvision.datasets.MNIST)
    x, y = ds[0]
    assert x.shape == (1, 28, 28) and y == 5
    with pytest.raises(ValueError, match="name must be one of"):
        D.mnist_dataset(name="CIFAR10")
    fashion = D.mnist_dataset(False, name="FashionMNIST", data_dir=data_dir, download=False)
    assert isinstance(fashion, torchvision.datasets.FashionMNIST) and len(fashion) == 10000
