"""helpers.models.small_cnn: layers, shapes, parameter counts, memory format and bad input."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from helpers.models import count_parameters, small_cnn


def test_default_is_the_notebooks_network():
    model = small_cnn()
    kinds = [type(m).__name__ for m in model]
    assert kinds == ["Conv2d", "MaxPool2d", "ReLU"] * 3 + ["Flatten", "Linear"]
    assert [m.out_channels for m in model if isinstance(m, nn.Conv2d)] == [16, 32, 64]
    assert all(
        m.kernel_size == (3, 3) and m.padding == (1, 1) for m in model if isinstance(m, nn.Conv2d)
    )
    assert model[-1].in_features == 64 * 3 * 3 and model[-1].out_features == 10
    # conv: C_out * (C_in * k * k + 1); linear: 576 * 10 + 10
    assert (
        count_parameters(model)
        == 16 * 10 + 32 * (16 * 9 + 1) + 64 * (32 * 9 + 1) + 576 * 10 + 10
        == 29_066
    )


def test_feature_shapes_halve_at_every_stage():
    model = small_cnn()
    h = torch.zeros(5, 1, 28, 28)
    shapes = []
    for layer in model:
        h = layer(h)
        if isinstance(layer, nn.ReLU):
            shapes.append(tuple(h.shape))
    assert shapes == [(5, 16, 14, 14), (5, 32, 7, 7), (5, 64, 3, 3)]
    assert h.shape == (5, 10)


@pytest.mark.parametrize(
    "channels, kernel_size, in_channels, image_size, num_classes, flat",
    [
        ((8,), 3, 1, 28, 10, 8 * 14 * 14),
        ((4, 8), 5, 3, 32, 7, 8 * 8 * 8),
        ([6, 6, 6, 6], 1, 1, 16, 2, 6 * 1 * 1),
        ((16, 32, 64), 3, 1, 29, 10, 64 * 3 * 3),  # odd sizes are floored by each pooling
    ],
)
def test_other_configurations(channels, kernel_size, in_channels, image_size, num_classes, flat):
    model = small_cnn(
        channels,
        kernel_size=kernel_size,
        in_channels=in_channels,
        image_size=image_size,
        num_classes=num_classes,
    )
    assert model[-1].in_features == flat
    out = model(torch.randn(2, in_channels, image_size, image_size))
    assert out.shape == (2, num_classes)


def test_pool_before_relu_equals_relu_before_pool():
    torch.manual_seed(0)
    model = small_cnn()
    x = torch.randn(4, 1, 28, 28)
    swapped = nn.Sequential(
        *[model[i + j] for i in range(0, 9, 3) for j in (0, 2, 1)], model[9], model[10]
    )
    assert isinstance(swapped[1], nn.ReLU) and isinstance(swapped[2], nn.MaxPool2d)
    torch.testing.assert_close(model(x), swapped(x))


def test_channels_last_gives_the_same_outputs():
    torch.manual_seed(0)
    model = small_cnn()
    fast = small_cnn().to(memory_format=torch.channels_last)
    fast.load_state_dict(model.state_dict())
    x = torch.randn(8, 1, 28, 28)
    torch.testing.assert_close(fast(x), model(x), rtol=1e-4, atol=1e-5)


def test_same_seed_same_weights():
    torch.manual_seed(3)
    a = small_cnn()
    torch.manual_seed(3)
    b = small_cnn()
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"channels": ()}, ValueError, "channels must list at least one stage"),
        ({"channels": 16}, TypeError, "channels must be list or tuple"),
        ({"channels": (16, 0)}, ValueError, "channels[1] must be an integer >= 1, got 0"),
        ({"channels": (16, 2.5)}, TypeError, "channels[1] must be int"),
        ({"kernel_size": 4}, ValueError, "kernel_size must be odd"),
        ({"kernel_size": 0}, ValueError, "kernel_size must be an integer >= 1"),
        ({"in_channels": True}, TypeError, "in_channels must be int"),
        ({"num_classes": -1}, ValueError, "num_classes must be an integer >= 1, got -1"),
        (
            {"image_size": 7},
            ValueError,
            "image_size 7 is too small for 3 stages of 2x2 pooling; it must be at least 8",
        ),
    ],
)
def test_bad_input_names_the_argument(kwargs, error, message):
    with pytest.raises(error) as err:
        small_cnn(**kwargs)
    assert message in str(err.value)
