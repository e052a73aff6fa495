"""helpers.models: the article's MLP and mlp(); the CNNs (small_cnn, LeNet, conv_bn,
ResidualBlock, modern_cnn, the PyTorch example): layers, shapes, parameter counts, memory format."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from helpers.models import (
    LeNet,
    Net,
    ResidualBlock,
    conv_bn,
    count_parameters,
    mlp,
    modern_cnn,
    pytorch_example_net,
    small_cnn,
)


def test_net_is_the_articles_mlp():
    net = Net()
    assert count_parameters(net) == 109_386
    assert [m.out_features for m in net.children()] == [128, 64, 10]
    assert net(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    assert net(torch.zeros(3, 784)).shape == (3, 10)


def test_mlp_matches_net_and_configures():
    assert count_parameters(mlp()) == count_parameters(Net())
    wide = mlp((784, 512, 10), dropout=0.5)
    assert [type(m).__name__ for m in wide] == ["Flatten", "Linear", "ReLU", "Dropout", "Linear"]
    assert wide(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    torch.manual_seed(0)
    a = mlp()
    torch.manual_seed(0)
    b = Net()
    x = torch.randn(4, 1, 28, 28)
    assert torch.equal(a(x), b(x))  # the same layers, created in the same order


@pytest.mark.parametrize("make", [Net, mlp], ids=["Net", "mlp"])
def test_images_of_the_wrong_size_fail_at_the_first_layer(make):
    # view(-1, 784) would make 4 rows of 2 images [2, 2, 28, 28], and answer without a word
    model = make()
    for bad in (torch.zeros(2, 3, 32, 32), torch.zeros(2, 2, 28, 28)):
        with pytest.raises(RuntimeError, match="mat1 and mat2 shapes cannot be multiplied"):
            model(bad)
    assert model(torch.zeros(0, 1, 28, 28)).shape == (0, 10)  # an empty batch is fine


def test_count_parameters_trainable_only():
    net = Net()
    net.fc1.requires_grad_(False)
    assert count_parameters(net) == 109_386 - 100_480
    assert count_parameters(net, trainable_only=False) == 109_386


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


@pytest.mark.parametrize("channels, flat", [((8,), 8 * 14 * 14), ([6, 6, 6, 6], 6 * 1 * 1)])
def test_other_channels(channels, flat):
    model = small_cnn(channels)
    assert model[-1].in_features == flat  # 28 -> 14 -> 7 -> 3 -> 1: each pooling rounds down
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)


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


def test_batch_norm_variant_inserts_a_batch_norm_after_every_pooling():
    model = small_cnn(batch_norm=True)
    kinds = [type(m).__name__ for m in model]
    assert kinds == ["Conv2d", "MaxPool2d", "BatchNorm2d", "ReLU"] * 3 + ["Flatten", "Linear"]
    h, normalized = torch.zeros(5, 1, 28, 28), []
    for layer in model:
        h = layer(h)
        if isinstance(layer, nn.BatchNorm2d):
            normalized.append(tuple(h.shape[1:]))
    assert normalized == [(16, 14, 14), (32, 7, 7), (64, 3, 3)]  # after pooling: 4x fewer values
    assert all(m.bias is None for m in model if isinstance(m, nn.Conv2d))
    # the conv biases (16 + 32 + 64) go, gamma and beta (2 * (16 + 32 + 64)) come
    assert count_parameters(model) == 29_066 - 112 + 224 == 29_178
    assert model(torch.randn(3, 1, 28, 28)).shape == (3, 10)


def test_lenet_has_the_classic_shapes_and_count():
    model = LeNet()
    h = model.features(torch.zeros(2, 1, 28, 28))
    assert h.shape == (2, 16, 5, 5)
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    assert count_parameters(model) == 156 + 2_416 + 48_120 + 10_164 + 850 == 61_706
    assert sum(isinstance(m, nn.AvgPool2d) for m in model.modules()) == 2
    assert LeNet(num_classes=3)(torch.zeros(1, 1, 28, 28)).shape == (1, 3)


def test_conv_bn_is_a_biasless_conv_then_batch_norm():
    block = conv_bn(3, 8, 1)
    assert isinstance(block[0], nn.Conv2d) and block[0].bias is None
    assert block[0].kernel_size == (1, 1) and isinstance(block[1], nn.BatchNorm2d)
    assert block(torch.randn(2, 3, 5, 5)).shape == (2, 8, 5, 5)


def test_residual_block_adds_its_input_and_keeps_the_shape():
    torch.manual_seed(0)
    block = ResidualBlock(8)
    assert count_parameters(block) == 8 * (18 * 8 + 4)
    x = torch.randn(4, 8, 7, 7)
    assert block(x).shape == x.shape
    with torch.no_grad():
        block.body[-1][1].weight.zero_()
        block.body[-1][1].bias.zero_()
    block.eval()
    torch.testing.assert_close(block(x), torch.relu(x))  # F(x) = 0: only the identity path
    block.body[-1][1].weight.data.fill_(1.0)
    assert not torch.allclose(block(x), torch.relu(x))


def test_modern_cnn_pools_globally_and_accepts_other_sizes():
    model = modern_cnn()
    assert count_parameters(model) == 24_314
    assert isinstance(model[-3], nn.AdaptiveAvgPool2d) and model[-1].in_features == 32
    assert sum(isinstance(m, ResidualBlock) for m in model) == 2
    h, shapes = torch.zeros(3, 1, 28, 28), {}
    for layer in model:
        h = layer(h)
        if isinstance(layer, (nn.BatchNorm2d, nn.Sequential, ResidualBlock)):
            shapes.setdefault(type(layer).__name__, []).append(tuple(h.shape[1:]))
    # pooled before the stem's batch norm and before the 1x1 widening: nothing normalized at 28x28
    assert shapes == {
        "BatchNorm2d": [(16, 14, 14)],
        "Sequential": [(32, 7, 7)],
        "ResidualBlock": [(16, 14, 14), (32, 7, 7)],
    }
    model.eval()
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    assert model(torch.randn(2, 1, 40, 36)).shape == (2, 10)  # GAP: any image size
    assert modern_cnn((8, 16, 24))(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_pytorch_example_net_matches_the_example():
    model = pytorch_example_net()
    assert count_parameters(model) == 1_199_882
    model.eval()
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
