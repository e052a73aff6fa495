"""The course runner (``python -m coursekit.run``) and its report, on tiny synthetic notebooks.

Most tests run real kernels on notebooks of a few cells (about two seconds each); the Ctrl-C paths
are tested in-process with papermill replaced (and real signals), and once for real with SIGINT to
a subprocess.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT
from course_fixtures import tiny_png

from coursekit import cells, report
from coursekit import run as course

# --------------------------------------------------------------------------- synthetic notebooks


def show_png(rgb: tuple[int, int, int] = (255, 0, 0)) -> str:
    """Cell source displaying a tiny PNG (no matplotlib: the kernels stay light)."""
    data = base64.b64encode(tiny_png(rgb)).decode()
    return (
        "from IPython.display import Image, display\nimport base64\n"
        f"display(Image(data=base64.b64decode('{data}')))"
    )


def make_notebook(folder: Path, name: str, body: list[str], title: str | None = None) -> Path:
    """``folder/name.ipynb``: a title, a parameters cell (seed, smoke, results_dir), ``body``, and a
    last cell that records ``{"seed", "smoke", "acc", "per": {"a"}}`` like ``save_results`` does."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    params = nbformat.v4.new_code_cell("seed = 0\nsmoke = False\nresults_dir = None")
    params.metadata["tags"] = ["parameters"]
    record = (
        "import json, pathlib\n"
        "results = {'seed': seed, 'smoke': smoke, 'acc': 0.9876, 'per': {'a': 1.5}}\n"
        "if results_dir:\n    pathlib.Path(results_dir).mkdir(parents=True, exist_ok=True)\n"
        f"    pathlib.Path(results_dir, '{name}.json').write_text(json.dumps(results))\nresults"
    )
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# {title or name}\n\nText."),
        params,
        *[nbformat.v4.new_code_cell(src) for src in body],
        nbformat.v4.new_code_cell(record),
    ]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    code = course.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --------------------------------------------------------------------------- arguments
@pytest.mark.parametrize(
    "text, value",
    [
        ("True", True),
        ("False", False),
        ("None", None),
        ("3", 3),
        ("0.25", 0.25),
        ("1e-3", 1e-3),
        ("cpu", "cpu"),
    ],
)
def test_parse_value_like_papermill(text, value):
    assert course.parse_value(text) == value and type(course.parse_value(text)) is type(value)


def test_notebooks_in_order_and_only_by_prefix(tmp_path):
    for name in ("02_b", "01_a", "10_c"):
        make_notebook(tmp_path, name, [])
    (tmp_path / "notes.ipynb").write_text("{}")
    assert [p.stem for p in course.notebooks(folder=tmp_path)] == ["01_a", "02_b", "10_c"]
    assert [p.stem for p in course.notebooks(["10", "01"], folder=tmp_path)] == ["01_a", "10_c"]
    with pytest.raises(
        ValueError, match=r"--only 07 matches no notebook; the notebooks are: 01_a, 02_b, 10_c"
    ):
        course.notebooks(["07"], folder=tmp_path)


def test_unknown_parameter_is_rejected_before_anything_runs(tmp_path, capsys):
    make_notebook(tmp_path / "nbs", "01_a", [])
    code, out, err = run_main(
        capsys,
        "--notebooks",
        str(tmp_path / "nbs"),
        "--build-dir",
        str(tmp_path / "b"),
        "-p",
        "epochs",
        "3",
    )
    assert code == 2
    assert "01_a.ipynb has no parameter epochs; its parameters are: seed, smoke, results_dir" in err
    assert not (tmp_path / "b").exists()


def test_smoke_is_rejected_for_a_notebook_without_smoke(tmp_path, capsys):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1")]
    (tmp_path / "nbs").mkdir()
    nbformat.write(nb, tmp_path / "nbs" / "01_plain.ipynb")
    code, _, err = run_main(capsys, "--notebooks", str(tmp_path / "nbs"), "--smoke")
    assert code == 2 and "01_plain.ipynb has no parameter smoke; its parameters are: none" in err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--only", "09"], "--only 09 matches no notebook"),
        (["--inplace", "--smoke"], "--inplace commits default-parameter runs"),
        (["--inplace", "-p", "seed", "1"], "--inplace commits default-parameter runs"),
        (["--jobs", "2"], "a full run times itself and runs one notebook at a time"),
        (["--smoke", "--jobs", "0"], "a smoke run takes 1 or more"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(tmp_path, capsys, args, message):
    make_notebook(tmp_path / "nbs", "01_a", [])
    code, _, err = run_main(
        capsys, "--notebooks", str(tmp_path / "nbs"), "--build-dir", str(tmp_path / "b"), *args
    )
    assert code == 2 and message in err


def test_empty_folder_exits_2(tmp_path, capsys):
    code, _, err = run_main(capsys, "--notebooks", str(tmp_path))
    assert code == 2 and "no notebooks found" in err


# --------------------------------------------------------------------------- cleaning and errors
def test_clean_notebook_strips_papermill_metadata_and_progress_bars():
    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {"x": 1}
    nb.metadata["widgets"] = {}
    cell = nbformat.v4.new_code_cell("fit()")
    cell.metadata.update(papermill={"duration": 1}, execution={}, tags=[])
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={course.WIDGET_MIME: {}, "text/plain": "bar"}),
        nbformat.v4.new_output("stream", name="stderr", text="epoch 1:  50%|#####     | 1/2\r"),
        nbformat.v4.new_output("stream", name="stderr", text="UserWarning: keep me\n"),
        nbformat.v4.new_output("stream", name="stdout", text="accuracy 0.97\n"),
    ]
    nb.cells = [cell]
    cleaned = course.clean_notebook(nb)
    assert "papermill" not in cleaned.metadata and "widgets" not in cleaned.metadata
    assert cleaned.cells[0].metadata == {}
    assert [o.text for o in cleaned.cells[0].outputs] == [
        "UserWarning: keep me\n",
        "accuracy 0.97\n",
    ]


