"""helpers.plots (fit, evaluate, predict and adam: test_training.py)."""

from __future__ import annotations

import math
import subprocess
import sys

import matplotlib.pyplot as plt
import pytest
import torch
from conftest import ROOT

import helpers
from helpers.plots import WRONG, plot_history, show_images


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
