"""The grader (``python -m coursekit.grade``).

Most of it is tested without a kernel: matching a submission to the course (ids, text, place),
the notebook that runs, written answers, points, copied solutions, the static scan, the guard
itself (in this process, on modules made for the test), the gradebook (merging, roster,
duplicates) and its reports. Then one class of submissions (correct, partial, without ids,
monkeypatching, the teacher's notebook, an infinite loop and a crash, SystemExit and deleted
files, a duplicate, bad files, names with spaces and Chinese characters) is graded once for the
module with the command line, on a local Dask cluster; the real-scheduler test grades part of
it again on a `dask scheduler` with two `dask worker`s, one killed mid-run.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import types
import warnings

import nbformat
import pytest
from conftest import NOTEBOOKS, ROOT
from course_fixtures import (
    CHECKS,
    GUARD_SOLUTIONS,
    full_notebook,
    guard_notebook,
    markdown,
    notebook,
    set_source,
)

from coursekit import grade, grade_guard, grade_match, grade_report
from coursekit.student import YOUR_ANSWER, student_notebook

TIMEOUT = 20  # seconds per cell: the endless loop runs into it; importing torch on a busy machine
# takes up to about 10
SUBMISSIONS = "Assignment 1 - submissions"  # a folder name with spaces, as teachers name them


def fixture_course() -> dict[str, nbformat.NotebookNode]:
    """The course of the tests: 09_test (exercise 2 worth 2 points) and 10_guard."""
    test = full_notebook()
    test.metadata["grading"] = {"points": {"2": 2}}
    return {"09_test": test, "10_guard": guard_notebook()}


def references() -> dict[str, grade_match.Reference]:
    return {stem: grade_match.reference(nb, stem) for stem, nb in fixture_course().items()}


def edition(stem: str = "09_test") -> nbformat.NotebookNode:
    return student_notebook(fixture_course()[stem])


def answered(nb: nbformat.NotebookNode, *ids: str) -> nbformat.NotebookNode:
    for cell_id in ids:
        set_source(nb, cell_id, f"**Your answer:** my conclusion about {cell_id}.")
    return nb


def solved() -> nbformat.NotebookNode:
    """The 09_test edition with every exercise solved (differently from the course) and
    answered."""
    nb = edition()
    set_source(nb, "double-stub", "def double(x):\n    return x + x")
    set_source(nb, "best_rate-stub", "def best_rate(rates):\n    return sorted(rates)[1]")
    set_source(nb, "halve-stub", "def halve(x):\n    return x * 0.5")
    return answered(nb, "best_rate-a-yours", "halve-a-yours")


# ------------------------------------------------------------------------ matching, no kernel
def roles(prepared: grade_match.Prepared) -> list[str]:
    return [c.metadata[grade_match.GRADE]["role"] for c in prepared.nb.cells]


def test_the_run_is_the_course_notebook_with_the_students_work_put_in():
    refs = references()
    nb = solved()
    extra = nbformat.v4.new_code_cell("helper = 1")
    nb.cells.insert(5, extra)  # after exercise 1's stub
    prepared = grade_match.prepare(nb, refs["09_test"], {"smoke": True})
    sources = [c.source for c in prepared.nb.cells]
    assert roles(prepared)[:6] == ["course", "course", "parameters", "course", "start", "course"]
    assert "smoke = True" in sources[2]
    stub = sources.index("def double(x):\n    return x + x")
    assert sources[stub + 1] == "helper = 1", "the student's cell stays after the stub"
    assert roles(prepared)[stub - 1 : stub + 4] == ["before", "stub", "student", "after", "check"]
    assert prepared.notes == [] and prepared.tampering == [] and prepared.copied == {}
    assert [a["status"] for a in prepared.answers.values()] == ["written", "written"]


def test_a_notebook_without_ids_is_matched_by_its_text_and_never_zeroed():
    refs = references()
    nb = solved()
    nb.nbformat_minor = 4
    for cell in nb.cells:
        cell.pop("id", None)
        cell.metadata.pop("tags", None)  # cells copied into a new notebook lose them too
    assert grade_match.identify(nb, refs) == "09_test"
    plain = grade_match.prepare(nb, refs["09_test"])
    with_ids = grade_match.prepare(solved(), refs["09_test"])
    assert [c.source for c in plain.nb.cells if "role" in c.metadata.get("grade", {})][:3] == [
        c.source for c in with_ids.nb.cells
    ][:3]
    stubs = [c.source for c in plain.nb.cells if c.metadata["grade"]["role"] == "stub"]
    assert stubs == [c.source for c in with_ids.nb.cells if c.metadata["grade"]["role"] == "stub"]
    assert plain.notes == [] and plain.answers == with_ids.answers


def test_a_copy_is_identified_by_ids_then_text_then_title():
    course = {"09_test": full_notebook(), "10_other": full_notebook()}
    course["10_other"].cells[0].source = "# 10 · Other\n\nThe same ids, another notebook."
    refs = {stem: grade_match.reference(nb, stem) for stem, nb in course.items()}
    assert grade_match.identify(student_notebook(course["10_other"]), refs) == "10_other"
    assert grade_match.identify(student_notebook(course["09_test"]), refs) == "09_test"
    stranger = notebook([markdown("# 10 · Other"), markdown("Nothing of the course.")])
    assert grade_match.identify(stranger, refs) is None, "a title alone is not enough"


def test_deleted_and_edited_checks_are_the_courses_and_the_report_says_so():
    refs = references()
    nb = solved()
    nb.cells = [c for c in nb.cells if c.get("id") != "halve-check"]
    set_source(nb, "best_rate-check", "print('I edited the check')")
    # without its id, an edited check is recognised by its likeness to the course's
    moved = next(c for c in nb.cells if c.get("id") == "double-check")
    moved["id"] = "fresh-id"
    moved.source = moved.source.replace('"double(x) must be 2 * x"', '"my message"')
    prepared = grade_match.prepare(nb, refs["09_test"])
    assert prepared.notes == [
        "exercise 1: its check was edited; the course's check ran",
        "exercise 2: its check was edited; the course's check ran",
        "exercise 3: its check was deleted; the course's check was put back after the stub and ran",
    ]
    checks = [c for c in prepared.nb.cells if c.metadata["grade"]["role"] == "check"]
    assert [c.metadata["grade"]["exercise"] for c in checks] == [1, 2, 3]
    assert all("I edited" not in c.source and "my message" not in c.source for c in checks)
    assert "my message" not in json.dumps([c.source for c in prepared.nb.cells])


def test_a_deleted_stub_is_put_back_unless_the_students_own_cell_defines_it():
    refs = references()
    nb = solved()
    nb.cells = [c for c in nb.cells if c.get("id") not in ("double-stub", "halve-stub")]
    nb.cells.insert(1, nbformat.v4.new_code_cell("def halve(x):\n    return x / 2"))
    prepared = grade_match.prepare(nb, refs["09_test"])
    assert prepared.notes == [
        "exercise 1: its stub is not in the submission; the course's ran",
        "exercise 3: its stub is not in the submission; cell 2 (`def halve(x):`) defines halve",
    ]
    stubs = [c for c in prepared.nb.cells if c.metadata["grade"]["role"] == "stub"]
    assert [c.metadata["grade"]["exercise"] for c in stubs] == [1, 2]


def test_written_answers_are_collected_and_a_blank_one_is_not_attempted():
    refs = references()
    nb = edition()
    set_source(nb, "best_rate-a-yours", YOUR_ANSWER + "\n\nIt picks the rate nearest 0.1.")
    i = next(i for i, c in enumerate(nb.cells) if c.get("id") == "halve-a-yours")
    nb.cells.insert(i + 1, markdown("I wrote my answer in a new cell instead."))
    answers = grade_match.prepare(nb, refs["09_test"]).answers
    assert answers == {
        2: {"status": "written", "text": "It picks the rate nearest 0.1."},
        3: {"status": "written", "text": "I wrote my answer in a new cell instead."},
    }
    blank = grade_match.prepare(edition(), refs["09_test"]).answers
    assert [a["status"] for a in blank.values()] == ["not attempted"] * 2
    emptied = edition()
    set_source(emptied, "best_rate-a-yours", "**Your answer:**   ")
    assert grade_match.prepare(emptied, refs["09_test"]).answers[2]["status"] == "not attempted"


def test_the_teachers_notebook_and_a_copied_solution_are_flagged():
    refs = references()
    teacher = grade_match.prepare(fixture_course()["09_test"], refs["09_test"])
    assert teacher.teacher and set(teacher.copied) == {1, 2, 3}
    long_solution = "def double(x):\n    y = x\n    y = y + x\n    z = y\n    return z"
    course = fixture_course()["09_test"]
    set_source(course, "double-sol", long_solution)
    ref = grade_match.reference(course, "09_test")
    copied = student_notebook(course)
    set_source(
        copied,
        "double-stub",
        "def double(x):\n    y = x\n    y = y + x  # mine!\n    z = y\n\n    return z",
    )
    prepared = grade_match.prepare(copied, ref)
    assert not prepared.teacher
    assert prepared.copied == {1: "its code is the course's solution, line for line"}


def test_points_come_from_the_notebooks_metadata():
    refs = references()
    assert [p.points for p in refs["09_test"].parts] == [1.0, 2.0, 1.0]
    assert refs["09_test"].max_points() == 4.0
    bad = full_notebook()
    bad.metadata["grading"] = {"points": {"4": 1}}
    with pytest.raises(ValueError, match="names exercise '4'; the notebook has 1 to 3"):
        grade_match.reference(bad)
    bad.metadata["grading"] = {"points": {"1": -1}}
    with pytest.raises(ValueError, match="must be a number >= 0"):
        grade_match.reference(bad)


def test_the_scan_names_what_tampers_and_what_could_defeat_the_guard():
    modules = grade_guard.module_names(["import torch\nimport numpy as np\nfrom torch import nn"])
    code = (
        "import math, builtins\n"
        "torch.allclose = lambda *a, **k: True\n"
        "setattr(np, 'allclose', lambda *a: True)\n"
        "builtins.all = lambda x: True\n"
        "all = lambda x: True\n"
        "def f():\n    math.isclose = lambda *a, **k: True\n"
        "class Anything(float):\n    def __eq__(self, other):\n        return True\n"
        "import sys\nframe = sys._getframe(1)\nget_ipython().events.register('x', f)\n"
        "nn.Module.parameters = f\n"
    )
    found = grade_guard.scan(code, modules | {"math"}, {"all", "reference"})
    assert found == [
        "uses the builtins module",
        "assigns torch.allclose",
        "calls setattr(np, ...)",
        "assigns builtins.all",
        "rebinds all, which a check reads",
        "assigns math.isclose",
        "defines __eq__ (an answer that passes for what it is not?)",
        "uses frames (sys._getframe)",
        "uses IPython's machinery (get_ipython)",
        "assigns nn.Module.parameters",
    ]
    assert (
        grade_guard.scan("def double(x):\n    return 2 * x\nresult = double(3)", modules, {"x"})
        == []
    )
    pytorch_idioms = "modules = [m for m in model.modules()]\nlayers = torch.nn.modules\n"
    assert grade_guard.scan(pytorch_idioms, modules, set()) == []
    for code in ("import sys as s\ns.modules['torch'] = None", "from sys import modules"):
        found = grade_guard.scan(code, grade_guard.module_names([code]), set())
        assert "uses sys.modules" in found, code


# ------------------------------------------------------------------------ the guard, in process
@pytest.fixture
def fake_modules(monkeypatch):
    """Two modules of the test's own, registered in sys.modules: ``fake_lib`` (a function and a
    class) and ``fake_lazy`` (names given by a module ``__getattr__``, as ``helpers`` does)."""
    lib = types.ModuleType("fake_lib")

    def isclose(a, b):
        return abs(a - b) < 1e-9

    class Tensor:
        def equal(self, other):
            return self is other

    isclose.__module__ = Tensor.__module__ = "fake_lib"
    Tensor.__qualname__ = "Tensor"
    lib.isclose, lib.Tensor = isclose, Tensor
    lazy = types.ModuleType("fake_lazy")
    genuine = {"fit": lambda: "the course's fit"}

    def lazy_getattr(name):
        if name not in genuine:
            raise AttributeError(name)
        setattr(lazy, name, genuine[name])
        return genuine[name]

    lazy.__getattr__ = lazy_getattr
    monkeypatch.setitem(sys.modules, "fake_lib", lib)
    monkeypatch.setitem(sys.modules, "fake_lazy", lazy)
    published = []
    monkeypatch.setattr(grade_guard, "_publish", published.append)
    return lib, lazy, genuine, published


def test_the_guard_puts_back_what_the_students_code_changed(fake_modules):
    lib, lazy, genuine, published = fake_modules
    original = lib.isclose
    ns = {"reference": 1.0}
    plan = {"exercise_names": ["mine"], "check_reads": ["reference", "all", "mine"]}
    guard = grade_guard.start(ns, plan)
    guard.keep(["reference"])
    guard.before()
    lib.isclose = lambda a, b: True  # the student's cell
    lib.Tensor.equal = lambda self, other: True
    lazy.fit = lambda: "the student's fit"
    sys.modules["fake_lib"] = types.ModuleType("fake_lib")
    ns.update(reference=0.0, all=lambda x: True, mine=lambda: 3)
    guard.after("exercise 1's stub")
    assert sys.modules["fake_lib"] is lib and lib.isclose is original
    assert lib.Tensor.equal(lib.Tensor(), lib.Tensor()) is False
    assert lazy.fit() == "the course's fit"
    [report] = published
    assert report["kind"] == "tampering" and report["cell"] == "exercise 1's stub"
    assert set(report["changed"]) == {
        "sys.modules['fake_lib']",
        "fake_lib.isclose",
        "fake_lib.Tensor.equal",
        "fake_lazy.fit",
    }
    assert report["rebound"] == ["all", "reference"]
    # the check sees the course's reference, Python's all, and the student's own exercise name
    guard.check(1, "n1", "assert reference == 1.0 and not all([0]) and mine() == 3", [])
    assert published[-1] == {"kind": "verdict", "exercise": 1, "nonce": "n1", "status": "passed"}


def test_the_guard_voids_a_check_during_which_the_students_code_changed_something(fake_modules):
    lib, _, _, published = fake_modules
    ns: dict = {}
    guard = grade_guard.start(ns, {"exercise_names": ["ratio"]})

    def ratio():
        lib.isclose = lambda a, b: True  # patched while the check runs
        return 0.1

    ns["ratio"] = ratio
    guard.check(2, "n2", "import fake_lib\nassert fake_lib.isclose(ratio(), 0.5)", [])
    assert published[-1]["status"] == "tampered"
    assert published[-1]["changed"] == ["fake_lib.isclose"]
    assert lib.isclose(0.1, 0.5) is False, "and it was put back"


def test_the_guard_refuses_answers_that_equal_anything_and_reports_errors(fake_modules):
    *_, published = fake_modules

    class Anything(float):
        def __eq__(self, other):
            return True

        __hash__ = float.__hash__

    Anything.__module__ = "__main__"  # defined in the notebook, as a student would
    ns = {"best": Anything(1.0), "chosen": 0.12, "stub": None}
    guard = grade_guard.start(ns, {"exercise_names": ["best", "chosen", "stub"]})
    with pytest.raises(AssertionError, match="object of class .*Anything, whose __eq__ is"):
        guard.check(1, "a", "assert best == 0.12", [])
    guard.check(2, "b", "assert 0 < chosen <= 0.12 != 1\nvalue = chosen", ["value"])
    assert published[-1]["status"] == "passed" and ns["value"] == 0.12
    with pytest.raises(AssertionError):
        guard.check(3, "c", "x = 1\nassert chosen > 1, ''", [])
    assert published[-1] == {
        "kind": "verdict",
        "exercise": 3,
        "nonce": "c",
        "status": "raised",
        "ename": "AssertionError",
        "evalue": "",
        "line": "assert chosen > 1, ''",
    }
    ns["stub"] = lambda: (_ for _ in ()).throw(NotImplementedError("hint: think"))
    with pytest.raises(NotImplementedError):
        guard.check(4, "d", "stub()", [])
    assert published[-1]["ename"] == "NotImplementedError"


# ------------------------------------------------------------------------ the gradebook, no kernel
def fake_report(name: str, points: list[float], data: bytes = b"x", **extra) -> dict:
    report = grade.new_report(name, data)
    report["notebook"] = extra.pop("notebook", "09_test")
    report["exercises"] = [
        {
            "number": n,
            "kind": "Build",
            "title": f"ex {n}",
            "max_points": 1.0,
            "points": p,
            "status": "passed" if p else "failed",
            "detail": "" if p else "AssertionError: no",
            "answer": None,
        }
        for n, p in enumerate(points, 1)
    ]
    report.update(extra)
    return report


def test_regrading_merges_and_fresh_starts_over(tmp_path):
    refs = references()
    subs = tmp_path / SUBMISSIONS
    for student in ("alice", "bob"):
        (subs / student).mkdir(parents=True)
        (subs / student / "09_test.ipynb").write_text("{}")
    book = grade_report.Gradebook.open(tmp_path / "grades")
    book.root_for([subs], grade.submissions([subs]))
    book.merge(
        [fake_report("alice/09_test.ipynb", [1, 0, 0]), fake_report("bob/09_test.ipynb", [1, 1, 1])]
    )
    book.write(refs)
    again = grade_report.Gradebook.open(tmp_path / "grades")
    assert again.root_for([subs / "alice"], [subs / "alice" / "09_test.ipynb"]) == subs.resolve()
    again.merge([fake_report("alice/09_test.ipynb", [1, 1, 0])])
    again.write(refs)
    table = list(csv.DictReader(io.StringIO((tmp_path / "grades" / "students.csv").read_text())))
    assert [(r["student"], r["total"]) for r in table] == [("alice", "2"), ("bob", "3")]
    with pytest.raises(ValueError, match="is not under .* --fresh"):
        again.root_for([tmp_path], [tmp_path / "elsewhere.ipynb"])
    fresh = grade_report.Gradebook.open(tmp_path / "grades", fresh=True)
    assert fresh.reports == {} and fresh.root is None


def test_the_class_view_finds_missing_unmatched_and_duplicate_submissions(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("Student,File\nAlice Liu,alice\nBob,bob/*.ipynb\nJudy,judy\n")
    book = grade_report.Gradebook(tmp_path)
    book.set_roster(grade_report.read_roster(roster))
    book.merge(
        [
            fake_report("alice/09_test.ipynb", [1, 1, 0], b"same", work="w1"),
            fake_report("alice/09_test (1).ipynb", [1, 0, 0], b"other", work="w2"),
            fake_report("bob/09_test.ipynb", [0, 0, 0], b"same", work="w1"),
            fake_report("mallory.ipynb", [1, 1, 1], b"m", work="w3"),
        ]
    )
    view = book.class_view()
    assert view["missing"] == ["Judy: judy"]
    assert view["unmatched"] == ["mallory.ipynb"]
    assert view["duplicates"] == ["identical files: alice/09_test.ipynb, bob/09_test.ipynb"]
    assert sorted(view["students"]) == ["Alice Liu", "Bob", "Judy", "mallory"]
    assert view["students"]["Alice Liu"]["09_test"]["submission"] == "alice/09_test.ipynb"
    rows = {
        r["student"]: r
        for r in csv.DictReader(io.StringIO(grade_report.students_csv(view, {"09_test": 3.0})))
    }
    assert rows["Alice Liu"]["total"] == "2" and rows["Alice Liu"]["percent"] == "66.7"
    assert "2 submissions of 09_test" in rows["Alice Liu"]["notes"]
    assert rows["Judy"]["09_test"] == "0" and "no submission of 09_test" in rows["Judy"]["notes"]
    with pytest.raises(ValueError, match="needs the columns student and file"):
        (tmp_path / "bad.csv").write_text("name,path\n")
        grade_report.read_roster(tmp_path / "bad.csv")


def test_reports_render_every_status():
    report = fake_report("a/b.ipynb", [1, 0, 0, 0, 0, 0], problem="x | y")
    for row, status in zip(report["exercises"], grade.STATUSES):
        row.update(status=status, detail="d <b>" if status != "passed" else "")
    report["notes"] = ["cell [3] raised ValueError: v"]
    book = grade_report.Gradebook(".")
    book.merge([report])
    view = book.class_view()
    md = grade_report.markdown(view, {"09_test": 6.0})
    assert "| a/b.ipynb | a | 1/6 | ✓ | ◐ | ✗ | – | ⏱ | ⚠ | x / y |" in md
    assert "- a/b.ipynb, exercise 3: failed: d <b>" in md and "- a/b.ipynb: cell [3] raised" in md
    page = grade_report.html_page(view, {"09_test": 6.0})
    assert "d &lt;b&gt;" in page and "<b>" not in page
    assert grade_report.exercises_csv(view).count("\n") == 7


def test_grades_kept_inside_the_submissions_folder_are_not_graded(tmp_path):
    (tmp_path / "course").mkdir()
    nbformat.write(full_notebook(), tmp_path / "course" / "09_test.ipynb")
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "essay.ipynb").write_text("not a notebook")
    argv = [str(tmp_path / "subs"), "--notebooks", str(tmp_path / "course")]
    argv += ["--out", str(tmp_path / "subs" / "grades")]
    assert grade.main(argv) == 0 and grade.main(argv) == 0
    assert list(table(tmp_path / "subs")) == ["essay.ipynb"]


def test_usage_errors_exit_2(tmp_path, capsys):
    assert grade.main([str(tmp_path / "nowhere")]) == 2
    assert "nowhere: no such file or folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert grade.main([str(tmp_path), "--notebooks", str(tmp_path / "empty")]) == 2
    assert "no course notebooks" in capsys.readouterr().err


def test_submissions_are_named_under_the_folder_they_are_in(tmp_path):
    for name in ("alice/03.ipynb", "bob/03.ipynb", "bob/extra/notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}")
    (tmp_path / "bob" / ".hidden.ipynb").write_text("{}")
    files = grade.submissions([tmp_path])
    assert [grade_report.relative_name(p, tmp_path) for p in files] == [
        "alice/03.ipynb",
        "bob/03.ipynb",
        "bob/extra/notes.txt",
    ]


def test_cell_ids_are_unique_across_the_course():
    """The grader tells the notebooks apart by their cell ids."""
    owner: dict[str, str] = {}
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            other = owner.setdefault(cell["id"], path.stem)
            assert other == path.stem, f"cell id {cell['id']} is in {other} and in {path.stem}"


# ------------------------------------------------------------------------ the Makefile
def make(*args: str) -> str:
    return subprocess.run(
        ["make", "-s", "--no-print-directory", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.mark.slow
def test_make_grade_quotes_a_folder_with_spaces_and_make_help_lists_the_targets():
    # -n prints the command without running it (nothing is installed: the stamp is given)
    printed = make("-n", "grade", f"SUBMISSIONS={SUBMISSIONS}/", "STAMP=Makefile", "PY=python")
    joined = printed.replace("\\\n", " ")
    command = next(line for line in joined.splitlines() if "coursekit.grade" in line)
    assert shlex.split(command)[3] == f"{SUBMISSIONS}/"
    shown = make("help")
    for target in ("install", "course", "test", "student", "grade", "site", "clean", "help"):
        assert f"make {target}" in shown, target
    assert "grades/" in shown and "SCHEDULER=" in shown


# ------------------------------------------------------------------------ one class, graded
def write_class(root) -> dict[str, bytes]:
    """The course and one class's submissions under ``root``; each file's bytes by name."""
    course = fixture_course()
    (root / "course").mkdir()
    for stem, nb in course.items():
        nbformat.write(nb, root / "course" / f"{stem}.ipynb")
    subs = root / SUBMISSIONS
    files: dict[str, nbformat.NotebookNode | str] = {}
    alice = edition()  # partly right; a check edited, another deleted
    set_source(alice, "double-stub", "def double(x):\n    return x + x")
    set_source(alice, "best_rate-stub", "def best_rate(rates):\n    return max(rates)")
    set_source(alice, "best_rate-check", "print('I edited the check')")
    set_source(alice, "halve-stub", "def halve(x):\n    return x / 2")
    alice.cells = [c for c in alice.cells if c.get("id") != "halve-check"]
    files["alice/09_test.ipynb"] = answered(alice, "best_rate-a-yours", "halve-a-yours")
    bob = solved()  # right, saved without cell ids, one answer in a cell of its own
    set_source(bob, "halve-a-yours", YOUR_ANSWER)
    i = next(i for i, c in enumerate(bob.cells) if c.get("id") == "halve-a-yours")
    bob.cells.insert(i + 1, markdown("Halving is the inverse of doubling."))
    bob.nbformat_minor = 4
    for cell in bob.cells:
        cell.pop("id", None)
    files["bob/09_test.ipynb"] = bob
    guard_ok = edition("10_guard")
    for name in ("scaled", "ratio"):
        set_source(guard_ok, f"g-{name}-stub", GUARD_SOLUTIONS[name].replace("2 * x", "x * 2"))
    files["bob/10_guard.ipynb"] = answered(guard_ok, "g-ratio-a-yours")
    carol = edition("10_guard")  # wrong, and monkeypatching what the checks rely on
    set_source(
        carol,
        "g-scaled-stub",
        "import builtins\n\n\ndef scaled(x):\n    return x\n\n\n"
        "torch.allclose = lambda *a, **k: True\nnp.allclose = lambda *a, **k: True\n"
        "builtins.all = lambda *a: True\nreference = torch.tensor([1.0, 2.0, 3.0]) / 2",
    )
    set_source(
        carol,
        "g-ratio-stub",
        "def ratio():\n    math.isclose = lambda *a, **k: True\n    return 0.1",
    )
    files["carol/10_guard.ipynb"] = answered(carol, "g-ratio-a-yours")
    files["dave/09_test.ipynb"] = fixture_course()["09_test"]  # the teacher's notebook
    frank = edition()  # an infinite loop, then a kernel that dies
    set_source(
        frank,
        "double-stub",
        "import time\n\n\ndef double(x):\n    while True:\n        time.sleep(0.1)",
    )
    set_source(frank, "best_rate-stub", "def best_rate(rates):\n    return 0.12")
    i = next(i for i, c in enumerate(frank.cells) if c.get("id") == "best_rate-check")
    frank.cells.insert(i + 1, nbformat.v4.new_code_cell("import os\nos._exit(1)"))
    files["frank/09_test.ipynb"] = answered(frank, "best_rate-a-yours")
    grace = edition()  # SystemExit, files deleted, one exercise solved
    i = next(i for i, c in enumerate(grace.cells) if c.get("id") == "setup")
    grace.cells[i + 1 : i + 1] = [
        nbformat.v4.new_code_cell("import sys\nsys.exit('bye')"),
        nbformat.v4.new_code_cell("import os\nfor f in os.listdir('.'):\n    os.remove(f)"),
    ]
    set_source(grace, "halve-stub", "def halve(x):\n    return x * 0.5")
    files["grace/09_test.ipynb"] = answered(grace, "halve-a-yours")
    kate = solved()  # right, slowly: the Dask test kills a worker while it runs
    set_source(
        kate, "double-stub", "import time\n\ntime.sleep(2)\n\n\ndef double(x):\n    return 2 * x"
    )
    files["kate/09_test.ipynb"] = kate
    for name, nb in files.items():
        (subs / name).parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():  # bob's notebook has no ids, on purpose
            warnings.simplefilter("ignore")
            nbformat.write(nb, subs / name)
    (subs / "heidi").mkdir()
    (subs / "heidi" / "09_test.ipynb").write_bytes((subs / "alice" / "09_test.ipynb").read_bytes())
    (subs / "heidi" / "essay.ipynb").write_text("Dear teacher, here is my homework.")
    (subs / "ivan").mkdir()
    stranger = notebook([markdown("# My own notebook"), nbformat.v4.new_code_cell("1 + 1")])
    nbformat.write(stranger, subs / "ivan" / "张三 作业.ipynb")
    (subs / ".ipynb_checkpoints").mkdir()
    (subs / ".ipynb_checkpoints" / "x-checkpoint.ipynb").write_text("{}")
    roster = ["student,file"] + [
        f"{s.title()},{s}" for s in "alice bob carol dave frank grace heidi kate judy".split()
    ]
    (root / "roster.csv").write_text("\n".join(roster) + "\n")
    return {p.relative_to(subs).as_posix(): p.read_bytes() for p in subs.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The class graded once with the command line (2 local Dask workers, kernels started from
    scratch; the real-scheduler test uses warm ones)."""
    root = tmp_path_factory.mktemp("grading")
    before = write_class(root)
    argv = [
        str(root / SUBMISSIONS),
        "--notebooks",
        str(root / "course"),
        "--out",
        str(root / "grades"),
        "--roster",
        str(root / "roster.csv"),
        "--timeout",
        str(TIMEOUT),
        "--jobs",
        "2",
        "--no-warm",  # tiny notebooks: a warm process would cost more than it saves
    ]
    start = time.perf_counter()
    code = grade.main(argv)
    return code, before, root, time.perf_counter() - start


