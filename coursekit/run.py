"""Run the course's notebooks headless with papermill: ``python -m coursekit.run``.

    python -m coursekit.run                   # every notebook, default (full) parameters
    python -m coursekit.run --smoke           # every notebook in seconds, for a quick check
    python -m coursekit.run --only 01 03 -p seed 1
    python -m coursekit.run --inplace         # re-execute the committed notebooks in notebooks/

Executed copies go to ``build/executed/`` and each notebook's headline numbers to
``build/results/<notebook>.json`` (or to ``-p results_dir DIR``); folders given with ``-p`` are
relative to the folder the command runs in. What the kernels print outside their cells goes to
``build/kernel.log``. For every notebook it prints the status, the wall time and the
headline numbers (a progress bar on stderr shows the notebook in progress); it carries on past a
failing notebook, naming the notebook, the cell and the error, and exits non-zero if any failed.
After the run it writes the course report, ``build/report.md`` and ``build/report.html`` (see
``coursekit.report``), with key figures in ``build/figures/``. Ctrl-C stops the run: notebooks
finished so far stay intact, the report is still written, and the exit code is 130; ``kill``
(SIGTERM, a CI timeout) is handled the same way, with exit code 143.
``--inplace`` writes the outputs back into ``notebooks/`` and cleans them for committing (no
papermill metadata, no progress-bar widgets).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import nbformat
from jupyter_client.manager import AsyncKernelManager
from traitlets.config import Config

from helpers._internal import files
from helpers._internal.files import WriteError
from helpers._internal.paths import BUILD, NOTEBOOKS

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
_PROGRESS = re.compile(r"\r|\d+%\|")
_SIGNALS = (signal.SIGINT, signal.SIGTERM)
EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_TERMINATED = 1, 2, 130, 143
KERNEL_LOG = "kernel.log"  # in the build folder: what the kernels print outside their cells


def kernel_options(
    log: IO[str] | None = None, ipc_dir: str | os.PathLike | None = None
) -> dict[str, Any]:
    """Options for ``papermill.execute_notebook`` that keep the kernel quiet on the terminal.

    Kernels talk to the runner over local sockets (IPC) where the OS has them: nothing listens on
    a TCP port, so ipykernel has no "running over TCP without encryption" warning to print. The
    socket files go into ``ipc_dir``, a folder of this kernel's own: jupyter_client's default,
    ``kernel-ipc-1`` ... in the current folder, is shared by every runner started there, and two
    kernels starting at once then pick the same files and fail with "Invalid Signature". With
    ``log``, the kernel process's own stderr (ipykernel's log, such as the ZMQError traceback of a
    kernel shut down mid-cell by Ctrl-C) goes there instead of the terminal; what the cells print
    still goes into the notebook.
    """
    options: dict[str, Any] = {}
    if os.name == "posix":
        manager: dict[str, Any] = {"transport": "ipc"}
        if ipc_dir is not None:
            manager["ip"] = os.path.join(ipc_dir, "kernel")
        options["config"] = Config({"KernelManager": manager})
    if log is not None:

        class LoggedKernelManager(AsyncKernelManager):
            async def start_kernel(self, **kw: Any) -> None:
                kw.setdefault("stderr", log)  # passed on to the kernel's Popen
                await super().start_kernel(**kw)

        options["kernel_manager_class"] = LoggedKernelManager
    return options


class NotebookError(ValueError):
    """A notebook file cannot be read: missing, unreadable, truncated or not a notebook."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, a CI timeout), handled like Ctrl-C."""


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """``nbformat.read(path)``; any failure is one :class:`NotebookError` naming the file."""
    try:
        return nbformat.read(path, as_version=4)
    except FileNotFoundError:
        raise NotebookError(f"{path} does not exist") from None
    except OSError as err:
        raise NotebookError(f"cannot read {path}: {err.strerror or err}") from None
    except Exception as err:  # NotJSONError, JSONDecodeError, UnicodeDecodeError, KeyError, ...
        detail = " ".join(str(err).split())[:120] or type(err).__name__
        raise NotebookError(
            f"{path} is not a valid notebook ({detail}); restore it, for instance with "
            f"git checkout -- {path.name}, or delete it"
        ) from None


def write_notebook(nb: nbformat.NotebookNode, path: Path) -> Path:
    """Write ``nb`` to ``path`` atomically (:func:`helpers._internal.files.write_atomic`)."""
    return files.write_atomic(path, nbformat.writes(nb) + "\n")


