"""A static HTML site of the course, for reading without Jupyter: ``python -m coursekit.site``
(``make site``).

    python -m coursekit.site    # the committed notebooks (outputs of the full run)
    python -m coursekit.site --notebooks build/executed --out build/site

Each notebook becomes ``<out>/NN_name.html`` (nbconvert's ``lab`` template through the course's
own, ``coursekit/templates/course``; figures embedded), with links to the course index and to the
previous and next notebook at the top and the bottom; links between notebooks point to their
pages. ``<out>/index.html`` lists the notebooks in order with their titles and opening paragraphs,
and ``<out>/ipynb/`` holds the notebooks for download.

The site works offline (from a USB stick, ``file://``): math is typeset by MathJax copied into
``<out>/_static/mathjax/`` from ``node_modules/mathjax`` (``npm ci`` installs it; ``make site``
does that), and no page loads anything from another host. Every figure gets an alt text (see
:func:`figure_alt`); prose is capped at a reading width, code blocks scroll sideways, and the
pages follow the reader's light or dark colour scheme.

Every notebook is read and validated before anything is written; the site is built in a
temporary folder beside ``<out>`` and only then replaces the previous one, so a malformed notebook
(or any failure while rendering) leaves the old site intact and names the file.
"""

from __future__ import annotations

import argparse
import ast
import base64
import html
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import nbformat

from helpers._internal.paths import BUILD, NOTEBOOKS, ROOT

from .cells import CHINESE as ZH
from .cells import SOLUTION_TAG, chinese_editions, source, title_and_intro
from .run import selected_notebooks