def table(root, name: str = "grades.csv") -> dict[str, list[dict[str, str]]]:
    found: dict[str, list[dict[str, str]]] = {}
    for row in csv.DictReader(io.StringIO((root / "grades" / name).read_text())):
        found.setdefault(row.get("submission") or row["student"], []).append(row)
    return found


def statuses(root, name: str) -> list[str]:
    return [r["status"] for r in table(root)[name]]


def test_the_tool_succeeds_leaves_the_submissions_alone_and_writes_everything(graded):
    code, before, root, _ = graded
    assert code == 0, "bad submissions are not a failure of the tool"
    subs = root / SUBMISSIONS
    after = {p.relative_to(subs).as_posix(): p.read_bytes() for p in subs.rglob("*") if p.is_file()}
    assert {k: hashlib.sha256(v).hexdigest() for k, v in after.items()} == {
        k: hashlib.sha256(v).hexdigest() for k, v in before.items()
    }
    assert set(table(root)) == {n for n in before if "checkpoints" not in n}
    names = {p.name for p in (root / "grades").iterdir()}
    assert names == {
        "grades.json",
        "grades.csv",
        "students.csv",
        "grades.md",
        "grades.html",
        "answers.md",
        "feedback",
    }
    feedback = sorted(
        p.relative_to(root / "grades" / "feedback").as_posix()
        for p in (root / "grades" / "feedback").rglob("*.ipynb")
    )
    assert len(feedback) == 9 and "ivan/张三 作业.ipynb" not in feedback


