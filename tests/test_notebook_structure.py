"""Every committed notebook follows the course's anatomy (see CONTRIBUTING.md)."""

from __future__ import annotations

import re

import nbformat
import pytest

from conftest import NOTEBOOKS

REQUIRED_PARAMETERS = ("seed", "device", "data_dir", "smoke", "results_dir")
ABSOLUTE_PATH = re.compile(r"(?<![\w.])/(work|tmp|home|root|Users|var|private)/[A-Za-z]|[A-Za-z]:\\\\Users")


def source(cell) -> str:
    return cell.source if isinstance(cell.source, str) else "".join(cell.source)


def tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


@pytest.fixture(params=NOTEBOOKS, ids=lambda p: p.stem)
def nb(request):
    return nbformat.read(request.param, as_version=4)


def test_there_are_notebooks():
    assert [p.stem[:2] for p in NOTEBOOKS][:1] == ["01"]


def test_title_and_objectives(nb):
    first = nb.cells[0]
    assert first.cell_type == "markdown" and source(first).lstrip().startswith("# ")
    head = " ".join(source(c) for c in nb.cells[:4] if c.cell_type == "markdown")
    assert re.search(r"objectives", head, re.I), "learning objectives must be in the first cells"


def test_one_parameters_cell_near_the_top_with_every_knob(nb):
    params = [i for i, c in enumerate(nb.cells) if "parameters" in tags(c)]
    assert len(params) == 1, f"want exactly one cell tagged 'parameters', got {len(params)}"
    assert params[0] < 6, "the parameters cell belongs near the top"
    text = source(nb.cells[params[0]])
    for name in REQUIRED_PARAMETERS:
        assert re.search(rf"^{name}\s*=", text, re.M), f"parameters cell lacks {name}"
    assert re.search(r"^smoke\s*=\s*False", text, re.M), "committed default must be smoke = False"


def test_clean_execution_counts_and_no_errors(nb):
    code = [c for c in nb.cells if c.cell_type == "code" and source(c).strip()]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    for cell in code:
        for out in cell.outputs:
            assert out.output_type != "error", f"error output: {out.get('ename')}: {out.get('evalue')}"


def test_outputs_have_no_absolute_paths_or_progress_bars(nb):
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            text = str(out)
            assert not ABSOLUTE_PATH.search(text), f"absolute path in output: {ABSOLUTE_PATH.search(text).group(0)}"
            assert "application/vnd.jupyter.widget-view+json" not in out.get("data", {}), "progress-bar widget stored"
            if out.output_type == "stream" and out.name == "stderr":
                assert "\r" not in out.text and not re.search(r"\d+%\|", out.text), "progress bar text stored"
    assert "papermill" not in nb.metadata and "widgets" not in nb.metadata


def test_stores_outputs_and_a_figure(nb):
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert outputs, "committed notebooks carry outputs"
    assert any("image/png" in o.get("data", {}) for o in outputs), "no figure stored"


def test_checked_cells(nb):
    checked = [c for c in nb.cells if c.cell_type == "code" and "# NBVAL_CHECK_OUTPUT" in source(c)]
    assert len(checked) >= 3, "at least 3 cells marked # NBVAL_CHECK_OUTPUT"
    assert all(c.outputs for c in checked), "a checked cell must have a stored output to compare"


def test_every_exercise_has_stub_solution_and_check(nb):
    cells = nb.cells
    starts = [i for i, c in enumerate(cells) if "exercise" in tags(c)]
    assert len(starts) >= 2, "at least two exercises (code cells tagged 'exercise')"
    for n, i in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(cells)
        block = cells[i:end]
        assert cells[i - 1].cell_type == "markdown" and re.search(r"exercise", source(cells[i - 1]), re.I), \
            f"exercise at cell {i} needs a markdown prompt just before its stub"
        assert "NotImplementedError" in source(cells[i]), f"stub at cell {i} must raise NotImplementedError"
        solutions = [c for c in block if "solution" in tags(c)]
        assert solutions, f"exercise at cell {i} has no cell tagged 'solution'"
        after = block[block.index(solutions[0]) + 1:]
        assert any(c.cell_type == "code" and "assert" in source(c) for c in [solutions[0], *after]), \
            f"exercise at cell {i} has no check (assert) after its solution"


def test_last_code_cell_records_results(nb):
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "save_results(" in source(code[-1]), "the last code cell records the headline numbers"
