"""Recording a notebook's headline numbers."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

from ._internal.files import write_atomic
from .runtime import STARTED


def save_results(results: dict[str, Any], results_dir: str | os.PathLike | None, name: str) -> None:
    """Record and print the run time, and write ``results`` to ``<results_dir>/<name>.json``
    atomically (nothing if ``results_dir`` is None). Values must be JSON data; NaN is refused."""
    if STARTED:
        results["seconds"] = round(time.perf_counter() - STARTED[0], 1)
        print(f"this notebook ran in {results['seconds']:.0f} s")
    bad = _non_finite(results)
    if bad:
        raise ValueError(f"results[{bad}] is not a finite number; a NaN result is a bug to fix")
    try:
        text = json.dumps(results, indent=2, sort_keys=True, allow_nan=False, default=_plain)
    except TypeError as err:  # a key that is not a string, number or bool
        raise TypeError(f"results cannot be written as JSON: {err}") from None
    if results_dir is not None:
        write_atomic(Path(results_dir) / f"{name}.json", text + "\n")


def _non_finite(value: Any, where: str = "") -> str | None:
    """The key path (``'val']['adam'``) of the first NaN or infinite number in ``value``, if any."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        scalar = hasattr(value, "item") and getattr(value, "ndim", 1) == 0
        number = value.item() if scalar else value
        return (where or "?") if isinstance(number, float) and not math.isfinite(number) else None
    for key, item in items:
        found = _non_finite(item, f"{where}][{key!r}" if where else repr(key))
        if found:
            return found
    return None


def _plain(value: Any) -> Any:
    """JSON fallback for tensors and NumPy scalars."""
    if hasattr(value, "tolist"):
        out = value.tolist()
        if isinstance(out, float) and not math.isfinite(out):
            raise ValueError(f"results contain a non-finite number: {out}")
        return out
    raise TypeError(f"results values must be JSON-serializable, got {type(value).__name__}")


def show_claims(claims: dict[str, Any]) -> dict[str, bool]:
    """Print a notebook's claims as a ✓/✗ table; return ``{claim: bool}`` for ``results``. It
    never raises, so an unlucky seed still finishes; the runner and tests fail on a ✗."""
    verdicts = {str(claim): bool(holds) for claim, holds in claims.items()}
    width = max((len(c) for c in verdicts), default=5)
    print(f"{'claim':<{width}}  holds")
    for claim, holds in verdicts.items():
        print(f"{claim:<{width}}  {'✓' if holds else '✗'}")
    failed = sum(not h for h in verdicts.values())
    print(f"{len(verdicts) - failed} of {len(verdicts)} claims hold in this run.")
    return verdicts