def test_no_report_names_a_path_outside_the_submissions_folder(graded):
    _, _, root, _ = graded
    for path in (root / "grades").rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert str(root) not in text and str(root.resolve()) not in text, path.name


def test_partial_work_edited_and_deleted_checks_and_points(graded):
    _, _, root, _ = graded
    alice = table(root)["alice/09_test.ipynb"]
    assert [r["status"] for r in alice] == ["passed", "failed", "passed"]
    assert alice[1]["detail"] == "AssertionError: best_rate picked 1.0, not the rate closest to 0.1"
    assert [r["points"] for r in alice] == ["1", "0", "1"] and alice[0]["notebook_points"] == "2"
    assert "exercise 2: its check was edited; the course's check ran" in alice[0]["notes"]
    assert "exercise 3: its check was deleted; the course's check was put back" in alice[0]["notes"]
    md = (root / "grades" / "grades.md").read_text()
    assert "| alice/09_test.ipynb | Alice | 2/4 | ✓ | ✗ | ✓ |" in md


def test_a_notebook_without_ids_is_graded_in_full(graded):
    _, _, root, _ = graded
    bob = table(root)["bob/09_test.ipynb"]
    assert [r["status"] for r in bob] == ["passed"] * 3 and bob[0]["problem"] == ""
    assert [r["written_answer"] for r in bob] == ["", "written", "written"]
    answers = (root / "grades" / "answers.md").read_text()
    assert "> Halving is the inverse of doubling." in answers
    assert (
        "**grace/09_test.ipynb** (Grace; exercise not attempted): *not attempted (blank)*"
        in answers
    )


