"""A notebook's setup, ``generator, dev = setup(globals())``: parameters checked, generators
seeded, the device chosen, and one line printed that says what the numbers ran on."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from ._internal.machine import cpu_model, use_threads
from ._internal.params import check_parameters

DEVICES = ("auto", "cpu", "cuda", "mps")
STARTED: list[float] = []  # when setup last ran (perf_counter), for save_results' "seconds"


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and PyTorch (CPU and CUDA); return a seeded CPU ``torch.Generator``
    for the random calls you make yourself, so that one number fixes a whole run."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return torch.Generator().manual_seed(seed)


def get_device(device: str | torch.device = "auto") -> torch.device:
    """The ``torch.device`` to run on: ``"auto"`` picks CUDA, then Apple's MPS, then the CPU. A
    device asked for but absent fails here, not at the first tensor many cells later."""
    kind, colon, index = str(device).partition(":")
    if kind not in DEVICES or (colon and (kind != "cuda" or not index.isdigit())):
        raise ValueError(f"device must be one of {list(DEVICES)} or 'cuda:N', got {device!r}")
    cuda, mps = torch.cuda.is_available(), torch.backends.mps.is_available()
    if kind == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if (kind == "cuda" and not cuda) or (kind == "mps" and not mps):
        raise ValueError(f"device={device!r} was asked for, but there is none; use 'auto' or 'cpu'")
    if index and int(index) >= torch.cuda.device_count():
        raise ValueError(
            f"device={device!r} was asked for, but this machine has "
            f"{torch.cuda.device_count()} CUDA GPU(s)"
        )
    return torch.device(device)


def setup(params: Mapping[str, Any]) -> tuple[torch.Generator, torch.device]:
    """Check ``params`` (the notebook's ``globals()``) against the parameters cell's types and
    bounds, seed everything, pick the device and torch's CPU threads (``threads``: None takes
    the cores other programs leave free), apply the palette, print what was chosen. Returns
    ``(generator, device)``."""
    check_parameters(params)
    for name in ("data_dir", "results_dir"):
        folder = params.get(name)
        if folder is not None and os.path.isfile(os.path.expanduser(folder)):
            raise ValueError(f"{name} must be a folder, got {folder!r}, which is a file")
    generator = seed_everything(params["seed"])
    dev = get_device(params["device"])
    threads = use_threads(params.get("threads"))  # before any work: it applies from the start
    from ._internal.figure_text import add_alt_texts
    from .plots import use_course_style  # matplotlib: imported by notebooks only

    use_course_style()
    add_alt_texts()  # each stored figure says what it shows, for readers who cannot see it
    mode = "smoke (tiny sizes, for tests)" if params["smoke"] else "full"
    where = f"{cpu_model()}, {threads}" if dev.type == "cpu" else str(dev)
    print(f"torch {torch.__version__} | device: {dev} ({where}) | seed {params['seed']} | {mode}")
    STARTED[:] = [time.perf_counter()]
    return generator, dev
