"""Which course notebook a submission is, where its exercises are, and the notebook the grader
runs for it.

A submission is matched cell by cell to the student edition of a course notebook: by cell id,
else by its text (a notebook saved without ids, nbformat 4.4, or cells copied into a new
notebook), else, for a stub the student rewrote, by the place after the exercise's prompt and
the names it defines. The notebook that runs is the course's: its own cells in its own order,
with the student's stubs, the cells the student added (each after the course cell it followed)
and the student's written answers put in. So a check the student edited or deleted is the
course's, a course cell the student edited or deleted is the course's, and the report says so.

Around the student's code the grader adds the cells of :mod:`coursekit.grade_guard` (each check
runs through it), and it reads the student's code for tampering (:func:`grade_guard.scan`).
"""

from __future__ import annotations

import ast
import builtins
import copy
import difflib
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

import nbformat

from . import cells, grade_guard
from .student import YOUR_ANSWER, YOUR_ANSWER_ZH, names, student_notebook

GRADE = "grade"  # the metadata key of the cells the grader adds or places (role, exercise, ...)
PARAMETERS_INJECTED = "injected-parameters"
WRITTEN_KINDS = ("Experiment", "Explain")


def normalized(text: str) -> str:
    """The text with line endings, trailing spaces and blank lines around it made uniform."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").strip().splitlines()
    return "\n".join(line.rstrip() for line in lines)


def code_key(source: str) -> str | None:
    """The code as its syntax tree (comments and formatting left out); None if it does not
    parse."""
    try:
        return ast.dump(ast.parse(source))
    except SyntaxError:
        return None


def _same_code(a: str, b: str) -> bool:
    """Whether two cells are the same code, comments and formatting aside (the Chinese edition's
    checks differ from the English ones only in their comments)."""
    if normalized(a) == normalized(b):
        return True
    key = code_key(a)
    return key is not None and key == code_key(b)


def _statements(source: str) -> int:
    try:
        return sum(isinstance(n, ast.stmt) for n in ast.walk(ast.parse(source)))
    except SyntaxError:
        return 0


def _names(source: str) -> Any:
    found = names(source)
    if found is None:  # not Python: every word counts as read and bound, to err on the safe side
        words = set(re.findall(r"\w+", source))
        return type(names("x = 1"))(words, words, set(), set(), words)
    return found


def _imports(source: str) -> list[str]:
    try:
        tree = ast.parse(re.sub(r"^\s*[%!].*$", "", source, flags=re.M))
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append(node.module)
    return found


# ------------------------------------------------------------------------ the course's side
@dataclass
class Part:
    """One exercise of a course notebook, as the grader needs it (indices into the edition)."""

    number: int
    kind: str
    title: str
    points: float
    prompt: int
    stub: int
    check: int
    yours: int | None  # the "Your answer" cell, for experiment and explain exercises
    stub_names: set[str]
    check_source: str
    check_binds: list[str]
    solution_id: str | None
    solution_key: str | None  # the solution's syntax tree
    solution_size: int  # statements
    answer_id: str | None
    answer_text: str

    @property
    def written(self) -> bool:
        """Whether the exercise asks for a written answer."""
        return self.yours is not None


@dataclass
class Reference:
    """What the grader needs of one course notebook."""

    stem: str
    nb: nbformat.NotebookNode  # the full notebook
    edition: nbformat.NotebookNode  # its student edition: what the students start from
    parts: list[Part]
    ids: set[str]
    content: dict[str, list[int]]  # normalized source -> edition indices
    signature: set[str]  # the edition's substantial cells, normalized, to recognise a copy
    title: str
    exercise_names: set[str]
    attributes: set[str]
    check_reads: set[str]
    course_binds: set[str]
    modules: set[str]
    imports: list[str]
    solution_ids: dict[str, int] = field(default_factory=dict)  # cell id -> exercise
    answer_ids: dict[str, int] = field(default_factory=dict)

    @property
    def exercises(self) -> list[cells.Exercise]:
        return cells.exercises(self.nb)

    def max_points(self) -> float:
        return sum(p.points for p in self.parts)


def points_of(nb: nbformat.NotebookNode, count: int) -> dict[int, float]:
    """Each exercise's points from the notebook's metadata, ``{"grading": {"points": {"2": 3}}}``
    (exercise number: points); 1 for an exercise it does not name. ``ValueError`` for a number
    that is not an exercise or points that are not a number >= 0."""
    given = nb.metadata.get("grading", {}).get("points", {}) or {}
    points = {n: 1.0 for n in range(1, count + 1)}
    for key, value in given.items():
        if not str(key).isdigit() or not 1 <= int(key) <= count:
            raise ValueError(
                f"metadata grading.points names exercise {key!r}; the notebook has 1 to {count}"
            )
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"metadata grading.points of exercise {key} must be a number >= 0")
        points[int(key)] = float(value)
    return points


def reference(nb: nbformat.NotebookNode, stem: str = "") -> Reference:
    """The :class:`Reference` of a full course notebook; ``ValueError`` (from
    :func:`coursekit.cells.exercises`, or for its points) when it breaks the layout."""
    found = cells.exercises(nb)
    points = points_of(nb, len(found))
    edition = student_notebook(nb)
    where = {cells.cell_id(c): i for i, c in enumerate(edition.cells) if cells.cell_id(c)}
    content: dict[str, list[int]] = {}
    signature = set()
    for i, cell in enumerate(edition.cells):
        text = normalized(cells.source(cell))
        if text:
            content.setdefault(text, []).append(i)
        if len(text) >= 40:
            signature.add(text)
    parts, exercise_names, attributes, check_reads = [], set(), set(), set()
    solution_ids, answer_ids = {}, {}
    for ex in found:
        stub, solution = nb.cells[ex.stub], nb.cells[ex.solution]
        check = nb.cells[ex.check]
        answer = nb.cells[ex.answer] if ex.answer is not None else None
        stub_names, solution_names = _names(cells.source(stub)), _names(cells.source(solution))
        check_names = _names(cells.source(check))
        exercise_names |= stub_names.binds | solution_names.binds
        attributes |= stub_names.attributes | solution_names.attributes
        check_reads |= check_names.reads
        yours = where.get(f"{cells.cell_id(answer) or ex.answer}-yours"[-64:]) if answer else None
        parts.append(
            Part(
                number=ex.number,
                kind=ex.kind,
                title=ex.title,
                points=points[ex.number],
                prompt=where[cells.cell_id(nb.cells[ex.prompt])],
                stub=where[cells.cell_id(stub)],
                check=where[cells.cell_id(check)],
                yours=yours,
                stub_names=stub_names.binds,
                check_source=cells.source(check),
                check_binds=sorted(check_names.binds),
                solution_id=cells.cell_id(solution),
                solution_key=code_key(cells.source(solution)),
                solution_size=_statements(cells.source(solution)),
                answer_id=cells.cell_id(answer) if answer else None,
                answer_text=normalized(cells.source(answer)) if answer else "",
            )
        )
        solution_ids[cells.cell_id(solution)] = ex.number
        if ex.heading is not None:
            solution_ids[cells.cell_id(nb.cells[ex.heading])] = ex.number
        if answer is not None:
            answer_ids[cells.cell_id(answer)] = ex.number
    exercise_cells = {p.stub for p in parts} | {p.check for p in parts}
    course_binds, sources, imports = set(), [], []
    for i, cell in enumerate(edition.cells):
        if cell.cell_type != "code":
            continue
        sources.append(cells.source(cell))
        imports += [m for m in _imports(cells.source(cell)) if m not in imports]
        if i not in exercise_cells:
            course_binds |= _names(cells.source(cell)).binds
    for p in parts:
        course_binds |= set(p.check_binds)
    return Reference(
        stem=stem,
        nb=nb,
        edition=edition,
        parts=parts,
        ids={cells.cell_id(c) for c in nb.cells} - {None},
        content=content,
        signature=signature,
        title=cells.title(nb, ""),
        exercise_names=exercise_names,
        attributes=attributes,
        check_reads=check_reads,
        course_binds=course_binds,
        modules=grade_guard.module_names(sources),
        imports=imports,
        solution_ids=solution_ids,
        answer_ids=answer_ids,
    )


def identify(nb: nbformat.NotebookNode, references: dict[str, Reference]) -> str | None:
    """The stem of the course notebook that ``nb`` is a copy of: most cell ids in common, else
    most cells of the same text (a notebook without ids), the title settling ties. None when
    neither an id nor three substantial cells (or the title and one) match."""
    ids = {cells.cell_id(c) for c in nb.cells} - {None}
    texts = {normalized(cells.source(c)) for c in nb.cells}
    title = cells.title(nb, "")
    best, best_score = None, None
    for stem, ref in references.items():
        shared_ids, shared_text = len(ids & ref.ids), len(texts & ref.signature)
        same_title = bool(title) and title == ref.title
        known = shared_ids > 0 or shared_text >= 3 or (same_title and shared_text >= 1)
        score = (known, shared_ids > 0, same_title, shared_ids, shared_text)
        if best_score is None or score > best_score:
            best, best_score = stem, score
    return best if best_score is not None and best_score[0] else None


# ------------------------------------------------------------------------ the submission's side
@dataclass
class Alignment:
    """Where the submission's cells are in the edition: ``match[s] = e`` (submission index to
    edition index), how each match was made, and the solutions and teacher's answers found."""

    match: dict[int, int] = field(default_factory=dict)
    how: dict[int, str] = field(default_factory=dict)  # "id", "text", "place", "similar"
    solutions: dict[int, int] = field(default_factory=dict)  # submission index -> exercise
    answers: dict[int, int] = field(default_factory=dict)  # teacher's answer -> exercise
    headings: set[int] = field(default_factory=set)  # "Solution" headings


