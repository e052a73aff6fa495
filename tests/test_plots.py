"""helpers.plots: training curves, image grids and confusion matrices (the palette itself:
test_palette.py)."""

from __future__ import annotations

import math
import subprocess
import sys

import matplotlib.pyplot as plt
import pytest
import torch
from conftest import ROOT

import helpers
from helpers.plots import WRONG, plot_confusion_matrix, plot_history, show_images


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


def test_show_images_titles_and_marks_mistakes():
    images = torch.rand(10, 1, 28, 28)
    predictions = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 0])
    fig = show_images(images, torch.arange(10), predictions, ncols=5)
    axes = fig.axes
    assert len(axes) == 10
    assert axes[0].get_title() == "0 → 0" and axes[9].get_title() == "9 → 0"
    assert axes[9].title.get_color() == WRONG and axes[0].title.get_color() == "black"
    plt.close("all")
    fig = show_images(images[:3, 0], predictions=[4, 5, 6], ncols=8)  # [N, H, W], no labels
    assert [ax.get_title() for ax in fig.axes] == ["→ 4", "→ 5", "→ 6"]
    plt.close("all")


def test_plot_confusion_matrix_annotates_counts_and_row_percentages():
    cm = torch.tensor([[8, 2, 0], [1, 9, 0], [0, 5, 5]])
    fig = plot_confusion_matrix(cm)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["8", "2", "0", "1", "9", "0", "0", "5", "5"]
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2"]
    assert fig.axes[1].get_ylabel() == "images"  # the colour bar
    plt.close(fig)
    fig = plot_confusion_matrix(cm, normalize=True, title="rows")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == [
        "80.0",
        "20.0",
        "0.0",
        "10.0",
        "90.0",
        "0.0",
        "0.0",
        "50.0",
        "50.0",
    ]
    assert ax.get_title() == "rows" and fig.axes[1].get_ylabel() == "% of the true class"
    plt.close(fig)


def test_plot_confusion_matrix_draws_on_a_given_axis():
    fig, axes = plt.subplots(1, 2)
    out = plot_confusion_matrix(torch.eye(2, dtype=torch.long), ax=axes[1])
    assert out is fig and len(axes[1].texts) == 4 and not axes[0].texts
    plt.close(fig)


@pytest.mark.slow
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
