"""Data-parallel training of the course's MLP with torch.distributed (notebook 08).

Launch it with torchrun, which starts one process per rank and tells each its RANK, WORLD_SIZE
and LOCAL_RANK:

    torchrun --standalone --nproc_per_node=2 scripts/ddp_train.py --epochs 3 --out run.json

Every rank runs this whole file. It joins the process group, builds the model from the same seed
and wraps it in DistributedDataParallel (DDP), which copies rank 0's weights to every rank and
averages the gradients inside backward(). A DistributedSampler deals each rank its own part of
every epoch, reshuffled by set_epoch; the global batch (--batch-size) is split over the ranks.
Rank 0 alone evaluates, logs, saves the checkpoint (with the history so far) after every epoch
and writes the results. --resume continues from such a checkpoint: every rank loads it onto its
own device. --crash-rank makes one rank raise on purpose, to see how the job fails, and
--ending names a file where rank 0 writes how it ended.

gloo on the CPU, nccl on CUDA GPUs (one per rank). Give each process its share of the CPU cores
with OMP_NUM_THREADS. The code lives in a file, not in a notebook cell, because torchrun starts
every rank as a fresh Python process that runs this file.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import os
import signal
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.elastic.multiprocessing.errors import record
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from helpers import MNIST_MEAN, MNIST_STD, Net, adam, evaluate, fast_loaders, mnist_splits
from helpers.checkpoints import load_checkpoint, save_checkpoint
from helpers.distributed import cleanup, init_distributed, print0


def normalize(images: torch.Tensor) -> torch.Tensor:
    """uint8 images [B, 28, 28] -> float32 [B, 1, 28, 28], scaled to [0, 1] and normalized."""
    return (images.unsqueeze(1).float() / 255 - MNIST_MEAN) / MNIST_STD


def summary(history: dict, loader: DataLoader, world: int) -> dict:
    """The results so far (rank 0 saves them with every checkpoint, and writes them at the end)."""
    return {
        "history": history,
        "test_accuracy": history["test_accuracy"][-1] if history["test_accuracy"] else None,
        # the median epoch: robust to the first epoch's warm-up and to a busy machine
        "samples_per_s": len(loader.sampler) * world / statistics.median(history["seconds"]),
        "steps_per_epoch": len(loader),
        "samples_per_rank": len(loader.sampler),
        "world_size": world,
        "backend": dist.get_backend(),
        "threads": torch.get_num_threads(),
    }


def train(args: argparse.Namespace, rank: int, world: int, device: torch.device) -> dict:
    """The source article's recipe under DDP; the history and rank 0's test accuracy."""
    if args.batch_size % world:
        raise ValueError(f"--batch-size {args.batch_size} must divide by {world} ranks")
    splits = mnist_splits(args.data_dir)
    images, labels = splits["train"]
    if args.subset:
        images, labels = images[: args.subset], labels[: args.subset]
    dataset = TensorDataset(images, labels)
    sampler = DistributedSampler(
        dataset, num_replicas=world, rank=rank, shuffle=True, seed=args.seed
    )
    loader = DataLoader(dataset, batch_size=args.batch_size // world, sampler=sampler)
    test = fast_loaders({"test": splits["test"]}, device=device)["test"]
    torch.manual_seed(args.seed)
    model = Net().to(device)
    optimizer = adam(model, lr=args.lr)
    first_epoch = 0
    history: dict[str, list] = {"train_loss": [], "test_accuracy": [], "seconds": []}
    history["first_indices"] = []  # the first 8 of this rank's order, every epoch (exercise 2)
    if args.resume:  # every rank reads the file, onto its own device (not the saver's)
        saved = load_checkpoint(args.resume, model=model, optimizer=optimizer, map_location=device)
        first_epoch, history = saved["epoch"], saved["extra"]["history"]
        if first_epoch >= args.epochs:
            raise ValueError(f"{args.resume} has finished {first_epoch} epochs; ask for more")
    model = DDP(model, device_ids=[device.index] if device.type == "cuda" else None)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(first_epoch, args.epochs):
        sampler.set_epoch(epoch)  # a new permutation every epoch, the same one on every rank
        history["first_indices"].append(list(sampler)[:8])
        start, total = time.perf_counter(), torch.zeros((), device=device)
        for step, (x, y) in enumerate(loader, 1):
            if (rank, epoch + 1, step) == (args.crash_rank, args.crash_epoch, args.crash_step):
                raise RuntimeError(f"simulated crash on rank {rank} at step {step}")
            x, y = normalize(x.to(device)), y.to(device)
            loss = loss_fn(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # DDP averages the gradients over the ranks here
            optimizer.step()
            total += loss.detach()
        history["seconds"].append(time.perf_counter() - start)
        dist.all_reduce(total)  # every rank's sum of batch losses: the epoch's mean, for the log
        history["train_loss"].append(float(total) / (len(loader) * world))
        if rank == 0:  # the weights are the same on every rank: evaluate and save once
            history["test_accuracy"].append(evaluate(model.module, test)["accuracy"])
            if args.checkpoint:
                save_checkpoint(
                    args.checkpoint,
                    model=model.module,
                    optimizer=optimizer,
                    epoch=epoch + 1,
                    extra=summary(history, loader, world),
                )
            print0(
                f"epoch {epoch + 1}: train loss {history['train_loss'][-1]:.4f}, test "
                f"accuracy {history['test_accuracy'][-1]:.4f}, "
                f"{history['seconds'][-1]:.1f} s"
            )
        dist.barrier()  # the other ranks wait until rank 0's checkpoint is on disk
    return summary(history, loader, world)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
    parser.add_argument("--resume", default=None, help="checkpoint to continue from")
    parser.add_argument("--crash-rank", type=int, default=-1, help="rank that raises (a test)")
    parser.add_argument("--crash-epoch", type=int, default=1, help="epoch in which it raises")
    parser.add_argument("--crash-step", type=int, default=3, help="step at which it raises")
    parser.add_argument("--ending", default=None, help="file where rank 0 writes how it ended")
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
    ending = open(args.ending, "w", buffering=1) if args.ending and rank == 0 else None
    if ending:  # a SIGTERM (torchrun stopping the job) writes where rank 0 was, then kills it
        faulthandler.register(signal.SIGTERM, file=ending, chain=True)
    try:
        result = train(args, rank, world, device)
        if rank == 0:
            Path(args.out).write_text(json.dumps(result, indent=2))
        if ending:
            ending.write(f"{time.time()} finished\n")
    except Exception as err:  # rank 0's own error, with the time it came (the notebook's 5)
        if ending:
            ending.write(f"{time.time()} {type(err).__name__}: {err}\n")
        raise
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
