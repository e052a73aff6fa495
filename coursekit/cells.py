"""Reading a notebook's cells: tags, sources, the title. One home for what every tool parses.

The runner, the report, the student edition, the site and the grader all read notebooks; they
read tags, titles and the exercise layout through this module, so the course's anatomy
(docs/design.md) is parsed in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

PARAMETERS_TAG = "parameters"
EXERCISE_TAG = "exercise"
SOLUTION_TAG = "solution"
ANSWER_TAG = "answer"
CHECKED_TAG = "nbval-check-output"
PAPERMILL_ERROR_TAG = "papermill-error-cell-tag"


def tags(cell: Any) -> list[str]:
    """The cell's tags (an empty list when it has none)."""
    return list(cell.get("metadata", {}).get("tags", []))


def source(cell: Any) -> str:
    """The cell's source as one string (nbformat stores a string or a list of lines)."""
    text = cell.get("source", "")
    return text if isinstance(text, str) else "".join(text)


def title_and_intro(nb: nbformat.NotebookNode, default: str) -> tuple[str, str]:
    """The notebook's ``# title`` and the first paragraph after it, from its first markdown cell.

    Papermill's error banner (a markdown cell it inserts at the top of a failed run) is skipped.
    Returns ``(default, "")`` when the first markdown cell has no ``# `` heading.
    """
    for cell in nb.cells:
        if cell.cell_type != "markdown" or PAPERMILL_ERROR_TAG in tags(cell):
            continue
        lines = source(cell).strip().splitlines()
        if not lines or not lines[0].startswith("# "):
            return default, ""
        paragraphs = [p.strip() for p in "\n".join(lines[1:]).split("\n\n") if p.strip()]
        intro = next((p for p in paragraphs if not p.startswith("#")), "")
        return lines[0][2:].strip(), intro
    return default, ""


# ------------------------------------------------------------------------ the Chinese edition
CHINESE = "zh_CN"  # the Chinese edition's folder beside the English notebooks (and on the site)


def is_chinese(nb: nbformat.NotebookNode) -> bool:
    """Whether ``nb`` is a Chinese notebook (``make zh`` marks it in its metadata)."""
    return nb.metadata.get("course_translation", {}).get("language") == CHINESE


def chinese_editions(notebooks: list[Path]) -> list[Path]:
    """The Chinese edition of each notebook (``zh_CN/<same name>`` beside it) that exists."""
    found = [Path(p).parent / CHINESE / Path(p).name for p in notebooks]
    return [p for p in found if p.is_file()]


def title(nb: nbformat.NotebookNode, default: str) -> str:
    """The notebook's ``# title`` (see :func:`title_and_intro`), else ``default``."""
    return title_and_intro(nb, default)[0]


# ------------------------------------------------------------------------- the exercise layout
# JupyterLab draws a collapsed cell as a thin bar with "···": the heading says so.
SOLUTION_HEADING = (
    "**Solution**: hidden below; in JupyterLab, click the thin bar with ··· to show it"
)


def cell_id(cell: Any) -> str | None:
    """The cell's id (nbformat >= 4.5 gives every cell one), else None."""
    return cell.get("id")


def is_hidden(cell: Any) -> bool:
    """Whether JupyterLab shows the cell's source collapsed (``metadata.jupyter.source_hidden``)."""
    return bool(cell.get("metadata", {}).get("jupyter", {}).get("source_hidden", False))


@dataclass(frozen=True)
class Exercise:
    """Where one exercise's cells are in a full notebook (indices into ``nb.cells``).

    ``heading`` (the markdown "Solution" cell) and ``answer`` (the teacher's answer) are None
    when the notebook has none; the other cells every exercise has.
    """

    number: int
    prompt: int
    stub: int
    heading: int | None
    solution: int
    check: int
    answer: int | None
    kind: str
    title: str

    def removed(self) -> list[int]:
        """The cells the student edition removes: the solution, its heading, the answer."""
        return [i for i in (self.heading, self.solution, self.answer) if i is not None]


KINDS_ZH = {"实现": "Build", "实验": "Experiment", "解释": "Explain"}  # the Chinese edition's


