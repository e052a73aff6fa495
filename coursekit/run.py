"""Run the course's notebooks headless with papermill: ``python -m coursekit.run``.

    python -m coursekit.run                   # every notebook, default (full) parameters
    python -m coursekit.run --smoke           # every notebook in seconds, for a quick check
    python -m coursekit.run --smoke --jobs 2  # two at a time (make course SMOKE=1)
    python -m coursekit.run --only 01 03 -p seed 1
    python -m coursekit.run --inplace         # re-execute the committed notebooks in notebooks/

Executed copies go to ``build/executed/`` and each notebook's headline numbers to
``build/results/<notebook>.json`` (or to ``-p results_dir DIR``); folders given with ``-p`` are
relative to the folder the command runs in. What the kernels print outside their cells goes to
``build/kernel.log``. For every notebook it prints the status, the wall time and the
headline numbers (a progress bar on stderr shows the notebook in progress); it carries on past a
failing notebook, naming the notebook, the cell and the error, and exits non-zero if any failed.
After the run it writes the course report, ``build/report.md`` and ``build/report.html`` (see
``coursekit.report``), with key figures in ``build/figures/``. Ctrl-C stops the run within
seconds, even when the runner was started with SIGINT ignored (a background job of a script):
notebooks finished so far stay intact, the kernel is shut down, the report is still written (a
second Ctrl-C meanwhile is ignored), and the exit code is 130; ``kill`` (SIGTERM, a CI timeout)
is handled the same way, with exit code 143.
``--inplace`` writes the outputs back into ``notebooks/`` and cleans them for committing (no
papermill metadata, no progress-bar widgets).

A smoke run with ``--jobs N`` runs N notebooks at a time, each kernel on one CPU thread and
forked from a warm process that imported torch, matplotlib and helpers once
(:mod:`coursekit.grade_zygote`); Ctrl-C kills the running kernels. A full run times itself (its
notebooks print timings and check claims about them), so it runs one notebook at a time.
papermill writes the running notebook at most every ``SAVE_EVERY`` seconds and at its end.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import logging
import os
import re
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import nbformat
from jupyter_client.manager import AsyncKernelManager
from tqdm import tqdm
from traitlets.config import Config

from helpers._internal import files
from helpers._internal.files import WriteError
from helpers._internal.paths import BUILD, NOTEBOOKS

from . import cells, report

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
_PROGRESS = re.compile(r"\r|\d+%\|")
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
    still goes into the notebook. Each kernel's process id is kept in :data:`KERNELS` while it
    runs.
    """
    options: dict[str, Any] = {}
    if os.name == "posix":
        manager: dict[str, Any] = {"transport": "ipc"}
        if ipc_dir is not None:
            manager["ip"] = os.path.join(ipc_dir, "kernel")
        options["config"] = Config({"KernelManager": manager})

    class CourseKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw: Any) -> None:
            if log is not None:
                kw.setdefault("stderr", log)  # passed on to the kernel's Popen
            await super().start_kernel(**kw)
            pid = getattr(self.provisioner, "pid", None)
            if pid is not None:
                KERNELS[threading.get_ident()] = pid

    options["kernel_manager_class"] = CourseKernelManager
    return options


KERNELS: dict[int, int] = {}  # the running kernels' process ids, by the thread that runs them


def _kill_kernels() -> None:
    """Kill every running kernel with the processes it started (each kernel leads a session of
    its own): a parallel run's Ctrl-C, whose worker threads wait on them."""
    for pid in list(KERNELS.values()):
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)


SAVE_EVERY = 10.0  # seconds between papermill's writes of the running notebook (crash copies)


@functools.cache
def course_engine() -> str:
    """papermill's nbclient engine, writing the running notebook at most every SAVE_EVERY
    seconds, instead of at every cell's start and end: those writes (the whole notebook,
    figures included, validated each time) were a third of a smoke run's time. Its first and
    last writes (papermill's notebook_start and notebook_complete) still happen. The name to
    pass as ``engine_name``."""
    from papermill.engines import NBClientEngine, papermill_engines

    class Engine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, **kwargs: Any) -> Any:
            save, last = nb_man.save, [time.monotonic()]

            def sometimes(**kw: Any) -> None:
                if time.monotonic() - last[0] >= SAVE_EVERY:
                    last[0] = time.monotonic()
                    save(**kw)

            nb_man.save = sometimes
            try:
                return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)
            finally:
                nb_man.save = save  # notebook_complete's write, next, is the real one

    papermill_engines.register("course", Engine)
    return "course"


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


