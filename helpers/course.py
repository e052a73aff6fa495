"""Run the course's notebooks headless with papermill: ``python -m helpers.course``.

    python -m helpers.course                   # every notebook, default (full) parameters
    python -m helpers.course --smoke           # every notebook in seconds, for a quick check
    python -m helpers.course --only 01 03 -p seed 1
    python -m helpers.course --inplace         # re-execute the committed notebooks in notebooks/

Executed copies go to ``build/executed/`` and each notebook's headline numbers to
``build/results/<notebook>.json``. For every notebook it prints the status, the wall time and the
headline numbers; it carries on past a failing notebook and exits non-zero if any failed.
``--inplace`` writes the outputs back into ``notebooks/`` and cleans them for committing (no
papermill metadata, no progress-bar widgets).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat

PROJECT_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = PROJECT_ROOT / "notebooks"
BUILD = PROJECT_ROOT / "build"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
_PROGRESS = re.compile(r"\r|\d+%\|")


def notebooks(only: list[str] | None = None) -> list[Path]:
    """The course's notebooks in order; ``only`` keeps those whose name starts with one of its prefixes."""
    found = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if only:
        unknown = [o for o in only if not any(nb.name.startswith(o) for nb in found)]
        if unknown:
            names = ", ".join(nb.stem for nb in found)
            raise ValueError(f"--only {' '.join(unknown)} matches no notebook; the notebooks are: {names}")
        found = [nb for nb in found if any(nb.name.startswith(o) for o in only)]
    return found


def parse_value(text: str) -> Any:
    """Turn a ``-p NAME VALUE`` string into a Python value as papermill does: True/False/None, int, float, str."""
    if text in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[text]
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def check_overrides(notebook: Path, overrides: dict[str, Any]) -> None:
    """Raise ``ValueError`` if ``notebook``'s parameters cell does not define every override."""
    import papermill

    known = papermill.inspect_notebook(str(notebook))
    unknown = sorted(set(overrides) - set(known))
    if unknown:
        raise ValueError(f"{notebook.name} has no parameter {', '.join(unknown)}; "
                         f"its parameters are: {', '.join(known)}")


def clean_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Strip what a committed notebook should not carry: papermill metadata and progress bars."""
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if "tags" in cell.metadata and not cell.metadata["tags"]:
            del cell.metadata["tags"]
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.outputs:
            if WIDGET_MIME in out.get("data", {}):
                continue
            if out.output_type == "stream" and out.name == "stderr" and _PROGRESS.search(out.text):
                continue
            kept.append(out)
        cell.outputs = kept
    return nb


def _error_summary(nb_path: Path) -> str:
    """The failing cell's number and the last line of its error, from an executed notebook."""
    try:
        nb = nbformat.read(nb_path, as_version=4)
    except Exception:
        return "no executed notebook was written"
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return f"cell [{cell.get('execution_count')}]: {out['ename']}: {out['evalue']}".splitlines()[0]
    return "unknown error"


def _write_atomic(nb: nbformat.NotebookNode, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".ipynb", dir=path.parent)
    os.close(fd)
    try:
        nbformat.write(nb, tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def run_notebook(notebook: Path, *, parameters: dict[str, Any], out_dir: Path, inplace: bool = False) -> dict[str, Any]:
    """Execute one notebook; return ``{"name", "status", "seconds", "results", "error"}``.

    The executed copy is written atomically: an interrupted run leaves the previous file intact.
    """
    import papermill

    out_dir.mkdir(parents=True, exist_ok=True)
    tmp_out = out_dir / f".{notebook.stem}.running.ipynb"
    start = time.perf_counter()
    status, error = "ok", ""
    try:
        papermill.execute_notebook(str(notebook), str(tmp_out), parameters=parameters or None,
                                   cwd=str(notebook.parent), progress_bar=False, kernel_name="python3")
    except papermill.PapermillExecutionError as err:
        status = "FAILED"
        error = f"cell [{err.exec_count}]: {err.ename}: {err.evalue}".splitlines()[0]
    except Exception as err:  # the kernel died, the notebook could not be read, ...
        status = "FAILED"
        error = f"{type(err).__name__}: {err}".splitlines()[0]
    seconds = time.perf_counter() - start
    if tmp_out.exists():
        nb = nbformat.read(tmp_out, as_version=4)
        tmp_out.unlink()
        target = notebook if inplace and status == "ok" else out_dir / notebook.name
        _write_atomic(clean_notebook(nb) if inplace else nb, target)
    results: dict[str, Any] = {}
    results_dir = parameters.get("results_dir")
    if results_dir and (Path(results_dir) / f"{notebook.stem}.json").exists():
        results = json.loads((Path(results_dir) / f"{notebook.stem}.json").read_text())
    return {"name": notebook.stem, "status": status, "seconds": seconds, "results": results, "error": error}


def _headline(results: dict[str, Any], width: int = 110) -> str:
    parts = []
    for key, value in results.items():
        if isinstance(value, float):
            value = f"{value:.4g}"
        elif isinstance(value, (dict, list)):
            continue
        parts.append(f"{key}={value}")
    text = "  ".join(parts)
    return text if len(text) <= width else text[: width - 3] + "..."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.course", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="run every notebook with smoke=True (seconds each)")
    parser.add_argument("--only", nargs="+", metavar="NN", help="run only notebooks whose names start with these")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="override a parameter in every notebook (papermill's -p)")
    parser.add_argument("--inplace", action="store_true",
                        help="write outputs back into notebooks/ (cleaned for committing)")
    parser.add_argument("--build-dir", type=Path, default=BUILD, help="where executed copies and results go")
    args = parser.parse_args(argv)

    overrides = {name: parse_value(value) for name, value in args.parameter}
    if args.smoke:
        overrides["smoke"] = True
    try:
        selected = notebooks(args.only)
        if not selected:
            raise ValueError(f"no notebooks found in {NOTEBOOKS}")
        for nb in selected:
            check_overrides(nb, overrides)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.inplace and overrides:
        print("error: --inplace commits default-parameter runs; it takes no --smoke or -p", file=sys.stderr)
        return 2
    results_dir = args.build_dir.resolve() / "results"
    parameters = dict(overrides) if args.inplace else {**overrides, "results_dir": str(results_dir)}
    out_dir = args.build_dir / "executed"
    print(f"running {len(selected)} notebook(s){' in smoke mode' if args.smoke else ''}"
          f"{' in place' if args.inplace else f', executed copies in {out_dir}'}", flush=True)
    rows = []
    for nb in selected:
        row = run_notebook(nb, parameters=parameters, out_dir=out_dir, inplace=args.inplace)
        rows.append(row)
        print(f"{row['name']:<28} {row['status']:<6} {row['seconds']:7.1f} s  "
              f"{row['error'] or _headline(row['results'])}", flush=True)
    failed = [r["name"] for r in rows if r["status"] != "ok"]
    total = sum(r["seconds"] for r in rows)
    print(f"{len(rows) - len(failed)} passed, {len(failed)} failed in {total:.1f} s"
          + (f": {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
