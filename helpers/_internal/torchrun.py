"""Running a script under ``torchrun`` from a notebook or a test, and reporting how it failed.

:func:`launch` starts ``torchrun`` in a subprocess of its own session, with ``OMP_NUM_THREADS``
set per rank and a hard timeout, and returns the JSON rank 0 wrote. A failed or hung job becomes
one :class:`DistributedRunError` that names the rank that failed first and its error, read from
torchrun's report.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from .paths import ROOT as PROJECT_ROOT

ERROR_LINE = r"(?:\w+\.)*\w*(?:Error|Exception|Interrupt)\b:.*"  # "ValueError: bad input"


class DistributedRunError(RuntimeError):
    """A ``torchrun`` job failed or ran past its timeout; the message says which rank and why."""


def _failure(stderr: str) -> str:
    """The rank that failed first and its error, from the "Root Cause" part of torchrun's report,
    else from the rank's own traceback, else the exit code (with the signal's name and what a
    native crash printed) or the last line of stderr."""
    root = stderr.rpartition("Root Cause")[2] if "Root Cause" in stderr else stderr
    rank = re.search(r"^\s*rank\s*:\s*(\d+)", root, re.M)
    errors = re.findall(rf"^\s*({ERROR_LINE})$", root, re.M)
    errors = [e.strip() for e in errors if "ChildFailedError" not in e]
    if rank and not errors:  # a script without @record: the rank's own traceback, "[rank1]: ..."
        errors = re.findall(rf"^\[rank{rank.group(1)}\]:\s*({ERROR_LINE})$", stderr, re.M)
    if not errors:  # or an unprefixed traceback printed before torchrun's report
        found = re.findall(rf"^({ERROR_LINE})$", stderr.partition("ChildFailedError")[0], re.M)
        errors = found[:1]
    code = re.search(r"^\s*exitcode\s*:\s*(-?\d+)", root, re.M)
    if errors:
        what = errors[-1]
    elif code:  # no Python traceback: a negative code is the signal that ended the rank
        what = f"exit code {code.group(1)}"
        number = int(code.group(1))
        if number < 0 and -number in signal.valid_signals():
            what += f" ({signal.Signals(-number).name})"
        # what a native crash printed: C++'s "what():" line of an uncaught exception, or Python's
        # "Fatal Python error" (an abort or a segfault leaves no Python traceback)
        native = re.findall(r"^.*?(what\(\):.*|Fatal Python error:.*)$", stderr, re.M)
        if native:
            what += f": {native[0].strip()}"
    else:
        what = (stderr.strip().splitlines() or ["no output"])[-1].strip()
    return (f"rank {rank.group(1)} failed first: " if rank else "") + what


def _stop(proc: subprocess.Popen) -> None:
    """End a torchrun job and every rank it started (each rank runs in a session of its own).

    SIGTERM first: torchrun passes it on to its ranks and waits for them. Whatever is still
    alive after a grace period gets SIGKILL.
    """
    try:
        import psutil  # installed with Jupyter's kernel; without it torchrun's own cleanup is used

        ranks = psutil.Process(proc.pid).children(recursive=True)
    except Exception:
        ranks = []
    proc.send_signal(signal.SIGTERM)
    try:
        proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    for rank in ranks:
        with contextlib.suppress(Exception):
            rank.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.communicate(timeout=10)


def launch(
    script: str | os.PathLike,
    args: list[str] | tuple[str, ...] = (),
    *,
    nproc: int = 2,
    threads: int | None = None,
    timeout_s: float = 60.0,
) -> dict[str, Any]:
    """Run ``torchrun --standalone --nproc_per_node=nproc script args --out FILE``; return the
    JSON that rank 0 wrote to FILE, with the job's rank-0 log under ``"log"``.

    ``--standalone`` lets torchrun pick a free port on this machine (never a fixed one).
    Each process gets ``OMP_NUM_THREADS=threads`` (default: this machine's cores divided by
    ``nproc``, at least 1) so N processes do not fight over the same cores, and ``PYTHONPATH``
    starts with the project root so the script imports ``helpers``. The job runs in its own
    session; past ``timeout_s`` all of it is stopped. A non-zero exit or a timeout raises
    :class:`DistributedRunError` naming the failing rank and its error.
    """
    threads = max(1, (os.cpu_count() or 1) // nproc) if threads is None else threads
    if not Path(script).is_file():
        raise FileNotFoundError(f"script must be an existing file, got {str(script)!r}")
    path = os.pathsep.join([str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(":")
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": path}
    with tempfile.TemporaryDirectory(prefix="torchrun-") as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
        cmd += [f"--nproc_per_node={nproc}", str(script), *map(str, args), "--out", str(out)]
        proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True,
        )  # fmt: skip
        try:
            stdout, stderr = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _stop(proc)
            raise DistributedRunError(
                f"torchrun ({nproc} processes) did not finish within {timeout_s} s and was "
                "stopped: a rank is stuck (waiting for a peer, or far slower than expected)"
            ) from None
        except BaseException:  # Ctrl-C in the notebook: stop the job too
            _stop(proc)
            raise
        if proc.returncode != 0:
            raise DistributedRunError(
                f"torchrun ({nproc} processes) exited with code {proc.returncode}: "
                + _failure(stderr)
            )
        if not out.is_file():
            raise DistributedRunError(f"{Path(script).name} finished but rank 0 wrote no results")
        result = json.loads(out.read_text())
    result["log"] = stdout
    return result
