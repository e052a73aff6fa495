"""The student edition (``make student``) and the one exercise-layout parser
(``coursekit.cells.exercises``): solutions, their headings and the teacher's answers removed,
outputs of checks and of every cell that depends on a solution cleared, all else kept, ids
included. Then, for every committed notebook that follows the anatomy: its edition gives no
printed answer away, the full notebook grades 100% and the edition 0% ("not attempted").
"""

from __future__ import annotations

import copy
import re

import nbformat
import pytest
from conftest import NOTEBOOKS
from course_fixtures import PRINTED, full_notebook, markdown

from coursekit import cells, grade, student
from coursekit.student import YOUR_ANSWER_TAG, dependent_cells, leaks, student_notebook


def ids(nb: nbformat.NotebookNode) -> list[str]:
    return [c["id"] for c in nb.cells]


# --------------------------------------------------------------------------------- the parser
def test_the_parser_finds_every_cell_of_every_exercise():
    nb = full_notebook()
    found = cells.exercises(nb)
    assert [(e.prompt, e.stub, e.heading, e.solution, e.check, e.answer) for e in found] == [
        (3, 4, 5, 6, 7, None),
        (8, 9, 10, 11, 12, 13),
        (15, 16, 17, 18, 19, 20),
    ]
    assert [e.kind for e in found] == ["Build", "Experiment", "Explain"]
    assert found[1].title == "Exercise 2 (Experiment): best_rate"
    assert cells.layout_problems(nb) == []


def test_the_kind_and_title_come_from_the_exercise_heading():
    nb = full_notebook()
    nb.cells[3].source = (
        "Calibration is next; Exercise 3 fixes it.\n\n## Exercises\n\n"
        "### Exercise 1 (build and explain): the `double` function\nWrite it."
    )
    nb.cells[8].source = "**Exercise 2.** No kind named here."
    first, second, _ = cells.exercises(nb)
    assert (first.kind, first.title) == (
        "Build",
        "Exercise 1 (build and explain): the double function",
    )
    assert (second.kind, second.title) == ("", "Exercise 2. No kind named here.")
    nb.cells[8].metadata["tags"] = ["answer"]
    with pytest.raises(ValueError, match=r"cell 8 must be its markdown prompt"):
        cells.exercises(nb)


def test_the_parser_accepts_hints_and_the_older_layout_but_says_what_is_missing():
    nb = full_notebook()
    nb.cells.insert(5, markdown("*A longer hint.*"))
    assert cells.exercises(nb)[0].heading == 6
    del nb.cells[6]  # exercise 1's "Solution" heading
    nb.cells[6].metadata.pop("jupyter")  # its solution, no longer collapsed
    assert cells.exercises(nb)[0].heading is None
    assert cells.layout_problems(nb) == [
        "exercise 1: no 'Solution' heading (markdown, tag 'solution')",
        "exercise 1: its solution, cell 6, is not collapsed (metadata.jupyter.source_hidden)",
    ]


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (lambda cs: cs.pop(3), "exercise 1 (stub at cell 3): cell 2 must be its markdown prompt"),
        (lambda cs: cs.pop(7), "exercise 1 (stub at cell 4): cell 7 must be its check"),
        (lambda cs: cs.pop(4), "cell 4 is tagged 'solution' but belongs to no exercise"),
        (
            lambda cs: cs.insert(13, nbformat.v4.new_code_cell("x = 1")),
            "cell 14 is tagged 'answer' but belongs to no exercise",
        ),
    ],
    ids=["no prompt", "no check", "no stub", "answer not after its check"],
)
def test_the_parser_names_the_cell_that_breaks_the_layout(broken, message):
    nb = full_notebook()
    broken(nb.cells)
    with pytest.raises(ValueError, match=re.escape(message)):
        cells.exercises(nb)
    assert cells.layout_problems(nb)[0].startswith(message[:20])


# -------------------------------------------------------------------------------- the edition
def test_the_edition_removes_solutions_and_answers_and_keeps_every_other_cell():
    nb = full_notebook()
    original = copy.deepcopy(nb)
    edition = student_notebook(nb)
    assert nb == original, "the full notebook is not modified"
    assert (
        ids(edition)
        == (
            "title params setup double double-stub double-check best_rate best_rate-stub "
            "best_rate-check best_rate-a-yours uses-chosen halve halve-stub halve-check "
            "halve-a-yours tail"
        ).split()
    )
    yours = [c for c in edition.cells if YOUR_ANSWER_TAG in c.metadata.get("tags", [])]
    assert [c.cell_type for c in yours] == ["markdown"] * 2 and "Your answer" in yours[0].source
    text = nbformat.writes(edition)
    assert "return 2 * x" not in text and "teacher's answer" not in text
    assert not any({"solution", "answer"} & set(c.metadata.get("tags", [])) for c in edition.cells)
    nbformat.validate(edition)


