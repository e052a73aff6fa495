"""helpers.gradients: max_abs_diff and compare_grads."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from helpers.gradients import compare_grads, max_abs_diff


def test_max_abs_diff_values():
    assert max_abs_diff(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 2.5, 2.0])) == 1.0
    assert max_abs_diff(torch.zeros(2, 3), torch.zeros(2, 3)) == 0.0
    assert max_abs_diff(torch.empty(0), torch.empty(0)) == 0.0


def test_max_abs_diff_is_computed_in_float64():
    a = torch.tensor([1.0], dtype=torch.float64)
    b = torch.tensor([1.0 + 1e-12], dtype=torch.float64)
    assert max_abs_diff(a, b) == pytest.approx(1e-12, rel=1e-3)
    # mixed dtypes are compared without rounding the float64 side to float32
    assert max_abs_diff(
        torch.tensor([1.0]), torch.tensor([1.0 + 1e-9], dtype=torch.float64)
    ) == pytest.approx(1e-9, rel=1e-3)


def test_max_abs_diff_refuses_to_broadcast():
    # zeros(1) against zeros(3) would broadcast and compare other numbers without a word
    with pytest.raises(ValueError, match=r"same shape, got \[3\], \[1\]"):
        max_abs_diff(torch.zeros(3), torch.zeros(1))


def _layer_with_grads() -> tuple[nn.Linear, torch.Tensor]:
    torch.manual_seed(0)
    layer = nn.Linear(3, 2)
    x = torch.randn(5, 3)
    layer(x).sum().backward()
    return layer, x


def test_compare_grads_agrees_with_hand_derived_gradients():
    layer, x = _layer_with_grads()
    # d sum(x W^T + b) / dW = 1^T x per row, / db = batch size
    manual = {"weight": x.sum(0).expand(2, 3).clone(), "bias": torch.full((2,), 5.0)}
    diffs = compare_grads(manual, layer)
    assert set(diffs) == {"weight", "bias"}
    assert max(diffs.values()) < 1e-6


def test_compare_grads_reports_a_wrong_gradient():
    layer, x = _layer_with_grads()
    manual = {"weight": x.sum(0).expand(2, 3).clone(), "bias": torch.full((2,), 4.0)}
    assert compare_grads(manual, layer)["bias"] == pytest.approx(1.0)


def test_compare_grads_subset_and_missing():
    layer, x = _layer_with_grads()
    with pytest.raises(ValueError, match=r"lacks gradients for \['bias'\]"):
        compare_grads({"weight": layer.weight.grad.clone()}, layer)
    assert compare_grads({"weight": layer.weight.grad.clone()}, layer, require_all=False) == {
        "weight": 0.0
    }
    # a frozen parameter is not required
    layer.bias.requires_grad_(False)
    assert compare_grads({"weight": layer.weight.grad.clone()}, layer) == {"weight": 0.0}


def test_compare_grads_says_when_backward_was_not_called():
    fresh = nn.Linear(3, 2)
    with pytest.raises(AssertionError, match=r"weight.grad is None: call loss.backward\(\)"):
        compare_grads({"weight": torch.zeros(2, 3), "bias": torch.zeros(2)}, fresh)
