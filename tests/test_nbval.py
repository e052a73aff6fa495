"""nbval: the committed notebooks re-run in smoke mode, and cells marked ``# NBVAL_CHECK_OUTPUT``
must reproduce their stored output (``--nbval-lax`` leaves the other cells unchecked).

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
from papermill.parameterize import parameterize_notebook

from conftest import NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_checked_outputs_reproduce(path, tmp_path, data_dir):
    nb = nbformat.read(path, as_version=4)
    smoke = parameterize_notebook(nb, {"smoke": True}, kernel_name="python3", language="python")
    copy = tmp_path / path.name
    nbformat.write(smoke, copy)
    env = {**os.environ, "COURSE_DATA_DIR": data_dir, "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "-q", "-p", "no:cacheprovider", str(copy)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout
