"""Argument checks, seeding and device selection."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from helpers.checks import check_choice, check_params, check_positive_int, check_range, check_type
from helpers.results import show_claims
from helpers.runtime import get_device, seed_everything, setup


def test_check_type_names_argument_value_and_accepted_types():
    with pytest.raises(TypeError, match=r"epochs must be int, got 'three' of type str"):
        check_type("epochs", "three", int)
    assert check_type("lr", 1, float) == 1  # an int is a fine float
    with pytest.raises(TypeError, match="smoke must be int"):
        check_type("smoke", True, int)  # a bool is not an int here
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
    with pytest.raises(TypeError, match=r"name=\(value, type\[, low\]\) tuples, got seed=0"):
        check_params(seed=0)


def test_check_params_checks_minimums_before_anything_else():
    check_params(epochs=(1, int, 1), lr=(0.5, float, 0), data_dir=(None, (str, type(None)), 0))
    with pytest.raises(ValueError, match="epochs must be >= 1, got 0"):
        check_params(epochs=(0, int, 1))
    with pytest.raises(TypeError, match="epochs must be int, got 'x'"):
        check_params(epochs=("x", int, 1))


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
        with pytest.raises(
            ValueError, match="device='cuda' was asked for, but no CUDA GPU is available"
        ):
            get_device("cuda")
    with pytest.raises(
        ValueError,
        match=r"device must be one of \['auto', 'cpu', 'cuda', 'mps'\] or 'cuda:N', got 'gpu'",
    ):
        get_device("gpu")
    for bad in ("cpu:0", "cuda:x", "cuda:", "auto:1"):
        with pytest.raises(ValueError, match="or 'cuda:N'"):
            get_device(bad)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device='cuda:1' was asked for, but no CUDA GPU"):
            get_device("cuda:1")
    else:
        n = torch.cuda.device_count()
        assert get_device("cuda:0") == torch.device("cuda:0")
        with pytest.raises(ValueError, match=f"this machine has {n} CUDA GPU"):
            get_device(f"cuda:{n}")


def test_setup_checks_seeds_picks_the_device_and_says_so(tmp_path, capsys):
    generator, dev = setup(3, "cpu", None, True, str(tmp_path))
    assert dev == torch.device("cpu")
    assert torch.equal(
        torch.rand(2, generator=generator), torch.rand(2, generator=seed_everything(3))
    )
    out = capsys.readouterr().out
    assert "device: cpu" in out and "seed 3" in out and "smoke" in out
    with pytest.raises(TypeError, match="seed must be int, got 'one' of type str"):
        setup("one", "cpu", None, False, None)
    with pytest.raises(TypeError, match="smoke must be bool, got 'True' of type str"):
        setup(0, "cpu", None, "True", None)
    a_file = tmp_path / "results.json"
    a_file.write_text("{}")
    with pytest.raises(ValueError, match="results_dir must be a folder, got .*which is a file"):
        setup(0, "cpu", None, False, str(a_file))
    with pytest.raises(ValueError, match="data_dir must be a folder"):
        setup(0, "cpu", str(a_file), False, None)


def test_show_claims_prints_a_table_and_never_raises(capsys):
    verdicts = show_claims({"a beats b": True, "c is faster": 0, "d": 1.0})
    assert verdicts == {"a beats b": True, "c is faster": False, "d": True}
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].endswith("✓") and lines[2].endswith("✗")
    assert lines[-1] == "2 of 3 claims hold in this run."
    with pytest.raises(TypeError, match="claims must be dict"):
        show_claims([("a", True)])
    with pytest.raises(TypeError, match="device must be str"):
        get_device(0)
