"""Comparing gradients: hand-derived (or otherwise computed) gradients against autograd's ``.grad``.

Notebook 02 writes the comparison out inline first (``torch.testing.assert_close`` per parameter);
these functions are the reusable form.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from ._internal.checks import check_type


def max_abs_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    """Largest absolute element-wise difference between two tensors of the same shape.

    Computed in float64 on ``a``'s device, so the result is not itself rounded to float32.

    >>> max_abs_diff(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.5]))
    0.5
    """
    check_type("a", a, torch.Tensor)
    check_type("b", b, torch.Tensor)
    if a.shape != b.shape:
        raise ValueError(
            f"a and b must have the same shape, got {list(a.shape)} and {list(b.shape)}"
        )
    if a.numel() == 0:
        return 0.0
    diff = a.detach().to(torch.float64) - b.detach().to(device=a.device, dtype=torch.float64)
    return diff.abs().max().item()


def compare_grads(
    manual: Mapping[str, torch.Tensor], model: nn.Module, *, require_all: bool = True
) -> dict[str, float]:
    """``{parameter name: max |manual - param.grad|}`` for every entry of ``manual``.

    ``manual`` maps names as in ``model.named_parameters()`` (``"fc1.weight"``) to gradients
    computed some other way (by hand, by finite differences). Call it after ``loss.backward()``.
    With ``require_all`` (the default) every parameter that requires a gradient must be in
    ``manual``, so a forgotten gradient is an error rather than silently unchecked.
    """
    check_type("manual", manual, Mapping)
    check_type("model", model, nn.Module)
    check_type("require_all", require_all, bool)
    if not manual:
        raise ValueError("manual must hold at least one gradient, got an empty mapping")
    params = dict(model.named_parameters())
    unknown = [name for name in manual if name not in params]
    if unknown:
        raise ValueError(
            f"manual has names that are not parameters of the model: {unknown}; "
            f"accepted names: {list(params)}"
        )
    if require_all:
        missing = [name for name, p in params.items() if p.requires_grad and name not in manual]
        if missing:
            raise ValueError(
                f"manual lacks gradients for {missing} (pass require_all=False to compare a subset)"
            )
    out: dict[str, float] = {}
    for name, grad in manual.items():
        check_type(f"manual[{name!r}]", grad, torch.Tensor)
        param = params[name]
        if param.grad is None:
            raise ValueError(
                f"{name}.grad is None: call loss.backward() before compare_grads "
                "(or the parameter does not take part in the loss)"
            )
        if grad.shape != param.shape:
            raise ValueError(
                f"manual[{name!r}] has shape {list(grad.shape)}, "
                f"the parameter has {list(param.shape)}"
            )
        out[name] = max_abs_diff(param.grad, grad)
    return out
