"""helpers.regularization: the L1 penalty, weight collection and per-sample batch augmentation."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from helpers.data import MNIST_MEAN, MNIST_STD, InMemoryLoader
from helpers.models import mlp
from helpers.regularization import (
    MNIST_BACKGROUND,
    PerSample,
    RandomAffineBatch,
    affine_batch,
    augmentation,
    l1_penalty,
)
from helpers.training import fit


def model(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return mlp((6, 5, 3))


# --- L1 penalty -------------------------------------------------------------------------------


def test_l1_penalty_is_strength_times_the_sum_of_absolute_weights():
    net = model()
    with torch.no_grad():
        net[1].weight.copy_(torch.arange(30.0).view(5, 6) - 15)  # sum |w| = 225
        net[3].weight.fill_(-0.5)  # 15 weights: 7.5
        net[1].bias.fill_(100.0)  # biases are not penalized by default
    assert float(l1_penalty(0.01)(net).detach()) == pytest.approx(0.01 * 232.5)
    with_bias = l1_penalty(1.0, include_bias=True)(net)
    assert float(with_bias.detach()) == pytest.approx(
        232.5 + 500 + float(net[3].bias.detach().abs().sum())
    )
    assert float(l1_penalty(0.0)(net).detach()) == 0.0


def test_l1_gradient_is_strength_times_sign():
    net = model()
    l1_penalty(1e-3)(net).backward()
    assert torch.allclose(net[1].weight.grad, 1e-3 * net[1].weight.sign())
    assert net[1].bias.grad is None  # not part of the penalty


def test_l1_penalty_plugs_into_fit_and_shrinks_the_weights(mnist_splits):
    (x, y) = mnist_splits["train"]
    norms = {}
    for strength in (0.0, 1e-3):
        torch.manual_seed(0)
        net = mlp((784, 32, 10))
        loader = InMemoryLoader(
            x[:512],
            y[:512],
            batch_size=64,
            shuffle=True,
            generator=torch.Generator().manual_seed(0),
        )
        fit(net, loader, epochs=10, penalty=l1_penalty(strength), progress=False)
        weights = torch.cat([net[1].weight.detach().flatten(), net[3].weight.detach().flatten()])
        norms[strength] = float(weights.abs().sum())
        small = float((weights.abs() < 1e-3).float().mean())
        norms[strength, "small"] = small
    assert norms[1e-3] < 0.75 * norms[0.0]  # a smaller L1 norm ...
    assert norms[1e-3, "small"] > 3 * norms[0.0, "small"]  # ... and many more weights near zero


def test_a_negative_l1_strength_is_refused():
    # it would reward large weights, and training would go on without a word
    with pytest.raises(AssertionError, match="would reward large weights"):
        l1_penalty(-1e-4)


# --- affine_batch: per-image parameters, checked against torchvision's own affine -----------------


def bordered_batch(n: int = 6, h: int = 28, w: int = 28, seed: int = 0) -> torch.Tensor:
    """Random images with a 4-pixel zero border, like MNIST's (the digit sits in the centre)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, 1, h, w)
    x[:, :, 4:-4, 4:-4] = torch.rand(n, 1, h - 8, w - 8, generator=g)
    return x


@pytest.mark.parametrize("h, w", [(28, 28), (28, 20)])
def test_affine_batch_matches_torchvision_per_image(h, w):
    x = bordered_batch(5, h, w)
    angle = torch.tensor([0.0, 10.0, -15.0, 90.0, 30.0])
    translate = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, -3.0], [1.5, 2.0], [-2.0, 1.0]])
    scale = torch.tensor([1.0, 1.0, 1.1, 0.9, 1.0])
    out = affine_batch(x, angle, translate, scale)
    for i in range(5):
        ref = TF.affine(
            x[i],
            angle=float(angle[i]),
            translate=translate[i].tolist(),
            scale=float(scale[i]),
            shear=[0.0, 0.0],
            interpolation=v2.InterpolationMode.BILINEAR,
            fill=0.0,
        )
        assert torch.allclose(out[i], ref, atol=1e-5), f"image {i}"


def test_affine_batch_identity_and_exact_quarter_turn():
    x = bordered_batch(2)
    zeros, ones = torch.zeros(2), torch.ones(2)
    assert torch.allclose(affine_batch(x, zeros, torch.zeros(2, 2), ones), x, atol=1e-6)
    quarter = affine_batch(x, torch.full((2,), 90.0), torch.zeros(2, 2), ones)
    assert torch.allclose(
        quarter, torch.rot90(x, -1, dims=(2, 3)), atol=1e-5
    )  # clockwise, like v2's affine
    shifted = affine_batch(x, zeros, torch.tensor([[3.0, 0.0], [0.0, -2.0]]), ones)
    assert torch.allclose(shifted[0, :, :, 3:], x[0, :, :, :-3], atol=1e-6)  # 3 pixels right
    assert torch.allclose(shifted[1, :, :-2], x[1, :, 2:], atol=1e-6)  # 2 pixels up


