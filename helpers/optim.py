"""Notebook 04's tools: the learning-rate range test, a scheduler's rates, the optimizer race."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import Tensor, nn

from .plots import PALETTE

GREYS = ("#999999", "#666666")  # for names beyond the palette's eight colours


def colors_for(names: Sequence[str]) -> dict[str, str]:
    """``{name: colour}``, the palette in order, then greys: pass it to every panel, so that a
    name keeps its colour."""
    assert len(names) <= len(PALETTE + GREYS), f"{len(names)} names, {len(PALETTE + GREYS)} colours"
    return dict(zip(names, PALETTE + GREYS))


def smooth(values: Sequence[float], beta: float = 0.9) -> list[float]:
    """Exponential moving average, bias-corrected (the first values are not pulled to 0)."""
    out, avg = [], 0.0
    for i, v in enumerate(values, 1):
        avg = beta * avg + (1 - beta) * float(v)
        out.append(avg / (1 - beta**i))
    return out


def _cycle(loader: Iterable):
    """The batches of ``loader``, started over (and reshuffled) whenever it runs out."""
    while True:
        n = 0
        for n, batch in enumerate(loader, 1):
            yield batch
        assert n, "the loader yielded no batch"


def lr_range_test(
    model: nn.Module,
    loader: Iterable,
    optimizer: torch.optim.Optimizer,
    *,
    start: float = 1e-6,
    end: float = 10.0,
    steps: int = 200,
) -> dict[str, list[float]]:
    """Train up to ``steps`` batches, the rate growing exponentially from ``start`` to ``end``,
    until the smoothed loss is 4 times its minimum: ``{"lr": [...], "loss": [...]}``. It changes
    the model and optimizer: pass copies."""
    device = next(model.parameters()).device
    lrs, losses, best, avg = [], [], math.inf, 0.0
    model.train()
    for i, (x, y) in zip(range(steps), _cycle(loader)):
        lr = start * (end / start) ** (i / (steps - 1))
        for group in optimizer.param_groups:
            group["lr"] = lr
        loss = nn.functional.cross_entropy(model(x.to(device)), y.to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        lrs.append(lr)
        losses.append(loss.item())
        avg = 0.9 * avg + 0.1 * losses[-1]
        smoothed = avg / (1 - 0.9 ** (i + 1))  # as smooth() does
        best = min(best, smoothed)
        if not math.isfinite(losses[-1]) or smoothed > 4 * best:
            break
    return {"lr": lrs, "loss": losses}


def range_test_pick(result: Mapping[str, Sequence[float]], beta: float = 0.9) -> float:
    """A constant rate from a range test: a tenth of the rate where the smoothed loss was lowest
    (past it the loss soon blows up)."""
    losses = smooth(result["loss"], beta)
    lowest = min((v, i) for i, v in enumerate(losses) if math.isfinite(v))[1]
    return result["lr"][lowest] / 10


def lr_trace(
    make_scheduler: Callable[[torch.optim.Optimizer], object] | None,
    lr: float,
    steps: int,
    metrics: Sequence[float] | None = None,
) -> list[float]:
    """The rate at each of ``steps`` steps from ``lr`` under ``make_scheduler(optimizer)`` (None:
    constant); ``ReduceLROnPlateau`` reads ``metrics``, one value per step."""
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    scheduler = make_scheduler(optimizer) if make_scheduler else None
    rates = []
    for i in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            scheduler.step(metrics[i])
        elif scheduler is not None:
            scheduler.step()
    return rates


def plot_curves(curves: Mapping[str, Tensor], colors: Mapping[str, str], *, ax: plt.Axes) -> None:
    """On ``ax``, each ``curves[name] [runs, points]``: its mean and a min-to-max band."""
    for name, curve in curves.items():
        curve = torch.as_tensor(curve, dtype=torch.float64)
        x = range(1, curve.shape[1] + 1)
        ax.plot(x, curve.mean(0), "-o", ms=3, color=colors[name], label=name)
        ax.fill_between(x, curve.min(0).values, curve.max(0).values, color=colors[name], alpha=0.15)


def plot_race(
    curves: Mapping[str, Tensor], colors: Mapping[str, str], *, zoom_out: Iterable[str] = ()
) -> Figure:
    """The optimizer race: validation accuracy (%) per epoch (``curves[name]``: ``[seeds,
    epochs]``), all optimizers on the left, without those in ``zoom_out`` on the right."""
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
    fig.suptitle(f"Mean over {len(next(iter(curves.values())))} seeds (band: min to max)")
    return fig
