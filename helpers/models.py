"""Models used across the course."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial
from typing import Any

import torch
from torch import nn

from ._internal.checks import check_positive_int, check_range, check_type


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


def _check_channels(channels: Sequence[int]) -> None:
    """A CNN's per-stage channel counts: a non-empty list or tuple of integers >= 1."""
    check_type("channels", channels, (list, tuple))
    if len(channels) == 0:
        raise ValueError(f"channels must list at least one stage, got {channels!r}")
    for i, width in enumerate(channels):
        check_positive_int(f"channels[{i}]", width)


def small_cnn(
    channels: Sequence[int] = (16, 32, 64),
    *,
    kernel_size: int = 3,
    in_channels: int = 1,
    image_size: int = 28,
    num_classes: int = 10,
    batch_norm: bool = False,
) -> nn.Sequential:
    """A small CNN built for speed on a CPU (notebook 07): per stage Conv2d -> MaxPool2d(2) -> ReLU,
    then Flatten -> Linear.

    Each stage has ``channels[i]`` filters of ``kernel_size`` x ``kernel_size`` ("same" padding) and
    halves the image (28 -> 14 -> 7 -> 3 for MNIST), so most of the arithmetic happens on small
    images. Pooling comes before the ReLU: max pooling and ReLU commute (both are monotone), so the
    output is the same as ReLU-then-pool, with the ReLU on four times fewer values.
    ``small_cnn()`` has 29,066 parameters. On a CPU it trains faster in channels-last memory
    format: ``small_cnn().to(memory_format=torch.channels_last)``.
    With ``batch_norm=True`` every stage becomes Conv2d (without bias) -> MaxPool2d(2) ->
    ``BatchNorm2d`` -> ReLU: 29,178 parameters, and it trains well at a higher learning rate.
    The batch norm comes after the pooling for the same reason as the ReLU: it then works on a
    quarter of the values, which makes a training step about a third cheaper on a CPU.
    """
    _check_channels(channels)
    check_positive_int("kernel_size", kernel_size)
    if kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd (for 'same' padding), got {kernel_size!r}")
    check_positive_int("in_channels", in_channels)
    check_positive_int("image_size", image_size)
    check_positive_int("num_classes", num_classes)
    check_type("batch_norm", batch_norm, bool)
    if image_size >> len(channels) == 0:
        raise ValueError(
            f"image_size {image_size} is too small for {len(channels)} stages of 2x2 pooling; "
            f"it must be at least {2 ** len(channels)}"
        )
    layers: list[nn.Module] = []
    for n_in, n_out in zip((in_channels, *channels[:-1]), channels):
        if batch_norm:
            conv = nn.Conv2d(n_in, n_out, kernel_size, padding=kernel_size // 2, bias=False)
            layers += [conv, nn.MaxPool2d(2), nn.BatchNorm2d(n_out), nn.ReLU()]
        else:
            conv = nn.Conv2d(n_in, n_out, kernel_size, padding=kernel_size // 2)
            layers += [conv, nn.MaxPool2d(2), nn.ReLU()]
    side = image_size >> len(channels)  # each MaxPool2d(2) floors the size to half
    layers += [nn.Flatten(), nn.Linear(channels[-1] * side * side, num_classes)]
    return nn.Sequential(*layers)


class LeNet(nn.Module):
    """LeNet-5 (LeCun et al., 1998) for 28x28 MNIST, the historical anchor of notebook 07.

    Two 5x5 convolutions with tanh and 2x2 average pooling (subsampling), then three fully
    connected layers 400 -> 120 -> 84 -> 10. The first convolution pads by 2, so the 28x28 digit
    is treated like the original's 32x32 input. 61,706 parameters. (The original's sparse
    connection table between the two convolutions and its RBF output layer are left out, as in
    most modern re-implementations.)
    """

    def __init__(self, num_classes: int = 10):
        super().__init__()
        check_positive_int("num_classes", num_classes)
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2),  # [B, 6, 14, 14]
            nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),  # [B, 16, 5, 5]
        )  # fmt: skip
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(),
            nn.Linear(84, num_classes),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def conv_bn(in_channels: int, out_channels: int, kernel_size: int = 3) -> nn.Sequential:
    """Conv2d ("same" padding, no bias: the batch norm's shift replaces it) -> BatchNorm2d."""
    check_positive_int("in_channels", in_channels)
    check_positive_int("out_channels", out_channels)
    check_positive_int("kernel_size", kernel_size)
    if kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd (for 'same' padding), got {kernel_size!r}")
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels),
    )


class ResidualBlock(nn.Module):
    """The basic residual block of ResNet (He et al., 2015): ``relu(x + F(x))`` with
    ``F = conv_bn -> ReLU -> conv_bn``, two 3x3 convolutions that keep channels and size.

    The identity path lets the block start close to "do nothing" and lets gradients reach
    earlier layers unchanged. ``channels * (18 * channels + 4)`` parameters.
    """

    def __init__(self, channels: int):
        super().__init__()
        check_positive_int("channels", channels)
        self.body = nn.Sequential(
            conv_bn(channels, channels), nn.ReLU(), conv_bn(channels, channels)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.body(x))


def modern_cnn(
    channels: Sequence[int] = (16, 32), *, in_channels: int = 1, num_classes: int = 10
) -> nn.Sequential:
    """A small modern CNN from the parts of notebook 07: a stem (3x3 convolution, 2x2 max
    pooling, batch norm, ReLU), then for every later stage 2x2 max pooling and a 1x1 ``conv_bn``
    that widens the channels, ReLU; a :class:`ResidualBlock` after each stage; then global
    average pooling and one linear layer.

    For 28x28 MNIST with the default ``(16, 32)``: 28 -> 14 -> 7, then the 32 channels are
    averaged over the 7x7 positions, so the classifier sees *what* was found, not *where*.
    24,314 parameters. Pooling comes early, before the stem's batch norm and before the 1x1
    widening, so those layers work on a quarter of the positions: a training step costs about
    a third less on a CPU than with the pooling after them, for the same parameters.
    """
    _check_channels(channels)
    check_positive_int("in_channels", in_channels)
    check_positive_int("num_classes", num_classes)
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip((in_channels, *channels[:-1]), channels)):
        if i == 0:  # the stem: the only layer at full size; batch norm after the pooling
            conv = nn.Conv2d(n_in, n_out, 3, padding=1, bias=False)
            layers += [conv, nn.MaxPool2d(2), nn.BatchNorm2d(n_out), nn.ReLU()]
        else:  # pool, then widen with a 1x1 convolution on a quarter of the positions
            layers += [nn.MaxPool2d(2), conv_bn(n_in, n_out, 1), nn.ReLU()]
        layers.append(ResidualBlock(n_out))
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels[-1], num_classes)]
    return nn.Sequential(*layers)


def pytorch_example_net() -> nn.Sequential:
    """The network of PyTorch's MNIST example (pytorch/examples, mnist/main.py) as a Sequential:
    two 3x3 convolutions (32, 64 channels) without pooling between them, max pooling, dropout,
    9216 -> 128 -> 10. 1,199,882 parameters."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Dropout(0.25), nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(128, 10),
    )  # fmt: skip
