"""Argument checks that end in one readable sentence.

Every public helper validates its inputs with these functions, so a bad value fails early with a
message that names the argument, the value it got and what is accepted, instead of a stack trace
from deep inside PyTorch.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def _type_names(types: type | tuple[type, ...]) -> str:
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join("None" if t is type(None) else t.__name__ for t in types)


def check_type(name: str, value: Any, types: type | tuple[type, ...]) -> Any:
    """Return ``value`` if it is an instance of ``types``, else raise ``TypeError``.

    ``bool`` is not accepted where ``int`` or ``float`` is asked for (``epochs=True`` is a
    mistake, not 1), and an ``int`` is accepted where a ``float`` is asked for (``lr=1``).
    """
    wanted = types if isinstance(types, tuple) else (types,)
    ok = isinstance(value, wanted)
    if isinstance(value, bool) and bool not in wanted:
        ok = False
    if not ok and float in wanted and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        raise TypeError(
            f"{name} must be {_type_names(types)}, got {value!r} of type {type(value).__name__}"
        )
    return value


def check_positive_int(name: str, value: Any, *, allow_zero: bool = False) -> int:
    """Return ``value`` if it is an int > 0 (or >= 0 with ``allow_zero``), else raise."""
    check_type(name, value, int)
    if value < 0 or (value == 0 and not allow_zero):
        accepted = "an integer >= 0" if allow_zero else "an integer >= 1"
        raise ValueError(f"{name} must be {accepted}, got {value!r}")
    return value


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``, else raise ``ValueError``."""
    choices = list(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_range(name: str, value: Any, low: float, high: float) -> float:
    """Return ``value`` if it is a number with ``low <= value <= high``, else raise."""
    check_type(name, value, float)
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value!r}")
    return value


def check_params(**params: tuple[Any, ...]) -> None:
    """Check a notebook's parameters, each given as ``name=(value, type)`` or ``(value, type,
    low)``.

    Papermill injects parameters as Python literals, so ``-p epochs three`` arrives as the
    string ``"three"``; this turns that into ``TypeError: epochs must be int, got 'three' ...``
    in the notebook's setup cell instead of a failure many cells later. With a third item,
    the value must also be at least ``low`` (checked before any smoke-mode override, so
    ``epochs=0`` is refused rather than silently turned into a tiny run).

    >>> check_params(epochs=(3, int, 1), data_dir=(None, (str, type(None))))
    """
    for name, spec in params.items():
        if not (isinstance(spec, tuple) and len(spec) in (2, 3)):
            raise TypeError(
                f"check_params expects name=(value, type[, low]) tuples, got {name}={spec!r}"
            )
        value, types = spec[0], spec[1]
        check_type(name, value, types)
        if len(spec) == 3 and value is not None and value < spec[2]:
            raise ValueError(f"{name} must be >= {spec[2]}, got {value!r}")