SITE = BUILD / "site"
TEMPLATES = Path(__file__).resolve().parent / "templates"
# MathJax 3's single-file TeX-to-SVG build (all TeX extensions, no web fonts to load).
MATHJAX = ROOT / "node_modules" / "mathjax" / "es5" / "tex-svg-full.js"
MATHJAX_URL = "_static/mathjax/tex-svg-full.js"
NAV_TAG = "site-nav"
ALT_KEY = "course_alt"  # output metadata the template reads (set on the page's copy only)
SRC_KEY = "course_src"  # likewise: the figure's file, beside the page
FIGURES = "figures"  # the folder of the site's figure files
# The configuration nbconvert's lab template gives MathJax 2, for MathJax 3: the same delimiters.
MATHJAX_CONFIG = (
    "window.MathJax = {tex: {inlineMath: [['$', '$'], ['\\\\(', '\\\\)']], "
    "displayMath: [['$$', '$$'], ['\\\\[', '\\\\]']], processEscapes: true, "
    "processEnvironments: true, tags: 'ams'}, svg: {fontCache: 'global'}};"
)
# Scrollable regions must be reachable by keyboard: those that overflow get tabindex=0, once the
# math is typeset (formulas change widths).
FOOTER_JS = """
function courseFocusableScrolls() {
  var scrolling = '.highlight, pre, .jp-OutputArea-output, .jp-RenderedMarkdown table, '
    + 'mjx-container';
  document.querySelectorAll(scrolling).forEach(function (el) {
    var scrolls = ['auto', 'scroll'].indexOf(getComputedStyle(el).overflowX) >= 0;
    if (scrolls && el.scrollWidth > el.clientWidth + 1 && !el.hasAttribute('tabindex')) {
      el.setAttribute('tabindex', '0');
    }
  });
}
window.addEventListener('load', function () {
  var typeset = window.MathJax && MathJax.startup && MathJax.startup.promise;
  (typeset || Promise.resolve()).then(courseFocusableScrolls);
});
"""
_PAGE_CSS = """
/* Reading width: prose lines of about 80 characters; wide outputs and code scroll on their own. */
body.jp-Notebook main { max-width: 52rem; margin: 0 auto; padding: 1rem 1rem 3rem; }
body.jp-Notebook { margin: 0; padding: 0; }
.jp-InputArea, .jp-InputArea-editor { overflow: visible; }
.jp-InputArea-editor { min-width: 0; }
.jp-InputArea-editor .highlight, .jp-OutputArea-output pre, .jp-RenderedMarkdown pre {
  overflow-x: auto; }
.jp-OutputArea-output { overflow-x: auto; }
.jp-RenderedImage img { max-width: 100%; height: auto; }
/* Text output keeps its columns: it scrolls sideways, never breaks a word ("torc/h"). */
.jp-OutputArea-output pre { white-space: pre; word-break: normal; overflow-wrap: normal;
  overflow-x: auto; }
/* Display equations keep their size and scroll sideways (JupyterLab's svg max-width: 100%
   would shrink a wide one to a third on a phone). */
mjx-container[display="true"] { display: block; overflow-x: auto; overflow-y: hidden;
  padding: 2px 0; }
mjx-container[display="true"] > svg { max-width: none !important; }
/* A box that scrolls says so: a shadow at the edge where more is hidden (it scrolls away with
   the content), since touch screens show no scroll bar until one scrolls. */
.jp-OutputArea-output pre, mjx-container[display="true"] {
  background: linear-gradient(to right, var(--jp-layout-color0, #fff) 30%, transparent),
    linear-gradient(to left, var(--jp-layout-color0, #fff) 30%, transparent) 100% 0,
    radial-gradient(farthest-side at 0 50%, rgba(0, 0, 0, .25), transparent),
    radial-gradient(farthest-side at 100% 50%, rgba(0, 0, 0, .25), transparent) 100% 0;
  background-repeat: no-repeat; background-size: 2rem 100%, 2rem 100%, .8rem 100%, .8rem 100%;
  background-attachment: local, local, scroll, scroll; }
.highlight pre { padding-right: .5rem; }
/* Solutions are folded on the site, as in JupyterLab. */
details.course-solution { margin: .5rem 0; border: 1px solid #c8c8c8; border-radius: 4px; }
details.course-solution > summary { cursor: pointer; padding: .4rem .6rem; font-weight: 600;
  font-family: var(--jp-ui-font-family, system-ui, sans-serif); }
/* Phones: prompts above their cell rather than beside it, so code and outputs get the width. */
@media (max-width: 600px) {
  body.jp-Notebook main { padding: .75rem .75rem 2rem; }
  .jp-Cell-inputWrapper, .jp-OutputArea-child { flex-direction: column; }
  .jp-InputPrompt, .jp-OutputPrompt { text-align: left; min-width: 0; padding: 0 0 .2rem; }
  /* Code wraps at a phone's width: nothing is hidden past the edge of its box. */
  .jp-InputArea-editor .highlight pre { white-space: pre-wrap; overflow-wrap: break-word; }
}
.jp-InputPrompt, .jp-OutputPrompt { min-width: 3.5rem; font-size: .8rem; }
.jp-RenderedMarkdown table { display: block; overflow-x: auto; }
/* Contrast (WCAG AA, 4.5:1 and more): prompts and the syntax colours JupyterLab draws too light;
   links underlined, not told apart by colour alone. */
body.jp-Notebook { --jp-cell-prompt-not-active-opacity: 1;
  --jp-cell-prompt-not-active-font-color: #5e5e5e; --jp-cell-outprompt-font-color: #a3330f;
  --jp-mirror-editor-comment-color: #3a6666; }
.highlight .ow { color: #6b1bb0; }
.highlight .mi, .highlight .mf, .highlight .m { color: #006b00; }
.jp-RenderedHTMLCommon a:link, .jp-RenderedHTMLCommon a:visited { text-decoration: underline; }
@media (prefers-color-scheme: dark) {
  body.jp-Notebook { background: var(--jp-layout-color0); color: var(--jp-content-font-color1); }
  body.jp-Notebook { --jp-cell-prompt-not-active-font-color: #b8b8b8;
    --jp-cell-outprompt-font-color: #f0a080; --jp-mirror-editor-comment-color: #9fc5c5; }
  .highlight .ow { color: #d8a8ff; }
  .highlight .mi, .highlight .mf, .highlight .m { color: #8fd98f; }
  .jp-RenderedHTMLCommon a:link, .jp-RenderedHTMLCommon a:visited { color: #8cc4ff; }
  /* Figures are drawn on white: keep them on a light card rather than inverting them. */
  .jp-RenderedImage img { background: #fff; padding: 4px; border-radius: 4px;
    box-sizing: border-box; }
}
"""
_CSS = """
:root { color-scheme: light dark; }
body { font-family: system-ui, sans-serif; max-width: 50rem; margin: 2rem auto; padding: 0 1rem;
  color: #222; background: #fff; line-height: 1.5; }
a { color: #0b57a4; }
ol.course { padding-left: 0; list-style: none; }
ol.course li { margin: 1.2rem 0; padding: .8rem 1rem; border: 1px solid #ddd; border-radius: 6px; }
ol.course a.title { font-size: 1.2rem; font-weight: 600; text-decoration: none; }
.meta { color: #595959; font-size: .9rem; }
code { background: #f3f3f3; padding: 0 .2em; border-radius: 3px; }
mjx-container { overflow-x: auto; overflow-y: hidden; max-width: 100%; }
@media (prefers-color-scheme: dark) {
  body { color: #e6e6e6; background: #161616; }
  a { color: #8cc4ff; }
  ol.course li { border-color: #444; }
  .meta { color: #b0b0b0; }
  code { background: #2a2a2a; }
}
"""


