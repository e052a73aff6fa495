"""Training and evaluation. :func:`fit` runs the loop notebook 03 writes by hand (forward, loss,
``zero_grad``, ``backward``, ``step``) plus bookkeeping: a progress bar, the history, the NaN
guard, early stopping."""

from __future__ import annotations

import copy
import math
import time
import weakref
from collections.abc import Callable, Iterable

import torch
from torch import nn
from tqdm import tqdm  # a text bar: a widget bar breaks once a saved notebook is reopened

History = dict[str, list[float]]  # history["train_loss"][i] describes epoch i
HISTORY_KEYS = tuple("epoch train_loss train_acc val_loss val_acc lr time batch_loss".split())


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite; the message says when and what to try."""


def _model_device(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


@torch.no_grad()
def predict(model: nn.Module, loader: Iterable) -> tuple[torch.Tensor, torch.Tensor]:
    """``(logits [N, C], targets [N])`` on the CPU of ``model`` in eval mode over ``loader``."""
    device, was_training = _model_device(model), model.training
    model.eval()
    outputs, targets = [], []
    try:
        for x, y in loader:
            outputs.append(model(x.to(device)).float().cpu())
            targets.append(y.cpu())
    finally:
        model.train(was_training)
    return torch.cat(outputs), torch.cat(targets)


def evaluate(model: nn.Module, loader: Iterable, loss_fn: Callable | None = None) -> dict:
    """Mean loss and accuracy (in [0, 1]) of ``model`` on ``loader``, in eval mode, without
    gradients: ``{"loss": ..., "accuracy": ..., "n": ...}``."""
    logits, targets = predict(model, loader)
    loss = (loss_fn or nn.CrossEntropyLoss())(logits, targets)
    accuracy = (logits.argmax(1) == targets).float().mean()
    return {"loss": float(loss), "accuracy": float(accuracy), "n": len(targets)}


class EarlyStopping:
    """Stop when ``monitor`` has not improved for ``patience`` epochs, then restore the best
    weights: ``fit(..., early_stopping=EarlyStopping(3))`` calls ``step`` after every epoch and
    ``restore`` at the end. One instance follows one model (``reset()`` for another)."""

    MONITORS = {"val_loss": "min", "train_loss": "min", "val_acc": "max", "train_acc": "max"}

    def __init__(
        self,
        patience: int = 3,
        *,
        monitor: str = "val_loss",
        mode: str | None = None,
        min_delta: float = 0.0,
    ):
        # a wrong mode would keep the worst epoch's weights
        if monitor not in self.MONITORS or mode not in (None, self.MONITORS[monitor]):
            raise ValueError(
                f"monitor must be one of {list(self.MONITORS)}, and mode None or the monitor's "
                f"own ('min' for a loss, 'max' for an accuracy); got {monitor=}, {mode=}"
            )
        self.patience, self.monitor, self.min_delta = patience, monitor, min_delta
        self.mode = self.MONITORS[monitor]
        self.reset()

    def reset(self) -> None:
        """Forget the best value, weights and model so far."""
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.best_state: dict[str, torch.Tensor] | None = None
        self.bad_epochs = 0
        self._model: weakref.ref[nn.Module] | None = None

    def _follow(self, model: nn.Module) -> None:
        """Refuse a second model: its run would be judged against, and end with, the first's."""
        if self._model is None:
            self._model = weakref.ref(model)
        elif self._model() is not model:
            raise ValueError(
                "this EarlyStopping already holds the best weights of another model; create a "
                "new EarlyStopping for each model (or call .reset() first)"
            )

    def improved(self, value: float) -> bool:
        """Whether ``value`` beats the best so far by more than ``min_delta`` (a NaN never does)."""
        if math.isnan(value):
            return False
        if self.best is None:
            return True
        gain = self.best - value if self.mode == "min" else value - self.best
        return gain > self.min_delta

    def step(self, value: float, model: nn.Module, epoch: int | None = None) -> bool:
        """Record one epoch's ``value``; return True when training should stop."""
        self._follow(model)
        if self.improved(value):
            self.best, self.best_epoch, self.bad_epochs = value, epoch, 0
            self.best_state = copy.deepcopy(model.state_dict())
        else:
            self.bad_epochs += 1
        return self.bad_epochs >= self.patience

    def restore(self, model: nn.Module) -> None:
        """Load the best weights seen into ``model`` (nothing to do before the first step)."""
        if self.best_state is not None:
            self._follow(model)
            model.load_state_dict(self.best_state)


def adam(model: nn.Module, lr: float = 1e-3, **kwargs) -> torch.optim.Adam:
    """Adam over ``model``'s parameters, fused (one kernel call per step for all tensors) where
    this build has the kernel for the device: the same update, in less time."""
    try:
        return torch.optim.Adam(model.parameters(), lr=lr, fused=True, **kwargs)
    except (RuntimeError, TypeError, ValueError):  # no fused kernel for this device or dtype
        return torch.optim.Adam(model.parameters(), lr=lr, **kwargs)


