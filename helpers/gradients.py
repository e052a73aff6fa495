"""Gradients computed another way (by hand, say) against autograd's ``.grad`` (notebook 02)."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn


def max_abs_diff(a: Tensor, b: Tensor) -> float:
    """Largest absolute difference between two tensors of the same shape (0 if empty), in
    float64, so that the result is not itself rounded to float32."""
    if a.shape != b.shape:  # broadcasting would compare other numbers without a word
        raise ValueError(f"a and b must have the same shape, got {list(a.shape)}, {list(b.shape)}")
    diff = a.detach().double() - b.detach().to(a.device, torch.float64)
    return diff.abs().max().item() if diff.numel() else 0.0


def compare_grads(
    manual: Mapping[str, Tensor], model: nn.Module, *, require_all: bool = True
) -> dict[str, float]:
    """``{name: max |manual[name] - param.grad|}``, names as in ``model.named_parameters()``,
    after ``loss.backward()``. With ``require_all``, a forgotten gradient is an error."""
    params = dict(model.named_parameters())
    missing = [name for name, p in params.items() if p.requires_grad and name not in manual]
    if require_all and missing:
        raise ValueError(f"manual lacks gradients for {missing} (require_all=False: a subset)")
    out = {}
    for name, grad in manual.items():
        assert params[name].grad is not None, f"{name}.grad is None: call loss.backward() first"
        out[name] = max_abs_diff(params[name].grad, grad)
    return out
