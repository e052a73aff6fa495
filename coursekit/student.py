"""The student edition: the course without its answers, ``python -m coursekit.student`` (``make
student``).

    python -m coursekit.student                  # build/student/ and build/student.zip
    python -m coursekit.student --only 03 --check

The exercise layout is parsed by :func:`coursekit.cells.exercises` (see docs/design.md). The student
edition removes every exercise's "Solution" heading, its solution and the teacher's answer (that
one becomes an empty "Your answer" cell for the student's own conclusion). It clears the outputs
of every check and of every cell that depends on a solution: one that uses a name the solution or
the check defined, or a name such a cell defined in turn. Every other cell keeps its outputs,
and every kept cell keeps its id, which is how the grader (``coursekit.grade``) finds the
exercises in a submitted notebook.

What a teacher hands out is the package (:func:`write_package`): a folder, and the same as a zip
archive, that stands alone: the student notebooks, the ``helpers`` package and the scripts the
notebooks run, an environment file (conda), a ``pyproject.toml`` and ``requirements.txt`` (pip),
and a short README (installing, the data, the exercises, handing in). It holds no solution and
no teacher's answer: :func:`package_leaks` looks for every solution's code and every teacher's
answer in every file of it, and the command fails when it finds one.

``--check`` also grades each student notebook with the grader (smoke mode): every exercise must
come out "not attempted" and no other cell may fail (a cell that needs a solution, for example).
"""

from __future__ import annotations

import argparse
import ast
import copy
import re
import shutil
import symtable
import sys
import zipfile
from pathlib import Path
from typing import Any, NamedTuple

import nbformat

from helpers._internal.paths import BUILD, NOTEBOOKS, ROOT

from . import cells
from .run import selected_notebooks, write_notebook

STUDENT = BUILD / "student"
ARCHIVE_TOP = "pytorch-mnist-course"  # the folder the zip archive unpacks to
YOUR_ANSWER_TAG = "your-answer"
YOUR_ANSWER = "**Your answer:** *(replace this line with your conclusion, in words)*"
YOUR_ANSWER_ZH = "**你的回答：** *（把这一行换成你的结论，用文字写出）*"  # the Chinese edition's
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
    chinese = cells.is_chinese(nb)
    kept = []
    for i, cell in enumerate(out.cells):
        if i in answers:
            yours = nbformat.v4.new_markdown_cell(YOUR_ANSWER_ZH if chinese else YOUR_ANSWER)
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


# ------------------------------------------------------------------------------ the package
STUDENT_README = """# PyTorch on MNIST: the student edition

These notebooks teach PyTorch on MNIST, one idea at a time; each ends with exercises. This
folder is all you need: the notebooks (`notebooks/`), the small `helpers` package they import
(read it whenever you like), the scripts they run (`scripts/`) and the environment to install.
It has no solutions: your teacher grades what you hand back.

## Install

With conda: `conda env create -f environment.yml`, then `conda activate pytorch-course`.
With pip (Python 3.10 or later), from this folder: `python -m venv .venv`, then
`.venv/bin/pip install -e .` (Windows: `.venv\\Scripts\\pip install -e .`).
Then open the notebooks: `jupyter lab notebooks/`.

## Data

The notebooks read MNIST from the `data_dir` parameter, else the folder named by the
`COURSE_DATA_DIR` environment variable, else `data/` in this folder. When the files are not
there, they are downloaded into it the first time a notebook needs them and checked. Offline,
put the four files `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
`t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte` (or the same names with `.gz`) in
`data/MNIST/raw/`; your teacher can give you a copy.

## Exercises

Each exercise has a prompt, a code cell (the stub) that raises
`NotImplementedError("hint: ...")`, and a check cell. Replace the stub's body with your code,
run it, then run the check: it prints one sentence when your code is right, and an error that
says what is wrong otherwise. Experiment and explain exercises also ask for your conclusion in
words: write it in the "Your answer" cell under the check, in place of its placeholder line.
An exercise whose answer is left blank is not complete.

## Handing in

Hand in the notebook file itself (`notebooks/NN_name.ipynb`). Your teacher's grader runs it
in smoke mode (`smoke = True` in the parameters cell: small sizes, a quick run); try it that
way yourself before you hand it in. Keep the cells the notebook came with, their order and
the checks: the grader finds the exercises by them (adding cells of your own is fine). The
grader runs the course's own copy of each check, so editing a check changes nothing, and it
reports to your teacher any code that changes what a check relies on.
"""


