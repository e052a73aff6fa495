"""Notebook 01 in smoke mode: the numbers it records."""

from __future__ import annotations


def test_records_the_networks_numbers(smoke_run):
    results, _ = smoke_run("01_building_networks")
    assert results["param_count"] == 109_386
    assert all(results["claims"].values()), results["claims"]


def test_symmetry_breaking_and_initialization(smoke_run):
    results, _ = smoke_run("01_building_networks")
    # constant starts keep every fc1 unit identical; a random start keeps them all distinct
    assert results["distinct_units"] == {"all zeros": 1, "all 0.01": 1, "random (default)": 128}
    last = results["moments_last_layer"]
    # E[z²] at the last layer: N(0, 1) explodes, N(0, 0.01²) vanishes, He stays near its start
    assert last["N(0, 1)"] > 1e6 > 1e-6 > last["N(0, 0.01²)"]
    assert 0.3 < last["He normal"] < 5
    assert last["Xavier normal"] < last["He normal"]
