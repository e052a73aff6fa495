"""Speed on a CPU (and a GPU): the tools of the speed appendix and ``benchmarks/``.

:class:`Stopwatch` records wall time with the CPU time the process really got and the load
around it, so "slow code" can be told from "busy machine"; :func:`time_per_step` and
:func:`seconds_per_image` time training steps; :func:`native_bf16` and :func:`autocast_bf16` run
in bfloat16 only where the hardware computes it; :func:`train_to_target` times training to a
target accuracy, its validation checks included.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ._internal.machine import load_average
from .training import adam, evaluate


@dataclass
class Stopwatch:
    """Wall time, this process's CPU time and the load average around a block of code:
    ``with Stopwatch() as watch: ...``, then ``watch.wall``, ``watch.cpu``, ``watch.summary()``.

    ``cpu / wall`` is how many cores the block kept busy on average: about the thread count on
    a quiet machine, much less when other programs take the cores.
    """

    wall: float = 0.0
    cpu: float = 0.0
    load_before: float | None = None
    load_after: float | None = None
    _start: tuple[float, float] = field(default=(0.0, 0.0), repr=False)

    def __enter__(self) -> Stopwatch:
        self.load_before = load_average()
        self._start = (time.perf_counter(), time.process_time())
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self._start[0]
        self.cpu = time.process_time() - self._start[1]
        self.load_after = load_average()

    def elapsed(self) -> float:
        """Wall seconds since the block started (while it runs)."""
        return time.perf_counter() - self._start[0]

    def summary(self) -> str:
        """``"12.3 s wall, 22.1 s CPU (1.8 cores busy), load 1.2 -> 1.9"``."""
        busy = self.cpu / self.wall if self.wall > 0 else float("nan")
        loads = " -> ".join(
            "unknown" if v is None else f"{v:.1f}" for v in (self.load_before, self.load_after)
        )
        return f"{self.wall:.1f} s wall, {self.cpu:.1f} s CPU ({busy:.1f} cores busy), load {loads}"


def channels_last(model: nn.Module, device: str | torch.device = "cpu") -> nn.Module:
    """Move ``model`` to ``device`` in channels-last memory format (NHWC), the layout oneDNN's CPU
    convolutions prefer: a pixel's channels lie side by side. The outputs are unchanged up to
    rounding. Returns the model."""
    return model.to(device, memory_format=torch.channels_last)


def native_bf16(device: str | torch.device = "cpu") -> bool:
    """Whether ``device`` computes in bfloat16 natively, so that autocasting to it is faster.

    True for a CUDA GPU with bfloat16, and an x86 CPU with AVX-512 BF16 or AMX (recent server
    CPUs, AMD Zen 4 and later); False elsewhere (most laptops, Apple's MPS), where PyTorch would
    emulate bfloat16 in float32 and a step would get slower.
    """
    device = torch.device(device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            return False
        try:  # by default it also counts a GPU that only emulates bfloat16 (older torch: no flag)
            return torch.cuda.is_bf16_supported(including_emulation=False)
        except TypeError:
            return torch.cuda.is_bf16_supported()
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # torch.cpu, torch >= 2.3
    return device.type == "cpu" and any(getattr(torch.cpu, c, lambda: False)() for c in checks)


def autocast_bf16(device: str | torch.device, enabled: bool) -> contextlib.AbstractContextManager:
    """``torch.autocast`` to bfloat16 on ``device`` when ``enabled``, else a context that does
    nothing. Inside, convolutions and matrix products compute in bfloat16 (8 significant bits,
    float32's range) and return bfloat16; the weights stay float32. Compute the loss outside,
    on ``logits.float()``."""
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)


def _sync() -> None:
    """Wait for the GPU's queued work, so that the clock measures it too."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def seconds_per_image(
    model: nn.Module,
    batch_size: int,
    *,
    steps: int = 3,
    repeats: int = 5,
    image_shape: tuple[int, int, int] = (1, 28, 28),
    num_classes: int = 10,
    bf16: bool = False,
) -> float:
    """Seconds per image of a training step (forward, cross-entropy, backward, Adam step) on
    random data: the fastest of ``repeats`` timings of ``steps`` steps, the one least disturbed
    by other programs. The model keeps its device and memory format and is trained on noise:
    pass a fresh one. ``bf16=True`` runs the forward pass under :func:`autocast_bf16`."""
    device = next(model.parameters()).device
    optimizer = adam(model)
    x = torch.randn(batch_size, *image_shape, device=device)
    y = torch.randint(0, num_classes, (batch_size,), device=device)

    def step() -> None:
        with autocast_bf16(device, bf16):
            logits = model(x)
        loss = F.cross_entropy(logits.float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    model.train()
    step()  # warm-up: first-call allocations and kernel choices
    return min(time_per_step(step, steps, warmup=0) for _ in range(repeats)) / batch_size


def time_per_step(step: Callable[[], object], steps: int, *, warmup: int = 3) -> float:
    """Seconds per call of ``step()``: ``warmup`` untimed calls, then the mean over ``steps``
    timed calls (waiting for a GPU to finish before reading the clock)."""
    for _ in range(warmup):
        step()
    _sync()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    _sync()
    return (time.perf_counter() - start) / steps


def train_to_target(
    model: nn.Module,
    train_loader,
    val_loader,
    *,
    epochs: float,
    max_lr: float,
    label_smoothing: float = 0.0,
    target: float = 0.99,
    checks_per_epoch: int = 4,
    bf16: bool = False,
) -> dict:
    """Train ``model`` (on its device, in its memory format) for ``epochs`` epochs (a fraction is
    allowed) with Adam, a one-cycle schedule up to ``max_lr``, cross-entropy with
    ``label_smoothing``, and the forward passes in bfloat16 if ``bf16``; check the validation
    accuracy every ``1 / checks_per_epoch`` epoch until it reaches ``target``, and after the last
    step.

    Returns ``"seconds_to_target"`` and ``"epochs_to_target"`` (None if never reached; wall time
    since the start, the checks included), ``"checks"`` (``(epochs done, seconds, accuracy)``
    each), ``"steps"``, and the run's ``"wall"``, ``"cpu"`` and ``"load"`` (see :class:`Stopwatch`).
    """
    device = next(model.parameters()).device
    per_epoch = len(train_loader)
    steps = max(1, round(epochs * per_epoch))
    check_every = max(1, per_epoch // checks_per_epoch)
    optimizer = adam(model, lr=max_lr)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=max_lr, total_steps=steps)
    batches = (batch for _ in itertools.count() for batch in train_loader)  # epoch after epoch
    reached, checks = None, []
    with Stopwatch() as watch:
        for step, (x, y) in enumerate(itertools.islice(batches, steps), 1):
            model.train()
            with autocast_bf16(device, bf16):
                logits = model(x)
            loss = F.cross_entropy(logits.float(), y, label_smoothing=label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            if step == steps or (reached is None and step % check_every == 0):
                with autocast_bf16(device, bf16):
                    accuracy = evaluate(model, val_loader)["accuracy"]  # waits for the GPU
                checks.append((step / per_epoch, watch.elapsed(), accuracy))
                if reached is None and accuracy >= target:
                    reached = checks[-1]
    return {
        "seconds_to_target": None if reached is None else reached[1],
        "epochs_to_target": None if reached is None else reached[0],
        "checks": checks,
        "steps": steps,
        "wall": watch.wall,
        "cpu": watch.cpu,
        "load": watch.load_before,
    }
