"""The Chinese edition from one source: ``python -m coursekit.translate`` (``make zh``).

    python -m coursekit.translate merge     # bring translations/zh_CN/*.po in step with notebooks/
    python -m coursekit.translate check     # every entry translated, none fuzzy, each one valid
    python -m coursekit.translate build     # merge, check, then write notebooks/zh_CN/*.ipynb

The English notebooks are the source. Each has a gettext PO file,
``translations/zh_CN/NN_name.po``, with one entry per markdown cell and one per code cell that has
comments: ``msgctxt`` is the cell's id, ``msgid`` its English source, ``msgstr`` the translation
(for a code cell, the same code with its comments translated). ``merge`` adds an entry for a new
cell, drops the entry of a removed one, and marks an entry fuzzy when its English changed
(``#| msgid`` keeps the old English, so an editor can show the difference). A code cell whose
comments did not change gets its translated comments back on the new code, so a change to code
alone needs no translator.

A translation is refused, naming the notebook and cell, when a code cell's program differs in
anything but the text of its comments (same tokens, each comment in its place, pragmas and a
parameter's bounds kept), or when a markdown cell lost or changed a formula (``$…$``,
``$$…$$``), an inline code span, a fenced block, a link target or a heading level, or has a
bold run that will not close (Chinese punctuation just inside its closing ``**``) or a line
break inside a Chinese sentence (a browser shows it as a space). The Chinese
notebook is the English one, outputs included (the code is the same, so are they), with each
cell's source replaced and its relative links one folder deeper.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import tokenize
import unicodedata
from collections import Counter
from pathlib import Path

import nbformat
import polib

from helpers._internal.files import write_atomic
from helpers._internal.paths import NOTEBOOKS, ROOT

from .cells import CHINESE, cell_id, source
from .run import notebooks

LANG = CHINESE
PO_DIR = ROOT / "translations" / LANG
OUT_DIR = NOTEBOOKS / LANG
README = {"README.md": "README.zh-CN.md"}  # a link to the English README goes to the Chinese one


# ----------------------------------------------------------------------------- code cells
def _tokens(code: str) -> list[tokenize.TokenInfo]:
    """The cell's Python tokens; a line of IPython magic (``%…``, ``!…``) counts as one string."""
    lines = [
        f"{line[: len(line) - len(line.lstrip())]}{line.strip()!r}"
        if line.lstrip().startswith(("%", "!"))
        else line
        for line in code.split("\n")
    ]
    return list(tokenize.generate_tokens(io.StringIO("\n".join(lines) + "\n").readline))


def comments(code: str) -> list[str]:
    """The cell's comments, in order (``# …`` with the hash)."""
    return [t.string for t in _tokens(code) if t.type == tokenize.COMMENT]


def program(code: str) -> list[tuple[int, str]]:
    """The cell as the interpreter reads it, each comment a placeholder: two cells with the same
    program differ only in the text of their comments."""
    marked = []
    for t in _tokens(code):
        if t.type == tokenize.COMMENT:
            marked.append((t.type, "#"))
        elif t.type not in (tokenize.NL, tokenize.ENCODING):
            marked.append((t.type, t.string))
    return marked


_PRAGMA = re.compile(r"#\s*(fmt|type):.*")
_BOUNDS = re.compile(r"\[[^\]]*[≥≤<>][^\]]*\]\s*$")  # a parameter's bounds, read by setup()


def _kept_in_comment(comment: str) -> list[str]:
    """What a translated comment must keep: a pragma (``noqa: F811``, ``# fmt: off``), a
    parameter's bounds (``[≥ 1]``, which ``setup`` reads) at its end."""
    noqa = re.search(r"noqa(?::\s*[A-Z]+\d+(?:\s*,\s*[A-Z]+\d+)*)?", comment)
    if noqa:
        return [noqa.group(0)]
    if _PRAGMA.fullmatch(comment):
        return [comment]
    found = _BOUNDS.search(comment)
    return [found.group(0).strip()] if found else []


def with_comments(code: str, texts: list[str]) -> str:
    """``code`` with its comments replaced, in order, by ``texts``."""
    found = [t for t in _tokens(code) if t.type == tokenize.COMMENT]
    assert len(found) == len(texts), "one text per comment"
    lines = code.split("\n")
    for t, text in sorted(zip(found, texts), key=lambda p: p[0].start, reverse=True):
        (row, col), (_, end) = t.start, t.end
        lines[row - 1] = lines[row - 1][:col] + text + lines[row - 1][end:]
    return "\n".join(lines)


