"""helpers._internal.mnist_files: finding, downloading and checking the MNIST files. Every
fault ends in one DataError naming the file or folder, says on stderr what is being downloaded
and from where, gives up on a stalled mirror within STALL_S, and leaves nothing on disk."""

from __future__ import annotations

import contextlib
import errno
import gzip
import http.server
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from helpers import data as D
from helpers._internal import mnist_files as M

FILES = list(M.FILES)


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@contextlib.contextmanager
def server(do_get) -> Iterator[str]:
    """A local HTTP server whose GET is ``do_get(handler)``, in a thread; yields its URL."""
    handler = type(
        "Handler",
        (http.server.BaseHTTPRequestHandler,),
        {"do_GET": do_get, "log_message": lambda *args: None},
    )
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def serve_from(folder: Path):
    """A GET that serves the files of ``folder`` (404 for others)."""

    def do_get(self):
        path = folder / self.path.lstrip("/")
        if not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    return do_get


@pytest.fixture
def fast(monkeypatch):
    """Give up on a mirror after 0.5 s instead of 10."""
    monkeypatch.setattr(M, "STALL_S", 0.5)


def download_fails(tmp_path, mirrors, monkeypatch, match) -> tuple[str, float]:
    """Try to download the test split from ``mirrors``; return the error and the seconds taken,
    after checking that nothing was left on disk."""
    monkeypatch.setitem(M.MIRRORS, "MNIST", mirrors)
    start = time.perf_counter()
    with pytest.raises(D.DataError, match=match) as err:
        D.load_split(False, data_dir=tmp_path / "data", download=True)
    assert listing(tmp_path) == []  # no partial file, no temp folder, no empty MNIST/raw
    return str(err.value), time.perf_counter() - start


def test_missing_files_without_download_name_folder_and_files(tmp_path):
    with pytest.raises(D.DataError) as err:
        D.load_split(True, data_dir=tmp_path, download=False)
    message = str(err.value)
    assert str(tmp_path / "MNIST" / "raw") in message and "COURSE_DATA_DIR" in message
    assert all(name in message for name in FILES)


def test_stalled_mirrors_are_announced_and_given_up_quickly(tmp_path, monkeypatch, fast, capfd):
    release = threading.Event()

    def silent(self):  # a proxy that accepts the request and never answers
        release.wait(10)

    with server(silent) as one, server(silent) as two:
        message, took = download_fails(
            tmp_path, [one, two], monkeypatch, r"could not be downloaded \(.*no answer"
        )
        release.set()
    assert took < 3  # two mirrors, 0.5 s each, one after the other
    assert one in message and two in message and "train-images-idx3-ubyte" in message
    err = capfd.readouterr().err
    assert f"Downloading MNIST train-images-idx3-ubyte.gz from {one}\n  failed: no answer" in err
    assert f"from {two}\n  failed" in err


def test_a_trickle_counts_as_a_stall(tmp_path, monkeypatch):
    monkeypatch.setattr(M, "STALL_S", 1.0)

    def drip(self):
        self.send_response(200)
        self.send_header("Content-Length", "9999999")
        self.end_headers()
        for _ in range(200):  # one byte every 20 ms: never silent, never done
            self.wfile.write(b"x")
            self.wfile.flush()
            time.sleep(0.02)

    with server(drip) as url:
        _, took = download_fails(tmp_path, [url], monkeypatch, "less than 64 kB in 1 s")
    assert took < 4


@pytest.mark.parametrize(
    "mirror, reason",
    [
        ("http://127.0.0.1:9/", "refused"),  # nothing listens on the discard port
        # a resolver that fails, or one that never answers (then the stall rule ends the wait)
        ("http://no-such-host.invalid/", "not known|name resolution|nodename|no answer within"),
    ],
)
def test_refused_and_unresolvable_mirrors_fail_in_one_sentence(
    tmp_path, monkeypatch, fast, mirror, reason
):
    message, took = download_fails(tmp_path, [mirror], monkeypatch, reason)
    assert took < 3 and f"{mirror}:" in message and "COURSE_DATA_DIR" in message


def test_wrong_content_and_a_missing_file_are_refused(tmp_path, monkeypatch, fast):
    def portal(self):  # a captive portal: 200 OK and a web page
        body = b"<html>please log in</html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    with server(portal) as url, server(serve_from(tmp_path / "nothing")) as empty:
        message, _ = download_fails(tmp_path, [url, empty], monkeypatch, "not the official file")
    assert "HTTP Error 404" in message


def test_a_full_disk_mid_download_is_named_and_leaves_nothing(tmp_path, monkeypatch, data_dir):
    real_open = open

    class Full:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, chunk):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(M, "open", lambda *a, **k: Full(real_open(*a, **k)), raising=False)
    with server(serve_from(Path(data_dir) / "MNIST" / "raw")) as url:
        message, _ = download_fails(tmp_path, [url], monkeypatch, "No space left on device")
    assert "cannot be downloaded there" in message and "could not be downloaded" not in message


