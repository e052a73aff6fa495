"""The course's models: the source article's MLP, a configurable MLP, the CNNs of notebook 07."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class Net(nn.Module):
    """The source article's MLP, 784 -> 128 -> 64 -> 10 with ReLU (109,386 parameters), as
    notebook 01 writes it, but flattening with ``flatten(1)``: ``view(-1, 784)`` would turn a
    batch of 4 colour images ``[4, 3, 28, 28]`` into 12 rows without a word."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 64)
        self.fc3 = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)  # one row per image, whatever its shape
        x = self.fc1(x)
        x = torch.relu(x)
        x = self.fc2(x)
        x = torch.relu(x)
        x = self.fc3(x)
        return x


def mlp(sizes: Sequence[int] = (784, 128, 64, 10), *, dropout: float = 0.0) -> nn.Sequential:
    """A configurable MLP: Flatten, then Linear + ReLU (+ Dropout) per hidden layer, and a last
    Linear. ``mlp()`` has the layers and parameter count of :class:`Net`."""
    layers: list[nn.Module] = [nn.Flatten()]
    for n_in, n_out in zip(sizes[:-2], sizes[1:-1]):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()] + ([nn.Dropout(dropout)] if dropout else [])
    return nn.Sequential(*layers, nn.Linear(sizes[-2], sizes[-1]))


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) scalar parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def small_cnn(
    channels: Sequence[int] = (16, 32, 64),
    *,
    kernel_size: int = 3,
    in_channels: int = 1,
    image_size: int = 28,
    num_classes: int = 10,
    batch_norm: bool = False,
) -> nn.Sequential:
    """A small CNN built for speed on a CPU (notebook 07): per stage Conv2d -> MaxPool2d(2) ->
    ReLU, then Flatten -> Linear; 29,066 parameters by default.

    Each stage has ``channels[i]`` filters of ``kernel_size`` (odd, "same" padding) and halves
    the image (28 -> 14 -> 7 -> 3), so most of the arithmetic happens on small images. Pooling
    comes before the ReLU: the two commute (both are monotone), and the ReLU then sees four times
    fewer values. With ``batch_norm=True`` each stage is Conv2d (no bias) -> MaxPool2d(2) ->
    BatchNorm2d -> ReLU (29,178 parameters; it trains well at a higher rate), the batch norm after
    the pooling for the same reason: a training step about a third cheaper on a CPU.
    """
    layers: list[nn.Module] = []
    for n_in, n_out in zip((in_channels, *channels[:-1]), channels):
        conv = nn.Conv2d(n_in, n_out, kernel_size, padding=kernel_size // 2, bias=not batch_norm)
        norm = [nn.BatchNorm2d(n_out)] if batch_norm else []
        layers += [conv, nn.MaxPool2d(2), *norm, nn.ReLU()]
    side = image_size >> len(channels)  # each MaxPool2d(2) halves the size, rounding down
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(channels[-1] * side**2, num_classes))


class LeNet(nn.Module):
    """LeNet-5 (LeCun et al., 1998) for 28x28 MNIST, the historical anchor of notebook 07.

    Two 5x5 convolutions with tanh and 2x2 average pooling (subsampling), then the fully
    connected 400 -> 120 -> 84 -> 10: 61,706 parameters. The first convolution pads by 2, as if
    the digit were the original's 32x32 input. Like most modern versions, it leaves out the
    original's sparse connections between the two convolutions and its RBF output layer.
    """

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            *(nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2)),  # [B, 6, 14, 14]
            *(nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2)),  # [B, 16, 5, 5]
        )
        self.classifier = nn.Sequential(
            *(nn.Flatten(), nn.Linear(400, 120), nn.Tanh()),
            *(nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, num_classes)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def conv_bn(in_channels: int, out_channels: int, kernel_size: int = 3) -> nn.Sequential:
    """Conv2d ("same" padding for an odd ``kernel_size``; no bias, as the batch norm's shift
    replaces it) -> BatchNorm2d."""
    conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False)
    return nn.Sequential(conv, nn.BatchNorm2d(out_channels))


class ResidualBlock(nn.Module):
    """ResNet's basic block (He et al., 2015): ``relu(x + F(x))``, ``F = conv_bn -> ReLU ->
    conv_bn``, two 3x3 convolutions that keep the channels and the size.

    The identity path lets the block start close to "do nothing", and lets gradients reach
    earlier layers unchanged. ``channels * (18 * channels + 4)`` parameters.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            conv_bn(channels, channels), nn.ReLU(), conv_bn(channels, channels)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.body(x))


def modern_cnn(
    channels: Sequence[int] = (16, 32), *, in_channels: int = 1, num_classes: int = 10
) -> nn.Sequential:
    """A small modern CNN from the parts of notebook 07 (24,314 parameters by default).

    A stem (3x3 convolution, 2x2 max pooling, batch norm, ReLU), then for every later stage 2x2
    max pooling and a 1x1 ``conv_bn`` that widens the channels, ReLU; a :class:`ResidualBlock`
    after each stage; then global average pooling (28 -> 14 -> 7, then the mean over the 7x7
    positions: the classifier sees *what* was found, not *where*) and one linear layer. Pooling
    early, before the batch norm and the 1x1 widening, makes a training step about a third
    cheaper on a CPU, for the same parameters.
    """
    stem = nn.Conv2d(in_channels, channels[0], 3, padding=1, bias=False)
    layers = [stem, nn.MaxPool2d(2), nn.BatchNorm2d(channels[0]), nn.ReLU()]
    layers.append(ResidualBlock(channels[0]))
    for n_in, n_out in zip(channels[:-1], channels[1:]):
        layers += [nn.MaxPool2d(2), conv_bn(n_in, n_out, 1), nn.ReLU(), ResidualBlock(n_out)]
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels[-1], num_classes)]
    return nn.Sequential(*layers)


def pytorch_example_net() -> nn.Sequential:
    """The network of PyTorch's MNIST example (pytorch/examples, mnist/main.py): two 3x3
    convolutions (32, 64 channels) without pooling between them, max pooling, dropout,
    9216 -> 128 -> 10. 1,199,882 parameters."""
    return nn.Sequential(
        *(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2)),
        *(nn.Dropout(0.25), nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5)),
        nn.Linear(128, 10),
    )