def align(nb: nbformat.NotebookNode, ref: Reference) -> Alignment:
    """Match the submission's cells to the edition's (see the module's docstring)."""
    out = Alignment()
    subs, edition = nb.cells, ref.edition.cells
    by_id = {cells.cell_id(c): i for i, c in enumerate(edition) if cells.cell_id(c)}
    taken: set[int] = set()
    heading = normalized(cells.SOLUTION_HEADING)
    for s, cell in enumerate(subs):
        cid = cells.cell_id(cell)
        if cid in ref.solution_ids or (
            cells.SOLUTION_TAG in cells.tags(cell) and cell.cell_type == "code"
        ):
            if cell.cell_type == "markdown" or normalized(cells.source(cell)) == heading:
                out.headings.add(s)
            else:
                out.solutions[s] = ref.solution_ids.get(cid, 0)
            continue
        if cell.cell_type == "markdown" and normalized(cells.source(cell)) == heading:
            out.headings.add(s)
            continue
        if cid in ref.answer_ids or cells.ANSWER_TAG in cells.tags(cell):
            out.answers[s] = ref.answer_ids.get(cid, 0)
            continue
        e = by_id.get(cid)
        if e is not None and e not in taken and edition[e].cell_type == cell.cell_type:
            out.match[s], out.how[s] = e, "id"
            taken.add(e)
    last = -1  # by text, keeping the order
    for s, cell in enumerate(subs):
        if s in out.match:
            last = out.match[s]
            continue
        if s in out.solutions or s in out.answers or s in out.headings:
            continue
        text = normalized(cells.source(cell))
        candidates = [e for e in ref.content.get(text, []) if e not in taken]
        candidates = [e for e in candidates if edition[e].cell_type == cell.cell_type]
        if text and candidates:
            later = [e for e in candidates if e > last]
            e = (later or candidates)[0]
            out.match[s], out.how[s] = e, "text"
            taken.add(e)
            last = e
    for part in ref.parts:  # a solution copied without its id: which exercise?
        for s in list(out.solutions):
            if out.solutions[s] == 0 and code_key(cells.source(subs[s])) == part.solution_key:
                out.solutions[s] = part.number
    for part in ref.parts:
        _place_stub(subs, ref, part, out, taken)
        _place_check(subs, ref, part, out, taken)
        _place_yours(subs, ref, part, out, taken)
    return out


