"""Training and evaluation: ``fit`` returns a history dict that the plots consume.

The loop inside :func:`fit` is the one notebook 03 writes out by hand (forward, loss,
``zero_grad``, ``backward``, ``step``); this module only adds bookkeeping around it.
"""

from __future__ import annotations

import copy
import math
import time
import weakref
from collections.abc import Callable, Iterable

import torch
from torch import nn
from tqdm import tqdm  # a text bar: a widget bar breaks once a saved notebook is reopened

from ._internal.checks import check_choice, check_positive_int, check_type

# history["epoch"][i], history["train_loss"][i], ... describe epoch i; "batch_loss" has one entry
# per step.
History = dict[str, list[float]]
HISTORY_KEYS = (
    "epoch",
    "train_loss",
    "train_acc",
    "val_loss",
    "val_acc",
    "lr",
    "time",
    "batch_loss",
)


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite; the message says when and what to try."""


def _model_device(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


@torch.no_grad()
def predict(model: nn.Module, loader: Iterable) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``model`` in eval mode over ``loader``; return ``(logits [N, C], targets [N])`` on the
    CPU."""
    check_type("model", model, nn.Module)
    device, was_training = _model_device(model), model.training
    model.eval()
    outputs, targets = [], []
    try:
        for x, y in loader:
            outputs.append(model(x.to(device)).float().cpu())
            targets.append(y.cpu())
    finally:
        model.train(was_training)
    if not outputs:
        raise ValueError("loader must yield at least one batch, got an empty loader")
    return torch.cat(outputs), torch.cat(targets)


def evaluate(
    model: nn.Module, loader: Iterable, loss_fn: Callable | None = None
) -> dict[str, float]:
    """Mean loss and accuracy of ``model`` on ``loader`` (eval mode, no gradients).

    Returns ``{"loss": ..., "accuracy": ..., "n": ...}`` with accuracy in [0, 1].
    """
    logits, targets = predict(model, loader)
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    return {
        "loss": float(loss_fn(logits, targets)),
        "accuracy": float((logits.argmax(1) == targets).float().mean()),
        "n": len(targets),
    }


