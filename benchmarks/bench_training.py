"""Benchmark: the source article's training recipe, plain DataLoader loop vs ``helpers.fit`` on the
fast path.

Both runs train the seed's ``Net`` with Adam (lr 1e-3), batch 64, on the full 60,000 MNIST training
images from the same seed, and are tested on the 10,000 test images. Prints both wall times, their
ratio and both test accuracies. Each run happens in its own fresh process. This is a script, not a
test: timings depend on the machine.

    python benchmarks/bench_training.py            # 10 epochs, the recipe
    python benchmarks/bench_training.py --epochs 2 # shorter
    python benchmarks/bench_training.py --busy 2   # under 2 competing CPU-bound processes

It also prints the fast path's time per step next to the compute floor (the step's FLOPs divided
by the matrix-multiply rate measured here, at the step's own shapes), and appends one line of
JSON per run to ``benchmarks/history.jsonl`` (commit, date, CPU model and cores, torch version,
figures), so that a regression shows in the history (``--no-history`` to skip).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import torch
import torchvision
from torch import nn
from torch.utils.data import DataLoader
from torchvision.transforms import ToTensor

import helpers
from helpers._internal.machine import cpu_model, use_threads


def plain_loop(epochs: int, seed: int, data_dir: str | None, batch: int) -> tuple[float, float]:
    """The article's loop, as written there: DataLoader over torchvision MNIST with ToTensor(),
    torch's default thread count."""
    generator = helpers.seed_everything(seed)
    root = str(helpers.data_root(data_dir))
    helpers.load_split(True, data_dir=data_dir)  # check the files (and fetch them if allowed) first
    train_set = torchvision.datasets.MNIST(
        root=root, train=True, download=False, transform=ToTensor()
    )
    test_set = torchvision.datasets.MNIST(
        root=root, train=False, download=False, transform=ToTensor()
    )
    train_loader = DataLoader(train_set, batch_size=batch, shuffle=True, generator=generator)
    test_loader = DataLoader(test_set, batch_size=1000)
    net = helpers.Net()
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(net.parameters(), lr=0.001)
    start = time.perf_counter()
    for epoch in range(epochs):
        for data, target in train_loader:
            optimizer.zero_grad()
            output = net(data)
            loss = criterion(output, target)
            loss.backward()
            optimizer.step()
    seconds = time.perf_counter() - start
    return seconds, helpers.evaluate(net, test_loader)["accuracy"]


def helper_fit(
    epochs: int, seed: int, data_dir: str | None, batch: int, device: str
) -> tuple[float, float, int, str]:
    """The same recipe through ``helpers.fit`` on the in-memory fast path (all 60,000 training
    images), with the course's thread policy (``use_threads`` in ``helpers/_internal/machine.py``,
    as in ``setup``).
    Returns the seconds, the test accuracy, the thread count and why it was chosen, in words."""
    threads = use_threads()
    generator = helpers.seed_everything(seed)
    dev = helpers.get_device(device)
    splits = helpers.mnist_splits(data_dir, val_size=0)
    loaders = helpers.fast_loaders(splits, batch_size=batch, device=dev, generator=generator)
    net = helpers.Net().to(dev)
    start = time.perf_counter()
    helpers.fit(
        net, loaders["train"], epochs=epochs, progress=False
    )  # default: Adam lr 1e-3, fused kernel
    if dev.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    accuracy = helpers.evaluate(net, loaders["test"])["accuracy"]
    return seconds, accuracy, torch.get_num_threads(), threads


HISTORY = Path(__file__).resolve().parent / "history.jsonl"
BATCH = 64


def step_flops(net: nn.Module, batch: int = BATCH) -> int:
    """FLOPs of one training step of an MLP of ``nn.Linear`` layers: forward 2·B·in·out per layer,
    backward twice that (gradients for the weights and for the layer's input)."""
    macs = sum(m.in_features * m.out_features for m in net.modules() if isinstance(m, nn.Linear))
    return 3 * 2 * batch * macs


def matmul_rate(net: nn.Module, batch: int = BATCH, repeats: int = 200) -> float:
    """FLOP/s of ``torch.mm`` at the shapes of ``net``'s forward pass, measured on this machine."""
    shapes = [(m.in_features, m.out_features) for m in net.modules() if isinstance(m, nn.Linear)]
    pairs = [(torch.randn(batch, i), torch.randn(i, o)) for i, o in shapes]
    for a, b in pairs:  # warm-up
        torch.mm(a, b)
    start = time.perf_counter()
    for _ in range(repeats):
        for a, b in pairs:
            torch.mm(a, b)
    seconds = time.perf_counter() - start
    return repeats * sum(2 * batch * i * o for i, o in shapes) / seconds


def _spin() -> None:
    """A CPU-bound loop that competes for a core until it is terminated."""
    while True:
        pass


