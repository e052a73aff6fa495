"""Remedies for overfitting that are not built into PyTorch: an L1 penalty and per-sample
augmentation.

* :func:`l1_penalty` returns ``penalty(model)`` for ``fit(..., penalty=...)``: the L1 norm of the
  weight matrices times a strength, added to the loss (notebook 06 writes it out by hand first).
* :func:`augmentation` builds a ``torchvision.transforms.v2`` pipeline for the fast path's
  normalized float batches ``[B, 1, 28, 28]`` (``InMemoryLoader(..., transform=...)``).

Why a batch transform of its own: a v2 transform called on one tensor draws **one** set of random
parameters, so ``v2.RandomAffine`` applied to a batch rotates every image of the batch by the same
angle. :class:`RandomAffineBatch` draws an angle, a shift and a scale per image and warps the
whole batch with one ``F.affine_grid`` + ``F.grid_sample`` call, from a seeded generator.
:class:`PerSample` is the simple, slow alternative for any v2 transform: one call per image.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.transforms import v2

from ._internal.checks import check_type
from .data import MNIST_MEAN, MNIST_STD

# A black MNIST pixel after (x / 255 - mean) / std: the value the background has on the fast path.
MNIST_BACKGROUND = -MNIST_MEAN / MNIST_STD


def weight_values(model: nn.Module, *, include_bias: bool = False) -> torch.Tensor:
    """All entries of ``model``'s weight matrices (and biases with ``include_bias``) as one detached
    1-D tensor.

    "Weights" are the parameters with two or more dimensions (``nn.Linear.weight``, conv kernels);
    biases and other 1-D parameters (normalization scales) are left out by default, as weight decay
    and L1 penalties usually leave them alone.
    """
    check_type("model", model, nn.Module)
    check_type("include_bias", include_bias, bool)
    chosen = [p.detach().reshape(-1) for p in model.parameters() if include_bias or p.dim() > 1]
    if not chosen:
        raise ValueError(
            f"model has no weight matrices to collect ({type(model).__name__} with "
            f"{sum(1 for _ in model.parameters())} parameters, include_bias={include_bias})"
        )
    return torch.cat(chosen)


def l1_penalty(
    strength: float, *, include_bias: bool = False
) -> Callable[[nn.Module], torch.Tensor]:
    """``penalty(model) = strength * sum(|w|)`` over the weight matrices, for ``fit(...,
    penalty=...)``.

    Its gradient is ``strength * sign(w)``: a constant pull towards zero, whatever the size of the
    weight, which is why L1 drives many weights to (nearly) zero while L2 only shrinks them.
    ``strength`` is per summed weight, so it is usually small (1e-5 to 1e-3).
    """
    check_type("strength", strength, float)
    if not math.isfinite(strength) or strength < 0:
        raise ValueError(f"strength must be a finite number >= 0, got {strength!r}")
    check_type("include_bias", include_bias, bool)

    def penalty(model: nn.Module) -> torch.Tensor:
        check_type("model", model, nn.Module)
        params = [p for p in model.parameters() if include_bias or p.dim() > 1]
        if not params:
            raise ValueError(f"model has no weight matrices to penalize ({type(model).__name__})")
        return strength * sum(p.abs().sum() for p in params)

    penalty.strength = strength  # type: ignore[attr-defined]
    return penalty


def _check_pair(name: str, value: Any, low: float, high: float) -> tuple[float, float]:
    """A number ``v`` (meaning ``(-v, v)``) or a ``(min, max)`` pair, each inside ``[low,
    high]``."""
    check_type(name, value, (float, tuple, list))
    pair = (-float(value), float(value)) if isinstance(value, (int, float)) else tuple(value)
    if len(pair) != 2 or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in pair
    ):
        raise ValueError(f"{name} must be a number or a (min, max) pair of numbers, got {value!r}")
    lo, hi = float(pair[0]), float(pair[1])
    if not (low <= lo <= hi <= high):
        raise ValueError(f"{name} must give min <= max within [{low}, {high}], got {value!r}")
    return lo, hi


def affine_batch(
    images: torch.Tensor,
    angle: torch.Tensor,
    translate: torch.Tensor,
    scale: torch.Tensor,
    *,
    fill: float = 0.0,
) -> torch.Tensor:
    """Rotate, shift and scale each image of a batch by its own parameters, in one ``grid_sample``
    call.

    ``images`` ``[N, C, H, W]`` float; ``angle`` ``[N]`` degrees (clockwise, as in
    ``v2.functional.affine`` and ``v2.RandomAffine``; ``v2.functional.rotate`` turns the other way);
    ``translate`` ``[N, 2]`` pixels (x right, y down); ``scale`` ``[N]``.
    Bilinear interpolation; pixels that come from outside the image take the value ``fill``.
    For image ``i`` this is
    ``v2.functional.affine(images[i], angle[i], translate[i], scale[i], shear=0)``
    (about the image centre), except that at the border the fill is blended in exactly.
    """
    check_type("images", images, torch.Tensor)
    if images.dim() != 4 or not images.is_floating_point():
        raise ValueError(
            f"images must be a float tensor [N, C, H, W], got {images.dtype} {list(images.shape)}"
        )
    n, _, h, w = images.shape
    for name, value, shape in (
        ("angle", angle, (n,)),
        ("translate", translate, (n, 2)),
        ("scale", scale, (n,)),
    ):
        check_type(name, value, torch.Tensor)
        if tuple(value.shape) != shape:
            raise ValueError(
                f"{name} must have shape {list(shape)} for a batch of {n}, got {list(value.shape)}"
            )
    if not bool((scale > 0).all()):
        raise ValueError(f"scale must be > 0 for every image, got min {float(scale.min())}")
    check_type("fill", fill, float)
    dev, dtype = images.device, images.dtype
    rad = torch.deg2rad(angle.to(dev, dtype))
    cos, sin = torch.cos(rad), torch.sin(rad)
    s = scale.to(dev, dtype)
    tx, ty = translate.to(dev, dtype).unbind(1)
    # Inverse map (output pixel -> input pixel) about the centre, in pixels:
    # p_in = A (p_out - t), A = R(-angle) / s.
    a00, a01, a10, a11 = cos / s, sin / s, -sin / s, cos / s
    b0, b1 = -(a00 * tx + a01 * ty), -(a10 * tx + a11 * ty)
    # The same map in grid_sample's normalized coordinates (x / (w/2), y / (h/2),
    # align_corners=False).
    theta = torch.stack(
        [
            torch.stack([a00, a01 * h / w, 2 * b0 / w], 1),
            torch.stack([a10 * w / h, a11, 2 * b1 / h], 1),
        ],
        1,
    )
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    # Sampling (x - fill) with zero padding, then adding fill back, pads with fill.
    out = F.grid_sample(
        images - fill, grid, mode="bilinear", padding_mode="zeros", align_corners=False
    )
    return out + fill


class RandomAffineBatch(v2.Transform):
    """Random rotation, shift and scale with **different parameters for every image** of a batch.

    A drop-in ``torchvision.transforms.v2`` transform for ``[N, C, H, W]`` (or one ``[C, H, W]``)
    float batches, e.g. the fast path's normalized MNIST batches. Parameters are drawn like
    ``v2.RandomAffine``'s (angle uniform in ``degrees``, shift uniform in
    ``±translate * size``, but not rounded to whole pixels; scale uniform in ``scale``), one
    set per image, from ``generator`` (a seeded CPU ``torch.Generator``; None: the global RNG).
    ``fill`` is the value of the uncovered border; the default is MNIST's normalized black.
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
        self.degrees = _check_pair("degrees", degrees, -180.0, 180.0)
        check_type("translate", translate, (float, tuple, list))
        pair = (translate, translate) if isinstance(translate, (int, float)) else tuple(translate)
        if len(pair) != 2 or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1 for v in pair
        ):
            raise ValueError(
                "translate must be a fraction in [0, 1] or an (x, y) pair of them, "
                f"got {translate!r}"
            )
        self.translate = (float(pair[0]), float(pair[1]))
        if isinstance(scale, (int, float)):
            raise ValueError(
                f"scale must be a (min, max) pair such as (0.9, 1.1) or None, got {scale!r}"
            )
        self.scale = None if scale is None else _check_pair("scale", scale, 1e-3, 100.0)
        check_type("fill", fill, float)
        check_type("generator", generator, (torch.Generator, type(None)))
        self.fill, self.generator = float(fill), generator

    def _uniform(self, n: int, low: float, high: float) -> torch.Tensor:
        return torch.rand(n, generator=self.generator) * (high - low) + low

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        image = flat_inputs[0]
        n = image.shape[0] if image.dim() == 4 else 1
        h, w = image.shape[-2:]
        angle = self._uniform(n, *self.degrees)
        tx = self._uniform(n, -self.translate[0] * w, self.translate[0] * w)
        ty = self._uniform(n, -self.translate[1] * h, self.translate[1] * h)
        scale = self._uniform(n, *self.scale) if self.scale is not None else torch.ones(n)
        return {"angle": angle, "translate": torch.stack([tx, ty], 1), "scale": scale}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        check_type("images", inpt, torch.Tensor)
        single = inpt.dim() == 3
        batch = inpt.unsqueeze(0) if single else inpt
        out = affine_batch(
            batch, params["angle"], params["translate"], params["scale"], fill=self.fill
        )
        return out[0] if single else out

    # torchvision < 0.21 calls the two methods by their older names
    _get_params = make_params
    _transform = transform