# the student package's Chinese README (markdown: one line per paragraph, as a browser would
# show a line break inside a Chinese sentence as a space)
STUDENT_README_ZH = Path(__file__).resolve().parent / "templates" / "student" / "README.zh-CN.md"


GRADER_ONLY = {"dask", "polib"}  # what the course's tools need and a student does not


def _dependencies() -> tuple[list[str], str]:
    """The course's runtime dependencies (pyproject.toml) and its environment.yml, both without
    the test packages and the grader's."""
    text = (ROOT / "pyproject.toml").read_text()
    try:
        import tomllib
    except ImportError:  # Python 3.10: read the arrays as pyproject.toml writes them
        runtime = re.findall(r'"([^"]+)"', text.split("\ndependencies = [", 1)[1].split("]")[0])
        extras = [re.findall(r'"([^"]+)"', x) for x in re.findall(r"^\w+ = (\[.*\])$", text, re.M)]
    else:
        project = tomllib.loads(text)["project"]
        runtime = list(project["dependencies"])
        extras = list(project.get("optional-dependencies", {}).values())
    dropped = GRADER_ONLY | {_package(r) for extra in extras for r in extra}
    runtime = [r for r in runtime if _package(r) not in dropped]
    lines = ["# conda env create -f environment.yml && conda activate pytorch-course"]
    for line in (ROOT / "environment.yml").read_text().splitlines():
        match = re.match(r"^  - ([A-Za-z0-9_.\[\]-]+)", line)
        if line.startswith("#") or (match and _package(match.group(1)) in dropped):
            continue
        lines.append(line.split("  #")[0].rstrip())
    return runtime, "\n".join(lines) + "\n"


def _package(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement.strip(), maxsplit=1)[0].lower()


def _pyproject(runtime: list[str]) -> str:
    deps = "".join(f'    "{r}",\n' for r in runtime)
    return (
        "[build-system]\n"
        'requires = ["setuptools>=77"]\n'
        'build-backend = "setuptools.build_meta"\n\n'
        "[project]\n"
        'name = "pytorch-mnist-course-student"\n'
        'version = "0.1.0"\n'
        'description = "The student edition of an executable PyTorch course on MNIST."\n'
        'requires-python = ">=3.10"\n'
        f"dependencies = [\n{deps}]\n\n"
        "[tool.setuptools]\n"
        'packages = {find = {include = ["helpers*"]}}\n'
    )


def _copy_tree(source: Path, target: Path) -> None:
    shutil.copytree(
        source,
        target,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"),
        dirs_exist_ok=True,
    )