def test_monkeypatching_what_a_check_relies_on_cannot_make_it_pass(graded):
    _, _, root, _ = graded
    assert statuses(root, "bob/10_guard.ipynb") == ["passed", "passed"]
    assert table(root)["bob/10_guard.ipynb"][0]["tampering"] == ""
    carol = table(root)["carol/10_guard.ipynb"]
    assert [r["status"] for r in carol] == ["failed", "failed"]
    assert carol[0]["detail"] == "AssertionError: twice the input"
    assert carol[1]["detail"].startswith("it changed math.isclose while its check ran")
    tampering = carol[0]["tampering"]
    for what in (
        "assigns torch.allclose",
        "assigns np.allclose",
        "assigns builtins.all",
        "exercise 1's stub: changed builtins.all, numpy.allclose, torch.allclose (put back",
    ):
        assert what in tampering, what
    assert "exercise 1's stub rebound reference, which the checks read" in carol[0]["notes"]
    students = table(root, "students.csv")
    assert students["Carol"][0]["notes"] == "no submission of 09_test; 10_guard: tampering"


def test_the_teachers_notebook_is_flagged_and_earns_nothing(graded):
    _, _, root, _ = graded
    dave = table(root)["dave/09_test.ipynb"]
    assert [r["status"] for r in dave] == ["copied"] * 3 and dave[0]["notebook_points"] == "0"
    assert dave[0]["problem"].startswith("the course's full notebook (its solutions are in it)")


