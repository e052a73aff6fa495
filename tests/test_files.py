"""helpers._internal.files.write_atomic: the one atomic writer (text, bytes, callback), normal
permissions, no stray temporary files on any error, stale ones of a killed write cleaned, a full
disk named."""

from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

import helpers._internal.files
from helpers._internal.files import WriteError, clean_stale_temps, write_atomic


def test_text_bytes_and_callback_with_normal_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        a = write_atomic(tmp_path / "sub" / "a.txt", "héllo\n")  # creates the folder
        b = write_atomic(tmp_path / "b.bin", b"\x00\x01")
        c = write_atomic(tmp_path / "c.bin", lambda fh: fh.write(b"streamed"))
    finally:
        os.umask(old)
    assert a.read_text(encoding="utf-8") == "héllo\n" and b.read_bytes() == b"\x00\x01"
    assert c.read_bytes() == b"streamed"
    for path in (a, b, c):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644  # not mkstemp's private 0600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.bin", "c.bin", "sub"]


@pytest.mark.parametrize("fault", [KeyboardInterrupt, ValueError])
def test_an_error_mid_write_keeps_the_previous_file_and_leaves_no_temporary(tmp_path, fault):
    path = write_atomic(tmp_path / "r.json", "old")

    def half(fh):
        fh.write(b"half a fi")
        raise fault("interrupted")

    with pytest.raises(fault):
        write_atomic(path, half)
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["r.json"]


def test_a_full_disk_names_the_file_and_says_so(tmp_path, monkeypatch):
    path = write_atomic(tmp_path / "r.json", "old")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(helpers._internal.files.os, "fsync", full)
    with pytest.raises(WriteError) as err:
        write_atomic(path, "new")
    assert str(err.value).startswith(f"cannot write {path}: no space left on device")
    assert err.value.errno == errno.ENOSPC and isinstance(err.value, OSError)
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["r.json"]


def test_paths_that_cannot_be_written_give_one_sentence(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(WriteError, match="a file is in the way of its folder"):
        write_atomic(tmp_path / "file" / "r.json", "x")
    with pytest.raises(WriteError, match="it is a folder"):
        write_atomic(tmp_path, "x")


def test_temporary_names_are_unique_per_write_and_process(tmp_path, monkeypatch):
    names = []
    real_open = os.open

    def spy(name, *args, **kwargs):
        if Path(name).is_dir() is False:  # the folder is opened too, to fsync it
            names.append(Path(name).name)
        return real_open(name, *args, **kwargs)

    monkeypatch.setattr(helpers._internal.files.os, "open", spy)
    for _ in range(3):
        write_atomic(tmp_path / "r.json", "x")
    assert len(set(names)) == 3 and all(f".{os.getpid()}-" in n for n in names)


def test_a_killed_write_leaves_a_temporary_that_the_next_write_removes(tmp_path):
    target = tmp_path / "ckpt.pt"
    files_py = Path(helpers._internal.files.__file__)
    script = (
        "import importlib.util, sys, time\n"
        f"spec = importlib.util.spec_from_file_location('files', {str(files_py)!r})\n"
        "files = importlib.util.module_from_spec(spec); spec.loader.exec_module(files)\n"
        "def slow(fh):\n"
        "    fh.write(b'x' * 100000); fh.flush(); print('writing', flush=True); time.sleep(60)\n"
        f"files.write_atomic({str(target)!r}, slow)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    stale = [p.name for p in tmp_path.iterdir()]
    assert len(stale) == 1 and stale[0].startswith(".ckpt.pt.") and not target.exists()
    # another process's live temporary file is left alone
    live = tmp_path / f".ckpt.pt.{os.getppid()}-abcd.tmp"
    live.write_bytes(b"in progress")
    write_atomic(target, b"whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["ckpt.pt", live.name])
    old = time.time() - helpers._internal.files.STALE_AFTER_S - 60
    os.utime(live, (old, old))  # a day old: stale whatever its pid
    assert clean_stale_temps(target) == [live]
