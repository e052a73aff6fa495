"""A papermill parameter of the wrong type, or out of range, stops each notebook in its setup
cell with one sentence, before any work is done."""

from __future__ import annotations

import papermill
import pytest

CASES = [
    (
        "01_building_networks",
        "seed",
        "zero",
        "TypeError",
        "seed must be int, got 'zero' of type str",
    ),
    (
        "02_autograd_backprop",
        "grad_depth",
        "deep",
        "TypeError",
        "grad_depth must be int, got 'deep'",
    ),
    ("03_data_and_training_loop", "epochs", 1, "ValueError", "epochs must be >= 2, got 1"),
    ("04_optimization", "try_compile", "yes", "TypeError", "try_compile must be bool, got 'yes'"),
    ("05_evaluation", "epochs", 0, "ValueError", "epochs must be >= 1, got 0"),
    ("06_overfitting", "n_seeds", 1, "ValueError", "n_seeds must be >= 2, got 1"),
    ("07_convnets", "max_lr", "fast", "TypeError", "max_lr must be float, got 'fast' of type str"),
    ("08_distributed", "timeout_s", "long", "TypeError", "timeout_s must be float, got 'long'"),
    ("01_building_networks", "device", "gpu", "ValueError", "device must be one of ['auto'"),
]


@pytest.mark.parametrize(
    "stem, name, value, ename, message", CASES, ids=[f"{c[0][:2]}-{c[1]}" for c in CASES]
)
def test_a_bad_parameter_fails_in_the_setup_cell_in_one_sentence(
    smoke_run, stem, name, value, ename, message
):
    with pytest.raises(papermill.PapermillExecutionError) as err:
        smoke_run(stem, **{name: value})
    assert err.value.ename == ename
    assert message in err.value.evalue
    assert err.value.exec_count == 3  # the setup cell, after the parameters and injected cells
