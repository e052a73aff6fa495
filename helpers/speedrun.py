"""Time to a target accuracy (notebook 07, ``benchmarks/bench_cnn.py``).

:func:`train_to_target` trains a model with Adam and a one-cycle schedule over a number of epochs
that may be fractional (1.25 epochs: one pass, then the first quarter of a second one), checks
the validation accuracy a few times per epoch, and records when it first reaches the target. The
checks run inside the timed block, so their cost counts: a time to target that leaves out the
evaluation would flatter a recipe that checks often. With ``bf16=True`` the forward passes, of
training and of the checks, run under ``torch.autocast`` to bfloat16 (see
:func:`helpers.cpu.native_bf16` for where that is faster).
"""

from __future__ import annotations

from collections.abc import Sized

import torch
import torch.nn.functional as F
from torch import nn

from .checks import check_positive_int, check_range, check_type
from .cpu import Stopwatch, autocast_bf16
from .training import _model_device, adam, evaluate


def train_to_target(
    model: nn.Module,
    train_loader,
    val_loader,
    *,
    epochs: float,
    max_lr: float,
    label_smoothing: float = 0.0,
    target: float = 0.99,
    checks_per_epoch: int = 4,
    bf16: bool = False,
) -> dict:
    """Train ``model`` (already on its device and in its memory format) for ``epochs`` epochs of
    ``train_loader``: Adam, one-cycle to ``max_lr`` over all the steps, cross-entropy with
    ``label_smoothing``. The validation accuracy on ``val_loader`` is checked every
    ``1 / checks_per_epoch`` of an epoch until it reaches ``target``, and once more after the
    last step. With ``bf16=True`` every forward pass runs under autocast to bfloat16; the loss
    is computed in float32.

    Returns ``{"seconds_to_target", "epochs_to_target"}`` (``None`` when the target was never
    reached; the seconds are wall time since the start, checks included), ``"checks"`` (a list
    of ``(epochs done, wall seconds, validation accuracy)``), ``"steps"``, and ``"wall"``,
    ``"cpu"``, ``"load"`` of the whole run (see :class:`helpers.cpu.Stopwatch`).
    """
    check_type("model", model, nn.Module)
    check_type("epochs", epochs, float)
    if epochs <= 0:
        raise ValueError(f"epochs must be > 0 (a fraction is allowed), got {epochs!r}")
    check_type("max_lr", max_lr, float)
    if max_lr <= 0:
        raise ValueError(f"max_lr must be > 0, got {max_lr!r}")
    check_range("label_smoothing", label_smoothing, 0.0, 1.0)
    check_range("target", target, 0.0, 1.0)
    check_positive_int("checks_per_epoch", checks_per_epoch)
    check_type("bf16", bf16, bool)
    device = _model_device(model)
    if not isinstance(train_loader, Sized) or len(train_loader) == 0:
        raise ValueError("train_loader must have a length (batches per epoch) of at least 1")
    per_epoch = len(train_loader)
    steps = max(1, round(epochs * per_epoch))
    check_every = max(1, per_epoch // checks_per_epoch)
    optimizer = adam(model, lr=max_lr)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=max_lr, total_steps=steps)
    step, reached, checks = 0, None, []
    with Stopwatch() as watch:
        while step < steps:  # whole epochs, then the first part of the next one
            for x, y in train_loader:
                model.train()
                with autocast_bf16(device, bf16):
                    logits = model(x)
                loss = F.cross_entropy(logits.float(), y, label_smoothing=label_smoothing)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                step += 1
                if step == steps or (reached is None and step % check_every == 0):
                    with autocast_bf16(device, bf16):
                        accuracy = evaluate(model, val_loader)["accuracy"]  # waits for the GPU
                    checks.append((step / per_epoch, watch.elapsed(), accuracy))
                    if reached is None and accuracy >= target:
                        reached = checks[-1]
                if step == steps:
                    break
    return {
        "seconds_to_target": None if reached is None else reached[1],
        "epochs_to_target": None if reached is None else reached[0],
        "checks": checks,
        "steps": steps,
        "wall": watch.wall,
        "cpu": watch.cpu,
        "load": watch.load_before,
    }