def _execute(
    notebook: Path,
    tmp_out: Path,
    parameters: dict[str, Any],
    progress: dict[str, Any] | bool,
    kernel_log: IO[str] | None,
    kernel_name: str = "python3",
) -> tuple[str, str, KeyboardInterrupt | None]:
    """Run ``notebook`` with papermill into ``tmp_out``: ``(status, error, interrupt)``."""
    import papermill

    try:
        with tempfile.TemporaryDirectory(prefix="kernel-") as ipc_dir:
            papermill.execute_notebook(
                str(notebook),
                str(tmp_out),
                parameters=parameters or None,
                cwd=str(notebook.parent),
                progress_bar=progress,
                kernel_name=kernel_name,
                engine_name=course_engine(),
                **kernel_options(kernel_log, ipc_dir),
            )
    except KeyboardInterrupt as err:
        how = f"interrupted ({_how(err)})"
        return "interrupted", f"{how}; the previous executed copy, if any, is untouched", err
    except papermill.PapermillExecutionError as err:
        if err.ename == "KeyboardInterrupt":  # the kernel got the Ctrl-C first
            where = error_line(err.exec_count, err.ename, "")
            return "interrupted", f"interrupted (Ctrl-C) in {where}", None
        return "FAILED", error_line(err.exec_count, err.ename, err.evalue), None
    except Exception as err:  # the kernel died, the disk is full, ...
        return "FAILED", _describe(err, tmp_out.parent), None
    return "ok", "", None


def _keep_copy(
    notebook: Path, tmp_out: Path, out_dir: Path, status: str, inplace: bool
) -> Path | None:
    """Write papermill's ``tmp_out`` to the executed copy (back into ``notebook``, cleaned, for a
    good in-place run), atomically; None when there is nothing to keep. ``tmp_out`` is always
    removed; ``NotebookError`` (half-written) and ``WriteError`` (a full disk) propagate."""
    try:
        if not tmp_out.exists() or status == "interrupted":
            return None
        nb = read_notebook(tmp_out)
        target = notebook if inplace and status == "ok" else out_dir / notebook.name
        write_notebook(clean_notebook(nb) if inplace else nb, target)
        return target
    finally:
        tmp_out.unlink(missing_ok=True)


def run_notebook(
    notebook: Path,
    *,
    parameters: dict[str, Any],
    out_dir: Path,
    inplace: bool = False,
    progress: dict[str, Any] | bool = False,
    kernel_log: IO[str] | None = None,
    kernel_name: str = "python3",
) -> dict[str, Any]:
    """Execute one notebook; return ``{"name", "status", "seconds", "results", "error", "path"}``.

    ``status`` is ``"ok"``, ``"FAILED"`` or ``"interrupted"`` (Ctrl-C or SIGTERM; then
    ``"interrupt"`` holds the ``KeyboardInterrupt``). A full disk, a half-written notebook or
    unreadable results make it ``"FAILED"`` with one line naming what to do. The executed copy is
    written atomically: an interrupted run leaves the previous file intact; ``path`` is where it
    is (None if nothing was written). ``progress`` is papermill's per-cell progress bar (False,
    True or tqdm options); ``kernel_log`` an open file for the kernel's own stderr (see
    :func:`kernel_options`); ``kernel_name`` the kernel spec to start.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    # papermill writes the notebook as it runs: to a name no other runner uses, never the target
    files.clean_stale_temps(out_dir / notebook.name)
    tmp_out = files.temp_path(out_dir / notebook.name, ".ipynb")
    results_dir = parameters.get("results_dir")
    results_file = Path(results_dir) / f"{notebook.stem}.json" if results_dir else None
    if results_file is not None:
        results_file.unlink(missing_ok=True)  # never report an earlier run's numbers
    start = time.perf_counter()
    try:
        status, error, interrupt = _execute(
            notebook, tmp_out, parameters, progress, kernel_log, kernel_name
        )
    finally:
        KERNELS.pop(threading.get_ident(), None)  # this thread's kernel is gone
    seconds = time.perf_counter() - start
    path = None
    try:
        path = _keep_copy(notebook, tmp_out, out_dir, status, inplace)
    except (NotebookError, WriteError) as err:
        status, error = "FAILED", error or _describe(err, out_dir)
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


def _row_line(row: dict[str, Any]) -> str:
    """A finished notebook's line: name, status, wall time, and its error or headline numbers."""
    message = row["error"] or _headline(row["results"])
    return f"{row['name']:<28} {row['status']:<6} {row['seconds']:7.1f} s  {message}"


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