def _region(ref: Reference, part: Part, out: Alignment, n_cells: int) -> tuple[int, int]:
    """The submission's cells between the exercise's prompt (or the cell before it) and the
    first matched cell that comes after the exercise in the edition."""
    end_edition = max(i for i in (part.prompt, part.stub, part.check, part.yours) if i is not None)
    start = max((s for s, e in out.match.items() if e <= part.prompt), default=-1)
    stop = min((s for s, e in out.match.items() if e > end_edition and s > start), default=n_cells)
    return start + 1, stop


def _free_code(subs: list, out: Alignment, start: int, stop: int) -> list[int]:
    return [
        s
        for s in range(start, stop)
        if s not in out.match and s not in out.solutions and subs[s].cell_type == "code"
    ]


def _place_stub(subs: list, ref: Reference, part: Part, out: Alignment, taken: set) -> None:
    if part.stub in taken:
        return
    start, stop = _region(ref, part, out, len(subs))
    free = _free_code(subs, out, start, stop)
    tagged = [s for s in free if cells.EXERCISE_TAG in cells.tags(subs[s])]
    defining = [s for s in free if _names(cells.source(subs[s])).binds & part.stub_names]
    choice = (tagged or defining or [])[:1]
    if not choice and part.prompt in out.match.values():
        prompt = next(s for s, e in out.match.items() if e == part.prompt)
        choice = [s for s in free if s > prompt][:1]
    if choice:
        out.match[choice[0]], out.how[choice[0]] = part.stub, "place"
        taken.add(part.stub)


