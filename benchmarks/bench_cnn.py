"""Benchmark: time to 99% validation accuracy for notebook 06's small CNN on the fast path.

The recipe of notebook 06: ``helpers.models.small_cnn()`` in channels-last memory format, Adam
with a one-cycle schedule (peak lr 5e-3) over 5 epochs, batch 128, the 55,000/5,000
train/validation split held in memory. ``helpers.fit`` checks the validation accuracy after every
epoch, so the time printed is the wall-clock time (training plus validation) at the end of the
first epoch that reaches the target: an upper bound on the crossing. Prints the machine's load
before the run, each epoch, the time to target and the test accuracy. This is a script, not a
test: timings depend on the machine and on what else runs on it (compare the wall time with the
CPU time it prints).

    python benchmarks/bench_cnn.py              # the notebook's defaults
    python benchmarks/bench_cnn.py --threads 2  # as on a 2-core laptop
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from helpers.data import fast_loaders, mnist_splits
from helpers.models import count_parameters, small_cnn
from helpers.runtime import get_device, seed_everything
from helpers.training import adam, evaluate, fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--epochs", type=int, default=5, help="epochs of the one-cycle schedule (default 5)"
    )
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument(
        "--max-lr", type=float, default=5e-3, help="peak learning rate (default 5e-3)"
    )
    parser.add_argument(
        "--target", type=float, default=0.99, help="validation accuracy to time (default 0.99)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)"
    )
    parser.add_argument(
        "--data-dir", default=None, help="data root (default: $COURSE_DATA_DIR, else data/)"
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    generator = seed_everything(args.seed)
    dev = get_device(args.device)
    loaders = fast_loaders(
        mnist_splits(args.data_dir), batch_size=args.batch_size, device=dev, generator=generator
    )
    model = small_cnn().to(dev, memory_format=torch.channels_last)
    optimizer = adam(model, lr=args.max_lr)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.max_lr, total_steps=args.epochs * len(loaders["train"])
    )
    load = f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "unknown"
    print(
        f"torch {torch.__version__} on {dev}, {torch.get_num_threads()} CPU threads, "
        f"{os.cpu_count()} cores, "
        f"load average {load}; small_cnn(): {count_parameters(model):,} parameters"
    )

    cpu_start = time.process_time()
    history = fit(
        model,
        loaders["train"],
        epochs=args.epochs,
        val_loader=loaders["val"],
        optimizer=optimizer,
        scheduler=scheduler,
        progress=False,
    )
    cpu_seconds = time.process_time() - cpu_start
    for epoch, seconds, accuracy in zip(history["epoch"], history["time"], history["val_acc"]):
        print(
            f"epoch {epoch}: {seconds:6.1f} s wall (cumulative), "
            f"validation accuracy {100 * accuracy:.2f}%"
        )
    reached = [i for i, accuracy in enumerate(history["val_acc"]) if accuracy >= args.target]
    if reached:
        print(
            f"time to {100 * args.target:g}% validation accuracy: "
            f"{history['time'][reached[0]]:.1f} s "
            f"(epoch {reached[0] + 1})"
        )
    else:
        print(f"validation accuracy did not reach {100 * args.target:g}% in {args.epochs} epochs")
    print(
        f"training: {history['time'][-1]:.1f} s wall, {cpu_seconds:.1f} s CPU; "
        f"test accuracy {100 * evaluate(model, loaders['test'])['accuracy']:.2f}%"
    )


if __name__ == "__main__":
    main()
