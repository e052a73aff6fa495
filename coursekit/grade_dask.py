"""Grade through Dask's distributed scheduler: one submission is one task.

    python -m coursekit.grade submissions/ --jobs 2                      # a local cluster
    python -m coursekit.grade submissions/ --scheduler tcp://host:8786   # the teacher's machines

The teacher's machine reads the submissions, matches each to its course notebook and builds the
notebook to run (:mod:`coursekit.grade_match`); a worker only runs it
(:func:`coursekit.grade_exec.run_submission`: the prepared notebook and the submitted file go
with the task, so workers share no folder with the teacher) and sends back the executed
notebook, which the teacher's machine judges. A worker needs the course installed (the same
version: the grader warns when a worker's ``helpers`` or grader differ), the data (MNIST, under
its ``COURSE_DATA_DIR``) and ``dask worker tcp://host:8786`` running.

A worker that dies (killed, out of memory, its machine switched off) loses no grade: the
scheduler runs its tasks again on the other workers (the run that was cut short is stopped with
its kernel). A submission that kills three workers in a row is reported as such. The report is
the same whichever workers ran which submission.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat

from helpers._internal.paths import ROOT

from . import grade_judge
from .grade_exec import CELL_TIMEOUT, NOTEBOOK_TIMEOUT, run_submission
from .grade_match import Reference


class SchedulerError(RuntimeError):
    """The scheduler cannot be reached, or no worker joins it."""


def fingerprint() -> str:
    """A hash of what a worker runs of the course: ``helpers`` and the grader's kernel side."""
    digest = hashlib.sha256()
    files = sorted((ROOT / "helpers").rglob("*.py"))
    files += [ROOT / "coursekit" / "grade_guard.py", ROOT / "coursekit" / "grade_exec.py"]
    for path in files:
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _client(scheduler: str | None, jobs: int) -> Any:
    from dask.distributed import Client, LocalCluster

    if scheduler is None:
        # spawned workers import coursekit from this course, whoever started the grader
        path = os.environ.get("PYTHONPATH", "")
        if str(ROOT) not in path.split(os.pathsep):
            os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), path]))
        cluster = LocalCluster(
            n_workers=jobs,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        return Client(cluster)
    try:
        client = Client(scheduler, timeout=30)
    except (OSError, TimeoutError) as err:
        raise SchedulerError(f"cannot reach the Dask scheduler at {scheduler}: {err}") from None
    try:
        client.wait_for_workers(1, timeout=60)
    except TimeoutError:
        client.close()
        raise SchedulerError(
            f"no worker joined the scheduler at {scheduler} within 60 s: start `dask worker "
            f"{scheduler}` on the machines that grade"
        ) from None
    return client


def _check_workers(client: Any) -> None:
    ours = fingerprint()
    try:
        theirs = client.run(fingerprint)
    except Exception:  # a worker without the course: its tasks will fail and say so
        return
    for worker, value in sorted(theirs.items()):
        if value != ours:
            print(
                f"warning: worker {worker} runs another version of the course's helpers or "
                "grader: install this one there for identical grades",
                flush=True,
            )


def grade_all(
    items: list[tuple[str, bytes]],
    references: dict[str, Reference],
    *,
    timeout: int = CELL_TIMEOUT,
    notebook_timeout: int = NOTEBOOK_TIMEOUT,
    jobs: int = 1,
    scheduler: str | None = None,
    parameters: dict[str, Any] | None = None,
    on_report: Callable[[dict[str, Any], Any, Any], None] | None = None,
    warm: bool = True,
    figures: bool = False,
) -> list[dict[str, Any]]:
    """Grade each ``(name, file bytes)``; the reports, sorted by name. ``on_report(report,
    executed notebook or None, prepared or None)`` is called as each one is done."""
    from dask.distributed import as_completed

    on_report = on_report or (lambda *_: None)
    reports, waiting = [], {}  # file hash -> [(name, data, report, prepared)]
    for name, data in items:
        try:
            report, prepared = grade_judge.prepare_submission(
                data, name, references, parameters, figures=figures
            )
        except Exception as err:  # a bug of the grader's: this submission's line says so
            report, prepared = grade_judge.new_report(name, data), None
            report["problem"] = f"the grader failed on it: {type(err).__name__}: {err}"[:300]
        if prepared is None:
            reports.append(report)
            on_report(report, None, None)
        else:  # identical files run once
            waiting.setdefault(report["sha256"], []).append((name, data, report, prepared))
    if waiting:
        with _client(scheduler, jobs) as client:
            if scheduler is not None:
                _check_workers(client)
            futures = {}
            for i, group in enumerate(waiting.values()):
                name, data, _, prepared = group[0]
                future = client.submit(
                    run_submission,
                    nbformat.writes(prepared.nb),
                    Path(name).name,
                    data,
                    timeout,
                    notebook_timeout,
                    warm,
                    key=f"grade-{i}-{hashlib.sha1(name.encode()).hexdigest()[:10]}",
                    pure=False,
                    retries=1,
                )
                futures[future] = group
            for future in as_completed(futures):
                try:
                    result = future.result()
                except Exception as err:  # KilledWorker (it killed 3 workers), a grader bug
                    reason = f"{type(err).__name__}: {err}".splitlines()[0][:200]
                    result = {
                        "executed": None,
                        "stopped": f"the run failed on the workers: {reason}",
                    }
                prepared = futures[future][0][3]  # the notebook that ran, with its nonces
                for _, _, report, _ in futures[future]:
                    ref = references[prepared.stem]
                    report, executed = grade_judge.finish(report, prepared, ref, result)
                    reports.append(report)
                    on_report(report, executed, prepared)
    return sorted(reports, key=lambda r: r["submission"])
