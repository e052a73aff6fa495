"""The benchmark history in the course report: the last runs of each benchmark, regressions marked.

``benchmarks/bench_training.py`` and ``benchmarks/bench_cnn.py`` append one JSON object per run to
``benchmarks/history.jsonl``. A line's ``"bench"`` key names its benchmark (``"training"`` when it
has none). :func:`read_history` reads the file, skipping (and counting) lines that are not JSON
objects; :func:`last_runs` keeps the last runs of each benchmark; :func:`markdown_section` and
:func:`html_section` render them as one table per benchmark.

A run is marked as a regression when its key figure is more than 20% worse than the median of the
earlier runs of the same benchmark on the same machine (``machine``: CPU model and cores), load
(``busy``) and recipe (``recipe``): for the training benchmark a speed-up ``ratio`` more than 20%
below that median, for the CNN benchmark a ``median_s_to_target`` more than 20% above it. Runs of
a busy machine are never compared with runs of a quiet one, nor runs of one CPU with another's.
Missing or unexpected keys show as an em dash; they never stop the report.

    python -m coursekit.bench_history          # print the section as markdown
"""

from __future__ import annotations

import argparse
import html
import json
import math
import re
import statistics
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers._internal.paths import ROOT

HISTORY = ROOT / "benchmarks" / "history.jsonl"
LAST = 5  # runs per benchmark the report shows
THRESHOLD = 0.20  # a key figure this much worse than the median of the runs before is flagged
DEFAULT_BENCH = "training"
NO_RUNS = "no benchmark runs recorded yet (run `make bench`)"


@dataclass(frozen=True)
class Column:
    """One column of a benchmark's table: its header, the run's key, how to show the value."""

    header: str
    key: str
    fmt: str = "{}"  # how numbers show ("%": a fraction as a percentage); others as they are


COMMON = (
    Column("date", "date"),
    Column("commit", "commit"),
    Column("machine", "machine"),
    Column("torch", "torch"),
    Column("threads", "threads"),
    Column("busy", "busy"),
)
COLUMNS: dict[str, tuple[Column, ...]] = {
    "training": (
        Column("recipe", "recipe"),
        Column("epochs", "epochs"),
        Column("plain s", "plain_s", "{:.2f}"),
        Column("fit s", "fast_s", "{:.2f}"),
        Column("ratio", "ratio", "{:.2f}×"),
        Column("ms/step", "step_ms", "{:.3f}"),
        Column("floor ms", "floor_ms", "{:.3f}"),
        Column("plain test acc", "plain_acc", "%"),
        Column("fit test acc", "fast_acc", "%"),
    ),
    "cnn": (
        Column("recipe", "recipe"),
        Column("seeds", "seeds"),
        Column("target", "target", "%"),
        Column("median s to target", "median_s_to_target", "{:.1f}"),
        Column("median test acc", "median_test", "%"),
    ),
}
# the figure a regression is judged on, and whether higher is better
KEY_FIGURE: dict[str, tuple[str, bool]] = {
    "training": ("ratio", True),
    "cnn": ("median_s_to_target", False),
}


@dataclass
class History:
    """The runs of a history file, in file order, and what could not be read."""

    path: Path
    runs: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0  # lines that were not JSON objects
    exists: bool = True
    error: str = ""  # why the file could not be read at all, if it could not


# --------------------------------------------------------------------------- reading
def read_history(path: Path | str | None = None) -> History:
    """The runs recorded in ``path`` (default ``benchmarks/history.jsonl``).

    Blank lines are ignored; lines that are not JSON objects are skipped and counted. A missing
    file gives no runs and ``exists=False``; an unreadable one gives no runs and an ``error``.
    """
    path = HISTORY if path is None else Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return History(path, exists=False)
    except OSError as err:
        return History(path, error=err.strerror or str(err))
    history = History(path)
    for line in raw.splitlines():
        if not line.strip():
            continue
        try:
            run = json.loads(line)  # bytes: json detects UTF-8 itself
        except (ValueError, RecursionError):  # bad JSON or bad UTF-8
            run = None
        if isinstance(run, dict):
            history.runs.append(run)
        else:
            history.skipped += 1
    return history