# The site's own words, in each edition's language (the Chinese pages are in zh_CN/).
WORDS = {
    "en": {
        "index": "Course index",
        "previous": "previous",
        "next": "next",
        "download": "download the notebook",
        "solution": "Solution (click to show the code)",
        "listed": "{n} notebooks, to read in order; each page shows a notebook with its outputs.",
        "switch": '<a href="{href}" hreflang="zh-CN" lang="zh-CN">中文</a>',
    },
    "zh-CN": {
        "index": "课程目录",
        "previous": "上一篇",
        "next": "下一篇",
        "download": "下载笔记本",
        "solution": "参考答案（点击显示代码）",
        "listed": "共 {n} 个笔记本，请按顺序阅读；每一页是一个笔记本及其输出。",
        "switch": '<a href="{href}" hreflang="en" lang="en">English</a>',
    },
}


def _nav(pages: list[tuple[str, str]], k: int, lang: str = "en", other: str = "") -> str:
    """Markdown links: the index, the previous and the next page, the notebook's download, and
    ``other``, the same page in the other language (empty: none)."""
    w = WORDS[lang]
    links = [f"[{w['index']}](index.html)"]
    if k > 0:
        links.append(f"{w['previous']}: [{pages[k - 1][1]}]({pages[k - 1][0]}.html)")
    if k + 1 < len(pages):
        links.append(f"{w['next']}: [{pages[k + 1][1]}]({pages[k + 1][0]}.html)")
    links.append(f"[{w['download']}](ipynb/{pages[k][0]}.ipynb)")
    if other:
        links.append(w["switch"].format(href=other))
    return " · ".join(links)


