"""Optimization tools for notebook 04: the learning-rate range test, learning-rate traces of
schedules, one colour per optimizer across panels, and timing a training step.

Notebook 04 writes each idea out first (a growing rate, a scheduler stepped by hand); these
functions only repeat it for reuse.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import nn

from ._internal.checks import check_positive_int, check_type

# Okabe & Ito's colour-blind-safe palette, then two greys: one fixed colour per name.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#F0E442",
    "#000000",
    "#999999",
    "#666666",
)


def colors_for(names: Sequence[str]) -> dict[str, str]:
    """``{name: colour}``, the palette in order: pass it to every panel so a name keeps its
    colour."""
    names = list(names)
    if len(names) > len(PALETTE):
        raise ValueError(f"names must have at most {len(PALETTE)} entries, got {len(names)}")
    return dict(zip(names, PALETTE))


def smooth(values: Sequence[float], beta: float = 0.9) -> list[float]:
    """Exponential moving average with bias correction (the first values are not pulled to 0)."""
    check_type("beta", beta, float)
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"beta must be in [0, 1), got {beta!r}")
    out, avg = [], 0.0
    for i, v in enumerate(values, 1):
        avg = beta * avg + (1 - beta) * float(v)
        out.append(avg / (1 - beta**i))
    return out


def lr_range_test(
    model: nn.Module,
    loader: Iterable,
    optimizer: torch.optim.Optimizer,
    *,
    start: float = 1e-6,
    end: float = 10.0,
    steps: int = 200,
    loss_fn: Callable | None = None,
    stop_factor: float = 4.0,
) -> dict[str, list[float]]:
    """Train ``model`` for up to ``steps`` batches while the rate grows exponentially from
    ``start`` to ``end``; return ``{"lr": [...], "loss": [...]}`` (one entry per step).

    Step ``i`` (0-based) uses ``start * (end / start) ** (i / (steps - 1))``. The test stops
    early once the smoothed loss exceeds ``stop_factor`` times its minimum or a loss is not
    finite (that last loss is recorded). ``loader`` is cycled if it has fewer batches than
    ``steps``. The model and optimizer are changed: pass copies.
    """
    check_type("model", model, nn.Module)
    check_type("optimizer", optimizer, torch.optim.Optimizer)
    check_positive_int("steps", steps)
    for name, value in (("start", start), ("end", end), ("stop_factor", stop_factor)):
        check_type(name, value, float)
        if not value > 0:
            raise ValueError(f"{name} must be > 0, got {value!r}")
    if not end > start:
        raise ValueError(f"end must be larger than start ({start}), got {end!r}")
    if steps < 2:
        raise ValueError(f"steps must be >= 2 (a range needs two ends), got {steps}")
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    device = next(model.parameters()).device
    lrs, losses, best, avg = [], [], math.inf, 0.0
    model.train()
    batches = _cycle(loader)
    for i in range(steps):
        lr = start * (end / start) ** (i / (steps - 1))
        for group in optimizer.param_groups:
            group["lr"] = lr
        x, y = next(batches)
        loss = loss_fn(model(x.to(device)), y.to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        value = loss.item()
        lrs.append(lr)
        losses.append(value)
        avg = 0.9 * avg + 0.1 * value
        smoothed = avg / (1 - 0.9 ** (i + 1))
        best = min(best, smoothed)
        if not math.isfinite(value) or smoothed > stop_factor * best:
            break
    return {"lr": lrs, "loss": losses}


def _cycle(loader: Iterable):
    """Batches of ``loader``, starting over when it is exhausted."""
    while True:
        empty = True
        for batch in loader:
            empty = False
            yield batch
        if empty:
            raise ValueError("loader must yield at least one batch, got an empty loader")


def range_test_pick(result: Mapping[str, Sequence[float]], beta: float = 0.9) -> float:
    """A constant rate suggested by a range test: a tenth of the rate at which the smoothed loss
    was lowest (past that rate the loss soon blows up; a tenth keeps a safety margin)."""
    lrs, losses = list(result["lr"]), smooth(result["loss"], beta)
    finite = [i for i, v in enumerate(losses) if math.isfinite(v)]
    if len(finite) < 2:
        raise ValueError(f"result must hold at least 2 finite losses, got {len(finite)}")
    return lrs[min(finite, key=losses.__getitem__)] / 10


def lr_trace(
    make_scheduler: Callable[[torch.optim.Optimizer], object] | None,
    lr: float,
    steps: int,
    metrics: Sequence[float] | None = None,
) -> list[float]:
    """The rate an optimizer with base rate ``lr`` uses at each of ``steps`` steps under the
    scheduler ``make_scheduler(optimizer)`` builds (None: constant).

    The scheduler is stepped after every optimizer step; ``ReduceLROnPlateau`` needs
    ``metrics`` (one value per step, passed to ``scheduler.step``).
    """
    check_type("lr", lr, float)
    check_positive_int("steps", steps)
    if metrics is not None and len(metrics) < steps:
        raise ValueError(f"metrics must have one value per step ({steps}), got {len(metrics)}")
    param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=lr)
    scheduler = make_scheduler(optimizer) if make_scheduler is not None else None
    rates = []
    for i in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            if metrics is None:
                raise ValueError("metrics must be given for ReduceLROnPlateau, got None")
            scheduler.step(metrics[i])
        elif scheduler is not None:
            scheduler.step()
    return rates


def plot_curves(
    curves: Mapping[str, torch.Tensor],
    colors: Mapping[str, str],
    *,
    ax: plt.Axes,
    x: Sequence[float] | None = None,
) -> None:
    """On ``ax``, each ``curves[name]`` (``[runs, points]``, in %) as its mean over runs, with a
    min-to-max band, in ``colors[name]``."""
    for name, curve in curves.items():
        curve = torch.as_tensor(curve, dtype=torch.float64)
        if curve.dim() != 2:
            raise ValueError(f"curves[{name!r}] must be [runs, points], got {list(curve.shape)}")
        xs = list(x) if x is not None else list(range(1, curve.shape[1] + 1))
        ax.plot(xs, curve.mean(0), "-o", ms=3, color=colors[name], label=name)
        ax.fill_between(
            xs, curve.min(0).values, curve.max(0).values, color=colors[name], alpha=0.15
        )


def plot_race(
    curves: Mapping[str, torch.Tensor], colors: Mapping[str, str], *, zoom_out: Iterable[str] = ()
) -> Figure:
    """The optimizer race: validation accuracy per epoch (``curves[name]``: ``[seeds, epochs]``,
    in %), all optimizers left, a zoom without ``zoom_out`` right; one colour per optimizer."""
    zoom_out = set(zoom_out)
    fig, (ax_all, ax_zoom) = plt.subplots(1, 2, figsize=(12, 4.2), constrained_layout=True)
    plot_curves(curves, colors, ax=ax_all)
    plot_curves({k: v for k, v in curves.items() if k not in zoom_out}, colors, ax=ax_zoom)
    ax_all.set(title="Validation accuracy, all optimizers", ylim=(0, 100))
    ax_zoom.set(title="Zoom: " + ("without " + ", ".join(sorted(zoom_out)) if zoom_out else "all"))
    for ax in (ax_all, ax_zoom):
        ax.set(xlabel="epoch", ylabel="validation accuracy (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small", ncol=2)
    n = next(iter(curves.values())).shape[0]
    fig.suptitle(f"Mean over {n} seeds (band: min to max)")
    return fig