class EarlyStopping:
    """Stop when a validation metric has not improved for ``patience`` epochs; keep the best
    weights.

    Give it to :func:`fit` (``early_stopping=EarlyStopping(patience=3)``): after every epoch ``fit``
    calls ``step(value, model)``; when it returns True training stops, and at the end ``fit`` calls
    ``restore(model)`` so the model holds the weights of the best epoch.

    ``mode`` follows from ``monitor`` ("min" for a loss, "max" for an accuracy). One instance
    follows one model: more ``fit`` calls on the same model continue where it left off; for
    another model create a new ``EarlyStopping`` (or call :meth:`reset`).
    """

    MONITORS = {"val_loss": "min", "train_loss": "min", "val_acc": "max", "train_acc": "max"}

    def __init__(
        self,
        patience: int = 3,
        *,
        monitor: str = "val_loss",
        mode: str | None = None,
        min_delta: float = 0.0,
    ):
        check_positive_int("patience", patience)
        check_choice("monitor", monitor, tuple(self.MONITORS))
        check_choice("mode", mode, ("min", "max", None))
        if mode is not None and mode != self.MONITORS[monitor]:
            raise ValueError(
                f"mode must be {self.MONITORS[monitor]!r} (or None) for monitor={monitor!r}, "
                f"got {mode!r}: a lower {monitor} is "
                f"{'better' if self.MONITORS[monitor] == 'min' else 'worse'}"
            )
        check_type("min_delta", min_delta, float)
        if min_delta < 0:
            raise ValueError(f"min_delta must be >= 0, got {min_delta!r}")
        self.patience, self.monitor, self.min_delta = patience, monitor, min_delta
        self.mode = self.MONITORS[monitor]
        self.reset()

    def reset(self) -> None:
        """Forget the best value, weights and model so far: start afresh (for another model)."""
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.best_state: dict[str, torch.Tensor] | None = None
        self.bad_epochs = 0
        self._model: weakref.ref[nn.Module] | None = None

    def _follow(self, model: nn.Module) -> None:
        check_type("model", model, nn.Module)
        followed = self._model() if self._model is not None else None
        if self._model is None:
            self._model = weakref.ref(model)
        elif followed is not model:
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
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

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
    """Adam over ``model``'s parameters, using the fused kernel (one call per step for all tensors)
    where this PyTorch build has it for the model's device: the same update, about 2.5x less
    optimizer time on a CPU for the course's MLP."""
    check_type("lr", lr, float)
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
    """Train ``model`` for ``epochs`` passes over ``train_loader``; return the history.

    Defaults follow the source article: Adam with lr 1e-3 (fused, see :func:`adam`) and
    cross-entropy. ``scheduler`` is stepped after every batch (size its horizon in steps);
    ``penalty(model)`` is added to the loss (an L1 term, say); ``early_stopping`` may end training
    early and restores the best weights.
    Batches are moved to the model's device.

    The NaN guard: a NaN or infinite loss raises :class:`TrainingDiverged`, naming the FIRST
    batch whose loss was not finite. ``check_every`` is how many steps pass between reads of
    that check on the host. None picks 1 except on CUDA (on a CPU reading one number costs about
    a microsecond): training stops before ``backward`` of the bad batch, so no step is taken
    with NaN gradients or on NaN weights. On CUDA it picks 32: a device-side flag collects the check
    without making the CPU wait for the GPU every step, and is read every 32 steps (and at the
    end of each epoch); the error still names the first bad batch, but up to 31 further steps
    have run. Pass ``check_every=1`` to stop at once on a GPU too.

    The history maps each of ``HISTORY_KEYS`` to a list: one entry per epoch (``val_*`` are NaN
    without a validation loader), except ``batch_loss`` with one entry per step.
    """
    check_type("model", model, nn.Module)
    check_positive_int("epochs", epochs)
    check_type("progress", progress, bool)
    if isinstance(early_stopping, type):
        raise TypeError(
            "early_stopping must be an EarlyStopping instance, got the class itself; "
            "write early_stopping=EarlyStopping(...)"
        )
    check_type("early_stopping", early_stopping, (EarlyStopping, type(None)))
    if check_every is not None:
        check_positive_int("check_every", check_every)
    try:
        steps_per_epoch = len(train_loader)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(
            f"train_loader must be a DataLoader or InMemoryLoader (with a length), "
            f"got {type(train_loader).__name__}"
        ) from None
    if steps_per_epoch == 0:
        raise ValueError("train_loader must yield at least one batch, got an empty loader")
    if (
        early_stopping is not None
        and early_stopping.monitor.startswith("val")
        and val_loader is None
    ):
        raise ValueError(
            f"early_stopping monitors {early_stopping.monitor!r}, which needs a val_loader"
        )
    device = _model_device(model)
    if check_every is None:
        check_every = 32 if device.type == "cuda" else 1
    optimizer = optimizer or adam(model)
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    history: History = {key: [] for key in HISTORY_KEYS}
    start = time.perf_counter()
    bar = tqdm(total=epochs * steps_per_epoch, desc=desc, disable=not progress, leave=False)
    try:
        for epoch in range(1, epochs + 1):
            model.train()
            # per step, on the device: the loss, the predicted classes and the labels (counted
            # once at the end of the epoch: fewer small operations per step than a running sum)
            losses: list[torch.Tensor] = []
            predicted: list[torch.Tensor] = []
            labels: list[torch.Tensor] = []
            finite: list[torch.Tensor] = []  # deferred checks only
            for step, (x, y) in enumerate(train_loader, 1):
                x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                output = model(x)
                loss = loss_fn(output, y)
                total = loss + penalty(model) if penalty is not None else loss
                if check_every == 1:
                    if not math.isfinite(total.item()):  # before backward: no step on NaN
                        _diverged(total, epoch, step, optimizer)
                else:
                    finite.append(torch.isfinite(total.detach()))
                optimizer.zero_grad(set_to_none=True)
                total.backward()
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                losses.append(loss.detach())
                predicted.append(output.detach().argmax(1))
                labels.append(y)
                bar.update(1)
                if check_every > 1 and (step % check_every == 0 or step == steps_per_epoch):
                    _check_deferred(finite, losses, epoch, optimizer)
                if progress and (step % 100 == 0 or step == steps_per_epoch):
                    recent = float(torch.stack(losses[-100:]).mean())
                    hits = torch.cat(predicted[-100:]) == torch.cat(labels[-100:])
                    bar.set_postfix(
                        epoch=epoch, loss=f"{recent:.3f}", acc=f"{float(hits.float().mean()):.3f}"
                    )
            batch_loss = torch.stack(losses).float().cpu()
            correct = int((torch.cat(predicted) == torch.cat(labels)).sum())
            history["epoch"].append(epoch)
            history["batch_loss"].extend(batch_loss.tolist())
            history["train_loss"].append(float(batch_loss.mean()))
            history["train_acc"].append(correct / sum(len(y) for y in labels))
            history["lr"].append(optimizer.param_groups[0]["lr"])
            if val_loader is not None:
                val = evaluate(model, val_loader, loss_fn)
                history["val_loss"].append(val["loss"])
                history["val_acc"].append(val["accuracy"])
            else:
                history["val_loss"].append(math.nan)
                history["val_acc"].append(math.nan)
            history["time"].append(time.perf_counter() - start)
            if early_stopping is not None:
                if early_stopping.step(history[early_stopping.monitor][-1], model, epoch):
                    break
    finally:
        bar.close()
    if early_stopping is not None:
        early_stopping.restore(model)
    return history


def _diverged(loss: torch.Tensor, epoch: int, step: int, optimizer: torch.optim.Optimizer) -> None:
    """Raise :class:`TrainingDiverged` for the non-finite ``loss`` of batch ``step``."""
    lr = optimizer.param_groups[0].get("lr")
    err = TrainingDiverged(
        f"training diverged: the loss became {float(loss.detach())} at epoch {epoch}, batch {step} "
        f"(lr={lr}); lower the learning rate or check the inputs for NaN"
    )
    err.epoch, err.batch = epoch, step
    raise err


def _check_deferred(
    finite: list[torch.Tensor],
    losses: list[torch.Tensor],
    epoch: int,
    optimizer: torch.optim.Optimizer,
) -> None:
    """Read the device-side flags of this epoch's steps once; raise for the first bad batch."""
    flags = torch.stack(finite)
    if bool(flags.all()):  # the one host sync per check_every steps
        return
    first = int((~flags).nonzero()[0])
    _diverged(losses[first], epoch, first + 1, optimizer)
