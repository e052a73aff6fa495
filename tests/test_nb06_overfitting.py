"""Notebook 06 in smoke mode: the numbers it records, its fairness checks, its claims."""

from __future__ import annotations

import math

from conftest import outputs_of

STEM = "06_overfitting"
REMEDIES = (
    "baseline",
    "augmentation",
    "smaller model 784-64-10",
    "L1 penalty 1e-4",
    "dropout 0.5",
    "early stopping",
    "label smoothing 0.1",
)


def test_records_validation_accuracy_and_gap_per_remedy(smoke_run):
    results, _ = smoke_run(STEM)
    table = results["remedies"]
    names = set(table)
    assert set(REMEDIES) <= names
    assert any(n.startswith("L2: AdamW weight_decay=") for n in names)
    for name, row in table.items():
        for key in (
            "val_acc_mean",
            "val_acc_std",
            "gap_mean",
            "gap_std",
            "val_loss_mean",
            "val_ece_mean",
            "epochs_mean",
        ):
            assert isinstance(row[key], float) and math.isfinite(row[key]), (name, key)
        # smoke mode trains one epoch on 1,000 images: above chance (10%), below perfect
        assert 0.3 < row["val_acc_mean"] < 1, name
        assert 0 <= row["val_acc_std"] < 0.2 and 0 <= row["gap_std"] < 0.2, name
        assert -0.2 < row["gap_mean"] < 0.5, name
    assert results["remedies_check"].keys() == table.keys()
    assert len(results["seeds"]) == len(results["check_seeds"]) >= 2
    assert not set(results["seeds"]) & set(results["check_seeds"])


def test_records_the_test_accuracy_of_the_configuration_chosen_on_validation(smoke_run):
    results, _ = smoke_run(STEM)
    table = results["remedies"]
    assert results["chosen"] == max(table, key=lambda n: table[n]["val_acc_mean"])
    assert 0.3 < results["test_acc"] < 1 and 0 <= results["test_acc_std"] < 0.2
    assert abs(results["test_acc"] - table[results["chosen"]]["val_acc_mean"]) < 0.1


def test_learning_curve_and_claims_are_recorded(smoke_run):
    results, _ = smoke_run(STEM)
    curve = results["learning_curve"]
    assert list(curve) == ["1000", "2000"]  # smoke: two sizes
    assert all(0.3 < v["val_acc"] < 1 and 0.3 < v["train_acc"] <= 1 for v in curve.values())
    # smoke mode: 2 epochs, so that the largest size's 1 epoch differs from the budget's
    assert results["n_train"] == 1000 and results["epochs"] == 2
    claims = results["claims"]
    assert claims and all(isinstance(v, bool) for v in claims.values())
    # the comparison's claims are made on both sets of seeds, with the same wording
    second = [c for c in claims if c.endswith("(seeds 2-3)")]
    assert len(second) == 8
    assert {c.replace("(seeds 2-3)", "(seeds 0-1)") for c in second} <= set(claims)
    assert results["training_runs"] >= 30 and results["seconds"] > 0


def test_the_harness_is_fair_and_reproducible(smoke_run):
    _, nb = smoke_run(STEM)
    start = outputs_of(nb, "baseline and dropout model start from identical weights")
    assert "start from identical weights: True" in start and "other weights: True" in start
    assert "the harness reproduces section 1, epoch by epoch: True" in outputs_of(
        nb, "the harness reproduces section 1"
    )
    augmentation = outputs_of(nb, "all 8 copies moved identically")
    assert "v2.RandomAffine on the batch, all 8 copies moved identically: True" in augmentation
    assert "RandomAffineBatch, all 8 copies moved identically: False" in augmentation
    assert "the model holds the best epoch's weights: True" in outputs_of(
        nb, "holds the best epoch's weights"
    )


def test_the_weight_decay_and_dropout_demonstrations(smoke_run):
    _, nb = smoke_run(STEM)
    decay = outputs_of(nb, "def one_step(")
    assert decay.count(": True") == 4 and "False" not in decay
    groups = outputs_of(nb, "grouped = torch.optim.AdamW(groups")
    assert "3 tensors, 268,800 numbers, weight_decay 1.0" in groups
    assert "3 tensors, 522 numbers, weight_decay 0.0" in groups
    assert groups.count(": True") == 2 and "False" not in groups
    dropout = outputs_of(nb, "drop = nn.Dropout(p=0.5)")
    assert (
        "values [0.0, 2.0]" in dropout
        and "[0.0, 1.25]" in dropout
        and "output equals input: True" in dropout
    )


def test_the_exercise_checks_pass_with_the_solutions(smoke_run):
    _, nb = smoke_run(STEM)
    for marker, sentence in (
        ("FIXED = [", "decide passes the made-up cases"),
        ("for eps, want in", "smoothed_cross_entropy matches the precomputed losses"),
        ("measured = {n: augmentation_runs(n, seeds)", "augmentation_runs trains with and without"),
        ("groups = decay_groups(layered, 0.5)", "decay_groups decays exactly the weight matrices"),
    ):
        assert sentence in outputs_of(nb, marker), marker
