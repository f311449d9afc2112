"""HTML pages in a real browser: every shipped problem's pages load in headless Chromium with
every formula rendered (no KaTeX error node, every formula with a size), every figure
decoded, no formula cut off at the page's width, no request to any network, and the same
numbers as the PDF's .tex. Screenshots are left in NNREPORT_SCREENSHOTS (when set) to look at."""

from __future__ import annotations

import html as htmllib
import json
import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from conftest import PROBLEMS

from nnreport.build import BuildOptions, build
from nnreport.errors import NNReportError

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (make tex)")
SHIPPED = ["exam2", "moons", "three_layer", "assignment01", "problemset3", "exam2_variants",
           "circles_widths"]
REPORTS = ("problemset3", "circles_widths")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]

PROBE = """
<script>
window.addEventListener('load', () => {
  const r = {errors: document.querySelectorAll('.katex-error').length, math: 0, empty: 0,
             images: 0, broken: 0, cut: [], width: document.documentElement.scrollWidth};
  for (const k of document.querySelectorAll('.katex')) {
    r.math++;
    const b = k.getBoundingClientRect();
    if (b.width < 1 || b.height < 1) r.empty++;
  }
  for (const im of document.images) { r.images++; if (!im.complete || im.naturalWidth === 0) r.broken++; }
  for (const s of document.querySelectorAll('.step, .values'))
    if (s.scrollWidth > s.clientWidth + 2) r.cut.push(s.textContent.slice(0, 60));
  document.body.setAttribute('data-probe', JSON.stringify(r));
});
</script>
"""


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    out = tmp_path_factory.mktemp("html")
    for name in SHIPPED:
        build(PROBLEMS / f"{name}.yaml",
              BuildOptions(output=out, formats=("html", "pdf"), pdf=True))
    return out


def chromium(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={cwd / 'profile'}", *args],
                          capture_output=True, text=True, timeout=120, cwd=cwd)


def probe(page: Path, tmp: Path) -> dict:
    copy = tmp / f"probe-{page.name}"
    copy.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"),
                    encoding="utf-8")
    r = chromium(["--window-size=1000,1400", "--virtual-time-budget=15000", "--dump-dom",
                  copy.as_uri()], tmp)
    m = re.search(r'data-probe="([^"]*)"', r.stdout)
    assert m, r.stderr[-2000:]
    return json.loads(htmllib.unescape(m.group(1)))


@pytest.mark.parametrize("name", SHIPPED)
def test_every_formula_and_figure_renders_in_chromium(pages, tmp_path, name):
    found = sorted((pages / name).glob("*.html"))
    assert len(found) == (1 if name in REPORTS else 2)
    for page in found:
        text = page.read_text(encoding="utf-8")
        # self-contained: nothing fetched when the page is read
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", text)
        assert not re.search(r"url\((['\"]?)(https?:|//)", text)
        assert "<script" not in text.lower()
        r = probe(page, tmp_path)
        assert r["errors"] == 0 and r["math"] > 20 and r["empty"] == 0, (page.name, r)
        assert r["images"] >= (1 if "key" in page.name or "report" in page.name else 0)
        assert r["broken"] == 0, (page.name, r)
        assert r["cut"] == [], (page.name, r["cut"])
        shots = os.environ.get("NNREPORT_SCREENSHOTS")
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            chromium(["--window-size=1000,6000", f"--screenshot={Path(shots) / page.stem}.png",
                      page.as_uri()], tmp_path)


_NUM = re.compile(r"(?<![\w.^_{])-?\d+(?:\.\d+)?")


def _math_numbers_tex(tex: str) -> Counter:
    blocks = re.findall(r"\\begin\{(align\*|gather\*)\}(.*?)\\end\{\1\}", tex, re.S)
    body = " ".join(b for _, b in blocks)
    body = re.sub(r"\\tag\*\{\\footnotesize\\color\{gray\}\$.*?\$\}", " ", body)  # shape, points
    body = re.sub(r"\\\\\[[\d.]+ex\]|\\rule\{[^}]*\}\{[^}]*\}|\\hspace\{[^}]*\}", " ", body)
    body = re.sub(r"\\shortintertext\{.*?\}\n", " ", body)
    return Counter(_NUM.findall(body))


def _math_numbers_html(text: str) -> Counter:
    out: Counter = Counter()
    for a in re.findall(r'<annotation encoding="application/x-tex">(.*?)</annotation>', text, re.S):
        a = htmllib.unescape(a)
        if r"\text{pt" in a or r"\times" in a and "begin" not in a and len(a) < 40:
            continue  # a tag beside a step
        a = re.sub(r"\\rule\{[^}]*\}\{[^}]*\}|\\hspace\{[^}]*\}", " ", a)
        out.update(_NUM.findall(a))
    return out


@pytest.mark.parametrize("name", ["exam2", "three_layer", "moons"])
def test_the_key_page_shows_the_numbers_of_the_pdf(pages, name):
    tex = (pages / name / f"{name}-key.tex").read_text(encoding="utf-8")
    page = (pages / name / f"{name}-key.html").read_text(encoding="utf-8")
    missing = _math_numbers_tex(tex) - _math_numbers_html(page)
    assert not missing, missing.most_common(10)
    assert sum(_math_numbers_tex(tex).values()) > 100


def test_a_formula_katex_cannot_render_is_a_build_error():
    from nnreport.compile import katex

    with pytest.raises(NNReportError, match="cannot be rendered") as info:
        katex.render([("x^2", False), (r"\frac{1}{", True)])
    assert info.value.exit_code == 4
    # KaTeX runs untrusted: no links, no file access
    with pytest.raises(NNReportError):
        katex.render([(r"\href{https://example.com}{x}", False)])
