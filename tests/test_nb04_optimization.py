"""Notebook 04 in smoke mode: the numbers it records and what it shows."""

from __future__ import annotations

import papermill
import pytest
from conftest import outputs_of

STEM = "04_optimization"
OPTIMIZERS = {"GD (full batch)", "SGD", "SGD + momentum", "AdaGrad", "RMSprop", "Adam"}


def test_the_update_rules_by_hand_match_torch_optim(smoke_run):
    _, nb = smoke_run(STEM)
    defaults = outputs_of(nb, "inspect.signature")
    assert "SGD      lr=0.001, momentum=0" in defaults  # no momentum unless asked for
    assert "RMSprop  lr=0.01" in defaults
    assert "by hand == torch.optim.SGD(momentum=0.9) within 1e-6: True" in outputs_of(
        nb, "buffers = "
    )
    assert "by hand == torch.optim.Adam within 1e-6: True" in outputs_of(nb, "m_hat, v_hat")


def test_momentum_and_adam_get_further_down_the_valley_than_sgd(smoke_run):
    _, nb = smoke_run(STEM)
    text = outputs_of(nb, "ax_path.contour")
    finals = {
        line.split("f after 50 steps:")[0].strip(): float(line.split(":")[1].split()[0])
        for line in text.splitlines()
        if "f after 50 steps" in line
    }
    turned = "Adam, lr 0.3, valley turned 45°"
    assert set(finals) == {"SGD, lr 0.035", "SGD + momentum 0.9, lr 0.01", "Adam, lr 0.3", turned}
    assert (
        max(finals["SGD + momentum 0.9, lr 0.01"], finals["Adam, lr 0.3"]) < finals["SGD, lr 0.035"]
    )
    assert finals[turned] > finals["SGD, lr 0.035"]  # Adam's rescaling works along the axes


def test_sgd_and_momentum_do_not_care_about_the_turn(smoke_run):
    _, nb = smoke_run(STEM)
    text = outputs_of(nb, "turned_end = ")
    lines = [line for line in text.splitlines() if "on the valley turned 45°" in line]
    assert len(lines) == 2
    for line in lines:  # "... f after 50 steps: 1.149, on the valley turned 45°: 1.149"
        plain, turned = line.split("f after 50 steps:")[1].split(", on the valley turned 45°:")
        assert float(plain) == pytest.approx(float(turned), rel=1e-2)


def test_the_standard_false_pass_rate_is_simulated(smoke_run):
    _, nb = smoke_run(STEM)
    text = outputs_of(nb, "noise_only = ")
    one_way = float(text.split("against the other in ")[1].split("%")[0])
    assert 5 < one_way < 30  # 2 seeds in smoke mode (about 19%), 3 in the full run (about 10.6%)


def test_records_every_optimizer_of_the_race_above_chance(smoke_run):
    results, _ = smoke_run(STEM)
    accuracy, spread = results["optimizer_val_accuracy"], results["optimizer_val_accuracy_std"]
    assert set(accuracy) == set(spread) == OPTIMIZERS
    assert all(0.0 <= accuracy[n] <= 1.0 and 0.0 <= spread[n] < 0.5 for n in OPTIMIZERS)
    assert accuracy["Adam"] > 0.5 and accuracy["SGD + momentum"] > 0.3
    assert results["minibatch_range_points"] >= 0


def test_records_the_sweeps_the_range_test_and_the_schedules(smoke_run):
    results, nb = smoke_run(STEM)
    sweep = results["lr_sweep_val_accuracy"]
    assert set(sweep["SGD"]) == {"0.001", "0.01", "0.1", "0.5", "10"}
    assert sweep["SGD"]["10"] is None  # diverged: fit raised TrainingDiverged
    assert sweep["Adam"]["0.001"] > 0.5
    assert set(results["range_test_pick"]) == {"SGD", "Adam"}
    assert all(1e-7 < lr < 10 for lr in results["range_test_pick"].values())
    assert "the written loop's losses, bit for bit: True" in outputs_of(nb, "helper_same")
    assert set(results["schedule_val_accuracy"]) == {
        "constant 1e-3",
        "constant 3e-3",
        "cosine from 1e-3",
        "cosine from 2e-3",
        "cosine from 3e-3",
    }
    assert set(results["long_val_loss"]) == {"1 epochs", "2 epochs"}  # smoke: long_epochs = 2
    assert all(set(kinds) == {"constant", "cosine"} for kinds in results["long_val_loss"].values())
    assert results["long_chosen"] in {"constant", "cosine"}  # chosen on validation
    assert 0.5 < results["long_test_accuracy"] <= 1.0
    assert set(results["batch_size_val_accuracy"]) == {
        "64 at 0.001",
        "256 at 0.001",
        "1024 at 0.001",
        "1024 at 0.004",
    }


def test_parameter_groups_and_the_order_of_the_steps(smoke_run):
    _, nb = smoke_run(STEM)
    groups = outputs_of(nb, "body = [p for name")
    assert "fc1.weight  moved by 0.010 x its gradient" in groups
    assert "fc3.weight  moved by 0.100 x its gradient" in groups
    assert "after 5 of 10 cosine steps: [0.005, 0.05]" in groups
    order = outputs_of(nb, "def rates_used")
    assert "optimizer.step(), then scheduler.step(): [1.0, 0.5, 0.25, 0.125]" in order
    assert "scheduler.step(), then optimizer.step(): [0.5, 0.25, 0.125, 0.0625]" in order
    assert "PyTorch warned: Detected call of `lr_scheduler.step()`" in order
    assert "[1.0, 0.85, 0.5, 0.15, 0.0, 0.15, 0.5, 0.85, 1.0]" in order
    plateau = outputs_of(nb, "plateau_loss = ")
    assert "ReduceLROnPlateau cut the rate before steps [502, 603, 704, 805, 906]" in plateau


def test_batch_size_at_equal_epochs_and_equal_steps(smoke_run):
    _, nb = smoke_run(STEM)
    steps = outputs_of(nb, "def first_steps")
    assert "equal steps (1), both at 1e-3: batch 64 ends at" in steps  # smoke: one step of 1024
    assert "batch 1024 - batch 64 at 1 steps: [" in steps
    assert "Adam, fused=True" in outputs_of(nb, "default = adam(")  # what fit builds by default


def test_clipping_and_the_nan_guard(smoke_run):
    results, nb = smoke_run(STEM)
    clip = results["clip_val_accuracy"]
    assert set(clip) == {"clean images", "0.5% raw, no clipping", "0.5% raw, max_norm=5"}
    assert "clipping fired on" in outputs_of(nb, "raw_wrong = [i for i, w")
    assert results["nan_guard_batch"] is not None
    text = outputs_of(nb, "def guarded(")
    batch = results["nan_guard_batch"]
    named = f"TrainingDiverged: training diverged: the loss became nan at epoch 1, batch {batch} "
    assert f"check_every=1: {named}" in text and f"check_every=32: {named}" in text
    assert f"first non-finite loss: step {batch}; fit named batch {batch} (check_every=1, " in text
    assert "(check_every=1, weights all finite: True)" in text
    assert len(results["claims"]) == 9


def test_too_few_seeds_fail_in_the_setup_cell(smoke_run):
    with pytest.raises(papermill.PapermillExecutionError) as err:
        smoke_run(STEM, n_seeds=1)  # a spread over seeds needs two
    assert err.value.ename == "ValueError"
    assert "n_seeds must be >= 2, got 1" in err.value.evalue
    assert err.value.exec_count == 3