def test_error_line_names_the_cell_and_the_error_on_one_line():
    assert course.error_line(7, "ValueError", "boom\nmore") == "cell [7]: ValueError: boom"
    assert course.error_line(3, "AssertionError", "") == "cell [3]: AssertionError"
    assert course.error_line(None, "KeyError", "'x'") == "cell [?]: KeyError: 'x'"


# --------------------------------------------------------------------------- real runs
@pytest.mark.slow
def test_run_carries_on_past_a_failure_names_it_and_writes_the_report(tmp_path, capsys):
    nbs, build = tmp_path / "nbs", tmp_path / "build"
    make_notebook(
        nbs,
        "01_first",
        [show_png((255, 0, 0)), "print('hello')", show_png((0, 0, 255))],
        "01 · First",
    )
    make_notebook(
        nbs, "02_fails", ["x = 1", "raise ValueError('boom\\nsecond line')"], "02 · Fails"
    )
    make_notebook(nbs, "03_third", ["y = seed * 2"], "03 · Third")
    (build / "results").mkdir(parents=True)
    (build / "results" / "02_fails.json").write_text('{"stale": 1}')  # an earlier run's numbers
    code, out, err = run_main(
        capsys, "--notebooks", str(nbs), "--build-dir", str(build), "--smoke", "-p", "seed", "3"
    )

    assert code == 1
    # cells of the executed copy: parameters [1], injected parameters [2], x = 1 [3], raise [4]
    assert "02_fails" in out and "FAILED" in out and "cell [4]: ValueError: boom" in out
    assert "second line" not in out
    assert "2 passed, 1 failed" in out
    # the notebook after the failure ran, with the overrides
    assert json.loads((build / "results" / "03_third.json").read_text())["seed"] == 3
    assert not (build / "results" / "02_fails.json").exists()
    for name in ("01_first", "02_fails", "03_third"):
        nbformat.validate(nbformat.read(build / "executed" / f"{name}.ipynb", as_version=4))
    assert not list((build / "executed").glob(".*"))  # no temporary files left
    # the progress bar (stderr) names notebooks as they run
    assert "03_third" in err and "notebook" in err

    run = json.loads((build / "run.json").read_text())
    assert (
        run["mode"] == "smoke"
        and run["parameters"] == {"seed": 3, "smoke": True}
        and not run["interrupted"]
    )
    assert [r["status"] for r in run["notebooks"]] == ["ok", "FAILED", "ok"]
    first = run["notebooks"][0]
    assert first["title"] == "01 · First" and first["results"]["per"] == {"a": 1.5}
    assert first["figures"] == ["figures/01_first-1.png", "figures/01_first-2.png"]
    assert (build / "figures" / "01_first-1.png").read_bytes() == tiny_png((255, 0, 0))
    assert (build / "figures" / "01_first-2.png").read_bytes() == tiny_png((0, 0, 255))

    md = (build / "report.md").read_text()
    assert "| [01 · First](executed/01_first.ipynb) | ok |" in md
    assert "| ok | " in md and " | acc = 0.9876<br>+ 1 more recorded value |" in md
    assert "| per.a | 1.5 |" in md and "| seed | 3 |" in md
    assert (
        "| [02 · Fails](executed/02_fails.ipynb) | FAILED |" in md
        and "cell [4]: ValueError: boom" in md
    )
    assert "![01_first, figure 1](figures/01_first-1.png)" in md
    import torch

    assert f"| torch | {torch.__version__} |" in md and (
        "| device | cpu" in md or "| device | cuda" in md
    )
    page = (build / "report.html").read_text()
    assert "data:image/png;base64," + base64.b64encode(tiny_png((255, 0, 0))).decode() in page
    assert "cell [4]: ValueError: boom" in page


