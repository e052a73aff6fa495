"""helpers.training: fit, evaluate, predict, adam (the plots: test_plots.py)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from helpers.data import InMemoryLoader
from helpers.models import Net
from helpers.training import HISTORY_KEYS, TrainingDiverged, adam, evaluate, fit, predict


@pytest.fixture(scope="module")
def small(mnist_splits):
    """2,000 training and 1,000 validation images."""
    (xt, yt), (xv, yv) = mnist_splits["train"], mnist_splits["val"]
    return (xt[:2000], yt[:2000]), (xv[:1000], yv[:1000])


def loaders(small, seed=0, batch_size=64):
    (xt, yt), (xv, yv) = small
    g = torch.Generator().manual_seed(seed)
    return (
        InMemoryLoader(xt, yt, batch_size=batch_size, shuffle=True, generator=g),
        InMemoryLoader(xv, yv, batch_size=500),
    )


def test_fit_learns_and_returns_a_full_history(small):
    torch.manual_seed(0)
    net = Net()
    train, val = loaders(small)
    before = evaluate(net, val)["accuracy"]
    history = fit(net, train, epochs=3, val_loader=val, progress=False)
    assert set(history) == set(HISTORY_KEYS)
    assert history["epoch"] == [1, 2, 3]
    for key in ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "time"):
        assert len(history[key]) == 3
    assert len(history["batch_loss"]) == 3 * len(train)
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert history["val_acc"][-1] > 0.85 > before + 0.5
    assert history["val_acc"][-1] == pytest.approx(evaluate(net, val)["accuracy"])
    assert history["time"] == sorted(history["time"]) and history["lr"] == [1e-3] * 3


def test_fit_is_reproducible_with_the_same_seed(small):
    runs = []
    for _ in range(2):
        torch.manual_seed(1)
        net = Net()
        train, val = loaders(small, seed=1)
        h = fit(net, train, epochs=1, val_loader=val, progress=False)
        runs.append((h["batch_loss"], h["val_acc"]))
    assert runs[0] == runs[1]


def test_fit_without_validation_records_nan(small):
    train, _ = loaders(small)
    h = fit(Net(), train, epochs=1, progress=False)
    assert math.isnan(h["val_loss"][0]) and math.isnan(h["val_acc"][0])


def test_fit_stops_on_a_nan_loss_with_a_clear_message(small):
    train, _ = loaders(small)
    net = Net()
    with pytest.raises(
        TrainingDiverged, match=r"the loss became (nan|inf) at epoch 1, batch \d+ \(lr=1000000.0\)"
    ):
        fit(
            net,
            train,
            epochs=2,
            optimizer=torch.optim.SGD(net.parameters(), lr=1e6),
            progress=False,
        )


def test_fit_adds_a_penalty_and_steps_a_scheduler(small):
    train, _ = loaders(small)
    torch.manual_seed(0)
    net = Net()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0 / (1 + step))
    calls = []

    def penalty(model):
        calls.append(1)
        return 0.0 * sum(p.sum() for p in model.parameters())

    h = fit(net, train, epochs=1, optimizer=opt, scheduler=sched, penalty=penalty, progress=False)
    assert len(calls) == len(train)
    assert h["lr"][0] == pytest.approx(0.1 / (1 + len(train)))


def test_fit_rejects_bad_arguments(small):
    train, val = loaders(small)
    with pytest.raises(ValueError, match="epochs must be an integer >= 1, got 0"):
        fit(Net(), train, epochs=0)
    with pytest.raises(TypeError, match="epochs must be int"):
        fit(Net(), train, epochs="3")
    with pytest.raises(TypeError, match="model must be Module"):
        fit("net", train, epochs=1)
    with pytest.raises(TypeError, match="train_loader must be a DataLoader"):
        fit(Net(), iter(train), epochs=1)


def test_progress_bar_is_silent_on_request(small, capsys):
    train, _ = loaders(small)
    fit(Net(), train, epochs=1, progress=False)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    fit(Net(), train, epochs=1, progress=True, desc="demo")
    assert "demo" in capsys.readouterr().err


def test_evaluate_and_predict_agree_with_a_manual_count(small):
    _, val = loaders(small)
    torch.manual_seed(0)
    net = Net()
    net.train()
    logits, targets = predict(net, val)
    assert logits.shape == (1000, 10) and torch.equal(targets, small[1][1])
    result = evaluate(net, val)
    assert result["n"] == 1000
    assert result["accuracy"] == pytest.approx((logits.argmax(1) == targets).float().mean().item())
    assert result["loss"] == pytest.approx(
        nn.functional.cross_entropy(logits, targets).item(), rel=1e-6
    )
    assert net.training  # the mode is restored


def test_adam_is_the_same_update_as_torch_adam():
    torch.manual_seed(0)
    a, b = Net(), Net()
    b.load_state_dict(a.state_dict())
    x, y = torch.randn(16, 784), torch.randint(0, 10, (16,))
    for model, opt in ((a, adam(a)), (b, torch.optim.Adam(b.parameters(), lr=1e-3))):
        for _ in range(3):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb, atol=1e-6, rtol=1e-5)
