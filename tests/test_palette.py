"""The course's one colour palette (helpers.plots): colour-blind safe, matplotlib's default."""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import pytest

import helpers  # noqa: F401  (importing helpers sets the palette)
from helpers.plots import COLORS, PALETTE, plot_history, use_course_colors


def rgb(hex_color: str) -> tuple[float, float, float]:
    return tuple(int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5))


def linear(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def simulate(hex_color: str, kind: str) -> tuple[float, ...]:
    """Viénot, Brettel & Mollon (1999): how a dichromat sees the colour, in linear RGB."""
    r, g, b = (linear(c) for c in rgb(hex_color))
    matrices = {
        "protanopia": ((0.11238, 0.88762, 0.0), (0.11238, 0.88762, 0.0), (0.00401, -0.00401, 1.0)),
        "deuteranopia": (
            (0.29275, 0.70725, 0.0),
            (0.29275, 0.70725, 0.0),
            (-0.02234, 0.02234, 1.0),
        ),
    }
    return tuple(m[0] * r + m[1] * g + m[2] * b for m in matrices[kind])


def test_importing_helpers_makes_the_palette_the_default_colour_cycle():
    assert mpl.rcParams["axes.prop_cycle"].by_key()["color"] == list(PALETTE)
    mpl.rcParams["axes.prop_cycle"] = mpl.rcParamsDefault["axes.prop_cycle"]
    use_course_colors()
    assert mpl.rcParams["axes.prop_cycle"].by_key()["color"] == list(PALETTE)
    assert len(set(PALETTE)) == len(PALETTE) == 8 and PALETTE[0] == COLORS["blue"]


@pytest.mark.parametrize("kind", ["protanopia", "deuteranopia"])
def test_the_first_six_colours_stay_apart_for_red_green_colour_blindness(kind):
    seen = [simulate(c, kind) for c in PALETTE[:6]]
    closest = min(
        sum((a - b) ** 2 for a, b in zip(x, y)) ** 0.5
        for i, x in enumerate(seen)
        for y in seen[i + 1 :]
    )
    # tab10 (matplotlib's default): 0.026 (protanopia), 0.068 (deuteranopia); ours: 0.137, 0.197
    assert closest > 0.1, f"two palette colours look alike with {kind}"


def test_plot_history_draws_its_runs_in_the_palette():
    history = {
        "epoch": [1, 2],
        "train_loss": [1.0, 0.5],
        "val_loss": [1.1, 0.6],
        "train_acc": [0.5, 0.8],
        "val_acc": [0.4, 0.7],
    }
    fig = plot_history({"a": history, "b": history})
    colors = [line.get_color() for line in fig.axes[0].get_lines()]
    assert colors == [PALETTE[0], PALETTE[0], PALETTE[1], PALETTE[1]]
    plt.close(fig)
