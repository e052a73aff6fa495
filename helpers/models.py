"""Models used across the course."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .checks import check_positive_int, check_range, check_type


class Net(nn.Module):
    """The source article's MLP, exactly: 784 -> 128 -> 64 -> 10 with ReLU (109,386 parameters)."""

    def __init__(self):
        super(Net, self).__init__()
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 64)
        self.fc3 = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.view(-1, 784)
        x = self.fc1(x)
        x = torch.relu(x)
        x = self.fc2(x)
        x = torch.relu(x)
        x = self.fc3(x)
        return x


def mlp(sizes: Sequence[int] = (784, 128, 64, 10), *, dropout: float = 0.0) -> nn.Sequential:
    """A configurable MLP as ``nn.Sequential``: Flatten, then Linear + ReLU (+ Dropout) per hidden layer.

    ``mlp()`` has the same layers and parameter count as :class:`Net`.
    """
    check_type("sizes", sizes, (list, tuple))
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least an input and an output size, got {sizes!r}")
    for i, size in enumerate(sizes):
        check_positive_int(f"sizes[{i}]", size)
    check_range("dropout", dropout, 0.0, 0.99)
    layers: list[nn.Module] = [nn.Flatten()]
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) scalar parameters of ``model``."""
    check_type("model", model, nn.Module)
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