def _place_check(subs: list, ref: Reference, part: Part, out: Alignment, taken: set) -> None:
    """An edited check without its id: the student's cell most like it, after the stub."""
    if part.check in taken:
        return
    start, stop = _region(ref, part, out, len(subs))
    stub = next((s for s, e in out.match.items() if e == part.stub), start - 1)
    best, ratio = None, 0.6
    for s in _free_code(subs, out, max(start, stub + 1), stop):
        similar = difflib.SequenceMatcher(
            None, normalized(cells.source(subs[s])), normalized(part.check_source)
        ).ratio()
        if similar >= ratio:
            best, ratio = s, similar
    if best is not None:
        out.match[best], out.how[best] = part.check, "similar"
        taken.add(part.check)


def _place_yours(subs: list, ref: Reference, part: Part, out: Alignment, taken: set) -> None:
    """The "Your answer" cell without its id: the first markdown cell the student added after
    the check (or the stub)."""
    if part.yours is None or part.yours in taken:
        return
    start, stop = _region(ref, part, out, len(subs))
    after = max((s for s, e in out.match.items() if e in (part.stub, part.check)), default=start)
    for s in range(after + 1, stop):
        if s not in out.match and s not in out.answers and subs[s].cell_type == "markdown":
            out.match[s], out.how[s] = part.yours, "place"
            taken.add(part.yours)
            return


# ------------------------------------------------------------------------ written answers
def _answer_text(text: str) -> str:
    """What the student wrote in a "Your answer" cell: the placeholder line taken out."""
    text = normalized(text)
    for placeholder in (YOUR_ANSWER, YOUR_ANSWER_ZH):
        text = text.replace(normalized(placeholder), "")
    text = re.sub(r"^\*\*(Your answer:?|你的回答[:：]?)\*\*[:：]?", "", text.strip()).strip()
    return text


def written_answers_of(subs: list, ref: Reference, out: Alignment) -> dict[int, dict[str, str]]:
    """Each written-answer exercise's answer: ``{number: {"status": "written" | "not attempted",
    "text": ...}}``, from its "Your answer" cell and the markdown cells the student added
    around it (the teacher's answer, when the submission has it, counts as written)."""
    found = {}
    for part in ref.parts:
        if not part.written:
            continue
        start, stop = _region(ref, part, out, len(subs))
        texts = []
        for s in range(start, stop):
            cell = subs[s]
            if cell.cell_type != "markdown" or s in out.headings:
                continue
            if out.match.get(s) == part.yours:
                texts.append(_answer_text(cells.source(cell)))
            elif s not in out.match and (
                s not in out.answers or out.answers[s] in (0, part.number)
            ):
                texts.append(normalized(cells.source(cell)))
        text = "\n\n".join(t for t in texts if t)
        found[part.number] = {"status": "written" if text else "not attempted", "text": text}
    return found


