"""Argument checks, seeding and device selection."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from helpers.checks import check_choice, check_params, check_positive_int, check_range, check_type
from helpers.runtime import get_device, seed_everything


def test_check_type_names_argument_value_and_accepted_types():
    with pytest.raises(TypeError, match=r"epochs must be int, got 'three' of type str"):
        check_type("epochs", "three", int)
    assert check_type("lr", 1, float) == 1          # an int is a fine float
    with pytest.raises(TypeError, match="smoke must be int"):
        check_type("smoke", True, int)               # a bool is not an int here
    assert check_type("data_dir", None, (str, type(None))) is None
    with pytest.raises(TypeError, match="data_dir must be str or None, got 3"):
        check_type("data_dir", 3, (str, type(None)))


def test_check_positive_int_and_choice_and_range():
    with pytest.raises(ValueError, match=r"batch_size must be an integer >= 1, got 0"):
        check_positive_int("batch_size", 0)
    assert check_positive_int("val_size", 0, allow_zero=True) == 0
    with pytest.raises(ValueError, match=r"device must be one of \['cpu', 'cuda'\], got 'gpu'"):
        check_choice("device", "gpu", ["cpu", "cuda"])
    with pytest.raises(ValueError, match="dropout must be between 0 and 1, got 1.5"):
        check_range("dropout", 1.5, 0, 1)


def test_check_params_reports_the_wrong_papermill_parameter():
    check_params(seed=(0, int), data_dir=(None, (str, type(None))), smoke=(False, bool))
    with pytest.raises(TypeError, match=r"seed must be int, got '0' of type str"):
        check_params(seed=("0", int), smoke=(False, bool))
    with pytest.raises(TypeError, match="name=\\(value, type\\)"):
        check_params(seed=0)


def test_seed_everything_makes_runs_repeatable():
    g1 = seed_everything(7)
    a = (random.random(), np.random.rand(), torch.rand(3), torch.rand(3, generator=g1))
    g2 = seed_everything(7)
    b = (random.random(), np.random.rand(), torch.rand(3), torch.rand(3, generator=g2))
    assert a[0] == b[0] and a[1] == b[1]
    assert torch.equal(a[2], b[2]) and torch.equal(a[3], b[3])
    seed_everything(8)
    assert not torch.equal(torch.rand(3), a[2])
    with pytest.raises(ValueError, match="seed must be an integer >= 0, got -1"):
        seed_everything(-1)
    with pytest.raises(TypeError, match="seed must be int"):
        seed_everything(1.5)


def test_get_device():
    assert get_device("cpu") == torch.device("cpu")
    assert get_device(torch.device("cpu")) == torch.device("cpu")
    assert get_device("auto").type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        assert get_device("auto").type != "cuda"
        with pytest.raises(ValueError, match="device='cuda' was asked for, but no CUDA GPU is available"):
            get_device("cuda")
    with pytest.raises(ValueError, match=r"device must be one of \['auto', 'cpu', 'cuda', 'mps'\], got 'gpu'"):
        get_device("gpu")
    with pytest.raises(TypeError, match="device must be str"):
        get_device(0)
