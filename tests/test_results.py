"""Recording results (helpers.results; the models: test_models.py)."""

from __future__ import annotations

import json
import math
import time

import pytest
import torch
from torch import nn

from helpers import runtime
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


def test_show_claims_prints_a_table_and_never_raises(capsys):
    verdicts = show_claims({"a beats b": True, "c is faster": 0, "d": 1.0})
    assert verdicts == {"a beats b": True, "c is faster": False, "d": True}
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].endswith("✓") and lines[2].endswith("✗")
    assert lines[-1] == "2 of 3 claims hold in this run."
