"""Reproducibility and device selection."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from .checks import check_choice, check_type

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
    os.environ["PYTHONHASHSEED"] = str(seed)
    return torch.Generator().manual_seed(seed)


def get_device(device: str | torch.device = "auto") -> torch.device:
    """Return the ``torch.device`` to run on.

    ``"auto"`` picks CUDA if available, then Apple's MPS, then the CPU. Asking explicitly for a
    device that is not there raises ``ValueError`` rather than failing later on the first tensor.
    """
    if isinstance(device, torch.device):
        device = device.type
    check_type("device", device, str)
    check_choice("device", device, DEVICES)
    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if device == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if device == "cuda" and not cuda:
        raise ValueError("device='cuda' was asked for, but no CUDA GPU is available; use 'auto' or 'cpu'")
    if device == "mps" and not mps:
        raise ValueError("device='mps' was asked for, but Apple's MPS is not available; use 'auto' or 'cpu'")
    return torch.device(device)