@pytest.mark.slow
def test_inplace_writes_cleaned_outputs_back_and_keeps_a_failing_notebook(tmp_path, capsys):
    nbs, build = tmp_path / "nbs", tmp_path / "build"
    good = make_notebook(nbs, "01_good", ["print('hi')"])
    bad = make_notebook(nbs, "02_bad", ["assert 1 == 2"])
    before = bad.read_bytes()
    code, out, _ = run_main(capsys, "--notebooks", str(nbs), "--build-dir", str(build), "--inplace")
    assert code == 1 and "cell [2]: AssertionError" in out

    nb = nbformat.read(good, as_version=4)
    assert nb.cells[2].outputs[0].text == "hi\n"
    assert "papermill" not in nb.metadata and all("papermill" not in c.metadata for c in nb.cells)
    assert not any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)
    assert bad.read_bytes() == before  # a failed run never overwrites the committed notebook
    assert (build / "executed" / "02_bad.ipynb").exists()
    row = json.loads((build / "run.json").read_text())["notebooks"][0]
    # no results_dir in place: the numbers come from the results the last cell displays
    assert row["executed"] == os.path.relpath(good, build.resolve())
    assert row["results"] == {"seed": 0, "smoke": False, "acc": 0.9876, "per": {"a": 1.5}}


# --------------------------------------------------------------------------- Ctrl-C
def fake_papermill(monkeypatch, interrupt_at: str, kernel_side: bool = False) -> None:
    """Replace papermill.execute_notebook: copy the notebook, or raise Ctrl-C for
    ``interrupt_at``."""
    import papermill

    def execute(input_path, output_path, parameters=None, **kwargs):
        if interrupt_at in input_path:
            Path(output_path).write_text("{ half a notebook")  # what a killed write leaves
            if kernel_side:
                raise papermill.PapermillExecutionError(
                    0, 5, "sleep()", "KeyboardInterrupt", "", []
                )
            raise KeyboardInterrupt
        nbformat.write(nbformat.read(input_path, as_version=4), output_path)

    monkeypatch.setattr(papermill, "execute_notebook", execute)


@pytest.mark.parametrize(
    "kernel_side", [False, True], ids=["runner-got-ctrl-c", "kernel-got-ctrl-c"]
)
def test_ctrl_c_keeps_finished_notebooks_writes_the_report_and_exits_130(
    tmp_path, capsys, monkeypatch, kernel_side
):
    nbs, build = tmp_path / "nbs", tmp_path / "build"
    for name in ("01_a", "02_b", "03_c"):
        make_notebook(nbs, name, [])
    (build / "executed").mkdir(parents=True)
    (build / "executed" / "02_b.ipynb").write_text("previous run")
    fake_papermill(monkeypatch, "02_b", kernel_side)
    code, out, _ = run_main(capsys, "--notebooks", str(nbs), "--build-dir", str(build), "--smoke")

    assert code == 130
    nbformat.read(build / "executed" / "01_a.ipynb", as_version=4)
    assert (build / "executed" / "02_b.ipynb").read_text() == "previous run"
    assert sorted(p.name for p in (build / "executed").iterdir()) == ["01_a.ipynb", "02_b.ipynb"]
    assert "interrupted: 02_b, 03_c left unfinished" in out
    run = json.loads((build / "run.json").read_text())
    assert run["interrupted"] and [r["status"] for r in run["notebooks"]] == [
        "ok",
        "interrupted",
        "not run",
    ]
    md = (build / "report.md").read_text()
    assert "| 03_c | not run | — | — |" in md and "interrupted (Ctrl-C)" in md


def signalling_papermill(monkeypatch, at: str, events: list[str], again: bool = False) -> None:
    """Replace papermill.execute_notebook: copy the notebook, or for ``at`` send this process
    SIGINT and wait for it to stop the notebook (as a real kernel's cell would be waited for);
    with ``again``, a second SIGINT comes during the clean-up that follows. ``events`` records
    what happened."""
    import papermill

    def execute(input_path, output_path, parameters=None, **kwargs):
        if at not in input_path:
            nbformat.write(nbformat.read(input_path, as_version=4), output_path)
            return
        try:
            os.kill(os.getpid(), signal.SIGINT)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                time.sleep(0.05)
            events.append("the cell ran to its end: Ctrl-C was lost")
        finally:
            if again:  # an impatient second Ctrl-C while the kernel is being shut down
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.2)
            events.append("clean-up finished")

    monkeypatch.setattr(papermill, "execute_notebook", execute)


@pytest.mark.parametrize(
    "inherited",
    [signal.default_int_handler, signal.SIG_IGN],
    ids=["from-a-terminal", "in-the-background-of-a-script"],
)
def test_ctrl_c_stops_the_run_whatever_sigint_handler_the_runner_inherited(
    tmp_path, capsys, monkeypatch, inherited
):
    """A program started in the background of a shell script (``cmd &``) starts with SIGINT
    ignored, and Python leaves it ignored: the runner installs its own handler, so Ctrl-C still
    stops it (the failure of issue 32, where a notebook ran its full two minutes)."""
    nbs, build = tmp_path / "nbs", tmp_path / "build"
    for name in ("01_a", "02_b", "03_c"):
        make_notebook(nbs, name, [])
    events: list[str] = []
    signalling_papermill(monkeypatch, "02_b", events)
    previous = signal.signal(signal.SIGINT, inherited)
    try:
        code, out, _ = run_main(capsys, "--notebooks", str(nbs), "--build-dir", str(build))
        assert signal.getsignal(signal.SIGINT) is inherited  # restored afterwards
    finally:
        signal.signal(signal.SIGINT, previous)
    assert events == ["clean-up finished"]
    assert code == 130 and "interrupted (Ctrl-C)" in out
    assert "interrupted: 02_b, 03_c left unfinished" in out


