"""A static HTML site of the course, for reading without Jupyter: ``python -m coursekit.site``
(``make site``).

    python -m coursekit.site    # the committed notebooks (outputs of the full run)
    python -m coursekit.site --notebooks build/executed --out build/site

Each notebook becomes ``<out>/NN_name.html`` (nbconvert's ``lab`` template, figures embedded),
with links to the course index and to the previous and next notebook at the top and the bottom;
links between notebooks point to their pages. ``<out>/index.html`` lists the notebooks in order
with their titles and opening paragraphs, and ``<out>/ipynb/`` holds the notebooks for download.
Math is typeset by MathJax, which the pages load from a CDN.
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import nbformat

from .run import selected_notebooks

PROJECT_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = PROJECT_ROOT / "notebooks"
SITE = PROJECT_ROOT / "build" / "site"
NAV_TAG = "site-nav"
_CSS = (
    """
body { font-family: system-ui, sans-serif; max-width: 50rem; margin: 2rem auto; """
    """padding: 0 1rem; color: #222;
       line-height: 1.5; }
ol.course { padding-left: 0; list-style: none; }
ol.course li { margin: 1.2rem 0; padding: .8rem 1rem; border: 1px solid #ddd; border-radius: 6px; }
ol.course a.title { font-size: 1.2rem; font-weight: 600; text-decoration: none; }
.meta { color: #666; font-size: .9rem; }
"""
)


def title_and_intro(nb: nbformat.NotebookNode, default: str) -> tuple[str, str]:
    """The notebook's ``# title`` and the first paragraph after it (markdown), from its first
    markdown cell."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.strip().splitlines()
        if not lines or not lines[0].startswith("# "):
            return default, ""
        paragraphs = [p.strip() for p in "\n".join(lines[1:]).split("\n\n") if p.strip()]
        intro = next((p for p in paragraphs if not p.startswith("#")), "")
        return lines[0][2:].strip(), intro
    return default, ""


def _nav(pages: list[tuple[str, str]], k: int) -> str:
    """Markdown links: the index, the previous and the next page, and the notebook's download."""
    links = ["[Course index](index.html)"]
    if k > 0:
        links.append(f"previous: [{pages[k - 1][1]}]({pages[k - 1][0]}.html)")
    if k + 1 < len(pages):
        links.append(f"next: [{pages[k + 1][1]}]({pages[k + 1][0]}.html)")
    links.append(f"[download the notebook](ipynb/{pages[k][0]}.ipynb)")
    return " · ".join(links)


def _nav_cell(text: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(text)
    cell.metadata["tags"] = [NAV_TAG]
    return cell


def rewrite_links(body: str, names: set[str]) -> str:
    """Point links to course notebooks (``02_x.ipynb``, ``../notebooks/02_x.ipynb``) at their
    pages."""

    def page(match: re.Match) -> str:
        name, anchor = match.group(2), match.group(3) or ""
        return f'href="{name}.html{anchor}"' if name in names else match.group(0)

    return re.sub(
        r'href="(\./|\.\./notebooks/|notebooks/)?(\d\d_[\w.-]+?)\.ipynb(#[^"]*)?"', page, body
    )


def render_page(
    nb: nbformat.NotebookNode, title: str, nav: str, names: set[str], exporter: Any = None
) -> str:
    """One notebook as a standalone HTML page with navigation at the top and the bottom."""
    from nbconvert import HTMLExporter

    exporter = exporter or HTMLExporter(template_name="lab")
    nb = nbformat.from_dict(nb)  # a copy: the navigation cells are for the page only
    nb.cells = [_nav_cell(nav), *nb.cells, _nav_cell(nav)]
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    return rewrite_links(body, names)


def index_page(title: str, entries: list[dict[str, str]]) -> str:
    """The course index: every notebook in order, with its title and opening paragraph."""
    from nbconvert.filters import markdown2html

    esc = html.escape
    items = "\n".join(
        f'<li><a class="title" href="{esc(e["page"])}">{esc(e["title"])}</a>'
        f"<div>{markdown2html(e['intro']) if e['intro'] else ''}</div>"
        f'<div class="meta"><a href="{esc(e["download"])}">download the notebook</a></div></li>'
        for e in entries
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1.0">'
        f"<title>{esc(title)}</title><style>{_CSS}</style>"
        "<script>MathJax = {tex: {inlineMath: [['$', '$'], ['\\\\(', '\\\\)']]}};</script>"
        '<script async src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"></script>'
        f"</head><body>\n<h1>{esc(title)}</h1>\n"
        f'<p class="meta">{len(entries)} notebooks, to read in order; '
        "each page shows a notebook with its outputs.</p>\n"
        f'<ol class="course">\n{items}\n</ol>\n</body></html>\n'
    )


def course_title(default: str = "The course") -> str:
    """The README's first heading (the course's name), else ``default``."""
    readme = PROJECT_ROOT / "README.md"
    if readme.is_file():
        for line in readme.read_text(encoding="utf-8").splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    return default


def build_site(notebooks: list[Path], out_dir: Path, title: str | None = None) -> list[Path]:
    """Render ``notebooks`` (in this order) and an index into ``out_dir``; return the pages, index
    first.

    Pages of notebooks from an earlier build that are no longer in the list are removed.
    """
    from nbconvert import HTMLExporter

    if not notebooks:
        raise ValueError("notebooks is empty: there is nothing to render")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("[0-9][0-9]_*.html"):
        old.unlink()
    shutil.rmtree(out_dir / "ipynb", ignore_errors=True)
    (out_dir / "ipynb").mkdir()
    loaded = [(path.stem, nbformat.read(path, as_version=4)) for path in notebooks]
    pages = [(name, title_and_intro(nb, name)[0]) for name, nb in loaded]
    names = {name for name, _ in loaded}
    exporter = HTMLExporter(template_name="lab")
    written, entries = [], []
    for k, ((name, nb), path) in enumerate(zip(loaded, notebooks)):
        page_title, intro = title_and_intro(nb, name)
        page = out_dir / f"{name}.html"
        page.write_text(
            render_page(nb, page_title, _nav(pages, k), names, exporter), encoding="utf-8"
        )
        shutil.copyfile(path, out_dir / "ipynb" / path.name)
        written.append(page)
        entries.append(
            {
                "page": page.name,
                "title": page_title,
                "intro": intro,
                "download": f"ipynb/{path.name}",
            }
        )
    index = out_dir / "index.html"
    index.write_text(index_page(title or course_title(), entries), encoding="utf-8")
    return [index, *written]


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
    print(f"wrote {len(pages) - 1} page(s) and {pages[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
