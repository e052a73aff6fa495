"""Shared code for the PyTorch MNIST course. Each notebook writes an idea out first; these serve
reuse."""

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
from .plots import plot_history, show_images
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
