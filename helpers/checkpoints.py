"""Checkpoints: ``state_dict``s written atomically, read back with
``torch.load(..., weights_only=True)``, so that training can stop and resume exactly.
"""

from __future__ import annotations

import copy
import io
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ._internal.checks import check_type
from ._internal.files import write_atomic

CHECKPOINT_FORMAT = 1


class CheckpointError(RuntimeError):
    """A checkpoint cannot be used: truncated, corrupted, not a checkpoint, refused as unsafe, or
    not matching the model; the message names the file and says what to do."""


def _check_checkpoint_args(
    path: Any, model: Any, optimizer: Any, scheduler: Any, generator: Any
) -> None:
    """The argument checks :func:`save_checkpoint` and :func:`load_checkpoint` share."""
    check_type("path", path, (str, os.PathLike))
    check_type("model", model, nn.Module)
    check_type("optimizer", optimizer, (torch.optim.Optimizer, type(None)))
    check_type("scheduler", scheduler, (torch.optim.lr_scheduler.LRScheduler, type(None)))
    check_type("generator", generator, (torch.Generator, type(None)))


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
    """Write everything needed to resume training to ``path``, atomically; return the path.

    The file holds state_dicts only (tensors, numbers, strings, lists and dicts), so
    :func:`load_checkpoint` can read it with ``torch.load(..., weights_only=True)``: ``model``'s
    weights, and when given the ``optimizer``'s state (Adam's moments, step counts), the
    ``scheduler``'s position, the shuffling ``generator``'s state (the batch order of the epochs
    still to come), the number of finished ``epoch`` s and ``extra`` (plain data such as a
    history). PyTorch's global CPU random state (dropout on the CPU) and the CUDA one, when there
    is a GPU, are saved too.

    Written with :func:`helpers.files.write_atomic`: a crash or a full disk mid-write leaves the
    previous checkpoint intact, never a half-written one (a full disk raises
    :class:`~helpers.files.WriteError`, "no space left on device"), and temporary files of a
    save that was killed earlier are removed.
    """
    _check_checkpoint_args(path, model, optimizer, scheduler, generator)
    check_type("epoch", epoch, (int, type(None)))
    if epoch is not None and epoch < 0:
        raise ValueError(f"epoch must be an integer >= 0 or None, got {epoch!r}")
    check_type("extra", extra, (dict, type(None)))
    state: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        "model": model.state_dict(),
        "epoch": epoch,
        "extra": extra or {},
        "torch_rng": torch.get_rng_state(),
    }
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    if scheduler is not None:
        state["scheduler"] = scheduler.state_dict()
    if generator is not None:
        state["generator"] = generator.get_state()
    if torch.cuda.is_available():
        state["cuda_rng"] = torch.cuda.get_rng_state_all()
    buffer = io.BytesIO()  # serialized in memory first: a full disk then fails as an OSError
    torch.save(state, buffer)
    return write_atomic(path, buffer.getbuffer())


def _read_checkpoint(path: Path, map_location: str | torch.device) -> dict[str, Any]:
    """``torch.load(path, weights_only=True)``, every failure turned into one
    :class:`CheckpointError`."""
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # RuntimeError (zip), EOFError, UnpicklingError, UnicodeDecodeError
        text = str(err)
        if "Weights only load failed" in text:
            what = next(
                (
                    line.strip().removeprefix("WeightsUnpickler error: ").split(". ")[0]
                    for line in text.splitlines()
                    if "GLOBAL" in line
                ),
                "objects other than tensors and plain data",
            )
            raise CheckpointError(
                f"{path} contains Python objects ({what}) that are not loaded, for safety: "
                "loading them could run any code. A checkpoint written by save_checkpoint holds "
                "only tensors and plain data; use one of those."
            ) from None
        first = text.strip().splitlines()[0].split(". ")[0][:160] if text.strip() else "no detail"
        raise CheckpointError(
            f"cannot read checkpoint {path}: the file is truncated or corrupted "
            f"({type(err).__name__}: {first}); write it again or use an earlier checkpoint."
        ) from None
    if (
        not isinstance(state, dict)
        or "model" not in state
        or state.get("format") != CHECKPOINT_FORMAT
    ):
        raise CheckpointError(
            f"{path} is not a checkpoint written by save_checkpoint (format "
            f"{CHECKPOINT_FORMAT}); it holds a {type(state).__name__}"
            + (f" with keys {sorted(state)[:8]}" if isinstance(state, dict) else "")
        )
    return state


def _shape(value: Any) -> list[int] | None:
    return list(value.shape) if isinstance(value, torch.Tensor) else None


