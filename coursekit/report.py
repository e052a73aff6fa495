"""The course report: ``build/report.md`` and ``build/report.html`` after a run of the course.

The runner (``python -m coursekit.run``) records each run in ``build/run.json`` (what ran, with
which parameters, on which torch and device, each notebook's status, wall time and headline
numbers) and renders the report from it. ``python -m coursekit.report`` renders it again, and
``python -m coursekit.report --table`` prints only the table of notebooks, with links into
``notebooks/``, ready to paste into the README.

The table shows, per notebook, its status, wall time and headline numbers: the keys listed in
``results["headline"]`` if the notebook sets it, else its top-level numbers and a count of its
true/false checks; a detail section per notebook lists every recorded value. Key figures are PNG
outputs copied from each executed notebook into ``build/figures/``: the cells tagged
``report-figure`` if a notebook has any, else its first and its last figure. A "Benchmark history"
section shows the last runs of each benchmark from ``benchmarks/history.jsonl``, regressions
marked (see ``coursekit.bench_history``).
"""

from __future__ import annotations

import argparse
import base64
import html
import importlib.metadata
import json
import os
import platform
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import nbformat

from helpers._internal.files import WriteError, write_atomic
from helpers._internal.paths import BUILD

from .bench_history import html_section, markdown_section, md_cell

RUN_RECORD = "run.json"
FIGURE_TAG = "report-figure"
HEADLINE_KEY = "headline"
SETTINGS = ("seed", "device", "data_dir", "smoke", "results_dir")  # every notebook's parameters
STATUSES = ("ok", "FAILED", "interrupted", "not run")


# --------------------------------------------------------------------------- what a run records
def environment(device: str = "auto", probe: bool = True) -> dict[str, Any]:
    """The torch version, the device ``device`` resolves to here (with its name), Python and the
    OS.

    ``probe=False`` leaves torch unimported (importing it takes seconds on a busy machine, too
    long after Ctrl-C): the version is the installed package's, and the device is not checked.
    """
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "cpu_count": os.cpu_count(),
    }
    if not probe:
        try:
            version = importlib.metadata.version("torch")
        except importlib.metadata.PackageNotFoundError:
            version = "not installed"
        return {"torch": version, "device": device, "device_name": "not checked", **info}
    import torch

    from helpers.runtime import get_device

    info = {"torch": torch.__version__, **info}
    try:
        dev = get_device(device)
    except (ValueError, TypeError) as err:
        info.update(device=str(device), device_name=f"not available: {err}")
        return info
    info["device"] = dev.type
    if dev.type == "cuda":
        info["device_name"] = f"{torch.cuda.get_device_name(dev)} (CUDA {torch.version.cuda})"
    elif dev.type == "mps":
        info["device_name"] = "Apple MPS"
    else:
        info["device_name"] = f"{platform.machine() or 'CPU'}, {os.cpu_count()} cores"
    return info


def results_from_notebook(nb: nbformat.NotebookNode) -> dict[str, Any]:
    """The headline numbers a notebook displays in its last code cell (``results`` as a dict), or
    ``{}``.

    Used when a run wrote no JSON (``--inplace`` passes no ``results_dir``).
    """
    import ast

    code = [c for c in nb.cells if c.cell_type == "code"]
    if not code:
        return {}
    for out in code[-1].get("outputs", []):
        text = (
            out.get("data", {}).get("text/plain")
            if out.get("output_type") == "execute_result"
            else None
        )
        if text:
            try:
                value = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                return {}
            return value if isinstance(value, dict) else {}
    return {}


def extract_figures(
    nb: nbformat.NotebookNode, name: str, figures_dir: Path, limit: int = 2
) -> list[Path]:
    """Copy up to ``limit`` key PNG figures of an executed notebook to
    ``figures_dir/<name>-<k>.png``.

    Key figures: the outputs of cells tagged ``report-figure`` if there are any, else the first and
    the last figure of the notebook. Figures of an earlier run of ``name`` are removed first.
    """
    if limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit!r}")
    figures_dir.mkdir(parents=True, exist_ok=True)
    for old in figures_dir.glob(f"{name}-*.png"):
        old.unlink()
    pngs: list[tuple[bool, str]] = []
    for cell in nb.cells:
        tagged = FIGURE_TAG in cell.get("metadata", {}).get("tags", [])
        for out in cell.get("outputs", []):
            data = out.get("data", {}).get("image/png")
            if data:
                pngs.append((tagged, data if isinstance(data, str) else "".join(data)))
    chosen = [png for tagged, png in pngs if tagged]
    if not chosen and pngs:
        chosen = [pngs[0][1]] if len(pngs) == 1 else [pngs[0][1], pngs[-1][1]]
    paths = []
    for k, data in enumerate(chosen[:limit], start=1):
        paths.append(write_atomic(figures_dir / f"{name}-{k}.png", base64.b64decode(data)))
    return paths


