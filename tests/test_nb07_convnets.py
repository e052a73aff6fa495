"""Notebook 07 (convolutional networks): the numbers it records in smoke mode, and what the
committed full run printed."""

from __future__ import annotations

import re

import nbformat
from conftest import NOTEBOOK_DIR, outputs_of

STEM = "07_convnets"
METHODS = ["linear probe", "fine-tune, slow backbone", "fine-tune", "from scratch"]


def test_records_exact_counts_and_the_by_hand_checks(smoke_run):
    results, nb = smoke_run(STEM)
    assert results["params"] == {"mlp": 109_386, "lenet": 61_706, "cnn": 29_066, "modern": 24_314}
    assert results["by_hand_matches"] is True
    assert results["epochs"] == {"mlp": 1, "cnn": 1, "modern": 1, "transfer": 1}
    assert len(results["modern_test_accuracies"]) == 1  # smoke mode trains one seed
    block = outputs_of(nb, "block = ResidualBlock(16)")
    assert "with gamma = 0: block(x) = ReLU(x): True" in block
    assert "with gamma = 0: block(x) = x for x >= 0: True" in block
    assert "std of F(x) 1.00" in block  # batch norm's gamma = 1: F(x) has unit scale at the start


def test_records_sane_accuracies(smoke_run):
    results, _ = smoke_run(STEM)
    # smoke mode trains on 1,000 images for one epoch: far from the full run, but above chance
    for key in ("mlp", "lenet", "cnn"):
        assert 0.2 < results["test_accuracy"][key] <= 1.0, key
    assert all(0.0 <= a <= 1.0 for a in results["modern_test_accuracies"])
    for model in ("mlp", "cnn", "modern"):
        shifted = results["shift_accuracy"][model]
        assert sorted(shifted) == ["0", "1", "2", "3"]
        assert all(0.0 <= a <= 1.0 for a in shifted.values())
    assert 0 <= results["cnn_misclassified_test_images"] <= 500
    assert results["mlp_to_cnn_error_ratio"] > 0
    assert set(results["claims"]) and all(isinstance(v, bool) for v in results["claims"].values())


def test_the_transfer_and_the_augmentation_experiments_are_recorded(smoke_run):
    results, _ = smoke_run(STEM)
    transfer = results["transfer_val_accuracy"]
    assert sorted(transfer) == sorted(METHODS)  # JSON keys come back sorted
    assert len({len(a) for a in transfer.values()}) == 1 and len(transfer["fine-tune"]) >= 2
    assert all(0.0 <= a <= 1.0 for accuracies in transfer.values() for a in accuracies)
    augmentation = results["augmentation_3px"]  # validation accuracy at 3 px
    assert sorted(augmentation) == ["control", "shifted", "small CNN (before)"]
    assert all(0.0 <= a <= 1.0 for a in augmentation.values())


def test_the_committed_full_run_printed_its_comparisons():
    nb = nbformat.read(NOTEBOOK_DIR / f"{STEM}.ipynb", as_version=4)
    modern = outputs_of(nb, "modern_tests = []")
    assert re.search(r"per seed: [\d.]+% \| small CNN [\d.]+%", modern)  # one seed by default
    transfer = outputs_of(nb, "from statistics import mean, stdev").splitlines()
    assert transfer[0].startswith("500 labelled images, 24 passes over them")
    for method in METHODS:
        row = next(line for line in transfer if line.startswith(method + " "))
        assert len(re.findall(r"[\d.]+%", row)) == 4, row  # three seeds and their mean
    assert "in training mode" in outputs_of(nb, "alone = logits_alone(modern, x_val)")
