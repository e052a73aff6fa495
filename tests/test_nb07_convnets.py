"""Notebook 07 (convolutional networks): the numbers it records in smoke mode, the numbers the
committed full run stored, and a wrong parameter's error."""

from __future__ import annotations

import ast

import nbformat
import pytest
from conftest import NOTEBOOK_DIR

STEM = "07_convnets"


def test_records_exact_counts_and_the_by_hand_checks(smoke_run):
    results, _ = smoke_run(STEM)
    assert results["cnn_params"] == 29_066
    assert results["mlp_params"] == 109_386
    assert results["lenet_params"] == 61_706
    assert results["modern_params"] == 24_314
    assert results["conv_by_hand_matches"] is True
    assert results["batch_norm_matches"] is True
    assert results["epochs"] == results["mlp_epochs"] == results["modern_epochs"] == 1
    # the fast recipe keeps its fractional schedule: 1,000 images are 4 batches, 1.5 epochs 6
    assert results["fast_recipe"]["epochs"] == 1.5 and results["fast_checks"][-1][0] == 1.5
    fast = results["fast_recipe"]
    assert fast["batch_size"] == 256 and fast["max_lr"] == 3e-2 and isinstance(fast["bf16"], bool)
    assert len(results["modern_test_accuracies"]) == 1  # smoke mode trains one seed


def test_records_sane_accuracies(smoke_run):
    results, _ = smoke_run(STEM)
    # smoke mode trains on 1,000 images for one epoch: far from the full run, but above chance
    for key in ("mlp_test_accuracy", "lenet_test_accuracy", "cnn_test_accuracy"):
        assert 0.2 < results[key] <= 1.0, key
    assert all(0.0 <= a <= 1.0 for a in results["modern_test_accuracies"])
    for model in ("mlp", "cnn", "modern"):  # the exercise's fine-tuned CNNs are not recorded
        shifted = results["shift_accuracy"][model]
        assert sorted(shifted) == ["0", "1", "2", "3"]
        assert all(0.0 <= a <= 1.0 for a in shifted.values())
    assert 0 <= results["cnn_misclassified_test_images"] <= 500
    assert results["mlp_to_cnn_error_ratio"] > 0
    assert set(results["claims"]) and all(isinstance(v, bool) for v in results["claims"].values())


def test_time_to_target_is_consistent(smoke_run):
    results, _ = smoke_run(STEM)
    checks = results["fast_checks"]  # (epochs done, wall seconds, validation accuracy)
    assert [c[0] for c in checks] == sorted(c[0] for c in checks)
    assert [c[1] for c in checks] == sorted(c[1] for c in checks)
    reached = [(done, seconds) for done, seconds, a in checks if a >= 0.99]
    if reached:
        assert (results["epochs_to_99"], results["seconds_to_99"]) == tuple(reached[0])
        assert 0 < results["seconds_to_99"] <= results["fast_train_seconds"]
    else:
        assert results["epochs_to_99"] is None and results["seconds_to_99"] is None
    assert results["fast_train_seconds"] > 0 and results["fast_train_cpu_seconds"] > 0
    assert results["notebook_seconds"] > results["fast_train_seconds"]


def _committed_results() -> dict:
    nb = nbformat.read(NOTEBOOK_DIR / f"{STEM}.ipynb", as_version=4)
    last = [c for c in nb.cells if c.cell_type == "code"][-1]
    shown = next(o for o in last.outputs if o.output_type == "execute_result")
    return ast.literal_eval(shown["data"]["text/plain"])


def test_the_committed_full_run_meets_the_bar():
    """The stored outputs of the committed notebook (a full default run): the headline numbers
    of issue 16."""
    results = _committed_results()
    assert results["epochs"] == 3 and results["mlp_epochs"] == 10
    assert results["cnn_test_accuracy"] > results["mlp_test_accuracy"]
    assert len(results["modern_test_accuracies"]) == 3 and results["modern_epochs"] == 4
    assert sum(results["modern_test_accuracies"]) / 3 >= 0.994
    assert results["fast_test_accuracy"] >= 0.99  # the 99.2% goal is bench_cnn's 5-seed median
    assert results["epochs_to_99"] is not None and results["seconds_to_99"] > 0
    assert results["cnn_params"] < results["mlp_params"] / 3
    for d in ("2", "3"):  # the CNNs hold up better than the MLP on shifted digits
        assert results["shift_accuracy"]["cnn"][d] > results["shift_accuracy"]["mlp"][d]
        assert results["shift_accuracy"]["modern"][d] > results["shift_accuracy"]["mlp"][d]


@pytest.mark.parametrize("key", ["seconds_to_99", "fast_train_seconds", "notebook_seconds"])
def test_the_committed_run_records_its_timings(key):
    """Timings are recorded (never asserted against a number: the machine decides them)."""
    value = _committed_results()[key]
    assert value is None or value > 0