def test_the_edition_clears_checks_and_what_depends_on_a_solution_and_keeps_other_outputs():
    edition = {c["id"]: c for c in student_notebook(full_notebook()).cells}
    for cleared in ("double-check", "best_rate-check", "uses-chosen", "halve-check"):
        assert edition[cleared].outputs == [] and edition[cleared].execution_count is None
    assert edition["setup"].outputs[0].text == "setup, smoke False\n"
    assert edition["tail"].outputs[0].text == "independent output 0\n"


def test_no_string_printed_by_a_check_or_a_solution_appears_in_the_edition():
    full = full_notebook()
    assert leaks(full, student_notebook(full)) == []
    assert leaks(full, full) == sorted(line for pair in PRINTED.values() for line in pair)
    sloppy = student_notebook(full)
    sloppy.cells.append(markdown("We found that the rate you chose is 0.12 here."))
    assert leaks(full, sloppy) == ["the rate you chose is 0.12"]


def code_cells(*sources: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    return nb


def test_dependence_follows_names_through_cells_and_stops_where_a_name_is_rebound():
    nb = code_cells(
        "results = {}\nrate = 0.1",  # 0
        "def pick(rates):\n    return rates[0]\nValue.step = pick\nfor s in [1]:\n    pass",  # 1
        "best = pick([rate])",  # 2: reads pick
        "results['best'] = best",  # 3: reads best, changes results
        "print(results)",  # 4: results was changed by a dependent cell
        "best = 0.5\nprint(best)",  # 5: rebinds best without reading it
        "print(best, rate)",  # 6: best is free again
        "x.step()",  # 7: reads the attribute the solution set
        "%time y = 1\nresults = results | {}",  # 8: a magic; reads results, then rebinds it
        "print(results)",  # 9: still tainted
        "results?",  # 10: not Python: a mention of a tainted name is enough
        "squares = {s: s * s for s in range(3)}\ndef f(pick):\n    return pick",  # 11: locals
        "def g():\n    return pick(s)",  # 12: reads the module's pick and s
    )
    assert dependent_cells(nb, {1}) == {1, 2, 3, 4, 7, 8, 9, 10, 12}
    assert dependent_cells(nb, set()) == set()


def test_cli_writes_the_edition(tmp_path, capsys):
    (tmp_path / "nbs").mkdir()
    nbformat.write(full_notebook(), tmp_path / "nbs" / "09_test.ipynb")
    argv = ["--notebooks", str(tmp_path / "nbs"), "--out", str(tmp_path / "student")]
    assert student.main(argv) == 0
    assert "09_test.ipynb: student edition written" in capsys.readouterr().out
    edition = nbformat.read(tmp_path / "student" / "09_test.ipynb", as_version=4)
    assert ids(edition) == ids(student_notebook(full_notebook()))
    assert student.main([*argv, "--only", "07"]) == 2
    broken = full_notebook()
    del broken.cells[4]
    nbformat.write(broken, tmp_path / "nbs" / "09_test.ipynb")
    assert student.main(argv) == 2
    assert "09_test.ipynb: cell 4 is tagged 'solution'" in capsys.readouterr().err


# ------------------------------------------------------------------------ the course's notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_committed_notebook_edition_hides_answers_and_grades_0_percent(
    path, smoke_run, tmp_path
):
    """The full notebook's smoke run (shared with the other tests) must grade 100%; the edition
    is graded by a run of its own (smoke mode), and must grade 0%, with nothing else failing."""
    full = nbformat.read(path, as_version=4)
    problems = cells.layout_problems(full)
    headings = [c for c in full.cells if c.cell_type == "markdown" and "solution" in cells.tags(c)]
    if problems and not headings:
        pytest.skip(f"{path.name} is not in the exercise anatomy yet: {problems[0]}")
    assert problems == [], "the notebook is half-way to the exercise anatomy"
    [edition_path] = student.write_student_edition([path], tmp_path)
    edition = nbformat.read(edition_path, as_version=4)
    assert leaks(full, edition) == [], "the edition shows what a check or a solution printed"
    references = grade.load_references([path])
    results, notes = grade.judge(smoke_run(path.stem)[1], references[path.stem], stopped="")
    assert [r["status"] for r in results] == ["passed"] * len(results) and not notes, results
    graded = grade.grade_file(edition_path, references, timeout=300)
    assert student.edition_problems(graded) == []
