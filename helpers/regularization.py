"""Remedies for overfitting PyTorch does not build in: an L1 penalty, and augmentation with random
parameters for every image of a batch (``v2.RandomAffine`` turns a whole batch by one angle)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.transforms import v2

from .data import MNIST_MEAN, MNIST_STD

MNIST_BACKGROUND = -MNIST_MEAN / MNIST_STD  # a black pixel, normalized


def l1_penalty(strength: float, *, include_bias: bool = False) -> Callable[[nn.Module], Tensor]:
    """``penalty(model) = strength * sum(|w|)`` over the weight matrices and kernels (biases and
    norm scales too if ``include_bias``), for ``fit(..., penalty=...)``. Its gradient,
    ``strength * sign(w)``, pulls every weight by the same amount, so many reach (nearly) zero,
    where L2 only shrinks them."""
    assert strength >= 0, f"a negative strength ({strength}) would reward large weights"

    def penalty(model: nn.Module) -> Tensor:
        weights = (p for p in model.parameters() if include_bias or p.dim() > 1)
        return strength * sum(p.abs().sum() for p in weights)

    penalty.strength = strength  # type: ignore[attr-defined]
    return penalty


def affine_batch(
    images: Tensor, angle: Tensor, translate: Tensor, scale: Tensor, *, fill: float = 0.0
) -> Tensor:
    """Rotate (``angle [N]``, degrees clockwise), shift (``translate [N, 2]``, pixels) and scale
    each image: ``v2.functional.affine(images[i], angle[i], translate[i], scale[i], shear=0)``."""
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


class RandomAffineBatch(v2.Transform):
    """``v2.RandomAffine`` without shear, but with **its own parameters for every image** of an
    ``[N, C, H, W]`` (or ``[C, H, W]``) float batch, drawn from ``generator``; the shifts are not
    rounded to whole pixels, and the batch is warped by one ``grid_sample`` call."""

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
        self.degrees = (-degrees, degrees) if isinstance(degrees, (int, float)) else degrees
        pair = isinstance(translate, (int, float))
        self.translate = (translate, translate) if pair else translate
        self.scale, self.fill, self.generator = scale, fill, generator

    def _uniform(self, n: int, low: float, high: float) -> Tensor:
        assert low <= high, f"a (min, max) range, got ({low}, {high})"
        return torch.rand(n, generator=self.generator) * (high - low) + low

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        image = flat_inputs[0]
        n, (h, w) = (len(image) if image.dim() == 4 else 1), image.shape[-2:]
        angle = self._uniform(n, *self.degrees)  # drawn in this order, so a seed gives the same
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
    """Apply ``transform`` to each image of a batch separately, so that each draws its own
    random parameters: any v2 transform, at one Python call per image."""

    def __init__(self, transform: Callable[[Tensor], Tensor]):
        super().__init__()
        self.transform = transform

    def forward(self, images: Tensor) -> Tensor:
        return torch.stack([self.transform(image) for image in images])


def augmentation(
    degrees: float = 10.0, translate: float = 0.1, *, generator: torch.Generator | None = None
) -> v2.Compose:
    """The course's augmentation, small random rotations and shifts of every image, for
    ``InMemoryLoader(..., transform=...)``. Digits must stay digits: a 6 turned 180° is a 9."""
    return v2.Compose([RandomAffineBatch(degrees, translate, generator=generator)])
