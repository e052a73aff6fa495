"""helpers.optim: the range test, schedule traces, one colour per name."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
import torch
from torch import nn

from helpers.optim import (
    colors_for,
    lr_range_test,
    lr_trace,
    plot_race,
    range_test_pick,
    smooth,
)
from helpers.plots import PALETTE


def toy_loader(n: int = 256, batch: int = 32, seed: int = 0) -> list:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 28, 28, generator=g)
    y = (x.flatten(1)[:, 0] > 0).long()
    return [(x[i : i + batch], y[i : i + batch]) for i in range(0, n, batch)]


class Sized(list):
    """A list of batches is a loader with a length, as fit wants."""


def test_smooth_is_a_bias_corrected_moving_average():
    assert smooth([2.0, 2.0, 2.0]) == pytest.approx([2.0, 2.0, 2.0])
    out = smooth([0.0, 1.0], beta=0.5)
    assert out == pytest.approx([0.0, 0.5 / 0.75])


def test_lr_range_test_grows_the_rate_exponentially_and_stops_on_blow_up():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 2))
    result = lr_range_test(
        model, toy_loader(), torch.optim.SGD(model.parameters()), start=1e-4, end=1e4, steps=50
    )
    lrs = result["lr"]
    assert lrs[0] == pytest.approx(1e-4) and len(lrs) == len(result["loss"])
    ratios = [b / a for a, b in zip(lrs, lrs[1:])]
    assert all(r == pytest.approx(ratios[0]) for r in ratios)
    assert 8 < len(lrs) < 50  # the 8 batches cycled; 1e4 blows a linear model up before the end
    pick = range_test_pick(result)
    assert lrs[0] / 10 <= pick <= lrs[-1] / 10


def test_lr_trace_follows_the_schedulers():
    steps = 10
    assert lr_trace(None, 0.1, 3) == [0.1, 0.1, 0.1]
    step_lr = lr_trace(lambda o: torch.optim.lr_scheduler.StepLR(o, 5, gamma=0.5), 1.0, steps)
    assert step_lr == [1.0] * 5 + [0.5] * 5
    cosine = lr_trace(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, steps), 1.0, steps)
    assert cosine[0] == 1.0 and cosine[5] == pytest.approx(0.5)
    plateau = lr_trace(
        lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, factor=0.1, patience=1),
        1.0,
        5,
        metrics=[1.0] * 5,
    )
    assert plateau[0] == 1.0 and plateau[-1] < 1.0


def test_colors_are_fixed_per_name_and_the_race_plot_keeps_them():
    names = ["GD", "SGD", "Adam"]
    colors = colors_for(names)
    assert list(colors.values()) == list(PALETTE[:3])  # the course's one palette
    many = colors_for([str(i) for i in range(10)])  # then greys
    assert list(many.values())[:8] == list(PALETTE) and len(set(many.values())) == 10
    curves = {n: torch.rand(2, 4) * 100 for n in names}
    fig = plot_race(curves, colors, zoom_out=["GD"])
    left, right = fig.axes[:2]
    by_label = {line.get_label(): line.get_color() for line in right.get_lines()}
    assert by_label == {"SGD": colors["SGD"], "Adam": colors["Adam"]}
    assert {line.get_label(): line.get_color() for line in left.get_lines()} == colors
    plt.close(fig)
