"""CPU speed bookkeeping for notebook 07 and ``benchmarks/bench_cnn.py``: what the machine is
doing while we time it, channels-last memory format, bfloat16 where the hardware has it, and the
cost of one training step.

Wall-clock times on a shared machine mean little on their own. :class:`Stopwatch` records the
wall time together with the CPU time this process really got and the load average before and
after, so a reader can tell "slow code" from "busy machine"; timings are only compared within
one run.
"""

from __future__ import annotations

import contextlib
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .checks import check_positive_int, check_type
from .training import adam


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The processor's name, e.g. ``"Intel(R) Xeon(R) Processor"``: Linux's ``model name`` in
    ``cpuinfo``, else what :mod:`platform` knows (``"arm"``, ``"x86_64"``). Two machines with the
    same core count can differ twofold in speed, so timings are only compared on the same one."""
    try:
        for line in cpuinfo.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def load_average() -> float | None:
    """The 1-minute load average (runnable processes, averaged); ``None`` where the OS has none
    (Windows). Near or above the number of cores means a busy machine."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def machine_summary() -> str:
    """One line on what the timings ran on: threads, cores, oneDNN, load average."""
    load = load_average()
    onednn = torch.backends.mkldnn.is_available()
    return (
        f"{torch.get_num_threads()} torch CPU threads on {os.cpu_count()} cores, "
        f"oneDNN {'available' if onednn else 'not available'}, load average "
        + ("unknown" if load is None else f"{load:.1f}")
    )


@dataclass
class Stopwatch:
    """Wall time, this process's CPU time and the load average around a block of code.

    >>> with Stopwatch() as watch:
    ...     _ = sum(range(1000))
    >>> watch.wall >= 0 and watch.cpu >= 0
    True

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
    """Move ``model`` to ``device`` in channels-last memory format (NHWC): the values of one pixel
    across channels lie next to each other, the layout oneDNN's CPU convolutions prefer. The
    arithmetic, and so the outputs up to rounding, are unchanged. Returns the model."""
    check_type("model", model, nn.Module)
    return model.to(device, memory_format=torch.channels_last)


def native_bf16(device: str | torch.device = "cpu") -> bool:
    """Whether ``device`` computes in bfloat16 natively, so that autocasting to it is faster.

    True for a CUDA GPU that supports bfloat16, and for an x86 CPU with AVX-512 BF16 or AMX
    instructions (recent server CPUs, AMD Zen 4 and later); False elsewhere (most laptop CPUs,
    Apple's MPS), where PyTorch would emulate bfloat16 in float32 and a step would get slower.
    """
    device = torch.device(device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            return False
        try:  # by default it also counts a GPU that only emulates bfloat16 (older torch: no flag)
            return torch.cuda.is_bf16_supported(including_emulation=False)
        except TypeError:
            return torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # torch.cpu, torch >= 2.3
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def autocast_bf16(device: str | torch.device, enabled: bool) -> contextlib.AbstractContextManager:
    """``torch.autocast`` to bfloat16 on ``device`` when ``enabled``, else a context that does
    nothing. Inside it, convolutions and matrix products run in bfloat16 (8 significant bits,
    float32's range) and their outputs stay bfloat16; the weights stay float32. Compute the
    loss outside the block, on ``logits.float()``, as :func:`seconds_per_image` does."""
    check_type("enabled", enabled, bool)
    device = torch.device(device)
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


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
    """Fastest of ``repeats`` timings of ``steps`` training steps (forward, cross-entropy,
    backward, Adam step) on random data, per image. The fastest repeat is the one least
    disturbed by other programs. The model keeps its device and memory format; it is trained
    on noise, so pass a fresh one. ``bf16=True`` runs the forward pass under
    :func:`autocast_bf16`."""
    check_type("model", model, nn.Module)
    check_positive_int("batch_size", batch_size)
    check_positive_int("steps", steps)
    check_positive_int("repeats", repeats)
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
    best = float("inf")
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        for _ in range(steps):
            step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        best = min(best, (time.perf_counter() - start) / (steps * batch_size))
    return best
