"""Notebook 06 (convolutional networks): the numbers it records in smoke mode, the numbers the
committed full run stored, and a wrong parameter's error."""

from __future__ import annotations

import ast

import nbformat
import pytest
from conftest import NOTEBOOK_DIR

STEM = "07_convnets"


def test_records_exact_counts_and_the_conv_check(smoke_run):
    results, _ = smoke_run(STEM)
    assert results["cnn_params"] == 29_066
    assert results["mlp_params"] == 109_386
    assert results["pytorch_example_params"] == 1_199_882
    assert results["conv_by_hand_matches"] is True
    assert results["epochs"] == 1
    assert len(results["cnn_val_accuracy"]) == 1


def test_records_sane_accuracies(smoke_run):
    results, _ = smoke_run(STEM)
    # smoke mode trains on 1,000 images for one epoch: far from the full run, but above chance (10%)
    assert 0.2 < results["cnn_test_accuracy"] <= 1.0
    assert 0.2 < results["mlp_test_accuracy"] <= 1.0
    for model in (
        "mlp",
        "cnn",
    ):  # the exercise's fine-tuned CNN is not recorded: students may skip it
        shifted = results["shift_accuracy"][model]
        assert sorted(shifted) == ["0", "1", "2", "3"]
        assert all(0.0 <= a <= 1.0 for a in shifted.values())
    assert results["shift_accuracy"]["cnn"]["0"] == pytest.approx(results["cnn_test_accuracy"])
    assert results["shift_accuracy"]["mlp"]["0"] == pytest.approx(results["mlp_test_accuracy"])
    assert 0 <= results["cnn_misclassified_test_images"] <= 500


def test_time_to_target_is_consistent(smoke_run):
    results, _ = smoke_run(STEM)
    reached = [i for i, a in enumerate(results["cnn_val_accuracy"]) if a >= 0.99]
    if reached:
        assert results["epochs_to_99"] == reached[0] + 1
        assert 0 < results["seconds_to_99"] <= results["cnn_train_seconds"]
    else:
        assert results["epochs_to_99"] is None and results["seconds_to_99"] is None
    assert results["cnn_train_seconds"] > 0 and results["cnn_train_cpu_seconds"] > 0


def test_the_committed_full_run_meets_the_bar():
    """The stored outputs of the committed notebook (a full default run): the CNN's headline
    numbers."""
    nb = nbformat.read(NOTEBOOK_DIR / f"{STEM}.ipynb", as_version=4)
    last = [c for c in nb.cells if c.cell_type == "code"][-1]
    shown = next(o for o in last.outputs if o.output_type == "execute_result")
    results = ast.literal_eval(shown["data"]["text/plain"])
    assert results["epochs"] == 5
    assert results["cnn_test_accuracy"] >= 0.992
    assert results["cnn_test_accuracy"] > results["mlp_test_accuracy"]
    assert results["epochs_to_99"] is not None and results["seconds_to_99"] > 0
    assert results["cnn_params"] < results["mlp_params"] / 3
    for d in ("2", "3"):  # the CNN holds up better than the MLP on shifted digits
        assert results["shift_accuracy"]["cnn"][d] > results["shift_accuracy"]["mlp"][d]
