"""Grade submitted student notebooks: ``python -m coursekit.grade FILE_OR_DIR...`` (``make grade
SUBMISSIONS=dir/``).

    python -m coursekit.grade submissions/                     # every file under the folder
    python -m coursekit.grade submissions/alice/               # re-grade one student: merged in
    python -m coursekit.grade submissions/ --roster roster.csv --fresh
    python -m coursekit.grade submissions/ --scheduler tcp://teacher-pc:8786

Each submission is matched to one of the course's notebooks (``notebooks/``) by its cell ids, or,
without ids, by its cells' text (:mod:`coursekit.grade_match`). What runs is the course's
notebook with the student's work put in: the student's stubs and the cells they added, the
course's own checks (an edited or deleted check is put back, and the report says so) and the
course's other cells. It runs headless in smoke mode, in a fresh temporary working directory,
with a per-cell timeout (a cell past it is interrupted, the run goes on) and a limit on the
whole notebook; the submission file itself is only read. Each check runs with what it relies on
restored (:mod:`coursekit.grade_guard`): a student's ``torch.allclose = lambda *a, **k: True``
cannot make it pass, and the report names what the submission changed. Each exercise comes out

- **passed**: its check ran without error (and, for an experiment or explain exercise, the
  written answer is not blank);
- **incomplete**: its check passed but its written answer is blank;
- **failed**: its check raised; the report gives the check's message;
- **not attempted**: its check raised the stub's ``NotImplementedError``;
- **timed out**: its check ran past the per-cell timeout (or the whole notebook did);
- **copied**: the course's own solution is in the submission (the teacher's notebook).

Passed exercises earn their points (the notebook's metadata ``grading.points``, 1 each by
default). Written answers are collected for the teacher to read. The grades of the whole class
are kept in ``grades/grades.json`` (``--out``); grading some students again replaces their rows
and keeps the others, ``--fresh`` starts over. From it come ``grades.csv`` (a row per
submission and exercise), ``students.csv`` (a row per student, for a learning-management
system), ``grades.md``, ``grades.html``, ``answers.md`` (every written answer) and
``feedback/`` (each student's executed notebook, a verdict after each check). Submissions are
named by their path under the submissions folder; a roster (``--roster``, a CSV of ``student``
and ``file``) names students and lists missing, duplicate and unmatched submissions.

Submissions run on a Dask cluster (:mod:`coursekit.grade_dask`): a local one of ``--jobs``
processes by default, or the teacher's machines with ``--scheduler tcp://host:8786``. Bad input
costs one line in the report and the other submissions are still graded. The exit code is
non-zero only when the grader itself fails (2: bad arguments; 1: the grades could not be
written). Student code runs with your permissions: the temporary directory keeps honest
mistakes away from your files, but it is not a sandbox. Grade work you do not trust in a
container.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import nbformat

from helpers._internal.paths import NOTEBOOKS, ROOT

from . import cells, grade_guard
from .grade_exec import CELL_TIMEOUT, NOTEBOOK_TIMEOUT, execute, run_submission
from .grade_match import GRADE, Prepared, Reference, identify, prepare, reference

__all__ = [
    "CELL_TIMEOUT",
    "NOTEBOOK_TIMEOUT",
    "STATUSES",
    "MARKS",
    "execute",
    "finish",
    "grade_file",
    "identify",
    "judge",
    "load_references",
    "prepare_submission",
    "reference",
    "submissions",
]

STATUSES = ("passed", "incomplete", "failed", "not attempted", "timed out", "copied")
MARKS = {
    "passed": "✓",
    "incomplete": "◐",
    "failed": "✗",
    "not attempted": "–",
    "timed out": "⏱",
    "copied": "⚠",
}
GRADES = ROOT / "grades"  # outside build/: `make clean` leaves the class's grades alone
_TIMEOUT_ERROR = "KeyboardInterrupt"  # what a cell interrupted at the per-cell timeout raises


# ---------------------------------------------------------------------------- the course's side
def load_references(paths: list[Path]) -> dict[str, Reference]:
    """:func:`coursekit.grade_match.reference` of each course notebook, by stem; ``ValueError``
    names the first whose exercises break the layout."""
    references = {}
    for path in paths:
        try:
            references[path.stem] = reference(nbformat.read(path, as_version=4), path.stem)
        except ValueError as err:
            raise ValueError(f"{path.name}: {err}") from None
    return references


def course_notebooks(folder: Path) -> list[Path]:
    """The course's ``NN_name.ipynb`` notebooks in ``folder``, in order."""
    return sorted(Path(folder).glob("[0-9][0-9]_*.ipynb"))


# ---------------------------------------------------------------------------- one submission
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


def grade_file(
    path: Path,
    references: dict[str, Reference],
    *,
    name: str | None = None,
    parameters: dict[str, Any] | None = None,
    timeout: int = CELL_TIMEOUT,
    notebook_timeout: int = NOTEBOOK_TIMEOUT,
    warm: bool = True,
    figures: bool = False,
) -> dict[str, Any]:
    """Grade one submitted file here, in this process (the command line goes through
    :mod:`coursekit.grade_dask`); the report, with ``"executed"``: the executed notebook (or
    None). It never raises for a bad submission."""
    path = Path(path)
    data = path.read_bytes()
    report, prepared = prepare_submission(
        data, name or path.name, references, parameters, figures=figures
    )
    if prepared is None:
        report["executed"] = None
        return report
    result = run_submission(
        nbformat.writes(prepared.nb), path.name, data, timeout, notebook_timeout, warm=warm
    )
    report, executed = finish(report, prepared, references[prepared.stem], result)
    report["executed"] = executed
    report["prepared"] = prepared
    return report


