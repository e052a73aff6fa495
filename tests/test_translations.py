"""The Chinese edition (coursekit.translate, make zh): complete, in step with the English
notebooks, the same programs, rebuilt identically; a changed English cell fails the tests until it
is translated; the Chinese notebooks run, and the student edition and the grader handle them."""

from __future__ import annotations

import copy
import csv
import re
import shutil

import nbformat
import polib
import pytest
from conftest import NOTEBOOKS
from course_fixtures import full_notebook, set_source

from coursekit import cells, grade, grade_match, student, translate
from coursekit.run import course_engine
from coursekit.student import YOUR_ANSWER_ZH, student_notebook

CHINESE = [translate.OUT_DIR / nb.name for nb in NOTEBOOKS]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_cell_is_translated_and_the_po_file_is_in_step(notebook):
    po = translate.merge(notebook)
    problems = translate.entry_problems(po, notebook.name)
    assert not problems, "run `make zh` and translate:\n" + "\n".join(problems)
    committed = translate.po_path(notebook).read_text(encoding="utf-8")
    assert str(po) == committed, f"{translate.po_path(notebook).name} is stale: run `make zh`"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_committed_chinese_notebook_is_what_make_zh_builds(notebook):
    built = nbformat.writes(translate.translated(notebook, translate.merge(notebook))) + "\n"
    committed = (translate.OUT_DIR / notebook.name).read_text(encoding="utf-8")
    assert built == committed, f"notebooks/zh_CN/{notebook.name} is stale: run `make zh`"


def test_a_chinese_notebook_has_the_english_code_outputs_and_ids():
    for english, chinese in zip(NOTEBOOKS, CHINESE):
        en, zh = nbformat.read(english, 4), nbformat.read(chinese, 4)
        assert [c.id for c in en.cells] == [c.id for c in zh.cells]
        for a, b in zip(en.cells, zh.cells):
            assert a.get("outputs") == b.get("outputs") and a.metadata == b.metadata
            if a.cell_type == "code":
                assert translate.program(a.source) == translate.program(b.source)
        translated = [b for a, b in zip(en.cells, zh.cells) if a.source != b.source]
        assert len(translated) >= len([c for c in en.cells if c.cell_type == "markdown"])
        assert len(cells.exercises(zh)) == len(cells.exercises(en)) > 0, chinese.name


# ----------------------------------------------------------------------------- the checks
def test_a_code_cell_may_differ_only_in_its_comments():
    english = "x = 1  # one\n# two lines\n# of comment\n%time y = f(x)\nprint('x')"
    fine = "x = 1  # 一\n# 两行\n# 注释\n%time y = f(x)\nprint('x')"
    assert translate.problems(english, fine, code=True) == []
    for wrong in (
        fine.replace("x = 1", "x = 2"),  # a value
        fine.replace("print('x')", "print('甲')"),  # a string
        fine.replace("%time y", "%timeit y"),  # a magic
        fine.replace("# 两行\n# 注释", "# 两行注释"),  # a comment merged into another
        fine.replace("  # 一", ""),  # a comment dropped
        "if True:\n  x = 1",  # indentation
    ):
        assert translate.problems(english, wrong, code=True), wrong


def test_a_markdown_cell_keeps_formulas_code_links_and_headings():
    english = (
        "## 2. `nn.Linear` is $y = xW^\\top + b$\n\nSee [notebook 03](03_data.ipynb) and\n\n"
        "$$L = -\\log p$$\n\n```bash\ntorchrun x.py\n```"
    )
    fine = (
        "## 2. `nn.Linear` 即 $y = xW^\\top + b$\n\n见[笔记本 03](03_data.ipynb)，以及\n\n"
        "$$L = -\\log p$$\n\n```bash\ntorchrun x.py\n```"
    )
    assert translate.problems(english, fine, code=False) == []
    for wrong, what in (
        (fine.replace("xW^\\top", "W^\\top x"), "formula"),
        (fine.replace("`nn.Linear`", "nn.Linear"), "code span"),
        (fine.replace("(03_data.ipynb)", "(03.ipynb)"), "link target"),
        (fine.replace("## 2.", "### 2."), "heading"),
        (fine.replace("torchrun x.py", "torchrun y.py"), "fenced block"),
        (fine.replace("$$L = -\\log p$$", ""), "formula"),
    ):
        found = translate.problems(english, wrong, code=False)
        assert any(what in p for p in found), (what, found)


