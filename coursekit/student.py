"""The student edition: the course without solutions, ``python -m coursekit.student`` (``make
student``).

    python -m coursekit.student                  # build/student/NN_name.ipynb for every notebook
    python -m coursekit.student --only 03 --check

Each exercise in a notebook is four cells (see CONTRIBUTING.md): a markdown prompt, the stub
(tagged ``exercise``; its functions raise ``NotImplementedError("hint: ...")``), the solution
(tagged ``solution``) and an untagged check cell with asserts. The student edition drops every
solution cell and its outputs, leaving a one-line note (tagged ``solution-removed``) in its place,
so the stub is what the check cell calls; every other cell, outputs included, is kept as it is.

``--check`` runs each student notebook in smoke mode (papermill, carrying on past errors) and
verifies that every error is a ``NotImplementedError`` raised inside an exercise stub and that
every exercise's check cell raised one: anything else means the edition is broken, for example
a later cell that needs a solution.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from .run import selected_notebooks, write_atomic

PROJECT_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = PROJECT_ROOT / "notebooks"
STUDENT = PROJECT_ROOT / "build" / "student"
EXERCISE_TAG, SOLUTION_TAG, NOTE_TAG = "exercise", "solution", "solution-removed"
NOTE = (
    "*Solution removed in the student edition: complete the stub above (it raises "
    "`NotImplementedError` until you do); the next cell checks your answer.*"
)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_FRAME = re.compile(r"^\s*(?:(?:Cell|Input) In\s*\[(\d+)\]|File\s)")
_PAPERMILL_ERROR_TAG = "papermill-error-cell-tag"


def _tags(cell: Any) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


@dataclass(frozen=True)
class Exercise:
    """Cell indices of one exercise: its stub, its solution and the first code cell after the
    solution."""

    stub: int
    solution: int
    check: int | None


def exercises(nb: nbformat.NotebookNode) -> list[Exercise]:
    """The exercises of a notebook, in order; ``ValueError`` if a solution cell has no stub
    before it."""
    found, stub = [], None
    for i, cell in enumerate(nb.cells):
        tags = _tags(cell)
        if EXERCISE_TAG in tags:
            stub = i
        if SOLUTION_TAG in tags:
            if stub is None:
                raise ValueError(
                    f"cell {i} is tagged 'solution' but no cell tagged 'exercise' (the stub) "
                    f"comes before it since the previous solution"
                )
            check = next(
                (j for j in range(i + 1, len(nb.cells)) if nb.cells[j].cell_type == "code"), None
            )
            found.append(Exercise(stub, i, check))
            stub = None
    return found


def student_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` with every solution cell (and its outputs) replaced by a short markdown
    note."""
    solutions = {ex.solution for ex in exercises(nb)}
    out = copy.deepcopy(nb)
    cells = []
    for i, cell in enumerate(out.cells):
        if i in solutions:
            note = nbformat.v4.new_markdown_cell(NOTE)
            note.metadata["tags"] = [NOTE_TAG]
            cells.append(note)
        else:
            cells.append(cell)
    out.cells = cells
    return out


def write_student_edition(notebooks: list[Path], out_dir: Path) -> list[Path]:
    """Write the student edition of each notebook to ``out_dir/<same name>``; return the paths
    written."""
    written = []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        try:
            student = student_notebook(nb)
        except ValueError as err:
            raise ValueError(f"{path.name}: {err}") from None
        target = Path(out_dir) / path.name
        write_atomic(student, target)
        written.append(target)
    return written


# --------------------------------------------------------------------- checking an executed edition
def raising_cell(output: dict[str, Any]) -> int | None:
    """The execution count of the notebook cell whose code raised an error output, from its
    traceback.

    IPython names a frame in notebook code ``Cell In[7], line 3``; the last frame is where the
    exception was raised. None when that frame is not notebook code (a library) or is unknown.
    """
    frames = []
    for entry in output.get("traceback", []):
        for line in _ANSI.sub("", entry).splitlines():
            match = _FRAME.match(line)
            if match:
                frames.append(match.group(1))
    if not frames or frames[-1] is None:
        return None
    return int(frames[-1])


