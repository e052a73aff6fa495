"""Models used across the course."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial
from typing import Any

import torch
from torch import nn

from .checks import check_positive_int, check_range, check_type


def check_input(model: str, x: Any, features: int) -> None:
    """Raise ``ValueError`` unless ``x`` is a batch of images whose ``features`` values fit the
    model's first layer: ``[B, 1, 28, 28]``, ``[B, 28, 28]`` or ``[B, 784]`` for MNIST."""
    if isinstance(x, torch.Tensor) and x.dim() >= 2 and math.prod(x.shape[1:]) == features:
        return
    side = math.isqrt(features)
    shape = list(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
    square = f"[B, 1, {side}, {side}] or " if side * side == features else ""
    raise ValueError(
        f"{model} expects a batch of images of shape {square}[B, {features}], got {shape}; "
        "resize or flatten the images to that size"
    )


def _check_mlp_input(features: int, module: nn.Module, args: tuple) -> None:
    check_input("this mlp", args[0] if args else None, features)


class Net(nn.Module):
    """The source article's MLP, exactly: 784 -> 128 -> 64 -> 10 with ReLU (109,386 parameters)."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 64)
        self.fc3 = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input("Net", x, 784)
        x = x.view(-1, 784)
        x = self.fc1(x)
        x = torch.relu(x)
        x = self.fc2(x)
        x = torch.relu(x)
        x = self.fc3(x)
        return x


def mlp(sizes: Sequence[int] = (784, 128, 64, 10), *, dropout: float = 0.0) -> nn.Sequential:
    """A configurable MLP as ``nn.Sequential``: Flatten, then Linear + ReLU (+ Dropout) per hidden
    layer.

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
    model = nn.Sequential(*layers)
    # a hook, not a layer: the layer indices and state_dict keys stay those of a plain Sequential
    model.register_forward_pre_hook(partial(_check_mlp_input, sizes[0]))
    return model


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) scalar parameters of ``model``."""
    check_type("model", model, nn.Module)
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def small_cnn(
    channels: Sequence[int] = (16, 32, 64),
    *,
    kernel_size: int = 3,
    in_channels: int = 1,
    image_size: int = 28,
    num_classes: int = 10,
) -> nn.Sequential:
    """A small CNN built for speed on a CPU (notebook 06): per stage Conv2d -> MaxPool2d(2) -> ReLU,
    then Flatten -> Linear.

    Each stage has ``channels[i]`` filters of ``kernel_size`` x ``kernel_size`` ("same" padding) and
    halves the image (28 -> 14 -> 7 -> 3 for MNIST), so most of the arithmetic happens on small
    images. Pooling comes before the ReLU: max pooling and ReLU commute (both are monotone), so the
    output is the same as ReLU-then-pool, with the ReLU on four times fewer values.
    ``small_cnn()`` has 29,066 parameters. On a CPU it trains faster in channels-last memory
    format: ``small_cnn().to(memory_format=torch.channels_last)``.
    """
    check_type("channels", channels, (list, tuple))
    if len(channels) == 0:
        raise ValueError(f"channels must list at least one stage, got {channels!r}")
    for i, width in enumerate(channels):
        check_positive_int(f"channels[{i}]", width)
    check_positive_int("kernel_size", kernel_size)
    if kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd (for 'same' padding), got {kernel_size!r}")
    check_positive_int("in_channels", in_channels)
    check_positive_int("image_size", image_size)
    check_positive_int("num_classes", num_classes)
    if image_size >> len(channels) == 0:
        raise ValueError(
            f"image_size {image_size} is too small for {len(channels)} stages of 2x2 pooling; "
            f"it must be at least {2 ** len(channels)}"
        )
    layers: list[nn.Module] = []
    for n_in, n_out in zip((in_channels, *channels[:-1]), channels):
        layers += [
            nn.Conv2d(n_in, n_out, kernel_size, padding=kernel_size // 2),
            nn.MaxPool2d(2),
            nn.ReLU(),
        ]
    side = image_size >> len(channels)  # each MaxPool2d(2) floors the size to half
    layers += [nn.Flatten(), nn.Linear(channels[-1] * side * side, num_classes)]
    return nn.Sequential(*layers)
