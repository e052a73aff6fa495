"""Benchmark: the source article's training recipe, plain DataLoader loop vs ``helpers.fit`` on the
fast path.

Both runs train the seed's ``Net`` with Adam (lr 1e-3), batch 64, on the full 60,000 MNIST training
images from the same seed, and are tested on the 10,000 test images. Prints both wall times, their
ratio and both test accuracies. Each run happens in its own fresh process. This is a script, not a
test: timings depend on the machine.

    python benchmarks/bench_training.py            # 10 epochs, the recipe
    python benchmarks/bench_training.py --epochs 2 # shorter
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

import torch
import torchvision
from torch import nn
from torch.utils.data import DataLoader
from torchvision.transforms import ToTensor

import helpers


def plain_loop(epochs: int, seed: int, data_dir: str | None) -> tuple[float, float]:
    """The article's loop, as written there: DataLoader over torchvision MNIST with ToTensor()."""
    generator = helpers.seed_everything(seed)
    root = str(helpers.data_root(data_dir))
    helpers.load_split(True, data_dir=data_dir)  # check the files (and fetch them if allowed) first
    train_set = torchvision.datasets.MNIST(
        root=root, train=True, download=False, transform=ToTensor()
    )
    test_set = torchvision.datasets.MNIST(
        root=root, train=False, download=False, transform=ToTensor()
    )
    train_loader = DataLoader(train_set, batch_size=64, shuffle=True, generator=generator)
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


def helper_fit(epochs: int, seed: int, data_dir: str | None, device: str) -> tuple[float, float]:
    """The same recipe through ``helpers.fit`` on the in-memory fast path (all 60,000 training
    images)."""
    generator = helpers.seed_everything(seed)
    dev = helpers.get_device(device)
    splits = helpers.mnist_splits(data_dir, val_size=0)
    loaders = helpers.fast_loaders(splits, batch_size=64, device=dev, generator=generator)
    net = helpers.Net().to(dev)
    start = time.perf_counter()
    helpers.fit(
        net, loaders["train"], epochs=epochs, progress=False
    )  # default: Adam lr 1e-3, fused kernel
    if dev.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return seconds, helpers.evaluate(net, loaders["test"])["accuracy"]


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
        "--data-dir", default=None, help="data root (default: $COURSE_DATA_DIR, else data/)"
    )
    parser.add_argument(
        "--device", default="auto", help="device for the fast path: auto, cpu, cuda, mps"
    )
    args = parser.parse_args()
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, fast path on "
        f"{helpers.get_device(args.device)}, {args.epochs} epochs each"
    )
    plain_s, plain_acc = isolated(plain_loop, args.epochs, args.seed, args.data_dir)
    print(
        f"plain DataLoader + ToTensor loop: {plain_s:7.1f} s   "
        f"test accuracy {100 * plain_acc:.2f}%",
        flush=True,
    )
    fast_s, fast_acc = isolated(helper_fit, args.epochs, args.seed, args.data_dir, args.device)
    print(
        f"helpers.fit, in-memory fast path: {fast_s:7.1f} s   test accuracy {100 * fast_acc:.2f}%"
    )
    print(f"speed-up (plain / helpers): {plain_s / fast_s:.2f}x")


if __name__ == "__main__":
    main()
