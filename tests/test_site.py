"""The rendered site (``make site``): one HTML page per notebook, in order, and an index page."""

from __future__ import annotations

import base64
import json
import re

import nbformat
import pytest
from conftest import NOTEBOOKS
from course_fixtures import tiny_png

from coursekit import site


def png_alts(page: str) -> list[str]:
    """The alt text of every figure on a page (None where an image has none)."""
    tags = [
        t for t in re.findall(r"<img\b[^>]*>", page) if re.search(r'src="figures/|data:image', t)
    ]
    return [m.group(1) if (m := re.search(r'\balt="([^"]*)"', t)) else None for t in tags]


def write_notebook(folder, name: str, title: str, intro: str, extra: str = "") -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(
        'plt.plot(x)\nplt.xlabel("epoch")\nplt.title(f"Loss of {name}")\nplt.show()',
        execution_count=1,
    )
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={"image/png": base64.b64encode(tiny_png()).decode(), "text/plain": "<Figure>"},
        )
    ]
    nb.cells = [
        nbformat.v4.new_markdown_cell(
            f"# {title}\n\n{intro}\n\n## Learning objectives\n- x\n{extra}"
        ),
        cell,
    ]
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{name}.ipynb")


@pytest.fixture(autouse=True)
def stub_mathjax(tmp_path, monkeypatch):
    """The site ships ``node_modules``' MathJax; these tests need only a file to copy."""
    stub = tmp_path / "stub-mathjax.js"
    stub.write_text("/* MathJax stand-in */")
    monkeypatch.setattr(site, "MATHJAX", stub)
    return stub


@pytest.fixture
def course(tmp_path):
    nbs = tmp_path / "nbs"
    write_notebook(
        nbs,
        "01_first",
        "01 · First",
        "Tensors and `nn.Linear`: $y = xW^T + b$.",
        "Next: [the second notebook](02_second.ipynb#top).",
    )
    write_notebook(
        nbs,
        "02_second",
        "02 · Second",
        "Autograd & friends.",
        "Back to [01](../notebooks/01_first.ipynb); see [the docs](https://pytorch.org/x.ipynb).",
    )
    write_notebook(nbs, "03_third", "03 · Third", "Training.")
    return nbs


@pytest.mark.slow
def test_index_links_every_notebook_in_order_with_title_and_intro(course, tmp_path):
    pages = site.build_site(sorted(course.glob("*.ipynb")), tmp_path / "site", title="My course")
    assert [p.name for p in pages] == [
        "index.html",
        "01_first.html",
        "02_second.html",
        "03_third.html",
    ]
    index = (tmp_path / "site" / "index.html").read_text()
    assert re.findall(r'class="title" href="([^"]+)">([^<]+)<', index) == [
        ("01_first.html", "01 · First"),
        ("02_second.html", "02 · Second"),
        ("03_third.html", "03 · Third"),
    ]
    assert "<h1>My course</h1>" in index and "Autograd &amp; friends." in index
    assert "<code>nn.Linear</code>" in index and "$y = xW^T + b$" in index
    for name in ("01_first", "02_second", "03_third"):
        assert (tmp_path / "site" / "ipynb" / f"{name}.ipynb").read_bytes() == (
            course / f"{name}.ipynb"
        ).read_bytes()


def test_pages_render_outputs_navigation_and_links_between_notebooks(course, tmp_path):
    site.build_site(sorted(course.glob("*.ipynb")), tmp_path / "site")
    first = (tmp_path / "site" / "01_first.html").read_text()
    second = (tmp_path / "site" / "02_second.html").read_text()
    assert "<title>01 · First</title>" in first
    figure = tmp_path / "site" / "figures" / "01_first-1.png"
    assert figure.read_bytes() == tiny_png(), "figures are files beside the pages"
    assert '<a href="figures/01_first-1.png"' in first
    assert 'src="figures/01_first-1.png"/>' in first
    assert (
        first.count('href="index.html"') == 2 and first.count('href="02_second.html"') == 2
    )  # nav, top and bottom
    assert "previous:" not in first and 'href="ipynb/01_first.ipynb"' in first
    assert 'href="02_second.html#top"' in first
    assert 'href="01_first.html"' in second and 'href="03_third.html"' in second
    assert 'href="https://pytorch.org/x.ipynb"' in second, "links outside the course are left alone"
    assert sorted(set(re.findall(r'href="([^"]*\.ipynb[^"]*)"', second))) == [
        "https://pytorch.org/x.ipynb",
        "ipynb/02_second.ipynb",
    ]


def test_links_to_course_notebooks_and_appendices_point_at_their_pages():
    body = (
        '<a href="A1_speed.ipynb#timing">a</a> <a href="../notebooks/03_data.ipynb">b</a> '
        '<a href="B1_other.ipynb">c</a> <a href="A1_gone.ipynb">d</a>'
    )
    assert site.rewrite_links(body, {"A1_speed", "03_data"}) == (
        '<a href="A1_speed.html#timing">a</a> <a href="03_data.html">b</a> '
        '<a href="B1_other.ipynb">c</a> <a href="A1_gone.ipynb">d</a>'
    )


