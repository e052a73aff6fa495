"""The checked outputs: cells tagged ``nbval-check-output`` must reproduce their stored output
exactly when the notebook runs again in smoke mode.

They hold values that depend neither on ``smoke`` nor on the machine (shapes, parameter counts,
data-set sizes, exact gradients of fixed inputs), so the stored outputs of the full run must come
back. Every notebook is compared on the session's one smoke run (``smoke_run``), the way nbval's
``--nbval-lax`` compares; nbval itself runs on notebook 01's first checked cell, once as it is
and once with its stored output altered, to show it passes and fails where this comparison does.
"""

from __future__ import annotations

import os
import subprocess
import sys

import nbformat
import pytest
from conftest import NOTEBOOKS
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

CHECKED = "nbval-check-output"


def checked(nb) -> list[int]:
    """The indices of the cells tagged ``nbval-check-output``."""
    return [i for i, c in enumerate(nb.cells) if CHECKED in c.metadata.get("tags", [])]


def comparable(cell) -> list[tuple[str, str]]:
    """What nbval-lax compares in a cell's outputs: streams and plain-text results, not images."""
    found: list[tuple[str, str]] = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            if found and found[-1][0] == out.name:  # one print may arrive in several pieces
                found[-1] = (out.name, found[-1][1] + out.text)
            else:
                found.append((out.name, out.text))
        elif out.output_type in ("execute_result", "display_data") and "text/plain" in out.data:
            if "image/png" not in out.data:
                found.append(("text/plain", out.data["text/plain"]))
        elif out.output_type == "error":
            found.append(("error", f"{out.ename}: {out.evalue}"))
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_checked_outputs_reproduce_in_the_smoke_run(path, smoke_run):
    committed = nbformat.read(path, as_version=4)
    _, executed = smoke_run(path.stem)
    ran = {c.get("id"): c for c in executed.cells}
    assert len(checked(committed)) >= 3
    for i in checked(committed):
        cell = committed.cells[i]
        assert cell["id"] in ran, f"cell {i} (id {cell['id']}) is missing from the smoke run"
        assert comparable(ran[cell["id"]]) == comparable(cell), (
            f"{path.stem}, checked cell {i}: the smoke run printed something else\n"
            f"stored: {comparable(cell)}\nsmoke:  {comparable(ran[cell['id']])}"
        )


def run_nbval(nb, tmp_path, data_dir) -> subprocess.CompletedProcess:
    """Inject smoke=True after the parameters cell, as papermill does, then run nbval."""
    smoke = parameterize_notebook(nb, {"smoke": True}, kernel_name="python3", language="python")
    copy = tmp_path / "notebook.ipynb"
    nbformat.write(smoke, copy)
    env = {**os.environ, "COURSE_DATA_DIR": data_dir, "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "-q", "-p", "no:cacheprovider", str(copy)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
@pytest.mark.parametrize("altered", [False, True], ids=["as-stored", "altered"])
def test_nbval_itself_passes_a_checked_cell_and_fails_an_altered_one(altered, tmp_path, data_dir):
    nb = load_notebook_node(str(NOTEBOOKS[0]))  # as papermill reads it (every cell gets tags)
    first = checked(nb)[0]
    nb.cells = nb.cells[: first + 1]  # the notebook up to its first checked cell
    if altered:
        stream = next(o for o in nb.cells[first].outputs if o.output_type == "stream")
        text = stream.text
        stream.text = text.replace("1", "7", 1) if "1" in text else text + "changed\n"
    proc = run_nbval(nb, tmp_path, data_dir)
    if altered:
        assert proc.returncode != 0 and "1 failed" in proc.stdout, proc.stdout[-2000:]
    else:
        ran = nbformat.read(tmp_path / "notebook.ipynb", as_version=4)  # with the injected cell
        code_cells = sum(c.cell_type == "code" for c in ran.cells)
        assert proc.returncode == 0 and f"{code_cells} passed" in proc.stdout, proc.stdout[-3000:]
