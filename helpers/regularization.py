"""Remedies for overfitting that PyTorch does not build in: an L1 penalty, and augmentation with
different random parameters for every image of a batch.

Why a batch transform of its own: a ``torchvision.transforms.v2`` transform called on one tensor
draws **one** set of random parameters, so ``v2.RandomAffine`` on a batch rotates every image by
the same angle. :class:`RandomAffineBatch` draws an angle, a shift and a scale per image and warps
the whole batch with one ``F.affine_grid`` + ``F.grid_sample`` call; :class:`PerSample` is the
simple, slow alternative for any transform: one call per image.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.transforms import v2

from .data import MNIST_MEAN, MNIST_STD

# A black MNIST pixel after (x / 255 - mean) / std: the background on the fast path.
MNIST_BACKGROUND = -MNIST_MEAN / MNIST_STD


def _weights(model: nn.Module, include_bias: bool) -> list[nn.Parameter]:
    """The weight matrices and kernels (two or more dimensions); biases and normalization
    scales (one dimension) too with ``include_bias``. Weight decay usually leaves those alone."""
    return [p for p in model.parameters() if include_bias or p.dim() > 1]


def weight_values(model: nn.Module, *, include_bias: bool = False) -> torch.Tensor:
    """All the entries of ``model``'s weight matrices as one detached 1-D tensor."""
    return torch.cat([p.detach().reshape(-1) for p in _weights(model, include_bias)])


def l1_penalty(
    strength: float, *, include_bias: bool = False
) -> Callable[[nn.Module], torch.Tensor]:
    """``penalty(model) = strength * sum(|w|)`` over the weight matrices, for ``fit(...,
    penalty=...)``.

    Its gradient, ``strength * sign(w)``, pulls every weight towards zero by the same amount
    whatever its size: why L1 drives many weights to (nearly) zero, where L2 only shrinks them.
    ``strength`` is per summed weight, so it is small (1e-5 to 1e-3).
    """
    assert strength >= 0, f"a negative strength ({strength}) would reward large weights"

    def penalty(model: nn.Module) -> torch.Tensor:
        return strength * sum(p.abs().sum() for p in _weights(model, include_bias))

    penalty.strength = strength  # type: ignore[attr-defined]
    return penalty


def affine_batch(
    images: torch.Tensor,
    angle: torch.Tensor,
    translate: torch.Tensor,
    scale: torch.Tensor,
    *,
    fill: float = 0.0,
) -> torch.Tensor:
    """Rotate, shift and scale each image of a batch ``[N, C, H, W]`` by its own parameters, in
    one ``grid_sample`` call (bilinear; pixels from outside the image take the value ``fill``).

    ``angle [N]`` in degrees, clockwise (as ``v2.functional.affine`` and ``v2.RandomAffine``;
    ``v2.functional.rotate`` turns the other way), ``translate [N, 2]`` in pixels (x right, y
    down), ``scale [N]``. Image ``i`` becomes ``v2.functional.affine(images[i], angle[i],
    translate[i], scale[i], shear=0)``, except that the fill is blended in exactly at the border.
    """
    n, _, h, w = images.shape
    rad = torch.deg2rad(angle.to(images))
    cos, sin, s = torch.cos(rad), torch.sin(rad), scale.to(images)
    tx, ty = translate.to(images).unbind(1)
    # The inverse map (output pixel -> input pixel) about the centre, in pixels:
    # p_in = A (p_out - t), with A = R(-angle) / s.
    a00, a01, a10, a11 = cos / s, sin / s, -sin / s, cos / s
    b0, b1 = -(a00 * tx + a01 * ty), -(a10 * tx + a11 * ty)
    # The same map in grid_sample's coordinates, x / (w/2) and y / (h/2) (align_corners=False).
    row0 = torch.stack([a00, a01 * h / w, 2 * b0 / w], 1)
    row1 = torch.stack([a10 * w / h, a11, 2 * b1 / h], 1)
    grid = F.affine_grid(torch.stack([row0, row1], 1), [n, 1, h, w], align_corners=False)
    # grid_sample pads with zeros: sampling (x - fill) and adding fill back pads with fill.
    return F.grid_sample(images - fill, grid, align_corners=False) + fill


def _pair(value: float | Sequence[float]) -> tuple[float, float]:
    """A number ``v`` as ``(-v, v)``, or a ``(min, max)`` pair as it is."""
    low, high = (-value, value) if isinstance(value, (int, float)) else value
    assert low <= high, f"expected a number or a (min, max) pair, got {value!r}"
    return float(low), float(high)


class RandomAffineBatch(v2.Transform):
    """Random rotation, shift and scale with **different parameters for every image** of a
    ``[N, C, H, W]`` (or one ``[C, H, W]``) float batch: a drop-in v2 transform.

    The parameters are drawn as ``v2.RandomAffine`` draws them (an angle uniform in ``degrees``,
    a shift uniform in ``±translate * size``, not rounded to whole pixels, a scale uniform in
    ``scale``), one set per image, from ``generator`` (None: the global generator). ``fill`` is
    the value of the uncovered border: by default, MNIST's normalized black.
    """

    def __init__(
        self,
        degrees: float | Sequence[float] = 10.0,
        translate: float | Sequence[float] = 0.1,
        scale: Sequence[float] | None = None,
        *,
        fill: float = MNIST_BACKGROUND,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        self.degrees = _pair(degrees)
        self.translate = (
            (translate, translate) if isinstance(translate, (int, float)) else translate
        )
        self.scale = None if scale is None else tuple(scale)  # (min, max), as in v2.RandomAffine
        self.fill, self.generator = float(fill), generator

    def _uniform(self, n: int, low: float, high: float) -> torch.Tensor:
        return torch.rand(n, generator=self.generator) * (high - low) + low

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        image = flat_inputs[0]
        n, (h, w) = (len(image) if image.dim() == 4 else 1), image.shape[-2:]
        angle = self._uniform(n, *self.degrees)  # drawn in this order: a seed gives the same
        tx = self._uniform(n, -self.translate[0] * w, self.translate[0] * w)
        ty = self._uniform(n, -self.translate[1] * h, self.translate[1] * h)
        scale = torch.ones(n) if self.scale is None else self._uniform(n, *self.scale)
        return {"angle": angle, "translate": torch.stack([tx, ty], 1), "scale": scale}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        batch = inpt if inpt.dim() == 4 else inpt.unsqueeze(0)
        out = affine_batch(batch, **params, fill=self.fill)
        return out if inpt.dim() == 4 else out[0]

    # torchvision < 0.21 calls the two methods by their older names
    _get_params = make_params
    _transform = transform


class PerSample(nn.Module):
    """Apply ``transform`` to each image of a batch ``[N, C, H, W]`` separately, so that each
    draws its own random parameters: any v2 transform, at one Python call per image."""

    def __init__(self, transform: Callable[[torch.Tensor], torch.Tensor]):
        super().__init__()
        self.transform = transform

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.stack([self.transform(image) for image in images])


def augmentation(
    degrees: float = 10.0,
    translate: float = 0.1,
    scale: Sequence[float] | None = None,
    *,
    fill: float = MNIST_BACKGROUND,
    generator: torch.Generator | None = None,
) -> v2.Compose:
    """The course's MNIST augmentation, small random rotations and shifts per image, as a v2
    pipeline for ``InMemoryLoader(..., transform=augmentation(generator=g))``: normalized float
    batches ``[B, 1, 28, 28]`` in and out. Digits must stay digits: a 6 turned by 180° is a 9."""
    return v2.Compose(
        [RandomAffineBatch(degrees, translate, scale, fill=fill, generator=generator)]
    )