def test_a_second_ctrl_c_never_cuts_the_clean_up_or_the_report_short(tmp_path, capsys, monkeypatch):
    nbs, build = tmp_path / "nbs", tmp_path / "build"
    for name in ("01_a", "02_b"):
        make_notebook(nbs, name, [])
    events: list[str] = []
    signalling_papermill(monkeypatch, "02_b", events, again=True)
    code, out, _ = run_main(capsys, "--notebooks", str(nbs), "--build-dir", str(build))
    assert events == ["clean-up finished"] and code == 130
    assert json.loads((build / "run.json").read_text())["interrupted_by"] == "Ctrl-C"
    assert "report: " in out


def test_the_stop_handler_raises_once():
    stop = course.Stop()
    with pytest.raises(KeyboardInterrupt) as info:
        stop(signal.SIGINT, None)
    assert not isinstance(info.value, course.Terminated)
    stop(signal.SIGINT, None)  # a second Ctrl-C: ignored
    stop(signal.SIGTERM, None)
    stop = course.Stop()
    with pytest.raises(course.Terminated):
        stop(signal.SIGTERM, None)
    stop = course.Stop()
    stop.disarm()
    stop(signal.SIGINT, None)  # the run is over: the report is being written


# how long the runner may take to stop after Ctrl-C on a busy machine (about 10 s at a load of 12
# on 2 cores: the kernel's shutdown and the report); the slow notebook sleeps far longer, so a
# signal that is lost can never pass for one that worked
STOP_WITHIN = 60


def ignore_sigint() -> None:
    """Start a child as a background job of a shell script starts: with SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def start_runner(nbs: Path, build: Path, *args: str) -> subprocess.Popen:
    """``python -m coursekit.run --smoke`` on ``nbs`` in a session of its own, started as a
    background job of a shell script is (SIGINT ignored), its output captured."""
    return subprocess.Popen(
        [sys.executable, "-m", "coursekit.run", "--notebooks", str(nbs), "--build-dir", str(build)]
        + ["--smoke", *args],
        cwd=ROOT,
        start_new_session=True,
        preexec_fn=ignore_sigint,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
@pytest.mark.parametrize("how", ["ctrl-c", "kill"])
def test_real_ctrl_c_or_kill_on_a_running_course(tmp_path, how):
    """SIGINT to the runner's process group (what Ctrl-C in a terminal does), or SIGTERM to the
    runner alone (``kill``, a CI timeout), during notebook 02.

    The runner starts with SIGINT ignored, as a background job of a shell script does (and as
    this test's own process may have started): it must stop all the same, as it does when
    started from a terminal, where SIGINT raises KeyboardInterrupt.
    """
    nbs, build, started = tmp_path / "nbs", tmp_path / "build", tmp_path / "started"
    make_notebook(nbs, "01_fast", ["x = 1"])
    make_notebook(
        nbs,
        "02_slow",
        [
            f"import os, pathlib, time\npathlib.Path({str(started)!r}).write_text(str(os.getpid()))"
            "\ntime.sleep(600)"
        ],
    )
    make_notebook(nbs, "03_never", [])
    proc = start_runner(nbs, build)
    try:
        deadline = time.monotonic() + 240
        while not started.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert started.exists(), "notebook 02 never started"
        time.sleep(0.5)
        if how == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            os.kill(proc.pid, signal.SIGTERM)
        sent = time.monotonic()
        try:
            out, err = proc.communicate(timeout=STOP_WITHIN)
        except subprocess.TimeoutExpired as late:
            printed = late.stdout or b""  # bytes, even in text mode
            if isinstance(printed, bytes):
                printed = printed.decode(errors="replace")
            pytest.fail(f"the runner did not stop within {STOP_WITHIN} s of the signal: {printed}")
        print(f"{how}: the runner stopped {time.monotonic() - sent:.1f} s after the signal")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == (130 if how == "ctrl-c" else 143), out + err[-3000:]
    by = "Ctrl-C" if how == "ctrl-c" else "SIGTERM"
    assert f"interrupted ({by})" in out
    for noise in ("Traceback", "ZMQError", "Task exception", "without encryption"):
        assert noise not in err, err[-3000:]
    assert nbformat.read(build / "executed" / "01_fast.ipynb", as_version=4).cells
    assert sorted(p.name for p in (build / "executed").iterdir()) == ["01_fast.ipynb"]
    statuses = [r["status"] for r in json.loads((build / "run.json").read_text())["notebooks"]]
    assert statuses == ["ok", "interrupted", "not run"]
    leftover = subprocess.run(
        ["ps", "-o", "pid=,args=", "-s", str(proc.pid)], capture_output=True, text=True
    ).stdout
    assert not leftover.strip(), f"processes left behind: {leftover}"
    kernel = int(
        started.read_text()
    )  # the kernel runs in a session of its own: it must have been shut down
    deadline = time.monotonic() + 30
    while kernel_alive(kernel) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not kernel_alive(kernel), f"the kernel of notebook 02 (pid {kernel}) is still running"
    assert f"— interrupted ({by})" in (build / "report.md").read_text()


def kernel_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, dead but not yet reaped, does not count)."""
    if not Path("/proc").is_dir():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


# --------------------------------------------------------------------------- report pieces
@pytest.mark.parametrize(
    "value, text",
    [
        (109386, "109,386"),
        (0.98765, "0.9877"),
        (1.5e-7, "1.5e-07"),
        (True, "True"),
        (None, "None"),
        ([64, 10], "[64, 10]"),
        (list(range(10)), "[10 values]"),
        ("cpu", "cpu"),
        (0.0, "0"),
    ],
)
def test_format_value(value, text):
    assert report.format_value(value) == text


def test_flatten_results_and_format_seconds():
    assert report.flatten_results({"a": 1, "val": {"adam": 0.9, "sgd": {"lr": 0.1}}}) == {
        "a": 1,
        "val.adam": 0.9,
        "val.sgd.lr": 0.1,
    }
    assert [report.format_seconds(s) for s in (3.14159, 119.94, 125, None)] == [
        "3.1 s",
        "119.9 s",
        "2 min 05 s",
        "—",
    ]


def sample_run(tmp_path: Path) -> dict:
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "01_a-1.png").write_bytes(tiny_png())
    return {
        "started": "2025-01-01T10:00:00+00:00",
        "mode": "smoke",
        "command": "python -m coursekit.run --smoke",
        "parameters": {"smoke": True},
        "interrupted": False,
        "environment": {
            "torch": "2.4.0",
            "device": "cpu",
            "device_name": "x86_64, 2 cores",
            "python": "3.11.7",
            "platform": "Linux",
        },
        "notebooks": [
            {
                "name": "01_a",
                "title": "01 · A | b",
                "status": "ok",
                "seconds": 12.34,
                "error": "",
                "results": {"acc": 0.97, "per": {"x": 1}, "agrees": True, "seed": 0},
                "executed": "executed/01_a.ipynb",
                "figures": ["figures/01_a-1.png"],
            },
            {
                "name": "02_b",
                "title": "02 · B",
                "status": "FAILED",
                "seconds": 1.0,
                "results": {},
                "error": "cell [3]: ValueError: a<b",
                "executed": "executed/02_b.ipynb",
                "figures": [],
            },
        ],
    }


