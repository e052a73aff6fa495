"""Figures the notebooks share: training curves and image grids, and the course's colours.

The course uses one colour-blind-safe palette, Okabe and Ito's (distinguishable with every common
colour-vision deficiency, and in greyscale by its lightness steps for the first few colours). It
is set here, once: importing :mod:`helpers` makes it matplotlib's default colour cycle, so every
figure's lines ``C0``, ``C1``, ... take it; :data:`COLORS` names the colours for explicit use
(``COLORS["vermillion"]`` rather than ``"crimson"`` for "wrong"). Colour maps stay perceptually
uniform (``viridis``, ``Blues``, ``gray_r``), which are colour-blind safe too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import torch
from cycler import cycler
from matplotlib.figure import Figure

from ._internal.checks import check_positive_int, check_type

# Okabe & Ito (2008), "Color Universal Design"; ordered so that neighbours differ in hue and
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
    """Make :data:`PALETTE` matplotlib's colour cycle and ``viridis`` its colour map (``setup``
    calls this), and show figures in the notebook even where ``MPLBACKEND=Agg`` was set for
    headless runs: the kernel inherits that variable, and with it every figure would vanish."""
    mpl.rcParams["axes.prop_cycle"] = cycler(color=list(PALETTE))
    mpl.rcParams["image.cmap"] = "viridis"
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    kernel = shell is not None and type(shell).__name__ == "ZMQInteractiveShell"
    if kernel and mpl.get_backend().lower() == "agg":
        shell.run_line_magic("matplotlib", "inline")


def _as_histories(history: Mapping) -> dict[str, Mapping]:
    """A single history, or a mapping of label -> history."""
    check_type("history", history, Mapping)
    if "train_loss" in history:
        return {"": history}
    if not history or not all(
        isinstance(h, Mapping) and "train_loss" in h for h in history.values()
    ):
        raise ValueError("history must be a dict returned by fit, or a dict of label -> such dicts")
    return dict(history)


def plot_history(history: Mapping, *, title: str | None = None) -> Figure:
    """Loss and accuracy per epoch, training (dashed) and validation (solid).

    ``history`` is what :func:`helpers.fit` returns, or ``{label: history, ...}`` to compare runs.
    """
    runs = _as_histories(history)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, h) in enumerate(runs.items()):
        color = colors[i % len(colors)]
        prefix = f"{label}: " if label else ""
        for ax, key, scale in ((ax_loss, "loss", 1.0), (ax_acc, "acc", 100.0)):
            ax.plot(
                h["epoch"],
                [v * scale for v in h[f"train_{key}"]],
                "--",
                color=color,
                label=f"{prefix}train",
            )
            if not all(math.isnan(v) for v in h[f"val_{key}"]):
                ax.plot(
                    h["epoch"],
                    [v * scale for v in h[f"val_{key}"]],
                    "-o",
                    ms=3,
                    color=color,
                    label=f"{prefix}validation",
                )
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss (nats)", title="Loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return fig


def show_images(
    images: torch.Tensor,
    labels: Sequence[int] | torch.Tensor | None = None,
    predictions: Sequence[int] | torch.Tensor | None = None,
    *,
    ncols: int = 8,
    title: str | None = None,
    class_names: Sequence[str] | None = None,
) -> Figure:
    """A grid of greyscale images, each titled with its label (and prediction, in :data:`WRONG`
    vermillion when wrong; "7 → 1" says so without the colour too).

    ``images`` is ``[N, 28, 28]`` or ``[N, 1, 28, 28]``, uint8 or float (normalized is fine:
    each image is shown on its own grey scale).
    """
    check_type("images", images, torch.Tensor)
    check_positive_int("ncols", ncols)
    if images.dim() == 4 and images.shape[1] == 1:
        images = images[:, 0]
    if images.dim() != 3 or len(images) == 0:
        raise ValueError(
            f"images must be [N, H, W] or [N, 1, H, W] with N >= 1, got {list(images.shape)}"
        )
    for name, seq in (("labels", labels), ("predictions", predictions)):
        if seq is not None and len(seq) != len(images):
            raise ValueError(
                f"{name} must have one entry per image ({len(images)}), got {len(seq)}"
            )
    n = len(images)
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.35 * ncols, 1.55 * nrows), squeeze=False)
    name = (lambda k: class_names[k]) if class_names else str
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(images[i].detach().cpu().float().numpy(), cmap="gray_r")
        parts = []
        if labels is not None:
            parts.append(name(int(labels[i])))
        if predictions is not None:
            parts.append(f"→ {name(int(predictions[i]))}")
        wrong = (
            labels is not None and predictions is not None and int(labels[i]) != int(predictions[i])
        )
        ax.set_title(" ".join(parts), fontsize=9, color=WRONG if wrong else "black")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(
    confusion: torch.Tensor,
    *,
    normalize: bool = False,
    class_names: Sequence[str] | None = None,
    title: str | None = None,
    ax: plt.Axes | None = None,
) -> Figure:
    """A confusion matrix (rows: true class, columns: predicted class) as an annotated heat map.

    ``confusion`` is ``[C, C]`` counts, as :func:`helpers.metrics.confusion_matrix` returns.
    ``normalize=True`` shows each row as percentages of its total (the diagonal is then each
    class's recall). Colours follow a square-root scale so that small off-diagonal counts stay
    visible beside the large diagonal. Draws on ``ax`` when given.
    """
    from matplotlib.colors import PowerNorm

    check_type("confusion", confusion, torch.Tensor)
    check_type("normalize", normalize, bool)
    if confusion.dim() != 2 or confusion.shape[0] != confusion.shape[1] or confusion.shape[0] == 0:
        raise ValueError(
            f"confusion must be a square [C, C] tensor, got shape {list(confusion.shape)}"
        )
    n = confusion.shape[0]
    if class_names is not None and len(class_names) != n:
        raise ValueError(f"class_names must have one name per class ({n}), got {len(class_names)}")
    values = confusion.detach().cpu().double()
    if normalize:
        values = 100 * values / values.sum(1, keepdim=True).clamp(min=1)
    if ax is None:
        fig, ax = plt.subplots(figsize=(0.55 * n + 2.2, 0.55 * n + 1.4), constrained_layout=True)
    fig = ax.figure
    image = ax.imshow(
        values.numpy(),
        cmap="Blues",
        norm=PowerNorm(0.5, vmin=0, vmax=max(float(values.max()), 1e-9)),
    )
    fig.colorbar(image, ax=ax, label="% of the true class" if normalize else "images")
    threshold = 0.35 * float(values.max())
    for i in range(n):
        for j in range(n):
            v = float(values[i, j])
            text = (f"{v:.1f}" if v < 99.95 else "100") if normalize else f"{int(v)}"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=7,
                color="white" if v > threshold else ("black" if v > 0 else "lightgrey"),
            )
    names = list(class_names) if class_names else [str(k) for k in range(n)]
    ax.set_xticks(range(n), names)
    ax.set_yticks(range(n), names)
    ax.set(
        xlabel="predicted class",
        ylabel="true class",
        title=title
        or ("Confusion matrix, % of each true class" if normalize else "Confusion matrix (counts)"),
    )
    return fig