# ------------------------------------------------------------------------ the run notebook
@dataclass
class Prepared:
    """The notebook to run for one submission, and what the grader learnt reading it."""

    stem: str
    nb: nbformat.NotebookNode
    nonces: dict[int, str]
    notes: list[str]
    tampering: list[str]
    answers: dict[int, dict[str, str]]
    copied: dict[int, str]  # exercise -> why
    teacher: bool  # the course's full notebook, solutions and all
    work_key: str  # hash of the student's own code, to find identical work
    checks: dict[int, str] = field(default_factory=dict)  # exercise -> the course's check


def _guard_cell(code: str, role: str, **meta: Any) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(code)
    cell["id"] = f"grade-{role}-{secrets.token_hex(4)}"
    cell.metadata[GRADE] = {"role": role, **meta}
    return cell


def _label(subs: list, s: int) -> str:
    first = next((line.strip() for line in cells.source(subs[s]).splitlines() if line.strip()), "")
    first = first if len(first) <= 50 else first[:47] + "..."
    return f"cell {s + 1} (`{first}`)" if first else f"cell {s + 1}"


def prepare(
    nb: nbformat.NotebookNode,
    ref: Reference,
    parameters: dict[str, Any] | None = None,
    figures: bool = True,
) -> Prepared:
    """The notebook to run for the submission ``nb`` of the course notebook ``ref`` (see the
    module's docstring); ``parameters`` (``{"smoke": True}``) go into a cell after the
    parameters cell, as papermill puts them. Without ``figures``, figures are made but not
    drawn (:func:`coursekit.grade_guard.start`)."""
    out = align(nb, ref)
    return _Builder(nb, ref, out, parameters or {}, figures).build()


