"""Grade submitted student notebooks: ``python -m coursekit.grade FILE_OR_DIR...`` (``make grade
SUBMISSIONS=dir/``).

    python -m coursekit.grade submissions/               # every file under the folder
    python -m coursekit.grade alice.ipynb bob.ipynb --timeout 60

Each submission is matched to one of the course's notebooks (``notebooks/``) by its cell ids,
then executed headless in smoke mode, in a fresh temporary working directory, with a per-cell
timeout (a cell that runs past it is interrupted and the run goes on) and a limit on the whole
notebook. The submission file itself is only read. The checks that run are the course's own:
a check cell the student edited is put back (and the report says so). Each exercise comes out
as

- **passed**: its check ran without error;
- **failed**: its check raised; the report gives the check's message;
- **not attempted**: its check raised the stub's ``NotImplementedError``;
- **timed out**: its check ran past the per-cell timeout (or the whole notebook did);
- **missing**: the submission lacks the exercise's check (another version of the course; a
  missing stub is reported too, and the check still runs).

Bad input costs one line in the report and the other submissions are still graded: a file that
is not a notebook, a notebook of another course or version, an infinite loop, ``SystemExit``,
``exit()``, a dead kernel, files deleted in the working directory. The results go to
``build/grades.csv`` (one row per submission and exercise), ``build/grades.md`` and
``build/grades.html`` (one table per notebook: a row per submission, a column per exercise).
The exit code is non-zero only when the grader itself fails (2: bad arguments or no course
notebooks; 1: the reports could not be written).

Student code runs with your permissions: the temporary directory keeps honest mistakes away from
your files, but it is not a sandbox. Grade work you do not trust in a container.
"""

from __future__ import annotations

import argparse
import copy
import csv
import html
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import nbformat

from helpers._internal.files import write_atomic
from helpers._internal.paths import BUILD, NOTEBOOKS, ROOT

from . import cells
from .run import notebooks as course_notebooks

STATUSES = ("passed", "failed", "not attempted", "timed out", "missing")
MARKS = {"passed": "✓", "failed": "✗", "not attempted": "–", "timed out": "⏱", "missing": "?"}
CELL_TIMEOUT, NOTEBOOK_TIMEOUT = 120, 1200
_TIMEOUT_ERROR = "KeyboardInterrupt"  # what a cell interrupted at the per-cell timeout raises


# ---------------------------------------------------------------------------- the course's side
def reference(nb: nbformat.NotebookNode) -> dict[str, Any]:
    """What the grader needs of a full course notebook: ``{"nb", "exercises", "ids"}``;
    ``ValueError`` (from :func:`coursekit.cells.exercises`) when its exercises break the layout."""
    ids = {cells.cell_id(c) for c in nb.cells} - {None}
    return {"nb": nb, "exercises": cells.exercises(nb), "ids": ids}


def load_references(paths: list[Path]) -> dict[str, dict[str, Any]]:
    """:func:`reference` of each course notebook, by stem; ``ValueError`` names the first whose
    exercises break the layout."""
    references = {}
    for path in paths:
        try:
            references[path.stem] = reference(nbformat.read(path, as_version=4))
        except ValueError as err:
            raise ValueError(f"{path.name}: {err}") from None
    return references


def identify(nb: nbformat.NotebookNode, references: dict[str, dict[str, Any]]) -> str | None:
    """The stem of the course notebook that ``nb`` is a copy of: the one with the same title and,
    among those, the most cell ids in common (cell ids should be unique across the course; the
    title settles it when they are not). None when no cell id matches."""
    ids = {cells.cell_id(c) for c in nb.cells} - {None}
    title = cells.title(nb, "")
    score = {
        stem: (
            len(ids & ref["ids"]) > 0,
            cells.title(ref["nb"], "") == title,
            len(ids & ref["ids"]),
        )
        for stem, ref in references.items()
    }
    best = max(score, key=score.get, default=None)
    return best if best is not None and score[best][0] else None


# ------------------------------------------------------------------------------ running a notebook
def prepare(
    nb: nbformat.NotebookNode, reference: dict[str, Any]
) -> tuple[nbformat.NotebookNode, list[str]]:
    """The notebook to execute: the submission with outputs cleared and the course's checks put
    back; with a note for each check the student edited."""
    out = copy.deepcopy(nb)
    by_id = {cells.cell_id(c): c for c in out.cells}
    notes = []
    for ex in reference["exercises"]:
        original = reference["nb"].cells[ex.check]
        cell = by_id.get(cells.cell_id(original))
        if cell is not None and cells.source(cell).strip() != cells.source(original).strip():
            cell.source = original.source
            notes.append(f"exercise {ex.number}: its check was edited; the course's check ran")
    for cell in out.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return out, notes


