"""The site in a real browser: headless Chromium reads every page as a student would, offline,
on a desktop (1280×800) and on a phone (390×844).

The site is built from the committed notebooks, then the index and every page are opened from
``file://`` (as from a USB stick). For each page, at both widths: no request leaves the machine
(every request that is not ``file:`` or ``data:`` is recorded and aborted), no raw ``$…$`` math
is left and MathJax reports no error, every image loads, has an alt text that says what it shows
(no "…" left from a formatted title) and links to its full size, every link inside the site
resolves (file and anchor), every solution is folded in a ``<details>`` that says how to open it,
display equations keep their size (they scroll sideways), no code line is cut off at its box's
edge, text output keeps its columns (no word broken), every cell stays inside the page's margins,
the page does not end with a raw results dict, the console shows no error, and axe-core finds no
serious or critical accessibility violation (in the light colour scheme everywhere on the
desktop, in the dark one and on the phone on the index and the largest page: every page shares
one stylesheet). Three Chinese pages (``zh_CN/``: the index, the first and the largest page) get
the same checks on the desktop (axe-core on the index: the pages are the English markup with
other words, whose formulas, code, links and figures the build checks), and their Chinese text
must be drawn with a CJK font (two different characters must not look alike, as the
boxes of a missing font do); a screenshot of the Chinese index is kept beside the test's files.

Needs Debian's ``chromium`` (``.ci/run`` installs it with apt-get; the test skips, saying so, only
when it is absent), ``playwright`` (the test extra) and ``npm ci`` (MathJax and axe-core).
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from conftest import NOTEBOOKS, ROOT

from coursekit import site

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP, PHONE = {"width": 1280, "height": 800}, {"width": 390, "height": 844}
LOCAL_SCHEMES = {"file", "data", "about", "blob"}

# Text outside code, outputs and typeset math that still looks like TeX.
RAW_MATH_JS = """() => {
  const skip = 'CODE, PRE, SCRIPT, STYLE, MJX-CONTAINER, MJX-ASSISTIVE-MML, TEXTAREA';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const found = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement.closest(skip) || node.parentElement.closest('.jp-OutputArea')) continue;
    const text = node.textContent;
    if (/\\$|\\\\\\(|\\\\\\[|\\\\begin\\{/.test(text)) found.push(text.trim().slice(0, 80));
  }
  return found;
}"""
IMAGES_JS = """() => [...document.images]
  .filter(img => !img.complete || img.naturalWidth === 0 || !(img.alt || '').trim())
  .map(img => (img.alt || '(no alt)') + ' <' + img.src.slice(0, 40) + '>')"""
# Syntax colouring makes thousands of <span>s that axe's contrast check visits one by one; a
# token's colours depend only on its class (every code cell has the same background), so the
# first span of each class on a page is kept and the rest become plain text before axe runs.
ONE_SPAN_PER_TOKEN_CLASS_JS = """() => {
  const seen = new Set();
  document.querySelectorAll('.highlight pre span').forEach(span => {
    if (seen.has(span.className)) span.replaceWith(span.textContent); else seen.add(span.className);
  });
}"""
# What a reader on a narrow screen would see go wrong.
LAYOUT_JS = """() => {
  const found = [];
  const width = document.documentElement.clientWidth;
  document.querySelectorAll('.jp-Cell').forEach(cell => {
    const r = cell.getBoundingClientRect();
    if (r.width && (r.left < 4 || r.right > width - 4)) found.push('cell outside the margins');
  });
  document.querySelectorAll('mjx-container[display="true"]').forEach(m => {
    const svg = m.querySelector('svg'), s = getComputedStyle(m);
    if (getComputedStyle(svg).maxWidth !== 'none' || !['auto', 'scroll'].includes(s.overflowX))
      found.push('a display equation shrinks instead of scrolling');
  });
  document.querySelectorAll('.jp-InputArea-editor .highlight').forEach(h => {
    const s = getComputedStyle(h), wraps = getComputedStyle(h.querySelector('pre')).whiteSpace;
    const scrolls = ['auto', 'scroll'].includes(s.overflowX);
    if (h.scrollWidth > h.clientWidth + 1 && (width < 600 || !scrolls))
      found.push('a code line is cut at its box edge: ' + h.textContent.trim().slice(0, 40));
    if (width < 600 && wraps !== 'pre-wrap') found.push('code does not wrap on a phone');
  });
  document.querySelectorAll('.jp-OutputArea-output pre').forEach(pre => {
    const s = getComputedStyle(pre);
    if (s.whiteSpace !== 'pre' || s.wordBreak === 'break-all' || s.overflowX !== 'auto')
      found.push('text output wraps or breaks words instead of scrolling');
  });
  document.querySelectorAll('.celltag_solution').forEach(cell => {
    const d = cell.closest('details');
    if (!d || d.open || !/click|点击/i.test(d.querySelector('summary').textContent))
      found.push('a solution is not folded in a <details> that says how to open it');
  });
  document.querySelectorAll('.jp-RenderedImage img').forEach(img => {
    const a = img.closest('a');
    if (!a || a.getAttribute('href') !== img.getAttribute('src'))
      found.push('a figure does not link to its full size: ' + img.alt.slice(0, 40));
    if (img.alt.includes('…') || img.alt.trim() === 'Figure')
      found.push('an alt text that does not say what the figure shows: ' + img.alt.slice(0, 60));
  });
  const outputs = document.querySelectorAll('.jp-CodeCell .jp-OutputArea-output');
  const last = outputs.length ? outputs[outputs.length - 1].textContent.trim() : '';
  if (last.startsWith('{')) found.push('the page ends with a raw results dict');
  return found;
}"""
AXE_JS = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => `${v.impact} ${v.id}: ${v.help} (${v.nodes.length} nodes, e.g. ` +
              `${v.nodes.slice(0, 2).map(n => n.target.join(' ')).join(' | ')})`);
}"""


def chromium() -> str | None:
    return next((p for name in ("chromium", "chromium-browser") if (p := shutil.which(name))), None)


@pytest.fixture(scope="module")
def built_site(tmp_path_factory) -> list[Path]:
    """The site of the committed notebooks, with MathJax and axe-core from ``npm ci``."""
    if chromium() is None:
        pytest.skip(
            "Chromium is not installed (Debian: `apt-get install chromium`; .ci/run installs it)"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail("playwright is missing: `pip install -e '.[test]'` (make install) installs it")
    if not (site.MATHJAX.is_file() and AXE.is_file()):
        if shutil.which("npm") is None:
            pytest.fail(
                "MathJax and axe-core are missing and npm is not installed (apt-get install npm)"
            )
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=ROOT, check=True)
    return site.build_site(NOTEBOOKS, tmp_path_factory.mktemp("browser") / "site")


def anchors_of(page: Path, cache: dict[Path, set[str]]) -> set[str]:
    if page not in cache:
        text = page.read_text(encoding="utf-8")
        cache[page] = {html.unescape(m) for m in re.findall(r'\b(?:id|name)="([^"]+)"', text)}
    return cache[page]


def broken_links(page: Path, hrefs: list[str], cache: dict[Path, set[str]]) -> list[str]:
    """Links inside the site whose file or anchor does not exist (other hosts are not followed:
    the test is offline; they are only checked to be well-formed http(s) URLs)."""
    broken = []
    for href in hrefs:
        parts = urlsplit(href)
        if parts.scheme in ("http", "https", "mailto"):
            if parts.scheme != "mailto" and not parts.netloc:
                broken.append(href)
            continue
        if parts.scheme != "file":
            broken.append(href)
            continue
        target = Path(unquote(parts.path))
        if not target.is_file():
            broken.append(f"{href} (no such file)")
        elif parts.fragment and target.suffix == ".html":
            ids = anchors_of(target, cache)  # a browser tries the fragment as is, then decoded
            if parts.fragment not in ids and unquote(parts.fragment) not in ids:
                broken.append(f"{href} (no such anchor)")
    return broken


def open_page(page, path: Path, scheme: str) -> None:
    """Load ``path`` in ``scheme`` (light or dark) and wait until MathJax has typeset it."""
    page.emulate_media(color_scheme=scheme)
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_function("() => window.MathJax && MathJax.startup", timeout=20_000)
    page.evaluate("async () => { await MathJax.startup.promise; }")


def axe_violations(page, axe: str) -> list[str]:
    """axe-core's serious and critical violations on the page as it is."""
    page.evaluate(ONE_SPAN_PER_TOKEN_CLASS_JS)
    page.add_script_tag(content=axe)
    return page.evaluate(AXE_JS)


def cjk_problems(page, built_site: list[Path], folder: Path) -> list[str]:
    """Whether the Chinese index is drawn with a CJK font: without one, every character is the
    same empty box. Keeps a screenshot of the page in ``folder``."""
    (index,) = [p for p in built_site if p.parts[-2:] == ("zh_CN", "index.html")]
    page.set_viewport_size(DESKTOP)
    open_page(page, index, "light")
    page.screenshot(path=str(folder / "zh_CN-index.png"))
    if page.evaluate("() => document.documentElement.lang") != "zh-CN":
        return ["zh_CN/index.html: <html lang> is not zh-CN"]
    page.evaluate(
        "() => { for (const t of ['张量', '梯度']) { const s = document.createElement('span');"
        " s.className = 'cjk-probe'; s.textContent = t; document.body.prepend(s); } }"
    )
    probes = page.locator("span.cjk-probe")
    one, two = probes.nth(0).screenshot(), probes.nth(1).screenshot()
    return [] if one != two else ["zh_CN/index.html: Chinese text is drawn without a CJK font"]


@pytest.mark.slow
def test_every_page_reads_offline_in_headless_chromium(built_site, tmp_path):
    from playwright.sync_api import sync_playwright

    started = time.perf_counter()
    problems: list[str] = []
    anchors: dict[Path, set[str]] = {}
    axe = AXE.read_text(encoding="utf-8")
    # Every page shares one stylesheet: the dark scheme is checked on the index and on the page
    # with the most code (the most syntax colours), which keeps the test under a minute.
    dark = {built_site[0], max(built_site[1:], key=lambda p: p.stat().st_size)}
    # The Chinese pages are the English markup with other words (their formulas, code, links and
    # figures are the English ones: coursekit.translate checks that): the index, the first page
    # and the largest are read, on the desktop.
    chinese = [p for p in built_site if "zh_CN" in p.parts]
    chinese_read = set(chinese[:2]) | {max(chinese[1:], key=lambda p: p.stat().st_size)}
    outside: list[str] = []
    errors: list[str] = []

    def local_only(route) -> None:
        if urlsplit(route.request.url).scheme in LOCAL_SCHEMES:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a fresh --user-data-dir
            executable_path=chromium(),
            headless=True,
            args=FLAGS,
        )
        context.route("**/*", local_only)
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        for device, size in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(size)
            for path in built_site:
                if "zh_CN" in path.parts and (device == "phone" or path not in chinese_read):
                    continue
                outside.clear()
                errors.clear()
                open_page(page, path, "light")
                found = [f"raw math: {t!r}" for t in page.evaluate(RAW_MATH_JS)]
                n_errors = page.evaluate("() => document.querySelectorAll('mjx-merror').length")
                found += [f"{n_errors} MathJax error(s)"] if n_errors else []
                found += [f"image: {t}" for t in page.evaluate(IMAGES_JS)]
                hrefs = page.evaluate("() => [...document.links].map(a => a.href)")
                found += [f"link: {h}" for h in broken_links(path, hrefs, anchors)]
                found += sorted(set(page.evaluate(LAYOUT_JS)))
                chinese_page = "zh_CN" in path.parts and path.name != "index.html"
                if (device == "desktop" and not chinese_page) or path in dark:
                    found += [f"light: axe: {v}" for v in axe_violations(page, axe)]
                if path in dark and device == "desktop":
                    open_page(page, path, "dark")
                    found += [f"dark: axe: {v}" for v in axe_violations(page, axe)]
                found += [f"request left the machine: {u}" for u in outside]
                found += [f"console: {e}" for e in errors]
                name = "/".join(path.parts[-2:]) if "zh_CN" in path.parts else path.name
                problems += [f"{name} ({device}): {p}" for p in found]
        problems += cjk_problems(page, built_site, tmp_path)
        context.close()
    print(f"{len(built_site)} pages read in Chromium in {time.perf_counter() - started:.1f} s")
    assert not problems, "\n".join(problems)