class _Builder:
    """Builds :class:`Prepared`: the course's cells in order, the student's put in."""

    def __init__(
        self, nb: Any, ref: Reference, out: Alignment, parameters: dict, figures: bool
    ) -> None:
        self.subs, self.ref, self.out, self.parameters = nb.cells, ref, out, parameters
        self.figures = figures
        self.edition = ref.edition.cells
        self.inverse = {e: s for s, e in out.match.items()}
        self.run: list[Any] = []
        self.block: list[tuple[Any, str]] = []  # student code cells waiting for their guard
        self.notes: list[str] = []
        self.tampering: list[str] = []
        self.student_sources: list[str] = []
        self.nonces = {p.number: secrets.token_hex(8) for p in ref.parts}
        self.protected = (ref.check_reads & (ref.course_binds | set(dir(builtins)))) - (
            ref.exercise_names
        )
        self.modules = ref.modules | grade_guard.module_names([cells.source(c) for c in nb.cells])
        params = [i for i, c in enumerate(self.edition) if cells.PARAMETERS_TAG in cells.tags(c)]
        self.params = params[0] if params else None
        code = [i for i, c in enumerate(self.edition) if c.cell_type == "code"]
        after_params = [i for i in code if self.params is not None and i > self.params]
        # the guard starts after the setup cell (the first code cell after the parameters)
        self.guard_at = (after_params or code or [0])[0]
        self.anchored: dict[int, list[int]] = {}
        last = -1
        for s in range(len(self.subs)):
            if s in out.match:
                last = out.match[s]
            elif s not in out.headings and s not in out.answers:
                self.anchored.setdefault(max(last, self.guard_at), []).append(s)

    # ------------------------------------------------------------------ cells
    def _student(self, s: int | None, source: str, label: str, **meta: Any) -> None:
        cell = copy.deepcopy(self.subs[s]) if s is not None else nbformat.v4.new_code_cell()
        cell.source = source
        cell.outputs, cell.execution_count = [], None
        cell.metadata[GRADE] = {"role": "student", "source": s, **meta}
        for problem in grade_guard.scan(source, self.modules, self.protected):
            if problem.startswith("rebinds "):  # often innocent: the check uses the course's
                self.notes.append(f"{label} {problem}; the check used the course's")
            else:
                self.tampering.append(f"{label}: {problem}")
        self.student_sources.append(source)
        self.block.append((cell, label))

    def _flush(self) -> None:
        if self.block:
            label = ", ".join(label for _, label in self.block)
            self.run.append(_guard_cell(f"{grade_guard.NAME}.before()", "before"))
            self.run.extend(cell for cell, _ in self.block)
            self.run.append(_guard_cell(f"{grade_guard.NAME}.after({label!r})", "after"))
            self.block.clear()

    def _anchored(self, e: int) -> None:
        for s in self.anchored.get(e, []):
            cell = self.subs[s]
            if cell.cell_type == "code":
                meta = {"copied": self.out.solutions[s]} if s in self.out.solutions else {}
                self._student(s, cells.source(cell), _label(self.subs, s), **meta)
            else:
                self._flush()
                md = copy.deepcopy(cell)
                md.metadata[GRADE] = {"role": "student", "source": s}
                self.run.append(md)

    def _stub(self, part: Part, s: int | None) -> None:
        label = f"exercise {part.number}'s stub"
        if s is None:
            elsewhere = [
                i
                for i, cell in enumerate(self.subs)
                if i not in self.out.match
                and cell.cell_type == "code"
                and _names(cells.source(cell)).binds & part.stub_names
            ]
            if elsewhere:  # the student's code defines it in a cell of their own
                self.notes.append(
                    f"exercise {part.number}: its stub is not in the submission; "
                    f"{_label(self.subs, elsewhere[-1])} defines {sorted(part.stub_names)[0]}"
                )
                return
            self.notes.append(
                f"exercise {part.number}: its stub is not in the submission; the course's ran"
            )
            source = cells.source(self.edition[part.stub])
        else:
            source = cells.source(self.subs[s])
        self._student(s, source, label, exercise=part.number)
        self.block[-1][0].metadata[GRADE]["role"] = "stub"

    def _check(self, part: Part, s: int | None) -> None:
        self._flush()
        if s is None:
            self.notes.append(
                f"exercise {part.number}: its check was deleted; the course's check was put "
                "back after the stub and ran"
            )
        elif not _same_code(cells.source(self.subs[s]), part.check_source):
            self.notes.append(
                f"exercise {part.number}: its check was edited; the course's check ran"
            )
        call = (
            f"{grade_guard.NAME}.check({part.number}, {self.nonces[part.number]!r}, "
            f"{part.check_source!r}, {part.check_binds!r})"
        )
        cell = _guard_cell(call, "check", exercise=part.number, source=s)
        if s is not None and cells.cell_id(self.subs[s]):
            cell["id"] = cells.cell_id(self.subs[s])
        self.run.append(cell)

    def _course_code(self, e: int, s: int | None, started: bool) -> list[str]:
        """The course's code cell ``e`` (keeping the student's id); returns the names to keep."""
        self._flush()
        course = self.edition[e]
        cell = copy.deepcopy(course)
        cell.outputs, cell.execution_count = [], None
        cell.metadata[GRADE] = {"role": "course", "source": s}
        if s is not None:
            cell["id"] = cells.cell_id(self.subs[s]) or cell["id"]
        found = _names(cells.source(course))
        calls_student = started and bool(found.reads & self.ref.exercise_names)
        if calls_student:
            self.run.append(_guard_cell(f"{grade_guard.NAME}.before()", "before"))
        self.run.append(cell)
        binds = set(found.binds)
        if e == self.params:
            lines = "".join(f"{k} = {v!r}\n" for k, v in self.parameters.items())
            injected = nbformat.v4.new_code_cell("# Parameters\n" + lines)
            injected["id"] = f"grade-parameters-{secrets.token_hex(4)}"
            injected.metadata["tags"] = [PARAMETERS_INJECTED]
            injected.metadata[GRADE] = {"role": "parameters"}
            self.run.append(injected)
            binds |= set(self.parameters)
        keep = sorted((binds & self.ref.check_reads) - self.ref.exercise_names)
        if started and keep:
            self.run.append(_guard_cell(f"{grade_guard.NAME}.keep({keep!r})", "keep"))
        if calls_student:
            label = f"the course's {_label(self.edition, e)}, which calls your code"
            own = sorted(found.binds)  # the course cell's own names: it may rebind them
            self.run.append(_guard_cell(f"{grade_guard.NAME}.after({label!r}, {own!r})", "after"))
        return keep if not started else []

    def _start(self, keep: list[str]) -> None:
        plan = {
            "exercise_names": sorted(self.ref.exercise_names),
            "attributes": sorted(self.ref.attributes),
            "check_reads": sorted(self.ref.check_reads),
            "course_binds": sorted(self.ref.course_binds),
            "imports": self.ref.imports,
            "figures": self.figures,
        }
        source = (
            "import coursekit.grade_guard\n"
            f"coursekit.grade_guard.start(globals(), {plan!r})\n"
            f"{grade_guard.NAME}.keep({sorted(set(keep))!r})"
        )
        self.run.append(_guard_cell(source, "start"))

    # ------------------------------------------------------------------ the whole
    def build(self) -> Prepared:
        ref, out, subs = self.ref, self.out, self.subs
        stub_of = {p.stub: p for p in ref.parts}
        check_of = {p.check: p for p in ref.parts}
        yours_of = {p.yours: p for p in ref.parts if p.yours is not None}
        edited, early_keep, started = [], [], False
        for e, course in enumerate(self.edition):
            s = self.inverse.get(e)
            if e in stub_of:
                self._stub(stub_of[e], s)
            elif e in check_of:
                self._check(check_of[e], s)
            elif course.cell_type == "markdown":
                self._flush()
                cell = copy.deepcopy(subs[s] if s is not None else course)
                part = yours_of.get(e)
                cell.metadata[GRADE] = {"role": "yours" if part else "course", "source": s}
                if part is not None:
                    cell.metadata[GRADE]["exercise"] = part.number
                self.run.append(cell)
            else:
                early_keep += self._course_code(e, s, started)
                if s is not None and code_key(cells.source(subs[s])) != code_key(
                    cells.source(course)
                ):
                    edited.append(s)
            if e == self.guard_at:
                self._start(early_keep)
                started = True
            self._anchored(e)
        self._flush()
        if edited:
            where = ", ".join(_label(subs, s) for s in edited[:5])
            more = f" and {len(edited) - 5} more" if len(edited) > 5 else ""
            self.notes.append(f"course cells edited ({where}{more}); the course's versions ran")
        copied, teacher = {}, False
        for s, number in out.solutions.items():
            if number:
                copied[number] = "the course's solution cell is in the submission"
                teacher = teacher or cells.cell_id(subs[s]) in ref.solution_ids
        for part in ref.parts:
            s = self.inverse.get(part.stub)
            if (
                s is not None
                and part.number not in copied
                and part.solution_size >= 4
                and code_key(cells.source(subs[s])) == part.solution_key
            ):
                copied[part.number] = "its code is the course's solution, line for line"
        answers = written_answers_of(subs, ref, out)
        teacher = teacher or any(n in answers for n in out.answers.values() if n)
        run_nb = copy.deepcopy(ref.edition)
        run_nb.cells = self.run
        for i, cell in enumerate(run_nb.cells):  # a notebook saved without ids: give them
            if not cells.cell_id(cell):
                cell["id"] = f"grade-cell-{i}"
        run_nb.metadata[GRADE] = {"stem": ref.stem}
        stubs = {code_key(cells.source(self.edition[p.stub])) for p in ref.parts}
        own = [code_key(t) or normalized(t) for t in self.student_sources]
        own = [w for w in own if w not in stubs]
        work_key = hashlib.sha256("\n".join(own).encode()).hexdigest() if own else ""
        return Prepared(
            stem=ref.stem,
            nb=run_nb,
            nonces=self.nonces,
            notes=self.notes,
            tampering=self.tampering,
            answers=answers,
            copied=copied,
            teacher=teacher,
            work_key=work_key,
            checks={p.number: p.check_source for p in ref.parts},
        )