def notebooks(only: list[str] | None = None, folder: Path = NOTEBOOKS) -> list[Path]:
    """The course's notebooks in ``folder``, in order; ``only`` keeps those whose name starts
    with one of its prefixes."""
    found = sorted(Path(folder).glob("[0-9][0-9]_*.ipynb"))
    found += sorted(Path(folder).glob("A[0-9]_*.ipynb"))  # the appendices, after the course
    if only:
        unknown = [o for o in only if not any(nb.name.startswith(o) for nb in found)]
        if unknown:
            names = ", ".join(nb.stem for nb in found)
            raise ValueError(
                f"--only {' '.join(unknown)} matches no notebook; the notebooks are: {names}"
            )
        found = [nb for nb in found if any(nb.name.startswith(o) for o in only)]
    return found


def parse_value(text: str) -> Any:
    """Turn a ``-p NAME VALUE`` string into a Python value as papermill does: True/False/None,
    int, float, str."""
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
        raise ValueError(
            f"{notebook.name} has no parameter {', '.join(unknown)}; "
            f"its parameters are: {', '.join(known) or 'none (no cell tagged parameters)'}"
        )


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


def error_line(exec_count: int | None, ename: str, evalue: str) -> str:
    """``cell [7]: ValueError: boom``: the failing cell (as Jupyter numbers it) and the error, on
    one line."""
    message = f"{ename}: {evalue}" if evalue else ename
    return f"cell [{exec_count if exec_count is not None else '?'}]: {message}".splitlines()[0]


def _how(err: BaseException) -> str:
    return "SIGTERM" if isinstance(err, Terminated) else "Ctrl-C"


def _describe(err: BaseException, out_dir: Path) -> str:
    """One line for an error outside the notebook's cells (a full disk is named as such)."""
    if files.disk_full(err):
        return (
            f"no space left on device while writing into {out_dir}; free some space and run "
            "again (earlier executed copies are unchanged)"
        )
    return f"{type(err).__name__}: {err}".splitlines()[0]


def selected_notebooks(only: list[str] | None, folder: Path) -> list[Path]:
    """:func:`notebooks`, but ``ValueError`` when ``folder`` holds none (for the command-line
    tools)."""
    found = notebooks(only, folder=folder)
    if not found:
        raise ValueError(f"no notebooks found in {folder}")
    return found