def _nav_cell(text: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(text)
    cell.metadata["tags"] = [NAV_TAG]
    return cell


def rewrite_links(body: str, names: set[str]) -> str:
    """Point links to course notebooks (``02_x.ipynb``, ``../notebooks/02_x.ipynb``,
    ``A1_x.ipynb``) at their pages, and links to the README at the index's opening."""

    def page(match: re.Match) -> str:
        name, anchor = match.group(2), match.group(3) or ""
        return f'href="{name}.html{anchor}"' if name in names else match.group(0)

    notebook = r'href="(\./|\.\./notebooks/|notebooks/)?((?:\d\d|A\d)_[\w.-]+?)\.ipynb(#[^"]*)?"'
    body = re.sub(notebook, page, body)
    # the README is not part of the site: its opening (what the course is, where it comes from)
    # is the index page's "about" section
    readme = r'href="(\./|(\.\./)+)?README(\.zh-CN)?\.md(#[^"]*)?"'
    return re.sub(readme, 'href="index.html#about"', body)


_CALL_KINDS = {  # which call names a figure's title, a panel's title or an axis
    "suptitle": "figure",
    "set_title": "panel",
    "title": "panel",
    "set_xlabel": "xlabel",
    "xlabel": "xlabel",
    "set_ylabel": "ylabel",
    "ylabel": "ylabel",
}


def _text_of(node: ast.expr | None) -> str | None:
    """A string literal's text; an f-string's (or a sum's) with each field as "…"; else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "…" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):  # "a" + f"b" + name
        left, right = _text_of(node.left), _text_of(node.right)
        return None if left is None and right is None else (left or "…") + (right or "…")
    return None


def _unique(items: list[str]) -> list[str]:
    """The items with whitespace collapsed, empty and repeated ones dropped, in order."""
    seen: list[str] = []
    for item in (" ".join(i.split()) for i in items):
        if item and item not in seen:
            seen.append(item)
    return seen


def _strings_in_calls(code: str) -> dict[str, list[str]]:
    """The titles and axis labels that ``code`` passes to matplotlib-style calls: ``figure``
    (``suptitle``, ``title=`` of a helper such as ``plot_history``), ``panel`` (``set_title``,
    ``plt.title``, ``ax.set(title=)``), ``xlabel`` and ``ylabel``."""
    found: dict[str, list[str]] = {"figure": [], "panel": [], "xlabel": [], "ylabel": []}
    lines = ["" if line.lstrip()[:1] in ("%", "!") else line for line in code.splitlines()]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return found
    calls = sorted(
        (n for n in ast.walk(tree) if isinstance(n, ast.Call)),
        key=lambda n: (n.lineno, n.col_offset),
    )
    for node in calls:
        name = getattr(node.func, "attr", getattr(node.func, "id", ""))
        text = _text_of(node.args[0]) if node.args else None
        if text and name in _CALL_KINDS:
            found[_CALL_KINDS[name]].append(text)
        for kw in node.keywords:
            text = _text_of(kw.value)
            if text and kw.arg == "title":
                found["panel" if name in ("set", "title", "set_title") else "figure"].append(text)
            elif text and kw.arg in ("xlabel", "ylabel"):
                found[kw.arg].append(text)
    return {kind: _unique(texts) for kind, texts in found.items()}


def figure_alt(code: str, heading: str = "", index: int = 0, count: int = 1) -> str:
    """An alt text for figure ``index`` (of ``count``) drawn by the code cell ``code``.

    A comment line ``# alt: ...`` in the cell wins (one per figure, in order, when a cell draws
    several). Otherwise the text is built from the titles the code gives its figure and panels
    and from its axis labels, read with :mod:`ast` (an f-string's fields become "…"); with no
    title, it names the section (``heading``) the figure belongs to.
    """
    explicit = re.findall(r"^\s*#\s*alt:\s*(.+?)\s*$", code, flags=re.MULTILINE)
    suffix = f" (figure {index + 1} of {count})" if count > 1 else ""
    if explicit:
        return explicit[index] if len(explicit) == count else explicit[0] + suffix
    found = _strings_in_calls(code)
    figure, panels = found["figure"], [t for t in found["panel"] if t not in found["figure"]]
    if figure:
        text = f"Figure: {figure[0]}" + (f"; panels: {'; '.join(panels)}" if panels else "")
    elif panels:
        text = (
            f"Figure: {panels[0]}" if len(panels) == 1 else f"Figure, panels: {'; '.join(panels)}"
        )
    else:
        text = f"Figure in the section “{heading}”" if heading else "Figure"
    xs, ys = found["xlabel"], found["ylabel"]
    if xs or ys:
        text += f". Plotted: {' / '.join(ys) or 'values'} against {' / '.join(xs) or 'position'}"
    return text.rstrip(".") + "." + suffix


def add_alt_texts(nb: nbformat.NotebookNode) -> int:
    """Give every PNG output in ``nb`` an alt text (output metadata ``course_alt``, which the
    course template writes into ``<img alt>``); return how many figures got one.

    The text the notebook's run stored with the figure (``setup`` describes every figure from
    its titles, labels and legends, values included) wins; for outputs of older runs the text
    is read from the plotting code (:func:`figure_alt`)."""
    heading, done = "", 0
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            found = re.findall(r"^#{1,6}\s+(.+)$", source(cell), flags=re.MULTILINE)
            heading = found[-1].strip() if found else heading
            continue
        images = [o for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
        for k, output in enumerate(images):
            stored = output.get("metadata", {}).get("image/png", {}).get("alt")
            output.setdefault("metadata", {})[ALT_KEY] = stored or figure_alt(
                source(cell), heading, k, len(images)
            )
            done += 1
    return done


def save_figures(nb: nbformat.NotebookNode, folder: Path, stem: str, up: str = "") -> int:
    """Write every PNG of ``nb`` to ``folder/<stem>-<n>.png`` and point the page at the file
    (output metadata ``course_src``): the page links each figure to its full size, which a
    multi-panel figure needs on a phone. A Chinese page (``up`` = ``"../"``) links to the English
    page's files, its outputs being the same, and writes none. Returns how many it links."""
    n = 0
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if "image/png" in output.get("data", {}):
                n += 1
                name = f"{stem}-{n}.png"
                if not up:
                    (folder / name).write_bytes(base64.b64decode(output["data"]["image/png"]))
                output.setdefault("metadata", {})[SRC_KEY] = f"{up}{folder.name}/{name}"
    return n