def _terminate(process: subprocess.Popen) -> None:
    """SIGTERM the runner's process group (it shuts its kernel down), SIGKILL if it lingers."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def execute(
    nb: nbformat.NotebookNode,
    out_path: Path,
    work_dir: Path,
    parameters: dict[str, Any],
    timeout: int = CELL_TIMEOUT,
    notebook_timeout: int = NOTEBOOK_TIMEOUT,
) -> str:
    """Execute ``nb`` with papermill (errors allowed) in the working directory ``work_dir``, into
    ``out_path``; return "" or one line on why the run stopped early.

    The run is a child process, so a kernel that never answers is stopped after
    ``notebook_timeout`` seconds; a cell that runs past ``timeout`` seconds is interrupted.
    """
    out_path.parent.mkdir(parents=True, exist_ok=True)
    in_path = out_path.with_name("input.ipynb")
    nbformat.write(nb, in_path)
    job = {
        "input": str(in_path),
        "output": str(out_path),
        "cwd": str(work_dir),
        "parameters": parameters,
        "timeout": timeout,
    }
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["MPLBACKEND"] = "Agg"
    if env.get("COURSE_DATA_DIR"):  # the run's cwd is a temporary folder
        env["COURSE_DATA_DIR"] = str(Path(env["COURSE_DATA_DIR"]).resolve())
    log = out_path.with_name("runner.log")
    with open(log, "w") as stream:
        process = subprocess.Popen(
            [sys.executable, "-m", "coursekit.grade", "--run-one", json.dumps(job)],
            stdout=stream,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=str(ROOT),
            start_new_session=True,
        )
        try:
            code = process.wait(notebook_timeout)
        except subprocess.TimeoutExpired:
            _terminate(process)
            return f"the whole notebook ran past {notebook_timeout} s and was stopped"
    if code == 0:
        return ""
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    last = lines[-1] if lines else f"exit code {code}"
    if "DeadKernelError" in last or "Kernel died" in last:
        return "the kernel stopped (exit(), os._exit, a crash or out of memory)"
    return f"the run stopped: {last[:200]}"


def _run_one(job: dict[str, Any]) -> int:
    """The child process of :func:`execute`: papermill, errors allowed, cells interrupted at the
    timeout. Exit 0 when every cell ran (errors included), 1 when the run stopped early."""
    import papermill

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    try:
        papermill.execute_notebook(
            job["input"],
            job["output"],
            parameters=job["parameters"] or None,
            cwd=job["cwd"],
            progress_bar=False,
            kernel_name="python3",
            allow_errors=True,
            execution_timeout=job["timeout"],
            interrupt_on_timeout=True,
        )
    except papermill.PapermillExecutionError:
        pass  # errors are read from the executed notebook
    except BaseException as err:  # a dead kernel, the signal above
        print(f"{type(err).__name__}: {err}".splitlines()[0], flush=True)
        return 1
    return 0


# ------------------------------------------------------------------------------ judging the run
def _first_line(text: Any) -> str:
    lines = [line for line in str(text or "").splitlines() if line.strip()]
    return lines[0].strip() if lines else ""


def _failing_line(output: dict[str, Any]) -> str:
    """The source line the traceback points at last (``----> 3 assert x > 0``), else ""."""
    import re

    plain = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", "\n".join(output.get("traceback", [])))
    arrows = re.findall(r"^-+>\s*\d+\s+(.*)$", plain, re.M)
    return arrows[-1].strip() if arrows else ""


def error_of(cell: Any) -> dict[str, Any] | None:
    """The cell's error output, if it has one."""
    return next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)


def describe(error: dict[str, Any]) -> str:
    """``AssertionError: the loss must fall`` on one line; the failing line when there is no
    message."""
    message = _first_line(error.get("evalue"))
    if not message:
        line = _failing_line(error)
        return f"{error.get('ename')} at `{line}`" if line else str(error.get("ename"))
    return f"{error.get('ename')}: {message}"[:300]


