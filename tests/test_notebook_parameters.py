"""A papermill parameter of the wrong type, out of range, or unknown stops each notebook in its
setup cell with one sentence, before any work is done.

Every notebook's parameters cell is checked in this process (it is the contract that
``setup(globals())`` reads); one notebook is run for real to show the error stops the setup cell.
"""

from __future__ import annotations

import ast

import nbformat
import papermill
import pytest
from conftest import NOTEBOOKS

from helpers._internal.params import check_parameters, parse_parameters_cell


def parameters_cell(path) -> str:
    nb = nbformat.read(path, as_version=4)
    return next(c.source for c in nb.cells if "parameters" in c.metadata.get("tags", []))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_parameter_has_a_type_from_its_default_and_a_comment(path):
    source = parameters_cell(path)
    declared = parse_parameters_cell(source)
    assert declared is not None, f"{path.stem}: a parameters line without a comment, or code"
    names = [n.targets[0].id for n in ast.parse(source).body]
    assert list(declared) == names
    assert {"seed", "device", "data_dir", "smoke", "results_dir", "threads"} <= set(declared)
    defaults = {name: p.default for name, p in declared.items()}
    check_parameters(defaults, [source])  # the committed defaults pass their own contract


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_wrong_type_a_bound_and_an_unknown_name_are_refused(path):
    source = parameters_cell(path)
    declared = parse_parameters_cell(source)
    defaults = {name: p.default for name, p in declared.items()}
    with pytest.raises(TypeError, match="seed must be int, got 'one' of type str"):
        check_parameters({**defaults, "seed": "one"}, [source, "# Parameters\nseed = 'one'\n"])
    for name, parameter in declared.items():
        for op, limit in parameter.bounds:
            bad = limit - 1 if op in ("≥", ">") else limit + 1
            bad = float(bad) if isinstance(parameter.default, float) else int(bad)
            with pytest.raises(ValueError, match=f"{name} must be"):
                check_parameters({**defaults, name: bad}, [source])
    with pytest.raises(NameError, match="unknown parameter 'sed'"):
        check_parameters(defaults, [source, "# Parameters\nsed = 1\n"])


def test_a_bad_parameter_stops_a_real_run_in_its_setup_cell(smoke_run):
    with pytest.raises(papermill.PapermillExecutionError) as err:
        smoke_run("03_data_and_training_loop", epochs=1)
    assert err.value.ename == "ValueError"
    assert "epochs must be >= 2, got 1" in err.value.evalue
    assert err.value.exec_count == 3  # the setup cell, after the parameters and injected cells