# --------------------------------------------------------------------------- formatting
def format_value(value: Any) -> str:
    """A headline number as the report shows it: ints with thousands separators, floats to 4
    digits."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return (
            f"{value:.3g}"
            if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e6)
            else f"{value:.4g}"
        )
    if isinstance(value, (list, tuple)):
        if len(value) <= 4 and all(not isinstance(v, (list, tuple, dict)) for v in value):
            return "[" + ", ".join(format_value(v) for v in value) + "]"
        return f"[{len(value)} values]"
    return str(value)


def flatten_results(results: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts of results as one level, keys joined by dots: ``{"val": {"adam": 0.9}}`` ->
    ``{"val.adam": 0.9}``."""
    flat: dict[str, Any] = {}
    for key, value in results.items():
        if isinstance(value, dict):
            flat.update(flatten_results(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def format_seconds(seconds: float | None) -> str:
    """``12.3 s`` under two minutes, ``4 min 05 s`` above; an em dash when there is no time."""
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def headline(results: dict[str, Any]) -> list[str]:
    """The recorded numbers the table shows, one string each.

    A notebook may name them: ``results["headline"] = ["test_accuracy", "val.adam"]`` (dotted keys
    reach into nested dicts). Otherwise: its top-level numbers, one line counting its true/false
    checks, and how many more values it recorded (the report's detail section lists them all).
    The run's own settings (``seed``, ``device``, ``smoke``, ...) are left to the report's header.
    """
    flat = {
        k: v for k, v in flatten_results(results).items() if k != HEADLINE_KEY and k not in SETTINGS
    }
    chosen = results.get(HEADLINE_KEY)
    if isinstance(chosen, list) and all(isinstance(k, str) for k in chosen):
        return [
            f"{key} = {format_value(flat[key])}" if key in flat else f"{key}: not recorded"
            for key in chosen
        ]
    top = {k: v for k, v in results.items() if k != HEADLINE_KEY and k not in SETTINGS}
    numbers = {
        k: v for k, v in top.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
    }
    checks = {k: v for k, v in top.items() if isinstance(v, bool)}
    lines = [f"{key} = {format_value(value)}" for key, value in numbers.items()]
    if checks:
        false = [k for k, v in checks.items() if not v]
        lines.append(
            f"checks: {len(checks) - len(false)} of {len(checks)} True"
            + (f" (False: {', '.join(false)})" if false else "")
        )
    more = len(flat) - len(numbers) - len(checks)
    if more:
        lines.append(f"+ {more} more recorded value{'s' if more > 1 else ''}")
    return lines


def _numbers(row: dict[str, Any]) -> list[str]:
    if row.get("status") != "ok" and row.get("error"):
        return [row["error"]]
    return headline(row.get("results") or {})


def _recorded(row: dict[str, Any]) -> list[tuple[str, str]]:
    """Every recorded value of a notebook, flattened and formatted, for its detail section."""
    flat = flatten_results(row.get("results") or {})
    return [(key, format_value(value)) for key, value in flat.items() if key != HEADLINE_KEY]


def _summary(run: dict[str, Any]) -> str:
    rows = run["notebooks"]
    counts = {s: sum(r["status"] == s for r in rows) for s in STATUSES}
    parts = [f"{counts['ok']} passed", f"{counts['FAILED']} failed"]
    parts += [f"{counts[s]} {s}" for s in ("interrupted", "not run") if counts[s]]
    total = sum(r.get("seconds") or 0 for r in rows)
    text = f"{len(rows)} notebook(s): {', '.join(parts)}, {format_seconds(total)} in all"
    if run.get("jobs", 1) > 1 and run.get("wall_seconds") is not None:
        text += f" ({run['jobs']} at a time: {format_seconds(run['wall_seconds'])} wall-clock)"
    return text


def _parameters(run: dict[str, Any]) -> str:
    params = run.get("parameters") or {}
    given = ", ".join(f"{k}={v!r}" for k, v in params.items()) or "none"
    return f"{given}; every other parameter at each notebook's default"


def _facts(run: dict[str, Any]) -> list[tuple[str, str]]:
    env = run.get("environment") or {}
    by = run.get("interrupted_by") or "Ctrl-C"  # records older than SIGTERM handling lack it
    return [
        ("run", f"{run.get('started', '?')} ({run.get('mode', '?')})"),
        ("result", _summary(run) + (f" — interrupted ({by})" if run.get("interrupted") else "")),
        ("torch", str(env.get("torch", "?"))),
        ("device", f"{env.get('device', '?')} ({env.get('device_name', '?')})"),
        ("Python", f"{env.get('python', '?')} on {env.get('platform', '?')}"),
        ("parameters", _parameters(run)),
        ("command", f"`{run.get('command', '?')}`"),
    ]


def markdown_table(run: dict[str, Any], links: str | None = "executed") -> str:
    """The table of notebooks (status, wall time, recorded numbers) as GitHub markdown.

    ``links``: ``"executed"`` links each notebook's executed copy (relative to the build folder),
    ``"notebooks"`` links ``notebooks/<name>.ipynb`` (for the README), None links nothing.
    """
    if links not in ("executed", "notebooks", None):
        raise ValueError(f"links must be 'executed', 'notebooks' or None, got {links!r}")
    lines = ["| notebook | status | wall time | recorded numbers |", "|---|---|---:|---|"]
    for row in run["notebooks"]:
        title = md_cell(row.get("title") or row["name"])
        target = (
            row.get("executed")
            if links == "executed"
            else f"notebooks/{row['name']}.ipynb"
            if links
            else None
        )
        cell = f"[{title}]({target})" if target else title
        numbers = "<br>".join(md_cell(n) for n in _numbers(row)) or "—"
        seconds = format_seconds(row.get("seconds")) if row["status"] != "not run" else "—"
        lines.append(f"| {cell} | {row['status']} | {seconds} | {numbers} |")
    return "\n".join(lines)


def markdown_report(run: dict[str, Any], history: Path | None = None) -> str:
    """The whole report as markdown; figure links are relative to the build folder.

    ``history``: the benchmark history file (default ``benchmarks/history.jsonl``).
    """
    out = ["# Course report", ""]
    out += ["| | |", "|---|---|"] + [f"| {k} | {md_cell(v)} |" for k, v in _facts(run)] + [""]
    out += ["## Notebooks", "", markdown_table(run), ""]
    failed = [r for r in run["notebooks"] if r["status"] in ("FAILED", "interrupted")]
    if failed:
        out += ["## Failures", ""]
        out += [
            f"- **{r['name']}** {r['status']}: {r.get('error') or 'no error recorded'}"
            + (f" (executed copy: `{r['executed']}`)" if r.get("executed") else "")
            for r in failed
        ]
        out.append("")
    out += [markdown_section(history), ""]
    detailed = [r for r in run["notebooks"] if r.get("figures") or _recorded(r)]
    if detailed:
        out += ["## Notebooks in detail", ""]
    for row in detailed:
        out += [f"### {row.get('title') or row['name']}", ""]
        out += [
            f"![{row['name']}, figure {k}]({path})"
            for k, path in enumerate(row.get("figures") or [], start=1)
        ]
        if row.get("figures"):
            out.append("")
        if _recorded(row):
            out += ["| recorded | value |", "|---|---|"] + [
                f"| {md_cell(k)} | {md_cell(v)} |" for k, v in _recorded(row)
            ]
            out.append("")
    return "\n".join(out)


_CSS = (
    """
body { font-family: system-ui, sans-serif; max-width: 72rem; margin: 2rem auto; """
    """padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: .35rem .6rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.num { text-align: right; white-space: nowrap; }
.ok { color: #17692c; font-weight: 600; } """
    """.FAILED, .interrupted, .regression { color: #b00020; font-weight: 600; }
figure { display: inline-block; margin: .5rem 1rem .5rem 0; } img { max-width: 34rem; }
code { background: #f3f3f3; padding: 0 .2rem; }
"""
)


def html_report(run: dict[str, Any], build_dir: Path, history: Path | None = None) -> str:
    """The report as one self-contained HTML page (figures embedded as data URIs).

    ``history``: the benchmark history file (default ``benchmarks/history.jsonl``).
    """
    esc = html.escape
    facts = "".join(
        f"<tr><th>{esc(k)}</th><td>{esc(v.strip('`'))}</td></tr>" for k, v in _facts(run)
    )
    rows = []
    for row in run["notebooks"]:
        title = esc(row.get("title") or row["name"])
        if row.get("executed") and row["status"] != "not run":
            title = f'<a href="{esc(row["executed"])}">{title}</a>'
        seconds = format_seconds(row.get("seconds")) if row["status"] != "not run" else "—"
        numbers = "<br>".join(esc(n) for n in _numbers(row)) or "—"
        rows.append(
            f'<tr><td>{title}</td><td class="{esc(row["status"].replace(" ", "-"))}">'
            f"{esc(row['status'])}"
            f'</td><td class="num">{esc(seconds)}</td><td>{numbers}</td></tr>'
        )
    details = []
    for row in run["notebooks"]:
        imgs = []
        for k, rel in enumerate(row.get("figures") or [], start=1):
            path = build_dir / rel
            if path.is_file():
                data = base64.b64encode(path.read_bytes()).decode("ascii")
                imgs.append(
                    f'<figure><img alt="{esc(row["name"])}, figure {k}" '
                    f'src="data:image/png;base64,{data}">'
                    f"<figcaption>{esc(row['name'])}, figure {k}</figcaption></figure>"
                )
        recorded = "".join(
            f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in _recorded(row)
        )
        if imgs or recorded:
            details.append(
                f"<h3>{esc(row.get('title') or row['name'])}</h3>"
                + "".join(imgs)
                + (
                    f"<table><tr><th>recorded</th><th>value</th></tr>{recorded}</table>"
                    if recorded
                    else ""
                )
            )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Course report</title>'
        f"<style>{_CSS}</style></head><body>\n<h1>Course report</h1>\n<table>{facts}</table>\n"
        "<h2>Notebooks</h2>\n<table><tr><th>notebook</th><th>status</th><th>wall time</th>"
        f"<th>recorded numbers</th></tr>\n"
        + "\n".join(rows)
        + "</table>\n"
        + html_section(history)
        + "\n"
        + ("<h2>Notebooks in detail</h2>\n" + "\n".join(details) if details else "")
        + "\n</body></html>\n"
    )


# --------------------------------------------------------------------------- files
def write_report(
    run: dict[str, Any], build_dir: Path, history: Path | None = None
) -> tuple[Path, Path]:
    """Save ``run`` as ``build_dir/run.json`` and render ``report.md`` and ``report.html`` from
    it (``history``: the benchmark history file, default ``benchmarks/history.jsonl``)."""
    build_dir = Path(build_dir)
    write_atomic(build_dir / RUN_RECORD, json.dumps(run, indent=2) + "\n")
    md, page = build_dir / "report.md", build_dir / "report.html"
    write_atomic(md, markdown_report(run, history) + "\n")
    write_atomic(page, html_report(run, build_dir, history))
    return md, page


def load_run(build_dir: Path) -> dict[str, Any]:
    """The run recorded in ``build_dir/run.json``; ``FileNotFoundError`` says how to make one,
    ``ValueError`` names a damaged file."""
    path = Path(build_dir) / RUN_RECORD
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist; run the course first (make course, or make course SMOKE=1)"
        )
    try:
        run = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:  # ValueError: bad JSON or bad UTF-8
        raise ValueError(
            f"cannot read {path} ({err}); run the course again to write a new one"
        ) from None
    if not isinstance(run, dict) or not isinstance(run.get("notebooks"), list):
        raise ValueError(f"{path} is not a run record (no list of notebooks); run the course again")
    return run


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m coursekit.report", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--build-dir", type=Path, default=BUILD, help="the runner's build folder (default: build/)"
    )
    parser.add_argument(
        "--table",
        action="store_true",
        help="print only the table of notebooks, linking into notebooks/ (for the README)",
    )
    args = parser.parse_args(None if argv is None else list(argv))
    try:
        run = load_run(args.build_dir)
        if args.table:
            print(markdown_table(run, links="notebooks"))
            return 0
        md, page = write_report(run, args.build_dir)
    except (FileNotFoundError, ValueError, WriteError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {md} and {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