def test_markdown_report_and_table(tmp_path):
    run = sample_run(tmp_path)
    table = report.markdown_table(run)
    assert (
        table.splitlines()[2] == "| [01 · A \\| b](executed/01_a.ipynb) | ok | 12.3 s | "
        "acc = 0.97<br>checks: 1 of 1 True<br>+ 1 more recorded value |"
    )
    assert (
        table.splitlines()[3]
        == "| [02 · B](executed/02_b.ipynb) | FAILED | 1.0 s | cell [3]: ValueError: a<b |"
    )
    assert "(notebooks/01_a.ipynb)" in report.markdown_table(run, links="notebooks")
    assert "](" not in report.markdown_table(run, links=None)
    with pytest.raises(ValueError, match="links must be"):
        report.markdown_table(run, links="site")
    md = report.markdown_report(run)
    assert "| torch | 2.4.0 |" in md and "| device | cpu (x86_64, 2 cores) |" in md
    assert "smoke=True; every other parameter at each notebook's default" in md
    assert "2 notebook(s): 1 passed, 1 failed, 13.3 s in all" in md
    assert "- **02_b** FAILED: cell [3]: ValueError: a<b" in md
    assert (
        "| recorded | value |\n|---|---|\n| acc | 0.97 |\n| per.x | 1 |\n"
        "| agrees | True |\n| seed | 0 |" in md
    )
    assert "![01_a, figure 1](figures/01_a-1.png)" in md


def test_headline_numbers_for_the_table():
    results = {
        "acc": 0.5,
        "n": 3,
        "ok": True,
        "same": False,
        "per": {"a": 1, "b": 2},
        "name": "x",
        "smoke": True,
    }
    assert report.headline(results) == [
        "acc = 0.5",
        "n = 3",
        "checks: 1 of 2 True (False: same)",
        "+ 3 more recorded values",
    ]
    chosen = {**results, "headline": ["per.b", "acc", "missing"]}
    assert report.headline(chosen) == ["per.b = 2", "acc = 0.5", "missing: not recorded"]
    assert report.headline({}) == []


def test_html_report_escapes_and_embeds_figures(tmp_path):
    page = report.html_report(sample_run(tmp_path), tmp_path)
    assert "cell [3]: ValueError: a&lt;b" in page and "01 · A | b" in page
    assert 'src="data:image/png;base64,' + base64.b64encode(tiny_png()).decode() + '"' in page


