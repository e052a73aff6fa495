"""The course's models: the source article's MLP, a configurable MLP, the CNNs of notebook 07."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn


class Net(nn.Module):
    """The source article's MLP, 784 -> 128 -> 64 -> 10 with ReLU (109,386 parameters), flattening
    with ``flatten(1)``: ``view(-1, 784)`` would silently turn 4 colour images into 12 rows."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 64)
        self.fc3 = nn.Linear(64, 10)

    def forward(self, x: Tensor) -> Tensor:
        x = x.flatten(1)  # one row per image
        x = self.fc1(x)
        x = torch.relu(x)
        x = self.fc2(x)
        x = torch.relu(x)
        x = self.fc3(x)
        return x


def mlp(sizes: Sequence[int] = (784, 128, 64, 10), *, dropout: float = 0.0) -> nn.Sequential:
    """Flatten, then Linear + ReLU (+ Dropout) per hidden layer, and a last Linear. ``mlp()`` has
    the layers of :class:`Net`."""
    layers: list[nn.Module] = [nn.Flatten()]
    for n_in, n_out in zip(sizes[:-2], sizes[1:-1]):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()] + ([nn.Dropout(dropout)] if dropout else [])
    return nn.Sequential(*layers, nn.Linear(sizes[-2], sizes[-1]))


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) scalar parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def small_cnn(channels: Sequence[int] = (16, 32, 64), *, batch_norm: bool = False) -> nn.Sequential:
    """A CNN built for speed on a CPU: per stage a 3x3 convolution, 2x2 max pooling (28 -> 14 ->
    7 -> 3), batch norm if asked, ReLU: after the pooling, on four times fewer values."""
    layers: list[nn.Module] = []
    for n_in, n_out in zip((1, *channels[:-1]), channels):
        conv = nn.Conv2d(n_in, n_out, 3, padding=1, bias=not batch_norm)  # its shift replaces bias
        norm = [nn.BatchNorm2d(n_out)] if batch_norm else []
        layers += [conv, nn.MaxPool2d(2), *norm, nn.ReLU()]
    side = 28 >> len(channels)  # each pooling halves the size, rounding down
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(channels[-1] * side**2, 10))


class LeNet(nn.Module):
    """LeNet-5 (LeCun et al., 1998): two 5x5 convolutions with tanh and 2x2 average pooling, then
    400 -> 120 -> 84 -> 10 (61,706 parameters); padding 2 makes a digit the original's 32x32
    input. As in most modern versions, without the sparse connections and RBF output layer."""

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

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))


def conv_bn(in_channels: int, out_channels: int, kernel_size: int = 3) -> nn.Sequential:
    """Convolution ("same" padding; no bias, the batch norm's shift replaces it), batch norm."""
    conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False)
    return nn.Sequential(conv, nn.BatchNorm2d(out_channels))


class ResidualBlock(nn.Module):
    """ResNet's basic block (He et al., 2015): ``relu(x + F(x))``, ``F = conv_bn, ReLU, conv_bn``;
    the skip adds the identity to the block's Jacobian, though the final ReLU gates it (a
    pre-activation block, He et al., 2016, keeps the path clean)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            conv_bn(channels, channels), nn.ReLU(), conv_bn(channels, channels)
        )

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(x + self.body(x))


def modern_cnn(channels: Sequence[int] = (16, 32)) -> nn.Sequential:
    """Notebook 07's parts together: a stem (convolution, pooling, batch norm, ReLU), then per
    stage pooling and a 1x1 ``conv_bn`` that widens the channels, a :class:`ResidualBlock` after
    each; the mean over the positions (*what* was found, not *where*) and a linear layer."""
    stem = nn.Conv2d(1, channels[0], 3, padding=1, bias=False)
    layers = [stem, nn.MaxPool2d(2), nn.BatchNorm2d(channels[0]), nn.ReLU()]
    layers.append(ResidualBlock(channels[0]))
    for n_in, n_out in zip(channels[:-1], channels[1:]):
        layers += [nn.MaxPool2d(2), conv_bn(n_in, n_out, 1), nn.ReLU(), ResidualBlock(n_out)]
    return nn.Sequential(
        *layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels[-1], 10)
    )


def pytorch_example_net() -> nn.Sequential:
    """The network of PyTorch's MNIST example (pytorch/examples, mnist/main.py): two 3x3
    convolutions, no pooling between them, max pooling, dropout, 9216 -> 128 -> 10."""
    return nn.Sequential(
        *(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2)),
        *(nn.Dropout(0.25), nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5)),
        nn.Linear(128, 10),
    )
