"""Notebook 08 (distributed training): the numbers it records in smoke mode, which include the
script's real multi-process runs (training under torchrun, a crashed rank), and the numbers the
committed full run stored."""

from __future__ import annotations

import re

import nbformat
from conftest import NOTEBOOK_DIR

STEM = "08_distributed"


def test_records_the_gradient_check_and_the_runs(smoke_run):
    results, _ = smoke_run(STEM)
    assert (results["nproc"], results["backend"], results["epochs"]) == (2, "gloo", 2)
    assert results["ddp_grad_diff"] <= 1e-6
    # the torchrun job and the 1-process run in the kernel take the same steps in epoch 1
    one, two = results["train_loss"]["1"], results["train_loss"]["2"]
    assert len(one) == len(two) == 2 and abs(one[0] - two[0]) < 1e-4
    # smoke: 2,000 images, two epochs; far from the full run, but far above chance (10%)
    assert all(0.3 < a <= 1.0 for a in results["test_accuracy"].values())
    assert all(s > 0 for s in results["samples_per_s"].values()) and results["speedup"] > 0
    assert "rank 1 failed first" in results["crash_message"]
    assert "simulated crash on rank 1" in results["crash_message"]
    # the script's --ending file said how rank 0 ended: its own error, or torchrun's SIGTERM
    assert results["rank0_ending"].startswith(("with its own error", "stopped by torchrun"))
    assert results["all_reduce_ms"] > 0


def test_the_size_independent_claims_hold_in_smoke_mode(smoke_run):
    results, _ = smoke_run(STEM)
    claims = results["claims"]
    for claim, holds in claims.items():
        if "95%" not in claim:  # 2,000 images and two epochs do not reach 95%
            assert holds, claim


def _shown(nb, marker: str) -> str:
    """Everything the first code cell whose source contains ``marker`` showed as text."""
    cell = next(c for c in nb.cells if c.cell_type == "code" and marker in c.source)
    parts = [o.get("text", "") for o in cell.outputs]
    parts += [o.get("data", {}).get("text/markdown", "") for o in cell.outputs]
    return "".join(parts)


def test_the_committed_full_run_meets_the_bar():
    """The stored outputs of the committed notebook: a full default run."""
    nb = nbformat.read(NOTEBOOK_DIR / f"{STEM}.ipynb", as_version=4)
    assert "| seed 0 | full" in _shown(nb, "setup(globals())")
    assert "8 of 8 claims hold in this run" in _shown(nb, "show_claims(")
    text = _shown(nb, "mean training loss of epoch 1")
    gap = re.search(r"with 2: a difference of ([0-9.e+-]+)\.", text)
    assert gap and float(gap.group(1)) < 1e-4, text
    accuracies = re.search(r"after 3 epochs: ([0-9.]+)% \(1 process\), ([0-9.]+)% \(2 pro", text)
    assert accuracies and min(map(float, accuracies.groups())) >= 95, text