def fold_solutions(nb: nbformat.NotebookNode) -> None:
    """On the site, a solution is folded (the template wraps it in ``<details>``); the
    notebook's "Solution" heading, which says how to open it in JupyterLab, is dropped."""
    nb.cells = [
        c
        for c in nb.cells
        if not (c.cell_type == "markdown" and SOLUTION_TAG in c.get("metadata", {}).get("tags", []))
    ]


def _dark_theme_css() -> str:
    """JupyterLab's dark theme variables (nbconvert ships them), for ``prefers-color-scheme``."""
    from jupyter_core.paths import jupyter_path

    for root in jupyter_path("nbconvert", "templates"):
        path = Path(root) / "lab" / "static" / "theme-dark.css"
        if path.is_file():
            return path.read_text(encoding="utf-8")
    return ""


def _exporter(lang: str = "en") -> Any:
    """nbconvert's exporter for a page in ``lang`` (the Chinese pages are one folder down)."""
    from nbconvert import HTMLExporter

    return HTMLExporter(
        template_name="course",
        extra_template_basedirs=[str(TEMPLATES)],
        mathjax_url=("" if lang == "en" else "../") + MATHJAX_URL,
        language_code=lang.split("-")[0],  # nbconvert takes ISO 639-1 only: render_page adds -CN
    )


def render_page(
    nb: nbformat.NotebookNode,
    title: str,
    nav: str,
    names: set[str],
    exporter: Any = None,
    figures: tuple[Path, str] | tuple[Path, str, str] | None = None,
    lang: str = "en",
) -> str:
    """One notebook as a standalone HTML page (``<html lang>``: ``lang``) with navigation at the
    top and the bottom, its solutions folded; with ``figures`` (a folder, a file stem and
    optionally the path up to the folder) its figures are written there and linked, else
    embedded."""
    exporter = exporter or _exporter(lang)
    nb = nbformat.from_dict(nb)  # a copy: the navigation cells and alt texts are for the page only
    fold_solutions(nb)
    nb.cells = [_nav_cell(nav), *nb.cells, _nav_cell(nav)]
    add_alt_texts(nb)
    if figures is not None:
        save_figures(nb, *figures)
    resources = {
        "metadata": {"name": title},
        "course_solution_summary": WORDS[lang]["solution"],
        "course_mathjax_config": MATHJAX_CONFIG,
        "course_dark_theme": _dark_theme_css(),
        "course_css": _PAGE_CSS,
        "course_footer_js": FOOTER_JS,
    }
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    body = body.replace(f'<html lang="{lang.split("-")[0]}">', f'<html lang="{lang}">', 1)
    return rewrite_links(body, names)