def test_a_folder_that_cannot_be_written_is_named(tmp_path, monkeypatch):
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(M.tempfile, "mkdtemp", read_only)
    download_fails(tmp_path, ["http://127.0.0.1:9/"], monkeypatch, "Read-only file system")
    (tmp_path / "data").write_text("a file where the data folder should be")
    with pytest.raises(D.DataError, match="cannot be downloaded there .*Not a directory"):
        D.load_split(False, data_dir=tmp_path / "data", download=True)


@pytest.mark.slow
def test_a_download_is_checked_moved_into_place_and_reuses_the_mirror_that_answered(
    tmp_path, monkeypatch, data_dir, capfd
):
    monkeypatch.setattr(M, "STALL_S", 1.0)  # the silent mirror costs 1 s, once
    release = threading.Event()
    with (
        server(lambda self: release.wait(10)) as silent,
        server(serve_from(Path(data_dir) / "MNIST" / "raw")) as good,
    ):
        monkeypatch.setitem(M.MIRRORS, "MNIST", [silent, good])
        images, _ = D.load_split(False, data_dir=tmp_path, download=True)
        release.set()
    assert len(images) == 10000
    assert listing(tmp_path / "MNIST" / "raw") == sorted(f"{name}.gz" for name in FILES)
    err = capfd.readouterr().err
    # tried once, not once per file, and it failed once (lines counted apart: a warning printed
    # by another thread of the busy test process may land between them)
    assert err.count(f"from {silent}\n") == 1, err
    assert err.count("  failed: ") == 1, err
    assert err.count(f"from {good}\n  done: ") == 4 and "MNIST: train-images-idx3-ubyte, " in err


def copy_unpacked(data_dir: str, tmp_path: Path, name: str = "MNIST") -> Path:
    raw = tmp_path / name / "raw"
    raw.mkdir(parents=True)
    for fname in FILES:
        shutil.copy(Path(data_dir) / name / "raw" / fname, raw)
        (raw / fname).chmod(0o644)
    return raw


@pytest.mark.parametrize("name", ["MNIST", "FashionMNIST"])
def test_a_flipped_byte_in_an_unpacked_file_is_caught(tmp_path, data_dir, name):
    raw = copy_unpacked(data_dir, tmp_path, name)
    blob = bytearray((raw / "t10k-images-idx3-ubyte").read_bytes())
    blob[16 + 28 * 14 + 14] ^= 0xFF  # one pixel in the middle of the first image
    (raw / "t10k-images-idx3-ubyte").write_bytes(blob)
    with pytest.raises(D.DataError, match="t10k-images-idx3-ubyte is corrupted: its content"):
        D.load_split(False, name=name, data_dir=tmp_path, download=False)
    D.load_split(True, name=name, data_dir=tmp_path, download=False)  # the others are fine


@pytest.mark.slow
def test_a_recompressed_gz_with_the_right_content_is_accepted(tmp_path, data_dir):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for fname in FILES:  # recompressed: other bytes than torchvision's .gz, same content
        blob = (Path(data_dir) / "MNIST" / "raw" / fname).read_bytes()
        (raw / f"{fname}.gz").write_bytes(gzip.compress(blob, compresslevel=1, mtime=0))
    images, labels = D.load_split(False, data_dir=tmp_path, download=False)
    reference = D.load_split(False, data_dir=data_dir, download=False)
    assert torch.equal(images, reference[0]) and torch.equal(labels, reference[1])


@pytest.mark.parametrize(
    "damage, message",
    [
        ("truncated", "is truncated or corrupted: 100,000 bytes"),
        ("zeroed", "is corrupted: its content differs"),
        ("label 200", "is corrupted: its content differs"),
    ],
)
def test_a_damaged_unpacked_file_is_named(tmp_path, data_dir, damage, message):
    raw = copy_unpacked(data_dir, tmp_path)
    name = "t10k-labels-idx1-ubyte" if damage == "label 200" else "t10k-images-idx3-ubyte"
    blob = bytearray((raw / name).read_bytes())
    if damage == "truncated":
        blob = blob[:100_000]
    elif damage == "zeroed":
        blob = bytearray(len(blob))
    else:
        blob[8 + 17] = 200
    (raw / name).write_bytes(blob)
    with pytest.raises(D.DataError, match=f"{name} {message}"):
        D.load_split(False, data_dir=tmp_path)


def test_a_corrupted_gz_is_named(tmp_path, data_dir):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in FILES:
        shutil.copy(Path(data_dir) / "MNIST" / "raw" / f"{name}.gz", raw)
    gz = raw / "t10k-labels-idx1-ubyte.gz"
    gz.write_bytes(gz.read_bytes()[:-50])
    with pytest.raises(D.DataError, match="t10k-labels-idx1-ubyte.gz: the file is corrupted or"):
        D.load_split(False, data_dir=tmp_path)


@pytest.mark.slow
def test_a_truncated_gz_of_the_other_dataset_is_named(tmp_path, data_dir):
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for name in FILES:
        src = Path(data_dir) / "FashionMNIST" / "raw" / name
        with gzip.open(raw / f"{name}.gz", "wb", compresslevel=1) as fh:  # level 9 takes 10 s
            fh.write(src.read_bytes()[: 5000 if name.startswith("t10k-images") else None])
    with pytest.raises(D.DataError, match="t10k-images-idx3-ubyte.gz is truncated"):
        D.load_split(False, name="FashionMNIST", data_dir=tmp_path)