def judge(
    executed: nbformat.NotebookNode | None, reference: dict[str, Any], stopped: str
) -> tuple[list[dict[str, Any]], list[str]]:
    """Each exercise's result in the executed submission (``{"number", "kind", "title",
    "status", "detail"}``) and a note for each other cell that failed."""
    by_id = {cells.cell_id(c): c for c in executed.cells} if executed is not None else {}
    results, graded = [], set()
    for ex in reference["exercises"]:
        row = {"number": ex.number, "kind": ex.kind, "title": ex.title, "detail": ""}
        stub_id = cells.cell_id(reference["nb"].cells[ex.stub])
        check_id = cells.cell_id(reference["nb"].cells[ex.check])
        check = by_id.get(check_id)
        graded.add(check_id)
        if executed is not None and check is None:
            row.update(
                status="missing", detail=f"its check (cell id {check_id}) is not in the submission"
            )
        elif check is None or check.get("execution_count") is None:
            row.update(
                status="timed out" if "ran past" in stopped else "failed",
                detail=f"not reached: {stopped or 'the run stopped before it'}",
            )
        else:
            error = error_of(check)
            if error is None:
                row.update(status="passed")
            elif error.get("ename") == "NotImplementedError":
                row.update(status="not attempted", detail=_first_line(error.get("evalue")))
            elif error.get("ename") == _TIMEOUT_ERROR:
                row.update(status="timed out", detail="the check ran past the per-cell timeout")
            else:
                row.update(status="failed", detail=describe(error))
        if executed is not None and stub_id not in by_id:
            row["lost"] = f"its stub (cell id {stub_id}) is not in the submission"
        results.append(row)
    notes = []
    stubs = {
        cells.cell_id(reference["nb"].cells[ex.stub]): ex.number for ex in reference["exercises"]
    }
    for cell in executed.cells if executed is not None else []:
        error = error_of(cell) if cell.cell_type == "code" else None
        if error is None or cells.cell_id(cell) in graded:
            continue
        where = f"cell [{cell.get('execution_count')}]"
        if cells.cell_id(cell) in stubs:
            where += f" (exercise {stubs[cells.cell_id(cell)]}'s stub)"
        what = (
            "ran past the per-cell timeout"
            if error.get("ename") == _TIMEOUT_ERROR
            else f"raised {describe(error)}"
        )
        notes.append(f"{where} {what}")
    return results, notes


# ------------------------------------------------------------------------------ one submission
def _missing_files(work_dir: Path, expected: set[str]) -> list[str]:
    if not work_dir.is_dir():
        return sorted(expected)
    return sorted(expected - {p.name for p in work_dir.iterdir()})


def grade_file(
    path: Path,
    references: dict[str, dict[str, Any]],
    *,
    parameters: dict[str, Any] | None = None,
    timeout: int = CELL_TIMEOUT,
    notebook_timeout: int = NOTEBOOK_TIMEOUT,
) -> dict[str, Any]:
    """Grade one submitted file: ``{"submission", "notebook", "exercises", "problem", "notes",
    "seconds"}``. ``problem`` is the one line for bad input ("" when there is none); it never
    raises for a bad submission."""
    start = time.perf_counter()
    report: dict[str, Any] = {
        "submission": str(path),
        "notebook": "",
        "exercises": [],
        "problem": "",
        "notes": [],
        "seconds": 0.0,
    }
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:  # not JSON, not a notebook, unreadable
        reason = _first_line(err) or type(err).__name__
        report["problem"] = f"not a notebook: {reason[:200]}"
        return report
    stem = identify(nb, references)
    if stem is None:
        report["problem"] = (
            "not a notebook of this course: none of its cell ids matches a course notebook "
            "(start from the student edition and keep its cells)"
        )
        return report
    reference = references[stem]
    report["notebook"] = stem
    run_nb, notes = prepare(nb, reference)
    params = {"smoke": True, **(parameters or {})}
    with tempfile.TemporaryDirectory(prefix="grade-") as tmp:
        work_dir, out_dir = Path(tmp) / "work", Path(tmp) / "out"
        work_dir.mkdir()
        out_dir.mkdir()
        shutil.copyfile(path, work_dir / path.name)  # the student's folder, as they had it
        out_path = out_dir / "executed.ipynb"
        stopped = execute(run_nb, out_path, work_dir, params, timeout, notebook_timeout)
        try:
            executed = nbformat.read(out_path, as_version=4)
        except Exception:
            executed = None
        deleted = _missing_files(work_dir, {path.name})
    results, run_notes = judge(executed, reference, stopped)
    if executed is None:
        for row in results:
            if row["status"] != "missing":
                row.update(
                    status="timed out" if "ran past" in stopped else "failed",
                    detail=f"not run: {stopped or 'the run wrote no notebook'}",
                )
    report["exercises"] = results
    report["notes"] = notes + run_notes
    lost = []
    for r in results:
        why = r.pop("lost", "") or (r["detail"] if r["status"] == "missing" else "")
        if why:
            lost.append(f"exercise {r['number']}: {why}")
    problems = []
    if lost:
        problems.append("another version of the course: " + "; ".join(lost))
    if stopped:
        problems.append(stopped)
    if deleted:
        problems.append(
            f"it deleted files in its working directory ({', '.join(deleted)}); "
            "they were copies, the submission is intact"
        )
    exits = [n for n in run_notes if "SystemExit" in n]
    exits += [f"exercise {r['number']}" for r in results if r["detail"].startswith("SystemExit")]
    if exits:
        problems.append(f"it raised SystemExit ({exits[0]}); the cells after it still ran")
    report["problem"] = "; ".join(problems)
    report["seconds"] = round(time.perf_counter() - start, 1)
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


