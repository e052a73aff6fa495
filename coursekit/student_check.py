"""Check the student package (``make student CHECK=1``): grade each student notebook of
``build/student/`` in smoke mode, as a class's would be, the Chinese ones (``zh_CN/``) too:
every exercise must be "not attempted" (the stub's ``NotImplementedError``), nothing else may
fail, and no check or solution output may show.

    python -m coursekit.student_check [--only 03]

It lives apart from :mod:`coursekit.student` because the grader itself builds student editions.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from helpers._internal.paths import NOTEBOOKS

from . import grade
from .cells import CHINESE, chinese_editions
from .run import selected_notebooks
from .student import STUDENT, leaks


def edition_problems(report: dict) -> list[str]:
    """What is wrong with a graded student edition (a :func:`coursekit.grade.grade_file` result):
    every exercise must be "not attempted", and nothing else may fail."""
    problems = [report["problem"]] if report["problem"] else []
    problems += report["notes"] + [f"tampering: {t}" for t in report.get("tampering", [])]
    problems += [
        f"exercise {r['number']}: {r['status']}{': ' + r['detail'] if r['detail'] else ''} "
        "(expected: not attempted, the stub's NotImplementedError)"
        for r in report["exercises"]
        if r["status"] != "not attempted"
    ]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m coursekit.student_check", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--notebooks", type=Path, default=NOTEBOOKS, help="the course's notebooks")
    parser.add_argument("--out", type=Path, default=STUDENT, help="the package's folder")
    parser.add_argument("--only", nargs="+", metavar="NN", help="only these notebooks")
    args = parser.parse_args(argv)
    sources = selected_notebooks(args.only, args.notebooks)
    references = grade.load_references(sources)
    broken = 0
    pairs = [(source, args.out / "notebooks" / source.name) for source in sources]
    pairs += [(zh, args.out / "notebooks" / CHINESE / zh.name) for zh in chinese_editions(sources)]
    for source, path in pairs:
        if not path.exists():
            print(f"error: {path} does not exist: run `make student` first", file=sys.stderr)
            return 2
        full, edition = (nbformat.read(p, as_version=4) for p in (source, path))
        found = [f"shows {line!r}, printed by a check or solution" for line in leaks(full, edition)]
        found += edition_problems(grade.grade_file(path, references))
        broken += bool(found)
        verdict = "ok, every exercise 'not attempted'" if not found else "BROKEN"
        where = path.relative_to(args.out / "notebooks").with_suffix("")
        print(f"{where}: {verdict}" + "".join(f"\n  {p}" for p in found), flush=True)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
