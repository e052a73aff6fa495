"""Judge one graded submission: its report from the course's checks and the student's run
(:func:`prepare_submission` before the run, :func:`finish` after it). :mod:`coursekit.grade` and
the Dask workers' driver :mod:`coursekit.grade_dask` both use it; it imports neither."""

from __future__ import annotations

import hashlib
import traceback
from datetime import datetime, timezone
from typing import Any

import nbformat

from . import cells, grade_guard
from .grade_match import GRADE, Prepared, Reference, identify, prepare

STATUSES = ("passed", "incomplete", "failed", "not attempted", "timed out", "copied")
MARKS = {
    "passed": "✓",
    "incomplete": "◐",
    "failed": "✗",
    "not attempted": "–",
    "timed out": "⏱",
    "copied": "⚠",
}
_TIMEOUT_ERROR = "KeyboardInterrupt"  # what a cell interrupted at the per-cell timeout raises


def _first_line(text: Any) -> str:
    lines = [line for line in str(text or "").splitlines() if line.strip()]
    return lines[0].strip() if lines else ""


def new_report(name: str, data: bytes) -> dict[str, Any]:
    """An empty report for the submission ``name`` (its path under the submissions folder)."""
    return {
        "submission": name,
        "student": "",
        "notebook": "",
        "exercises": [],
        "problem": "",
        "notes": [],
        "tampering": [],
        "sha256": hashlib.sha256(data).hexdigest(),
        "work": "",
        "seconds": 0.0,
        "graded": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def prepare_submission(
    data: bytes,
    name: str,
    references: dict[str, Reference],
    parameters: dict[str, Any] | None = None,
    figures: bool = False,
) -> tuple[dict[str, Any], Prepared | None]:
    """Read a submitted file (its bytes) and build the notebook to run; ``(report, None)`` when
    there is nothing to run (``report["problem"]`` says why). Never raises for bad input."""
    report = new_report(name, data)
    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        if not isinstance(nb.get("cells"), list):
            raise ValueError("it has no cells")
    except Exception as err:  # not UTF-8, not JSON, not a notebook
        reason = _first_line(err) or type(err).__name__
        report["problem"] = f"not a notebook: {reason[:200]}"
        return report, None
    stem = identify(nb, references)
    if stem is None:
        report["problem"] = (
            "not a notebook of this course: neither its cell ids nor its cells' text match a "
            "course notebook (start from the student edition and keep its cells)"
        )
        return report, None
    report["notebook"] = stem
    try:
        params = {"smoke": True, **(parameters or {})}
        prepared = prepare(nb, references[stem], params, figures=figures)
    except Exception as err:  # a bug of the grader's: this submission's line says so
        traceback.print_exc()
        report["problem"] = f"the grader failed on it: {type(err).__name__}: {err}"[:300]
        return report, None
    report["work"] = prepared.work_key
    return report, prepared


def describe(error: dict[str, Any]) -> str:
    """``AssertionError: the loss must fall`` on one line; the failing line when there is no
    message."""
    message = _first_line(error.get("evalue"))
    if not message:
        line = error.get("line", "")
        return f"{error.get('ename')} at `{line}`" if line else str(error.get("ename"))
    return f"{error.get('ename')}: {message}"[:300]


def _records(cell: Any, kind: str) -> list[dict[str, Any]]:
    return [
        o["data"][grade_guard.MIME]
        for o in cell.get("outputs", [])
        if o.get("output_type") == "display_data"
        and grade_guard.MIME in o.get("data", {})
        and o["data"][grade_guard.MIME].get("kind") == kind
    ]


def _error(cell: Any) -> dict[str, Any] | None:
    return next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)


def _cell_label(cell: Any, executed: Any) -> str:
    meta = cell.get("metadata", {}).get(GRADE, {})
    first = _first_line(cells.source(cell))
    first = first if len(first) <= 50 else first[:47] + "..."
    if meta.get("role") == "stub":
        return f"exercise {meta.get('exercise')}'s stub"
    if meta.get("role") == "student" and meta.get("source") is not None:
        return f"your cell {meta['source'] + 1} (`{first}`)"
    return f"the course's cell `{first}`"