def display_names(files: list[Path]) -> dict[Path, str]:
    """Each file's path relative to the folder all of them are in (``alice/03.ipynb`` and
    ``bob/03.ipynb`` stay apart)."""
    if not files:
        return {}
    common = os.path.commonpath([str(p.resolve().parent) for p in files])
    return {p: os.path.relpath(p.resolve(), common) for p in files}


# ------------------------------------------------------------------------------------ reports
def _name(report: dict[str, Any]) -> str:
    return report.get("name") or Path(report["submission"]).name


def score(report: dict[str, Any]) -> str:
    """``2/3``: exercises passed out of the notebook's exercises ("" when none was graded)."""
    rows = report["exercises"]
    return f"{sum(r['status'] == 'passed' for r in rows)}/{len(rows)}" if rows else ""


def csv_text(reports: list[dict[str, Any]]) -> str:
    """One row per submission and exercise (one row with an empty exercise when none was
    graded)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "submission",
            "notebook",
            "exercise",
            "kind",
            "title",
            "status",
            "detail",
            "score",
            "problem",
        ]
    )
    for report in reports:
        common = [report["submission"], report["notebook"]]
        tail = [score(report), report["problem"]]
        for row in report["exercises"] or [None]:
            if row is None:
                writer.writerow([*common, "", "", "", "", "", *tail])
            else:
                writer.writerow(
                    [
                        *common,
                        row["number"],
                        row["kind"],
                        row["title"],
                        row["status"],
                        row["detail"],
                        *tail,
                    ]
                )
    return buffer.getvalue()


def _groups(reports: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    order = sorted({r["notebook"] for r in reports}, key=lambda s: (s == "", s))
    return [(stem, [r for r in reports if r["notebook"] == stem]) for stem in order]


def _header(group: list[dict[str, Any]]) -> list[str]:
    first = next((r for r in group if r["exercises"]), None)
    exercises = first["exercises"] if first else []
    return [f"{e['number']}" + (f" · {e['kind']}" if e["kind"] else "") for e in exercises]


def _titles(group: list[dict[str, Any]]) -> list[str]:
    first = next((r for r in group if r["exercises"]), None)
    return [f"{e['number']}: {e['title']}" for e in first["exercises"]] if first else []


def markdown(reports: list[dict[str, Any]]) -> str:
    """The grades as markdown: a table per notebook, then the details of every failure."""
    legend = ", ".join(f"{mark} {status}" for status, mark in MARKS.items())
    lines = ["# Grades", "", f"{len(reports)} submission(s). {legend}.", ""]
    for stem, group in _groups(reports):
        lines += [f"## {stem or 'Not graded'}", ""]
        header = _header(group) if stem else []
        if _titles(group):
            lines += ["Exercises: " + "; ".join(_titles(group)) + ".", ""]
        lines.append("| submission | score | " + " | ".join(header + ["problem"]) + " |")
        lines.append("|" + "---|" * (len(header) + 3))
        for r in group:
            marks = [MARKS[e["status"]] for e in r["exercises"]]
            cells_ = [_name(r), score(r), *marks, r["problem"].replace("|", "/")]
            lines.append("| " + " | ".join(cells_) + " |")
        lines.append("")
    details = [
        f"- {_name(r)}, exercise {e['number']}: {e['status']}: {e['detail']}"
        for r in reports
        for e in r["exercises"]
        if e["status"] not in ("passed", "not attempted") and e["detail"]
    ]
    details += [f"- {_name(r)}: {n}" for r in reports for n in r["notes"]]
    if details:
        lines += ["## Details", "", *details, ""]
    return "\n".join(lines)


def html_page(reports: list[dict[str, Any]]) -> str:
    """The grades as one HTML page: the tables of :func:`markdown`, with each failure's message
    as the cell's tooltip."""
    esc = html.escape
    parts = [
        "<!doctype html><meta charset='utf-8'><title>Grades</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;"
        "margin-bottom:2em}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
        ".passed{background:#e6f4e6}.failed{background:#fbe3e3}.timed{background:#fff1d6}"
        "</style>",
        f"<h1>Grades</h1><p>{len(reports)} submission(s). "
        + esc(", ".join(f"{m} {s}" for s, m in MARKS.items()))
        + "</p>",
    ]
    for stem, group in _groups(reports):
        header = _header(group) if stem else []
        if _titles(group):
            parts.append(f"<p>Exercises: {esc('; '.join(_titles(group)))}.</p>")
        parts.append(
            f"<h2>{esc(stem or 'Not graded')}</h2><table><tr><th>submission</th>"
            "<th>score</th>"
            + "".join(f"<th>{esc(h)}</th>" for h in header)
            + "<th>problem and notes</th></tr>"
        )
        for r in group:
            row = [f"<td>{esc(_name(r))}</td><td>{esc(score(r))}</td>"]
            for e in r["exercises"]:
                klass = e["status"].split()[0]
                title = esc(f"{e['status']}: {e['detail']}" if e["detail"] else e["status"])
                row.append(
                    f"<td class='{klass}' title='{title}'>{esc(MARKS[e['status']])} "
                    f"{esc(e['status'])}</td>"
                )
            problem = "<br>".join(esc(x) for x in [r["problem"], *r["notes"]] if x)
            row.append(f"<td>{problem}</td>")
            parts.append("<tr>" + "".join(row) + "</tr>")
        parts.append("</table>")
    return "\n".join(parts) + "\n"