def submissions(paths: list[Path]) -> list[Path]:
    """The files to grade: each file given, and every file under each folder given (hidden
    files and ``.ipynb_checkpoints`` left out), sorted. ``ValueError`` for a path that does not
    exist."""
    found = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.is_file():
            found.append(path)
        else:
            raise ValueError(f"{path}: no such file or folder")
    return found


def score(report: dict[str, Any]) -> str:
    """``2/3``: exercises passed out of the notebook's exercises ("" when none was graded)."""
    rows = report["exercises"]
    return f"{sum(r['status'] == 'passed' for r in rows)}/{len(rows)}" if rows else ""


# ---------------------------------------------------------------------------- the command line
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m coursekit.grade",
        description=" ".join(__doc__.split("\n\n")[0].split()),
        epilog="Timeouts: a cell running past --timeout seconds is interrupted (its check "
        "is 'timed out') and the run goes on; a submission running past --notebook-timeout "
        "seconds is stopped, its kernel with it (the checks not reached are 'timed out').",
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="FILE_OR_DIR")
    parser.add_argument(
        "--notebooks", type=Path, default=NOTEBOOKS, help="the course's full notebooks"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=GRADES,
        help="the class's grades: grades.json (merged run after run), the CSVs, reports and "
        "feedback/ (default: grades/, which `make clean` leaves alone)",
    )
    parser.add_argument(
        "--fresh", action="store_true", help="start over: forget the grades kept in --out"
    )
    parser.add_argument(
        "--roster",
        type=Path,
        help="a CSV with columns student,file (file: a path, folder or "
        "glob pattern under the submissions folder); kept in --out for the next runs",
    )
    parser.add_argument(
        "--timeout", type=int, default=CELL_TIMEOUT, help="seconds per cell (default %(default)s)"
    )
    parser.add_argument(
        "--notebook-timeout",
        type=int,
        default=NOTEBOOK_TIMEOUT,
        help="seconds per submission (default %(default)s)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="worker processes of the local Dask cluster (default %(default)s)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="a running Dask scheduler (tcp://host:8786) whose workers have the course "
        "installed; default: a local cluster of --jobs processes",
    )
    parser.add_argument(
        "--no-feedback", action="store_true", help="do not write the feedback notebooks"
    )
    parser.add_argument(
        "--figures",
        action="store_true",
        help="draw the figures (slower; by default figures are made but not drawn, and the "
        "feedback notebooks show none)",
    )
    parser.add_argument(
        "--no-warm",
        action="store_true",
        help="start every kernel from scratch (by default each worker keeps a warm process "
        "with torch and helpers imported, and forks a fresh kernel from it per submission)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    from . import grade_dask, grade_report

    args = _parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    try:
        if min(args.timeout, args.notebook_timeout, args.jobs) < 1:
            raise ValueError("--timeout, --notebook-timeout and --jobs must be at least 1")
        out = args.out.resolve()
        files = [f for f in submissions(args.paths) if out not in f.resolve().parents]
        references = load_references(course_notebooks(args.notebooks))
        if not references:
            raise ValueError(f"no course notebooks (NN_name.ipynb) in {args.notebooks}")
        book = grade_report.Gradebook.open(args.out, fresh=args.fresh)
        root = book.root_for(args.paths, files)
        if args.roster is not None:
            book.set_roster(grade_report.read_roster(args.roster))
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    names = {path: grade_report.relative_name(path, root) for path in files}
    where = args.scheduler or f"a local Dask cluster of {args.jobs} process(es)"
    print(
        f"grading {len(files)} submission(s) in smoke mode on {where}, {args.timeout} s per cell",
        flush=True,
    )
    start = time.perf_counter()
    feedback = None if args.no_feedback else args.out / "feedback"

    finished: list[dict[str, Any]] = []

    def done(report: dict[str, Any], executed: Any, prepared: Any) -> None:
        finished.append(report)
        if feedback is not None and executed is not None:
            grade_report.write_feedback(feedback, report, executed, prepared)
        shown = grade_report.points_text(report)
        print(
            f"{report['submission']}: {report['notebook'] or '-'} {shown}"
            + (f"  ({report['problem']})" if report["problem"] else ""),
            flush=True,
        )

    try:
        reports = grade_dask.grade_all(
            [(names[p], p.read_bytes()) for p in files],
            references,
            timeout=args.timeout,
            notebook_timeout=args.notebook_timeout,
            jobs=args.jobs,
            scheduler=args.scheduler,
            on_report=done,
            warm=not args.no_warm,
            figures=args.figures,
        )
    except grade_dask.SchedulerError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # keep what was graded
        book.merge(finished)
        book.write(references)
        print(
            f"interrupted: the {len(finished)} submission(s) graded so far are kept in {args.out}"
        )
        return 130
    elapsed = time.perf_counter() - start
    book.merge(reports)
    try:
        written = book.write(references)
    except OSError as err:
        print(f"error: cannot write the grades: {err}", file=sys.stderr)
        return 1
    per = elapsed / max(1, sum(1 for r in reports if r["notebook"]))
    print(
        f"{len(reports)} graded in {elapsed:.0f} s ({per:.1f} s per notebook run); the class: "
        f"{len(book.reports)} submission(s); grades: {', '.join(str(p) for p in written)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
