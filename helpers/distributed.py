"""Data-parallel training with ``torch.distributed``: the small pieces notebook 08 reuses.

* inside a process that ``torchrun`` started: :func:`init_distributed` (gloo on the CPU, nccl on
  CUDA, with a short timeout), :func:`print0` (log from rank 0 only), :func:`shard_indices` (a
  ``DistributedSampler`` shard for one epoch) and :func:`cleanup`;
* in the notebook or a test: :func:`launch`, which runs a script under ``torchrun`` in a
  subprocess, with ``OMP_NUM_THREADS`` set per process and a hard timeout, and returns the JSON
  the script wrote. A failed or hung job becomes one :class:`DistributedRunError`.

No process pool and no all-reduce of our own: the collectives are PyTorch's.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import DistributedSampler

from .checks import check_choice, check_positive_int, check_type

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ERROR_LINE = r"(?:\w+\.)*\w*(?:Error|Exception|Interrupt)\b:.*"  # "ValueError: bad input"
TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


class DistributedRunError(RuntimeError):
    """A ``torchrun`` job failed or ran past its timeout; the message says which rank and why."""


def init_distributed(
    backend: str = "auto", timeout_s: float = 30.0
) -> tuple[int, int, torch.device]:
    """Join the process group that ``torchrun`` set up; return ``(rank, world_size, device)``.

    ``backend="auto"`` picks nccl when CUDA is available (each process then drives the GPU
    ``cuda:LOCAL_RANK``) and gloo otherwise (the CPU). ``timeout_s`` bounds the rendezvous and
    every collective: a rank that waits longer for its peers fails instead of hanging.
    """
    check_choice("backend", backend, ("auto", "gloo", "nccl"))
    check_type("timeout_s", timeout_s, float)
    if timeout_s <= 0:
        raise ValueError(f"timeout_s must be > 0, got {timeout_s!r}")
    missing = [name for name in TORCHRUN_ENV if name not in os.environ]
    if missing:
        raise RuntimeError(
            f"init_distributed needs the variables torchrun sets ({', '.join(missing)} missing): "
            "launch the script with torchrun --standalone --nproc_per_node=N script.py"
        )
    if backend == "auto":
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        if not torch.cuda.is_available():
            raise ValueError("backend='nccl' needs CUDA GPUs; use 'gloo' on the CPU")
        device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    dist.init_process_group(backend, timeout=timedelta(seconds=timeout_s))
    return dist.get_rank(), dist.get_world_size(), device


def cleanup() -> None:
    """Leave the process group (nothing to do if there is none).

    Garbage held in reference cycles is collected first, while the group still exists, rather
    than at the interpreter's exit. Without this collection, 6 of 82 two-rank gloo launches
    (torch 2.14) ended in "terminate called without an active exception" (SIGABRT) during the
    interpreter's exit, after their work and this function were done; with it, none of 130 did.
    """
    if dist.is_available() and dist.is_initialized():
        gc.collect()
        dist.destroy_process_group()


def is_rank0() -> bool:
    """True on rank 0, and in a process that is not part of a process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank() == 0
    return int(os.environ.get("RANK", "0")) == 0


def print0(*args: Any, **kwargs: Any) -> None:
    """``print`` on rank 0 only (flushed at once), so N processes log one line, not N."""
    if is_rank0():
        print(*args, **{"flush": True, **kwargs})


def shard_indices(
    n: int, *, rank: int, world_size: int, epoch: int = 0, seed: int = 0, shuffle: bool = True
) -> torch.Tensor:
    """The indices of ``range(n)`` that ``rank`` trains on in ``epoch``, as ``DistributedSampler``
    deals them.

    Every rank shuffles the same permutation (seeded by ``seed + epoch``, the sampler's
    ``set_epoch``) and takes every ``world_size``-th index from position ``rank`` on; ``n`` is
    padded by repeating indices so that all ranks get the same count, hence the same number of
    steps (a rank with one step more would wait for its peers' gradients forever).
    """
    check_positive_int("n", n)
    check_positive_int("world_size", world_size)
    check_type("rank", rank, int)
    if not 0 <= rank < world_size:
        raise ValueError(f"rank must be in [0, {world_size - 1}], got {rank!r}")
    check_positive_int("epoch", epoch, allow_zero=True)
    check_type("seed", seed, int)
    sampler = DistributedSampler(
        range(n), num_replicas=world_size, rank=rank, shuffle=shuffle, seed=seed
    )
    sampler.set_epoch(epoch)
    return torch.tensor(list(sampler), dtype=torch.long)


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
    check_type("script", script, (str, os.PathLike))
    check_type("args", args, (list, tuple))
    check_positive_int("nproc", nproc)
    threads = max(1, (os.cpu_count() or 1) // nproc) if threads is None else threads
    check_positive_int("threads", threads)
    check_type("timeout_s", timeout_s, float)
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