def _prompt_title(text: str) -> tuple[str, str]:
    """The exercise's kind (Build, Experiment, Explain or "") and a one-line title, from the
    prompt's ``Exercise N`` line (``### Exercise 2 (Experiment): ...``, in Chinese
    ``### 练习 2（实验）：...``), else its first line."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    named = [line for line in lines if re.search(r"\bExercise\s+\d|练习\s*\d", line)]
    headings = [line for line in named if line.startswith(("#", "**"))]
    first = (headings or named or lines or [""])[0]
    found = re.search(r"\b(build|experiment|explain)\b|[（(](实现|实验|解释)", first, re.I)
    found = found or re.search(r"\((build|experiment|explain)\b", text, re.I)
    kind = (found.group(1) or KINDS_ZH[found.group(2)]).capitalize() if found else ""
    title = re.sub(r"^#+\s*|\*\*|`", "", first).strip()
    return kind, title if len(title) <= 80 else title[:77] + "..."


def exercises(nb: nbformat.NotebookNode) -> list[Exercise]:
    """The exercises of a full notebook, in order, parsed from the layout in docs/design.md.

    Each exercise is: a markdown prompt naming the "Exercise", the stub (code, tag ``exercise``),
    optional markdown hints, the "Solution" heading (markdown, tag ``solution``; older notebooks
    have none), the solution (code, tag ``solution``), the check (untagged code) and, for
    experiment and explain exercises, the teacher's answer (markdown, tag ``answer``).
    ``ValueError`` names the first cell that breaks the layout, so every tool refuses the same
    notebooks with the same message.
    """
    cells, found, claimed = nb.cells, [], set()

    def at(i: int) -> Any:
        return cells[i] if i < len(cells) else None

    for i, cell in enumerate(cells):
        if EXERCISE_TAG not in tags(cell):
            continue
        where = f"exercise {len(found) + 1} (stub at cell {i})"
        if cell.cell_type != "code":
            raise ValueError(f"cell {i} is tagged 'exercise' but is not a code cell")
        prompt = at(i - 1) if i else None
        if (
            prompt is None
            or prompt.cell_type != "markdown"
            or {SOLUTION_TAG, ANSWER_TAG} & set(tags(prompt))
            or not re.search("exercise|练习", source(prompt).lower())
        ):
            raise ValueError(
                f"{where}: cell {i - 1} must be its markdown prompt naming the Exercise"
            )
        j = i + 1
        while at(j) is not None and at(j).cell_type == "markdown" and not tags(at(j)):
            j += 1  # longer hints
        heading = None
        if at(j) is not None and at(j).cell_type == "markdown" and SOLUTION_TAG in tags(at(j)):
            heading, j = j, j + 1
        if at(j) is None or at(j).cell_type != "code" or SOLUTION_TAG not in tags(at(j)):
            raise ValueError(f"{where}: cell {j} must be its solution (code, tag 'solution')")
        solution = j
        check = at(j + 1)
        if (
            check is None
            or check.cell_type != "code"
            or {EXERCISE_TAG, SOLUTION_TAG, ANSWER_TAG} & set(tags(check))
        ):
            raise ValueError(f"{where}: cell {j + 1} must be its check (code, untagged)")
        answer = None
        if at(j + 2) is not None and ANSWER_TAG in tags(at(j + 2)):
            if at(j + 2).cell_type != "markdown":
                raise ValueError(f"{where}: its answer, cell {j + 2}, must be a markdown cell")
            answer = j + 2
        kind, name = _prompt_title(source(prompt))
        ex = Exercise(len(found) + 1, i - 1, i, heading, solution, j + 1, answer, kind, name)
        found.append(ex)
        claimed.update(ex.removed())
    for i, cell in enumerate(cells):
        if i not in claimed and {SOLUTION_TAG, ANSWER_TAG} & set(tags(cell)):
            role = SOLUTION_TAG if SOLUTION_TAG in tags(cell) else ANSWER_TAG
            raise ValueError(
                f"cell {i} is tagged '{role}' but belongs to no exercise (prompt, stub tagged "
                f"'exercise', solution, check{', answer' if role == ANSWER_TAG else ''})"
            )
    return found


def layout_problems(nb: nbformat.NotebookNode) -> list[str]:
    """What keeps a full notebook from the complete exercise anatomy of docs/design.md; empty when
    it follows it: parseable exercises, each with a "Solution" heading and its solution
    collapsed."""
    try:
        found = exercises(nb)
    except ValueError as err:
        return [str(err)]
    if not found:
        return ["no exercises (no cell tagged 'exercise')"]
    problems = []
    for ex in found:
        if ex.heading is None:
            problems.append(
                f"exercise {ex.number}: no 'Solution' heading (markdown, tag 'solution')"
            )
        if not is_hidden(nb.cells[ex.solution]):
            problems.append(
                f"exercise {ex.number}: its solution, cell {ex.solution}, is not "
                "collapsed (metadata.jupyter.source_hidden)"
            )
        if cell_id(nb.cells[ex.stub]) is None or cell_id(nb.cells[ex.check]) is None:
            problems.append(f"exercise {ex.number}: cells without ids (nbformat < 4.5)")
    return problems
