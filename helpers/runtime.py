"""Reproducibility and device selection."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch

from .checks import check_params, check_type
from .threads import use_threads

DEVICES = ("auto", "cpu", "cuda", "mps")


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and PyTorch (CPU and CUDA); return a CPU ``torch.Generator`` seeded too.

    Pass the returned generator to every random call you make yourself (shuffling, splits,
    initial weights) so a whole run is fixed by one number.
    """
    check_type("seed", seed, int)
    if seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device
    # PYTHONHASHSEED is not set here: it only takes effect when an interpreter starts, and
    # nothing in the course depends on the order of a set or dict of strings.
    return torch.Generator().manual_seed(seed)


def get_device(device: str | torch.device = "auto") -> torch.device:
    """Return the ``torch.device`` to run on.

    ``"auto"`` picks CUDA if available, then Apple's MPS, then the CPU. An index picks one of
    several GPUs (``"cuda:1"``). Asking explicitly for a device that is not there raises
    ``ValueError`` rather than failing later on the first tensor.
    """
    if isinstance(device, torch.device):
        device = str(device)
    check_type("device", device, str)
    kind, colon, index = device.partition(":")
    if kind not in DEVICES or (colon and (kind not in ("cuda", "mps") or not index.isdigit())):
        raise ValueError(f"device must be one of {list(DEVICES)} or 'cuda:N', got {device!r}")
    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if kind == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if kind == "cuda" and not cuda:
        raise ValueError(
            f"device={device!r} was asked for, but no CUDA GPU is available; use 'auto' or 'cpu'"
        )
    if kind == "cuda" and index and int(index) >= torch.cuda.device_count():
        raise ValueError(
            f"device={device!r} was asked for, "
            f"but this machine has {torch.cuda.device_count()} CUDA GPU(s): "
            f"use 'cuda:0' to 'cuda:{torch.cuda.device_count() - 1}'"
        )
    if kind == "mps" and not mps:
        raise ValueError(
            f"device={device!r} was asked for, but Apple's MPS is not available; "
            "use 'auto' or 'cpu'"
        )
    return torch.device(device)


def setup(
    seed: int,
    device: str,
    data_dir: str | os.PathLike | None,
    smoke: bool,
    results_dir: str | os.PathLike | None,
) -> tuple[torch.Generator, torch.device]:
    """A notebook's setup in one call: check the five common parameters, seed, pick the device.

    Checks each parameter's type (papermill passes ``-p seed one`` as the string ``"one"``),
    refuses a ``data_dir`` or ``results_dir`` that is an existing file before any work is done,
    seeds everything, picks the device, gives torch the CPU threads the machine can spare now
    (:func:`helpers.threads.use_threads`) and prints what it chose. Returns the seeded
    ``torch.Generator`` (pass it to every random call) and the ``torch.device``.
    """
    check_params(
        seed=(seed, int),
        device=(device, str),
        data_dir=(data_dir, (str, os.PathLike, type(None))),
        smoke=(smoke, bool),
        results_dir=(results_dir, (str, os.PathLike, type(None))),
    )
    for name, folder in (("data_dir", data_dir), ("results_dir", results_dir)):
        if (
            folder is not None
            and Path(folder).expanduser().exists()
            and not Path(folder).expanduser().is_dir()
        ):
            raise ValueError(f"{name} must be a folder, got {str(folder)!r}, which is a file")
    generator = seed_everything(seed)
    dev = get_device(device)
    chosen = use_threads()  # before any work: the thread count applies from the first operation
    threads = f", {chosen}" if dev.type == "cpu" else ""
    mode = "smoke (tiny sizes, for tests)" if smoke else "full"
    print(f"torch {torch.__version__} | device: {dev}{threads} | seed {seed} | {mode} run")
    return generator, dev
