"""Gradients computed another way (by hand, by finite differences) against autograd's ``.grad``.

Notebook 02 writes the comparison out inline first; these are the reusable form.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn


def max_abs_diff(a: Tensor, b: Tensor) -> float:
    """Largest absolute difference between two tensors of the same shape, in float64 (so that
    the result is not itself rounded to float32); 0 for empty tensors.

    >>> max_abs_diff(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.5]))
    0.5
    """
    if a.shape != b.shape:  # broadcasting would compare other numbers without a word
        raise ValueError(f"a and b must have the same shape, got {list(a.shape)}, {list(b.shape)}")
    diff = a.detach().double() - b.detach().to(a.device, torch.float64)
    return diff.abs().max().item() if diff.numel() else 0.0


def compare_grads(
    manual: Mapping[str, Tensor], model: nn.Module, *, require_all: bool = True
) -> dict[str, float]:
    """``{parameter name: max |manual - param.grad|}`` for every entry of ``manual``, after
    ``loss.backward()``.

    ``manual`` maps names as in ``model.named_parameters()`` (``"fc1.weight"``) to gradients. With
    ``require_all`` every parameter that requires a gradient must be there, so that a forgotten
    gradient is an error rather than silently unchecked.
    """
    params = dict(model.named_parameters())
    missing = [name for name, p in params.items() if p.requires_grad and name not in manual]
    if require_all and missing:
        raise ValueError(f"manual lacks gradients for {missing} (require_all=False: a subset)")
    out = {}
    for name, grad in manual.items():
        assert params[name].grad is not None, f"{name}.grad is None: call loss.backward() first"
        out[name] = max_abs_diff(params[name].grad, grad)
    return out