def write_reports(reports: list[dict[str, Any]], out_dir: Path) -> list[Path]:
    """``grades.csv``, ``grades.md`` and ``grades.html`` in ``out_dir``; the paths written."""
    written = []
    for name, text in (
        ("grades.csv", csv_text(reports)),
        ("grades.md", markdown(reports)),
        ("grades.html", html_page(reports)),
    ):
        write_atomic(out_dir / name, text)
        written.append(out_dir / name)
    return written


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["--run-one"]:
        return _run_one(json.loads(argv[1]))
    parser = argparse.ArgumentParser(
        prog="python -m coursekit.grade", description=" ".join(__doc__.split("\n\n")[0].split())
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="FILE_OR_DIR")
    parser.add_argument(
        "--notebooks", type=Path, default=NOTEBOOKS, help="the course's full notebooks"
    )
    parser.add_argument(
        "--out", type=Path, default=BUILD, help="where grades.csv/.md/.html go (build/)"
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
        "--jobs", type=int, default=1, help="submissions run at once (default %(default)s)"
    )
    args = parser.parse_args(argv)
    try:
        files = submissions(args.paths)
        references = load_references(course_notebooks(folder=args.notebooks))
        if not references:
            raise ValueError(f"no course notebooks (NN_name.ipynb) in {args.notebooks}")
        if min(args.timeout, args.notebook_timeout, args.jobs) < 1:
            raise ValueError("--timeout, --notebook-timeout and --jobs must be at least 1")
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(
        f"grading {len(files)} submission(s) in smoke mode, {args.timeout} s per cell", flush=True
    )
    names = display_names(files)

    def one(path: Path) -> dict[str, Any]:
        try:
            report = grade_file(
                path, references, timeout=args.timeout, notebook_timeout=args.notebook_timeout
            )
        except Exception as err:  # a bug of the grader's: this submission's line says so
            traceback.print_exc()
            report = {"submission": str(path), "notebook": "", "exercises": [], "notes": []}
            report["problem"] = f"the grader failed on it: {type(err).__name__}: {err}"[:300]
        report["name"] = names[path]
        print(
            f"{names[path]}: {report['notebook'] or '-'} {score(report) or ''}"
            + (f"  ({report['problem']})" if report["problem"] else ""),
            flush=True,
        )
        return report

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:  # each run is its own process
        reports = list(pool.map(one, files))
    try:
        written = write_reports(reports, args.out)
    except OSError as err:
        print(f"error: cannot write the grades: {err}", file=sys.stderr)
        return 1
    print("grades: " + ", ".join(str(p) for p in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
