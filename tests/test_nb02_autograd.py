"""Notebook 02 in smoke mode: the numbers it records about gradients."""

from __future__ import annotations


def test_hand_derived_gradients_match_autograd(smoke_run):
    results, _ = smoke_run("02_autograd_backprop")
    # float32 rounding only: each parameter's largest |difference| / its largest |gradient|
    assert 0.0 <= results["max_rel_diff_manual_vs_autograd"] <= 1e-5
    assert results["classic_grad"] == [2.0, 2.0, 2.0]


def test_gradient_checks(smoke_run):
    results, _ = smoke_run("02_autograd_backprop")
    assert results["gradcheck_passed"] is True
    assert results["gradcheck_catches_broken_backward"] is True
    # float64 central differences, error relative to each parameter's largest gradient
    assert 0.0 <= results["finite_difference_max_rel_error"] < 1e-6


def test_value_engine_agrees_with_pytorch_and_learns(smoke_run):
    results, _ = smoke_run("02_autograd_backprop")
    assert results["value_engine_max_abs_diff"] < 1e-9
    # smoke mode trains the Value MLP for 30 steps only: it must still have learned something
    first, last = results["value_mlp_losses"]
    assert last < 0.8 * first


def test_gradients_vanish_and_explode_through_depth(smoke_run):
    results, _ = smoke_run("02_autograd_backprop")
    ratio = results["grad_ratio_first_to_last"]
    assert ratio["sigmoid, Xavier"] < 1e-3  # vanishing
    assert ratio["ReLU, PyTorch default"] < 0.1
    assert 0.1 < ratio["ReLU, He"] < 10  # level
    assert ratio["ReLU, 1.5 × He"] > 100  # exploding


def test_bookkeeping_and_no_errors(smoke_run):
    results, nb = smoke_run("02_autograd_backprop")
    assert results["frozen_trainable_params"] == 128 * 64 + 64 + 64 * 10 + 10  # fc1 frozen
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert not errors