# ------------------------------------------------------------------------- markdown cells
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
_CODE = re.compile(r"(`+)(.+?)\1", re.S)
_DISPLAY = re.compile(r"\$\$.+?\$\$", re.S)
_INLINE = re.compile(r"(?<![\\$])\$(?!\$)(.+?)(?<![\\$])\$(?!\$)", re.S)
_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^(#{1,6})\s", re.M)
_CJK = "\u3000-\u303f\u4e00-\u9fff\uff00-\uffef“”‘’"
_CJK_BREAK = re.compile(f"[{_CJK}]\n[{_CJK}]")  # a soft break inside a Chinese sentence


def protected(text: str) -> dict[str, Counter]:
    """What a translation must keep exactly: fenced blocks, code spans, formulas, link targets and
    the heading levels, each as a multiset."""
    kept: dict[str, Counter] = {}
    for name, pattern in (("fenced block", _FENCE), ("code span", _CODE)):
        kept[name] = Counter(m.group(0) for m in pattern.finditer(text))
        text = pattern.sub(" ", text)
    kept["formula"] = Counter(m.group(0) for m in _DISPLAY.finditer(text))
    text = _DISPLAY.sub(" ", text)
    kept["formula"] += Counter(m.group(0) for m in _INLINE.finditer(text))
    kept["link target"] = Counter(m.group(1) for m in _LINK.finditer(text))
    kept["heading"] = Counter(m.group(1) for m in _HEADING.finditer(text))
    return kept


def _kind(char: str) -> str:
    """' ' for whitespace or an edge, 'p' for punctuation, 'w' for anything else (CommonMark)."""
    if not char or char.isspace():
        return " "
    return "p" if unicodedata.category(char).startswith(("P", "S")) else "w"


def unclosed_bold(text: str) -> list[str]:
    """Each ``**…**`` that CommonMark (and so JupyterLab) would show with its asterisks, as in
    ``**答案。**然后``: a closing ``**`` right after punctuation and right before a letter does not
    close (nor does an opening one right after a letter and before punctuation)."""
    found = []
    text = _CODE.sub("`code`", _FENCE.sub("", text))
    for line in text.splitlines():
        marks = [m.start() for m in re.finditer(r"(?<!\*)\*\*(?!\*)", line)]
        for k, at in enumerate(marks):
            before, after = _kind(line[at - 1 : at]), _kind(line[at + 2 : at + 3])
            opening = k % 2 == 0
            if (
                opening
                and after == "p"
                and before == "w"
                or (not opening and before == "p" and after == "w")
            ):
                found.append(line[max(0, at - 12) : at + 14].strip())
    return found


def problems(english: str, translated: str, code: bool) -> list[str]:
    """Why ``translated`` is not a valid translation of ``english`` (empty when it is)."""
    if code:
        try:
            same = program(english) == program(translated)
        except (tokenize.TokenError, SyntaxError, IndentationError) as err:
            return [f"the translated code does not tokenize ({err})"]
        if not same:
            return ["the code differs in more than the text of its comments"]
        return [
            f"comment {k + 1} must keep {what!r}"
            for k, (a, b) in enumerate(zip(comments(english), comments(translated)))
            for what in _kept_in_comment(a)
            if what not in b
        ]
    found = []
    want, got = protected(english), protected(translated)
    for name in want:
        lost, added = want[name] - got[name], got[name] - want[name]
        if lost:
            found.append(f"lost {name} {', '.join(map(repr, lost))}")
        if added:
            found.append(f"added {name} {', '.join(map(repr, added))}")
    found += [
        f"bold that will not close (put the punctuation outside): {t!r}"
        for t in unclosed_bold(translated)
    ]
    found += [
        f"a line break between Chinese characters shows as a space: {m.group(0)!r}"
        for m in _CJK_BREAK.finditer(_FENCE.sub("", translated))
    ]
    return found


# ---------------------------------------------------------------------------------- PO files
def po_path(notebook: Path) -> Path:
    return PO_DIR / f"{notebook.stem}.po"


def _translatable(cell) -> bool:
    text = source(cell)
    if not text.strip() or cell.cell_type not in ("markdown", "code"):
        return False
    return cell.cell_type == "markdown" or bool(comments(text))


def merge(notebook: Path, po_file: Path | None = None) -> polib.POFile:
    """The PO file of ``notebook`` brought in step with it (not saved)."""
    po_file = po_file or po_path(notebook)
    nb = nbformat.read(notebook, as_version=4)
    old = polib.pofile(str(po_file), wrapwidth=0) if po_file.exists() else polib.POFile()
    by_id = {e.msgctxt: e for e in old if not e.obsolete}
    po = polib.POFile(wrapwidth=0)
    po.metadata = {
        "Project-Id-Version": f"pytorch-mnist-course {notebook.stem}",
        "Language": LANG,
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
    }
    for cell in nb.cells:
        if not _translatable(cell):
            continue
        text, cid, kind = source(cell), cell_id(cell), cell.cell_type
        assert cid, f"{notebook.name}: a cell without an id (nbformat >= 4.5 gives each one)"
        entry = polib.POEntry(msgctxt=cid, msgid=text, msgstr="", comment=kind)
        was = by_id.get(cid)
        if was is not None and was.msgstr:
            entry.msgstr, entry.flags = was.msgstr, list(was.flags)
            entry.previous_msgid = was.previous_msgid
            if was.msgid != text:
                entry.msgstr = _carried(was, text, kind) or was.msgstr
                if entry.msgstr == was.msgstr and "fuzzy" not in entry.flags:
                    entry.flags.append("fuzzy")
                    entry.previous_msgid = was.msgid
        po.append(entry)
    return po


def _carried(was: polib.POEntry, text: str, kind: str) -> str | None:
    """For a code cell whose comments are unchanged, the new code with the old translated
    comments; else None (a translator must look)."""
    if kind != "code" or "fuzzy" in was.flags:
        return None
    try:
        if comments(was.msgid) != comments(text) or problems(was.msgid, was.msgstr, code=True):
            return None
        return with_comments(text, comments(was.msgstr))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return None


def entry_problems(po: polib.POFile, name: str) -> list[str]:
    """Every entry of ``po`` that is untranslated, fuzzy or invalid, one line each naming the
    notebook and the cell."""
    found = []
    for e in po:
        where = f"{name}, cell {e.msgctxt} ({e.comment})"
        first = next((line for line in e.msgid.splitlines() if line.strip()), "")[:60]
        if not e.msgstr:
            found.append(f"{where}: not translated yet: {first!r}")
        elif "fuzzy" in e.flags:
            found.append(f"{where}: fuzzy, its English changed: {first!r}")
        else:
            found += [f"{where}: {p}" for p in problems(e.msgid, e.msgstr, e.comment == "code")]
    return found


def _deeper(text: str) -> str:
    """Markdown relative links one folder deeper (``notebooks/zh_CN/``); the README's go to the
    Chinese one."""

    def move(m: re.Match) -> str:
        target = m.group(1)
        if not target.startswith("../"):
            return m.group(0)
        path, _, anchor = target.partition("#")
        name = path.rsplit("/", 1)[-1]
        path = path[: len(path) - len(name)] + README.get(name, name)
        return m.group(0).replace(target, "../" + path + (f"#{anchor}" if anchor else ""), 1)

    return _LINK.sub(move, text)


def translated(notebook: Path, po: polib.POFile) -> nbformat.NotebookNode:
    """The Chinese notebook: the English one, outputs included, with each translated source."""
    nb = nbformat.read(notebook, as_version=4)
    by_id = {e.msgctxt: e.msgstr for e in po}
    for cell in nb.cells:
        text = by_id.get(cell_id(cell))
        if text:
            cell.source = _deeper(text) if cell.cell_type == "markdown" else text
    nb.metadata["course_translation"] = {"language": LANG, "source": f"../{notebook.name}"}
    return nb


def save_po(po: polib.POFile, path: Path) -> None:
    write_atomic(path, str(po))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m coursekit.translate", description=" ".join(__doc__.split("\n\n")[0].split())
    )
    parser.add_argument("command", choices=["merge", "check", "build"])
    parser.add_argument("--only", nargs="+", metavar="NN", help="only these notebooks")
    parser.add_argument(
        "--notebooks", type=Path, default=NOTEBOOKS, help="the English notebooks (notebooks/)"
    )
    args = parser.parse_args(argv)
    found: list[str] = []
    for notebook in notebooks(args.only, args.notebooks):
        po = merge(notebook)
        if args.command in ("merge", "build"):
            save_po(po, po_path(notebook))
        missing = entry_problems(po, notebook.name)
        found += missing
        if args.command == "build" and not missing:
            out = notebook.parent / LANG / notebook.name
            write_atomic(out, nbformat.writes(translated(notebook, po)) + "\n")
            print(f"wrote {out}")
        done = sum(1 for e in po if e.msgstr and "fuzzy" not in e.flags)
        print(f"{po_path(notebook).name}: {done}/{len(po)} translated")
    for line in found:
        print(line, file=sys.stderr)
    if found:
        print(f"{len(found)} entr{'y' if len(found) == 1 else 'ies'} to translate or fix")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
