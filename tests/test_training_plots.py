"""helpers.training (fit, evaluate, predict, adam) and helpers.plots."""

from __future__ import annotations

import math
import subprocess
import sys

import matplotlib.pyplot as plt
import pytest
import torch
from conftest import ROOT
from torch import nn

import helpers
from helpers.data import InMemoryLoader
from helpers.models import Net
from helpers.plots import WRONG, plot_history, show_images
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


def fake_history(n=3, val=True):
    return {
        "epoch": list(range(1, n + 1)),
        "train_loss": [1.0, 0.5, 0.3][:n],
        "train_acc": [0.7, 0.8, 0.9][:n],
        "val_loss": [1.1, 0.6, 0.4][:n] if val else [math.nan] * n,
        "val_acc": [0.6, 0.75, 0.85][:n] if val else [math.nan] * n,
    }


def test_plot_history_single_and_compared():
    fig = plot_history(fake_history(), title="t")
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_xlabel() == "epoch" and "loss" in loss_ax.get_ylabel()
    assert acc_ax.get_ylabel() == "accuracy (%)"
    assert [line.get_label() for line in acc_ax.lines] == ["train", "validation"]
    assert list(acc_ax.lines[1].get_ydata()) == pytest.approx([60, 75, 85])
    fig = plot_history({"Adam": fake_history(), "SGD": fake_history(val=False)})
    assert [line.get_label() for line in fig.axes[0].lines] == [
        "Adam: train",
        "Adam: validation",
        "SGD: train",
    ]
    plt.close("all")
    with pytest.raises(ValueError, match="history must be a dict returned by fit"):
        plot_history({"a": 1})


def test_show_images_titles_and_marks_mistakes():
    images = torch.rand(10, 1, 28, 28)
    fig = show_images(
        images, torch.arange(10), torch.tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 0]), ncols=5
    )
    axes = fig.axes
    assert len(axes) == 10
    assert axes[0].get_title() == "0 → 0" and axes[9].get_title() == "9 → 0"
    assert axes[9].title.get_color() == WRONG and axes[0].title.get_color() == "black"
    plt.close("all")
    with pytest.raises(ValueError, match="images must be"):
        show_images(torch.rand(28, 28))
    with pytest.raises(ValueError, match="labels must have one entry per image \\(10\\), got 3"):
        show_images(images, [1, 2, 3])


def test_import_helpers_loads_matplotlib_only_at_the_first_plotting_name():
    code = (
        "import sys, helpers; before = 'matplotlib' in sys.modules; "
        "from helpers import plot_history; "
        "print(before, 'matplotlib' in sys.modules, plot_history.__module__, "
        "helpers.show_images.__name__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    assert out == ["False", "True", "helpers.plots", "show_images"]
    with pytest.raises(AttributeError, match="no attribute 'plot_everything'"):
        helpers.plot_everything  # noqa: B018 (the attribute access is the test)
