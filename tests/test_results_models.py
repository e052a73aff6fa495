"""Recording results; the course's models."""

from __future__ import annotations

import json
import math
import time

import pytest
import torch
from torch import nn

from helpers import runtime
from helpers.models import Net, count_parameters, mlp
from helpers.results import save_results, show_claims


def test_save_results_writes_json_atomically_with_the_run_time(tmp_path, capsys):
    runtime.STARTED[:] = [time.perf_counter() - 2.0]  # setup ran 2 s ago
    assert save_results({"acc": torch.tensor(0.5), "n": 3}, str(tmp_path / "r"), "01_x") is None
    path = tmp_path / "r" / "01_x.json"
    recorded = json.loads(path.read_text())
    assert recorded["acc"] == 0.5 and recorded["n"] == 3 and 2.0 <= recorded["seconds"] < 60
    assert "this notebook ran in 2 s" in capsys.readouterr().out
    assert [p.name for p in (tmp_path / "r").iterdir()] == ["01_x.json"]


def test_save_results_without_folder_writes_nothing(tmp_path):
    save_results({"a": 1}, None, "x")
    assert list(tmp_path.iterdir()) == []


def test_save_results_refuses_nan_and_leaves_nothing(tmp_path):
    with pytest.raises(ValueError, match=r"results\['acc'\] is not a finite number"):
        save_results({"acc": math.nan}, str(tmp_path), "bad")
    with pytest.raises(ValueError, match=r"results\['val'\]\['adam'\]\[1\] is not a finite"):
        save_results({"val": {"adam": [0.5, torch.tensor(math.inf)]}}, str(tmp_path), "bad")
    with pytest.raises(TypeError, match="JSON-serializable"):
        save_results({"model": nn.Linear(1, 1)}, str(tmp_path), "bad")
    assert list(tmp_path.iterdir()) == []


def test_net_is_the_articles_mlp():
    net = Net()
    assert count_parameters(net) == 109_386
    assert [m.out_features for m in net.children()] == [128, 64, 10]
    assert net(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    assert net(torch.zeros(3, 784)).shape == (3, 10)


def test_mlp_matches_net_and_configures():
    assert count_parameters(mlp()) == count_parameters(Net())
    wide = mlp((784, 512, 10), dropout=0.5)
    assert [type(m).__name__ for m in wide] == ["Flatten", "Linear", "ReLU", "Dropout", "Linear"]
    assert wide(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    with pytest.raises(ValueError, match="dropout must be between"):
        mlp(dropout=1.0)
    with pytest.raises(ValueError, match=r"sizes\[1\] must be an integer >= 1, got 0"):
        mlp((784, 0, 10))
    with pytest.raises(ValueError, match="at least an input and an output"):
        mlp((784,))


@pytest.mark.parametrize("make", [Net, mlp], ids=["Net", "mlp"])
def test_images_of_the_wrong_size_are_named_before_the_first_layer(make):
    model = make()
    for bad in (torch.zeros(2, 3, 32, 32), torch.zeros(2, 2, 28, 28), torch.zeros(784)):
        with pytest.raises(
            ValueError, match=r"expects a batch of images of shape \[B, 1, 28, 28\]"
        ):
            model(bad)
    assert model(torch.zeros(0, 1, 28, 28)).shape == (0, 10)  # an empty batch is fine
    with pytest.raises(ValueError, match=r"\[B, 1, 10, 10\] or \[B, 100\], got \[3, 784\]"):
        mlp((100, 10))(torch.zeros(3, 784))


def test_count_parameters_trainable_only():
    net = Net()
    net.fc1.requires_grad_(False)
    assert count_parameters(net) == 109_386 - 100_480
    assert count_parameters(net, trainable_only=False) == 109_386


def test_show_claims_prints_a_table_and_never_raises(capsys):
    verdicts = show_claims({"a beats b": True, "c is faster": 0, "d": 1.0})
    assert verdicts == {"a beats b": True, "c is faster": False, "d": True}
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].endswith("✓") and lines[2].endswith("✗")
    assert lines[-1] == "2 of 3 claims hold in this run."
