"""The class's grades: kept run after run, merged, and written out for the teacher, the
learning-management system and the students.

:class:`Gradebook` keeps every submission's report in ``grades/grades.json`` (``--out``), under
its path relative to the submissions folder: grading one student again replaces that student's
rows and keeps the class's. From it, :meth:`Gradebook.write` writes

- ``grades.csv``: a row per submission and exercise (status, points, the check's message, the
  written answer's status, the submission's problem, notes and tampering);
- ``students.csv``: a row per student, the points of each notebook, the total, the maximum and
  the percentage, ready for a learning-management system;
- ``grades.md`` and ``grades.html``: a table per notebook, the roster's missing, unmatched and
  duplicate submissions, and every detail;
- ``answers.md``: every written answer, exercise by exercise, after the course's own;

and :func:`write_feedback` writes ``feedback/<submission>``: the student's executed notebook with
the grader's verdict after each check, to hand back.
"""

from __future__ import annotations

import csv
import fnmatch
import html
import io
import json
import os
from collections import defaultdict
from pathlib import Path, PurePosixPath
from typing import Any

import nbformat

from helpers._internal.files import write_atomic

from . import grade_guard
from .grade_judge import MARKS
from .grade_match import GRADE, Prepared, Reference

VERSION = 1
STATE = "grades.json"


def _num(value: float) -> str:
    return f"{value:g}"


def relative_name(path: Path, root: Path) -> str:
    """``alice/03.ipynb``: the file's path under the submissions folder, with ``/``."""
    return PurePosixPath(
        Path(os.path.relpath(Path(path).resolve(), Path(root).resolve()))
    ).as_posix()


def points_text(report: dict[str, Any]) -> str:
    """``2/3 (2 of 3 points)``, or "" when nothing was graded."""
    rows = report["exercises"]
    if not rows:
        return ""
    passed = sum(r["status"] == "passed" for r in rows)
    got, out_of = sum(r["points"] for r in rows), sum(r["max_points"] for r in rows)
    return f"{passed}/{len(rows)} ({_num(got)} of {_num(out_of)} points)"


