"""Data-parallel training of the course's MLP with torch.distributed (notebook 08).

Launch it with torchrun, which starts one process per rank and tells each its RANK and WORLD_SIZE:

    torchrun --standalone --nproc_per_node=2 scripts/ddp_train.py --task train --epochs 3

Tasks:
  gradcheck  one step on one batch: gradients averaged by hand with dist.all_reduce, by
             DistributedDataParallel, and by one process on the combined batch; rank 0 writes the
             largest differences.
  train      the source article's recipe (Adam, lr 1e-3, global batch 64) with a
             DistributedSampler shard per rank; rank 0 logs, evaluates on the test set and writes
             an atomic checkpoint after every epoch.

gloo on the CPU, nccl when there are CUDA GPUs (one per process). Set OMP_NUM_THREADS per process.
The functions live in this file, not in a notebook cell: each rank is a fresh Python process that
imports this file; it cannot receive functions defined in a notebook's kernel.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.elastic.multiprocessing.errors import record
from torch.nn.parallel import DistributedDataParallel as DDP

from helpers import InMemoryLoader, Net, adam, evaluate, fast_loaders, mnist_splits
from helpers.checkpoints import save_checkpoint
from helpers.distributed import cleanup, init_distributed, print0, shard_indices


def average_gradients(model: nn.Module) -> None:
    """All-reduce by hand: sum every gradient over the ranks, then divide by their number."""
    world_size = dist.get_world_size()
    for p in model.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
            p.grad /= world_size


def load_function(spec: str) -> Callable:
    """``path/to/file.py:name`` -> the function ``name`` defined in that file."""
    path, _, name = spec.rpartition(":")
    module_spec = importlib.util.spec_from_file_location("user_code", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return getattr(module, name)


def max_diff(a: nn.Module, b: nn.Module) -> float:
    """Largest |difference| between the gradients of two models, over all ranks."""
    local = max(
        float((p.grad - q.grad).abs().max()) for p, q in zip(a.parameters(), b.parameters())
    )
    value = torch.tensor(local, device=next(a.parameters()).device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return float(value)


def gradcheck(args: argparse.Namespace, rank: int, world: int, device: torch.device) -> dict:
    """One batch, three ways to get its gradient; the differences, as seen over all ranks."""
    splits = mnist_splits(args.data_dir)
    images, labels = splits["train"][0][: args.batch_size], splits["train"][1][: args.batch_size]
    x, y = next(iter(InMemoryLoader(images, labels, batch_size=args.batch_size, device=device)))
    if args.batch_size % world:
        raise ValueError(f"--batch-size {args.batch_size} must divide by {world} ranks")
    xs, ys = x.chunk(world)[rank], y.chunk(world)[rank]  # this rank's shard of the batch
    torch.manual_seed(args.seed)
    model = Net().to(device)  # the same seed on every rank: the same initial weights
    loss_fn = nn.CrossEntropyLoss()  # mean over the batch: the shards' means average to it

    full = copy.deepcopy(model)  # one process, the combined batch
    loss_fn(full(x), y).backward()
    by_hand = copy.deepcopy(model)  # this rank's shard, then the hand-written all-reduce
    loss_fn(by_hand(xs), ys).backward()
    (load_function(args.grad_fn) if args.grad_fn else average_gradients)(by_hand)
    ddp = DDP(copy.deepcopy(model))  # DDP all-reduces inside backward()
    loss_fn(ddp(xs), ys).backward()
    step = torch.optim.SGD(ddp.parameters(), lr=0.1)
    diffs = {"ddp": max_diff(ddp.module, full), "by_hand": max_diff(by_hand, full)}
    step.step()  # one step: the weights must stay identical on every rank
    flat = torch.cat([p.detach().flatten() for p in ddp.parameters()])
    first = flat.clone()
    dist.broadcast(first, src=0)
    drift = (flat - first).abs().max()
    dist.all_reduce(drift, op=dist.ReduceOp.MAX)
    grad_norm = torch.cat([p.grad.flatten() for p in full.parameters()]).norm()
    return {
        "max_abs_diff_ddp": diffs["ddp"],
        "max_abs_diff_by_hand": diffs["by_hand"],
        "max_abs_weight_diff_across_ranks_after_step": float(drift),
        "grad_norm": float(grad_norm),
        "shard_size": len(xs),
    }


def train(args: argparse.Namespace, rank: int, world: int, device: torch.device) -> dict:
    """The recipe under DDP: shard with DistributedSampler, log/evaluate/checkpoint on rank 0."""
    if args.batch_size % world:
        raise ValueError(f"--batch-size {args.batch_size} must divide by {world} ranks")
    splits = mnist_splits(args.data_dir)
    images, labels = splits["train"]
    if args.subset:
        images, labels = images[: args.subset], labels[: args.subset]
    test = fast_loaders({"test": splits["test"]}, device=device)["test"]
    torch.manual_seed(args.seed)
    model = DDP(Net().to(device))  # DDP also copies rank 0's weights to every rank
    optimizer = adam(model, lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    history: dict[str, list[float]] = {"train_loss": [], "test_accuracy": [], "seconds": []}
    for epoch in range(args.epochs):
        idx = shard_indices(len(labels), rank=rank, world_size=world, epoch=epoch, seed=args.seed)
        shard = InMemoryLoader(images[idx], labels[idx], batch_size=args.batch_size // world,
                               device=device)  # fmt: skip
        start, total = time.perf_counter(), torch.zeros((), device=device)
        for step, (x, y) in enumerate(shard, 1):
            if step == args.crash_step and rank == args.crash_rank:
                raise RuntimeError(f"simulated crash on rank {rank} at step {step}")
            loss = loss_fn(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # gradients are averaged over the ranks here
            optimizer.step()
            total += loss.detach()
        seconds = time.perf_counter() - start
        dist.all_reduce(total)  # the mean training loss over all ranks, for the log
        history["train_loss"].append(float(total) / (step * world))
        history["seconds"].append(seconds)
        if rank == 0:  # the weights are the same everywhere: evaluate and save once
            history["test_accuracy"].append(evaluate(model.module, test)["accuracy"])
            if args.checkpoint:
                save_checkpoint(args.checkpoint, model=model.module, optimizer=optimizer,
                                epoch=epoch + 1)  # fmt: skip
            print0(f"epoch {epoch + 1}: train loss {history['train_loss'][-1]:.4f}, test "
                   f"accuracy {history['test_accuracy'][-1]:.4f}, {seconds:.1f} s")  # fmt: skip
        dist.barrier()  # the others wait until rank 0's checkpoint is on disk
    train_seconds = sum(history["seconds"])
    return {
        "history": history,
        "test_accuracy": history["test_accuracy"][-1] if rank == 0 else None,
        "train_seconds": train_seconds,
        # the median epoch: robust to the first epoch's warm-up and to a busy machine
        "samples_per_s": len(idx) * world / statistics.median(history["seconds"]),
        "steps_per_epoch": step,
        "samples_per_rank": len(idx),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=("gradcheck", "train"), default="train")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64, help="global: split over ranks")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument(
        "--subset", type=int, default=0, help="train on the first N images (0: all)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--backend", choices=("auto", "gloo", "nccl"), default="auto")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds a collective may wait")
    parser.add_argument("--checkpoint", default=None, help="file rank 0 saves to after each epoch")
    parser.add_argument("--grad-fn", default=None, help="file.py:name replacing average_gradients")
    parser.add_argument("--crash-rank", type=int, default=-1, help="rank that raises (a test)")
    parser.add_argument("--crash-step", type=int, default=3, help="step at which it raises")
    parser.add_argument("--out", required=True, help="JSON file rank 0 writes the results to")
    args = parser.parse_args(argv)
    for name in ("epochs", "batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    return args


@record  # a failing rank's traceback goes into torchrun's error report
def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    rank, world, device = init_distributed(args.backend, args.timeout)
    try:
        result = (gradcheck if args.task == "gradcheck" else train)(args, rank, world, device)
        result.update(world_size=world, backend=dist.get_backend(), device=str(device),
                      threads=torch.get_num_threads(), task=args.task)  # fmt: skip
        if rank == 0:
            Path(args.out).write_text(json.dumps(result, indent=2))
    finally:
        cleanup()


if __name__ == "__main__":
    main()  # an error propagates from here: torchrun reports it, and the exit code is 1
    # Done, output written, process group left: exit without the interpreter's finalization.
    # With torch 2.14 and gloo, some ranks aborted during it ("terminate called without an
    # active exception", SIGABRT or SIGSEGV) after their work was done, failing the job.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
