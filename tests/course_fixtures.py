"""A small full notebook in the course's exercise anatomy (docs/design.md), for the student-edition
and grader tests: three exercises (build, experiment, explain) with stored outputs, built in
memory."""

from __future__ import annotations

import struct
import zlib

import nbformat

from coursekit.cells import SOLUTION_HEADING

STUBS = {
    "double": 'def double(x):\n    """Twice x."""\n    raise NotImplementedError("hint: scale it")',
    "best_rate": (
        "def best_rate(rates):\n"
        '    """The rate closest to one tenth."""\n'
        '    raise NotImplementedError("hint: distance to the target")'
    ),
    "halve": (
        'def halve(x):\n    """Half of x."""\n    raise NotImplementedError("hint: the inverse")'
    ),
}
SOLUTIONS = {
    "double": "def double(x):\n    return 2 * x",
    "best_rate": "def best_rate(rates):\n    return min(rates, key=lambda r: abs(r - 0.1))",
    "halve": "def halve(x):\n    return x / 2",
}
CHECKS = {
    "double": (
        'assert double(2) == 4 and double(-1) == -2, "double(x) must be 2 * x"\n'
        'print("double works: twice 21 is", double(21))'
    ),
    "best_rate": (
        "chosen = best_rate([0.01, 0.12, 1.0])\n"
        'assert chosen == 0.12, f"best_rate picked {chosen}, not the rate closest to 0.1"\n'
        'print("the rate you chose is", chosen)'
    ),
    "halve": (
        'assert halve(5) == 2.5, "halve(5) must be 2.5"\nprint("halve halves: 7 ->", halve(7))'
    ),
}
# what the solution and check cells print in the full notebook (stored outputs)
PRINTED = {
    "double": ("solution defined: double", "double works: twice 21 is 42"),
    "best_rate": ("solution defined: best_rate", "the rate you chose is 0.12"),
    "halve": ("solution defined: halve", "halve halves: 7 -> 3.5"),
}
KINDS = {"double": "Build", "best_rate": "Experiment", "halve": "Explain"}