def test_affine_batch_fills_the_uncovered_border_with_fill():
    background = torch.full((3, 1, 28, 28), MNIST_BACKGROUND)
    out = affine_batch(
        background,
        torch.tensor([30.0, -45.0, 5.0]),
        torch.tensor([[5.0, -4.0], [0.0, 0.0], [-6.0, 6.0]]),
        torch.tensor([0.7, 1.0, 1.2]),
        fill=MNIST_BACKGROUND,
    )
    assert torch.allclose(out, background, atol=1e-6)  # the background stays background everywhere
    assert MNIST_BACKGROUND == pytest.approx(-MNIST_MEAN / MNIST_STD)


# --- RandomAffineBatch and the augmentation pipeline -------------------------------------------


def test_v2_on_a_batch_uses_one_parameter_set_but_random_affine_batch_one_per_image():
    copies = bordered_batch(1).repeat(8, 1, 1, 1)
    torch.manual_seed(0)
    same = v2.RandomAffine(degrees=20, translate=(0.1, 0.1))(copies)
    assert all(
        torch.equal(same[0], same[i]) for i in range(8)
    )  # the pitfall this module exists for
    ours = RandomAffineBatch(20, 0.1, generator=torch.Generator().manual_seed(0))(copies)
    assert ours.shape == copies.shape
    assert not any(torch.allclose(ours[0], ours[i]) for i in range(1, 8))


def test_random_affine_batch_is_reproducible_with_a_seeded_generator():
    x = bordered_batch(4)
    a = RandomAffineBatch(15, 0.1, (0.9, 1.1), generator=torch.Generator().manual_seed(3))
    b = RandomAffineBatch(15, 0.1, (0.9, 1.1), generator=torch.Generator().manual_seed(3))
    first, again = a(x), b(x)
    assert torch.equal(first, again)
    assert not torch.equal(
        a(x), first
    )  # the generator moves on: the next batch gets new parameters


def test_random_affine_batch_parameters_stay_in_range():
    t = RandomAffineBatch(
        (-5, 15), (0.1, 0.2), (0.8, 1.2), generator=torch.Generator().manual_seed(0)
    )
    params = t.make_params([torch.zeros(1000, 1, 28, 20)])
    assert (
        params["angle"].shape == (1000,)
        and params["translate"].shape == (1000, 2)
        and params["scale"].shape == (1000,)
    )
    assert -5 <= float(params["angle"].min()) and float(params["angle"].max()) <= 15
    assert (
        float(params["translate"][:, 0].abs().max()) <= 0.1 * 20
    )  # x shifts: a fraction of the width
    assert float(params["translate"][:, 1].abs().max()) <= 0.2 * 28
    assert float(params["translate"][:, 1].abs().max()) > 0.1 * 28  # ... y shifts: of the height
    assert 0.8 <= float(params["scale"].min()) and float(params["scale"].max()) <= 1.2
    assert float(params["angle"].std()) > 4  # spread over the range, not one value


def test_random_affine_batch_takes_a_single_image_too():
    img = bordered_batch(1)[0]
    out = RandomAffineBatch(10, 0.1, generator=torch.Generator().manual_seed(0))(img)
    assert out.shape == img.shape


def test_augmentation_is_a_v2_pipeline_for_the_fast_path(mnist_splits):
    x, y = mnist_splits["train"]
    pipeline = augmentation(generator=torch.Generator().manual_seed(0))
    assert isinstance(pipeline, v2.Compose)
    plain = InMemoryLoader(x[:64], y[:64], batch_size=64)
    augmented = InMemoryLoader(x[:64], y[:64], batch_size=64, transform=pipeline)
    (xb, yb), (ab, ab_y) = next(iter(plain)), next(iter(augmented))
    assert (
        ab.shape == xb.shape == (64, 1, 28, 28)
        and ab.dtype == torch.float32
        and torch.equal(ab_y, yb)
    )
    assert not torch.allclose(ab, xb)
    corner = ab[:, :, :2, :2]  # MNIST corners are black and stay black after a small affine
    assert torch.allclose(corner, torch.full_like(corner, MNIST_BACKGROUND), atol=1e-5)
    assert abs(float(ab.mean()) - float(xb.mean())) < 0.05  # moved, not brightened or darkened
    identity = augmentation(0.0, 0.0)
    assert torch.allclose(identity(xb), xb, atol=1e-5)


def test_per_sample_applies_a_transform_image_by_image():
    copies = bordered_batch(1).repeat(6, 1, 1, 1)
    torch.manual_seed(0)
    out = PerSample(v2.RandomAffine(degrees=30))(copies)
    assert out.shape == copies.shape
    assert not torch.allclose(out[0], out[1])
