"""Notebook 01 in smoke mode: the numbers it records, and a wrong parameter's error."""

from __future__ import annotations

import papermill
import pytest


def test_records_the_networks_numbers(smoke_run):
    results, nb = smoke_run("01_building_networks")
    assert results["param_count"] == 109_386
    assert results["param_count_sequential"] == 109_386
    assert results["linear_matches_formula"] is True
    assert results["train_images"] == 60_000
    assert results["logits_shape"][1] == 10


def test_a_wrong_parameter_type_fails_in_one_sentence(smoke_run):
    with pytest.raises(papermill.PapermillExecutionError) as err:
        smoke_run("01_building_networks", seed="zero")
    assert err.value.ename == "TypeError"
    assert "seed must be int, got 'zero' of type str" in err.value.evalue
    assert err.value.exec_count == 3  # the setup cell right after the parameters (and injected) cells
