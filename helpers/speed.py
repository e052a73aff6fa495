"""Speed on a CPU (and a GPU), for the speed appendix and ``benchmarks/``: time a block, a step,
an image, or training to a target accuracy; channels-last and bfloat16 where they pay."""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from ._internal.machine import load_average
from .training import adam, evaluate


@dataclass
class Stopwatch:
    """Wall time, CPU time and load average around ``with Stopwatch() as watch:``. ``cpu / wall``
    is the cores the block kept busy: fewer than its threads when other programs take cores."""

    wall: float = 0.0
    cpu: float = 0.0
    load_before: float | None = None
    load_after: float | None = None

    def __enter__(self) -> Stopwatch:
        self.load_before = load_average()
        self._start = (time.perf_counter(), time.process_time())
        return self

    def __exit__(self, *exc) -> None:
        self.wall, self.cpu = self.elapsed(), time.process_time() - self._start[1]
        self.load_after = load_average()

    def elapsed(self) -> float:
        """Wall seconds since the block started."""
        return time.perf_counter() - self._start[0]

    def summary(self) -> str:
        """``"12.3 s wall, 22.1 s CPU (1.8 cores busy), load 1.2 -> 1.9"``."""
        busy = self.cpu / self.wall if self.wall > 0 else float("nan")
        loads = (self.load_before, self.load_after)
        load = " -> ".join("unknown" if v is None else f"{v:.1f}" for v in loads)
        return f"{self.wall:.1f} s wall, {self.cpu:.1f} s CPU ({busy:.1f} cores busy), load {load}"


def channels_last(model: nn.Module, device: str | torch.device = "cpu") -> nn.Module:
    """``model`` on ``device`` in channels-last memory format (a pixel's channels side by side),
    which oneDNN's CPU convolutions prefer; the outputs are the same up to rounding."""
    return model.to(device, memory_format=torch.channels_last)


def native_bf16(device: str | torch.device = "cpu") -> bool:
    """Whether ``device`` computes in bfloat16 natively (a CUDA GPU with bfloat16, an x86 CPU
    with AVX-512 BF16 or AMX). Elsewhere PyTorch emulates it in float32, and a step gets slower."""
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
    """``torch.autocast`` to bfloat16 when ``enabled`` (else nothing): matrix products and
    convolutions in bfloat16, the weights in float32. Compute the loss on ``logits.float()``."""
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)


def time_per_step(step: Callable[[], object], steps: int, *, warmup: int = 3) -> float:
    """Seconds per call of ``step()``: ``warmup`` untimed calls, then the mean of ``steps``."""
    sync = torch.cuda.synchronize if torch.cuda.is_available() else lambda: None
    for _ in range(warmup):
        step()
    sync()  # the GPU runs behind Python: wait for it before reading the clock
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    return (time.perf_counter() - start) / steps


def _train_step(model, optimizer, x, y, device, bf16: bool, label_smoothing: float = 0.0) -> None:
    """Forward (in bfloat16 if ``bf16``), cross-entropy in float32, backward, optimizer step."""
    with autocast_bf16(device, bf16):
        logits = model(x)
    loss = F.cross_entropy(logits.float(), y, label_smoothing=label_smoothing)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


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
    """Seconds per image of a training step (forward, loss, backward, Adam) on random data: the
    fastest of ``repeats`` timings of ``steps`` steps. The model learns noise: pass a fresh one."""
    device = next(model.parameters()).device
    optimizer = adam(model)
    x = torch.randn(batch_size, *image_shape, device=device)
    y = torch.randint(0, num_classes, (batch_size,), device=device)

    step = partial(_train_step, model, optimizer, x, y, device, bf16)
    model.train()
    step()  # warm-up: first-call allocations and kernel choices
    return min(time_per_step(step, steps, warmup=0) for _ in range(repeats)) / batch_size


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
    """Train ``epochs`` (a fraction is allowed), Adam with one cycle up to ``max_lr``, checking the
    validation accuracy ``checks_per_epoch`` times an epoch until it reaches ``target``. Returns
    ``seconds_to_target``, ``epochs_to_target`` (None if never), the ``checks`` (epochs, seconds,
    accuracy), and the run's ``steps``, ``wall``, ``cpu`` and ``load``."""
    device, per_epoch = next(model.parameters()).device, len(train_loader)
    assert per_epoch > 0, "train_loader yields no batch"  # the loop would wait forever
    steps, check_every = max(1, round(epochs * per_epoch)), max(1, per_epoch // checks_per_epoch)
    optimizer = adam(model, lr=max_lr)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=max_lr, total_steps=steps)
    batches = (batch for _ in itertools.count() for batch in train_loader)  # epoch after epoch
    reached, checks = (None, None), []
    with Stopwatch() as watch:
        for step, (x, y) in enumerate(itertools.islice(batches, steps), 1):
            model.train()
            _train_step(model, optimizer, x, y, device, bf16, label_smoothing)
            scheduler.step()
            if step == steps or (reached[0] is None and step % check_every == 0):
                with autocast_bf16(device, bf16):
                    accuracy = evaluate(model, val_loader)["accuracy"]  # waits for the GPU
                checks.append((step / per_epoch, watch.elapsed(), accuracy))
                if reached[0] is None and accuracy >= target:
                    reached = checks[-1][:2]
    run = {"steps": steps, "wall": watch.wall, "cpu": watch.cpu, "load": watch.load_before}
    return {"epochs_to_target": reached[0], "seconds_to_target": reached[1], "checks": checks} | run
