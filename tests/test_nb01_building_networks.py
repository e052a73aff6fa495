"""Notebook 01 in smoke mode: the numbers it records, and a wrong parameter's error."""

from __future__ import annotations


def test_records_the_networks_numbers(smoke_run):
    results, nb = smoke_run("01_building_networks")
    assert results["param_count"] == 109_386
    assert results["param_count_sequential"] == 109_386
    assert results["linear_matches_formula"] is True
    assert results["train_images"] == 60_000
    assert results["logits_shape"][1] == 10