def fit(
    model: nn.Module,
    train_loader: Iterable,
    *,
    epochs: int,
    val_loader: Iterable | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    loss_fn: Callable | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    penalty: Callable[[nn.Module], torch.Tensor] | None = None,
    early_stopping: EarlyStopping | None = None,
    progress: bool = True,
    desc: str = "fit",
    check_every: int | None = None,
) -> History:
    """Train ``model`` for ``epochs`` passes over ``train_loader``; return the history, one value
    per epoch for each of ``HISTORY_KEYS`` (``val_*`` NaN without ``val_loader``; ``batch_loss``
    one per step). Defaults: Adam, lr 1e-3, cross-entropy. ``scheduler`` steps every batch;
    ``penalty(model)`` is added to the loss. A NaN or infinite loss raises
    :class:`TrainingDiverged`, checked every ``check_every`` steps before ``backward``: 1 on a
    CPU; 32 on CUDA, so that the CPU need not wait for the GPU (up to 31 steps may follow)."""
    if early_stopping and early_stopping.monitor.startswith("val") and val_loader is None:
        raise ValueError(
            f"early_stopping monitors {early_stopping.monitor!r}, which needs a val_loader"
        )
    device = _model_device(model)
    check_every = check_every or (32 if device.type == "cuda" else 1)
    optimizer = optimizer or adam(model)
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    history: History = {key: [] for key in HISTORY_KEYS}
    start = time.perf_counter()
    monitor = early_stopping.monitor if early_stopping else None
    bar = tqdm(total=epochs * len(train_loader), desc=desc, disable=not progress, leave=False)
    with bar:
        for epoch in range(1, epochs + 1):
            losses, accuracy = _train_epoch(
                model, train_loader, optimizer, loss_fn, scheduler, penalty, check_every, epoch, bar
            )
            val = evaluate(model, val_loader, loss_fn) if val_loader is not None else None
            _record(history, epoch, losses, accuracy, val, optimizer, time.perf_counter() - start)
            if monitor and early_stopping.step(history[monitor][-1], model, epoch):
                break
    if early_stopping:
        early_stopping.restore(model)
    return history


def _train_epoch(
    model, loader, optimizer, loss_fn, scheduler, penalty, check_every, epoch, bar
) -> tuple[torch.Tensor, float]:
    """One pass over ``loader``: ``(batch losses on the CPU, training accuracy)``."""
    model.train()
    device = _model_device(model)
    losses, predicted, labels, unchecked, steps = [], [], [], [], len(loader)
    for step, (x, y) in enumerate(loader, 1):
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        output = model(x)
        loss = loss_fn(output, y)
        total = loss + penalty(model) if penalty is not None else loss
        unchecked.append(total.detach())
        if len(unchecked) == check_every or step == steps:
            _check_finite(unchecked, step, epoch, optimizer)
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        # kept on the device and counted once per epoch: no wait for the GPU per step
        losses.append(loss.detach())
        predicted.append(output.detach().argmax(1))
        labels.append(y)
        bar.update(1)
        if (step % 100 == 0 or step == steps) and not bar.disable:
            bar.set_postfix(epoch=epoch, loss=f"{float(torch.stack(losses[-100:]).mean()):.3f}")
    correct = (torch.cat(predicted) == torch.cat(labels)).sum()
    return torch.stack(losses).float().cpu(), int(correct) / sum(len(y) for y in labels)


def _check_finite(unchecked: list[torch.Tensor], step: int, epoch: int, optimizer) -> None:
    """Raise :class:`TrainingDiverged` for the first non-finite loss among the last
    ``len(unchecked)`` steps (up to ``step``), then empty the list."""
    # one read from the device (.item() for one loss: a tenth of stack's cost)
    values = torch.stack(unchecked).tolist() if len(unchecked) > 1 else [unchecked[0].item()]
    unchecked.clear()
    for i, value in enumerate(values):
        if not math.isfinite(value):
            batch, lr = step - len(values) + 1 + i, optimizer.param_groups[0].get("lr")
            err = TrainingDiverged(
                f"training diverged: the loss became {value} at epoch {epoch}, batch {batch} "
                f"(lr={lr}); lower the learning rate or check the inputs for NaN"
            )
            err.epoch, err.batch = epoch, batch
            raise err


def _record(history: History, epoch, losses, accuracy, val, optimizer, seconds) -> None:
    """Append one epoch to ``history`` (``val`` is :func:`evaluate`'s dict, or None)."""
    history["epoch"].append(epoch)
    history["batch_loss"].extend(losses.tolist())
    history["train_loss"].append(float(losses.mean()))
    history["train_acc"].append(accuracy)
    history["val_loss"].append(val["loss"] if val else math.nan)
    history["val_acc"].append(val["accuracy"] if val else math.nan)
    history["lr"].append(optimizer.param_groups[0]["lr"])
    history["time"].append(seconds)
