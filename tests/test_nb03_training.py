"""Notebook 03 in smoke mode: the numbers it records, what it shows, and a bad parameter's error."""

from __future__ import annotations

import math

import papermill
import pytest

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


def outputs_text(nb) -> str:
    return "\n".join(
        out.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "stream"
    )


def test_records_sane_training_numbers(smoke_run):
    results, _ = smoke_run("03_training")
    assert results["smoke"] is True and results["epochs"] == 2 and len(results["seeds"]) == 2
    assert results["schedule"] == "cosine"  # the default
    assert 0.5 < results["test_accuracy"] <= 1.0  # 10 classes: chance is 0.1
    assert 0.5 < results["val_accuracy"] <= 1.0
    assert results["fit_matches_loop"] is True
    assert results["resume_matches"] is True
    assert (results["normalization_mean"], results["normalization_std"]) == (0.1306, 0.3081)
    assert results["normalization_agrees_with_helpers"] is True
    assert results["momentum_by_hand_matches"] is True and results["adam_by_hand_matches"] is True


def test_records_every_optimizer_above_chance(smoke_run):
    results, _ = smoke_run("03_training")
    accuracy, spread = results["optimizer_val_accuracy"], results["optimizer_val_accuracy_std"]
    assert set(accuracy) == set(spread) == set(results["optimizer_seconds"]) == OPTIMIZERS
    for name in OPTIMIZERS:
        assert (
            0.0 <= accuracy[name] <= 1.0
            and 0.0 <= spread[name] < 0.5
            and results["optimizer_seconds"][name] > 0
        )
        if name != "GD (full batch)":  # GD makes one step per epoch: 1 step in smoke mode
            assert accuracy[name] > 0.2, name
    assert accuracy["Adam"] > 0.5


def test_records_the_sweeps(smoke_run):
    results, _ = smoke_run("03_training")
    sweep = results["lr_sweep_val_accuracy"]
    assert set(sweep["SGD"]) == {"0.001", "0.01", "0.1", "0.5", "3"}
    assert sweep["SGD"]["3"] is None  # diverged: fit raised TrainingDiverged
    assert all(acc is None or 0.0 <= acc <= 1.0 for accs in sweep.values() for acc in accs.values())
    assert sweep["Adam"]["0.001"] > 0.5
    assert set(results["schedule_val_accuracy"]) == {
        "constant 1e-3",
        "constant 3e-3",
        "cosine from 1e-3",
        "cosine from 3e-3",
    }
    assert set(results["recipe_val_accuracy"]) == {"constant", "cosine"}
    assert all(0.5 < acc <= 1.0 for acc in results["recipe_val_accuracy"].values())
    assert isinstance(results["recipe_cosine_beats_constant"], bool)
    assert (
        set(results["batch_size_val_accuracy"])
        == set(results["batch_size_seconds_per_epoch"])
        == {"16", "64", "256", "1024"}
    )
    assert all(math.isfinite(v) and v > 0 for v in results["timing_seconds"].values())
    assert results["speedup_in_memory"] > 1.0  # the in-memory path is faster than the DataLoader


def test_shows_the_guards_at_work(smoke_run):
    _, nb = smoke_run("03_training")
    text = outputs_text(nb)
    assert "TrainingDiverged: training diverged: the loss became nan" in text
    assert "resume matches: True" in text
    assert "was refused by torch.load(weights_only=True)" in text
    assert (
        "CheckpointError: cannot read checkpoint <checkpoint_dir>/damaged.pt: "
        "the file is truncated or corrupted" in text
    )
    assert (
        "!!! this line was printed by code hidden in the checkpoint file !!!" in text
    )  # weights_only=False ran it


def test_too_few_epochs_fail_in_the_setup_cell(smoke_run):
    with pytest.raises(papermill.PapermillExecutionError) as err:
        smoke_run("03_training", epochs=1)
    assert err.value.ename == "ValueError"
    assert "epochs and n_seeds must be >= 2" in err.value.evalue
    assert err.value.exec_count == 3


def test_an_unknown_schedule_fails_in_the_setup_cell(smoke_run):
    with pytest.raises(papermill.PapermillExecutionError) as err:
        smoke_run("03_training", schedule="linear")
    assert err.value.ename == "ValueError"
    assert "schedule must be one of ['cosine', 'constant'], got 'linear'" in err.value.evalue
    assert err.value.exec_count == 3


def test_the_constant_schedule_is_the_articles_recipe_and_still_resumes_exactly(smoke_run):
    results, nb = smoke_run("03_training", schedule="constant")
    assert results["schedule"] == "constant"
    assert results["fit_matches_loop"] is True and results["resume_matches"] is True
    assert "learning rate now 1.0e-03" in outputs_text(nb)  # the rate never moves