def run_notebook(
    notebook: Path,
    *,
    parameters: dict[str, Any],
    out_dir: Path,
    inplace: bool = False,
    progress: dict[str, Any] | bool = False,
    kernel_log: IO[str] | None = None,
) -> dict[str, Any]:
    """Execute one notebook; return ``{"name", "status", "seconds", "results", "error", "path"}``.

    ``status`` is ``"ok"``, ``"FAILED"`` or ``"interrupted"`` (Ctrl-C or SIGTERM; then
    ``"interrupt"`` holds the ``KeyboardInterrupt``). A full disk, a half-written notebook or
    unreadable results make it ``"FAILED"`` with one line naming what to do. The executed copy is
    written atomically: an interrupted run leaves the previous file intact; ``path`` is where it
    is (None if nothing was written). ``progress`` is papermill's per-cell progress bar (False,
    True or tqdm options); ``kernel_log`` an open file for the kernel's own stderr (see
    :func:`kernel_options`).
    """
    import papermill

    out_dir.mkdir(parents=True, exist_ok=True)
    # papermill writes the notebook as it runs: to a name no other runner uses, never the target
    files.clean_stale_temps(out_dir / notebook.name)
    tmp_out = files.temp_path(out_dir / notebook.name, ".ipynb")
    results_dir = parameters.get("results_dir")
    results_file = Path(results_dir) / f"{notebook.stem}.json" if results_dir else None
    if results_file is not None:
        results_file.unlink(missing_ok=True)  # never report an earlier run's numbers
    start = time.perf_counter()
    status, error, interrupt = "ok", "", None
    try:
        with tempfile.TemporaryDirectory(prefix="kernel-") as ipc_dir:
            papermill.execute_notebook(
                str(notebook),
                str(tmp_out),
                parameters=parameters or None,
                cwd=str(notebook.parent),
                progress_bar=progress,
                kernel_name="python3",
                **kernel_options(kernel_log, ipc_dir),
            )
    except KeyboardInterrupt as err:
        status, interrupt = "interrupted", err
        error = f"interrupted ({_how(err)}); the previous executed copy, if any, is untouched"
    except papermill.PapermillExecutionError as err:
        if err.ename == "KeyboardInterrupt":  # the kernel got the Ctrl-C first
            status = "interrupted"
            error = "interrupted (Ctrl-C) in " + error_line(err.exec_count, err.ename, "")
        else:
            status, error = "FAILED", error_line(err.exec_count, err.ename, err.evalue)
    except Exception as err:  # the kernel died, the disk is full, ...
        status, error = "FAILED", _describe(err, out_dir)
    seconds = time.perf_counter() - start
    path = None
    try:
        if tmp_out.exists() and status != "interrupted":
            nb = read_notebook(tmp_out)
            target = notebook if inplace and status == "ok" else out_dir / notebook.name
            write_notebook(clean_notebook(nb) if inplace else nb, target)
            path = target
    except (NotebookError, WriteError) as err:  # half-written by papermill, or a full disk
        status, error = "FAILED", error or _describe(err, out_dir)
    finally:
        tmp_out.unlink(missing_ok=True)
    results: dict[str, Any] = {}
    if status == "ok" and results_file is not None and results_file.exists():
        try:
            results = json.loads(results_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            status, error = "FAILED", f"cannot read its results {results_file}: {err}"
    return {
        "name": notebook.stem,
        "status": status,
        "seconds": seconds,
        "results": results,
        "error": error,
        "path": str(path) if path else None,
        **({"interrupt": interrupt} if interrupt is not None else {}),
    }


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


@contextlib.contextmanager
def _signal_handlers(handlers: dict[int, Any]) -> Iterator[None]:
    """Install ``{signal: handler}`` for the block; a no-op outside the main thread."""
    try:
        previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def _kernel_log(path: Path) -> Iterator[IO[str] | None]:
    """The kernels' log file, opened for this run (None where it cannot be written)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        log = open(path, "w", encoding="utf-8")  # noqa: SIM115 (closed below)
    except OSError:
        yield None
        return
    try:
        yield log
    finally:
        log.close()


def _raise_terminated(signum: int, frame: Any) -> None:
    """SIGTERM (``kill``, a CI timeout) stops the run as Ctrl-C does."""
    raise Terminated()


def _fail_on_claims(row: dict[str, Any]) -> None:
    """Mark a full run FAILED when a claim of its claims cell does not hold, naming the claims.

    The claims cell itself never raises (a student with an unlucky seed still finishes the
    notebook); the runner is where a claim that the text makes but the run contradicts fails.
    """
    from . import report

    results = row["results"]
    if not results and row.get("path"):
        try:
            results = report.results_from_notebook(read_notebook(Path(row["path"])))
        except NotebookError:
            return
    claims = results.get("claims") if isinstance(results, dict) else None
    failed = [c for c, holds in (claims or {}).items() if holds is False]
    if failed:
        row["status"] = "FAILED"
        row["error"] = "claims that do not hold in this run: " + "; ".join(failed)


def _finish_row(row: dict[str, Any], source: Path, build_dir: Path) -> dict[str, Any]:
    """Add the notebook's title, key figures and (for in-place runs) displayed results; paths
    relative to build/."""
    from . import cells, report

    path = row.pop("path", None)
    row.update(title=row["name"], executed=None, figures=[])
    try:
        row["title"] = cells.title(read_notebook(source), row["name"])
    except NotebookError:  # unreadable: the report still lists the notebook
        pass
    if not path:
        return row
    row["executed"] = os.path.relpath(path, build_dir)
    try:
        nb = read_notebook(Path(path))
        if row["status"] == "ok":
            if not row["results"]:
                row["results"] = report.results_from_notebook(nb)
            figures = report.extract_figures(nb, row["name"], build_dir / "figures")
            row["figures"] = [os.path.relpath(f, build_dir) for f in figures]
    except (NotebookError, WriteError):  # the report is still written, without its figures
        pass
    return row


def main(argv: list[str] | None = None) -> int:
    from tqdm import tqdm

    from . import report

    parser = argparse.ArgumentParser(
        prog="python -m coursekit.run", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--smoke", action="store_true", help="run every notebook with smoke=True (seconds each)"
    )
    parser.add_argument(
        "--only", nargs="+", metavar="NN", help="run only notebooks whose names start with these"
    )
    parser.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="override a parameter in every notebook (papermill's -p)",
    )
    parser.add_argument(
        "--inplace",
        action="store_true",
        help="write outputs back into notebooks/ (cleaned for committing)",
    )
    parser.add_argument(
        "--build-dir",
        type=Path,
        default=BUILD,
        help="where executed copies, results, figures and the report go",
    )
    parser.add_argument(
        "--notebooks", type=Path, default=NOTEBOOKS, help="the folder of NN_name.ipynb notebooks"
    )
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)

    overrides = {name: parse_value(value) for name, value in args.parameter}
    for name, value in overrides.items():
        if name.endswith("_dir") and isinstance(value, str):
            # a folder given on the command line is relative to where the command was typed,
            # not to notebooks/ (where the kernels run)
            overrides[name] = os.path.abspath(os.path.expanduser(value))
    if args.smoke:
        overrides["smoke"] = True
    build_dir = args.build_dir.expanduser().resolve()
    try:
        selected = selected_notebooks(args.only, args.notebooks)
        for nb in selected:
            read_notebook(nb)
            check_overrides(nb, overrides)
        if args.inplace and overrides:
            raise ValueError("--inplace commits default-parameter runs; it takes no --smoke or -p")
        if build_dir.exists() and not build_dir.is_dir():
            raise ValueError(f"--build-dir {build_dir} is a file, not a folder")
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    results_dir = Path(overrides.get("results_dir") or build_dir / "results")
    parameters = dict(overrides) if args.inplace else {"results_dir": str(results_dir), **overrides}
    out_dir = build_dir / "executed"
    run: dict[str, Any] = {
        "started": datetime.now().astimezone().isoformat(timespec="seconds"),
        "mode": "in place"
        if args.inplace
        else "smoke"
        if overrides.get("smoke") is True
        else "full",
        "command": " ".join(["python -m coursekit.run", *argv]),
        "parameters": overrides,
        "interrupted": False,
        "notebooks": [],
    }
    print(
        f"running {len(selected)} notebook(s){' in smoke mode' if args.smoke else ''}"
        f"{' in place' if args.inplace else f', executed copies in {out_dir}'}",
        flush=True,
    )
    rows: list[dict[str, Any]] = []
    bar = tqdm(total=len(selected), unit="notebook", file=sys.stderr, dynamic_ncols=True)
    terminate = {signal.SIGTERM: _raise_terminated}
    with _signal_handlers(terminate), _kernel_log(build_dir / KERNEL_LOG) as log:
        try:
            for nb in selected:
                bar.set_description(nb.stem)
                # a second bar for the cells of the notebook in progress, on a terminal only (it
                # moves the cursor)
                cells = sys.stderr.isatty() and {
                    "desc": "  cells",
                    "position": 1,
                    "leave": False,
                    "file": sys.stderr,
                    "dynamic_ncols": True,
                }
                row = run_notebook(
                    nb,
                    parameters=parameters,
                    out_dir=out_dir,
                    inplace=args.inplace,
                    progress=cells,
                    kernel_log=log,
                )
                if row["status"] == "ok" and run["mode"] != "smoke":
                    _fail_on_claims(row)
                rows.append(row)
                bar.update(1)
                tqdm.write(
                    f"{row['name']:<28} {row['status']:<6} {row['seconds']:7.1f} s  "
                    f"{row['error'] or _headline(row['results'])}",
                    file=sys.stdout,
                )
                sys.stdout.flush()
                if row["status"] == "interrupted":
                    raise row.pop("interrupt", KeyboardInterrupt())
        except KeyboardInterrupt as err:
            run["interrupted"], run["interrupted_by"] = True, _how(err)
            # the kernel being shut down mid-cell makes asyncio report its pending tasks; the
            # runner has already said what happened
            logging.getLogger("asyncio").setLevel(logging.CRITICAL)
        finally:
            bar.close()
    with _signal_handlers({sig: signal.SIG_IGN for sig in _SIGNALS}):  # the report gets written
        done = {r["name"] for r in rows}
        rows += [
            {
                "name": nb.stem,
                "status": "not run",
                "seconds": None,
                "results": {},
                "error": "",
                "path": None,
            }
            for nb in selected
            if nb.stem not in done
        ]
        sources = {nb.stem: nb for nb in selected}
        run["notebooks"] = [_finish_row(row, sources[row["name"]], build_dir) for row in rows]
        run["environment"] = report.environment(str(overrides.get("device", "auto")))
        try:
            md, _ = report.write_report(run, build_dir)
        except WriteError as err:
            print(f"error: the report was not written: {err}", file=sys.stderr)
            md = None
        failed = [r for r in rows if r["status"] == "FAILED"]
        ok = sum(r["status"] == "ok" for r in rows)
        total = sum(r["seconds"] or 0 for r in rows)
        print(
            f"{ok} passed, {len(failed)} failed in {total:.1f} s"
            + (": " + "; ".join(f"{r['name']} {r['error']}" for r in failed) if failed else "")
        )
        for r in failed:
            if r.get("executed"):
                print(f"  traceback of {r['name']}: {build_dir / r['executed']}")
        if run["interrupted"]:
            not_run = [r["name"] for r in rows if r["status"] in ("interrupted", "not run")]
            print(
                f"interrupted: {', '.join(not_run) or 'nothing'} left unfinished; "
                "finished notebooks are intact"
            )
        if md is not None:
            print(f"report: {md} (and report.html)")
    if run["interrupted"]:
        return EXIT_TERMINATED if run["interrupted_by"] == "SIGTERM" else EXIT_INTERRUPTED
    return EXIT_FAILED if failed or md is None else 0


if __name__ == "__main__":
    sys.exit(main())
