"""nbval: the committed notebooks re-run in smoke mode, and cells tagged ``nbval-check-output``
must reproduce their stored output (``--nbval-lax`` leaves the other cells unchecked).

Each notebook runs up to its last checked cell: the cells after it give nbval nothing to compare,
and the smoke-run tests (``test_nbNN_*.py``) run every cell of every notebook anyway. (Notebook
04's checked cells come before its first training run, notebook 08's before its later launches.)

The checked cells hold values that do not depend on ``smoke`` (shapes, parameter counts,
data-set sizes, gradients), so the stored outputs of the full run must come back exactly.
Smoke mode is set the way papermill does it, by an injected cell after the parameters cell.
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


def run_nbval(nb, tmp_path, data_dir) -> subprocess.CompletedProcess:
    """Inject smoke=True after the parameters cell, then run nbval on the copy."""
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
        timeout=900,
    )


def checked(nb) -> list[int]:
    """The indices of the cells tagged ``nbval-check-output``."""
    return [i for i, c in enumerate(nb.cells) if "nbval-check-output" in c.metadata.tags]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_checked_outputs_reproduce(path, tmp_path, data_dir):
    nb = load_notebook_node(str(path))  # as papermill reads it (every cell gets a tags list)
    last = checked(nb)[-1]
    nb.cells = nb.cells[: last + 1]  # the cells after the last checked one check nothing here
    proc = run_nbval(nb, tmp_path, data_dir)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    # every code cell up to the last checked one ran, smoke mode's injected cell included
    ran = nbformat.read(tmp_path / "notebook.ipynb", as_version=4)
    code_cells = sum(c.cell_type == "code" for c in ran.cells)
    assert f"{code_cells} passed" in proc.stdout, proc.stdout[-2000:]


def test_a_changed_checked_output_fails(tmp_path, data_dir):
    """The check can fail: alter one stored output of a checked cell in notebook 01."""
    nb = load_notebook_node(str(NOTEBOOKS[0]))
    first = checked(nb)[0]
    nb.cells = nb.cells[: first + 1]  # the notebook up to its first checked cell is enough
    cell = nb.cells[first]
    stream = next(o for o in cell.outputs if o.output_type == "stream")
    stream.text = (
        stream.text.replace("1", "7", 1) if "1" in stream.text else stream.text + "changed\n"
    )
    proc = run_nbval(nb, tmp_path, data_dir)
    assert proc.returncode != 0 and "1 failed" in proc.stdout