def index_page(
    title: str, entries: list[dict[str, str]], about: str = "", lang: str = "en", other: str = ""
) -> str:
    """The course index: ``about`` (markdown: the README's opening), then every notebook in
    order, with its title and opening paragraph; in ``lang`` (the Chinese index is in zh_CN/),
    with a link to the index in the other language at ``other`` (empty: none)."""
    from nbconvert.filters import markdown2html

    esc, w = html.escape, WORDS[lang]
    up = "../" if lang != "en" else ""
    switch = f'<p class="meta">{w["switch"].format(href=esc(other))}</p>\n' if other else ""
    names = {e["page"].removesuffix(".html") for e in entries}
    about_html = rewrite_links(markdown2html(about), names) if about else ""
    items = "\n".join(
        f'<li><a class="title" href="{esc(e["page"])}">{esc(e["title"])}</a>'
        f"<div>{rewrite_links(markdown2html(e['intro']), names) if e['intro'] else ''}</div>"
        f'<div class="meta"><a href="{esc(e["download"])}">{w["download"]}</a></div></li>'
        for e in entries
    )
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1.0">'
        '<meta name="color-scheme" content="light dark">'
        f"<title>{esc(title)}</title><style>{_CSS}</style>"
        f"<script>{MATHJAX_CONFIG}</script>"
        f'<script defer src="{up}{MATHJAX_URL}"></script>'
        f"</head><body><main>\n{switch}<h1>{esc(title)}</h1>\n"
        f'<section id="about">{about_html}</section>'
        f'<p class="meta">{w["listed"].format(n=len(entries))}</p>\n'
        f'<ol class="course">\n{items}\n</ol>\n</main></body></html>\n'
    )


def course_about(readme: Path = ROOT / "README.md") -> str:
    """The README's opening, between its first heading and its first section (markdown), without
    the paragraph that links to the README in the other language."""
    if not readme.is_file():
        return ""
    text = readme.read_text(encoding="utf-8")
    opening = re.split(r"^## ", text, maxsplit=1, flags=re.M)[0]
    if not opening.startswith("# "):
        return ""
    # the README's link to its other language is the site's language switch, at every page's top
    paragraphs = opening.split("\n", 1)[1].strip().split("\n\n")
    return "\n\n".join(p for p in paragraphs if not re.search(r"\]\(README[.\w-]*\.md\)", p))


def course_title(default: str = "The course", readme: Path = ROOT / "README.md") -> str:
    """The README's first heading (the course's name), else ``default``."""
    if readme.is_file():
        for line in readme.read_text(encoding="utf-8").splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    return default


def read_notebooks(paths: list[Path]) -> list[tuple[Path, nbformat.NotebookNode]]:
    """Every notebook read and validated against the nbformat schema, before anything is built.

    Raises ``ValueError`` naming the first file that cannot be read or is not a valid notebook.
    """
    loaded = []
    for path in paths:
        try:
            nb = nbformat.read(path, as_version=4)
            nbformat.validate(nb)
        except Exception as err:  # JSON, schema, encoding, I/O: all mean "not a usable notebook"
            reason = " ".join(str(err).split())[:300]
            raise ValueError(
                f"{path}: not a valid notebook ({type(err).__name__}: {reason})"
            ) from err
        loaded.append((Path(path), nb))
    return loaded


def _write_edition(
    loaded: list[tuple[Path, nbformat.NotebookNode]],
    out: Path,
    title: str,
    about: str,
    lang: str,
    others: dict[str, str],
) -> None:
    """One language's pages, index and notebooks into ``out`` (the site's root for English,
    its zh_CN/ for Chinese); ``others`` maps a page's name to the same page in the other
    language (``index`` included). Figures go to the root's figures/ (the editions' outputs are
    the same)."""
    up = "../" if lang != "en" else ""
    (out / "ipynb").mkdir(parents=True)
    pages = [(path.stem, title_and_intro(nb, path.stem)[0]) for path, nb in loaded]
    names = {name for name, _ in pages}
    exporter = _exporter(lang)
    figures = out.parent / FIGURES if up else out / FIGURES
    entries = []
    for k, (path, nb) in enumerate(loaded):
        page_title, intro = title_and_intro(nb, path.stem)
        nav = _nav(pages, k, lang, others.get(path.stem, ""))
        (out / f"{path.stem}.html").write_text(
            render_page(nb, page_title, nav, names, exporter, (figures, path.stem, up), lang),
            encoding="utf-8",
        )
        shutil.copyfile(path, out / "ipynb" / path.name)
        entries.append(
            {
                "page": f"{path.stem}.html",
                "title": page_title,
                "intro": intro,
                "download": f"ipynb/{path.name}",
            }
        )
    (out / "index.html").write_text(
        index_page(title, entries, about, lang, others.get("index", "")), encoding="utf-8"
    )