def test_write_report_and_the_table_for_the_readme(tmp_path, capsys):
    run = sample_run(tmp_path)
    md, page = report.write_report(run, tmp_path)
    assert md.read_text().startswith("# Course report") and page.read_text().startswith(
        "<!DOCTYPE html>"
    )
    assert json.loads((tmp_path / "run.json").read_text()) == run
    assert report.main(["--build-dir", str(tmp_path), "--table"]) == 0
    out = capsys.readouterr().out
    assert (
        out.startswith("| notebook | status | wall time | recorded numbers |")
        and "(notebooks/02_b.ipynb)" in out
    )
    assert report.main(["--build-dir", str(tmp_path / "none")]) == 2
    assert "run the course first" in capsys.readouterr().err


def figure_notebook(tags_at: tuple[int, ...] = ()) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for k in range(4):
        cell = nbformat.v4.new_code_cell(f"plot({k})")
        cell.outputs = [
            nbformat.v4.new_output(
                "display_data",
                data={
                    "image/png": base64.b64encode(tiny_png((k, k, k))).decode(),
                    "text/plain": "<Figure>",
                },
            )
        ]
        if k in tags_at:
            cell.metadata["tags"] = [report.FIGURE_TAG]
        nb.cells.append(cell)
    return nb


def test_extract_figures_first_and_last_or_the_tagged_ones(tmp_path):
    paths = report.extract_figures(figure_notebook(), "nb", tmp_path)
    assert [p.read_bytes() for p in paths] == [tiny_png((0, 0, 0)), tiny_png((3, 3, 3))]
    (tmp_path / "nb-3.png").write_bytes(b"stale")
    paths = report.extract_figures(figure_notebook(tags_at=(1, 2)), "nb", tmp_path, limit=1)
    assert [p.read_bytes() for p in paths] == [tiny_png((1, 1, 1))]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nb-1.png"]
    assert report.extract_figures(nbformat.v4.new_notebook(), "empty", tmp_path) == []
    with pytest.raises(ValueError, match="limit must be >= 0"):
        report.extract_figures(figure_notebook(), "nb", tmp_path, limit=-1)


def test_results_and_title_from_an_executed_notebook():
    nb = nbformat.v4.new_notebook()
    error_cell = nbformat.v4.new_markdown_cell("An Exception was encountered")
    error_cell.metadata["tags"] = ["papermill-error-cell-tag"]
    last = nbformat.v4.new_code_cell("results")
    last.outputs = [
        nbformat.v4.new_output(
            "execute_result",
            data={"text/plain": "{'acc': 0.97,\n 'shape': [2, 3]}"},
            execution_count=9,
        )
    ]
    nb.cells = [error_cell, nbformat.v4.new_markdown_cell("# 05 · Overfitting\n\ntext"), last]
    assert report.results_from_notebook(nb) == {"acc": 0.97, "shape": [2, 3]}
    assert cells.title(nb, "x") == "05 · Overfitting"
    last.outputs[0].data["text/plain"] = "<object at 0x7f>"
    assert report.results_from_notebook(nb) == {}
    assert cells.title(nbformat.v4.new_notebook(), "fallback") == "fallback"


def test_environment_names_torch_and_the_device():
    import torch

    env = report.environment("cpu")
    assert (
        env["torch"] == torch.__version__
        and env["device"] == "cpu"
        and env["cpu_count"] == os.cpu_count()
    )
    if not torch.cuda.is_available():
        assert "not available" in report.environment("cuda")["device_name"]


# --------------------------------------------------------------------------- faults
def with_parameters(folder: Path, name: str, extra: str) -> Path:
    """A synthetic notebook whose parameters cell also defines ``extra``."""
    path = make_notebook(folder, name, [])
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].source += "\n" + extra
    nbformat.write(nb, path)
    return path


def recording_papermill(monkeypatch) -> list[dict]:
    """Replace papermill.execute_notebook by a copy that records its parameters and writes the
    results JSON as the notebook's last cell would."""
    import papermill

    calls: list[dict] = []

    def execute(input_path, output_path, parameters=None, **kwargs):
        calls.append(dict(parameters or {}))
        nbformat.write(nbformat.read(input_path, as_version=4), output_path)
        if parameters and parameters.get("results_dir"):
            folder = Path(parameters["results_dir"])
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{Path(input_path).stem}.json").write_text('{"acc": 0.5}')

    monkeypatch.setattr(papermill, "execute_notebook", execute)
    return calls


def test_folders_given_with_p_are_relative_to_the_callers_folder(tmp_path, capsys, monkeypatch):
    nbs = tmp_path / "nbs"
    with_parameters(nbs, "01_a", "data_dir = None")
    calls = recording_papermill(monkeypatch)
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_main(
        capsys,
        "--notebooks",
        str(nbs),
        "--build-dir",
        "b",
        "-p",
        "data_dir",
        "my-mnist",
        "-p",
        "results_dir",
        "~/../mine",
    )
    assert code == 0, out
    assert calls[0]["data_dir"] == str(tmp_path / "my-mnist")  # not notebooks/my-mnist
    mine = os.path.abspath(os.path.expanduser("~/../mine"))
    assert calls[0]["results_dir"] == mine and not (tmp_path / "b" / "results").exists()