def _copy_of_course(tmp_path, monkeypatch, stem: str = "01"):
    """A copy of one notebook and its PO file, with the translate module pointed at it."""
    (english,) = [nb for nb in NOTEBOOKS if nb.name.startswith(stem)]
    (tmp_path / "po").mkdir()
    shutil.copy(english, tmp_path / english.name)
    shutil.copy(translate.po_path(english), tmp_path / "po" / f"{english.stem}.po")
    monkeypatch.setattr(translate, "PO_DIR", tmp_path / "po")
    return tmp_path / english.name


def test_a_changed_english_cell_fails_until_it_is_translated(tmp_path, monkeypatch):
    copy_ = _copy_of_course(tmp_path, monkeypatch)
    nb = nbformat.read(copy_, 4)
    md = next(c for c in nb.cells if c.cell_type == "markdown" and "## 1." in c.source)
    md.source = md.source.replace("## 1.", "## 1. New words in", 1)
    coded = next(c for c in nb.cells if c.cell_type == "code" and translate.comments(c.source))
    coded.source = "pass\n" + coded.source  # code changed, comments the same
    added = nbformat.v4.new_markdown_cell("A new paragraph.")
    nb.cells.insert(3, added)
    nbformat.write(nb, copy_)

    po = translate.merge(copy_)
    problems = translate.entry_problems(po, copy_.name)
    assert len(problems) == 2, problems
    assert any(f"{copy_.name}, cell {md.id} (markdown): fuzzy" in p for p in problems)
    assert any(f"cell {added.id} (markdown): not translated yet" in p for p in problems)
    changed = next(e for e in po if e.msgctxt == md.id)
    assert changed.previous_msgid and "## 1. New words" not in changed.previous_msgid
    carried = next(e for e in po if e.msgctxt == coded.id)
    assert carried.msgstr.startswith("pass\n") and "fuzzy" not in carried.flags
    assert translate.main(["check", "--notebooks", str(tmp_path), "--only", "01"]) == 1
    translate.save_po(po, translate.po_path(copy_))
    assert "#, fuzzy" in translate.po_path(copy_).read_text(encoding="utf-8")

    changed.msgstr = changed.msgstr.replace("## 1.", "## 1. 新的", 1)
    changed.flags.remove("fuzzy")
    next(e for e in po if e.msgctxt == added.id).msgstr = "新的一段。"
    assert translate.entry_problems(po, copy_.name) == []


# ------------------------------------------------------------------- running and teaching
@pytest.mark.slow
def test_a_chinese_notebook_runs_top_to_bottom_in_smoke_mode(tmp_path):
    import papermill

    chinese = translate.OUT_DIR / NOTEBOOKS[0].name
    papermill.execute_notebook(
        str(chinese),
        str(tmp_path / chinese.name),
        parameters={"smoke": True},
        cwd=str(chinese.parent),
        progress_bar=False,
        engine_name=course_engine(),
    )
    ran = nbformat.read(tmp_path / chinese.name, 4)
    assert not [o for c in ran.cells for o in c.get("outputs", []) if o.output_type == "error"]


def test_the_chinese_student_edition_asks_for_answers_in_chinese():
    for chinese in CHINESE:
        nb = nbformat.read(chinese, 4)
        edition = student_notebook(nb)
        tagged = [c for c in edition.cells if {"solution", "answer"} & set(cells.tags(c))]
        assert not tagged
        written = [e for e in cells.exercises(nb) if e.answer is not None]
        assert sum(c.source == YOUR_ANSWER_ZH for c in edition.cells) == len(written)


@pytest.mark.slow
def test_the_student_package_holds_the_chinese_edition_and_no_chinese_answer(tmp_path):
    folder, archive = student.write_package(NOTEBOOKS[:2], tmp_path / "student")
    assert sorted(p.name for p in (folder / "notebooks" / "zh_CN").iterdir()) == sorted(
        p.name for p in NOTEBOOKS[:2]
    )
    assert (folder / "README.zh-CN.md").read_text(encoding="utf-8").startswith("# PyTorch")
    assert student.package_leaks(NOTEBOOKS[:2], folder) == []
    # a Chinese teacher's answer left in the package is found
    zh = folder / "notebooks" / "zh_CN" / NOTEBOOKS[0].name
    full = nbformat.read(CHINESE[0], 4)
    answer = next(e for e in cells.exercises(full) if e.answer is not None).answer
    edition = nbformat.read(zh, 4)
    edition.cells.append(nbformat.v4.new_markdown_cell(full.cells[answer].source))
    nbformat.write(edition, zh)
    assert any("teacher's answer" in f for f in student.package_leaks(NOTEBOOKS[:2], folder))


