"""The MNIST and Fashion-MNIST files: found, downloaded, read and checked (``helpers.data`` uses
this; a student never needs to open it).

* Files are looked for in torchvision's layout, ``<root>/<name>/raw/<file>`` or ``<file>.gz``;
  with all four present nothing touches the network, and a read-only folder works.
* A missing file is downloaded into a temporary folder and moved into place only when complete
  and checked, so a failed download leaves nothing behind, not even the folders it created.
  Each download says on stderr what it fetches and from where. A mirror that delivers less than
  ``SLOW_BYTES`` in ``STALL_S`` seconds (silent, a trickle, a name that never resolves), or
  whose file does not unpack to the official content, is given up and the next one tried; every
  wait is bounded by that rule, as the network is read in a thread. A full disk or a read-only
  folder is named as such, not blamed on the mirrors.
* Every file is checked when read: its length, then the SHA-256 of its unpacked bytes against
  the official data set's, so a ``.gz`` the user recompressed is accepted and a flipped byte is
  not. A bad file raises :class:`DataError` naming it.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import queue
import shutil
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zlib
from functools import cache
from pathlib import Path

import torch

FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
# SHA-256 of each unpacked file, whatever the compression (MNIST's match torchvision's .gz files
# once unpacked; Fashion-MNIST's are those of Zalando's release).
CONTENT_SHA256 = {
    "MNIST": (
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
    "FashionMNIST": (
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ),
}
# Where to download the .gz files from, in order (torchvision's lists).
MIRRORS = {
    "MNIST": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ],
    "FashionMNIST": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
}
STALL_S = 10.0  # a mirror that delivers less than SLOW_BYTES in this many seconds has failed
SLOW_BYTES = 64_000  # (under 6.4 kB/s, a 10 MB file would take half an hour)
MAX_BYTES = 64_000_000  # more than this is not an MNIST file (the largest .gz is 26 MB)


class DataError(RuntimeError):
    """The data set is missing, incomplete or corrupted; the message says which file and what to
    do."""


class _MirrorFailed(Exception):
    """This mirror did not deliver the file; the next one is tried."""


def _how_to_provide(name: str, raw: Path) -> str:
    return (
        f"Put the four {name} files ({', '.join(FILES)}, each unpacked or as .gz) into {raw}, "
        f"or point COURSE_DATA_DIR (or data_dir=...) at a folder that has {name}/raw/ with them."
    )


def find_files(name: str, root: Path, download: bool = True) -> dict[str, Path]:
    """The path to read for each of the four files of ``name`` under ``root`` (an unpacked file
    before its ``.gz``), downloading the missing ones unless ``download`` is False."""
    if name not in CONTENT_SHA256:
        raise ValueError(f"name must be one of {list(CONTENT_SHA256)}, got {name!r}")
    raw = root / name / "raw"
    found = {f: next((p for p in (raw / f, raw / f"{f}.gz") if p.is_file()), None) for f in FILES}
    missing = [f for f, path in found.items() if path is None]
    if missing and not download:
        raise DataError(
            f"{name} not found: {', '.join(missing)} missing from {raw} (download=False). "
            + _how_to_provide(name, raw)
        )
    if missing:
        _download(name, raw, missing)
        found.update({f: raw / (f + ".gz") for f in missing})
    return found


def _download(name: str, raw: Path, missing: list[str]) -> None:
    """Download the ``.gz`` of each missing file into a temporary folder, then move them all in.
    On any failure nothing is left: no partial file, no temporary folder, no new folder."""
    _say(f"{name}: {', '.join(missing)} missing from {raw}; downloading")
    created: list[Path] = []
    tmp = None
    try:
        for folder in reversed([raw, *raw.parents]):
            if not folder.exists():
                folder.mkdir()
                created.append(folder)
        tmp = Path(tempfile.mkdtemp(prefix=".download-", dir=raw))
        mirrors = list(MIRRORS[name])
        for fname in missing:
            mirror = _fetch_from_any(name, fname, mirrors, tmp, raw)
            mirrors.remove(mirror)
            mirrors.insert(0, mirror)  # the next file: first from the mirror that answered
        for fname in missing:
            os.replace(tmp / (fname + ".gz"), raw / (fname + ".gz"))
        created = []  # complete: keep the folders
    except OSError as err:  # this machine, not the network: a full disk, a read-only folder
        raise DataError(
            f"{name} {', '.join(missing)} missing from {raw} and cannot be downloaded there "
            f"({err.strerror or err}). " + _how_to_provide(name, raw)
        ) from None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        for folder in reversed(created):
            try:
                folder.rmdir()
            except OSError:  # not empty after all (another process wrote there): keep it
                pass


def _fetch_from_any(name: str, fname: str, mirrors: list[str], tmp: Path, raw: Path) -> str:
    """Download ``fname``'s ``.gz`` into ``tmp`` from the first mirror that delivers the official
    content; return that mirror."""
    errors, gz = [], fname + ".gz"
    for mirror in mirrors:
        _say(f"Downloading {name} {gz} from {mirror}")
        start = time.monotonic()
        try:
            size = _fetch(mirror + gz, tmp / gz)
            if _content_sha256(tmp / gz) != CONTENT_SHA256[name][FILES.index(fname)]:
                raise _MirrorFailed(f"its {size:,} bytes are not the official file")
        except _MirrorFailed as err:
            _say(f"  failed: {err}")
            errors.append(f"{mirror}: {err}")
            (tmp / gz).unlink(missing_ok=True)
            continue
        _say(f"  done: {size / 1e6:.1f} MB in {time.monotonic() - start:.1f} s")
        return mirror
    raise DataError(
        f"{name} file {fname} is missing from {raw} and could not be downloaded "
        f"({'; '.join(errors) or 'no mirror'}). " + _how_to_provide(name, raw)
    )


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)  # stderr: progress, not the notebook's results


def _fetch(url: str, dest: Path) -> int:
    """Write what ``url`` sends into ``dest``; return its size. A network problem or a stall
    (less than ``SLOW_BYTES`` in ``STALL_S`` seconds) raises ``_MirrorFailed``; an error writing
    ``dest`` (a full disk) propagates as the ``OSError`` it is."""
    chunks: queue.Queue = queue.Queue()
    stop = threading.Event()

    def receive() -> None:  # in a thread: DNS, connecting and reading cannot block the caller
        try:
            request = urllib.request.Request(url, headers={"User-Agent": "pytorch-mnist-course"})
            with urllib.request.urlopen(request, timeout=STALL_S) as response:
                while not stop.is_set() and (chunk := response.read1(1 << 16)):
                    chunks.put(chunk)
            chunks.put(None)
        except Exception as err:  # URLError, HTTPError, timeouts, resets: the mirror's problem
            chunks.put(err)

    threading.Thread(target=receive, daemon=True).start()
    size, window_start, window_bytes = 0, time.monotonic(), 0
    try:
        with open(dest, "wb") as fh:
            while True:
                try:
                    chunk = chunks.get(timeout=max(0.0, window_start + STALL_S - time.monotonic()))
                except queue.Empty:
                    slow = f"less than {SLOW_BYTES // 1000} kB in" if size else "no answer within"
                    raise _MirrorFailed(f"{slow} {STALL_S:g} s") from None
                if isinstance(chunk, Exception):
                    raise _MirrorFailed(_why(chunk))
                if chunk is None:
                    break
                fh.write(chunk)
                size, window_bytes = size + len(chunk), window_bytes + len(chunk)
                if size > MAX_BYTES:
                    raise _MirrorFailed(f"it sent over {MAX_BYTES // 1_000_000} MB, not the file")
                if window_bytes >= SLOW_BYTES:
                    window_start, window_bytes = time.monotonic(), 0
    finally:
        stop.set()
    return size


def _content_sha256(gz: Path) -> str | None:
    """The SHA-256 of what ``gz`` unpacks to; None if it is not a whole gzip file."""
    try:
        with gzip.open(gz, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()
    except (EOFError, gzip.BadGzipFile, zlib.error):
        return None


def _why(err: Exception) -> str:
    """One short reason for a failed download."""
    if isinstance(err, TimeoutError) or isinstance(getattr(err, "reason", None), TimeoutError):
        return f"no answer within {STALL_S:g} s"
    return str(err.reason if type(err) is urllib.error.URLError else err) or type(err).__name__


def read_idx(path: Path, name: str) -> torch.Tensor:
    """Read one IDX file of ``name`` (plain or gzipped) into a uint8 tensor, checking its length
    and the SHA-256 of its unpacked bytes against the official file's."""
    try:
        with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as fh:
            blob = fh.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise DataError(
            f"cannot read {path}: the file is corrupted or truncated ({err}); delete it and "
            "provide it again."
        ) from None
    except OSError as err:
        raise DataError(f"cannot read {path}: {err.strerror or err}.") from None
    fname = path.name.removesuffix(".gz")
    images, count = "images" in fname, 60_000 if fname.startswith("train") else 10_000
    header, want = (16, 16 + count * 28 * 28) if images else (8, 8 + count)
    if len(blob) != want:
        raise DataError(
            f"{path} is truncated or corrupted: {len(blob):,} bytes (unpacked) where the "
            f"official {name} {fname} has {want:,}; delete it and provide it again."
        )
    if hashlib.sha256(blob).hexdigest() != CONTENT_SHA256[name][FILES.index(fname)]:
        raise DataError(
            f"{path} is corrupted: its content differs from the official {name} {fname} "
            "(its SHA-256 does not match); delete it and provide it again."
        )
    data = torch.frombuffer(bytearray(blob), dtype=torch.uint8)[header:]
    return data.view(count, 28, 28) if images else data


