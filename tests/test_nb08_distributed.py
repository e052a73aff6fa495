"""Notebook 08 (distributed training): the numbers it records in smoke mode, the numbers the
committed full run stored, and a wrong parameter's error."""

from __future__ import annotations

import ast

import nbformat
from conftest import NOTEBOOK_DIR

STEM = "08_distributed"


def test_records_the_gradient_check_and_the_runs(smoke_run):
    results, _ = smoke_run(STEM)
    assert (results["nproc"], results["backend"], results["epochs"]) == (2, "gloo", 1)
    assert results["grad_max_abs_diff_ddp"] <= 1e-6
    assert results["grad_max_abs_diff_by_hand"] <= 1e-6
    assert set(results["test_accuracy"]) == {"1", "2"}
    # smoke: 2,000 images, one epoch; far from the full run, but far above chance (10%)
    assert all(0.3 < a <= 1.0 for a in results["test_accuracy"].values())
    assert all(s > 0 for s in results["samples_per_s"].values()) and results["speedup"] > 0
    assert results["threads"]["2"] >= 1 and results["threads"]["1"] >= results["threads"]["2"]
    assert "rank 1 failed first" in results["crash_message"]
    assert "simulated crash on rank 1" in results["crash_message"]


def test_the_size_independent_claims_hold_in_smoke_mode(smoke_run):
    results, _ = smoke_run(STEM)
    claims = results["claims"]
    for claim, holds in claims.items():
        if "accuracy" not in claim:  # accuracies need the full run
            assert holds, claim


def test_the_committed_full_run_meets_the_bar():
    """The stored outputs of the committed notebook (a full default run)."""
    nb = nbformat.read(NOTEBOOK_DIR / f"{STEM}.ipynb", as_version=4)
    last = [c for c in nb.cells if c.cell_type == "code"][-1]
    shown = next(o for o in last.outputs if o.output_type == "execute_result")
    results = ast.literal_eval(shown["data"]["text/plain"])
    assert (results["epochs"], results["subset"], results["nproc"]) == (3, 0, 2)
    assert all(results["claims"].values()), results["claims"]
    one, two = results["test_accuracy"]["1"], results["test_accuracy"]["2"]
    assert min(one, two) >= 0.95 and abs(one - two) < 0.01
    assert results["grad_max_abs_diff_ddp"] <= 1e-6
