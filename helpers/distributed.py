"""The small pieces of data-parallel training that notebook 08 reuses inside a process that
``torchrun`` started (``helpers.launch`` starts the job). The collectives are PyTorch's."""

from __future__ import annotations

import gc
import os
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist

TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


def init_distributed(
    backend: str = "auto", timeout_s: float = 30.0
) -> tuple[int, int, torch.device]:
    """Join the process group that ``torchrun`` set up: ``(rank, world_size, device)``. ``"auto"``
    picks nccl and the GPU ``cuda:LOCAL_RANK`` where there is CUDA, else gloo on the CPU. A rank
    that waits for its peers longer than ``timeout_s`` fails instead of hanging."""
    missing = [name for name in TORCHRUN_ENV if name not in os.environ]
    if missing:
        raise RuntimeError(
            f"init_distributed needs the variables torchrun sets ({', '.join(missing)} missing): "
            "launch the script with torchrun --standalone --nproc_per_node=N script.py"
        )
    if backend == "auto":
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    dist.init_process_group(backend, timeout=timedelta(seconds=timeout_s))
    return dist.get_rank(), dist.get_world_size(), device


def cleanup() -> None:
    """Leave the process group, if there is one."""
    if dist.is_available() and dist.is_initialized():
        # Collect the garbage in reference cycles while the group exists, not at exit: without
        # it, 6 of 82 two-rank gloo launches (torch 2.14) aborted at exit (SIGABRT); 0 of 130 with.
        gc.collect()
        dist.destroy_process_group()


def print0(*args: Any, **kwargs: Any) -> None:
    """``print`` on rank 0 only (or outside a process group), flushed, so N processes log once."""
    in_group = dist.is_available() and dist.is_initialized()
    if (dist.get_rank() if in_group else int(os.environ.get("RANK", "0"))) == 0:
        print(*args, **{"flush": True, **kwargs})