# ------------------------------------------------------------------------ the roster
def read_roster(path: Path) -> list[dict[str, str]]:
    """The roster: a CSV with the columns ``student`` and ``file`` (a path, a folder or a glob
    pattern under the submissions folder; several rows for one student are fine). ``ValueError``
    names what is wrong."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as stream:
            reader = csv.DictReader(stream)
            fields = [f.strip().lower() for f in reader.fieldnames or []]
            if "student" not in fields or "file" not in fields:
                raise ValueError(
                    f"{path}: the roster needs the columns student and file, it has {fields}"
                )
            rows = []
            for row in reader:
                row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
                if row.get("student"):
                    rows.append({"student": row["student"], "file": row.get("file", "")})
    except OSError as err:
        raise ValueError(f"{path}: {err.strerror or err}") from None
    return rows


def _claims(pattern: str, name: str) -> bool:
    pattern = pattern.strip().strip("/")
    if not pattern:
        return False
    return name == pattern or name.startswith(pattern + "/") or fnmatch.fnmatch(name, pattern)


# ------------------------------------------------------------------------ the gradebook
class Gradebook:
    """Every submission's report, kept in ``out/grades.json``."""

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self.root: Path | None = None
        self.roster: list[dict[str, str]] | None = None
        self.reports: dict[str, dict[str, Any]] = {}

    @classmethod
    def open(cls, out: Path, fresh: bool = False) -> Gradebook:
        """The gradebook in ``out`` (empty with ``fresh`` or when there is none yet);
        ``ValueError`` for a file this version cannot read."""
        book = cls(out)
        path = book.out / STATE
        if fresh or not path.is_file():
            return book
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
            if state.get("version") != VERSION:
                raise ValueError(f"version {state.get('version')}")
        except (ValueError, OSError) as err:
            raise ValueError(
                f"{path} cannot be read ({err}); move it away, or start over with --fresh"
            ) from None
        if state.get("root") is not None:
            book.root = (book.out / state["root"]).resolve()
        book.roster = state.get("roster")
        book.reports = state.get("reports", {})
        return book

    def root_for(self, paths: list[Path], files: list[Path]) -> Path:
        """The submissions folder the names are relative to: the one kept from earlier runs
        (every file must be under it), else the folder given (or the folder all the paths given
        are in)."""
        if self.root is not None:
            outside = [f for f in files if not _under(f, self.root)]
            if outside:
                raise ValueError(
                    f"{outside[0]} is not under {self.root}, the submissions folder of the grades "
                    f"kept in {self.out}: grade it with another --out, or start over with --fresh"
                )
            return self.root
        folders = [p.resolve() if p.is_dir() else p.resolve().parent for p in paths]
        self.root = Path(os.path.commonpath([str(f) for f in folders])) if folders else Path.cwd()
        return self.root

    def set_roster(self, rows: list[dict[str, str]]) -> None:
        self.roster = rows

    def merge(self, reports: list[dict[str, Any]]) -> None:
        """Put in (or replace) these submissions' reports."""
        for report in reports:
            kept = {k: v for k, v in report.items() if k not in ("executed", "prepared")}
            self.reports[report["submission"]] = kept

    # ------------------------------------------------------------------ the class
    def student_of(self, name: str) -> tuple[str, bool]:
        """The student a submission belongs to, and whether the roster says so: the roster's
        row that claims it, else the first folder of its path, else its file name."""
        for row in self.roster or []:
            if _claims(row["file"], name):
                return row["student"], True
        parts = PurePosixPath(name).parts
        return (parts[0] if len(parts) > 1 else PurePosixPath(name).stem), False

    def class_view(self) -> dict[str, Any]:
        """Students, their best submission per notebook, and the roster's findings."""
        reports = sorted(self.reports.values(), key=lambda r: r["submission"])
        by_student: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
        unmatched, notes = [], defaultdict(list)
        for r in reports:
            student, listed = self.student_of(r["submission"])
            r["student"] = student
            if self.roster is not None and not listed:
                unmatched.append(r["submission"])
            by_student[student][r["notebook"]].append(r)
        missing = []
        if self.roster is not None:
            for row in self.roster:
                if not any(_claims(row["file"], r["submission"]) for r in reports):
                    missing.append(f"{row['student']}: {row['file'] or '(no file given)'}")
        duplicates = []
        by_hash: dict[str, list[str]] = defaultdict(list)
        by_work: dict[str, list[dict]] = defaultdict(list)
        for r in reports:
            by_hash[r["sha256"]].append(r["submission"])
            if r.get("work"):
                by_work[(r["notebook"], r["work"])].append(r)
        for names in by_hash.values():
            if len(names) > 1:
                duplicates.append("identical files: " + ", ".join(names))
                for name in names:
                    others = ", ".join(n for n in names if n != name)
                    notes[name].append(f"an identical file was submitted as {others}")
        for group in by_work.values():
            students = sorted({r["student"] for r in group})
            if len(students) > 1 and len({r["sha256"] for r in group}) > 1:
                names = [r["submission"] for r in group]
                duplicates.append("the same code in the exercises: " + ", ".join(names))
                for r in group:
                    others = ", ".join(n for n in names if n != r["submission"])
                    notes[r["submission"]].append(f"the same code in its exercises as {others}")
        notebooks = sorted({r["notebook"] for r in reports if r["notebook"]})
        best: dict[str, dict[str, dict]] = {}
        for student, per in by_student.items():
            best[student] = {}
            for stem, group in per.items():
                if not stem:
                    continue
                chosen = max(group, key=lambda r: (_points(r), r["submission"]))
                best[student][stem] = chosen
                if len(group) > 1:
                    names = ", ".join(r["submission"] for r in group)
                    for r in group:
                        notes[r["submission"]].append(
                            f"{student} has {len(group)} submissions of {stem} ({names}); "
                            f"{chosen['submission']} counts"
                        )
        if self.roster is not None:
            for row in self.roster:
                best.setdefault(row["student"], {})
        return {
            "reports": reports,
            "students": best,
            "notebooks": notebooks,
            "missing": missing,
            "unmatched": unmatched,
            "duplicates": duplicates,
            "class_notes": notes,
        }

    # ------------------------------------------------------------------ writing
    def write(self, references: dict[str, Reference]) -> list[Path]:
        """Write the gradebook and every report into :attr:`out`; the paths written."""
        self.out.mkdir(parents=True, exist_ok=True)
        view = self.class_view()
        maxima = {
            stem: references[stem].max_points() if stem in references else 0.0
            for stem in view["notebooks"]
        }
        state = {
            "version": VERSION,
            "root": os.path.relpath(self.root, self.out.resolve()) if self.root else None,
            "roster": self.roster,
            "reports": self.reports,
        }
        texts = {
            STATE: json.dumps(state, indent=1, ensure_ascii=False) + "\n",
            "grades.csv": exercises_csv(view),
            "students.csv": students_csv(view, maxima),
            "grades.md": markdown(view, maxima),
            "grades.html": html_page(view, maxima),
            "answers.md": answers_markdown(view, references),
        }
        written = []
        for name, text in texts.items():
            write_atomic(self.out / name, text)
            written.append(self.out / name)
        return written


