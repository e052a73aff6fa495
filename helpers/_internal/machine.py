"""How many CPU threads torch should use here and now: the cores this process may run on, minus
the ones other programs keep busy.

torch starts one thread per core. On a quiet machine that is right. When other programs compete
for the cores, its threads wait for each other at every parallel operation (one slow thread holds
up the rest), and a step can get several times slower than with one thread. So
:func:`setup <helpers.runtime.setup>` counts the programs running right now and gives torch the
cores that are left (at least one). Set ``OMP_NUM_THREADS`` to choose the number yourself.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from pathlib import Path

import torch


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS tells it, else all)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _running_now() -> int | None:
    """Threads running or ready to run on the whole machine right now, this one included
    (``procs_running`` of Linux's /proc/stat); None where there is no such file."""
    try:
        with open("/proc/stat") as fh:
            for line in fh:
                if line.startswith("procs_running"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def busy_cores(samples: int = 5, interval: float = 0.01) -> float | None:
    """How many cores other programs keep busy right now: the median over ``samples`` readings,
    ``interval`` seconds apart, of the running threads other than the one reading.

    Unlike the load average (a one-minute average), this sees a program that started a second
    ago. Where Linux's count is missing, the 1-minute load average stands in; None where there is
    neither (Windows).
    """
    readings = []
    for i in range(samples):
        running = _running_now()
        if running is None:
            break
        readings.append(running - 1)
        if i + 1 < samples:
            time.sleep(interval)
    if readings:
        return float(statistics.median(readings))
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def choose_threads(cores: int | None = None, busy: float | None = None) -> int:
    """The thread count for torch: ``cores`` (default :func:`available_cores`) minus the ``busy``
    ones (default :func:`busy_cores`), rounded, at least 1 and at most ``cores``.

    >>> choose_threads(cores=2, busy=0), choose_threads(cores=2, busy=2), choose_threads(8, 2.6)
    (2, 1, 5)
    """
    cores = available_cores() if cores is None else cores
    busy = busy_cores() if busy is None else busy
    if busy is None:
        return cores
    if busy < 0:
        raise ValueError(f"busy must be >= 0, got {busy!r}")
    return max(1, min(cores, cores - round(busy)))


def use_threads(threads: int | None = None) -> str:
    """Set torch's CPU thread count and say why, in a few words.

    ``threads=None`` keeps ``OMP_NUM_THREADS`` when it is set, else uses :func:`choose_threads`.
    Returns what :func:`setup` prints, e.g. ``"2 CPU threads (2 cores, 0 busy with other
    programs)"``.
    """
    if threads is not None:
        assert threads >= 1, f"threads must be >= 1, got {threads}"
        torch.set_num_threads(threads)
        why = "as asked"
    elif os.environ.get("OMP_NUM_THREADS"):
        why = "OMP_NUM_THREADS"
    else:
        cores, busy = available_cores(), busy_cores()
        torch.set_num_threads(choose_threads(cores, busy))
        if busy is None:
            why = f"{cores} cores, load unknown"
        elif busy >= cores:  # more programs want a core than there are cores
            why = f"{cores} cores, all busy with other programs"
        else:
            why = f"{cores} cores, {busy:g} busy with other programs"
    n = torch.get_num_threads()
    return f"{n} CPU thread{'s' if n > 1 else ''} ({why})"


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
