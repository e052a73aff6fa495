"""helpers.runtime: a notebook's setup, seeding and the device; and the parameter contract it
checks (helpers/_internal/params.py): types from the defaults, bounds from the comments."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from helpers._internal.params import check_parameters, parse_parameters_cell
from helpers.runtime import get_device, seed_everything, setup

CELL = """seed = 0  # one seed [≥ 0]
device = "auto"  # where to run
data_dir = None  # MNIST root
smoke = False  # True: a tiny run
results_dir = None  # folder for results
threads = None  # torch's CPU threads
epochs = 10  # epochs of the recipe [≥ 2]
lr = 1e-3  # learning rate [> 0, ≤ 1]
sizes = [1000, 3000]  # training-set sizes
"""
INJECTED = '# Parameters\nsmoke = True\nresults_dir = "/tmp/r"\n'
DEFAULTS = {
    "seed": 0,
    "device": "cpu",
    "data_dir": None,
    "smoke": True,
    "results_dir": None,
    "threads": None,
    "epochs": 10,
    "lr": 1e-3,
    "sizes": [1],
}


def check(history=(CELL, INJECTED), **values):
    check_parameters({**DEFAULTS, **values}, list(history))


def test_the_parameters_cell_gives_types_and_bounds():
    params = parse_parameters_cell(CELL)
    assert list(params)[:4] == ["seed", "device", "data_dir", "smoke"]
    assert params["epochs"].bounds == [("≥", 2.0)]
    assert params["lr"].bounds == [(">", 0.0), ("≤", 1.0)]
    assert parse_parameters_cell(INJECTED) is None  # papermill's cell has no comments
    assert parse_parameters_cell("x = 1  # one\nprint(x)  # not a parameter") is None


@pytest.mark.parametrize(
    "values, error, message",
    [
        ({"seed": "one"}, TypeError, "seed must be int, got 'one' of type str"),
        ({"seed": -1}, ValueError, "seed must be >= 0, got -1"),
        ({"smoke": "True"}, TypeError, "smoke must be bool, got 'True' of type str"),
        ({"epochs": 1}, ValueError, "epochs must be >= 2, got 1"),
        ({"epochs": True}, TypeError, "epochs must be int, got True of type bool"),
        ({"epochs": 2.5}, TypeError, "epochs must be int, got 2.5"),
        ({"lr": 0}, ValueError, "lr must be > 0, got 0"),
        ({"lr": 2.0}, ValueError, "lr must be <= 1, got 2.0"),
        ({"data_dir": 3}, TypeError, "data_dir must be str or None, got 3"),
        ({"sizes": 1000}, TypeError, "sizes must be list, got 1000"),
        ({"threads": "two"}, TypeError, "threads must be int or None, got 'two'"),
        ({"threads": 0}, ValueError, "threads must be >= 1, got 0"),
    ],
)
def test_a_bad_value_is_named_in_one_sentence(values, error, message):
    with pytest.raises(error, match=message):
        check(**values)


def test_good_values_pass_and_an_int_is_a_fine_float():
    check(lr=1, epochs=2, data_dir="some/folder", sizes=[5], threads=2)


def test_an_unknown_papermill_parameter_and_a_missing_one_are_named():
    with pytest.raises(NameError, match="unknown parameter 'epoch': this notebook's parameters"):
        check(history=(CELL, INJECTED + "epoch = 3\n"))
    values = dict(DEFAULTS)
    del values["epochs"]
    with pytest.raises(NameError, match="parameter 'epochs' is not defined"):
        check_parameters(values, [CELL])


def test_the_latest_parameters_cell_counts_and_outside_ipython_the_common_five():
    edited = CELL.replace("[≥ 2]", "[≥ 5]")
    with pytest.raises(ValueError, match="epochs must be >= 5, got 3"):
        check(history=(CELL, edited, "generator, dev = setup(globals())"), epochs=3)
    check(history=(), epochs="anything")  # no parameters cell: only the common five
    with pytest.raises(TypeError, match="seed must be int"):
        check(history=(), seed="x")


def test_an_unreadable_bound_is_named():
    with pytest.raises(ValueError, match="unreadable bound 'at least 2'"):
        parse_parameters_cell("smoke = False  # tiny run\nepochs = 3  # epochs [at least 2]")


def test_seed_everything_makes_runs_repeatable():
    g1 = seed_everything(7)
    a = (random.random(), np.random.rand(), torch.rand(3), torch.rand(3, generator=g1))
    g2 = seed_everything(7)
    b = (random.random(), np.random.rand(), torch.rand(3), torch.rand(3, generator=g2))
    assert a[0] == b[0] and a[1] == b[1]
    assert torch.equal(a[2], b[2]) and torch.equal(a[3], b[3])
    seed_everything(8)
    assert not torch.equal(torch.rand(3), a[2])


def test_get_device():
    assert get_device("cpu") == torch.device("cpu")
    assert get_device(torch.device("cpu")) == torch.device("cpu")
    assert get_device("auto").type in ("cpu", "cuda", "mps")
    with pytest.raises(ValueError, match=r"one of \['auto', 'cpu', 'cuda', 'mps'\] or 'cuda:N'"):
        get_device("gpu")
    for bad in ("cpu:0", "cuda:x", "auto:1"):
        with pytest.raises(ValueError, match="or 'cuda:N'"):
            get_device(bad)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device='cuda:1' was asked for, but there is none"):
            get_device("cuda:1")
    else:
        n = torch.cuda.device_count()
        with pytest.raises(ValueError, match=f"this machine has {n} CUDA GPU"):
            get_device(f"cuda:{n}")


def test_setup_checks_seeds_picks_the_device_styles_figures_and_says_so(tmp_path, capsys):
    import matplotlib as mpl

    from helpers.plots import PALETTE

    mpl.rcdefaults()
    params = {**DEFAULTS, "seed": 3, "results_dir": str(tmp_path), "threads": 1}
    generator, dev = setup(params)
    assert dev == torch.device("cpu") and torch.get_num_threads() == 1
    assert torch.equal(
        torch.rand(2, generator=generator), torch.rand(2, generator=seed_everything(3))
    )
    assert mpl.rcParams["axes.prop_cycle"].by_key()["color"] == list(PALETTE)
    out = capsys.readouterr().out
    assert "device: cpu" in out and "seed 3" in out and "smoke" in out and "1 CPU thread" in out
    a_file = tmp_path / "results.json"
    a_file.write_text("{}")
    with pytest.raises(ValueError, match="results_dir must be a folder, got .*which is a file"):
        setup({**params, "results_dir": str(a_file)})
