"""Execute one prepared submission notebook: the grader's runner (``coursekit.grade``, and the
Dask workers of ``coursekit.grade_dask``, call :func:`execute`).

The notebook runs in a child process (``python -m coursekit.grade_exec JOB``) with nbclient,
errors allowed, each cell interrupted at the per-cell timeout; the child, and its kernel, are
stopped when the whole notebook runs past its limit or when the process that started it dies.
The executed notebook is written after every check and at the end, so a run stopped early still
shows the checks it reached. Nothing here imports papermill: papermill writes the whole
notebook twice per cell, which cost more than a second per ten cells on the course's machine.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import nbformat

from helpers._internal.paths import ROOT

CELL_TIMEOUT, NOTEBOOK_TIMEOUT = 120, 1200
STOPPED_PREFIX = "the run stopped: "


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


def environment() -> dict[str, str]:
    """The runner's environment: the course first on ``PYTHONPATH`` (the kernel imports
    ``helpers`` and the guard from it), figures not shown, the data root made absolute (the run's
    working directory is a temporary folder)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["MPLBACKEND"] = "Agg"
    if env.get("COURSE_DATA_DIR"):
        env["COURSE_DATA_DIR"] = str(Path(env["COURSE_DATA_DIR"]).resolve())
    return env


def execute(
    nb: nbformat.NotebookNode,
    out_path: Path,
    work_dir: Path,
    timeout: int = CELL_TIMEOUT,
    notebook_timeout: int = NOTEBOOK_TIMEOUT,
    parameters: dict[str, Any] | None = None,
    warm: bool = False,
) -> str:
    """Execute ``nb`` (errors allowed) in the working directory ``work_dir``, into ``out_path``;
    return "" or one line on why the run stopped early.

    ``parameters`` (``{"x": 1}``), if given, go into a cell at the top (the grader puts them
    after the parameters cell itself, see :mod:`coursekit.grade_match`). A cell that runs past
    ``timeout`` seconds is interrupted; past ``notebook_timeout`` seconds the run and its kernel
    are stopped.
    """
    if parameters:
        nb = nbformat.from_dict(json.loads(json.dumps(nb)))
        lines = "".join(f"{k} = {v!r}\n" for k, v in parameters.items())
        nb.cells.insert(0, nbformat.v4.new_code_cell("# Parameters\n" + lines))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    in_path = out_path.with_name("input.ipynb")
    nbformat.write(nb, in_path)
    job = {"input": str(in_path), "output": str(out_path), "cwd": str(work_dir), "timeout": timeout}
    log = out_path.with_name("runner.log")
    env = environment()
    job["kernel"] = "python3"
    if warm:
        from .grade_zygote import SPEC_NAME, Warm

        kernels = Warm.get(environment())
        if kernels is not None:
            env.update(kernels.environment())
            env["COURSE_GRADE_KERNEL_LOG"] = str(out_path.with_name("kernel.log"))
            job["kernel"] = SPEC_NAME
    with open(log, "w") as stream:
        process = subprocess.Popen(
            [sys.executable, "-m", "coursekit.grade_exec", json.dumps(job)],
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
        except BaseException:  # the grader itself is stopped: take the run with it
            _terminate(process)
            raise
    if code == 0:
        return ""
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    last = lines[-1] if lines else f"exit code {code}"
    if "DeadKernelError" in last or "Kernel died" in last:
        return "the kernel stopped (exit(), os._exit, a crash or out of memory)"
    return f"{STOPPED_PREFIX}{last[:200]}"


def run_submission(
    nb_json: str,
    filename: str,
    data: bytes,
    timeout: int = CELL_TIMEOUT,
    notebook_timeout: int = NOTEBOOK_TIMEOUT,
    warm: bool = True,
) -> dict[str, Any]:
    """Run one prepared submission notebook (``nbformat.writes`` text) in a temporary working
    directory that holds a copy of the submitted file (``filename``, ``data``), as the student
    had it: ``{"executed": text or None, "stopped": "", "deleted": bool, "seconds", "host"}``.
    This is one task of the Dask cluster: it needs nothing but the course installed."""
    start = time.perf_counter()
    name = Path(filename).name or "submission.ipynb"
    with tempfile.TemporaryDirectory(prefix="grade-") as tmp:
        work, out = Path(tmp) / "work", Path(tmp) / "out"
        work.mkdir()
        (work / name).write_bytes(data)
        executed_path = out / "executed.ipynb"
        nb = nbformat.reads(nb_json, as_version=4)
        stopped = execute(nb, executed_path, work, timeout, notebook_timeout, warm=warm)
        try:
            executed = executed_path.read_text(encoding="utf-8")
        except OSError:
            executed = None
        deleted = not (work / name).is_file()
    return {
        "executed": executed,
        "stopped": stopped,
        "deleted": deleted,
        "seconds": time.perf_counter() - start,
        "host": socket.gethostname(),
    }


def _watch_parent() -> None:
    """Stop this runner (SIGTERM, so the kernel is shut down) when the process that started it
    dies, a killed Dask worker for instance: nothing is left running for a grade nobody reads."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(1)
            if os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGTERM)
                return

    threading.Thread(target=watch, daemon=True).start()


def run_job(job: dict[str, Any]) -> int:
    """The child process of :func:`execute`. Exit 0 when every cell ran (errors included), 1
    when the run stopped early (the executed notebook so far is written all the same)."""
    from nbclient import NotebookClient
    from traitlets.config import Config

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    _watch_parent()
    nb = nbformat.read(job["input"], as_version=4)

    def save() -> None:
        tmp = Path(job["output"]).with_suffix(".partial")
        nbformat.write(nb, tmp)
        os.replace(tmp, job["output"])

    def executed(cell: Any, **_: Any) -> None:
        if cell.get("metadata", {}).get("grade", {}).get("role") == "check":
            save()

    with tempfile.TemporaryDirectory(prefix="kernel-") as ipc:
        config = Config()
        if os.name == "posix":  # local sockets: no TCP port to race for, nothing listens
            config.KernelManager.transport = "ipc"
            config.KernelManager.ip = os.path.join(ipc, "kernel")
        client = NotebookClient(
            nb,
            timeout=job["timeout"],
            kernel_name=job.get("kernel", "python3"),
            allow_errors=True,
            interrupt_on_timeout=True,
            resources={"metadata": {"path": job["cwd"]}},
            on_cell_executed=executed,
            config=config,
        )
        try:
            client.execute()
        except BaseException as err:  # a dead kernel, the signal above
            save()
            print(f"{type(err).__name__}: {err}".splitlines()[0], flush=True)
            return 1
    save()
    return 0


if __name__ == "__main__":
    sys.exit(run_job(json.loads(sys.argv[1])))
