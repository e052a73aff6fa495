"""Benchmark: time to 99% validation accuracy for notebook 07's CNN recipes on the fast path.

Two recipes, each run on the same seeds in one process, so the machine's load hits both alike:

- ``fast`` (notebook 07's recipe): ``small_cnn(batch_norm=True)`` (batch norm after each max
  pool, on a quarter of the values) in channels-last memory format, Adam with a one-cycle
  schedule over ``--epochs`` epochs (default 1.5: a fraction of an epoch is allowed; peak lr
  ``--max-lr``, default 3e-2), label smoothing 0.1, batch ``--batch-size`` (default 256), and
  forward passes autocast to bfloat16 where the hardware computes it natively (``--bf16 auto``,
  see ``helpers.speed.native_bf16``; ``on`` or ``off`` to force);
- ``baseline`` (the recipe before issue 16): ``small_cnn()``, one-cycle to 5e-3 over 5 epochs,
  no label smoothing, batch 128, float32.

Both train through ``helpers.speed.train_to_target``, as notebook 07 does. The validation
accuracy (5,000 images, in batches of 250: cheaper than 1,000 for these CNNs on a CPU) is
measured every quarter epoch, and its cost is included in the wall time, so "time to 99%" is
the wall time at the first check at or above the target. Each run then
finishes its schedule and reports the test accuracy of the final model. Next to every wall time
the script prints this process's CPU time and the load average: on a shared machine the wall
time alone says little. Each invocation appends one line of JSON to ``benchmarks/history.jsonl``
(commit, date, CPU model and cores, torch version, seeds, threads, recipe (bfloat16 or
float32), target, the fast recipe's median time to it and median test accuracy;
``--no-history`` to skip), as ``bench_training.py`` does. This is a script, not a test.

    python benchmarks/bench_cnn.py --threads 2 --seeds 5       # the goal: median <= 6 s
    python benchmarks/bench_cnn.py --threads 2 --seeds 5 --baseline-seeds 1
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch

from helpers._internal.machine import cpu_model, machine_summary
from helpers.data import fast_loaders, mnist_splits
from helpers.models import count_parameters, small_cnn
from helpers.runtime import get_device, seed_everything
from helpers.speed import channels_last, native_bf16, train_to_target
from helpers.training import evaluate

sys.path.insert(0, str(Path(__file__).resolve().parent))  # also when imported from elsewhere
from bench_training import record  # noqa: E402 (one history file, one way of writing to it)

RECIPES = {
    # name: (model builder, epochs (a fraction allowed), peak lr, label smoothing, batch size)
    "fast": (lambda: small_cnn(batch_norm=True), 1.5, 3e-2, 0.1, 256),
    "baseline": (small_cnn, 5, 5e-3, 0.0, 128),
}


def run(recipe: str, splits, seed: int, args) -> dict:
    """Train one recipe on one seed; return times, CPU time, load and accuracies."""
    build, epochs, max_lr, smoothing, batch_size = RECIPES[recipe]
    bf16 = False
    if recipe == "fast":
        epochs, max_lr, bf16, batch_size = args.epochs, args.max_lr, args.bf16, args.batch_size
    generator = seed_everything(seed)
    dev = get_device(args.device)
    loaders = fast_loaders(
        splits, batch_size=batch_size, device=dev, generator=generator, eval_batch_size=250
    )
    model = channels_last(build(), dev)
    r = train_to_target(
        model,
        loaders["train"],
        loaders["val"],
        epochs=float(epochs),
        max_lr=max_lr,
        label_smoothing=smoothing,
        target=args.target,
        bf16=bf16,
    )
    return r | {
        "params": count_parameters(model),
        "test": evaluate(model, loaders["test"])["accuracy"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1, help="seeds 0..N-1 of the fast recipe")
    parser.add_argument(
        "--baseline-seeds", type=int, default=1, help="seeds of the baseline (0: skip it)"
    )
    parser.add_argument(
        "--epochs", type=float, default=RECIPES["fast"][1], help="fast recipe's epochs (> 0)"
    )
    parser.add_argument("--max-lr", type=float, default=RECIPES["fast"][2])
    parser.add_argument("--batch-size", type=int, default=RECIPES["fast"][4])
    parser.add_argument("--target", type=float, default=0.99, help="validation accuracy to time")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--data-dir", default=None, help="default: $COURSE_DATA_DIR, else data/")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    parser.add_argument(
        "--bf16",
        choices=("auto", "on", "off"),
        default="auto",
        help="fast recipe's bfloat16 autocast; auto: where the hardware has it natively",
    )
    parser.add_argument("--no-history", action="store_true", help="don't append to the history")
    args = parser.parse_args()
    if args.epochs <= 0 or args.seeds < 1 or args.baseline_seeds < 0:
        parser.error(
            f"--epochs must be > 0, --seeds >= 1 and --baseline-seeds >= 0, got {args.epochs}, "
            f"{args.seeds} and {args.baseline_seeds}"
        )
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    native = native_bf16(get_device(args.device))
    args.bf16 = {"auto": native, "on": True, "off": False}[args.bf16]
    print(f"torch {torch.__version__}; {cpu_model()}; {machine_summary()}")
    print(
        f"fast recipe: forward passes in {'bfloat16 (autocast)' if args.bf16 else 'float32'}; "
        f"this device {'has' if native else 'has no'} native bfloat16"
    )
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
    medians = {}
    for recipe in ("baseline", "fast"):
        runs = [r for name, r in rows if name == recipe]
        times = [r["seconds_to_target"] for r in runs if r["seconds_to_target"] is not None]
        if runs:
            # a seed that never reached the target counts as infinitely slow
            slowest = len(runs) - len(times)
            seconds = statistics.median(times + [float("inf")] * slowest)
            medians[recipe] = (
                None if seconds == float("inf") else seconds,
                statistics.median(r["test"] for r in runs),
            )
            median = "n/a" if medians[recipe][0] is None else f"{medians[recipe][0]:.1f} s"
            print(
                f"{recipe:8s}: median time to target {median} over {len(runs)} seed(s)"
                f" ({len(times)} reached it); median CPU time of the whole run"
                f" {statistics.median(r['cpu'] for r in runs):.1f} s; median test accuracy"
                f" {100 * statistics.median(r['test'] for r in runs):.2f}%"
            )
    print(f"after the runs: {machine_summary()}")
    if not args.no_history:
        seconds, test = medians["fast"]
        record(
            {
                "bench": "cnn",
                "seeds": args.seeds,
                "threads": torch.get_num_threads(),
                "busy": 0,
                "recipe": "bfloat16" if args.bf16 else "float32",
                "target": args.target,
                "median_s_to_target": None if seconds is None else round(seconds, 2),
                "median_test": test,
            }
        )


if __name__ == "__main__":
    main()