# --------------------------------------------------------------------------- signals
class Stop:
    """The runner's handler for SIGINT (Ctrl-C) and SIGTERM (``kill``, a CI timeout).

    The first signal raises :class:`KeyboardInterrupt` (:class:`Terminated` for SIGTERM) where the
    runner is; later ones, and any after :meth:`disarm`, are ignored, so that shutting the kernel
    down and writing the report are never cut short. :func:`main` installs it whatever handler the
    runner inherited: a program started in the background of a shell script (``cmd &``) starts
    with SIGINT ignored, Python then leaves it ignored, and Ctrl-C would be lost for the whole run.
    """

    def __init__(self) -> None:
        self.armed = True

    def __call__(self, signum: int, frame: Any) -> None:
        if self.armed:
            self.armed = False
            raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()

    def disarm(self) -> None:
        self.armed = False


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


def _exit_code(how: str) -> int:
    return EXIT_TERMINATED if how == "SIGTERM" else EXIT_INTERRUPTED


# --------------------------------------------------------------------------- parse and plan
@dataclass
class Plan:
    """A run, decided before anything runs: which notebooks, with which parameters, where to."""

    notebooks: list[Path]
    overrides: dict[str, Any]  # what the command line sets: -p NAME VALUE and --smoke
    build_dir: Path
    inplace: bool
    command: str
    jobs: int = 1  # notebooks run at a time (smoke runs only)
    wall_seconds: float | None = None  # how long the notebooks took, start to end (execute sets it)
    started: str = field(
        default_factory=lambda: datetime.now().astimezone().isoformat(timespec="seconds")
    )

    @property
    def mode(self) -> str:
        if self.inplace:
            return "in place"
        return "smoke" if self.overrides.get("smoke") is True else "full"

    @property
    def out_dir(self) -> Path:
        return self.build_dir / "executed"

    @property
    def parameters(self) -> dict[str, Any]:
        """What every notebook gets: the overrides and, except in place, its results folder."""
        if self.inplace:
            return dict(self.overrides)
        results_dir = self.overrides.get("results_dir") or self.build_dir / "results"
        return {"results_dir": str(results_dir), **self.overrides}


def parse_args(argv: list[str]) -> argparse.Namespace:
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
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="smoke runs: N notebooks at a time, each kernel on one CPU thread (make course "
        "SMOKE=1 runs 2); full runs time themselves and run one at a time",
    )
    return parser.parse_args(argv)


def make_plan(args: argparse.Namespace, argv: list[str]) -> Plan:
    """The run the arguments ask for; ``ValueError`` names what is wrong before anything runs
    (an unknown notebook or parameter, a damaged notebook, a build folder that is a file)."""
    overrides = {name: parse_value(value) for name, value in args.parameter}
    for name, value in overrides.items():
        if name.endswith("_dir") and isinstance(value, str):
            # a folder given on the command line is relative to where the command was typed,
            # not to notebooks/ (where the kernels run)
            overrides[name] = os.path.abspath(os.path.expanduser(value))
    if args.smoke:
        overrides["smoke"] = True
    selected = selected_notebooks(args.only, args.notebooks)
    for nb in selected:
        read_notebook(nb)
        check_overrides(nb, overrides)
    if args.inplace and overrides:
        raise ValueError("--inplace commits default-parameter runs; it takes no --smoke or -p")
    if args.jobs < 1 or (args.jobs > 1 and not args.smoke):
        raise ValueError(
            f"--jobs {args.jobs}: a smoke run takes 1 or more; a full run times itself and "
            "runs one notebook at a time"
        )
    build_dir = args.build_dir.expanduser().resolve()
    if build_dir.exists() and not build_dir.is_dir():
        raise ValueError(f"--build-dir {build_dir} is a file, not a folder")
    command = " ".join(["python -m coursekit.run", *argv])
    return Plan(selected, overrides, build_dir, args.inplace, command, args.jobs)


# --------------------------------------------------------------------------- execute
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


