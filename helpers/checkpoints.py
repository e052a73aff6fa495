"""Checkpoints: ``state_dict``s written atomically and read back with ``weights_only=True``, so
that training can stop and resume exactly."""

from __future__ import annotations

import copy
import io
import os
import re
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ._internal.files import write_atomic

CHECKPOINT_FORMAT = 1


class CheckpointError(RuntimeError):
    """A checkpoint cannot be used (damaged, unsafe, or for another model); the message names the
    file and says what to do."""


def save_checkpoint(
    path: str | os.PathLike,
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    generator: torch.Generator | None = None,
    epoch: int | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write what resuming needs to ``path`` and return it: the state_dicts of the objects given,
    the ``generator``'s state (the batch order to come), ``epoch``, ``extra`` and PyTorch's
    random states, as plain data. Atomic: a crash or full disk keeps the previous file intact."""
    state: dict[str, Any] = {"format": CHECKPOINT_FORMAT, "model": model.state_dict()}
    state.update(epoch=epoch, extra=extra or {}, torch_rng=torch.get_rng_state())
    for name, obj in (("optimizer", optimizer), ("scheduler", scheduler)):
        if obj is not None:
            state[name], state[f"{name}_class"] = obj.state_dict(), type(obj).__name__
    if generator is not None:
        state["generator"] = generator.get_state()
    if torch.cuda.is_available():
        state["cuda_rng"] = torch.cuda.get_rng_state_all()
    buffer = io.BytesIO()  # serialized in memory first: a full disk then fails as an OSError
    torch.save(state, buffer)
    return write_atomic(path, buffer.getbuffer())


def load_checkpoint(
    path: str | os.PathLike,
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    generator: torch.Generator | None = None,
    restore_rng: bool = True,
    map_location: str | torch.device = "cpu",
) -> dict[str, Any]:
    """Restore a checkpoint of :func:`save_checkpoint` into the objects given; return it (with
    ``"epoch"`` and ``"extra"``). ``weights_only=True``: a tampered file cannot run code. If any
    object's ``load_state_dict`` refuses, all are put back and :class:`CheckpointError` says why."""
    path = Path(path)
    state = _read(path, map_location)
    objects = [o for o in (model, optimizer, scheduler) if o is not None]
    undo = [(o.load_state_dict, copy.deepcopy(o.state_dict())) for o in objects]
    undo += [(torch.set_rng_state, torch.get_rng_state())]
    if generator is not None:
        undo += [(generator.set_state, generator.get_state())]
    what = "model"
    try:
        model.load_state_dict(state["model"])
        if optimizer is not None:
            what = "optimizer"
            optimizer.load_state_dict(state["optimizer"])
            _check_optimizer(optimizer, state.get("optimizer_class"))
        if scheduler is not None:
            what = "scheduler"
            scheduler.load_state_dict(state["scheduler"])
        if generator is not None:
            what = "generator"
            generator.set_state(state["generator"].cpu())
        if restore_rng:
            what = "random state"
            torch.set_rng_state(state["torch_rng"].cpu())
    except Exception as err:  # PyTorch's own checks refused it: put back what was loaded
        for load, before in undo:
            load(before)
        why = f"the file holds no {err.args[0]} state" if isinstance(err, KeyError) else str(err)
        why = " ".join(why.split())  # PyTorch's message, on one line and at most 300 characters
        why = why if len(why) <= 300 else why[:299] + "…"
        raise CheckpointError(
            f"{path} does not fit this {what} ({why}); nothing was "
            "changed. Load it into the model and optimizer it was saved from"
            + (", or with restore_rng=False." if what == "random state" else ".")
        ) from None
    cuda_rng = state.get("cuda_rng")
    if restore_rng and cuda_rng and len(cuda_rng) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.cpu() for s in cuda_rng])
    return state


def _check_optimizer(optimizer: torch.optim.Optimizer, saved_class: str | None) -> None:
    """PyTorch checks the parameter groups' sizes, not the optimizer's kind nor each moment's
    shape: a mismatch would fail only at the next step, far from its cause."""
    if saved_class not in (None, type(optimizer).__name__):
        raise ValueError(f"it holds the state of {saved_class}, not {type(optimizer).__name__}")
    for param, moments in optimizer.state.items():
        for key, value in moments.items():
            if torch.is_tensor(value) and value.dim() > 0 and value.shape != param.shape:
                raise ValueError(f"{key} is {list(value.shape)} for a {list(param.shape)} weight")


def _read(path: Path, map_location: str | torch.device) -> dict[str, Any]:
    """``torch.load(path, weights_only=True)``; a damaged, unsafe or foreign file raises
    :class:`CheckpointError`."""
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except OSError:
        raise  # missing, a folder, unreadable: Python's message names the file
    except Exception as err:  # RuntimeError (zip), EOFError, UnpicklingError, UnicodeDecodeError
        text = str(err).strip()
        if "Weights only load failed" in text:
            found = re.search(r"GLOBAL ([\w.]+)", text)  # the function the pickle would call
            raise CheckpointError(
                f"{path} contains Python objects ({found[1] if found else 'not plain data'}) "
                "that are not loaded, for safety: "
                "loading them could run any code. A checkpoint written by save_checkpoint holds "
                "only tensors and plain data; use one of those."
            ) from None
        first = text.splitlines()[0].split(". ")[0][:160] if text else "no detail"
        raise CheckpointError(
            f"cannot read checkpoint {path}: the file is truncated or corrupted "
            f"({type(err).__name__}: {first}); write it again or use an earlier checkpoint."
        ) from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{path} is not a checkpoint written by save_checkpoint (format {CHECKPOINT_FORMAT}):"
            f" it holds an object of type {type(state).__name__}"
        )
    return state