def test_rebuilding_removes_pages_of_notebooks_that_are_gone(course, tmp_path):
    site.build_site(sorted(course.glob("*.ipynb")), tmp_path / "site")
    site.build_site(sorted(course.glob("0[12]_*.ipynb")), tmp_path / "site")
    assert sorted(p.name for p in (tmp_path / "site").glob("*.html")) == [
        "01_first.html",
        "02_second.html",
        "index.html",
    ]
    assert sorted(p.name for p in (tmp_path / "site" / "ipynb").iterdir()) == [
        "01_first.ipynb",
        "02_second.ipynb",
    ]
    with pytest.raises(ValueError, match="nothing to render"):
        site.build_site([], tmp_path / "site")


def test_cli(course, tmp_path, capsys):
    assert (
        site.main(["--notebooks", str(course), "--out", str(tmp_path / "out"), "--only", "03"]) == 0
    )
    assert "wrote 1 page(s)" in capsys.readouterr().out
    assert (tmp_path / "out" / "03_third.html").exists() and not (
        tmp_path / "out" / "01_first.html"
    ).exists()
    assert site.main(["--notebooks", str(tmp_path / "empty")]) == 2
    assert "no notebooks found" in capsys.readouterr().err


def test_title_and_intro():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(
            "# 04 · Evaluation\n\nFirst paragraph\non two lines.\n\nSecond."
        )
    ]
    assert site.title_and_intro(nb, "x") == ("04 · Evaluation", "First paragraph\non two lines.")
    nb.cells = [nbformat.v4.new_markdown_cell("No heading here")]
    assert site.title_and_intro(nb, "x") == ("x", "")


@pytest.mark.slow
def test_the_site_of_the_committed_notebooks(tmp_path):
    """What ``make site`` does on a fresh clone: every committed notebook, in course order."""
    pages = site.build_site(NOTEBOOKS, tmp_path / "site")
    assert len(pages) == 2 + 2 * len(NOTEBOOKS)
    index = pages[0].read_text()
    assert re.findall(r'class="title" href="([^"]+)"', index) == [
        f"{p.stem}.html" for p in NOTEBOOKS
    ]
    for page, path in zip(pages[1:], NOTEBOOKS):
        text = page.read_text()
        nb = nbformat.read(path, as_version=4)
        figures = sum(
            "image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", [])
        )
        alts = png_alts(text)
        assert len(list((tmp_path / "site" / "figures").glob(f"{path.stem}-*.png"))) == figures
        assert len(alts) == figures and all(a.startswith("Figure") and len(a) > 20 for a in alts)
        assert (
            f"<title>{site.title_and_intro(nbformat.read(path, as_version=4), '')[0]}</title>"
            in text
        )
    # the Chinese edition: a page per notebook in zh_CN/, each page linking to its counterpart
    root = tmp_path / "site"
    zh_index = (root / "zh_CN" / "index.html").read_text()
    assert zh_index.startswith('<!DOCTYPE html>\n<html lang="zh-CN">')
    assert 'href="../index.html" hreflang="en"' in zh_index
    assert 'href="zh_CN/index.html" hreflang="zh-CN"' in index
    for path in NOTEBOOKS:
        english = (root / f"{path.stem}.html").read_text()
        chinese = root / "zh_CN" / "ipynb" / path.name
        assert f'href="zh_CN/{path.stem}.html" hreflang="zh-CN"' in english
        text = (root / "zh_CN" / f"{path.stem}.html").read_text()
        assert '<html lang="zh-CN">' in text and f'href="../{path.stem}.html" hreflang="en"' in text
        zh_title = site.title_and_intro(nbformat.read(chinese, as_version=4), "")[0]
        assert f"<title>{zh_title}</title>" in text and f">{zh_title}</a>" in zh_index
        assert 'src="../_static/mathjax/' in text and 'src="../figures/' in text


def test_pages_work_offline_math_from_the_site_and_nothing_from_another_host(
    course, tmp_path, stub_mathjax
):
    site.build_site(sorted(course.glob("*.ipynb")), tmp_path / "site")
    assert (tmp_path / "site" / site.MATHJAX_URL).read_bytes() == stub_mathjax.read_bytes()
    for page in (tmp_path / "site").glob("*.html"):
        text = page.read_text()
        assert re.search(rf'<script [^>]*src="{site.MATHJAX_URL}"', text), page.name
        assert "window.MathJax = {tex: {inlineMath: [['$', '$']" in text
        loaded = re.findall(r'<(?:script|img|link|iframe)\b[^>]*\b(?:src|href)="([^"]*)"', text)
        assert [u for u in loaded if re.match(r"(https?:)?//", u)] == [], page.name
        assert 'lang="en"' in text and "prefers-color-scheme: dark" in text


