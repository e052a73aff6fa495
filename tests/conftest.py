"""Shared fixtures: the data root, and papermill smoke runs cached per test session."""

from __future__ import annotations

import json
import os
from typing import Any

import matplotlib
import pytest

from helpers._internal.paths import NOTEBOOKS as NOTEBOOK_DIR
from helpers._internal.paths import ROOT

matplotlib.use("Agg")
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb")) + sorted(
    NOTEBOOK_DIR.glob("A[0-9]_*.ipynb")
)

# Tests need MNIST. Point at it with COURSE_DATA_DIR (CI: ../shared/data); without it, use
# <project>/data if it has MNIST, else the read-only copy beside the project when there is one.
if not os.environ.get("COURSE_DATA_DIR") and not (ROOT / "data" / "MNIST").is_dir():
    if (ROOT.parent / "shared" / "data" / "MNIST").is_dir():
        os.environ["COURSE_DATA_DIR"] = str(ROOT.parent / "shared" / "data")


# Under pytest-xdist each worker is one of several processes sharing the cores with the
# notebooks' kernels; torch's default of one thread per core then makes every operation of a
# unit test wait for a thread whose core is busy (a 1-second training test took 10 s). One
# thread per worker, as `helpers._internal.machine` would choose on a busy machine. Kernels
# that the tests start choose their own threads in their setup cell.
if os.environ.get("PYTEST_XDIST_WORKER"):
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def data_dir() -> str:
    """The MNIST root the tests read (skips cleanly if there is none)."""
    from helpers.data import data_root

    root = data_root()
    if not (root / "MNIST" / "raw").is_dir():
        pytest.skip(f"MNIST not found under {root}; set COURSE_DATA_DIR")
    return str(root)


@pytest.fixture(scope="session")
def mnist_splits(data_dir):
    """The default train/validation/test split, loaded once per session."""
    import helpers

    return helpers.mnist_splits(data_dir)


_SMOKE_CACHE: dict[str, tuple[dict[str, Any], Any]] = {}
_RECORDS: dict[str, dict[str, Any]] = {}


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory, data_dir):
    """``smoke_run("03_training")`` -> (recorded results dict, executed notebook), run once per
    session: every test that reads a notebook's smoke run reads this one execution.

    Executes the committed notebook with papermill, ``smoke=True`` and ``results_dir`` in a temp
    folder, instrumented by ``course_smoke.instrument`` (wrong answers tried against the checks,
    figure colours recorded: see ``smoke_record``); a failing cell fails the test with
    papermill's error.
    """
    import course_smoke
    import nbformat
    import papermill

    from coursekit.run import course_engine

    def run(stem: str, **parameters: Any) -> tuple[dict[str, Any], Any]:
        key = stem + json.dumps(parameters, sort_keys=True)
        if key not in _SMOKE_CACHE:
            out = tmp_path_factory.mktemp(f"smoke-{stem}")
            source = nbformat.read(NOTEBOOK_DIR / f"{stem}.ipynb", as_version=4)
            nbformat.write(course_smoke.instrument(source, stem, out), out / "input.ipynb")
            papermill.execute_notebook(
                str(out / "input.ipynb"),
                str(out / f"{stem}.ipynb"),
                parameters={"smoke": True, "results_dir": str(out), **parameters},
                cwd=str(NOTEBOOK_DIR),
                progress_bar=False,
                kernel_name="python3",
                engine_name=course_engine(),  # papermill's, writing the notebook less often
            )
            results = json.loads((out / f"{stem}.json").read_text())
            executed = course_smoke.strip(nbformat.read(out / f"{stem}.ipynb", as_version=4))
            _SMOKE_CACHE[key] = (results, executed)
            _RECORDS[key] = course_smoke.read_record(out)
        return _SMOKE_CACHE[key]

    return run


@pytest.fixture(scope="session")
def smoke_record(smoke_run):
    """``smoke_record("03_...")`` -> what the instrumented default smoke run found: ``{"wrong":
    {exercise: {mistake: verdict}}, "colours": [(artist kind, colour), ...]}``."""

    def record(stem: str) -> dict[str, Any]:
        smoke_run(stem)
        return _RECORDS[stem + json.dumps({}, sort_keys=True)]

    return record


def outputs_of(nb, marker: str) -> str:
    """The stream text of the first code cell whose source contains ``marker``."""
    cell = next(c for c in nb.cells if c.cell_type == "code" and marker in c.source)
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def _uses_module_fixture(item) -> bool:
    """True if the test uses a fixture of module scope (set up once per module and worker)."""
    info = getattr(item, "_fixtureinfo", None)
    defs = getattr(info, "name2fixturedefs", {}) or {}
    return any(d.scope == "module" for chain in defs.values() for d in chain)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (``make test`` runs ``-n 2 --dist loadgroup``), keep every test that
    reads a notebook's cached smoke run on one worker, so each notebook runs once per session:
    the group is the notebook's number, from the test's ``path`` parameter or its file name.
    Likewise, all the tests of a module with a module-scoped fixture (the grader's graded folder,
    the browser) stay on one worker, in order, so that fixture is set up once, not once per
    worker or once per interruption by another module's test."""
    shared = {item.path for item in items if _uses_module_fixture(item)}
    for item in items:
        names = getattr(item, "fixturenames", ())
        if {"smoke_run", "smoke_record", "graded"} & set(names):
            item.add_marker(pytest.mark.slow)  # it executes a notebook (graded: a class of them)
        if "smoke_run" not in names and "smoke_record" not in names:
            if item.path in shared:
                item.add_marker(pytest.mark.xdist_group(f"module-{item.path.stem}"))
            continue
        path = getattr(getattr(item, "callspec", None), "params", {}).get("path")
        number = path.stem[:2] if path is not None else None
        name = item.path.name
        if number is None and name.startswith("test_nb") and name[7:9].isalnum():
            number = name[7:9]
        if number is not None:
            item.add_marker(pytest.mark.xdist_group(f"notebook-{number}"))


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    """Fail loudly if pytest-xdist's loadgroup ignored the groups above (pytest 9.2 renamed the
    attribute that xdist 3.8 writes the group into): every notebook would then run on both
    workers, and the suite would take twice as long without saying why."""
    config = session.config
    grouped = [i for i in session.items if i.get_closest_marker("xdist_group")]
    if getattr(config, "workerinput", None) and config.getvalue("loadgroup") and grouped:
        if not any("@" in i.nodeid for i in grouped):
            raise pytest.UsageError(
                "pytest-xdist's --dist loadgroup did not group the tests with this pytest "
                f"({pytest.__version__}); install the versions pyproject.toml asks for "
                "(pip install -e '.[test]')"
            )
