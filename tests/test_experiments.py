"""helpers.experiments: the fair comparison harness of notebook 06."""

from __future__ import annotations

import math

import pytest
import torch

from helpers.experiments import Config, Harness, format_table, mean_std, summarise

TINY = (784, 16, 10)


@pytest.fixture
def harness():
    g = torch.Generator().manual_seed(0)
    pool_x = torch.randint(0, 256, (300, 28, 28), dtype=torch.uint8, generator=g)
    pool_y = pool_x[:, 10:18, 10:18].float().mean((1, 2)).argsort().argsort() * 10 // 300
    val_x = torch.randint(0, 256, (100, 28, 28), dtype=torch.uint8, generator=g)
    val_y = torch.randint(0, 10, (100,), generator=g)
    return Harness(pool_x, pool_y, val_x, val_y, batch_size=32)


def base(**changes) -> Config:
    return Config(sizes=TINY, n=128, epochs=2).but(**changes)


def same_weights(a, b) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_same_seed_same_initial_weights_whatever_the_remedy(harness):
    a = harness.model(base(), 3)
    assert same_weights(a, harness.model(base(dropout=0.5, weight_decay=0.1, augment=True), 3))
    assert not same_weights(a, harness.model(base(), 4))


def test_a_run_is_reproducible_and_measures_what_it_says(harness):
    first, again = harness.run(base(), 1), harness.run(base(), 1)
    assert first["val_acc"] == again["val_acc"] and first["train_acc"] == again["train_acc"]
    assert same_weights(first["model"], again["model"])
    assert first["epochs"] == 2 and len(first["history"]["batch_loss"]) == 2 * 4  # 128 / 32
    assert math.isclose(first["gap"], first["train_acc"] - first["val_acc"])
    assert 0 <= first["val_ece"] <= 1 and first["val_loss"] > 0
    assert all(math.isnan(v) for v in first["history"]["val_acc"])  # no curves asked for
    curves = harness.run(base(), 1, curves=True)
    assert curves["val_acc"] == first["val_acc"]  # evaluating each epoch changes nothing
    assert curves["history"]["val_acc"][-1] == first["val_acc"]


def test_augmentation_does_not_change_the_batch_order_or_the_initial_weights(harness):
    seen = []
    for augment in (False, True):
        config = base(augment=augment, epochs=1)
        model = harness.model(config, 0)
        assert same_weights(model, harness.model(base(), 0))
        run = harness.run(config, 0)
        seen.append(run["model"])
    assert not same_weights(*seen)  # the augmented run did train on other pixels


def test_remedies_change_the_result(harness):
    plain = harness.run(base(), 0)
    for change in (
        {"l1": 1e-2},
        {"optimizer": "adamw", "weight_decay": 10.0},
        {"label_smoothing": 0.3},
        {"dropout": 0.5},
    ):
        other = harness.run(base(**change), 0)
        assert not same_weights(plain["model"], other["model"]), change


def test_early_stopping_ends_the_run_and_keeps_the_best_epoch(harness):
    run = harness.run(base(patience=1, epochs=30, n=64), 0)
    assert run["epochs"] < 30
    assert run["val_acc"] == max(run["history"]["val_acc"])


def test_trained_caches_runs_per_config_and_seed(harness):
    a = harness.trained(base(), [0, 1])
    assert harness.n_runs == 2
    b = harness.trained(base(), [1, 0, 2])
    assert harness.n_runs == 3 and b[0] is a[1] and b[1] is a[0]
    harness.trained(base(dropout=0.2), [0])
    assert harness.n_runs == 4
    fresh = harness.run(base(), 5, curves=True)  # a run is cached too
    assert harness.trained(base(), [5])[0] is fresh and harness.n_runs == 5


def test_summarise_mean_std_and_table(harness):
    configs = {"baseline": base(), "dropout": base(dropout=0.5)}
    table = summarise(harness, configs, [0, 1])
    runs = harness.trained(base(), [0, 1])
    mean, std = mean_std(runs, "val_acc")
    assert table["baseline"]["val_acc_mean"] == mean and table["baseline"]["val_acc_std"] == std
    assert math.isclose(mean, (runs[0]["val_acc"] + runs[1]["val_acc"]) / 2)
    text = format_table(table)
    assert len(text.splitlines()) == 3 and "dropout" in text and "%" in text
    assert mean_std(runs[:1], "val_acc")[1] == 0.0


def test_silent_mistakes_are_refused(harness):
    # the slice would train on the pool's 300 images, not 301, without a word
    with pytest.raises(ValueError, match="config.n must be at most the pool's 300, got 301"):
        harness.run(base(n=301), 0)
    with pytest.raises(AssertionError, match="no optimizer called 'sgd'"):
        harness.run(base(optimizer="sgd"), 0)
