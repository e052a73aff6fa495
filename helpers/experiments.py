"""A fair comparison of remedies for overfitting (notebook 06): two runs with the same seed share
data, initial weights and batch order, so their configurations cause whatever differs."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor, nn

from .data import InMemoryLoader
from .metrics import expected_calibration_error
from .models import mlp
from .regularization import augmentation, l1_penalty
from .training import EarlyStopping, adam, fit, predict


@dataclass(frozen=True)
class Config:
    """What may differ between two runs (the defaults: the baseline). ``optimizer`` is
    ``"adam"`` or ``"adamw"``; ``l1`` the strength of an L1 penalty; ``patience`` early stopping
    on validation accuracy (None: off); ``n`` the training images."""

    sizes: tuple[int, ...] = (784, 256, 256, 10)
    dropout: float = 0.0
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    l1: float = 0.0
    augment: bool = False
    label_smoothing: float = 0.0
    patience: int | None = None
    n: int = 1000
    epochs: int = 20

    def but(self, **changes: Any) -> Config:
        """A copy with ``changes``: ``baseline.but(dropout=0.5)``."""
        return replace(self, **changes)


def _optimizer(model: nn.Module, config: Config) -> torch.optim.Optimizer:
    """Adam as ``fit`` builds it, or AdamW, fused where the device has the kernel."""
    kwargs = {"lr": config.lr, "weight_decay": config.weight_decay}
    if config.optimizer == "adam":
        return adam(model, **kwargs)
    assert config.optimizer == "adamw", f"no optimizer called {config.optimizer!r}"
    try:
        return torch.optim.AdamW(model.parameters(), fused=True, **kwargs)
    except (RuntimeError, TypeError, ValueError):  # no fused kernel for this device or dtype
        return torch.optim.AdamW(model.parameters(), **kwargs)


class Harness:
    """Trains :class:`Config` runs on one training pool (``pool_x [N, 28, 28]`` uint8, in a
    fixed order) and measures them on one validation set; a ``(config, seed)`` runs once."""

    def __init__(
        self,
        pool_x: Tensor,
        pool_y: Tensor,
        val_x: Tensor,
        val_y: Tensor,
        *,
        batch_size: int = 64,
        device: str | torch.device = "cpu",
    ):
        self.pool_x, self.pool_y = pool_x, pool_y
        self.loader_args = {"batch_size": batch_size, "device": device}
        self.val_loader = InMemoryLoader(val_x, val_y, batch_size=len(val_y), device=device)
        self.results: dict[tuple[Config, int], dict[str, Any]] = {}
        self.n_runs = 0

    def model(self, config: Config, seed: int) -> nn.Module:
        """The initial model: it depends on ``config.sizes`` and ``seed`` only."""
        torch.manual_seed(seed)  # the initial weights, then the dropout masks
        return mlp(config.sizes, dropout=config.dropout).to(self.loader_args["device"])

    def run(self, config: Config, seed: int, *, curves: bool = False) -> dict[str, Any]:
        """Train ``config`` with ``seed``: the model, its history (validation curves if
        ``curves``), its epochs and :func:`_measure`'s numbers, kept for :meth:`trained`."""
        if config.n > len(self.pool_y):  # slicing would train on fewer images without a word
            raise ValueError(
                f"config.n must be at most the pool's {len(self.pool_y)}, got {config.n}"
            )
        model, x, y = self.model(config, seed), self.pool_x[: config.n], self.pool_y[: config.n]
        self.n_runs += 1
        augment = None
        if config.augment:  # from a generator of its own, so that the batch order stays the same
            augment = augmentation(generator=torch.Generator().manual_seed(10_000 + seed))
        order = torch.Generator().manual_seed(seed)
        train = InMemoryLoader(
            x, y, **self.loader_args, shuffle=True, generator=order, transform=augment
        )
        stopper = None
        if config.patience is not None:
            stopper = EarlyStopping(config.patience, monitor="val_acc", mode="max")
        history = fit(
            model,
            train,
            epochs=config.epochs,
            optimizer=_optimizer(model, config),
            val_loader=self.val_loader if curves or stopper else None,
            loss_fn=nn.CrossEntropyLoss(label_smoothing=config.label_smoothing),
            penalty=l1_penalty(config.l1) if config.l1 else None,
            early_stopping=stopper,
            progress=False,
        )
        result = {"model": model, "history": history, "epochs": len(history["epoch"])}
        self.results[config, seed] = result | _measure(model, x, y, self.val_loader)
        return self.results[config, seed]

    def trained(self, config: Config, seeds: list[int]) -> list[dict[str, Any]]:
        """The runs of ``config`` for each of ``seeds``, training only those not done yet."""
        for seed in seeds:
            if (config, seed) not in self.results:
                self.run(config, seed)
        return [self.results[config, seed] for seed in seeds]


def _measure(model: nn.Module, x: Tensor, y: Tensor, val_loader: InMemoryLoader) -> dict:
    """The accuracy on (up to 5,000 of) the clean training images ``x``, ``y``; the validation
    accuracy, loss and expected calibration error; the gap between the two accuracies."""
    m = min(len(y), 5000)
    train_logits, train_y = predict(model, InMemoryLoader(x[:m], y[:m], batch_size=m))
    logits, targets = predict(model, val_loader)
    right = logits.argmax(1) == targets
    train_acc = float((train_logits.argmax(1) == train_y).float().mean())
    val_acc = float(right.float().mean())
    ece = expected_calibration_error(logits.softmax(1).max(1).values, right)
    loss = float(nn.functional.cross_entropy(logits, targets))
    result = {"train_acc": train_acc, "val_acc": val_acc, "gap": train_acc - val_acc}
    return result | {"val_loss": loss, "val_ece": ece}


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