def student_run_problems(executed: nbformat.NotebookNode) -> list[str]:
    """What is wrong with an executed student notebook (run with errors allowed); empty when all is
    well.

    Accepted: a ``NotImplementedError`` raised inside a cell tagged ``exercise``. Required: every
    exercise's check (the first code cell after the note that replaced the solution) raised one.
    """
    cells = [c for c in executed.cells if _PAPERMILL_ERROR_TAG not in _tags(c)]
    stubs = {c.execution_count for c in cells if EXERCISE_TAG in _tags(c) and c.cell_type == "code"}
    problems, accepted = [], set()
    for i, cell in enumerate(cells):
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if out.get("output_type") != "error":
                continue
            origin = raising_cell(out)
            if out.get("ename") == "NotImplementedError" and origin in stubs:
                accepted.add(i)
                continue
            where = f"cell [{cell.get('execution_count')}]"
            why = (
                "raised outside the exercise stubs"
                if out.get("ename") == "NotImplementedError"
                else "not an exercise stub's NotImplementedError"
            )
            evalue = str(out.get("evalue")).splitlines()[0] if out.get("evalue") else ""
            problems.append(f"{where}: {out.get('ename')}: {evalue} ({why})")
    for k, i in enumerate(i for i, c in enumerate(cells) if NOTE_TAG in _tags(c)):
        check = next((j for j in range(i + 1, len(cells)) if cells[j].cell_type == "code"), None)
        if check is None:
            problems.append(f"exercise {k + 1}: no check cell after the removed solution")
        elif check not in accepted:
            problems.append(
                f"exercise {k + 1}: its check, cell [{cells[check].get('execution_count')}], "
                "did not raise "
                f"the stub's NotImplementedError (does it call the function of the stub?)"
            )
    return problems


def run_student_notebook(
    path: Path, out_path: Path, parameters: dict[str, Any] | None = None, timeout: int = 600
) -> nbformat.NotebookNode:
    """Execute a student notebook with papermill, carrying on past errors; return the executed
    notebook.

    ``parameters`` default to ``{"smoke": True}``. Papermill's error-marker cells are removed.
    """
    import papermill

    params = {"smoke": True} if parameters is None else parameters
    try:
        papermill.execute_notebook(
            str(path),
            str(out_path),
            parameters=params or None,
            cwd=str(Path(path).parent),
            progress_bar=False,
            kernel_name="python3",
            allow_errors=True,
            execution_timeout=timeout,
        )
    except papermill.PapermillExecutionError:
        pass  # inspected below, every error at once
    nb = nbformat.read(out_path, as_version=4)
    nb.cells = [c for c in nb.cells if _PAPERMILL_ERROR_TAG not in _tags(c)]
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m coursekit.student", description=" ".join(__doc__.split("\n\n")[0].split())
    )
    parser.add_argument(
        "--notebooks", type=Path, default=NOTEBOOKS, help="the folder of NN_name.ipynb notebooks"
    )
    parser.add_argument(
        "--out", type=Path, default=STUDENT, help="where the student edition goes (build/student/)"
    )
    parser.add_argument(
        "--only", nargs="+", metavar="NN", help="only notebooks whose names start with these"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="run each student notebook in smoke mode and check that only exercise stubs fail",
    )
    args = parser.parse_args(argv)
    try:
        written = write_student_edition(selected_notebooks(args.only, args.notebooks), args.out)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for path in written:
        count = sum(NOTE_TAG in _tags(c) for c in nbformat.read(path, as_version=4).cells)
        print(f"{path}: {count} solution(s) removed")
    if not args.check:
        return 0
    broken = 0
    with tempfile.TemporaryDirectory() as tmp:
        for path in written:
            problems = student_run_problems(run_student_notebook(path, Path(tmp) / path.name))
            broken += bool(problems)
            print(
                f"{path.stem}: "
                + (
                    "ok, only the exercise stubs raise"
                    if not problems
                    else "BROKEN\n  " + "\n  ".join(problems)
                ),
                flush=True,
            )
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