def bench_kind(run: dict[str, Any]) -> str:
    """The benchmark a run belongs to: its ``"bench"`` key, ``"training"`` without one."""
    kind = run.get("bench")
    return DEFAULT_BENCH if kind is None else str(kind)


def last_runs(runs: Iterable[dict[str, Any]], n: int = LAST) -> dict[str, list[dict[str, Any]]]:
    """The last ``n`` runs of each benchmark, oldest first; training first, then cnn, then any
    other benchmark in the order it first appears."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n!r}")
    kinds: dict[str, list[dict[str, Any]]] = {k: [] for k in COLUMNS}
    for run in runs:
        kinds.setdefault(bench_kind(run), []).append(run)
    return {kind: group[-n:] for kind, group in kinds.items() if group and n}


# --------------------------------------------------------------------------- regressions
def _number(value: Any) -> float | None:
    """``value`` as a finite float, or None if it is not a number (booleans are not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _group(run: dict[str, Any]) -> tuple[str, str, str, str]:
    """Runs are compared only within a benchmark, a machine, a load (``busy``) and a recipe."""
    return bench_kind(run), repr(run.get("machine")), repr(run.get("busy")), repr(run.get("recipe"))


def regression(run: dict[str, Any], before: Iterable[dict[str, Any]]) -> str:
    """A warning if ``run``'s key figure is more than 20% worse than the median of the runs
    ``before`` it that are comparable (same benchmark, ``machine``, ``busy`` and ``recipe``); else
    ``""``.

    ``"⚠ 25% below the median of the 4 runs before"``. A run without its key figure, or with no
    comparable run before it, is never flagged.
    """
    kind = bench_kind(run)
    if kind not in KEY_FIGURE:
        return ""
    key, higher_is_better = KEY_FIGURE[kind]
    value = _number(run.get(key))
    earlier = [_number(r.get(key)) for r in before if _group(r) == _group(run)]
    earlier_values = [v for v in earlier if v is not None and v > 0]
    if value is None or not earlier_values:
        return ""
    median = statistics.median(earlier_values)
    change = (median - value) / median if higher_is_better else (value - median) / median
    if change <= THRESHOLD:
        return ""
    count = len(earlier_values)
    baseline = "the run before" if count == 1 else f"the median of the {count} runs before"
    return f"⚠ {change:.0%} {'below' if higher_is_better else 'above'} {baseline}"


def flag_regressions(runs: list[dict[str, Any]]) -> list[str]:
    """:func:`regression` of every run against all the runs before it in the file."""
    return [regression(run, runs[:k]) for k, run in enumerate(runs)]


# --------------------------------------------------------------------------- tables
def _plain(value: Any) -> str:
    return "—" if value is None or value == "" else str(value)


def _percent(value: Any) -> str:
    return f"{100 * value:.2f}%" if _number(value) is not None else _plain(value)


def format_cell(run: dict[str, Any], column: Column) -> str:
    """A run's value in a column: numbers by the column's format, dates to the minute, a missing
    value as an em dash."""
    value = run.get(column.key)
    if column.key == "date" and isinstance(value, str):
        return value[:16].replace("T", " ")
    if column.fmt == "%":
        return _percent(value)
    if column.key == "median_s_to_target" and value is None and column.key in run:
        return "not reached"
    number = _number(value)
    if number is None or column.fmt == "{}":
        return _plain(value)
    return column.fmt.format(number)


def _columns(kind: str, runs: list[dict[str, Any]]) -> list[Column]:
    """The common columns, then the benchmark's own; a column no shown run has a value for (the
    optional ``recipe``) is left out."""
    own = [
        c for c in COLUMNS.get(kind, ()) if c.key != "recipe" or any("recipe" in r for r in runs)
    ]
    return [*COMMON, *own]


@dataclass
class Table:
    """One benchmark's last runs: a header and rows of text, the last cell a regression flag."""

    bench: str
    header: list[str]
    rows: list[list[str]]


def history_tables(history: History, n: int = LAST) -> tuple[list[str], list[Table]]:
    """Notes (missing file, skipped lines) and one table per benchmark of its last ``n`` runs."""
    shown = history.path
    try:
        shown = history.path.resolve().relative_to(ROOT)
    except ValueError:
        pass
    notes = []
    if not history.exists:
        notes.append(NO_RUNS)
    elif history.error:
        notes.append(f"cannot read `{shown}`: {history.error}")
    elif not history.runs:
        notes.append(f"`{shown}` records no benchmark runs yet (run `make bench`)")
    if history.skipped:
        lines = "line" if history.skipped == 1 else "lines"
        notes.append(f"{history.skipped} malformed {lines} of `{shown}` skipped")
    flags = {id(run): flag for run, flag in zip(history.runs, flag_regressions(history.runs))}
    tables = []
    for kind, runs in last_runs(history.runs, n).items():
        columns = _columns(kind, runs)
        rows = [[format_cell(r, c) for c in columns] + [flags[id(r)]] for r in runs]
        tables.append(Table(kind, [c.header for c in columns] + ["regression"], rows))
    return notes, tables


# --------------------------------------------------------------------------- rendering
def md_cell(text: str) -> str:
    """``text`` as one cell of a markdown table: pipes escaped, on one line (the report uses it
    too: it imports this module, never the other way round)."""
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_section(path: Path | str | None = None, n: int = LAST) -> str:
    """The "Benchmark history" section of the report as markdown: the last ``n`` runs of each
    benchmark, oldest first, regressions marked with ⚠."""
    notes, tables = history_tables(read_history(path), n)
    out = ["## Benchmark history", ""]
    for note in notes:
        out += [note, ""]
    for table in tables:
        out += [f"### {md_cell(table.bench)}", ""]
        out += ["| " + " | ".join(md_cell(h) for h in table.header) + " |"]
        out += ["|" + "---|" * len(table.header)]
        out += ["| " + " | ".join(md_cell(cell) for cell in row) + " |" for row in table.rows]
        out.append("")
    return "\n".join(out).rstrip("\n")


def _html_text(text: str) -> str:
    """Escaped text, with `code` spans as <code>."""
    return re.sub(r"`([^`]*)`", r"<code>\1</code>", html.escape(text))


def html_section(path: Path | str | None = None, n: int = LAST) -> str:
    """The "Benchmark history" section of the report as HTML (every value escaped)."""
    notes, tables = history_tables(read_history(path), n)
    out = ["<h2>Benchmark history</h2>"]
    out += [f"<p>{_html_text(note)}</p>" for note in notes]
    for table in tables:
        out.append(f"<h3>{html.escape(table.bench)}</h3>")
        out.append(
            "<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in table.header) + "</tr>"
        )
        for row in table.rows:
            cells = "".join(f"<td>{html.escape(cell)}</td>" for cell in row[:-1])
            flag = f'<td class="regression">{html.escape(row[-1])}</td>' if row[-1] else "<td></td>"
            out.append(f"<tr>{cells}{flag}</tr>")
        out.append("</table>")
    return "\n".join(out)


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m coursekit.bench_history", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--history", type=Path, default=HISTORY, help="default: benchmarks/history.jsonl"
    )
    parser.add_argument("--last", type=int, default=LAST, help=f"runs per benchmark ({LAST})")
    args = parser.parse_args(None if argv is None else list(argv))
    if args.last < 0:
        parser.error(f"--last must be >= 0, got {args.last}")
    print(markdown_section(args.history, args.last))
    return 0


if __name__ == "__main__":
    sys.exit(main())