def test_pages_cap_the_reading_width_and_let_code_scroll(course, tmp_path):
    site.build_site(sorted(course.glob("*.ipynb")), tmp_path / "site")
    page = (tmp_path / "site" / "01_first.html").read_text()
    assert "body.jp-Notebook main { max-width: 52rem" in page
    assert "overflow-x: auto" in page and "tabindex" in page  # scrolling blocks reachable by keys
    assert "max-width: 50rem" in (tmp_path / "site" / "index.html").read_text()


def test_every_figure_gets_an_alt_text_from_its_cell(course, tmp_path):
    site.build_site(sorted(course.glob("*.ipynb")), tmp_path / "site")
    page = (tmp_path / "site" / "01_first.html").read_text()
    assert png_alts(page) == ["Figure: Loss of …. Plotted: values against epoch."]


@pytest.mark.parametrize(
    ("code", "alt"),
    [
        ('fig.suptitle("Loss")\nax.set_title("train")', "Figure: Loss; panels: train."),
        ('plt.title("One digit, shifted: " + str(s))', "Figure: One digit, shifted: …."),
        ('# alt: A 4 by 4 grid of digits.\nshow_images(x, title="t")', "A 4 by 4 grid of digits."),
    ],
)  # fmt: skip
def test_figure_alt_from_titles_labels_or_an_alt_comment(code, alt):
    assert site.figure_alt(code) == alt


def test_figure_alt_names_panels_and_axes():
    two_panels = 'a.set(title="A", ylabel="y")\nb.set_title("B")'
    assert site.figure_alt(two_panels) == "Figure, panels: A; B. Plotted: y against position."
    f_string = 'b.set_xlabel("t")\nplot_history(h, title=f"{n} s")'
    assert site.figure_alt(f_string) == "Figure: … s. Plotted: values against t."


def test_figure_alt_without_a_title_names_the_section_and_counts_figures():
    assert (
        site.figure_alt("plt.imshow(x)", "3. The graph") == "Figure in the section “3. The graph”."
    )
    assert site.figure_alt("this is not python (", "Setup") == "Figure in the section “Setup”."
    assert site.figure_alt("plt.imshow(x)", "", 1, 2) == "Figure. (figure 2 of 2)"
    assert site.figure_alt("# alt: first\n# alt: second\n%matplotlib inline", "", 1, 2) == "second"


def test_a_malformed_notebook_leaves_the_old_site_intact_and_is_named(course, tmp_path):
    out = tmp_path / "site"
    site.build_site(sorted(course.glob("*.ipynb")), out)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    (course / "02_second.ipynb").write_text('{"cells": [')  # truncated JSON
    with pytest.raises(ValueError, match=r"02_second\.ipynb: not a valid notebook"):
        site.build_site(sorted(course.glob("*.ipynb")), out)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Broken")]
    nb.cells[0]["outputs"] = []  # markdown cells have no outputs: the schema says no
    (course / "02_second.ipynb").write_text(json.dumps(nb))
    with pytest.raises(ValueError, match=r"02_second\.ipynb: not a valid notebook \(NotebookValid"):
        site.build_site(sorted(course.glob("*.ipynb")), out)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_failure_while_rendering_leaves_the_old_site_intact(course, tmp_path, monkeypatch):
    out = tmp_path / "site"
    site.build_site(sorted(course.glob("*.ipynb")), out)
    index = (out / "index.html").read_bytes()

    def broken(*args, **kwargs):
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(site, "render_page", broken)
    with pytest.raises(RuntimeError, match="renderer crashed"):
        site.build_site(sorted(course.glob("*.ipynb")), out)
    assert (out / "index.html").read_bytes() == index and (out / "03_third.html").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".site")] == []


def test_missing_mathjax_is_a_clear_error(course, tmp_path):
    with pytest.raises(ValueError, match="MathJax is missing .*npm ci"):
        site.build_site(sorted(course.glob("*.ipynb")), tmp_path / "site", mathjax=tmp_path / "x")
    assert not (tmp_path / "site").exists()


def test_the_alt_text_the_run_stored_wins_over_the_code(course, tmp_path):
    path = course / "01_first.ipynb"
    nb = nbformat.read(path, as_version=4)
    figure = next(o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o["data"])
    figure["metadata"] = {"image/png": {"alt": "Figure: Loss of run 7: loss against epoch."}}
    nbformat.write(nb, path)
    site.build_site([path], tmp_path / "site")
    page = (tmp_path / "site" / "01_first.html").read_text()
    assert png_alts(page) == ["Figure: Loss of run 7: loss against epoch."]


def test_solutions_are_folded_and_the_jupyterlab_heading_is_dropped(tmp_path):
    from course_fixtures import full_notebook

    nbformat.write(full_notebook(), tmp_path / "09_test.ipynb")
    site.build_site([tmp_path / "09_test.ipynb"], tmp_path / "site")
    page = (tmp_path / "site" / "09_test.html").read_text()
    assert page.count('<details class="course-solution"><summary>Solution (click') == 3
    assert "in JupyterLab, click" not in page
    folded = re.findall(r"<details.*?</details>", page, flags=re.S)
    assert all("celltag_solution" in d for d in folded) and "solution defined: double" in folded[0]