def stream(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("stream", name="stdout", text=text + "\n")


def code(source: str, *tags: str, printed: str = "", cell_id: str = "") -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    if tags:
        cell.metadata["tags"] = list(tags)
    if printed:
        cell.outputs = [stream(printed)]
        cell.execution_count = 1
    if cell_id:
        cell["id"] = cell_id
    return cell


def markdown(text: str, *tags: str, cell_id: str = "") -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(text)
    if tags:
        cell.metadata["tags"] = list(tags)
    if cell_id:
        cell["id"] = cell_id
    return cell


def exercise_cells(name: str, number: int) -> list[nbformat.NotebookNode]:
    """Prompt, stub, "Solution" heading, solution (collapsed), check, and the teacher's answer
    for the experiment and explain exercises. Ids: ``<name>-stub``, ``<name>-check``, ..."""
    solution = code(SOLUTIONS[name], "solution", printed=PRINTED[name][0], cell_id=f"{name}-sol")
    solution.source += f'\nprint("solution defined: {name}")'
    solution.metadata["jupyter"] = {"source_hidden": True}
    found = [
        markdown(f"### Exercise {number} ({KINDS[name]}): `{name}`\n\nWrite it.", cell_id=name),
        code(STUBS[name], "exercise", cell_id=f"{name}-stub"),
        markdown(SOLUTION_HEADING, "solution", cell_id=f"{name}-heading"),
        solution,
        code(CHECKS[name], printed=PRINTED[name][1], cell_id=f"{name}-check"),
    ]
    if KINDS[name] != "Build":
        found.append(markdown(f"The teacher's answer about {name}.", "answer", cell_id=f"{name}-a"))
    return found


def notebook(cells: list[nbformat.NotebookNode]) -> nbformat.NotebookNode:
    """A notebook of ``cells`` for the python3 kernel."""
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


def full_notebook() -> nbformat.NotebookNode:
    """Title, parameters, setup, three exercises, a cell that reads the experiment's result, an
    independent cell."""
    return notebook(
        [
            markdown("# 09 · Test\n\nA test notebook.", cell_id="title"),
            code("seed = 0\nsmoke = False\ndata_dir = None", "parameters", cell_id="params"),
            code("print('setup, smoke', smoke)", printed="setup, smoke False", cell_id="setup"),
            *exercise_cells("double", 1),
            *exercise_cells("best_rate", 2),
            code(
                'print("in this run the chosen rate was", chosen)',
                printed="in this run the chosen rate was 0.12",
                cell_id="uses-chosen",
            ),
            *exercise_cells("halve", 3),
            code(
                'print("independent output", seed)', printed="independent output 0", cell_id="tail"
            ),
        ]
    )


def tiny_png(rgb: tuple[int, int, int] = (255, 0, 0), size: int = 2) -> bytes:
    """A valid ``size`` x ``size`` PNG of one colour, for notebooks with a stored figure."""
    raw = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


# A second course notebook whose checks rely on what a student might redefine: torch.allclose,
# numpy.allclose, math.isclose, the builtin all, and a value the course computed (reference).
GUARD_STUBS = {
    "scaled": 'def scaled(x):\n    """Twice x."""\n    raise NotImplementedError("hint: scale it")',
    "ratio": (
        'def ratio():\n    """Measured: one half."""\n'
        '    raise NotImplementedError("hint: measure it")'
    ),
}
GUARD_SOLUTIONS = {
    "scaled": "def scaled(x):\n    return 2 * x",
    "ratio": "def ratio():\n    return 1 / 2",
}
GUARD_CHECKS = {
    "scaled": (
        "out = scaled(reference)\n"
        'assert torch.allclose(out, torch.tensor([2.0, 4.0, 6.0])), "twice the input"\n'
        'assert np.allclose(out.numpy(), [2, 4, 6]), "twice the input, as numbers"\n'
        'assert all(math.isclose(a, b) for a, b in zip(out.tolist(), [2, 4, 6])), "one by one"\n'
        'print("scaled doubles")'
    ),
    "ratio": 'assert math.isclose(ratio(), 0.5), "one half"\nprint("the ratio is one half")',
}


def guard_notebook() -> nbformat.NotebookNode:
    """``10_guard``: a build exercise (``scaled``) and an experiment (``ratio``, with the
    teacher's answer), checked with torch, NumPy, math and a value the course computed."""
    found = [
        markdown("# 10 · Guard\n\nChecks that rely on libraries.", cell_id="g-title"),
        code("seed = 0\nsmoke = False", "parameters", cell_id="g-params"),
        code("import math\n\nimport numpy as np\nimport torch", cell_id="g-setup"),
        code("reference = torch.tensor([1.0, 2.0, 3.0])", cell_id="g-reference"),
    ]
    for number, (name, kind) in enumerate((("scaled", "Build"), ("ratio", "Experiment")), 1):
        solution = code(GUARD_SOLUTIONS[name], "solution", cell_id=f"g-{name}-sol")
        solution.metadata["jupyter"] = {"source_hidden": True}
        found += [
            markdown(f"### Exercise {number} ({kind}): `{name}`", cell_id=f"g-{name}"),
            code(GUARD_STUBS[name], "exercise", cell_id=f"g-{name}-stub"),
            markdown(SOLUTION_HEADING, "solution", cell_id=f"g-{name}-heading"),
            solution,
            code(GUARD_CHECKS[name], cell_id=f"g-{name}-check"),
        ]
        if kind != "Build":
            found.append(markdown("Half, measured.", "answer", cell_id=f"g-{name}-a"))
    return notebook(found)


def set_source(nb: nbformat.NotebookNode, cell_id: str, source: str) -> None:
    """Replace the source of the cell with id ``cell_id``."""
    next(c for c in nb.cells if c.get("id") == cell_id).source = source
