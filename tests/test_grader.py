"""The grader (``python -m coursekit.grade``): each submission is run headless in smoke mode in a
temporary working directory, each exercise comes out passed, failed, not attempted, timed out or
missing, and bad input costs one line while the other submissions are still graded.

One folder of submissions (a full notebook, its student edition, a partly solved copy, bad input
of every kind) is graded once for the module: every run starts a kernel, and the machine is slow.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import os
import signal
import time

import nbformat
import pytest
from conftest import NOTEBOOKS
from course_fixtures import full_notebook, notebook

from coursekit import grade
from coursekit.student import student_notebook

TIMEOUT = 6  # seconds per cell: the loop below runs into it, nothing else comes near


def replace(nb: nbformat.NotebookNode, cell_id: str, source: str) -> None:
    next(c for c in nb.cells if c.get("id") == cell_id).source = source


def insert_after(nb: nbformat.NotebookNode, cell_id: str, source: str, new_id: str) -> None:
    i = next(i for i, c in enumerate(nb.cells) if c.get("id") == cell_id)
    cell = nbformat.v4.new_code_cell(source)
    cell["id"] = new_id
    nb.cells.insert(i + 1, cell)


def submissions_folder(folder) -> dict[str, bytes]:
    """Write every kind of submission into ``folder``; return each file's bytes."""
    full = full_notebook()
    student = student_notebook(full)
    partial = copy.deepcopy(student)
    replace(partial, "double-stub", "def double(x):\n    return x + x")
    replace(partial, "best_rate-stub", "def best_rate(rates):\n    return max(rates)")
    replace(partial, "best_rate-check", "print('I edited the check')")  # the course's check runs
    other = copy.deepcopy(student)  # another version: exercise 2's stub renamed, 3's check gone
    next(c for c in other.cells if c.get("id") == "best_rate-stub")["id"] = "renamed-stub"
    other.cells = [c for c in other.cells if c.get("id") != "halve-check"]
    loop = copy.deepcopy(student)  # an infinite loop, then a kernel that dies
    replace(loop, "double-stub", "def double(x):\n    while True:\n        pass")
    replace(loop, "best_rate-stub", "def best_rate(rates):\n    return 0.12")
    insert_after(loop, "best_rate-check", "import os\nos._exit(1)", "crash")
    vandal = copy.deepcopy(student)  # SystemExit, files deleted, and one exercise solved
    insert_after(vandal, "setup", "import sys\nsys.exit('bye')", "exits")
    insert_after(vandal, "exits", "import os\nfor f in os.listdir('.'):\n    os.remove(f)", "rm")
    replace(vandal, "halve-stub", "def halve(x):\n    return x * 0.5")
    for name, nb in [("full", full), ("student", student), ("partial", partial)] + [
        ("other", other),
        ("loop", loop),
        ("vandal", vandal),
    ]:
        nbformat.write(nb, folder / f"{name}.ipynb")
    (folder / "essay.ipynb").write_text("Dear teacher, here is my homework.")
    (folder / ".ipynb_checkpoints").mkdir()
    (folder / ".ipynb_checkpoints" / "full-checkpoint.ipynb").write_text("{}")
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade the folder once with the command line; (exit code, before-bytes, folder, out)."""
    root = tmp_path_factory.mktemp("grading")
    (root / "course").mkdir()
    (root / "subs").mkdir()
    nbformat.write(full_notebook(), root / "course" / "09_test.ipynb")
    before = submissions_folder(root / "subs")
    argv = [str(root / "subs"), "--notebooks", str(root / "course"), "--out", str(root / "out")]
    code = grade.main([*argv, "--timeout", str(TIMEOUT), "--jobs", "2"])
    return code, before, root


def rows(root) -> dict[str, list[dict[str, str]]]:
    with open(root / "out" / "grades.csv", newline="") as stream:
        found: dict[str, list[dict[str, str]]] = {}
        for row in csv.DictReader(stream):
            found.setdefault(row["submission"].rsplit("/", 1)[-1], []).append(row)
        return found


def statuses(root, name: str) -> list[str]:
    return [r["status"] for r in rows(root)[name]]


def test_the_tool_succeeds_and_leaves_every_submission_untouched(graded):
    code, before, root = graded
    assert code == 0, "bad submissions are not a failure of the tool"
    after = {p.name: p.read_bytes() for p in (root / "subs").iterdir() if p.is_file()}
    assert {k: hashlib.sha256(v).hexdigest() for k, v in after.items()} == {
        k: hashlib.sha256(v).hexdigest() for k, v in before.items()
    }
    assert set(rows(root)) == {n for n in before}, "hidden folders are skipped, the rest graded"
    assert {p.name for p in (root / "out").iterdir()} == {"grades.csv", "grades.md", "grades.html"}


def test_the_full_notebook_passes_and_the_student_edition_is_not_attempted(graded):
    _, _, root = graded
    assert statuses(root, "full.ipynb") == ["passed"] * 3
    assert rows(root)["full.ipynb"][0]["score"] == "3/3"
    student = rows(root)["student.ipynb"]
    assert [r["status"] for r in student] == ["not attempted"] * 3
    assert [r["detail"] for r in student] == [
        "hint: scale it",
        "hint: distance to the target",
        "hint: the inverse",
    ]
    assert student[0]["score"] == "0/3" and student[0]["problem"] == ""


def test_a_partly_solved_copy_grades_exactly_as_expected(graded):
    _, _, root = graded
    partial = rows(root)["partial.ipynb"]
    assert [r["status"] for r in partial] == ["passed", "failed", "not attempted"]
    assert partial[1]["detail"] == (
        "AssertionError: best_rate picked 1.0, not the rate closest to 0.1"
    ), "the course's check ran, not the edited one, and its message is reported"
    assert partial[0]["score"] == "1/3"
    md = (root / "out" / "grades.md").read_text()
    assert "| partial.ipynb | 1/3 | ✓ | ✗ | – |" in md
    assert "exercise 2: its check was edited; the course's check ran" in md


def test_bad_input_costs_one_line_each(graded):
    _, _, root = graded
    table = rows(root)
    [essay] = table["essay.ipynb"]
    assert essay["problem"].startswith("not a notebook: ") and essay["status"] == ""
    other = table["other.ipynb"]
    assert [r["status"] for r in other] == ["not attempted", "not attempted", "missing"]
    assert other[0]["problem"] == (
        "another version of the course: exercise 2: its stub (cell id best_rate-stub) is not in "
        "the submission; exercise 3: its check (cell id halve-check) is not in the submission"
    )
    loop = table["loop.ipynb"]
    assert [r["status"] for r in loop] == ["timed out", "passed", "failed"]
    assert loop[0]["detail"] == "the check ran past the per-cell timeout"
    assert loop[2]["detail"].startswith("not reached: the kernel stopped")
    assert loop[0]["problem"].startswith("the kernel stopped")
    vandal = table["vandal.ipynb"]
    assert [r["status"] for r in vandal] == ["not attempted", "not attempted", "passed"]
    assert "it deleted files in its working directory (vandal.ipynb)" in vandal[0]["problem"]
    assert "it raised SystemExit (cell [4] raised SystemExit: bye)" in vandal[0]["problem"]
    page = (root / "out" / "grades.html").read_text()
    assert page.count("<table>") == 2 and "Not graded" in page and "not a notebook" in page


def test_usage_errors_exit_2(tmp_path, capsys):
    assert grade.main([str(tmp_path / "nowhere")]) == 2
    assert "nowhere: no such file or folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert grade.main([str(tmp_path), "--notebooks", str(tmp_path / "empty")]) == 2
    assert "no course notebooks" in capsys.readouterr().err


def test_reports_render_every_status():
    report = {
        "submission": "a/b.ipynb",
        "notebook": "09_test",
        "problem": "x | y",
        "notes": ["cell [3] raised ValueError: v"],
        "exercises": [
            {"number": n, "kind": "Build", "title": "t", "status": s, "detail": "d <b>"}
            for n, s in enumerate(grade.STATUSES, 1)
        ],
    }
    md = grade.markdown([report])
    assert "| b.ipynb | 1/5 | ✓ | ✗ | – | ⏱ | ? | x / y |" in md
    assert "- b.ipynb, exercise 2: failed: d <b>" in md and "- b.ipynb: cell [3] raised" in md
    page = grade.html_page([report])
    assert "d &lt;b&gt;" in page and "<b>" not in page
    assert grade.csv_text([report]).count("\n") == 6


def test_a_loop_that_swallows_the_interrupt_is_stopped_and_its_kernel_with_it(tmp_path):
    nb = notebook(
        [
            nbformat.v4.new_code_cell(
                "import os, pathlib\npathlib.Path('pid').write_text(str(os.getpid()))"
            ),
            nbformat.v4.new_code_cell(
                "import time\nwhile True:\n    try:\n        time.sleep(0.1)\n"
                "    except KeyboardInterrupt:\n        pass"
            ),
        ]
    )
    (tmp_path / "work").mkdir()
    out = tmp_path / "out" / "executed.ipynb"
    # 12 s: a kernel's start (a few seconds on a busy machine), the first cell, the loop's 2 s
    stopped = grade.execute(nb, out, tmp_path / "work", {}, timeout=2, notebook_timeout=12)
    assert stopped == "the whole notebook ran past 12 s and was stopped"
    pid = int((tmp_path / "work" / "pid").read_text())
    for _ in range(50):  # the kernel goes with the runner (at once, or when it sees its parent go)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        os.kill(pid, signal.SIGKILL)
        pytest.fail("the kernel outlived the stopped run")


def test_a_copy_is_matched_by_its_ids_and_by_its_title_when_ids_are_shared():
    course = {"09_test": full_notebook(), "10_other": full_notebook()}
    course["10_other"].cells[0].source = "# 10 · Other\n\nThe same ids, another notebook."
    references = {stem: grade.reference(nb) for stem, nb in course.items()}
    assert grade.identify(student_notebook(course["10_other"]), references) == "10_other"
    assert grade.identify(student_notebook(course["09_test"]), references) == "09_test"
    stranger = notebook([nbformat.v4.new_markdown_cell("# 10 · Other")])
    assert grade.identify(stranger, references) is None, "no shared cell id, no match"


def test_cell_ids_are_unique_across_the_course():
    """The grader tells the notebooks apart by their cell ids."""
    owner: dict[str, str] = {}
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            other = owner.setdefault(cell["id"], path.stem)
            assert other == path.stem, f"cell id {cell['id']} is in {other} and in {path.stem}"


def test_submissions_are_named_from_the_folder_they_share(tmp_path):
    for name in ("alice/03.ipynb", "bob/03.ipynb", "bob/extra/notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}")
    (tmp_path / "bob" / ".hidden.ipynb").write_text("{}")
    files = grade.submissions([tmp_path])
    assert [str(p.relative_to(tmp_path)) for p in files] == [
        "alice/03.ipynb",
        "bob/03.ipynb",
        "bob/extra/notes.txt",
    ]
    assert list(grade.display_names(files).values()) == [
        "alice/03.ipynb",
        "bob/03.ipynb",
        "bob/extra/notes.txt",
    ]
    assert grade.display_names([tmp_path / "bob" / "03.ipynb"]) == {
        tmp_path / "bob" / "03.ipynb": "03.ipynb"
    }
