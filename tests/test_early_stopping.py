"""helpers.training.EarlyStopping: patience, best-weight restore, mode min/max, one model per
instance, and with fit."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn

from helpers.data import InMemoryLoader
from helpers.training import EarlyStopping, evaluate, fit


class Scalar(nn.Module):
    """A model with one weight we can set by hand, to see which weights get restored."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(3))

    def set(self, value: float) -> Scalar:
        with torch.no_grad():
            self.w.fill_(value)
        return self


def replay(stopper: EarlyStopping, values: list[float]) -> tuple[int, Scalar]:
    """Feed ``values`` one epoch at a time, the model's weight set to the epoch number; return
    the stop epoch."""
    model = Scalar()
    for epoch, value in enumerate(values, 1):
        if stopper.step(value, model.set(float(epoch)), epoch):
            return epoch, model
    return len(values), model


def test_stops_after_patience_epochs_without_improvement_min_mode():
    stopper = EarlyStopping(patience=3)
    stop, model = replay(stopper, [1.0, 0.8, 0.9, 0.85, 0.81, 0.5])
    assert stop == 5  # epochs 3, 4, 5 do not beat 0.8
    assert stopper.best == 0.8 and stopper.best_epoch == 2 and stopper.bad_epochs == 3
    assert float(model.w[0].detach()) == 5.0  # the model still holds the last epoch's weights ...
    stopper.restore(model)
    assert torch.equal(model.w, torch.full((3,), 2.0))  # ... until restore loads the best epoch's


def test_an_improvement_resets_the_patience_counter():
    stopper = EarlyStopping(patience=2)
    stop, _ = replay(stopper, [1.0, 1.1, 0.9, 1.2, 0.7, 0.8, 0.75, 0.1])
    assert stop == 7 and stopper.best == 0.7 and stopper.best_epoch == 5


def test_max_mode_for_accuracy():
    stopper = EarlyStopping(patience=2, monitor="val_acc", mode="max")
    stop, model = replay(stopper, [0.5, 0.7, 0.6, 0.7, 0.9])
    assert (
        stop == 4 and stopper.best == 0.7 and stopper.best_epoch == 2
    )  # an equal value is no improvement
    stopper.restore(model)
    assert float(model.w[0].detach()) == 2.0
    # the same values in min mode: the first epoch is the best
    low = EarlyStopping(patience=2, mode="min")
    assert replay(low, [0.5, 0.7, 0.6, 0.7, 0.9])[0] == 3 and low.best_epoch == 1


def test_min_delta_requires_a_large_enough_improvement():
    stopper = EarlyStopping(patience=2, min_delta=0.1)
    stop, _ = replay(stopper, [1.0, 0.95, 0.92, 0.5])
    assert stop == 3 and stopper.best == 1.0
    # nothing seen yet: any value is an improvement
    assert EarlyStopping(patience=2, monitor="val_acc", min_delta=0.05).improved(0.1)


def test_a_nan_value_never_counts_as_the_best():
    stopper = EarlyStopping(patience=2)
    stop, model = replay(stopper, [math.nan, 0.9, math.nan, 0.8, math.nan, math.nan])
    assert stop == 6 and stopper.best == 0.8 and stopper.best_epoch == 4
    stopper.restore(model)
    assert float(model.w[0].detach()) == 4.0


def test_the_best_weights_are_a_copy_not_a_reference():
    stopper = EarlyStopping(patience=5)
    model = Scalar().set(1.0)
    stopper.step(0.5, model, 1)
    model.set(7.0)  # training goes on and changes the parameters in place
    assert torch.equal(stopper.best_state["w"], torch.full((3,), 1.0))


def test_restore_before_any_step_changes_nothing():
    model = Scalar().set(3.0)
    EarlyStopping().restore(model)
    assert torch.equal(model.w, torch.full((3,), 3.0))


@pytest.mark.parametrize(
    "kwargs", [{"mode": "maximum"}, {"monitor": "accuracy"}, {"monitor": "val_loss", "mode": "max"}]
)
def test_a_monitor_or_mode_that_would_pick_the_wrong_epoch_is_refused(kwargs):
    with pytest.raises(ValueError, match=r"monitor must be one of .* got monitor="):
        EarlyStopping(**kwargs)


def test_the_mode_follows_from_the_monitored_metric():
    assert EarlyStopping(monitor="val_acc").mode == "max"
    assert EarlyStopping(monitor="train_acc").mode == "max"
    assert EarlyStopping(monitor="val_loss").mode == "min"
    stopper = EarlyStopping(patience=2, monitor="val_acc")  # no mode given: accuracy is maximized
    stop, _ = replay(stopper, [0.5, 0.9, 0.6, 0.7])
    assert stop == 4 and stopper.best == 0.9 and stopper.best_epoch == 2
    with pytest.raises(ValueError, match="got monitor='val_acc', mode='min'"):
        EarlyStopping(monitor="val_acc", mode="min")


def test_one_instance_follows_one_model():
    stopper = EarlyStopping(patience=2)
    _, model_a = replay(stopper, [1.0, 0.5])
    model_b = copy.deepcopy(model_a)
    with pytest.raises(ValueError, match="another model; create a new EarlyStopping"):
        stopper.step(0.1, model_b)
    with pytest.raises(ValueError, match="another model"):
        stopper.restore(model_b)  # model A's weights never land in model B
    stopper.step(0.4, model_a)  # the same model continues
    stopper.reset()
    stopper.step(0.9, model_b)
    assert stopper.best == 0.9 and stopper.bad_epochs == 0


def test_fit_needs_a_val_loader_to_monitor_validation():
    x, y = torch.zeros(8, 28, 28, dtype=torch.uint8), torch.zeros(8, dtype=torch.long)
    with pytest.raises(ValueError, match="monitors 'val_loss', which needs a val_loader"):
        fit(
            nn.Sequential(nn.Flatten(), nn.Linear(784, 10)),
            InMemoryLoader(x, y),
            epochs=1,
            early_stopping=EarlyStopping(),
            progress=False,
        )


@pytest.fixture(scope="module")
def tiny(mnist_splits):
    """A 300-image training set (easy to overfit) and 1,000 validation images."""
    (xt, yt), (xv, yv) = mnist_splits["train"], mnist_splits["val"]
    g = torch.Generator().manual_seed(0)
    return (
        InMemoryLoader(xt[:300], yt[:300], batch_size=32, shuffle=True, generator=g),
        InMemoryLoader(xv[:1000], yv[:1000], batch_size=1000),
    )


@pytest.mark.parametrize("monitor, mode", [("val_loss", "min"), ("val_acc", "max")])
def test_fit_stops_early_and_ends_with_the_best_epochs_weights(tiny, monitor, mode):
    train, val = tiny
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    stopper = EarlyStopping(patience=2, monitor=monitor, mode=mode)
    history = fit(model, train, epochs=40, val_loader=val, early_stopping=stopper, progress=False)
    values = history[monitor]
    best = min(values) if mode == "min" else max(values)
    ran = len(history["epoch"])
    assert ran < 40, "300 images overfit long before 40 epochs; patience 2 should stop the run"
    assert stopper.best == best and values[stopper.best_epoch - 1] == best
    assert ran == stopper.best_epoch + 2  # stopped exactly `patience` epochs after the best one
    after = evaluate(model, val)
    assert (after["loss"] if monitor == "val_loss" else after["accuracy"]) == pytest.approx(
        best, abs=1e-6
    )