class _CheckedFiles:
    """Make a torchvision MNIST-style dataset read through ``helpers.data.load_split`` (gz or
    unpacked, checked). Indexing, transforms and attributes stay torchvision's.

    The one place the course touches torchvision internals: ``MNIST.__init__`` calls the private
    ``_check_exists`` and ``_load_data``, and torchvision has no public hook to read ``.gz``
    files in place (its own path unpacks them, which fails in a read-only folder, and checks
    nothing). If a torchvision release renames them, only these two methods change.
    """

    def _check_exists(self) -> bool:  # called by torchvision before loading: find_files did it
        return True

    def _load_data(self) -> tuple[torch.Tensor, torch.Tensor]:
        from ..data import load_split

        return load_split(self.train, type(self).__name__, self.root, download=False)


@cache
def dataset_class(name: str) -> type:
    """torchvision's class for ``name``, reading through ``helpers.data.load_split``."""
    import torchvision.datasets  # here, not at the top: it takes about 2 s

    base = getattr(torchvision.datasets, name)
    return type(name, (_CheckedFiles, base), {"__module__": __name__})


def __getattr__(attribute: str) -> type:
    """``MNIST`` and ``FashionMNIST`` by name, so that pickle finds the classes (a DataLoader's
    worker processes started with spawn, as on Windows and macOS, unpickle the dataset)."""
    if attribute in CONTENT_SHA256:
        return dataset_class(attribute)
    raise AttributeError(f"module {__name__!r} has no attribute {attribute!r}")
