"""The student edition (``make student``): solutions removed, everything else intact, and in smoke
mode the only errors are the exercise stubs' ``NotImplementedError``.

Every student notebook is executed with papermill carrying on past errors (``allow_errors``), so
each exercise's check cell is seen to raise from its stub and no other cell may fail.
"""

from __future__ import annotations

import copy

import nbformat
import pytest
from conftest import NOTEBOOKS

from coursekit import student
from coursekit.student import (
    NOTE_TAG,
    exercises,
    raising_cell,
    student_notebook,
    student_run_problems,
)

STUB = 'def double(x):\n    """Twice x."""\n    raise NotImplementedError("hint: multiply by 2")'
SOLUTION = 'def double(x):\n    """Twice x."""\n    return 2 * x'


def code(source: str, *tags: str, outputs: list | None = None) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    if tags:
        cell.metadata["tags"] = list(tags)
    cell.outputs = outputs or []
    return cell


def exercise_notebook(after: list[str] = ()) -> nbformat.NotebookNode:
    """Parameters, two exercises (prompt / stub / solution / check), then the cells ``after``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 01 · Test\n\nText."),
        code("seed = 0\nsmoke = False", "parameters"),
        code(
            "print('setup')",
            outputs=[nbformat.v4.new_output("stream", name="stdout", text="setup\n")],
        ),
        nbformat.v4.new_markdown_cell("### Exercise 1\nWrite `double`."),
        code(STUB, "exercise"),
        code(
            SOLUTION,
            "solution",
            outputs=[nbformat.v4.new_output("stream", name="stdout", text="secret\n")],
        ),
        code("assert double(2) == 4\nprint('ok')"),
        nbformat.v4.new_markdown_cell("### Exercise 2\nWrite `Halver`."),
        code(
            "class Halver:\n    def __call__(self, x):\n"
            '        raise NotImplementedError("hint: x / 2")',
            "exercise",
        ),
        code("class Halver:\n    def __call__(self, x):\n        return x / 2", "solution"),
        code("assert Halver()(4) == 2"),
        *[code(src) for src in after],
    ]
    return nb


# --------------------------------------------------------------------------- building the edition
def test_solutions_are_replaced_by_a_note_and_everything_else_is_kept():
    nb = exercise_notebook()
    original = copy.deepcopy(nb)
    edition = student_notebook(nb)
    assert nb == original, "the input notebook is not modified"
    assert len(edition.cells) == len(nb.cells)
    for before, after in zip(nb.cells, edition.cells):
        if "solution" in before.metadata.get("tags", []):
            assert after.cell_type == "markdown" and after.metadata["tags"] == [NOTE_TAG]
            assert "complete the stub above" in after.source and "outputs" not in after
        else:
            assert after == before
    text = nbformat.writes(edition)
    assert "return 2 * x" not in text and "secret" not in text and "return x / 2" not in text


def test_exercises_are_found_and_a_solution_without_stub_is_refused():
    nb = exercise_notebook()
    assert [(e.stub, e.solution, e.check) for e in exercises(nb)] == [(4, 5, 6), (8, 9, 10)]
    del nb.cells[8]  # the second stub
    with pytest.raises(
        ValueError, match="cell 8 is tagged 'solution' but no cell tagged 'exercise'"
    ):
        exercises(nb)


def test_cli_writes_the_edition(tmp_path, capsys):
    (tmp_path / "nbs").mkdir()
    nbformat.write(exercise_notebook(), tmp_path / "nbs" / "01_test.ipynb")
    assert (
        student.main(["--notebooks", str(tmp_path / "nbs"), "--out", str(tmp_path / "student")])
        == 0
    )
    assert "01_test.ipynb: 2 solution(s) removed" in capsys.readouterr().out
    edition = nbformat.read(tmp_path / "student" / "01_test.ipynb", as_version=4)
    assert sum(NOTE_TAG in c.metadata.get("tags", []) for c in edition.cells) == 2
    assert student.main(["--notebooks", str(tmp_path / "nbs"), "--only", "07"]) == 2


# ---------------------------------------------------------------------- judging an executed edition
ANSI_TRACEBACK = [
    "\x1b[31m---------------------------------------------------------------------------\x1b[39m",
    "\x1b[31mNotImplementedError\x1b[39m                       Traceback (most recent call last)",
    "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[7]\x1b[39m\x1b[32m, line 1\x1b[39m"
    "\n----> 1 double(2)\n",
    "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[5]\x1b[39m\x1b[32m, line 3\x1b[39m"
    ", in \x1b[36mdouble\x1b[39m(x)\n",
    "\x1b[31mNotImplementedError\x1b[39m: hint: multiply by 2",
]


def test_raising_cell_is_the_last_notebook_frame_of_the_traceback():
    assert raising_cell({"traceback": ANSI_TRACEBACK}) == 5
    library = ANSI_TRACEBACK[:4] + [
        "File ~/site-packages/torch/nn/modules/module.py:1736, in Module._call_impl\n",
        ANSI_TRACEBACK[4],
    ]
    assert raising_cell({"traceback": library}) is None
    assert raising_cell({"traceback": []}) is None


def error(ename: str, traceback_cells: list[int]) -> nbformat.NotebookNode:
    frames = [f"Cell In[{n}], line 1\n" for n in traceback_cells]
    return nbformat.v4.new_output(
        "error", ename=ename, evalue="x", traceback=["---", "header", *frames, f"{ename}: x"]
    )


def executed(check_outputs: tuple, later: list | None = None) -> nbformat.NotebookNode:
    """An executed one-exercise student notebook: stub [1], note, check [2], later cell [3]."""
    nb = nbformat.v4.new_notebook()
    stub, check, after = code(STUB, "exercise"), code("double(2)"), code("later()")
    stub.execution_count, check.execution_count, after.execution_count = 1, 2, 3
    check.outputs, after.outputs = list(check_outputs), later or []
    note = nbformat.v4.new_markdown_cell(student.NOTE)
    note.metadata["tags"] = [NOTE_TAG]
    nb.cells = [stub, note, check, after]
    return nb


def test_only_stub_errors_are_accepted():
    assert student_run_problems(executed([error("NotImplementedError", [2, 1])])) == []
    # a later cell that needs the solution
    problems = student_run_problems(
        executed([error("NotImplementedError", [2, 1])], [error("NameError", [3])])
    )
    assert problems == ["cell [3]: NameError: x (not an exercise stub's NotImplementedError)"]
    # NotImplementedError, but raised by the check cell itself, not by the stub
    problems = student_run_problems(executed([error("NotImplementedError", [2])]))
    assert problems[0] == "cell [2]: NotImplementedError: x (raised outside the exercise stubs)"
    assert (
        "exercise 1: its check, cell [2], did not raise the stub's NotImplementedError"
        in problems[1]
    )
    # a check that passes without the solution checks nothing
    assert "did not raise" in student_run_problems(executed([]))[0]


def test_a_real_run_accepts_stubs_and_catches_a_cell_that_needs_a_solution(tmp_path):
    good = student_notebook(exercise_notebook(after=["print(smoke)"]))
    bad = student_notebook(exercise_notebook(after=["y = double(3)", "print(y + 1)"]))
    nbformat.write(good, tmp_path / "good.ipynb")
    nbformat.write(bad, tmp_path / "bad.ipynb")
    ran = student.run_student_notebook(tmp_path / "good.ipynb", tmp_path / "good-out.ipynb")
    assert student_run_problems(ran) == []
    assert ran.cells[-1].outputs[0].text == "True\n", "smoke=True reached the notebook"
    problems = student_run_problems(
        student.run_student_notebook(tmp_path / "bad.ipynb", tmp_path / "bad-out.ipynb")
    )
    # double(3) raises from the stub (accepted); the next cell fails on the missing y
    # executed: parameters [1], injected [2], setup [3], stub [4], check [5], stub [6], check [7],
    # y = [8]
    assert problems == [
        "cell [9]: NameError: name 'y' is not defined (not an exercise stub's NotImplementedError)"
    ]


# --------------------------------------------------------------------------- the course's notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_student_edition_runs_with_only_the_stubs_failing(path, tmp_path, data_dir):
    original = nbformat.read(path, as_version=4)
    [edition_path] = student.write_student_edition([path], tmp_path / "student")
    edition = nbformat.read(edition_path, as_version=4)
    solutions = [c for c in original.cells if "solution" in c.metadata.get("tags", [])]
    assert solutions and sum(NOTE_TAG in c.metadata.get("tags", []) for c in edition.cells) == len(
        solutions
    )
    assert not any("solution" in c.metadata.get("tags", []) for c in edition.cells)
    ran = student.run_student_notebook(
        edition_path, tmp_path / "executed.ipynb", {"smoke": True, "data_dir": data_dir}
    )
    assert student_run_problems(ran) == []