def write_package(notebooks: list[Path], out_dir: Path = STUDENT) -> tuple[Path, Path]:
    """The package a teacher hands out (see the module's docstring): ``out_dir`` (emptied
    first) and ``out_dir.zip``. ``ValueError`` names a notebook whose exercises break the
    layout."""
    out_dir = Path(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    write_student_edition(notebooks, out_dir / "notebooks")
    write_student_edition(cells.chinese_editions(notebooks), out_dir / "notebooks" / cells.CHINESE)
    _copy_tree(ROOT / "helpers", out_dir / "helpers")
    if (ROOT / "scripts").is_dir():
        _copy_tree(ROOT / "scripts", out_dir / "scripts")
    runtime, environment = _dependencies()
    (out_dir / "environment.yml").write_text(environment)
    (out_dir / "pyproject.toml").write_text(_pyproject(runtime))
    (out_dir / "requirements.txt").write_text("".join(f"{r}\n" for r in runtime) + "-e .\n")
    readme = STUDENT_README
    if cells.chinese_editions(notebooks):
        shutil.copyfile(STUDENT_README_ZH, out_dir / "README.zh-CN.md")
        readme += (
            "\n## 中文版\n\nThe same notebooks in Chinese are in `notebooks/zh_CN/` "
            "(README.zh-CN.md); they are graded as the English ones.\n"
        )
    (out_dir / "README.md").write_text(readme)
    archive = out_dir.with_suffix(".zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in out_dir.rglob("*") if p.is_file()):
            zf.write(path, f"{ARCHIVE_TOP}/{path.relative_to(out_dir).as_posix()}")
    return out_dir, archive


def _function_bodies(tree: ast.AST) -> dict[str, str]:
    """Each function's and class's name -> its body's syntax tree (docstring left out)."""
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                body = body[1:]
            found[node.name] = ast.dump(ast.Module(body=body, type_ignores=[]))
    return found


def package_leaks(full_notebooks: list[Path], folder: Path) -> list[str]:
    """Where the package in ``folder`` gives an answer away, one line each (empty when it does
    not): a solution's function or class (by its code, or by its name in a ``.py`` file), a
    teacher's answer, a cell tagged solution or answer, a line printed by a check or solution.
    The Chinese editions of ``full_notebooks`` (``zh_CN/`` beside them) are searched for too."""
    full_notebooks = [*full_notebooks, *cells.chinese_editions(full_notebooks)]  # their answers too
    solutions: dict[str, str] = {}  # body -> "08_distributed exercise 1 (average_gradients)"
    names: dict[str, str] = {}
    answers: dict[str, str] = {}
    for path in full_notebooks:
        nb = nbformat.read(path, as_version=4)
        for ex in cells.exercises(nb):
            what = f"{path.stem} exercise {ex.number}"
            try:
                tree = ast.parse(cells.source(nb.cells[ex.solution]))
            except SyntaxError:
                continue
            stub_bodies = set()
            try:
                stub_bodies = set(
                    _function_bodies(ast.parse(cells.source(nb.cells[ex.stub]))).values()
                )
            except SyntaxError:
                pass
            for name, body in _function_bodies(tree).items():
                if body not in stub_bodies and len(body) > 80:
                    solutions[body] = f"{what} ({name})"
            for node in tree.body:
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                    names[node.name] = f"{what} ({node.name})"
            if ex.answer is not None:
                for paragraph in cells.source(nb.cells[ex.answer]).split("\n\n"):
                    text = " ".join(paragraph.split())
                    if len(text) >= 60:
                        answers[text] = f"{what}'s teacher's answer"
    found = []
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        where = path.relative_to(folder).as_posix()
        text = path.read_text(errors="replace") if path.suffix in (".py", ".ipynb", ".md") else ""
        codes: list[str] = []
        if path.suffix == ".ipynb":
            nb = nbformat.reads(text, as_version=4)
            for cell in nb.cells:
                tagged = {cells.SOLUTION_TAG, cells.ANSWER_TAG} & set(cells.tags(cell))
                if tagged:
                    found.append(f"{where}: a cell tagged {sorted(tagged)[0]}")
                if cell.cell_type == "code":
                    codes.append(cells.source(cell))
            flat = " ".join(" ".join(cells.source(c).split()) for c in nb.cells)
        else:
            flat = " ".join(text.split())
            if path.suffix == ".py":
                codes.append(text)
        for code in codes:
            try:
                tree = ast.parse(_MAGIC.sub("", code))
            except SyntaxError:
                continue
            for name, body in _function_bodies(tree).items():
                if body in solutions:
                    found.append(f"{where}: {name} is the solution of {solutions[body]}")
                elif path.suffix == ".py" and name in names:
                    found.append(f"{where}: defines {name}, the answer to {names[name]}")
        found += [f"{where}: quotes {what}" for answer, what in answers.items() if answer in flat]
    return sorted(set(found))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m coursekit.student", description=" ".join(__doc__.split("\n\n")[0].split())
    )
    parser.add_argument(
        "--notebooks", type=Path, default=NOTEBOOKS, help="the folder of NN_name.ipynb notebooks"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=STUDENT,
        help="the package's folder (build/student/; the archive is the same name with .zip)",
    )
    parser.add_argument(
        "--only", nargs="+", metavar="NN", help="only notebooks whose names start with these"
    )
    args = parser.parse_args(argv)
    try:
        sources = selected_notebooks(args.only, args.notebooks)
        folder, archive = write_package(sources, args.out)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{folder}: the student package ({len(sources)} notebook(s)); archive: {archive}")
    problems = package_leaks(sources, folder)
    for problem in problems:
        print(f"ANSWER GIVEN AWAY: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
