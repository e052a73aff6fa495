"""Reading a notebook's cells: tags, sources, the title. One home for what every tool parses.

The runner, the report, the student edition, the site and the grader all read notebooks; they
read tags, titles and the exercise layout through this module, so the course's anatomy
(docs/design.md) is parsed in one place.
"""

from __future__ import annotations

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


def title(nb: nbformat.NotebookNode, default: str) -> str:
    """The notebook's ``# title`` (see :func:`title_and_intro`), else ``default``."""
    return title_and_intro(nb, default)[0]