def _cell_bar() -> dict[str, Any] | bool:
    """Papermill's bar for the cells of the notebook in progress, on a terminal only (it moves
    the cursor)."""
    if not sys.stderr.isatty():
        return False
    return {
        "desc": "  cells",
        "position": 1,
        "leave": False,
        "file": sys.stderr,
        "dynamic_ncols": True,
    }


def _fail_on_claims(row: dict[str, Any]) -> None:
    """Mark a full run FAILED when a claim of its claims cell does not hold, naming the claims.

    The claims cell itself never raises (a student with an unlucky seed still finishes the
    notebook); the runner is where a claim that the text makes but the run contradicts fails.
    """
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


def execute(plan: Plan, stop: Stop) -> tuple[list[dict[str, Any]], str | None]:
    """Run the plan's notebooks in order, one line each as it finishes, a progress bar on stderr.

    Returns the rows of the notebooks that ran (see :func:`run_notebook`) and what stopped the
    run: None, ``"Ctrl-C"`` or ``"SIGTERM"``. From then on ``stop`` ignores both signals.
    """
    rows: list[dict[str, Any]] = []
    start = time.perf_counter()
    where = " in place" if plan.inplace else f", executed copies in {plan.out_dir}"
    smoke = " in smoke mode" if plan.mode == "smoke" else ""
    bar = tqdm(total=len(plan.notebooks), unit="notebook", file=sys.stderr, dynamic_ncols=True)
    try:
        print(f"running {len(plan.notebooks)} notebook(s){smoke}{where}", flush=True)
        with _kernel_log(plan.build_dir / KERNEL_LOG) as log:
            in_turn = _execute_parallel if plan.jobs > 1 else _execute_in_order
            in_turn(plan, log, rows, bar)
        stop.disarm()
        return rows, None
    except KeyboardInterrupt as err:
        stop.disarm()
        # the kernel being shut down mid-cell makes asyncio report its pending tasks; the
        # runner has already said what happened
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)
        return rows, _how(err)
    finally:
        plan.wall_seconds = time.perf_counter() - start
        bar.close()


def _execute_in_order(
    plan: Plan, log: IO[str] | None, rows: list[dict[str, Any]], bar: tqdm
) -> None:
    """Run the plan's notebooks one after the other, appending each row as it finishes; a
    notebook interrupted by Ctrl-C or SIGTERM raises its ``KeyboardInterrupt`` on to
    :func:`execute`."""
    for nb in plan.notebooks:
        bar.set_description(nb.stem)
        row = run_notebook(
            nb,
            parameters=plan.parameters,
            out_dir=plan.out_dir,
            inplace=plan.inplace,
            progress=_cell_bar(),
            kernel_log=log,
        )
        rows.append(row)  # first: a Ctrl-C from here on still reports this notebook
        if row["status"] == "ok" and plan.mode != "smoke":
            _fail_on_claims(row)
        bar.update(1)
        tqdm.write(_row_line(row), file=sys.stdout)
        sys.stdout.flush()
        if row["status"] == "interrupted":
            raise row.pop("interrupt", KeyboardInterrupt())


def _execute_parallel(
    plan: Plan, log: IO[str] | None, rows: list[dict[str, Any]], bar: tqdm
) -> None:
    """Run the plan's notebooks ``plan.jobs`` at a time (smoke runs), each kernel on one CPU
    thread and, where it starts, forked from the grader's warm process (which has imported
    torch, matplotlib and helpers once: seconds saved per notebook); append each row as it
    finishes, then sort them into the plan's order.

    On Ctrl-C or SIGTERM no other notebook starts, the running ones' kernels are killed and
    their rows say "interrupted"; then the ``KeyboardInterrupt`` goes on to :func:`execute`.
    """
    from .grade_zygote import SPEC_NAME, Warm

    order = {nb.stem: k for k, nb in enumerate(plan.notebooks)}
    saved = dict(os.environ)  # the kernels' environment, this run's only
    os.environ["OMP_NUM_THREADS"] = "1"  # the kernels' setup keeps it: cores / jobs
    warm, kernel_name = Warm.get(dict(os.environ)), "python3"
    if warm is not None:
        os.environ.update(warm.environment())
        kernel_name = SPEC_NAME

    def run(nb: Path) -> dict[str, Any]:
        options = {"parameters": plan.parameters, "out_dir": plan.out_dir, "kernel_log": log}
        return run_notebook(nb, kernel_name=kernel_name, **options)

    with ThreadPoolExecutor(plan.jobs) as pool:
        futures = [pool.submit(run, nb) for nb in plan.notebooks]
        try:
            for future in as_completed(futures):
                rows.append(future.result())
                bar.update(1)
                tqdm.write(_row_line(rows[-1]), file=sys.stdout)
        except KeyboardInterrupt as err:
            for future in futures:
                future.cancel()
            _kill_kernels()
            done = {row["name"] for row in rows}
            for future in futures:
                if future.cancelled() or future.result()["name"] in done:
                    continue
                row = future.result()
                row.update(status="interrupted", error=f"interrupted ({_how(err)})")
                rows.append(row)
                tqdm.write(_row_line(row), file=sys.stdout)
            raise
        finally:
            rows.sort(key=lambda row: order[row["name"]])
            sys.stdout.flush()
            os.environ.clear()
            os.environ.update(saved)