def test_bad_runs_cost_one_line_each(graded):
    _, _, root, _ = graded
    frank = table(root)["frank/09_test.ipynb"]
    assert [r["status"] for r in frank] == ["timed out", "passed", "failed"]
    assert frank[0]["detail"] == "the check ran past the per-cell timeout"
    assert frank[2]["detail"].startswith("not reached: the kernel stopped")
    grace = table(root)["grace/09_test.ipynb"]
    assert [r["status"] for r in grace] == ["not attempted", "not attempted", "passed"]
    assert "it deleted files in its working directory" in grace[0]["problem"]
    assert (
        "it raised SystemExit (your cell 4 (`import sys`) raised SystemExit: bye)"
        in grace[0]["problem"]
    )
    [essay] = table(root)["heidi/essay.ipynb"]
    assert essay["problem"].startswith("not a notebook: ") and essay["status"] == ""
    [ivan] = table(root)["ivan/张三 作业.ipynb"]
    assert ivan["problem"].startswith("not a notebook of this course")


def test_the_roster_missing_unmatched_and_duplicates(graded):
    _, _, root, _ = graded
    heidi = table(root)["heidi/09_test.ipynb"]
    assert [r["status"] for r in heidi] == statuses(root, "alice/09_test.ipynb")
    assert "an identical file was submitted as alice/09_test.ipynb" in heidi[0]["notes"]
    md = (root / "grades" / "grades.md").read_text()
    assert "- Missing (in the roster, no file): Judy: judy." in md
    assert "- Not in the roster: ivan/张三 作业.ipynb." in md
    assert "- Identical files: alice/09_test.ipynb, heidi/09_test.ipynb." in md
    students = table(root, "students.csv")
    assert list(students) == [
        "Alice",
        "Bob",
        "Carol",
        "Dave",
        "Frank",
        "Grace",
        "Heidi",
        "Judy",
        "Kate",
        "ivan",
    ]
    assert students["Bob"][0]["09_test"] == "4" and students["Bob"][0]["10_guard"] == "2"
    assert students["Bob"][0]["total"] == "6" and students["Bob"][0]["max"] == "6"
    assert students["Judy"][0]["total"] == "0"


