"""fit's progress bar in a real kernel: plain text that survives save and reopen, and that the
runner strips from committed notebooks (no widget, so no "Error displaying widget" in JupyterLab).
"""

from __future__ import annotations

import nbformat
import pytest
from conftest import ROOT

from coursekit.cells import source
from coursekit.run import WIDGET_MIME, clean_notebook

CODE = """\
import torch
from helpers import fit, mlp
x, y = torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,))
history = fit(mlp([784, 10]), [(x[:32], y[:32]), (x[32:], y[32:])], epochs=2)
print("trained", len(history["train_loss"]), "epochs")
"""


@pytest.mark.slow
def test_fit_progress_is_plain_text_that_survives_reopening_and_the_runner_strips(tmp_path):
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(CODE)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    NotebookClient(nb, timeout=120, resources={"metadata": {"path": str(ROOT)}}).execute()
    path = tmp_path / "fit.ipynb"
    nbformat.write(nb, path)
    reopened = nbformat.read(path, as_version=4)  # what JupyterLab shows after save and reopen
    nbformat.validate(reopened)
    outputs = reopened.cells[0].outputs
    assert not any(WIDGET_MIME in o.get("data", {}) for o in outputs), "a widget progress bar"
    assert "widgets" not in reopened.metadata
    bars = [o for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert bars and "it/s" in "".join(o.text for o in bars), "fit showed no text progress bar"
    assert any("trained 2 epochs" in o.get("text", "") for o in outputs)
    cleaned = clean_notebook(reopened).cells[0].outputs
    assert [o.text for o in cleaned] == ["trained 2 epochs\n"], source(reopened.cells[0])