@contextlib.contextmanager
def competing_load(processes: int) -> Iterator[None]:
    """Run ``processes`` CPU-bound processes for the duration of the block, then stop them."""
    ctx = multiprocessing.get_context("spawn")
    spinners = [ctx.Process(target=_spin, daemon=True) for _ in range(processes)]
    for p in spinners:
        p.start()
    try:
        yield
    finally:
        for p in spinners:
            p.terminate()
        for p in spinners:
            p.join()


def record(entry: dict) -> None:
    """Append ``entry`` with the commit, date, machine and torch version to the history file."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=HISTORY.parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    entry = {
        "commit": commit,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{cpu_model()}, {os.cpu_count()} cores",
        "torch": torch.__version__,
        **entry,
    }
    with open(HISTORY, "a") as fh:  # one short line: an append is all or nothing in practice
        fh.write(json.dumps(entry) + "\n")


def isolated(fn, *args):
    """Run ``fn(*args)`` in a fresh Python process and return its result.

    Each timed run gets a clean interpreter: in one process, the fast path measured right after the
    plain loop ran about 1.7x slower than on its own (state left behind by the PIL/ToTensor loop),
    which would make the comparison depend on the order of the runs.
    """
    with ProcessPoolExecutor(
        max_workers=1, mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        return pool.submit(fn, *args).result()


def main() -> None:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument(
        "--epochs", type=int, default=10, help="epochs per run (default 10, the recipe)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--batch-size",
        type=int,
        default=BATCH,
        help="batch size of both runs (default 64, the recipe)",
    )
    parser.add_argument(
        "--data-dir", default=None, help="data root (default: $COURSE_DATA_DIR, else data/)"
    )
    parser.add_argument(
        "--device", default="auto", help="device for the fast path: auto, cpu, cuda, mps"
    )
    parser.add_argument(
        "--busy",
        type=int,
        default=0,
        metavar="N",
        help="run both under N competing CPU-bound processes (default 0: a quiet machine)",
    )
    parser.add_argument("--no-history", action="store_true", help="don't append to the history")
    args = parser.parse_args()
    if args.epochs < 1 or args.busy < 0 or args.batch_size < 1:
        parser.error(
            f"--epochs and --batch-size must be >= 1 and --busy >= 0, "
            f"got {args.epochs}, {args.batch_size} and {args.busy}"
        )
    print(
        f"torch {torch.__version__}, {cpu_model()}, {torch.get_num_threads()} CPU threads, "
        f"fast path on {helpers.get_device(args.device)}, {args.epochs} epochs each, "
        f"batch {args.batch_size}, {args.busy} competing processes, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    with competing_load(args.busy):
        plain_s, plain_acc = isolated(
            plain_loop, args.epochs, args.seed, args.data_dir, args.batch_size
        )
        print(
            f"plain DataLoader + ToTensor loop: {plain_s:7.1f} s   "
            f"test accuracy {100 * plain_acc:.2f}%",
            flush=True,
        )
        fast_s, fast_acc, fast_threads, why = isolated(
            helper_fit, args.epochs, args.seed, args.data_dir, args.batch_size, args.device
        )
        print(
            f"helpers.fit, in-memory fast path: {fast_s:7.1f} s   "
            f"test accuracy {100 * fast_acc:.2f}%   {why}"
        )
        net = helpers.Net()
        torch.set_num_threads(fast_threads)  # the floor at the fast path's thread count
        rate = matmul_rate(net, args.batch_size)
    steps = args.epochs * -(-60_000 // args.batch_size)
    flops = step_flops(net, args.batch_size)
    step_ms, floor_ms = 1000 * fast_s / steps, 1000 * flops / rate
    print(f"speed-up (plain / helpers): {plain_s / fast_s:.2f}x")
    print(
        f"fast path: {step_ms:.3f} ms per step; compute floor {floor_ms:.3f} ms "
        f"({flops / 1e6:.1f} MFLOP at {rate / 1e9:.1f} GFLOP/s measured at the "
        f"step's shapes): {step_ms / floor_ms:.1f}x the floor"
    )
    if not args.no_history:
        record(
            {
                "bench": "training",
                # another batch size is another recipe: the history compares like with like
                **({} if args.batch_size == BATCH else {"recipe": f"batch {args.batch_size}"}),
                "epochs": args.epochs,
                "batch": args.batch_size,
                "busy": args.busy,
                "threads": fast_threads,
                "plain_s": round(plain_s, 2),
                "fast_s": round(fast_s, 2),
                "ratio": round(plain_s / fast_s, 2),
                "plain_acc": plain_acc,
                "fast_acc": fast_acc,
                "step_ms": round(step_ms, 4),
                "floor_ms": round(floor_ms, 4),
            }
        )
        print(f"appended to {HISTORY.relative_to(HISTORY.parent.parent)}")


if __name__ == "__main__":
    main()
