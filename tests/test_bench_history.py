"""The benchmark history in the course report (``coursekit.bench_history``), on temporary files."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from conftest import ROOT

from coursekit import bench_history, report

TRAINING_HEADER = (
    "| date | commit | machine | torch | threads | busy | epochs | plain s | fit s | ratio | "
    "ms/step | floor ms | plain test acc | fit test acc | regression |"
)
CNN_HEADER = (
    "| date | commit | machine | torch | threads | busy | seeds | target | median s to target | "
    "median test acc | regression |"
)


def training(commit: str, ratio: float, busy: int = 0, **more) -> dict:
    return {
        "commit": commit,
        "date": "2026-12-01T02:00:51+00:00",
        "machine": "x86_64, 2 cores",
        "torch": "2.14.1",
        "epochs": 10,
        "busy": busy,
        "threads": 2,
        "plain_s": 42.15,
        "fast_s": round(42.15 / ratio, 2),
        "ratio": ratio,
        "plain_acc": 0.9766,
        "fast_acc": 0.9795,
        "step_ms": 1.3015,
        "floor_ms": 0.2675,
        **more,
    }


def cnn(commit: str, seconds: float | None, busy: int = 0) -> dict:
    return {
        "commit": commit,
        "date": "2026-12-02T10:30:00+00:00",
        "machine": "x86_64, 2 cores",
        "torch": "2.14.1",
        "bench": "cnn",
        "seeds": 5,
        "threads": 2,
        "median_s_to_target": seconds,
        "target": 0.99,
        "median_test": 0.9921,
        "busy": busy,
    }


def write_history(path: Path, runs: list, extra_lines: tuple[bytes, ...] = ()) -> Path:
    lines = [json.dumps(r).encode() for r in runs] + list(extra_lines)
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def rows(section: str, header: str) -> list[list[str]]:
    """The cells of the table under ``header`` in a markdown section."""
    lines = section.splitlines()
    start = lines.index(header) + 2
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        table.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return table


def test_the_tables_show_each_benchmarks_figures(tmp_path):
    path = write_history(
        tmp_path / "history.jsonl",
        [training("aaa", 3.45), cnn("ccc", 5.8), training("bbb", 3.5)],
    )
    section = bench_history.markdown_section(path)
    assert section.startswith("## Benchmark history\n\n### training\n\n" + TRAINING_HEADER)
    same = "| 2026-12-01 02:00 | {} | x86_64, 2 cores | 2.14.1 | 2 | 0 | 10 | 42.15 | {} | {} | "
    assert section.splitlines()[6:8] == [
        same.format("aaa", "12.22", "3.45×") + "1.302 | 0.268 | 97.66% | 97.95% |  |",
        same.format("bbb", "12.04", "3.50×") + "1.302 | 0.268 | 97.66% | 97.95% |  |",
    ]
    assert rows(section, CNN_HEADER) == [
        "2026-12-02 10:30|ccc|x86_64, 2 cores|2.14.1|2|0|5|99.00%|5.8|99.21%|".split("|")
    ]
    assert section.index("### training") < section.index("### cnn")


def test_missing_and_unknown_keys_show_as_dashes_and_a_recipe_gets_a_column(tmp_path):
    path = write_history(
        tmp_path / "h.jsonl",
        [
            {"commit": "x", "ratio": "fast", "threads": True},
            {"bench": "cnn", "median_s_to_target": None},
            {"bench": "new kind", "commit": "n", "whatever": [1, 2]},
            training("r", 3.0, recipe="fused"),
        ],
    )
    section = bench_history.markdown_section(path)
    header = TRAINING_HEADER.replace("busy |", "busy | recipe |")
    assert [row[:2] + row[6:7] + row[-6:-5] for row in rows(section, header)] == [
        ["—", "x", "—", "fast"],
        ["2026-12-01 02:00", "r", "fused", "3.00×"],
    ]
    assert rows(section, CNN_HEADER)[0][-3] == "not reached"
    assert "### new kind" in section
    assert rows(section, "| date | commit | machine | torch | threads | busy | regression |") == [
        ["—", "n", "—", "—", "—", "—", ""]
    ]


def test_malformed_lines_are_skipped_and_counted(tmp_path):
    path = write_history(
        tmp_path / "h.jsonl",
        [training("a", 3.4)],
        extra_lines=(b'{"commit": "cut off', b"", b"[1, 2]", b"\xff\xfe not utf-8", b"  "),
    )
    history = bench_history.read_history(path)
    assert history.skipped == 3 and [r["commit"] for r in history.runs] == ["a"]
    section = bench_history.markdown_section(path)
    assert f"3 malformed lines of `{path}` skipped" in section
    assert rows(section, TRAINING_HEADER)[0][1] == "a"
    page = bench_history.html_section(path)
    assert f"<p>3 malformed lines of <code>{path}</code> skipped</p>" in page


def test_a_history_inside_the_project_is_named_by_its_relative_path():
    assert bench_history.HISTORY == ROOT / "benchmarks" / "history.jsonl"
    history = bench_history.History(
        ROOT / "benchmarks" / "history.jsonl", runs=[training("a", 4.0)], skipped=1
    )
    notes, tables = bench_history.history_tables(history)
    assert notes == ["1 malformed line of `benchmarks/history.jsonl` skipped"]
    assert [t.bench for t in tables] == ["training"] and tables[0].rows[0][1] == "a"


@pytest.mark.parametrize(
    "last, flag",
    [
        (3.0, "⚠ 25% below the median of the 4 runs before"),
        (3.6, ""),  # 10% below: noise, not a regression
        (3.2, ""),  # exactly 20% below: not more than 20%
        (5.0, ""),  # faster
    ],
)
def test_a_training_ratio_more_than_20_percent_below_the_median_is_flagged(tmp_path, last, flag):
    runs = [training(c, r) for c, r in zip("abcd", (4.0, 3.9, 4.1, 4.0))] + [training("e", last)]
    assert bench_history.flag_regressions(runs) == ["", "", "", "", flag]
    section = bench_history.markdown_section(write_history(tmp_path / "h.jsonl", runs))
    assert [row[-1] for row in rows(section, TRAINING_HEADER)] == ["", "", "", "", flag]
    assert ("⚠" in section) == bool(flag)


def test_a_cnn_time_more_than_20_percent_above_the_median_is_flagged():
    runs = [cnn("a", 6.0), cnn("b", 5.0), cnn("c", 7.0)]
    assert bench_history.flag_regressions([*runs, cnn("d", 7.5)])[-1] == (
        "⚠ 25% above the median of the 3 runs before"
    )
    assert bench_history.flag_regressions([*runs, cnn("d", 6.6)])[-1] == ""
    assert bench_history.flag_regressions([cnn("a", 6.0), cnn("b", 9.0)]) == [
        "",
        "⚠ 50% above the run before",
    ]
    # a run that did not reach the target has no time to compare, and no time spoils the median
    assert bench_history.flag_regressions([cnn("a", None), cnn("b", 6.0), cnn("c", 6.2)]) == [
        "",
        "",
        "",
    ]


def test_busy_runs_are_compared_only_with_busy_runs_and_recipes_with_their_own(tmp_path):
    quiet = [training(c, 4.0) for c in "abc"]
    busy = training("busy", 1.5, busy=2)
    assert bench_history.flag_regressions([*quiet, busy]) == ["", "", "", ""]
    assert bench_history.flag_regressions([*quiet, busy, training("slow", 1.0, busy=2)])[-1] == (
        "⚠ 33% below the run before"
    )
    # a quiet run after busy ones is judged against the quiet runs only
    assert bench_history.flag_regressions([*quiet, busy, busy, training("q", 3.9)])[-1] == ""
    assert bench_history.flag_regressions([*quiet, training("r", 1.0, recipe="new")])[-1] == ""
    # the CNN benchmark is never compared with the training one, nor cnn busy with cnn quiet
    assert bench_history.flag_regressions([cnn("a", 6.0), cnn("b", 60.0, busy=2)]) == ["", ""]


def test_runs_on_another_cpu_are_not_compared():
    amd = [training(c, 4.0, machine="AMD EPYC 9B14, 2 cores") for c in "abc"]
    intel = training("i", 3.0, machine="Intel(R) Xeon(R) Processor, 2 cores")
    assert bench_history.flag_regressions([*amd, intel])[-1] == ""
    # the same 25% drop on the same CPU is flagged
    same = training("s", 3.0, machine="AMD EPYC 9B14, 2 cores")
    assert bench_history.flag_regressions([*amd, same])[-1] == (
        "⚠ 25% below the median of the 3 runs before"
    )
    fast, slow = cnn("f", 3.3), cnn("s", 6.3)
    slow["machine"] = "AMD EPYC 9B14, 2 cores"
    assert bench_history.flag_regressions([fast, slow]) == ["", ""]


def test_the_median_uses_every_earlier_run_not_only_the_ones_shown(tmp_path):
    runs = [training(c, 4.0) for c in "abcdefgh"] + [training("z", 3.0)]
    section = bench_history.markdown_section(write_history(tmp_path / "h.jsonl", runs), n=2)
    assert [row[1] for row in rows(section, TRAINING_HEADER)] == ["h", "z"]
    assert rows(section, TRAINING_HEADER)[-1][-1] == "⚠ 25% below the median of the 8 runs before"


def test_last_runs_keeps_the_last_n_of_each_benchmark():
    runs = [training(f"t{k}", 4.0) for k in range(7)] + [cnn("c0", 6.0), cnn("c1", 6.0)]
    last = bench_history.last_runs(runs, 5)
    assert list(last) == ["training", "cnn"]
    assert [r["commit"] for r in last["training"]] == ["t2", "t3", "t4", "t5", "t6"]
    assert [r["commit"] for r in last["cnn"]] == ["c0", "c1"]
    assert bench_history.last_runs(runs, 0) == {} and bench_history.last_runs([], 5) == {}
    with pytest.raises(ValueError, match="n must be >= 0"):
        bench_history.last_runs(runs, -1)


def test_no_history_file_is_one_line_not_an_error(tmp_path):
    missing = tmp_path / "none.jsonl"
    assert bench_history.markdown_section(missing) == (
        "## Benchmark history\n\nno benchmark runs recorded yet (run `make bench`)"
    )
    assert bench_history.html_section(missing) == (
        "<h2>Benchmark history</h2>\n"
        "<p>no benchmark runs recorded yet (run <code>make bench</code>)</p>"
    )
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    assert "records no benchmark runs yet" in bench_history.markdown_section(empty)
    # a folder where the file should be: named, not raised
    assert "cannot read" in bench_history.markdown_section(tmp_path)


def minimal_run() -> dict:
    return {
        "started": "2026-12-01T03:00:00+00:00",
        "mode": "smoke",
        "command": "python -m coursekit.run --smoke",
        "environment": {"torch": "2.14.1", "device": "cpu"},
        "notebooks": [
            {"name": "01_a", "title": "01 · A", "status": "ok", "seconds": 1.0, "results": {}},
        ],
    }


def test_both_reports_show_the_history_after_the_notebooks_escaped_in_html(tmp_path):
    path = write_history(
        tmp_path / "h.jsonl",
        [
            training(c, ratio, machine="<b>box</b> & co | 2 cores")
            for c, ratio in zip("abcdefg", [4.0] * 6 + [2.0])
        ],
        extra_lines=(b"garbage",),
    )
    md = report.markdown_report(minimal_run(), path)
    assert md.index("## Notebooks") < md.index("## Benchmark history")
    assert "1 malformed line of" in md
    table = rows(md, TRAINING_HEADER)
    assert [row[1] for row in table] == ["c", "d", "e", "f", "g"]  # the last 5
    assert table[-1][2] == "<b>box</b> & co \\| 2 cores"
    assert table[-1][-1] == "⚠ 50% below the median of the 6 runs before"

    page = report.html_report(minimal_run(), tmp_path, history=path)
    assert page.index("<h2>Notebooks</h2>") < page.index("<h2>Benchmark history</h2>")
    assert "<b>box</b>" not in page
    assert "<td>&lt;b&gt;box&lt;/b&gt; &amp; co | 2 cores</td>" in page
    assert '<td class="regression">⚠ 50% below the median of the 6 runs before</td>' in page
    assert page.count("<tr><td>2026-12-01 02:00</td>") == 5

    md_file, page_file = report.write_report(minimal_run(), tmp_path / "build", history=path)
    assert "⚠ 50% below" in md_file.read_text() and "⚠ 50% below" in page_file.read_text()
    md_file, page_file = report.write_report(
        minimal_run(), tmp_path / "build", history=tmp_path / "none.jsonl"
    )
    assert "no benchmark runs recorded yet (run `make bench`)" in md_file.read_text()


def test_the_report_reads_the_projects_history_by_default(tmp_path, monkeypatch):
    path = write_history(tmp_path / "h.jsonl", [training("default", 4.0)])
    monkeypatch.setattr(bench_history, "HISTORY", path)
    assert "| default |" in report.markdown_report(minimal_run())
    assert "<td>default</td>" in report.html_report(minimal_run(), tmp_path)


def test_the_command_prints_the_section(tmp_path, capsys):
    path = write_history(tmp_path / "h.jsonl", [cnn("c", 6.0)])
    assert bench_history.main(["--history", str(path), "--last", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## Benchmark history") and CNN_HEADER in out
    with pytest.raises(SystemExit):
        bench_history.main(["--last", "-1"])


def coursekit_imports() -> dict[str, set[str]]:
    """``{module: the coursekit modules it imports}``, counting imports inside functions too."""
    folder = ROOT / "coursekit"
    names = {p.stem for p in folder.glob("*.py")} - {"__init__"}
    graph: dict[str, set[str]] = {}
    for name in names:
        found: set[str] = set()
        for node in ast.walk(ast.parse((folder / f"{name}.py").read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = "coursekit" if node.level == 1 else node.module or ""
                if node.level == 1 and node.module:
                    found.add(node.module.split(".")[0])
                elif base == "coursekit":
                    found.update(alias.name for alias in node.names)
                elif base.startswith("coursekit."):
                    found.add(base.split(".")[1])
            elif isinstance(node, ast.Import):
                found.update(
                    a.name.split(".")[1] for a in node.names if a.name.startswith("coursekit.")
                )
        graph[name] = found & names
    return graph


def test_coursekit_has_no_import_circle():
    graph = coursekit_imports()
    assert "report" in graph["run"] and "bench_history" in graph["report"]  # the parser sees them
    assert "report" not in graph["bench_history"]

    def circle(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return path[path.index(node) :] + [node]
        for nxt in sorted(graph[node]):
            found = circle(nxt, [*path, node])
            if found:
                return found
        return None

    for module in sorted(graph):
        found = circle(module, [])
        assert found is None, "import circle: " + " -> ".join(found or [])
