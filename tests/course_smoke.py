"""What the test suite adds to a notebook's smoke run, in the executed copy only.

Each notebook is executed once per test session (``smoke_run`` in conftest.py). Around the
notebook's own cells, that run also

* tries every plausible wrong answer kept in ``tests/wrong_answers/NN_name.py`` against its
  exercise's check, right after the check has passed for the solution, and records whether the
  check rejected it; then runs the solution again, so the cells after it see the right code;
* records every colour that a figure drawn in the notebook uses, when it is rendered, so a test
  can fail when a figure does not use the course's palette.

The added cells have ids starting with ``course-test-`` and are removed from the executed
notebook before the tests read it; what they found is written to ``course-test.json``.
"""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from typing import Any

import nbformat

from coursekit import cells

WRONG_ANSWERS = Path(__file__).resolve().parent / "wrong_answers"
PREFIX = "course-test-"
RECORD = "course-test.json"

HOOKS = r"""
import contextlib as _ct, io as _io, json as _json, random as _random
import matplotlib.backend_bases as _mbb, matplotlib.colors as _mc, numpy as _np, torch as _torch
from matplotlib.collections import Collection as _Collection

_course = {"wrong": {}, "colours": []}


def _course_colours(figure):
    found = []
    for ax in figure.axes:
        for line in ax.get_lines():
            found += [("line", line.get_color()), ("marker", line.get_markerfacecolor())]
        for patch in ax.patches:
            found += [("patch", patch.get_facecolor()), ("edge", patch.get_edgecolor())]
        for coll in ax.collections:
            if isinstance(coll, _Collection):
                found += [("collection", tuple(c)) for c in coll.get_facecolors()]
                found += [("collection edge", tuple(c)) for c in coll.get_edgecolors()]
        for image in ax.images:
            found.append(("colour map", image.get_cmap().name))
    return found


_course_print_figure = _mbb.FigureCanvasBase.print_figure


def _course_render(self, *args, **kwargs):
    _course["colours"] += [(k, c if isinstance(c, str) and k == "colour map" else
                            _mc.to_hex(c, keep_alpha=True) if c not in ("none", None) else "none")
                           for k, c in _course_colours(self.figure)]
    return _course_print_figure(self, *args, **kwargs)


_mbb.FigureCanvasBase.print_figure = _course_render


def _course_try(key, solution, check, wrong):
    g = globals()
    if not wrong:
        _course["wrong"][key] = {}
    for label, code in wrong.items():
        states = (_random.getstate(), _np.random.get_state(), _torch.get_rng_state())
        try:
            with _ct.redirect_stdout(_io.StringIO()), _ct.redirect_stderr(_io.StringIO()):
                exec(code, g)
                exec(check, g)
        except Exception as err:
            verdict = f"rejected: {type(err).__name__}: {str(err)[:300]}"
        else:
            verdict = "ACCEPTED"
        finally:
            _random.setstate(states[0]); _np.random.set_state(states[1])
            _torch.set_rng_state(states[2])
        _course["wrong"].setdefault(key, {})[label] = verdict
    with _ct.redirect_stdout(_io.StringIO()), _ct.redirect_stderr(_io.StringIO()):
        exec(solution, g)  # the right code again, for the cells after this exercise
"""


def wrong_answers(stem: str) -> dict[str, dict[str, str]]:
    """``{exercise key: {what the mistake is: code}}`` for notebook ``stem`` ({} if none kept).

    The key is the first name the exercise's stub defines."""
    path = WRONG_ANSWERS / f"{stem}.py"
    return runpy.run_path(str(path))["WRONG"] if path.is_file() else {}


def exercise_key(stub_source: str) -> str:
    """The first name a stub defines (``def train_epochs`` -> ``train_epochs``)."""
    import ast

    for node in ast.parse(stub_source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            return node.name
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            return node.targets[0].id
    raise ValueError(f"the stub defines nothing: {stub_source[:60]!r}")


def _cell(source: str, name: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell["id"] = PREFIX + name
    return cell


def instrument(nb: nbformat.NotebookNode, stem: str, out_dir: Path) -> nbformat.NotebookNode:
    """A copy of ``nb`` with the hooks after the setup cell, a wrong-answer trial after every
    exercise's check, and a last cell that writes what was found to ``out_dir/RECORD``."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    wrong = wrong_answers(stem)
    found = cells.exercises(nb)
    after: dict[int, nbformat.NotebookNode] = {}
    for ex in found:
        key = exercise_key(cells.source(nb.cells[ex.stub]))
        solution, check = cells.source(nb.cells[ex.solution]), cells.source(nb.cells[ex.check])
        call = f"_course_try({key!r}, {solution!r}, {check!r}, {wrong.get(key, {})!r})"
        after[ex.check] = _cell(call, f"wrong-{key}")
    setup = next(i for i, c in enumerate(nb.cells) if "parameters" in cells.tags(c)) + 1
    new = []
    for i, cell in enumerate(nb.cells):
        new.append(cell)
        if i == setup:
            new.append(_cell(HOOKS, "hooks"))
        if i in after:
            new.append(after[i])
    record = f"_json.dump(_course, open({str(out_dir / RECORD)!r}, 'w'), indent=1)"
    new.append(_cell(record, "record"))
    nb.cells = new
    return nb


def strip(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The executed notebook without the cells :func:`instrument` added."""
    nb.cells = [c for c in nb.cells if not str(c.get("id", "")).startswith(PREFIX)]
    return nb


def read_record(out_dir: Path) -> dict[str, Any]:
    return json.loads((out_dir / RECORD).read_text())
