"""The student edition: the course without its answers, ``python -m coursekit.student`` (``make
student``).

    python -m coursekit.student                  # build/student/NN_name.ipynb for every notebook
    python -m coursekit.student --only 03 --check

The exercise layout is parsed by :func:`coursekit.cells.exercises` (see docs/design.md). The student
edition removes every exercise's "Solution" heading, its solution and the teacher's answer (that
one becomes an empty "Your answer" cell for the student's own conclusion). It clears the outputs
of every check and of every cell that depends on a solution: one that uses a name the solution or
the check defined, or a name such a cell defined in turn. Every other cell keeps its outputs,
and every kept cell keeps its id, which is how the grader (``coursekit.grade``) finds the
exercises in a submitted notebook.

``--check`` grades each student notebook with the grader (smoke mode): every exercise must come
out "not attempted" and no other cell may fail (a cell that needs a solution, for example).
"""

from __future__ import annotations

import argparse
import ast
import copy
import re
import symtable
import sys
from pathlib import Path
from typing import Any, NamedTuple

import nbformat

from helpers._internal.paths import BUILD, NOTEBOOKS

from . import cells
from .run import selected_notebooks, write_notebook

STUDENT = BUILD / "student"
YOUR_ANSWER_TAG = "your-answer"
YOUR_ANSWER = "**Your answer:** *(replace this line with your conclusion, in words)*"
_MUTATORS = {"append", "extend", "update", "add", "insert", "setdefault", "pop", "clear"}
_MAGIC = re.compile(r"^\s*[%!].*$", re.M)


# ------------------------------------------------------------------ which cells use a solution
def _root(node: ast.AST) -> str | None:
    """``results`` for ``results["a"].b``: the name an attribute or subscript chain starts at."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


class Names(NamedTuple):
    """What one cell's code reads and binds (see :func:`names`)."""

    reads: set[str]  # names read before the cell binds them
    binds: set[str]  # names (re)bound: assignments, definitions, imports
    mutates: set[str]  # names changed in place: ``x[...] = ``, ``x.a = ``, ``x.append(...)``
    attributes: set[str]  # attributes assigned: ``Value.tanh = ...`` gives ``tanh``
    attribute_reads: set[str]  # attributes read: ``x.tanh()`` gives ``tanh``


def _scopes(table: symtable.SymbolTable) -> list[symtable.SymbolTable]:
    found = [table]
    for child in table.get_children():
        found += _scopes(child)
    return found


def _statement_names(stmt: ast.stmt) -> Names:
    """What one top-level statement reads and binds, scope-aware: a
    function's parameters and locals, a comprehension's variables are not the cell's names."""
    module = symtable.symtable(ast.unparse(stmt), "<cell>", "exec")
    reads = {sym.get_name() for sym in module.get_symbols() if sym.is_referenced()}
    binds = {
        sym.get_name()
        for sym in module.get_symbols()
        if sym.is_assigned() or sym.is_imported() or sym.is_namespace()
    }
    for scope in _scopes(module)[1:]:
        for sym in scope.get_symbols():
            if sym.is_global() and sym.is_referenced():
                reads.add(sym.get_name())
            if sym.is_declared_global() and sym.is_assigned():
                binds.add(sym.get_name())
    mutates, attributes, attribute_reads = set(), set(), set()
    for node in ast.walk(stmt):
        if isinstance(node, ast.Attribute):
            attribute_reads.add(node.attr)
            if isinstance(node.ctx, ast.Store):
                attributes.add(node.attr)
        if isinstance(node, (ast.Subscript, ast.Attribute)) and isinstance(node.ctx, ast.Store):
            mutates.add(_root(node) or "")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in _MUTATORS:
                mutates.add(_root(node.func.value) or "")
    globals_ = (
        reads
        | binds
        | {
            sym.get_name()
            for scope in _scopes(module)
            for sym in scope.get_symbols()
            if sym.is_global()
        }
    )
    return Names(reads, binds, mutates & globals_, attributes, attribute_reads)


def names(code: str) -> Names | None:
    """What a cell's code reads and binds, statement by statement; None when it does not parse.

    A name counts as read when a statement reads it before an earlier statement of the cell
    bound it (``x = x + 1`` reads ``x``). IPython magics (``%time``, ``!ls``) are ignored.
    """
    found = Names(set(), set(), set(), set(), set())
    try:
        statements = [_statement_names(s) for s in ast.parse(_MAGIC.sub("", code)).body]
    except SyntaxError:  # not Python (top-level await, a typo)
        return None
    for stmt in statements:
        found.reads.update(stmt.reads - found.binds)
        found.binds.update(stmt.binds)
        found.mutates.update(stmt.mutates)
        found.attributes.update(stmt.attributes)
        found.attribute_reads.update(stmt.attribute_reads)
    return found


def dependent_cells(nb: nbformat.NotebookNode, sources: set[int]) -> set[int]:
    """The code cells that depend on the cells ``sources`` (indices), ``sources`` included.

    A cell depends on them when it reads a name (or an attribute) that one of them, or a cell
    that depends on them, bound or changed; a cell that rebinds such a name without reading
    it frees the name again. A cell that does not parse depends on them when it mentions such
    a name as a word. Erring on the side of "depends" only clears an output too many.
    """
    tainted: set[str] = set()
    tainted_attributes: set[str] = set()
    found = set()
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        parsed = names(cells.source(cell))
        if parsed is None:
            words = set(re.findall(r"\w+", cells.source(cell)))
            parsed = Names(words, set(), set(), set(), words)
        if i in sources or parsed.reads & tainted or parsed.attribute_reads & tainted_attributes:
            found.add(i)
            tainted |= parsed.binds | parsed.mutates
            tainted_attributes |= parsed.attributes
        else:
            tainted -= parsed.binds
    return found


