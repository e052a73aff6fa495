"""The exercises of every notebook, as the one parser (``coursekit.cells.exercises``) reads them
(docs/design.md: prompt, stub tagged ``exercise``, "Solution" heading and solution tagged
``solution``, untagged check, teacher's answer tagged ``answer``): stubs only define and raise
with a hint, solutions define the stub's names and checks call them, every solution runs and its
check passes in the smoke run, and every check rejects the wrong answers kept for it. The
cell-by-cell layout itself is tests/test_notebook_structure.py's.
"""

from __future__ import annotations

import ast
import re

import pytest
from conftest import NOTEBOOKS
from course_smoke import exercise_key

from coursekit import cells


def blocks(nb) -> list[tuple[int, list]]:
    """(index of the stub, [prompt, stub, solution, check]) for each exercise; the parser's
    ValueError names the cell that breaks the layout."""
    return [
        (ex.stub, [nb.cells[i] for i in (ex.prompt, ex.stub, ex.solution, ex.check)])
        for ex in cells.exercises(nb)
    ]


def defined_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
            names |= {
                t.attr for t in targets if isinstance(t, ast.Attribute)
            }  # Value.tanh = value_tanh
    return names


def not_implemented_messages(tree: ast.AST) -> list[str | None]:
    """The message of every ``raise NotImplementedError(...)`` in ``tree`` (None: no string
    message)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc
            name = exc.func if isinstance(exc, ast.Call) else exc
            if isinstance(name, ast.Name) and name.id == "NotImplementedError":
                args = exc.args if isinstance(exc, ast.Call) else []
                message = args[0].value if args and isinstance(args[0], ast.Constant) else None
                found.append(message if isinstance(message, str) else None)
    return found


@pytest.fixture(params=NOTEBOOKS, ids=lambda p: p.stem)
def notebook(request):
    import nbformat

    return request.param.stem, nbformat.read(request.param, as_version=4)


def test_enough_exercises_of_the_required_kinds(notebook):
    stem, nb = notebook
    found = cells.exercises(nb)
    assert len(found) >= 3, "at least 3 exercises (code cells tagged 'exercise')"
    for ex in found:
        assert re.search(r"\bassert\b", cells.source(nb.cells[ex.check])), (
            f"exercise {ex.number}: its check, cell {ex.check}, has no assert"
        )
    if all(ex.heading is None for ex in found):
        pytest.skip(f"{stem}: exercises in the older layout (no 'Solution' headings, no kinds)")
    kinds = {ex.kind for ex in found}
    assert {"Build", "Experiment"} <= kinds, (
        f"at least one Build and one Experiment exercise (the prompt names its kind); found {kinds}"
    )
    for ex in found:
        if ex.kind in ("Experiment", "Explain"):
            assert ex.answer is not None, (
                f"exercise {ex.number} ({ex.kind}) has the teacher's answer "
                "(markdown, tag 'answer') right after its check"
            )


def test_stubs_only_define_and_raise_with_a_hint(notebook):
    _, nb = notebook
    for i, (_, stub, solution, check) in blocks(nb):
        tree = ast.parse(stub.source)
        for node in tree.body:
            docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            assert docstring or isinstance(
                node,
                (
                    ast.FunctionDef,
                    ast.AsyncFunctionDef,
                    ast.ClassDef,
                    ast.Import,
                    ast.ImportFrom,
                    ast.Assign,
                    ast.AnnAssign,
                ),
            ), f"stub at cell {i} must only define (line {node.lineno} does more)"
        messages = not_implemented_messages(tree)
        assert messages, f"stub at cell {i} raises no NotImplementedError"
        assert all(m and re.match(r"\s*hint\b", m, re.I) for m in messages), (
            f"stub at cell {i}: every NotImplementedError carries a 'hint: ...' message, "
            f"got {messages}"
        )


def test_solutions_define_the_stub_names_and_checks_call_them(notebook):
    _, nb = notebook
    for i, (_, stub, solution, check) in blocks(nb):
        stub_names = defined_names(ast.parse(stub.source))
        solution_tree = ast.parse(solution.source)
        assert stub_names and stub_names <= defined_names(solution_tree), (
            f"exercise at cell {i}: the solution must define the stub's names {sorted(stub_names)}"
        )
        assert not not_implemented_messages(solution_tree), (
            f"the solution at cell {i + 1} still raises"
        )
        nodes = list(ast.walk(ast.parse(check.source)))
        used = {n.id for n in nodes if isinstance(n, ast.Name)} | {
            n.attr for n in nodes if isinstance(n, ast.Attribute)
        }
        assert used & stub_names, f"the check at cell {i + 2} never calls {sorted(stub_names)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_solutions_run_and_checks_pass_in_the_smoke_run(path, smoke_run):
    _, executed = smoke_run(path.stem)
    found = blocks(executed)
    assert found, "the executed notebook lost its exercises"
    for i, (_, stub, solution, check) in found:
        for role, cell in (("stub", stub), ("solution", solution), ("check", check)):
            assert cell.execution_count is not None, f"exercise at cell {i}: the {role} did not run"
            errors = [o for o in cell.outputs if o.output_type == "error"]
            assert not errors, (
                f"exercise at cell {i}: the {role} failed: {errors[0].ename}: {errors[0].evalue}"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_check_rejects_the_plausible_wrong_answers_kept_for_it(path, smoke_record):
    """tests/wrong_answers/NN_name.py keeps, for every exercise, at least two mistakes students
    make; the smoke run tries each against the exercise's check (course_smoke.instrument) right
    after the solution passed it. Every one must be rejected."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    keys = [exercise_key(cells.source(nb.cells[ex.stub])) for ex in cells.exercises(nb)]
    verdicts = smoke_record(path.stem)["wrong"]
    for key in keys:
        tried = verdicts.get(key, {})
        assert len(tried) >= 2, (
            f"{path.stem}, exercise {key!r}: keep at least two plausible wrong answers in "
            f"tests/wrong_answers/{path.stem}.py (found {len(tried)})"
        )
        accepted = [mistake for mistake, verdict in tried.items() if verdict == "ACCEPTED"]
        assert not accepted, f"{path.stem}, exercise {key!r}: the check accepts {accepted}"
        broken = {
            m: v for m, v in tried.items() if v.startswith(("rejected: NameError", "rejected: Syn"))
        }
        assert not broken, f"{path.stem}, {key!r}: a wrong answer does not even run: {broken}"
    assert set(verdicts) <= set(keys), f"wrong answers for no exercise: {set(verdicts) - set(keys)}"
