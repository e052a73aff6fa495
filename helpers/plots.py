"""The figures the notebooks share, and the course's one palette, colour-blind safe: ``setup()``
makes it matplotlib's colour cycle (``C0``, ``C1``, ...), :data:`COLORS` names its colours."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.colors import PowerNorm
from matplotlib.figure import Figure
from torch import Tensor

# Okabe & Ito (2008), "Color Universal Design", ordered so that neighbours differ in hue and
# lightness. Yellow comes last: it is faint on white, for fills rather than thin lines.
COLORS: dict[str, str] = {
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "bluish green": "#009E73",
    "reddish purple": "#CC79A7",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "black": "#000000",
    "yellow": "#F0E442",
}
PALETTE: tuple[str, ...] = tuple(COLORS.values())
WRONG = COLORS["vermillion"]  # marks a wrong prediction, beside black for a right one


def use_course_style() -> None:
    """Make :data:`PALETTE` matplotlib's colour cycle and ``viridis`` its colour map (``setup()``
    calls this); show figures inline in a kernel that inherited ``MPLBACKEND=Agg``."""
    mpl.rcParams["axes.prop_cycle"] = cycler(color=list(PALETTE))
    mpl.rcParams["image.cmap"] = "viridis"
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if type(shell).__name__ == "ZMQInteractiveShell" and mpl.get_backend().lower() == "agg":
        shell.run_line_magic("matplotlib", "inline")


def plot_history(history: Mapping, *, title: str | None = None) -> Figure:
    """Loss and accuracy per epoch, training dashed and validation solid, of what ``fit``
    returns, or of ``{label: history, ...}`` to compare runs."""
    runs = {"": history} if "train_loss" in history else history
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    for i, (label, h) in enumerate(runs.items()):
        prefix = f"{label}: " if label else ""
        for ax, key, scale in zip(axes, ("loss", "acc"), (1, 100)):
            train, val = h[f"train_{key}"], h[f"val_{key}"]
            values = [v * scale for v in train]
            ax.plot(h["epoch"], values, "--", color=f"C{i}", label=f"{prefix}train")
            if not all(math.isnan(v) for v in val):  # fit had a validation set
                values = [v * scale for v in val]
                ax.plot(h["epoch"], values, "-o", ms=3, color=f"C{i}", label=f"{prefix}validation")
    axes[0].set(xlabel="epoch", ylabel="cross-entropy loss (nats)", title="Loss")
    axes[1].set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return fig


def show_images(
    images: Tensor,
    labels: Sequence[int] | None = None,
    predictions: Sequence[int] | None = None,
    *,
    ncols: int = 8,
    title: str | None = None,
) -> Figure:
    """A grid of greyscale images ``[N, (1,) H, W]``, each titled with its label and prediction,
    in :data:`WRONG` vermillion when they differ ("7 → 1" says so without the colour too)."""
    images = images.detach().cpu().float().reshape(len(images), *images.shape[-2:])
    ncols = min(ncols, len(images))
    nrows = math.ceil(len(images) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.35 * ncols, 1.55 * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, (ax, image) in enumerate(zip(axes.flat, images)):
        ax.imshow(image.numpy(), cmap="gray_r")  # each image on its own grey scale
        parts = [] if labels is None else [str(int(labels[i]))]
        if predictions is not None:
            parts.append(f"→ {int(predictions[i])}")
        wrong = len(parts) == 2 and int(labels[i]) != int(predictions[i])
        ax.set_title(" ".join(parts), fontsize=9, color=WRONG if wrong else "black")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(
    confusion: Tensor, *, normalize: bool = False, title: str | None = None, ax: Axes | None = None
) -> Figure:
    """A confusion matrix (rows: true class) as an annotated heat map, on ``ax`` if given, in % of
    each row with ``normalize``; a square-root colour scale keeps small mistakes visible."""
    values = confusion.detach().cpu().double()
    if normalize:
        values = 100 * values / values.sum(1, keepdim=True).clamp(min=1)
    n = len(values)
    if ax is None:
        _, ax = plt.subplots(figsize=(0.55 * n + 2.2, 0.55 * n + 1.4), constrained_layout=True)
    norm = PowerNorm(0.5, vmin=0, vmax=max(float(values.max()), 1e-9))
    image = ax.imshow(values.numpy(), cmap="Blues", norm=norm)
    ax.figure.colorbar(image, ax=ax, label="% of the true class" if normalize else "images")
    for i in range(n):
        for j in range(n):
            v = float(values[i, j])
            text = (f"{v:.1f}" if v < 99.95 else "100") if normalize else f"{v:.0f}"
            # white on dark cells; light grey for the zeros, so that the mistakes stand out
            color = "white" if v > 0.35 * float(values.max()) else "black" if v else "lightgrey"
            ax.text(j, i, text, ha="center", va="center", fontsize=7, color=color)
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    default = "Confusion matrix, % of each true class" if normalize else "Confusion matrix (counts)"
    ax.set(xlabel="predicted class", ylabel="true class", title=title or default)
    return ax.figure