def _under(path: Path, root: Path) -> bool:
    try:
        Path(path).resolve().relative_to(Path(root).resolve())
        return True
    except ValueError:
        return False


def _points(report: dict[str, Any]) -> float:
    return sum(r["points"] for r in report["exercises"])


def _notes(report: dict[str, Any], view: dict[str, Any]) -> list[str]:
    return report["notes"] + view["class_notes"].get(report["submission"], [])


# ------------------------------------------------------------------------ CSV
def _csv(rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(rows)
    return buffer.getvalue()


def exercises_csv(view: dict[str, Any]) -> str:
    """A row per submission and exercise (one row with an empty exercise when none was
    graded)."""
    rows = [
        [
            "submission",
            "student",
            "notebook",
            "exercise",
            "kind",
            "title",
            "status",
            "points",
            "max_points",
            "detail",
            "written_answer",
            "notebook_points",
            "problem",
            "notes",
            "tampering",
        ]
    ]
    for r in view["reports"]:
        tail = [
            _num(_points(r)) if r["exercises"] else "",
            r["problem"],
            "; ".join(_notes(r, view)),
            "; ".join(r["tampering"]),
        ]
        head = [r["submission"], r["student"], r["notebook"]]
        for e in r["exercises"] or [None]:
            if e is None:
                rows.append([*head, "", "", "", "", "", "", "", "", *tail])
                continue
            answer = (e.get("answer") or {}).get("status", "")
            rows.append(
                [
                    *head,
                    e["number"],
                    e["kind"],
                    e["title"],
                    e["status"],
                    _num(e["points"]),
                    _num(e["max_points"]),
                    e["detail"],
                    answer,
                    *tail,
                ]
            )
    return _csv(rows)


def students_csv(view: dict[str, Any], maxima: dict[str, float]) -> str:
    """A row per student: points per notebook (0 when none was submitted), the total, the
    maximum, the percentage, and the notes that concern the student."""
    stems = view["notebooks"]
    rows = [["student", *stems, "total", "max", "percent", "notes"]]
    out_of = sum(maxima.values())
    for student in sorted(view["students"]):
        best = view["students"][student]
        points = [_points(best[s]) if s in best else 0.0 for s in stems]
        notes = [f"no submission of {s}" for s in stems if s not in best]
        for s in stems:
            if s in best:
                r = best[s]
                flags = [r["problem"]] if r["problem"] else []
                flags += ["tampering"] if r["tampering"] else []
                flags += view["class_notes"].get(r["submission"], [])
                notes += [f"{s}: {f}" for f in flags]
        total = sum(points)
        percent = f"{100 * total / out_of:.1f}" if out_of else ""
        rows.append(
            [student, *map(_num, points), _num(total), _num(out_of), percent, "; ".join(notes)]
        )
    return _csv(rows)


# ------------------------------------------------------------------------ markdown and HTML
def _header(group: list[dict[str, Any]]) -> list[str]:
    first = next((r for r in group if r["exercises"]), None)
    return [
        f"{e['number']}" + (f" · {e['kind']}" if e["kind"] else "")
        for e in (first["exercises"] if first else [])
    ]


def _titles(group: list[dict[str, Any]]) -> list[str]:
    first = next((r for r in group if r["exercises"]), None)
    return [
        f"{e['number']}: {e['title']} ({_num(e['max_points'])} pt)"
        for e in (first["exercises"] if first else [])
    ]


def _groups(view: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    order = sorted({r["notebook"] for r in view["reports"]}, key=lambda s: (s == "", s))
    return [(s, [r for r in view["reports"] if r["notebook"] == s]) for s in order]


def _roster_lines(view: dict[str, Any]) -> list[str]:
    lines = []
    if view["missing"]:
        lines.append("Missing (in the roster, no file): " + "; ".join(view["missing"]) + ".")
    if view["unmatched"]:
        lines.append("Not in the roster: " + ", ".join(view["unmatched"]) + ".")
    lines += [d[0].upper() + d[1:] + "." for d in view["duplicates"]]
    return lines


def markdown(view: dict[str, Any], maxima: dict[str, float]) -> str:
    """The grades as markdown: the class, a table per notebook, then every detail."""
    marks = MARKS
    legend = ", ".join(f"{mark} {status}" for status, mark in marks.items())
    reports = view["reports"]
    lines = [
        "# Grades",
        "",
        f"{len(reports)} submission(s) from {len(view['students'])} student(s). {legend}. "
        "Written answers: answers.md; a row per student: students.csv.",
        "",
    ]
    roster = _roster_lines(view)
    if roster:
        lines += ["## The class", "", *[f"- {line}" for line in roster], ""]
    for stem, group in _groups(view):
        lines += [f"## {stem or 'Not graded'}", ""]
        header = _header(group) if stem else []
        if _titles(group):
            lines += ["Exercises: " + "; ".join(_titles(group)) + ".", ""]
        lines.append("| submission | student | points | " + " | ".join(header + ["problem"]) + " |")
        lines.append("|" + "---|" * (len(header) + 4))
        for r in group:
            shown = f"{_num(_points(r))}/{_num(maxima.get(stem, 0))}" if stem else ""
            row = [
                r["submission"],
                r["student"],
                shown,
                *[marks[e["status"]] for e in r["exercises"]],
            ]
            row.append(r["problem"].replace("|", "/"))
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    details = [
        f"- {r['submission']}, exercise {e['number']}: {e['status']}: {e['detail']}"
        for r in reports
        for e in r["exercises"]
        if e["status"] not in ("passed", "not attempted") and e["detail"]
    ]
    details += [f"- {r['submission']}: {n}" for r in reports for n in _notes(r, view)]
    details += [f"- {r['submission']}: tampering: {t}" for r in reports for t in r["tampering"]]
    if details:
        lines += ["## Details", "", *details, ""]
    return "\n".join(lines)


def html_page(view: dict[str, Any], maxima: dict[str, float]) -> str:
    """The grades as one HTML page: the tables of :func:`markdown`, each failure's message as
    its cell's tooltip."""
    esc, marks = html.escape, MARKS
    parts = [
        "<!doctype html><meta charset='utf-8'><title>Grades</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;"
        "margin-bottom:2em}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
        ".passed{background:#e6f4e6}.failed,.copied{background:#fbe3e3}"
        ".timed,.incomplete{background:#fff1d6}</style>",
        f"<h1>Grades</h1><p>{len(view['reports'])} submission(s) from "
        f"{len(view['students'])} student(s). "
        + esc(", ".join(f"{m} {s}" for s, m in marks.items()))
        + "</p>",
    ]
    roster = _roster_lines(view)
    if roster:
        parts.append("<h2>The class</h2><ul>" + "".join(f"<li>{esc(x)}</li>" for x in roster))
        parts.append("</ul>")
    for stem, group in _groups(view):
        header = _header(group) if stem else []
        parts.append(f"<h2>{esc(stem or 'Not graded')}</h2>")
        if _titles(group):
            parts.append(f"<p>Exercises: {esc('; '.join(_titles(group)))}.</p>")
        parts.append(
            "<table><tr><th>submission</th><th>student</th><th>points</th>"
            + "".join(f"<th>{esc(h)}</th>" for h in header)
            + "<th>problem and notes</th></tr>"
        )
        for r in group:
            shown = f"{_num(_points(r))}/{_num(maxima.get(stem, 0))}" if stem else ""
            row = [f"<td>{esc(r['submission'])}</td><td>{esc(r['student'])}</td>"]
            row.append(f"<td>{esc(shown)}</td>")
            for e in r["exercises"]:
                klass = e["status"].split()[0]
                title = esc(f"{e['status']}: {e['detail']}" if e["detail"] else e["status"])
                row.append(
                    f"<td class='{klass}' title='{title}'>{esc(marks[e['status']])} "
                    f"{esc(e['status'])}</td>"
                )
            extra = [r["problem"], *_notes(r, view), *(f"tampering: {t}" for t in r["tampering"])]
            row.append("<td>" + "<br>".join(esc(x) for x in extra if x) + "</td>")
            parts.append("<tr>" + "".join(row) + "</tr>")
        parts.append("</table>")
    return "\n".join(parts) + "\n"


def answers_markdown(view: dict[str, Any], references: dict[str, Reference]) -> str:
    """Every written answer, exercise by exercise, after the course's own answer."""
    lines = ["# Written answers", ""]
    for stem, group in _groups(view):
        ref = references.get(stem)
        if not stem or ref is None:
            continue
        for part in (p for p in ref.parts if p.written):
            lines += [f"## {stem}, {part.title}", ""]
            if part.answer_text:
                lines += ["**The course's answer.**", "", _quote(part.answer_text), ""]
            for r in group:
                row = next((e for e in r["exercises"] if e["number"] == part.number), None)
                answer = (row or {}).get("answer") or {"status": "not attempted", "text": ""}
                status = row["status"] if row else "?"
                head = f"**{r['submission']}** ({r['student']}; exercise {status})"
                if answer["status"] == "written":
                    lines += [head, "", _quote(answer["text"]), ""]
                else:
                    lines += [f"{head}: *not attempted (blank)*", ""]
    return "\n".join(lines)


def _quote(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in text.splitlines())


# ------------------------------------------------------------------------ feedback notebooks
def feedback_notebook(
    executed: nbformat.NotebookNode, report: dict[str, Any], prepared: Prepared
) -> nbformat.NotebookNode:
    """The executed notebook as the student sees it, with the grader's verdict after each
    check (and after each written answer), and a summary at the top. The grader's own cells
    are left out."""
    marks = MARKS
    nb = nbformat.from_dict(json.loads(json.dumps(executed)))
    rows = {e["number"]: e for e in report["exercises"]}
    kept = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).pop(GRADE, {})
        role = meta.get("role")
        if role in ("before", "after", "keep", "start"):
            continue
        if role == "check":
            number = meta["exercise"]
            cell.source = prepared.checks.get(number, cell.source)
            cell.outputs = [
                o for o in cell.get("outputs", []) if grade_guard.MIME not in o.get("data", {})
            ]
            kept.append(cell)
            row = rows.get(number)
            if row is not None:
                text = (
                    f"**Grader, exercise {number}: {marks[row['status']]} {row['status']}**, "
                    f"{_num(row['points'])} of {_num(row['max_points'])} point(s)"
                )
                text += f". {row['detail']}" if row["detail"] else "."
                kept.append(_note(text))
            continue
        kept.append(cell)
        if role == "yours":
            row = rows.get(meta.get("exercise"))
            answer = (row or {}).get("answer") or {}
            if answer.get("status") == "written":
                kept.append(
                    _note("**Grader:** your written answer was collected for your teacher.")
                )
            elif row is not None:
                kept.append(
                    _note("**Grader:** your written answer is blank: the exercise is not complete.")
                )
    summary = [
        f"**Feedback from the grader** on `{report['submission']}` ({report['notebook']}), "
        f"{report['graded']}: {points_text(report)}."
    ]
    summary += [f"- {report['problem']}"] if report["problem"] else []
    summary += [f"- {n}" for n in report["notes"]]
    summary += [f"- tampering: {t}" for t in report["tampering"]]
    nb.cells = [_note("\n".join(summary)), *kept]
    nb.metadata.pop(GRADE, None)
    return nb


def _note(text: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(text)
    cell.metadata["tags"] = ["grader-feedback"]
    return cell


def write_feedback(
    folder: Path, report: dict[str, Any], executed: nbformat.NotebookNode, prepared: Prepared
) -> Path:
    """Write the feedback notebook to ``folder/<submission>`` (``.ipynb`` added if need be)."""
    name = report["submission"]
    name = name if name.endswith(".ipynb") else name + ".ipynb"
    path = Path(folder) / PurePosixPath(name)
    write_atomic(path, nbformat.writes(feedback_notebook(executed, report, prepared)) + "\n")
    return path


__all__ = [
    "Gradebook",
    "answers_markdown",
    "exercises_csv",
    "feedback_notebook",
    "html_page",
    "markdown",
    "points_text",
    "read_roster",
    "relative_name",
    "students_csv",
    "write_feedback",
]
