"""A notebook's parameters, checked against its parameters cell before any work is done.

The parameters cell is the contract. Each line reads ``name = default  # what it is [bound]``:
the default's type is the parameter's type, and an optional bound in square brackets at the end
of the comment (``[≥ 2]``, ``[> 0]``, ``[≤ 1]``, or two of them: ``[≥ 0, < 1]``) is checked too
(not ``>=``: papermill cannot read a line with a second ``=``). Papermill passes
``-p epochs three`` as the string ``"three"``; this turns it into ``TypeError: epochs must be
int, got 'three' of type str`` in the setup cell, instead of a failure many cells later.

In a Jupyter kernel the parameters cell is found in IPython's input history (``In``): the most
recent cell that only assigns constants, assigns ``smoke``, and has a comment on every
assignment (papermill's injected cell has none). A name that papermill injected but the
parameters cell does not define is refused too (a typo such as ``-p epoch 3``).
"""

from __future__ import annotations

import ast
import io
import operator
import re
import tokenize
from collections.abc import Mapping
from typing import Any

# Parameters every notebook has; used as the contract where no parameters cell can be found
# (the code run outside IPython).
COMMON = {"seed": 0, "device": "auto", "data_dir": None, "smoke": False, "results_dir": None}
COMMON_BOUNDS = {"seed": [("≥", 0.0)], "threads": [("≥", 1.0)]}
NONE_OR = {"threads": int}  # common parameters whose None default stands for another type
_OPS = {"≥": operator.ge, ">": operator.gt, "≤": operator.le, "<": operator.lt}
_BOUND = re.compile(r"\s*(≥|>|≤|<)\s*(-?[\d._]+(?:e-?\d+)?)\s*")


class Parameter:
    """One line of the parameters cell: its default value and its bounds."""

    def __init__(self, name: str, default: Any, bounds: list[tuple[str, float]]):
        self.name, self.default, self.bounds = name, default, bounds

    def check(self, value: Any) -> None:
        """Raise ``TypeError`` or ``ValueError`` (one sentence) unless ``value`` fits."""
        wanted = (NONE_OR[self.name], type(None)) if self.name in NONE_OR else _types(self.default)
        ok = isinstance(value, wanted) and not (isinstance(value, bool) and bool not in wanted)
        ok = ok or (float in wanted and type(value) is int)  # lr = 1 means 1.0
        if not ok:
            names = " or ".join("None" if t is type(None) else t.__name__ for t in wanted[:2])
            names = names if self.default is None else type(self.default).__name__
            raise TypeError(
                f"{self.name} must be {names}, got {value!r} of type {type(value).__name__}"
            )
        for op, limit in self.bounds:
            if value is not None and not _OPS[op](value, limit):
                ascii_op = {"≥": ">=", "≤": "<="}.get(op, op)
                raise ValueError(f"{self.name} must be {ascii_op} {limit:g}, got {value!r}")


def _types(default: Any) -> tuple[type, ...]:
    if default is None:
        return (str, type(None))  # the folders: data_dir, results_dir, checkpoint_dir
    if isinstance(default, float):
        return (float, int)
    return (type(default),)


def _bounds(comment: str) -> list[tuple[str, float]]:
    """``"# epochs [≥ 2]"`` -> ``[("≥", 2.0)]``; no brackets at the end: no bounds."""
    found = re.search(r"\[([^\]]*)\]\s*$", comment)
    if not found:
        return []
    bounds = []
    for part in found.group(1).split(","):
        match = _BOUND.fullmatch(part)
        if not match:
            raise ValueError(f"unreadable bound {part.strip()!r} in the parameters cell: {comment}")
        bounds.append((match.group(1), float(match.group(2).replace("_", ""))))
    return bounds


def parse_parameters_cell(source: str) -> dict[str, Parameter] | None:
    """The parameters that ``source`` declares, or None if it is not a parameters cell (only
    constant assignments, ``smoke`` among them, each with a comment)."""
    try:
        tree = ast.parse(source)
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (SyntaxError, tokenize.TokenError):
        return None
    comments = {t.start[0]: t.string for t in tokens if t.type == tokenize.COMMENT}
    found: dict[str, Parameter] = {}
    for node in tree.body:
        if not (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            return None
        try:
            default = ast.literal_eval(node.value)
        except ValueError:
            return None
        lines = range(node.lineno, node.end_lineno + 1)
        comment = next((comments[n] for n in lines if n in comments), None)
        if comment is None:
            return None
        name = node.targets[0].id
        found[name] = Parameter(name, default, _bounds(comment) or COMMON_BOUNDS.get(name, []))
    return found if "smoke" in found else None


def _history() -> list[str]:
    """IPython's input history (``In``), oldest first; empty outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return []
    shell = get_ipython()
    return list(shell.user_ns.get("In", [])) if shell is not None else []


def declared_parameters(history: list[str] | None = None) -> tuple[dict[str, Parameter], set]:
    """The latest parameters cell's parameters, and the names papermill injected after it that
    it does not declare. Outside IPython: the common five, and nothing injected."""
    history = _history() if history is None else history
    for i in range(len(history) - 1, -1, -1):
        declared = parse_parameters_cell(history[i])
        if declared is None:
            continue
        unknown: set[str] = set()
        for later in history[i + 1 :]:
            if later.lstrip().startswith("# Parameters"):  # papermill's injected cell
                tree = ast.parse(later)
                targets = [n.targets[0] for n in tree.body if isinstance(n, ast.Assign)]
                unknown |= {t.id for t in targets if isinstance(t, ast.Name)} - set(declared)
        return declared, unknown
    common = {
        name: Parameter(name, default, COMMON_BOUNDS.get(name, []))
        for name, default in COMMON.items()
    }
    return common, set()


def check_parameters(namespace: Mapping[str, Any], history: list[str] | None = None) -> None:
    """Check every declared parameter's value in ``namespace`` (a notebook's ``globals()``)."""
    declared, unknown = declared_parameters(history)
    if unknown:
        raise NameError(
            f"unknown parameter {sorted(unknown)[0]!r}: this notebook's parameters are "
            + ", ".join(declared)
        )
    for name, parameter in declared.items():
        if name not in namespace:
            raise NameError(f"parameter {name!r} is not defined: run the parameters cell first")
        parameter.check(namespace[name])