def judge(
    executed: nbformat.NotebookNode | None, prepared: Prepared, ref: Reference, stopped: str
) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """Each exercise's result in the executed notebook, the notes on other cells that failed,
    and what the guard found the submission changed."""
    checks, tampering, notes = {}, [], []
    for cell in executed.cells if executed is not None else []:
        meta = cell.get("metadata", {}).get(GRADE, {})
        role = meta.get("role")
        if role == "check":
            checks[meta["exercise"]] = cell
            continue
        for record in _records(cell, "tampering"):
            if record["changed"]:
                tampering.append(
                    f"{record['cell']}: changed {', '.join(record['changed'])} (put back: the "
                    "checks ran with the originals)"
                )
            if record["rebound"]:
                notes.append(
                    f"{record['cell']} rebound {', '.join(record['rebound'])}, which the checks "
                    "read (they used the course's values)"
                )
        error = _error(cell) if cell.get("cell_type") == "code" else None
        if error is None:
            continue
        if role in ("before", "after", "keep", "start"):
            tampering.append(
                f"the grader's guard failed ({error.get('ename')}): the submission interfered "
                "with it"
            )
        elif error.get("ename") == _TIMEOUT_ERROR:
            notes.append(f"{_cell_label(cell, executed)} ran past the per-cell timeout")
        else:
            notes.append(f"{_cell_label(cell, executed)} raised {describe(error)}")
    results = []
    for part in ref.parts:
        row = {
            "number": part.number,
            "kind": part.kind,
            "title": part.title,
            "max_points": part.points,
            "points": 0.0,
            "status": "failed",
            "detail": "",
            "answer": prepared.answers.get(part.number),
        }
        cell = checks.get(part.number)
        records = _records(cell, "verdict") if cell is not None else []
        if not records and (cell is None or cell.get("execution_count") is None):
            row.update(
                status="timed out" if "ran past" in stopped else "failed",
                detail=f"not reached: {stopped or 'the run stopped before it'}",
            )
        elif len(records) != 1 or records[0].get("nonce") != prepared.nonces[part.number]:
            row["detail"] = "its verdict was not recorded: the submission interfered with it"
            tampering.append(f"exercise {part.number}: {row['detail']}")
        else:
            record = records[0]
            if record["status"] == "passed":
                row["status"] = "passed"
            elif record["status"] == "tampered":
                row["detail"] = (
                    f"it changed {', '.join(record['changed'])} while its check ran (put back); "
                    "a check cannot pass that way"
                )
                tampering.append(f"exercise {part.number}: {row['detail']}")
            elif record.get("ename") == "NotImplementedError":
                row.update(status="not attempted", detail=_first_line(record.get("evalue")))
            elif record.get("ename") == _TIMEOUT_ERROR:
                row.update(status="timed out", detail="the check ran past the per-cell timeout")
            else:
                row["detail"] = describe(record)
        if part.number in prepared.copied:
            outcome = row["status"] + (f": {row['detail']}" if row["detail"] else "")
            row.update(
                status="copied", detail=f"{prepared.copied[part.number]} (its check: {outcome})"
            )
        elif row["status"] == "passed" and part.written and row["answer"]["status"] != "written":
            row.update(status="incomplete", detail="its check passed; the written answer is blank")
        if row["status"] == "passed":
            row["points"] = part.points
        results.append(row)
    return results, notes, tampering


def finish(
    report: dict[str, Any],
    prepared: Prepared,
    ref: Reference,
    result: dict[str, Any],
) -> tuple[dict[str, Any], nbformat.NotebookNode | None]:
    """The report of a submission once its run is over (``result`` from
    :func:`coursekit.grade_exec.run_submission`), and its executed notebook."""
    stopped = result.get("stopped", "")
    try:
        executed = (
            nbformat.reads(result["executed"], as_version=4) if result.get("executed") else None
        )
    except Exception:
        executed = None
    results, run_notes, tampering = judge(executed, prepared, ref, stopped)
    if executed is None:
        for row in results:
            if row["status"] in ("passed", "incomplete", "failed", "not attempted"):
                row.update(
                    status="timed out" if "ran past" in stopped else "failed",
                    detail=f"not run: {stopped or 'the run wrote no notebook'}",
                    points=0.0,
                )
    report["exercises"] = results
    report["notes"] = prepared.notes + run_notes
    report["tampering"] = prepared.tampering + tampering
    problems = []
    if prepared.teacher:
        problems.append("the course's full notebook (its solutions are in it), not a student's")
    if stopped:
        problems.append(stopped)
    if result.get("deleted"):
        problems.append(
            "it deleted files in its working directory (the copy of the submission); "
            "the submission is intact"
        )
    exits = [n for n in run_notes if "SystemExit" in n]
    exits += [f"exercise {r['number']}" for r in results if r["detail"].startswith("SystemExit")]
    if exits:
        problems.append(f"it raised SystemExit ({exits[0]}); the cells after it still ran")
    report["problem"] = "; ".join(problems)
    report["seconds"] = round(result.get("seconds", 0.0), 1)
    return report, executed