def _check_fits(
    path: Path,
    state: dict[str, Any],
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None,
    generator: torch.Generator | None,
) -> None:
    """Raise :class:`CheckpointError` unless every saved state fits the object it is for.

    Checked before anything is loaded, so a checkpoint of another architecture or optimizer
    leaves the objects untouched.
    """
    want, got = model.state_dict(), state["model"]
    if not isinstance(got, dict):
        raise CheckpointError(f"{path} has no model weights (a {type(got).__name__})")
    problems = [f"missing {k}" for k in want if k not in got]
    problems += [f"unexpected {k}" for k in got if k not in want]
    problems += [
        f"{k} is {_shape(got[k])} in the file but {_shape(v)} in the model"
        for k, v in want.items()
        if k in got and _shape(got[k]) != _shape(v)
    ]
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise CheckpointError(
            f"{path} does not fit this model: {'; '.join(problems[:3])}{more}. Load it into the "
            "architecture it was saved from; the model was left unchanged."
        )
    if optimizer is not None:
        saved = state["optimizer"]
        groups = saved.get("param_groups") if isinstance(saved, dict) else None
        sizes = [len(g["params"]) for g in optimizer.param_groups]
        if not isinstance(groups, list) or [len(g.get("params", ())) for g in groups] != sizes:
            raise CheckpointError(
                f"{path} holds the state of an optimizer over other parameters (groups of "
                f"{[len(g.get('params', ())) for g in groups or []]} tensors, this optimizer has "
                f"{sizes}); create the optimizer over the same model; nothing was changed."
            )
        params = [p for g in optimizer.param_groups for p in g["params"]]
        index = {pid: params[i] for i, pid in enumerate(p for g in groups for p in g["params"])}
        for pid, entry in (saved.get("state") or {}).items():
            param = index.get(pid)
            for key, value in entry.items() if isinstance(entry, dict) else ():
                if param is None or (
                    isinstance(value, torch.Tensor)
                    and value.dim() > 0
                    and value.shape != param.shape
                ):
                    raise CheckpointError(
                        f"{path} holds an optimizer state ({key} {_shape(value)}) that does not "
                        f"fit this optimizer's parameters; create the optimizer over the same "
                        "model; nothing was changed."
                    )
    if generator is not None:
        saved_rng = state["generator"]
        if not isinstance(saved_rng, torch.Tensor) or _shape(saved_rng) != _shape(
            generator.get_state()
        ):
            raise CheckpointError(
                f"{path} holds no valid generator state for a {generator.device} generator; "
                "nothing was changed."
            )


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
    """Restore a checkpoint written by :func:`save_checkpoint` into the objects given; return it.

    Reads with ``torch.load(..., weights_only=True)``: only tensors and plain data are accepted,
    so a tampered file cannot run code while loading. ``model`` (and ``optimizer``,
    ``scheduler``, ``generator`` when given) get their saved states; with ``restore_rng`` the
    global random states too. The returned dict has ``"epoch"`` (finished epochs) and
    ``"extra"`` as saved. Tensors are loaded to ``map_location`` first, then copied to where the
    model's parameters live, so a GPU checkpoint loads on a CPU-only machine.

    Raises ``FileNotFoundError`` for a missing file and :class:`CheckpointError` (naming the file)
    for a truncated, corrupted or unsafe one, for one without a state that was asked for, or
    for one whose weights do not fit ``model``.
    """
    _check_checkpoint_args(path, model, optimizer, scheduler, generator)
    check_type("restore_rng", restore_rng, bool)
    check_type("map_location", map_location, (str, torch.device))
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist (or is not a file)")
    state = _read_checkpoint(path, map_location)
    for name, obj in (("optimizer", optimizer), ("scheduler", scheduler), ("generator", generator)):
        if obj is not None and name not in state:
            raise CheckpointError(
                f"{path} holds no {name} state, but a {name} was given to restore; "
                f"it was saved without {name}=..."
            )
    _check_fits(path, state, model, optimizer, generator)
    if restore_rng and _shape(state.get("torch_rng")) != _shape(torch.get_rng_state()):
        raise CheckpointError(
            f"{path} holds no valid random state; load it with restore_rng=False; "
            "nothing was changed."
        )
    # Everything is checked, but load transactionally anyway: on any error, put back what was there.
    saved = [
        (obj, copy.deepcopy(obj.state_dict()))
        for obj in (model, optimizer, scheduler)
        if obj is not None
    ]
    try:
        model.load_state_dict(state["model"])
        if optimizer is not None:
            optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(state["scheduler"])
        if generator is not None:
            generator.set_state(state["generator"].cpu())
    except Exception as err:
        for obj, before in saved:
            obj.load_state_dict(before)
        raise CheckpointError(
            f"{path} could not be loaded ({type(err).__name__}: "
            f"{' '.join(str(err).split())[:200]}); nothing was changed"
        ) from None
    if restore_rng:
        torch.set_rng_state(state["torch_rng"].cpu())
        if (
            "cuda_rng" in state
            and torch.cuda.is_available()
            and len(state["cuda_rng"]) == torch.cuda.device_count()
        ):
            torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda_rng"]])
    return state