def _solve(edition: nbformat.NotebookNode, full: nbformat.NotebookNode, answer: str) -> None:
    """Put each exercise's solution into its stub and ``answer`` into each answer cell."""
    for ex in cells.exercises(full):
        stub_id = full.cells[ex.stub].id
        set_source(edition, stub_id, full.cells[ex.solution].source)
        if ex.answer is not None:
            set_source(edition, f"{full.cells[ex.answer].id}-yours"[-64:], answer)


@pytest.mark.parametrize("index", range(len(NOTEBOOKS)), ids=lambda i: NOTEBOOKS[i].stem)
def test_the_grader_runs_a_chinese_submission_as_the_english_one(index):
    english, chinese = (nbformat.read(p, 4) for p in (NOTEBOOKS[index], CHINESE[index]))
    ref = grade_match.reference(english, NOTEBOOKS[index].stem)
    runs = []
    for full, answer in (
        (english, "**Your answer:** it works."),
        (chinese, "**你的回答：** 可以。"),
    ):
        submission = student_notebook(full)
        _solve(submission, full, answer)
        assert grade_match.identify(submission, {ref.stem: ref}) == ref.stem
        runs.append(grade_match.prepare(submission, ref, {"smoke": True}))
    en, zh = runs

    def run(prepared: grade_match.Prepared) -> list[tuple]:
        """What the kernel runs (comments aside), and the role the grader gave each cell."""
        return [
            (
                c.metadata[grade_match.GRADE]["role"],
                translate.program(re.sub(r"'[0-9a-f]{16}'", "TOKEN", c.source))
                if c.cell_type == "code"
                else "",
            )
            for c in prepared.nb.cells
        ]

    assert run(en) == run(zh)
    assert zh.notes == en.notes == [] and zh.tampering == []
    assert {k: a["status"] for k, a in zh.answers.items()} == {k: "written" for k in en.answers}
    assert {a["text"] for a in zh.answers.values()} <= {"可以。"}


def _in_chinese(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The test course's notebook as the Chinese edition has it: prompts and answers in Chinese,
    the same ids and code."""
    zh = copy.deepcopy(nb)
    kinds = {v: k for k, v in cells.KINDS_ZH.items()}
    for ex in cells.exercises(zh):
        prompt = zh.cells[ex.prompt]
        prompt.source = (
            f"### 练习 {ex.number}（{kinds[ex.kind]}）：{ex.title.split(': ')[-1]}\n\n写出它。"
        )
        if ex.answer is not None:
            zh.cells[ex.answer].source = "教师的答案。"
    zh.metadata["course_translation"] = {"language": "zh_CN"}
    return zh


@pytest.mark.slow
def test_a_chinese_submission_earns_the_grade_of_the_english_one(tmp_path):
    course = full_notebook()
    (tmp_path / "course").mkdir()
    nbformat.write(course, tmp_path / "course" / "09_test.ipynb")
    subs = tmp_path / "subs"
    for who, full, answer in (
        ("en", course, "**Your answer:** near 0.1."),
        ("zh", _in_chinese(course), "**你的回答：** 接近 0.1。"),
    ):
        nb = student_notebook(full)
        assert (who == "zh") == any(c.source == YOUR_ANSWER_ZH for c in nb.cells)
        set_source(nb, "double-stub", "def double(x):\n    return x + x")
        set_source(nb, "best_rate-stub", "def best_rate(rates):\n    return max(rates)")
        set_source(nb, "best_rate-a-yours", answer)
        (subs / who).mkdir(parents=True)
        nbformat.write(nb, subs / who / "09_test.ipynb")
    out = tmp_path / "grades"
    argv = [str(subs), "--notebooks", str(tmp_path / "course"), "--out", str(out)]
    assert grade.main([*argv, "--jobs", "1", "--no-warm", "--timeout", "30"]) == 0
    rows = {}
    for row in csv.DictReader((out / "grades.csv").open()):
        rows.setdefault(row["submission"], []).append(
            (row["status"], row["points"], row["written_answer"])
        )
    assert rows["zh/09_test.ipynb"] == rows["en/09_test.ipynb"]
    assert [r[0] for r in rows["zh/09_test.ipynb"]] == ["passed", "failed", "not attempted"]
    assert "> 接近 0.1。" in (out / "answers.md").read_text(encoding="utf-8")


def test_polib_reads_what_merge_writes(tmp_path):
    po = translate.merge(NOTEBOOKS[0])
    path = tmp_path / "x.po"
    translate.save_po(po, path)
    again = polib.pofile(str(path), wrapwidth=0)
    assert [(e.msgctxt, e.msgid, e.msgstr) for e in again] == [
        (e.msgctxt, e.msgid, e.msgstr) for e in po
    ]