def _write_site(
    loaded: list[tuple[Path, nbformat.NotebookNode]],
    out: Path,
    title: str,
    mathjax: Path,
    chinese: list[tuple[Path, nbformat.NotebookNode]] = (),
) -> None:
    """The whole site into the empty folder ``out``: the English pages, and the Chinese ones
    (``chinese``, when given) in ``out/zh_CN/``, each page linking to its counterpart."""
    (out / FIGURES).mkdir()
    (out / "_static" / "mathjax").mkdir(parents=True)
    shutil.copyfile(mathjax, out / MATHJAX_URL)
    zh = {path.stem for path, _ in chinese}
    to_zh = {name: f"{ZH}/{name}.html" for name in zh | ({"index"} if zh else set())}
    _write_edition(loaded, out, title, course_about(), "en", to_zh)
    if chinese:
        readme = ROOT / "README.zh-CN.md"
        to_en = {path.stem: f"../{path.stem}.html" for path, _ in loaded}
        _write_edition(
            list(chinese),
            out / ZH,
            course_title(title, readme),
            course_about(readme),
            "zh-CN",
            {**to_en, "index": "../index.html"},
        )


def _replace_dir(new: Path, out_dir: Path) -> None:
    """Put the complete site ``new`` where ``out_dir`` is: the old site is moved aside only once
    the new one is whole, then removed (two renames on the same file system)."""
    old = None
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}-old-{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(out_dir, old)
    os.replace(new, out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def build_site(
    notebooks: list[Path], out_dir: Path, title: str | None = None, mathjax: Path | None = None
) -> list[Path]:
    """Render ``notebooks`` (in this order) and an index into ``out_dir``, and their Chinese
    editions (``zh_CN/`` beside them, where they exist) into ``out_dir/zh_CN``; return the pages,
    index first (the Chinese index first among the Chinese pages).

    Every notebook is read and validated first (``ValueError`` naming a malformed one); the site is
    built beside ``out_dir`` and replaces it only when complete, so on any error the previous site
    is left as it was. ``mathjax`` is the MathJax file the site ships (default :data:`MATHJAX`,
    from ``npm ci``; ``ValueError`` if missing).
    """
    if not notebooks:
        raise ValueError("notebooks is empty: there is nothing to render")
    mathjax = Path(mathjax or MATHJAX)
    if not mathjax.is_file():
        raise ValueError(
            f"MathJax is missing ({mathjax}): run `npm ci` in {ROOT} "
            "(`make site` does), so that the site can typeset math offline"
        )
    loaded = read_notebooks([Path(p) for p in notebooks])
    chinese = read_notebooks(chinese_editions([Path(p) for p in notebooks]))
    out_dir = Path(out_dir).absolute()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-new-", dir=out_dir.parent))
    try:
        _write_site(loaded, tmp, title or course_title(), mathjax, chinese)
        tmp.chmod(0o755)
        _replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [
        out_dir / "index.html",
        *(out_dir / f"{path.stem}.html" for path, _ in loaded),
        *([out_dir / ZH / "index.html"] if chinese else []),
        *(out_dir / ZH / f"{path.stem}.html" for path, _ in chinese),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m coursekit.site", description=" ".join(__doc__.split("\n\n")[0].split())
    )
    parser.add_argument(
        "--notebooks",
        type=Path,
        default=NOTEBOOKS,
        help="the executed notebooks to render (default: notebooks/, the committed full run)",
    )
    parser.add_argument(
        "--out", type=Path, default=SITE, help="where the site goes (default: build/site/)"
    )
    parser.add_argument(
        "--only", nargs="+", metavar="NN", help="only notebooks whose names start with these"
    )
    args = parser.parse_args(argv)
    try:
        pages = build_site(selected_notebooks(args.only, args.notebooks), args.out)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    n = sum(p.name != "index.html" for p in pages)
    print(f"wrote {n} page(s) and {pages[0]} (validated, then replaced the old site)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