# ------------------------------------------------------------------------------ the edition
def student_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of the full notebook ``nb`` without its answers (see the module's docstring).

    ``ValueError`` (from :func:`coursekit.cells.exercises`) when its exercises break the layout.
    """
    found = cells.exercises(nb)
    removed = {i for ex in found for i in ex.removed()}
    answers = {ex.answer for ex in found if ex.answer is not None}
    cleared = dependent_cells(nb, {ex.solution for ex in found} | {ex.check for ex in found})
    out = copy.deepcopy(nb)
    kept = []
    for i, cell in enumerate(out.cells):
        if i in answers:
            yours = nbformat.v4.new_markdown_cell(YOUR_ANSWER)
            yours.metadata["tags"] = [YOUR_ANSWER_TAG]
            yours["id"] = f"{cells.cell_id(cell) or i}-yours"[-64:]
            kept.append(yours)
        elif i in removed:
            continue
        else:
            if i in cleared:
                cell.outputs, cell.execution_count = [], None
            kept.append(cell)
    out.cells = kept
    return out


_TEXT_MIMES = ("text/plain", "text/markdown", "text/html", "text/latex")


def printed_text(cell: Any) -> str:
    """Everything a code cell's outputs show as text: streams, text results, errors."""
    parts = []
    for out in cell.get("outputs", []):
        parts.append(str(out.get("text", "")))
        data = out.get("data", {})
        parts += [cells.source({"source": data[m]}) for m in _TEXT_MIMES if m in data]
        if out.get("output_type") == "error":
            parts.append(f"{out.get('ename')}: {out.get('evalue')}")
    return "\n".join(parts)


def leaks(
    full: nbformat.NotebookNode, edition: nbformat.NotebookNode, shortest: int = 8
) -> list[str]:
    """The lines printed by a check or a solution of ``full`` that ``edition`` shows (in an
    output or a markdown cell); empty when the edition gives nothing away. Lines shorter than
    ``shortest`` characters ("True", "ok") are left out: they say nothing about an answer."""
    printed = set()
    for ex in cells.exercises(full):
        for i in (ex.solution, ex.check):
            printed |= {line.strip() for line in printed_text(full.cells[i]).splitlines()}
    shown = "\n".join(
        printed_text(c) if c.cell_type == "code" else cells.source(c) for c in edition.cells
    )
    return sorted(line for line in printed if len(line) >= shortest and line in shown)


def write_student_edition(notebooks: list[Path], out_dir: Path) -> list[Path]:
    """Write the student edition of each notebook to ``out_dir/<same name>``; return the paths
    written. ``ValueError`` names the notebook whose exercises break the layout."""
    written = []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        try:
            edition = student_notebook(nb)
        except ValueError as err:
            raise ValueError(f"{path.name}: {err}") from None
        target = Path(out_dir) / path.name
        write_notebook(edition, target)
        written.append(target)
    return written


def edition_problems(report: dict) -> list[str]:
    """What is wrong with a graded student edition (a :func:`coursekit.grade.grade_file` result):
    every exercise must be "not attempted", and nothing else may fail."""
    problems = [report["problem"]] if report["problem"] else []
    problems += report["notes"] + [f"tampering: {t}" for t in report.get("tampering", [])]
    problems += [
        f"exercise {r['number']}: {r['status']}{': ' + r['detail'] if r['detail'] else ''} "
        "(expected: not attempted, the stub's NotImplementedError)"
        for r in report["exercises"]
        if r["status"] != "not attempted"
    ]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m coursekit.student", description=" ".join(__doc__.split("\n\n")[0].split())
    )
    parser.add_argument(
        "--notebooks", type=Path, default=NOTEBOOKS, help="the folder of NN_name.ipynb notebooks"
    )
    parser.add_argument(
        "--out", type=Path, default=STUDENT, help="where the student edition goes (build/student/)"
    )
    parser.add_argument(
        "--only", nargs="+", metavar="NN", help="only notebooks whose names start with these"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="grade each student notebook in smoke mode: all 'not attempted', nothing else fails",
    )
    args = parser.parse_args(argv)
    try:
        sources = selected_notebooks(args.only, args.notebooks)
        written = write_student_edition(sources, args.out)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for path in written:
        print(f"{path}: student edition written")
    if not args.check:
        return 0
    from . import grade

    references = grade.load_references(sources)
    broken = 0
    for source, path in zip(sources, written):
        full, edition = (nbformat.read(p, as_version=4) for p in (source, path))
        problems = [
            f"shows {line!r}, printed by a check or solution" for line in leaks(full, edition)
        ]
        problems += edition_problems(grade.grade_file(path, references))
        broken += bool(problems)
        verdict = "ok, every exercise 'not attempted'" if not problems else "BROKEN"
        print(f"{path.stem}: {verdict}" + "".join(f"\n  {p}" for p in problems), flush=True)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