def test_feedback_shows_each_verdict_next_to_its_check(graded):
    _, _, root, _ = graded
    nb = nbformat.read(root / "grades" / "feedback" / "alice" / "09_test.ipynb", as_version=4)
    text = [c.source for c in nb.cells]
    assert text[0].startswith("**Feedback from the grader** on `alice/09_test.ipynb` (09_test)")
    assert "exercise 3: its check was deleted" in text[0]
    verdicts = [t for t in text if t.startswith("**Grader, exercise")]
    assert verdicts == [
        "**Grader, exercise 1: ✓ passed**, 1 of 1 point(s).",
        "**Grader, exercise 2: ✗ failed**, 0 of 2 point(s). AssertionError: best_rate picked "
        "1.0, not the rate closest to 0.1",
        "**Grader, exercise 3: ✓ passed**, 1 of 1 point(s).",
    ]
    check = text.index(CHECKS["best_rate"])  # the course's check, not alice's edit
    assert text[check + 1].startswith("**Grader, exercise 2")
    assert not any(grade_guard.NAME in t for t in text), "the grader's own cells are left out"


def test_regrading_one_student_keeps_the_class_and_fresh_starts_over(graded, tmp_path):
    _, _, root, _ = graded
    out = tmp_path / "grades"
    out.mkdir()
    state = json.loads((root / "grades" / "grades.json").read_text())
    state["root"] = os.path.relpath(root / SUBMISSIONS, out)
    (out / "grades.json").write_text(json.dumps(state))
    common = ["--notebooks", str(root / "course"), "--out", str(out)]
    lines = (root / "grades" / "grades.csv").read_text().count("\n")
    assert grade.main([str(root / SUBMISSIONS / "heidi" / "essay.ipynb"), *common]) == 0
    assert (out / "grades.csv").read_text().count("\n") == lines, "merged, not replaced"
    assert "Judy" in (out / "students.csv").read_text(), "the roster is kept"
    assert grade.main([str(root / SUBMISSIONS / "heidi" / "essay.ipynb"), *common, "--fresh"]) == 0
    assert (out / "grades.csv").read_text().count("\n") == 2


