"""Every committed notebook follows the course's anatomy (docs/design.md)."""

from __future__ import annotations

import re

import nbformat
import pytest
from conftest import NOTEBOOKS

REQUIRED_PARAMETERS = ("seed", "device", "data_dir", "smoke", "results_dir", "threads")
ABSOLUTE_PATH = re.compile(
    r"(?<![\w.])/(work|tmp|home|root|Users|var|private)/[A-Za-z]|[A-Za-z]:\\\\Users"
)
MAX_CELL_LINES = 30  # a code cell reads at a glance; harness and plotting code go to helpers
MAX_SETUP_LINES = 6  # one import line, setup(globals()), smoke mode's sizes
MAX_CLAIMS_LINES = 12  # the claims cell: show_claims({...}) and little else
MAX_SMOKE_CELLS = 5  # parameters, setup and the few cells that choose a size


def source(cell) -> str:
    return cell.source if isinstance(cell.source, str) else "".join(cell.source)


def tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def code_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


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


def test_report_figure_tags_mark_at_most_two_cells_that_draw_a_figure(nb):
    # the report shows only the first two tagged figures; a tag on a cell that draws nothing
    # would silently fall back to no figure at all for that cell
    tagged = [c for c in nb.cells if "report-figure" in tags(c)]
    assert len(tagged) <= 2, f"{len(tagged)} cells tagged 'report-figure'; the report shows 2"
    for cell in tagged:
        pngs = [o for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
        assert cell.cell_type == "code" and pngs, (
            f"a cell tagged 'report-figure' draws no figure: {source(cell)[:60]!r}"
        )


def test_short_setup_cell_with_one_setup_call(nb):
    params = next(i for i, c in enumerate(nb.cells) if "parameters" in tags(c))
    setup = nb.cells[params + 1]
    text = source(setup)
    assert setup.cell_type == "code" and "setup(globals())" in text, (
        "the cell after the parameters calls generator, dev = setup(globals())"
    )
    lines = len(text.splitlines())
    assert lines <= MAX_SETUP_LINES, f"setup cell has {lines} lines (at most {MAX_SETUP_LINES})"


def test_one_import_style_no_format_skips_and_the_python3_kernel(nb):
    assert nb.metadata["kernelspec"]["display_name"] == "Python 3 (ipykernel)"
    for cell in code_cells(nb):
        text = source(cell)
        assert "fmt: skip" not in text and "fmt: off" not in text, (
            f"write code that formats well instead of '# fmt: skip': {text[:60]!r}"
        )
        found = re.search(r"^\s*(from helpers\.\S+ import|import helpers)", text, re.M)
        assert not found, f"import from helpers as `from helpers import ...`: {found.group(0)!r}"


def test_smoke_only_where_a_size_is_chosen(nb):
    cells = [c for c in code_cells(nb) if re.search(r"\bsmoke\b", source(c))]
    assert len(cells) <= MAX_SMOKE_CELLS, (
        f"'smoke' appears in {len(cells)} code cells; keep it to the parameters cell, the setup "
        f"cell and where a size is chosen (at most {MAX_SMOKE_CELLS})"
    )


def test_clean_execution_counts_and_no_errors(nb):
    code = [c for c in code_cells(nb) if source(c).strip()]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    for cell in code:
        for out in cell.outputs:
            assert out.output_type != "error", (
                f"error output: {out.get('ename')}: {out.get('evalue')}"
            )


def test_outputs_have_no_absolute_paths_or_progress_bars(nb):
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            text = str(out)
            found = ABSOLUTE_PATH.search(text)
            assert not found, f"absolute path in output: {found and found.group(0)}"
            data = out.get("data", {})
            assert "application/vnd.jupyter.widget-view+json" not in data, (
                "progress-bar widget stored"
            )
            if out.output_type == "stream" and out.name == "stderr":
                assert "\r" not in out.text and not re.search(r"\d+%\|", out.text), (
                    "progress bar stored"
                )
    assert "papermill" not in nb.metadata and "widgets" not in nb.metadata


def test_stores_outputs_and_a_figure(nb):
    outputs = [o for c in code_cells(nb) for o in c.outputs]
    assert outputs, "committed notebooks carry outputs"
    assert any("image/png" in o.get("data", {}) for o in outputs), "no figure stored"


def test_checked_cells_are_tagged_not_commented(nb):
    assert not [c for c in nb.cells if "NBVAL_" in source(c)], "use the nbval-check-output tag"
    checked = [c for c in code_cells(nb) if "nbval-check-output" in tags(c)]
    assert len(checked) >= 3, "at least 3 cells tagged nbval-check-output"
    assert all(c.outputs for c in checked), "a checked cell must have a stored output to compare"


def test_code_cells_are_short(nb):
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and "solution" not in tags(cell):
            n = len(source(cell).splitlines())
            assert n <= MAX_CELL_LINES, f"cell [{i}] has {n} lines (at most {MAX_CELL_LINES})"


def test_every_exercise_has_prompt_stub_hidden_solution_and_check(nb):
    cells = nb.cells
    starts = [i for i, c in enumerate(cells) if "exercise" in tags(c)]
    assert len(starts) >= 3, "at least three exercises (code cells tagged 'exercise')"
    for i in starts:
        prompt = cells[i - 1]
        assert prompt.cell_type == "markdown" and re.search(r"exercise", source(prompt), re.I), (
            f"exercise at cell {i} needs a markdown prompt just before its stub"
        )
        assert 'NotImplementedError("hint:' in source(cells[i]), (
            f'the stub at cell {i} must raise NotImplementedError("hint: ...")'
        )
        heading, solution, check = cells[i + 1 : i + 4]
        assert heading.cell_type == "markdown" and "solution" in tags(heading), (
            f"exercise at cell {i}: a markdown 'Solution' heading tagged 'solution' "
            "follows the stub"
        )
        assert re.search(r"solution", source(heading), re.I)
        assert solution.cell_type == "code" and "solution" in tags(solution), (
            f"exercise at cell {i}: the solution code cell (tag 'solution') follows its heading"
        )
        assert solution.metadata.get("jupyter", {}).get("source_hidden") is True, (
            f"exercise at cell {i}: the solution is collapsed (metadata.jupyter.source_hidden)"
        )
        assert check.cell_type == "code" and not tags(check) and "assert" in source(check), (
            f"exercise at cell {i}: an untagged check cell with an assert follows the solution"
        )


def test_teachers_answers(nb):
    answers = [c for c in nb.cells if "answer" in tags(c)]
    assert answers, (
        "experiment and explain exercises have the teacher's answer (markdown, tag 'answer')"
    )
    assert all(c.cell_type == "markdown" for c in answers)


def test_claims_cell_and_one_line_results_cell(nb):
    code = code_cells(nb)
    claims = [c for c in code if "show_claims(" in source(c)]
    assert len(claims) == 1, "one claims cell calls show_claims(...)"
    lines = len(source(claims[0]).splitlines())
    assert lines <= MAX_CLAIMS_LINES, f"the claims cell has {lines} lines (at most 12)"
    last = source(code[-1]).strip()
    assert re.fullmatch(r'save_results\(results, results_dir, "(\d\d|A\d)_\w+"\)', last), (
        f"the last code cell is one line, save_results(results, results_dir, NAME); got {last!r}"
    )


def test_every_claim_holds_in_the_committed_full_run(nb):
    cell = next(c for c in code_cells(nb) if "show_claims(" in source(c))
    text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    failed = [line for line in text.splitlines() if line.rstrip().endswith("✗")]
    assert "claims hold in this run" in text, "the claims cell's stored output is the claims table"
    assert not failed, f"claims that fail in the committed run: {failed}"