class PerSample(nn.Module):
    """Apply ``transform`` to each image of a batch separately: fresh random parameters per image.

    Works with any v2 transform (``v2.RandomAffine``, ``v2.ElasticTransform``, ...), at the price of
    one Python call per image; :class:`RandomAffineBatch` does the affine case in one call.
    """

    def __init__(self, transform: Callable[[torch.Tensor], torch.Tensor]):
        super().__init__()
        if not callable(transform):
            raise TypeError(
                f"transform must be callable, got {transform!r} of type {type(transform).__name__}"
            )
        self.transform = transform

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        check_type("images", images, torch.Tensor)
        if images.dim() != 4:
            raise ValueError(f"images must be a batch [N, C, H, W], got shape {list(images.shape)}")
        return torch.stack([self.transform(image) for image in images])


def augmentation(
    degrees: float = 10.0,
    translate: float = 0.1,
    scale: Sequence[float] | None = None,
    *,
    fill: float = MNIST_BACKGROUND,
    generator: torch.Generator | None = None,
) -> v2.Compose:
    """The course's MNIST augmentation: small random rotations and shifts, per image, as a v2
    pipeline.

    For ``InMemoryLoader(..., transform=augmentation(generator=g))``: it takes and returns
    normalized float batches ``[B, 1, 28, 28]``. ``degrees=0`` and ``translate=0`` (and no
    ``scale``) make it the identity. Digits must stay digits: a 6 rotated by 180 degrees is a 9.
    """
    return v2.Compose(
        [RandomAffineBatch(degrees, translate, scale, fill=fill, generator=generator)]
    )
