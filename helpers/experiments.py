"""A fair comparison harness: train configurations that differ in one remedy, seed by seed.

Notebook 06 writes the idea out in a few lines first. Two runs with the same seed share the data
(the first ``n`` images of one fixed training pool, one validation set), the initial weights
(``torch.manual_seed(seed)`` right before the model is built; dropout has no parameters), the
batch order (the loader's own generator, seeded with ``seed``; augmentation draws from another,
so switching it on leaves the order alone) and the budget (the same epochs, unless early stopping
ends a run sooner). Whatever differs between their results is caused by the configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from .data import InMemoryLoader
from .metrics import expected_calibration_error
from .models import mlp
from .regularization import augmentation, l1_penalty
from .training import EarlyStopping, adam, fit, predict


@dataclass(frozen=True)
class Config:
    """Everything that may differ between two runs of a comparison; the defaults are the baseline.

    ``sizes``: the MLP's layers; ``dropout``: its rate after each hidden layer; ``optimizer``:
    ``"adam"`` or ``"adamw"``, with ``lr`` and ``weight_decay``; ``l1``: the strength of an L1
    penalty; ``augment``: random rotations and shifts; ``label_smoothing``: of the cross-entropy;
    ``patience``: early stopping on validation accuracy (None: off); ``n``: training images;
    ``epochs``: the budget.
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

    def but(self, **changes: Any) -> Config:
        """A copy with ``changes``: ``baseline.but(dropout=0.5)``."""
        return replace(self, **changes)


def _optimizer(model: nn.Module, config: Config) -> torch.optim.Optimizer:
    """Adam as ``fit`` builds it, or AdamW; fused where the device has the kernel (the same
    update, faster)."""
    kwargs = {"lr": config.lr, "weight_decay": config.weight_decay}
    if config.optimizer == "adam":
        return adam(model, **kwargs)
    assert config.optimizer == "adamw", f"no optimizer called {config.optimizer!r}"
    try:
        return torch.optim.AdamW(model.parameters(), fused=True, **kwargs)
    except (RuntimeError, TypeError, ValueError):  # no fused kernel for this device or dtype
        return torch.optim.AdamW(model.parameters(), **kwargs)


class Harness:
    """Train and measure :class:`Config` runs on one training pool (``pool_x [N, 28, 28]``
    uint8, ``pool_y [N]``, in a fixed order) and one validation set; every ``(config, seed)``
    run is cached, so a configuration in several comparisons is trained once."""

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
        self.pool_x, self.pool_y, self.batch_size, self.device = pool_x, pool_y, batch_size, device
        self.val_loader = InMemoryLoader(val_x, val_y, batch_size=len(val_y), device=device)
        self.results: dict[tuple[Config, int], dict[str, Any]] = {}
        self.n_runs = 0

    def model(self, config: Config, seed: int) -> nn.Module:
        """The initial model of ``config`` for ``seed``: it depends on the sizes and the seed."""
        torch.manual_seed(seed)  # the initial weights, then the dropout masks
        return mlp(config.sizes, dropout=config.dropout).to(self.device)

    def run(self, config: Config, seed: int, *, curves: bool = False) -> dict[str, Any]:
        """Train ``config`` with ``seed`` (always) and cache the result for :meth:`trained`.

        Returns the model, the history (validation columns filled if ``curves`` or early
        stopping asks; the results are the same either way), the epochs run, the accuracy on
        (up to 5,000 of) the clean training images in eval mode, the validation accuracy, loss
        and expected calibration error, and the gap ``train_acc - val_acc``.
        """
        if config.n > len(self.pool_y):  # slicing would train on fewer images without a word
            raise ValueError(
                f"config.n must be at most the pool's {len(self.pool_y)}, got {config.n}"
            )
        model, x, y = self.model(config, seed), self.pool_x[: config.n], self.pool_y[: config.n]
        self.n_runs += 1
        shuffle = torch.Generator().manual_seed(seed)
        augment = augmentation(generator=torch.Generator().manual_seed(10_000 + seed))
        train_loader = InMemoryLoader(
            x,
            y,
            batch_size=self.batch_size,
            shuffle=True,
            device=self.device,
            generator=shuffle,
            transform=augment if config.augment else None,
        )
        stopper = None
        if config.patience is not None:
            stopper = EarlyStopping(config.patience, monitor="val_acc", mode="max")
        history = fit(
            model,
            train_loader,
            epochs=config.epochs,
            optimizer=_optimizer(model, config),
            val_loader=self.val_loader if curves or stopper else None,
            loss_fn=nn.CrossEntropyLoss(label_smoothing=config.label_smoothing),
            penalty=l1_penalty(config.l1) if config.l1 else None,
            early_stopping=stopper,
            progress=False,
        )
        m = min(config.n, 5000)
        train_logits, train_y = predict(model, InMemoryLoader(x[:m], y[:m], batch_size=m))
        logits, targets = predict(model, self.val_loader)
        right = logits.argmax(1) == targets
        train_acc = float((train_logits.argmax(1) == train_y).float().mean())
        val_acc = float(right.float().mean())
        self.results[config, seed] = {
            "model": model,
            "history": history,
            "epochs": len(history["epoch"]),
            "train_acc": train_acc,
            "val_acc": val_acc,
            "val_loss": float(nn.functional.cross_entropy(logits, targets)),
            "val_ece": expected_calibration_error(logits.softmax(1).max(1).values, right),
            "gap": train_acc - val_acc,
        }
        return self.results[config, seed]

    def trained(self, config: Config, seeds: list[int]) -> list[dict[str, Any]]:
        """The runs of ``config`` for each of ``seeds``, training only those not done yet."""
        for seed in seeds:
            if (config, seed) not in self.results:
                self.run(config, seed)
        return [self.results[config, seed] for seed in seeds]


def mean_std(runs: list[dict[str, Any]], key: str) -> tuple[float, float]:
    """Mean and sample standard deviation of ``run[key]`` over ``runs`` (std 0 for one run)."""
    values = torch.tensor([float(r[key]) for r in runs], dtype=torch.float64)
    return float(values.mean()), float(values.std()) if len(values) > 1 else 0.0


SUMMARY_KEYS = ("val_acc", "gap", "val_loss", "val_ece", "epochs")


def summarise(
    harness: Harness, configs: dict[str, Config], seeds: list[int]
) -> dict[str, dict[str, float]]:
    """``{name: {"val_acc_mean": ..., "val_acc_std": ..., ...}}``: the mean and std over
    ``seeds`` of each of ``SUMMARY_KEYS``, for each configuration."""
    table = {}
    for name, config in configs.items():
        runs = harness.trained(config, seeds)
        table[name] = {}
        for key in SUMMARY_KEYS:
            table[name][f"{key}_mean"], table[name][f"{key}_std"] = mean_std(runs, key)
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
