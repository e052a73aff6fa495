"""Shared code for the PyTorch MNIST course. Each notebook writes an idea out first; these serve
reuse.

The plotting functions load matplotlib on first use, not on ``import helpers``: the processes
that never plot (the ranks of notebook 08's data-parallel runs, the benchmarks) start faster.
"""

import importlib
from typing import Any

from .checks import check_params
from .data import (
    DataError,
    InMemoryLoader,
    data_root,
    dataloaders,
    fast_loaders,
    load_split,
    mnist_dataset,
    mnist_splits,
    normalization,
    split_indices,
)
from .gradients import compare_grads, max_abs_diff
from .models import Net, count_parameters, mlp, small_cnn
from .results import save_results, show_claims
from .runtime import get_device, seed_everything, setup
from .training import (
    CheckpointError,
    EarlyStopping,
    History,
    TrainingDiverged,
    adam,
    evaluate,
    fit,
    load_checkpoint,
    predict,
    save_checkpoint,
)

__all__ = [
    "check_params",
    "DataError",
    "InMemoryLoader",
    "dataloaders",
    "data_root",
    "fast_loaders",
    "load_split",
    "mnist_dataset",
    "mnist_splits",
    "normalization",
    "split_indices",
    "Net",
    "count_parameters",
    "mlp",
    "plot_history",
    "show_images",
    "save_results",
    "show_claims",
    "setup",
    "get_device",
    "seed_everything",
    "EarlyStopping",
    "adam",
    "History",
    "TrainingDiverged",
    "evaluate",
    "fit",
    "predict",
    "small_cnn",
    "compare_grads",
    "max_abs_diff",
    "CheckpointError",
    "save_checkpoint",
    "load_checkpoint",
]

_LAZY = {"plot_history": "plots", "show_images": "plots"}  # name -> module that defines it


def __getattr__(name: str) -> Any:
    """``helpers.plot_history`` and ``from helpers import show_images`` import helpers.plots
    (and matplotlib) the first time they are asked for."""
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
