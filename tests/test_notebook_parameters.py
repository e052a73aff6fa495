"""A papermill parameter of the wrong type stops each notebook in its setup cell with one
sentence."""

from __future__ import annotations

import papermill
import pytest

CASES = [
    ("01_building_networks", "seed", "zero", "seed must be int, got 'zero' of type str"),
    (
        "02_autograd_backprop",
        "try_compile",
        "yes",
        "try_compile must be bool, got 'yes' of type str",
    ),
    ("05_evaluation", "cv_folds", "five", "cv_folds must be int, got 'five' of type str"),
    ("06_overfitting", "epochs", "forty", "epochs must be int, got 'forty' of type str"),
    ("07_convnets", "max_lr", "fast", "max_lr must be float, got 'fast' of type str"),
]


@pytest.mark.parametrize("stem, name, value, message", CASES, ids=[c[0][:2] for c in CASES])
def test_a_wrong_parameter_type_fails_in_one_sentence(smoke_run, stem, name, value, message):
    with pytest.raises(papermill.PapermillExecutionError) as err:
        smoke_run(stem, **{name: value})
    assert err.value.ename == "TypeError"
    assert message in err.value.evalue
    assert (
        err.value.exec_count == 3
    )  # the setup cell right after the parameters (and injected) cells