# --------------------------------------------------------------------------- summarise
def _finish_row(row: dict[str, Any], source: Path, build_dir: Path) -> dict[str, Any]:
    """Add the notebook's title, key figures and (for in-place runs) displayed results; paths
    relative to build/."""
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


def _not_run(notebook: Path) -> dict[str, Any]:
    return {
        "name": notebook.stem,
        "status": "not run",
        "seconds": None,
        "results": {},
        "error": "",
        "path": None,
    }


def summarise(plan: Plan, rows: list[dict[str, Any]], stopped_by: str | None) -> int:
    """Write the report (``run.json``, ``report.md``, ``report.html``), print the summary and
    return the exit code."""
    done = {r["name"] for r in rows}
    rows = rows + [_not_run(nb) for nb in plan.notebooks if nb.stem not in done]
    sources = {nb.stem: nb for nb in plan.notebooks}
    run: dict[str, Any] = {
        "started": plan.started,
        "mode": plan.mode,
        "command": plan.command,
        "parameters": plan.overrides,
        "jobs": plan.jobs,
        "wall_seconds": plan.wall_seconds,
        "interrupted": stopped_by is not None,
        **({"interrupted_by": stopped_by} if stopped_by else {}),
        "notebooks": [_finish_row(row, sources[row["name"]], plan.build_dir) for row in rows],
        # after Ctrl-C, no torch import (seconds on a busy machine) just to name the device
        "environment": report.environment(
            str(plan.overrides.get("device", "auto")), probe=stopped_by is None
        ),
    }
    try:
        md, _ = report.write_report(run, plan.build_dir)
    except WriteError as err:
        print(f"error: the report was not written: {err}", file=sys.stderr)
        md = None
    failed = [r for r in rows if r["status"] == "FAILED"]
    ok = sum(r["status"] == "ok" for r in rows)
    total = sum(r["seconds"] or 0 for r in rows)
    errors = "; ".join(f"{r['name']} {r['error']}" for r in failed)
    took = f"{total:.1f} s"
    if plan.jobs > 1 and plan.wall_seconds is not None:
        took += f" ({plan.jobs} at a time: {plan.wall_seconds:.1f} s wall-clock)"
    print(f"{ok} passed, {len(failed)} failed in {took}" + (f": {errors}" if failed else ""))
    for r in failed:
        if r.get("executed"):
            print(f"  traceback of {r['name']}: {plan.build_dir / r['executed']}")
    if stopped_by:
        unfinished = [r["name"] for r in rows if r["status"] in ("interrupted", "not run")]
        print(
            f"interrupted: {', '.join(unfinished) or 'nothing'} left unfinished; "
            "finished notebooks are intact"
        )
    if md is not None:
        print(f"report: {md} (and report.html)")
    if stopped_by:
        return _exit_code(stopped_by)
    return EXIT_FAILED if failed or md is None else 0


# --------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    """Parse the command line, plan the run, execute it and summarise it; the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    stop = Stop()
    with _signal_handlers({signal.SIGINT: stop, signal.SIGTERM: stop}):
        try:
            plan = make_plan(args, argv)
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return EXIT_USAGE
        except KeyboardInterrupt as err:
            print(f"interrupted ({_how(err)}) before any notebook ran", file=sys.stderr)
            return _exit_code(_how(err))
        rows, stopped_by = execute(plan, stop)
        return summarise(plan, rows, stopped_by)


if __name__ == "__main__":
    sys.exit(main())
