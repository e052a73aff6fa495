"""Benchmark: time to 99% validation accuracy for notebook 07's CNN recipes on the fast path.

Two recipes, each run on the same seeds in one process, so the machine's load hits both alike:

- ``fast`` (notebook 07's recipe): ``small_cnn(batch_norm=True)`` in channels-last memory
  format, Adam with a one-cycle schedule over ``--epochs`` epochs (peak lr ``--max-lr``),
  label smoothing 0.1, batch 128;
- ``baseline`` (the recipe before issue 16): ``small_cnn()``, one-cycle to 5e-3 over 5 epochs,
  no label smoothing, batch 128.

The validation accuracy (5,000 images) is measured every quarter epoch, and its cost is
included in the wall time, so "time to 99%" is the wall time at the first check at or above
the target. Each run then finishes its schedule and reports the test accuracy of the final
model. Next to every wall time the script prints this process's CPU time and the load average:
on a shared machine the wall time alone says little. This is a script, not a test.

    python benchmarks/bench_cnn.py --threads 2 --seeds 5       # the goal: median <= 6 s
    python benchmarks/bench_cnn.py --threads 2 --seeds 5 --baseline-seeds 1
"""

from __future__ import annotations

import argparse
import statistics

import torch
import torch.nn.functional as F

from helpers.cpu import Stopwatch, channels_last, machine_summary
from helpers.data import fast_loaders, mnist_splits
from helpers.models import count_parameters, small_cnn
from helpers.runtime import get_device, seed_everything
from helpers.training import adam, evaluate

RECIPES = {
    # name: (model builder, epochs, peak lr, label smoothing)
    "fast": (lambda: small_cnn(batch_norm=True), 2, 1e-2, 0.1),
    "baseline": (small_cnn, 5, 5e-3, 0.0),
}


def run(recipe: str, splits, seed: int, args) -> dict:
    """Train one recipe on one seed; return times, CPU time, load and accuracies."""
    build, epochs, max_lr, smoothing = RECIPES[recipe]
    if recipe == "fast":
        epochs, max_lr = args.epochs, args.max_lr
    generator = seed_everything(seed)
    dev = get_device(args.device)
    loaders = fast_loaders(splits, batch_size=args.batch_size, device=dev, generator=generator)
    model = channels_last(build(), dev)
    optimizer = adam(model, lr=max_lr)
    steps = epochs * len(loaders["train"])
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=max_lr, total_steps=steps)
    check_every = max(1, len(loaders["train"]) // 4)
    step, reached, val = 0, None, 0.0
    with Stopwatch() as watch:
        for _ in range(epochs):
            for x, y in loaders["train"]:
                model.train()
                loss = F.cross_entropy(model(x), y, label_smoothing=smoothing)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                step += 1
                if reached is None and (step % check_every == 0 or step == steps):
                    val = evaluate(model, loaders["val"])["accuracy"]
                    if val >= args.target:
                        reached = (watch.elapsed(), step / len(loaders["train"]))
    return {
        "params": count_parameters(model),
        "seconds_to_target": None if reached is None else reached[0],
        "epochs_to_target": None if reached is None else reached[1],
        "wall": watch.wall,
        "cpu": watch.cpu,
        "load": watch.load_before,
        "test": evaluate(model, loaders["test"])["accuracy"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1, help="seeds 0..N-1 of the fast recipe")
    parser.add_argument(
        "--baseline-seeds", type=int, default=1, help="seeds of the baseline (0: skip it)"
    )
    parser.add_argument("--epochs", type=int, default=RECIPES["fast"][1])
    parser.add_argument("--max-lr", type=float, default=RECIPES["fast"][2])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--target", type=float, default=0.99, help="validation accuracy to time")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--data-dir", default=None, help="default: $COURSE_DATA_DIR, else data/")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}; {machine_summary()}")
    splits = mnist_splits(args.data_dir)
    rows = []
    for recipe, n in (("fast", args.seeds), ("baseline", args.baseline_seeds)):
        for seed in range(n):
            r = run(recipe, splits, seed, args)
            rows.append((recipe, r))
            to_target = (
                "not reached"
                if r["seconds_to_target"] is None
                else f"{r['seconds_to_target']:5.1f} s (epoch {r['epochs_to_target']:.2f})"
            )
            print(
                f"{recipe:8s} seed {seed}: {r['params']:,} params | to {100 * args.target:g}% val:"
                f" {to_target} | whole run {r['wall']:.1f} s wall, {r['cpu']:.1f} s CPU,"
                f" load {r['load'] if r['load'] is None else round(r['load'], 1)}"
                f" | test {100 * r['test']:.2f}%",
                flush=True,
            )
    for recipe in ("baseline", "fast"):
        runs = [r for name, r in rows if name == recipe]
        times = [r["seconds_to_target"] for r in runs if r["seconds_to_target"] is not None]
        if runs:
            median = f"{statistics.median(times):.1f} s" if len(times) == len(runs) else "n/a"
            print(
                f"{recipe:8s}: median time to target {median} over {len(runs)} seed(s)"
                f" ({len(times)} reached it); median CPU time of the whole run"
                f" {statistics.median(r['cpu'] for r in runs):.1f} s; median test accuracy"
                f" {100 * statistics.median(r['test'] for r in runs):.2f}%"
            )
    print(f"after the runs: {machine_summary()}")


if __name__ == "__main__":
    main()
