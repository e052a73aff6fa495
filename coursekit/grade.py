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
import sys
import time
from pathlib import Path
from typing import Any

import nbformat

from helpers._internal.paths import NOTEBOOKS, ROOT

from .grade_exec import CELL_TIMEOUT, NOTEBOOK_TIMEOUT, execute, run_submission
from .grade_judge import MARKS, STATUSES, finish, judge, new_report, prepare_submission
from .grade_match import Reference, identify, reference
from .run import notebooks

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
    "new_report",
    "submissions",
]

GRADES = ROOT / "grades"  # outside build/: `make clean` leaves the class's grades alone


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
    """The course's notebooks in ``folder`` (``NN_name.ipynb``, then the appendices), in order."""
    return notebooks(folder=Path(folder))


# ---------------------------------------------------------------------------- one submission
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
