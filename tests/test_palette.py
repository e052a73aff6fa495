"""The course's one colour palette (helpers.plots): colour-blind safe, made matplotlib's default
by ``setup``, and used by every figure that every notebook draws (recorded in the smoke run)."""

from __future__ import annotations

import io
import subprocess
import sys

import course_smoke
import matplotlib.pyplot as plt
import pytest
from conftest import NOTEBOOKS, ROOT
from matplotlib.colors import to_hex

from helpers.plots import COLORS, PALETTE, plot_history, use_course_style

# colour maps that are perceptually ordered and colour-blind safe, for images and matrices
COLOUR_MAPS = {"viridis", "cividis", "gray", "gray_r", "Greys", "Greys_r", "Blues", "RdBu_r"}


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


def in_the_palette(kind: str, colour: str) -> bool:
    """A colour of the palette (at any transparency), a neutral grey, or an allowed colour map."""
    if kind == "colour map":
        return colour in COLOUR_MAPS
    if colour == "none" or colour.endswith("00") and len(colour) == 9:  # nothing is drawn
        return True
    r, g, b = colour[1:3], colour[3:5], colour[5:7]
    return r == g == b or colour[:7].upper() in {c.upper() for c in PALETTE}


@pytest.mark.slow
def test_setup_applies_the_palette_and_importing_helpers_does_not():
    """In a fresh process, so that nothing else has applied the palette before: importing
    helpers (and helpers.plots) leaves matplotlib's colours alone; setup() sets them."""
    code = (
        "import matplotlib as mpl, helpers, helpers.plots\n"
        "cycle = lambda: mpl.rcParams['axes.prop_cycle'].by_key()['color']\n"
        "ours = lambda: cycle() == list(helpers.PALETTE)\n"
        "print('imported', ours())\n"
        "helpers.setup({'seed': 0, 'device': 'cpu', 'data_dir': None, 'smoke': True, "
        "'results_dir': None, 'threads': 1})\n"
        "print('setup', ours())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert "imported False" in out and "setup True" in out
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
    use_course_style()  # what setup() does
    fig = plot_history({"a": history, "b": history})
    colors = [to_hex(line.get_color()).upper() for line in fig.axes[0].get_lines()]
    assert colors == [PALETTE[0], PALETTE[0], PALETTE[1], PALETTE[1]]
    plt.close(fig)


def test_the_recorder_catches_a_colour_outside_the_palette():
    """The smoke runs' colour recorder (course_smoke.HOOKS) sees what a figure really draws."""
    from matplotlib.backend_bases import FigureCanvasBase

    original = FigureCanvasBase.print_figure
    hooks: dict = {}
    try:
        exec(course_smoke.HOOKS, hooks)
        fig, ax = plt.subplots()
        ax.plot([0, 1], color="crimson")
        ax.bar([0], [1], color=COLORS["blue"], alpha=0.5)
        ax.imshow([[0, 1]], cmap="jet")
        fig.canvas.print_figure(io.BytesIO(), format="png")
        plt.close(fig)
    finally:
        FigureCanvasBase.print_figure = original
    bad = {c for k, c in hooks["_course"]["colours"] if not in_the_palette(k, c)}
    assert bad == {"#dc143cff", "jet"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_figure_of_every_notebook_uses_the_palette(path, smoke_record):
    colours = smoke_record(path.stem)["colours"]
    assert colours, f"{path.stem} drew no figure in its smoke run"
    bad = sorted({(k, c) for k, c in colours if not in_the_palette(k, c)})
    assert not bad, f"{path.stem}: colours outside the palette (use COLORS or C0, C1, ...): {bad}"
