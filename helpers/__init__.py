"""Shared code for the course: ``from helpers import fit, mnist_splits, ...``. The table below
names the module of each exported name; a module is imported when one of its names is first
asked for (training alone never loads matplotlib). Machinery lives in ``helpers/_internal/``."""

import importlib
from typing import Any

_MODULES = {
    "runtime": "setup seed_everything get_device",
    "results": "save_results show_claims",
    "data": "DataError InMemoryLoader MNIST_MEAN MNIST_STD data_root dataloaders fast_loaders "
    "load_split mnist_dataset mnist_splits normalization split_indices",
    "models": "Net mlp small_cnn LeNet conv_bn ResidualBlock modern_cnn pytorch_example_net "
    "count_parameters",
    "training": "fit evaluate predict adam EarlyStopping TrainingDiverged",
    "checkpoints": "save_checkpoint load_checkpoint CheckpointError",
    "gradients": "max_abs_diff compare_grads",
    "autograd_graph": "draw_graph graph_size",
    "plots": "COLORS PALETTE WRONG plot_history show_images plot_confusion_matrix",
    "optim": "lr_range_test range_test_pick lr_trace smooth plot_race colors_for",
    "metrics": "confusion_matrix precision_recall_f1 roc_curve roc_auc_ovr precision_recall_curve "
    "average_precision normal_interval bootstrap_interval mcnemar expected_calibration_error",
    "regularization": "l1_penalty RandomAffineBatch PerSample augmentation MNIST_BACKGROUND",
    "experiments": "Config Harness mean_std summarise format_table",
    "distributed": "init_distributed cleanup print0",
    "_internal.torchrun": "launch DistributedRunError PROJECT_ROOT",
    "_internal.machine": "machine_summary",
    "speed": "Stopwatch time_per_step seconds_per_image channels_last native_bf16 autocast_bf16 "
    "train_to_target",
}
_WHERE = {name: module for module, names in _MODULES.items() for name in names.split()}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    """Import the module that defines ``name`` on first use (``from helpers import fit``)."""
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
