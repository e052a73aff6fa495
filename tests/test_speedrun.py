"""helpers.speedrun.train_to_target: fractional epochs, when the checks happen, what is recorded,
and bad input."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from helpers.data import InMemoryLoader
from helpers.speedrun import train_to_target


def halves(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """An easy task: class 0 has ink in the left half of the image, class 1 in the right half."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 2, (n,), generator=g)
    images = torch.zeros(n, 28, 28, dtype=torch.uint8)
    images[labels == 0, :, :14] = 200
    images[labels == 1, :, 14:] = 200
    return images, labels


def setup(batch_size: int = 16, n: int = 160):
    torch.manual_seed(0)
    train = InMemoryLoader(
        *halves(n, 0), batch_size=batch_size, shuffle=True, generator=torch.Generator()
    )
    val = InMemoryLoader(*halves(64, 1), batch_size=64)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 2))
    return model, train, val


def test_reaches_an_easy_target_at_a_check_and_runs_the_whole_schedule():
    model, train, val = setup()  # 10 batches per epoch: a check every 2 steps (5 per epoch)
    r = train_to_target(model, train, val, epochs=1.5, max_lr=0.01, target=0.95, checks_per_epoch=5)
    assert r["steps"] == 15  # 1.5 epochs of 10 batches
    assert r["epochs_to_target"] is not None and r["seconds_to_target"] > 0
    assert r["epochs_to_target"] in {0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.5}
    assert r["seconds_to_target"] <= r["wall"] and r["cpu"] > 0
    epochs_checked = [e for e, _, _ in r["checks"]]
    assert epochs_checked[-1] == 1.5  # always checked after the last step
    # checks stop once the target is reached, apart from the final one
    assert epochs_checked.index(r["epochs_to_target"]) >= len(epochs_checked) - 2
    first = next(c for c in r["checks"] if c[2] >= 0.95)
    assert (first[0], first[1]) == (r["epochs_to_target"], r["seconds_to_target"])
    assert all(a < 0.95 for _, _, a in r["checks"][: r["checks"].index(first)])


def test_bf16_trains_and_checks_under_autocast_and_keeps_float32_weights(monkeypatch):
    import helpers.speedrun as speedrun

    model, train, val = setup()
    seen = []  # the dtype of a matrix product inside each validation check
    real_evaluate = speedrun.evaluate

    def spy(m, loader):
        seen.append((torch.ones(2, 2) @ torch.ones(2, 2)).dtype)
        return real_evaluate(m, loader)

    monkeypatch.setattr(speedrun, "evaluate", spy)
    r = train_to_target(model, train, val, epochs=1.0, max_lr=0.01, target=0.95, bf16=True)
    assert r["epochs_to_target"] is not None  # the easy task is still learned
    assert seen and set(seen) == {torch.bfloat16}
    assert model[1].weight.dtype == torch.float32
    monkeypatch.setattr(speedrun, "evaluate", spy)
    seen.clear()
    train_to_target(model, train, val, epochs=0.5, max_lr=0.01, target=0.95)
    assert set(seen) == {torch.float32}  # off by default


def test_an_unreachable_target_gives_none_and_checks_every_time():
    model, train, _ = setup()
    images, _ = halves(64, 1)
    shuffled = InMemoryLoader(images, halves(64, 2)[1], batch_size=64)  # labels unrelated: ~50%
    r = train_to_target(model, train, shuffled, epochs=0.5, max_lr=0.01, target=0.99)
    assert r["seconds_to_target"] is None and r["epochs_to_target"] is None
    assert r["steps"] == 5
    # 10 batches, 4 checks per epoch: every 2 steps, and after the last (5th) step
    assert [e for e, _, _ in r["checks"]] == [0.2, 0.4, 0.5]
    times = [t for _, t, _ in r["checks"]]
    assert times == sorted(times)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"epochs": 0.0}, ValueError, "epochs must be > 0 (a fraction is allowed), got 0.0"),
        ({"epochs": "1"}, TypeError, "epochs must be float"),
        ({"max_lr": -1.0}, ValueError, "max_lr must be > 0, got -1.0"),
        ({"target": 1.5}, ValueError, "target"),
        ({"label_smoothing": -0.1}, ValueError, "label_smoothing"),
        ({"checks_per_epoch": 0}, ValueError, "checks_per_epoch must be an integer >= 1"),
        ({"bf16": "yes"}, TypeError, "bf16 must be bool"),
    ],
)
def test_bad_input_names_the_argument(kwargs, error, message):
    model, train, val = setup()
    args = {"epochs": 1.0, "max_lr": 0.01} | kwargs
    with pytest.raises(error) as err:
        train_to_target(model, train, val, **args)
    assert message in str(err.value)


def test_a_loader_without_a_length_is_refused():
    model, train, val = setup()
    with pytest.raises(ValueError, match="train_loader must have a length"):
        train_to_target(model, iter(train), val, epochs=1.0, max_lr=0.01)