# ------------------------------------------------------------------------ a real Dask cluster
def _start(args: list[str], env: dict, log) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "dask", *args], env=env, stdout=log, stderr=log, cwd=ROOT
    )


def test_a_dask_scheduler_with_two_workers_gives_the_same_grades_despite_a_killed_worker(
    graded, tmp_path
):
    from dask.distributed import Client

    _, _, root, _ = graded
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    scheduler_file = tmp_path / "scheduler.json"
    log = open(tmp_path / "dask.log", "w")
    bounded = ["--no-dashboard", "--host", "127.0.0.1"]
    began = time.perf_counter()

    def mark(what):
        print(f"{time.perf_counter() - began:6.1f} s {what}", file=log, flush=True)

    processes = [
        _start(
            [
                "scheduler",
                *bounded,
                "--port",
                "0",
                "--scheduler-file",
                str(scheduler_file),
                "--idle-timeout",
                "300s",
            ],
            env,
            log,
        )
    ]
    try:
        for _ in range(600):
            if scheduler_file.exists() and scheduler_file.stat().st_size:
                break
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        for name in ("w1", "w2"):
            processes.append(
                _start(
                    [
                        "worker",
                        address,
                        *bounded,
                        "--name",
                        name,
                        "--nthreads",
                        "1",
                        "--no-nanny",
                        "--lifetime",
                        "300s",
                        "--death-timeout",
                        "30s",
                    ],
                    env,
                    log,
                )
            )
        client = Client(address, timeout=30)
        client.wait_for_workers(2, timeout=120)
        mark("two workers")
        pids = client.run(os.getpid)
        subs = root / SUBMISSIONS
        graders = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "coursekit.grade",
                str(subs / "alice"),
                str(subs / "bob" / "09_test.ipynb"),
                str(subs / "kate"),
                "--notebooks",
                str(root / "course"),
                "--out",
                str(tmp_path / "grades"),
                "--scheduler",
                address,
                "--timeout",
                str(TIMEOUT),
                "--no-warm",
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        killed = None
        deadline = time.monotonic() + 200  # the grader's start (imports, matching) may be slow
        while graders.poll() is None and time.monotonic() < deadline:  # kill a worker a second
            busy = [w for w, tasks in client.processing().items() if tasks]  # into its task
            if busy:
                time.sleep(1.0)
                killed = busy[0]
                os.kill(pids[killed], signal.SIGKILL)
                mark(f"killed {killed}")
                break
            time.sleep(0.1)
        output, _ = graders.communicate(timeout=400)
        mark("graded")
        assert graders.returncode == 0, output
        assert killed is not None, "no task was seen running"
        assert killed not in client.scheduler_info()["workers"], "the worker is gone"
        client.close()
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()
    remote = json.loads((tmp_path / "grades" / "grades.json").read_text())["reports"]
    local = json.loads((root / "grades" / "grades.json").read_text())["reports"]
    assert sorted(remote) == ["alice/09_test.ipynb", "bob/09_test.ipynb", "kate/09_test.ipynb"]

    def same(report):  # what the run decides (the student's name comes from the class's roster)
        return {k: v for k, v in report.items() if k not in ("seconds", "graded", "student")}

    assert {k: same(v) for k, v in remote.items()} == {k: same(local[k]) for k in remote}


# ------------------------------------------------------------------------ a runaway kernel
@pytest.mark.slow
@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_a_loop_that_swallows_the_interrupt_is_stopped_and_its_kernel_with_it(tmp_path, warm):
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
    stopped = grade.execute(nb, out, tmp_path / "work", timeout=2, notebook_timeout=12, warm=warm)
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