def test_results_dir_given_with_p_is_where_the_results_go(tmp_path, capsys, monkeypatch):
    make_notebook(tmp_path / "nbs", "01_a", [])
    recording_papermill(monkeypatch)
    mine, where = tmp_path / "mine", ["--notebooks", str(tmp_path / "nbs")]
    code, out, _ = run_main(
        capsys, *where, "--build-dir", str(tmp_path / "b"), "-p", "results_dir", str(mine)
    )
    assert code == 0 and "acc=0.5" in out
    assert json.loads((mine / "01_a.json").read_text()) == {"acc": 0.5}


@pytest.mark.parametrize("damage", ["truncated", "not json", "empty", "a list"])
def test_a_malformed_notebook_is_named_before_anything_runs(tmp_path, capsys, damage):
    nbs = tmp_path / "nbs"
    good = make_notebook(nbs, "01_a", [])
    bad = make_notebook(nbs, "02_b", [])
    text = bad.read_text()
    bad.write_text(
        {"truncated": text[: len(text) // 2], "not json": "hello", "empty": "", "a list": "[]"}[
            damage
        ]
    )
    code, out, err = run_main(capsys, "--notebooks", str(nbs), "--build-dir", str(tmp_path / "b"))
    assert code == 2 and "Traceback" not in err
    assert err.startswith(f"error: {bad} is not a valid notebook") and err.count("\n") == 1
    assert not (tmp_path / "b").exists() and good.exists()


def test_a_full_disk_fails_the_notebook_in_one_line_and_leaves_no_stray_files(
    tmp_path, capsys, monkeypatch
):
    import errno

    import helpers._internal.files

    nbs, build = tmp_path / "nbs", tmp_path / "build"
    make_notebook(nbs, "01_a", [])
    (build / "executed").mkdir(parents=True)
    (build / "executed" / "01_a.ipynb").write_text("previous run")
    recording_papermill(monkeypatch)

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(helpers._internal.files.os, "fsync", full)
    code, out, err = run_main(capsys, "--notebooks", str(nbs), "--build-dir", str(build))
    assert code == 1 and "Traceback" not in out + err
    assert "01_a" in out and "no space left on device" in out
    assert "the report was not written" in err and "no space left on device" in err
    assert (build / "executed" / "01_a.ipynb").read_text() == "previous run"
    assert sorted(p.name for p in (build / "executed").iterdir()) == ["01_a.ipynb"]
    assert not [p for p in build.rglob(".*") if p.is_file()]  # no temporary file anywhere


def test_papermill_hitting_a_full_disk_is_named_too(tmp_path, capsys, monkeypatch):
    import errno

    import papermill

    def execute(input_path, output_path, parameters=None, **kwargs):
        Path(output_path).write_text('{"cells": [')  # half written, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(papermill, "execute_notebook", execute)
    make_notebook(tmp_path / "nbs", "01_a", [])
    build = tmp_path / "build"
    code, out, err = run_main(
        capsys, "--notebooks", str(tmp_path / "nbs"), "--build-dir", str(build)
    )
    assert code == 1 and "Traceback" not in out + err and "NotJSONError" not in out
    assert "no space left on device while writing into" in out
    assert list((build / "executed").iterdir()) == []


def test_a_stale_temporary_of_a_killed_runner_is_removed(tmp_path, capsys, monkeypatch):
    nbs, build = tmp_path / "nbs", tmp_path / "build"
    make_notebook(nbs, "01_a", [])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = build / "executed" / f".01_a.ipynb.{dead.pid}-0bad.tmp.ipynb"
    stale.parent.mkdir(parents=True)
    stale.write_text("{ half")
    recording_papermill(monkeypatch)
    assert run_main(capsys, "--notebooks", str(nbs), "--build-dir", str(build))[0] == 0
    assert sorted(p.name for p in (build / "executed").iterdir()) == ["01_a.ipynb"]


def test_a_damaged_run_record_is_named(tmp_path, capsys):
    (tmp_path / "run.json").write_text('{"started": ')
    assert report.main(["--build-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot read {tmp_path / 'run.json'}") and "again" in err
    (tmp_path / "run.json").write_text("[]")
    assert report.main(["--build-dir", str(tmp_path), "--table"]) == 2
    assert "is not a run record" in capsys.readouterr().err


@pytest.mark.slow
def test_a_claim_that_fails_in_a_full_run_fails_the_notebook_and_is_named(tmp_path, capsys):
    nbs, build = tmp_path / "nbs", tmp_path / "build"
    path = make_notebook(nbs, "01_claims", [], "01 · Claims")
    nb = nbformat.read(path, as_version=4)
    nb.cells[-1].source = nb.cells[-1].source.replace(
        "'per': {'a': 1.5}}", "'per': {'a': 1.5}, 'claims': {'a beats b': True, 'c < d': smoke}}"
    )
    nbformat.write(nb, path)
    code, out, _ = run_main(capsys, "--notebooks", str(nbs), "--build-dir", str(build))
    assert code == 1
    assert "1 failed in" in out and "01_claims claims that do not hold in this run: c < d" in out
    # in smoke mode the same claim is only a number on a tiny run: not a failure
    code, out, _ = run_main(capsys, "--notebooks", str(nbs), "--build-dir", str(build), "--smoke")
    assert code == 0 and "1 passed, 0 failed" in out


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="IPC sockets are POSIX only")
def test_kernels_started_at_once_each_get_their_own_sockets(tmp_path, monkeypatch):
    """Two runs at the same moment (two terminals, or a test beside a course run) must not share
    jupyter_client's default socket files (``kernel-ipc-N`` in the current folder): the second
    kernel then answers with the first one's key, "Invalid Signature"."""
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.chdir(tmp_path)  # where the default socket files would go
    # each kernel lists the runner's folder while both kernels are up
    body = ["import json, os, time\ntime.sleep(1.0)\nprint(json.dumps(os.listdir('..')))"]
    paths = [make_notebook(tmp_path / "nbs", f"0{i}_pair", body) for i in (1, 2)]
    with ThreadPoolExecutor(2) as pool:
        rows = list(
            pool.map(
                lambda p: course.run_notebook(p, parameters={}, out_dir=tmp_path / "out"), paths
            )
        )
    assert [r["status"] for r in rows] == ["ok", "ok"], [r["error"] for r in rows]
    for row in rows:
        listed = json.loads(nbformat.read(row["path"], as_version=4).cells[2].outputs[0].text)
        assert "nbs" in listed and not [n for n in listed if n.startswith("kernel-ipc")]
    options = course.kernel_options(None, tmp_path / "sockets")
    assert options["config"].KernelManager.ip == str(tmp_path / "sockets" / "kernel")


# --------------------------------------------------------------------------- parallel smoke runs
def _timed(folder: Path, seconds: float) -> str:
    """Cell source that sleeps and records when it ran, in ``folder/<pid>.json``."""
    return (
        "import json, os, pathlib, time\nstart = time.time()\n"
        f"time.sleep({seconds})\n"
        f"pathlib.Path({str(folder)!r}, f'{{os.getpid()}}.json').write_text("
        "json.dumps([start, time.time(), os.environ.get('OMP_NUM_THREADS')]))"
    )


@pytest.mark.slow
def test_a_parallel_smoke_run_overlaps_notebooks_and_reports_in_course_order(tmp_path, capsys):
    times = tmp_path / "times"
    times.mkdir()
    for name in ("01_a", "02_b", "03_c"):
        make_notebook(tmp_path / "nbs", name, [_timed(times, 3)])
    code, out, _ = run_main(
        capsys,
        "--notebooks",
        str(tmp_path / "nbs"),
        "--build-dir",
        str(tmp_path / "b"),
        "--smoke",
        "--jobs",
        "2",
    )
    assert code == 0, out
    spans = sorted(json.loads(p.read_text()) for p in times.iterdir())
    assert len(spans) == 3 and all(threads == "1" for *_, threads in spans)
    assert spans[1][0] < spans[0][1], "the first two notebooks ran at the same time"
    run = json.loads((tmp_path / "b" / "run.json").read_text())
    assert [r["name"] for r in run["notebooks"]] == ["01_a", "02_b", "03_c"]
    assert [r["status"] for r in run["notebooks"]] == ["ok"] * 3
    assert spans[2][0] > min(spans[0][1], spans[1][1]), "two at a time, not three"
    assert run["jobs"] == 2 and run["wall_seconds"] > 0  # the report gives the run's wall time
    assert "(2 at a time: " in out and "2 at a time" in (tmp_path / "b" / "report.md").read_text()


@pytest.mark.slow
def test_ctrl_c_on_a_parallel_run_stops_both_running_notebooks(tmp_path):
    nbs, build, started = tmp_path / "nbs", tmp_path / "build", tmp_path / "started"
    started.mkdir()
    for name in ("01_slow", "02_slow"):
        make_notebook(
            nbs,
            name,
            [
                "import os, pathlib, time\n"
                f"pathlib.Path({str(started)!r}, str(os.getpid())).touch()\ntime.sleep(600)"
            ],
        )
    make_notebook(nbs, "03_never", [])
    proc = start_runner(nbs, build, "--jobs", "2")
    try:
        deadline = time.monotonic() + 240
        while len(list(started.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(list(started.iterdir())) == 2, "the two notebooks never ran together"
        time.sleep(0.5)
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=STOP_WITHIN)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, out + err[-3000:]
    statuses = [r["status"] for r in json.loads((build / "run.json").read_text())["notebooks"]]
    assert statuses == ["interrupted", "interrupted", "not run"]
    assert "Traceback" not in err, err[-3000:]
    kernels = [int(p.name) for p in started.iterdir()]
    deadline = time.monotonic() + 30
    while any(kernel_alive(k) for k in kernels) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(kernel_alive(k) for k in kernels), "a kernel is still running"
