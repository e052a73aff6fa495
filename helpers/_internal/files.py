"""Writing a file atomically: the one writer every helper and tool uses.

``write_atomic(path, content)`` writes a unique temporary file beside ``path``
(``.<name>.<pid>-<random>.tmp``), flushes it to disk and only then renames it over ``path``
(``os.replace`` is atomic). So a crash, Ctrl-C, ``kill`` or full disk mid-write leaves the
previous ``path`` intact and no temporary file; the temporary file of a write killed outright
(``kill -9``, power loss) is removed by the next write of the same ``path``; two processes never
share a temporary name; the new file gets normal permissions (0644 under umask 022); a full disk
raises :class:`WriteError` saying "no space left on device" and naming the file.

``content`` is text (UTF-8), bytes, or a function that writes into a binary file::

    write_atomic(path, json.dumps(data) + "\\n")
    write_atomic(path, lambda fh: torch.save(state, fh))
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

Content = str | bytes | Callable[[BinaryIO], object]
STALE_AFTER_S = 24 * 3600  # a temporary file this old is stale even if its pid is alive again
_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))


class WriteError(OSError):
    """A file could not be written; the message names it and says what to do. The previous
    version of the file, if any, is unchanged. ``errno`` is the operating system's code."""

    def __init__(self, code: int | None, message: str):
        super().__init__(message)  # one argument: str(err) is the sentence, without "[Errno N]"
        self.errno = code


def temp_path(path: str | os.PathLike, suffix: str = "") -> Path:
    """A unique temporary name beside ``path``, ``.<name>.<pid>-<random>.tmp<suffix>``, for a tool
    that writes the file itself (papermill writing a notebook as it runs); it is not created.
    :func:`clean_stale_temps` removes it once the process that chose it is gone."""
    path = Path(path)
    return path.parent / f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp{suffix}"


def _alive(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":  # on Windows os.kill(pid, 0) sends a Ctrl-C
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # someone else's process, or cannot tell: leave its file alone
    return True


def clean_stale_temps(path: str | os.PathLike) -> list[Path]:
    """Remove the temporary files that earlier, killed writes of ``path`` left; return them. One
    is stale when its process is gone or it is over a day old (on Windows: only the age)."""
    path = Path(path)
    pattern = re.compile(re.escape(f".{path.name}.") + r"(\d+)-[0-9a-f]+\.tmp(\.[A-Za-z0-9]+)?")
    removed = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        try:
            if match and (
                time.time() - entry.stat(follow_symlinks=False).st_mtime > STALE_AFTER_S
                or not _alive(int(match.group(1)))
            ):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:  # already gone (another process cleaned it), or not ours to remove
            pass
    return removed


def disk_full(err: BaseException | None) -> bool:
    """Whether ``err``, or an error it was raised from, is a full disk or an exhausted quota
    (``torch.save`` wraps the ``OSError`` of a failed write in a ``RuntimeError``)."""
    for _ in range(8):
        if err is None:
            return False
        if isinstance(err, OSError) and err.errno in _FULL:
            return True
        err = err.__cause__ or err.__context__
    return False


def write_atomic(path: str | os.PathLike, content: Content, *, encoding: str = "utf-8") -> Path:
    """Write ``content`` to ``path`` atomically (see the module's docstring); return ``path``.

    Missing parent folders are created. Raises :class:`WriteError` naming ``path`` for a full
    disk, a read-only or missing folder, a parent that is a file, or a ``path`` that is a
    folder; an error of a ``content`` function propagates, after the temporary file is removed.
    """
    path = Path(path)
    if path.is_dir():
        raise WriteError(errno.EISDIR, f"cannot write {path}: it is a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        why = (
            "a file is in the way of its folder"
            if err.errno in (errno.EEXIST, errno.ENOTDIR)
            else f"cannot create its folder ({err.strerror})"
        )
        raise WriteError(err.errno, f"cannot write {path}: {why}") from None
    clean_stale_temps(path)
    tmp = temp_path(path)
    try:
        # O_EXCL: never reuse a name; mode 0o666 minus the umask: a normal file, not mkstemp's 0600
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as err:
        raise WriteError(err.errno, f"cannot write {path}: {err.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            if callable(content):
                content(fh)
            else:
                fh.write(content.encode(encoding) if isinstance(content, str) else content)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _sync_folder(path.parent)  # the rename itself reaches the disk (a power cut, a crash)
    except BaseException as err:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if disk_full(err):
            raise WriteError(
                errno.ENOSPC,
                f"cannot write {path}: no space left on device; free some space and run again "
                "(the previous version of the file, if any, is unchanged)",
            ) from err
        if isinstance(err, OSError) and not isinstance(err, WriteError):
            raise WriteError(err.errno, f"cannot write {path}: {err.strerror or err}") from err
        raise
    return path


def _sync_folder(folder: Path) -> None:
    """fsync a folder, so that a rename in it survives a power cut; a no-op where folders cannot
    be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse to fsync a folder: the rename is done anyway
        pass
    finally:
        os.close(fd)
