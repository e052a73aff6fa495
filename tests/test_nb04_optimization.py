"""Notebook 04 in smoke mode: the numbers it records and what it shows."""

from __future__ import annotations

import math

import papermill
import pytest
from conftest import outputs_of

STEM = "04_optimization"
OPTIMIZERS = {
    "GD (full batch)",
    "SGD",
    "SGD + momentum",
    "Nesterov",
    "AdaGrad",
    "RMSprop",
    "Adam",
    "AdamW",
}


def test_the_update_rules_by_hand_match_torch_optim(smoke_run):
    results, nb = smoke_run(STEM)
    assert results["momentum_by_hand_matches"] is True and results["adam_by_hand_matches"] is True
    defaults = outputs_of(nb, "inspect.signature")
    assert "SGD      lr=0.001, momentum=0" in defaults  # no momentum unless asked for
    assert "RMSprop  lr=0.01" in defaults


def test_records_every_optimizer_of_the_race_above_chance(smoke_run):
    results, _ = smoke_run(STEM)
    accuracy, spread = results["optimizer_val_accuracy"], results["optimizer_val_accuracy_std"]
    assert set(accuracy) == set(spread) == OPTIMIZERS
    assert all(0.0 <= accuracy[n] <= 1.0 and 0.0 <= spread[n] < 0.5 for n in OPTIMIZERS)
    assert accuracy["Adam"] > 0.5 and accuracy["SGD + momentum"] > 0.3
    assert results["minibatch_range_points"] >= 0


def test_records_the_sweeps_the_range_test_and_the_schedules(smoke_run):
    results, _ = smoke_run(STEM)
    sweep = results["lr_sweep_val_accuracy"]
    assert set(sweep["SGD"]) == {"0.001", "0.01", "0.1", "0.5", "3"}
    assert sweep["SGD"]["3"] is None  # diverged: fit raised TrainingDiverged
    assert sweep["Adam"]["0.001"] > 0.5
    assert set(results["range_test_pick"]) == {"SGD", "Adam"}
    assert all(1e-7 < lr < 10 for lr in results["range_test_pick"].values())
    assert set(results["schedule_val_accuracy"]) == {
        "constant 1e-3",
        "constant 3e-3",
        "cosine from 1e-3",
        "cosine from 3e-3",
        "one-cycle to 3e-3",
    }
    assert set(results["recipe_test_accuracy"]) == {"constant", "cosine"}
    assert all(
        0.5 < acc <= 1.0 for accs in results["recipe_test_accuracy"].values() for acc in accs
    )
    assert set(results["batch_size_val_accuracy"]) == {"16", "64", "256", "1024"}


def test_the_nan_guard_stops_at_the_written_loops_first_nan_step(smoke_run):
    results, nb = smoke_run(STEM)
    assert results["loop_first_nan_step"] is not None
    assert results["nan_guard_batch"] == results["loop_first_nan_step"]
    assert results["nan_guard_weights_finite"] is True  # no step on NaN weights
    text = outputs_of(nb, "guard_batch, weights_finite = None, None")
    batch = results["nan_guard_batch"]
    assert f"the loss became nan at epoch 1, batch {batch} (lr=3.0)" in text


def test_clipping_and_the_speed_sections(smoke_run):
    results, _ = smoke_run(STEM)
    assert "clip_grad_norm_(max_norm=1)" in results["clip_last_loss"]  # clipped: finite
    assert len(results["amp_seconds"]) == 2 and "float32" in results["amp_seconds"]
    assert all(math.isfinite(s) and s > 0 for s in results["step_seconds"].values())
    assert results["compile_seconds"] == {} and results["compile_matches_eager"] is None  # smoke
    assert len(results["claims"]) == 17


def test_too_few_seeds_fail_in_the_setup_cell(smoke_run):
    with pytest.raises(papermill.PapermillExecutionError) as err:
        smoke_run(STEM, n_seeds=1)  # a spread over seeds needs two
    assert err.value.ename == "ValueError"
    assert "n_seeds must be >= 2, got 1" in err.value.evalue
    assert err.value.exec_count == 3
