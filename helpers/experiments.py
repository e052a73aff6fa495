"""A fair comparison harness: train configurations that differ in one remedy, seed by seed.

Notebook 06 writes the idea out in a few lines first. Two runs with the same seed share

* the data: the first ``n`` images of one fixed training pool, and one validation set;
* the initial weights: ``torch.manual_seed(seed)`` right before the model is built (dropout
  layers have no parameters, so a model with dropout starts from the same weights);
* the batch order: the training loader shuffles with its own generator seeded with ``seed``;
  augmentation draws from a second generator, so switching it on leaves the batch order alone;
* the budget: the same number of epochs (early stopping may end a run sooner);

so whatever differs between their results is caused by the configuration. :class:`Harness`
caches every ``(config, seed)`` run, so a configuration that appears in several comparisons is
trained once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from ._internal.checks import check_choice, check_positive_int, check_range, check_type
from .data import InMemoryLoader
from .metrics import expected_calibration_error
from .models import mlp
from .regularization import augmentation, l1_penalty
from .training import EarlyStopping, adam, fit, predict

OPTIMIZERS = ("adam", "adamw")


@dataclass(frozen=True)
class Config:
    """Everything that may differ between two runs of a comparison; the defaults are the baseline.

    ``sizes``: the MLP's layer sizes; ``dropout``: rate after each hidden layer; ``optimizer``:
    ``"adam"`` or ``"adamw"`` (learning rate ``lr``) with ``weight_decay``; ``l1``: strength of an
    L1 penalty on the weight matrices; ``augment``: random rotations and shifts of every training
    image; ``label_smoothing``: of the cross-entropy; ``patience``: early stopping on validation
    accuracy (None: off); ``n``: training images (the first ``n`` of the pool); ``epochs``: the
    budget.
    """

    sizes: tuple[int, ...] = (784, 512, 512, 10)
    dropout: float = 0.0
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    l1: float = 0.0
    augment: bool = False
    label_smoothing: float = 0.0
    patience: int | None = None
    n: int = 1000
    epochs: int = 40

    def __post_init__(self) -> None:
        check_type("sizes", self.sizes, tuple)
        check_range("dropout", self.dropout, 0.0, 0.99)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_type("lr", self.lr, float)
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr!r}")
        for name in ("weight_decay", "l1"):
            value = check_type(name, getattr(self, name), float)
            if not value >= 0:
                raise ValueError(f"{name} must be >= 0, got {value!r}")
        check_type("augment", self.augment, bool)
        check_range("label_smoothing", self.label_smoothing, 0.0, 1.0)
        if self.patience is not None:
            check_positive_int("patience", self.patience)
        check_positive_int("n", self.n)
        check_positive_int("epochs", self.epochs)

    def but(self, **changes: Any) -> Config:
        """A copy with ``changes``: ``baseline.but(dropout=0.5)``."""
        return replace(self, **changes)


class Harness:
    """Train and measure :class:`Config` runs on one training pool and one validation set.

    ``pool_x [N, 28, 28]`` uint8 and ``pool_y [N]``: the training pool, in a fixed order (a run
    with ``n`` images uses the first ``n``). ``val_x``, ``val_y``: the validation set.
    """

    def __init__(
        self,
        pool_x: torch.Tensor,
        pool_y: torch.Tensor,
        val_x: torch.Tensor,
        val_y: torch.Tensor,
        *,
        batch_size: int = 64,
        device: str | torch.device = "cpu",
    ):
        check_positive_int("batch_size", batch_size)
        self.pool_x, self.pool_y, self.batch_size, self.device = pool_x, pool_y, batch_size, device
        self.val_loader = InMemoryLoader(val_x, val_y, batch_size=len(val_y), device=device)
        self.results: dict[tuple[Config, int], dict[str, Any]] = {}
        self.n_runs = 0

    def model(self, config: Config, seed: int) -> nn.Module:
        """The initial model of ``config`` for ``seed``: depends on the sizes and the seed only."""
        check_type("config", config, Config)
        check_type("seed", seed, int)
        torch.manual_seed(seed)  # the initial weights, then the dropout masks
        return mlp(config.sizes, dropout=config.dropout).to(self.device)

    def run(self, config: Config, seed: int, *, curves: bool = False) -> dict[str, Any]:
        """Train ``config`` with ``seed`` (always) and cache the result for :meth:`trained`.

        Returns the model, the history (validation columns filled when ``curves`` or early
        stopping asks for them; the numbers are the same either way), the epochs run, accuracy on
        (up to 5,000 of) the clean training images in eval mode, validation accuracy, loss and
        expected calibration error, and the gap ``train_acc - val_acc``.
        """
        if config.n > len(self.pool_y):
            raise ValueError(f"config.n must be <= the pool's {len(self.pool_y)}, got {config.n}")
        model = self.model(config, seed)
        self.n_runs += 1
        augment = None
        if config.augment:
            augment = augmentation(generator=torch.Generator().manual_seed(10_000 + seed))
        x, y = self.pool_x[: config.n], self.pool_y[: config.n]
        train_loader = InMemoryLoader(
            x, y, batch_size=self.batch_size, shuffle=True, device=self.device,
            generator=torch.Generator().manual_seed(seed), transform=augment,
        )  # fmt: skip
        optimizer = _optimizer(model, config)
        stopper = None
        if config.patience is not None:
            stopper = EarlyStopping(config.patience, monitor="val_acc", mode="max")
        history = fit(
            model, train_loader, epochs=config.epochs, optimizer=optimizer,
            val_loader=self.val_loader if curves or stopper else None,
            loss_fn=nn.CrossEntropyLoss(label_smoothing=config.label_smoothing),
            penalty=l1_penalty(config.l1) if config.l1 else None,
            early_stopping=stopper, progress=False,
        )  # fmt: skip
        m = min(config.n, 5000)
        train_logits, train_y = predict(model, InMemoryLoader(x[:m], y[:m], batch_size=m))
        logits, targets = predict(model, self.val_loader)
        right = logits.argmax(1) == targets
        train_acc = float((train_logits.argmax(1) == train_y).float().mean())
        val_acc = float(right.float().mean())
        result = {
            "model": model,
            "history": history,
            "epochs": len(history["epoch"]),
            "train_acc": train_acc,
            "val_acc": val_acc,
            "val_loss": float(nn.functional.cross_entropy(logits, targets)),
            "val_ece": expected_calibration_error(logits.softmax(1).max(1).values, right),
            "gap": train_acc - val_acc,
        }
        self.results[config, seed] = result
        return result

    def trained(self, config: Config, seeds: list[int]) -> list[dict[str, Any]]:
        """The runs of ``config`` for each of ``seeds``, training only those not done yet."""
        check_type("seeds", seeds, list)
        if not seeds:
            raise ValueError("seeds must list at least one seed, got []")
        for s in seeds:
            if (config, s) not in self.results:
                self.run(config, s)
        return [self.results[config, s] for s in seeds]


def _optimizer(model: nn.Module, config: Config) -> torch.optim.Optimizer:
    """Adam as ``fit`` builds it by default (:func:`helpers.training.adam`, fused where it can
    be), or AdamW, fused where it can be (the same update, faster)."""
    if config.optimizer == "adam":
        return adam(model, config.lr, weight_decay=config.weight_decay)
    try:
        return torch.optim.AdamW(
            model.parameters(), lr=config.lr, weight_decay=config.weight_decay, fused=True
        )
    except (RuntimeError, TypeError, ValueError):  # no fused kernel for this device or dtype
        return torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)


def mean_std(runs: list[dict[str, Any]], key: str) -> tuple[float, float]:
    """Mean and sample standard deviation of ``run[key]`` over ``runs`` (std 0 for one run)."""
    check_type("runs", runs, list)
    if not runs:
        raise ValueError("runs must hold at least one result, got []")
    if key not in runs[0]:
        raise KeyError(f"key must be one of {sorted(runs[0])}, got {key!r}")
    values = torch.tensor([float(r[key]) for r in runs], dtype=torch.float64)
    std = float(values.std()) if len(values) > 1 else 0.0
    return float(values.mean()), std


SUMMARY_KEYS = ("val_acc", "gap", "val_loss", "val_ece", "epochs")


def summarise(
    harness: Harness, configs: dict[str, Config], seeds: list[int]
) -> dict[str, dict[str, float]]:
    """``{name: {"val_acc_mean": ..., "val_acc_std": ..., ...}}`` over ``seeds`` for each config
    (keys: mean and std of each of ``SUMMARY_KEYS``)."""
    check_type("configs", configs, dict)
    table = {}
    for name, config in configs.items():
        runs = harness.trained(config, seeds)
        row = {}
        for key in SUMMARY_KEYS:
            row[f"{key}_mean"], row[f"{key}_std"] = mean_std(runs, key)
        table[name] = row
    return table


def format_table(table: dict[str, dict[str, float]]) -> str:
    """The table of :func:`summarise` as aligned text, accuracies and gaps in percent."""
    lines = [
        f"{'configuration':<28} {'validation accuracy':>20} {'gap (points)':>13} "
        f"{'val. loss':>9} {'val. ECE':>8} {'epochs':>6}"
    ]
    for name, r in table.items():
        lines.append(
            f"{name:<28} {100 * r['val_acc_mean']:>12.1f} ± {100 * r['val_acc_std']:3.1f} %"
            f" {100 * r['gap_mean']:>6.1f} ± {100 * r['gap_std']:3.1f}"
            f" {r['val_loss_mean']:>9.3f} {100 * r['val_ece_mean']:>7.1f}%"
            f" {r['epochs_mean']:>6.1f}"
        )
    return "\n".join(lines)
