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
    body = re.sub(r"\\tag\*\{\\footnotesize\\color\{black!70\}\$.*?\$\}", " ", body)  # shape, points
    body = re.sub(r"\\\\\*?\[[\d.]+ex\]|\\rule\{[^}]*\}\{[^}]*\}|\\hspace\{[^}]*\}", " ", body)
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


SIZES = """
<style>body > *:not(section), section > *:not(figure), figcaption { display: none !important }</style>
<script>
window.addEventListener('load', () => {
  const r = [];
  for (const im of document.images) {
    const b = im.getBoundingClientRect();
    r.push([b.left, b.top + window.scrollY, b.width, b.height]);
  }
  document.body.setAttribute('data-probe', JSON.stringify({images: r,
    height: document.documentElement.scrollHeight}));
});
</script>
"""


def test_diagram_labels_are_readable_at_1100_px(tmp_path):
    """The numbers on exam2's network diagrams, as Chromium draws the key page 1100 px wide:
    each weight or bias value (located in the diagram's PDF by pdftotext -bbox, scaled to the
    image's rendered box) is inked at least 11 px tall in the screenshot; at the SVG's
    natural size they were 7 px. Only the figures are left on the page (the column, and so
    each image's width, is the same)."""
    import base64

    import numpy as np
    from PIL import Image

    build(PROBLEMS / "exam2.yaml", BuildOptions(output=tmp_path, formats=("html",),
                                                kinds=("key",)))
    page = tmp_path / "exam2" / "exam2-key.html"
    text = page.read_text(encoding="utf-8")
    probe_page = tmp_path / "sizes.html"
    probe_page.write_text(text.replace("</body>", SIZES + "</body>"), encoding="utf-8")
    r = chromium(["--window-size=1100,1000", "--virtual-time-budget=15000", "--dump-dom",
                  probe_page.as_uri()], tmp_path)
    probe = json.loads(htmllib.unescape(re.search(r'data-probe="([^"]*)"', r.stdout)[1]))
    shot = tmp_path / "sizes.png"
    chromium([f"--window-size=1100,{probe['height']}", f"--screenshot={shot}",
              probe_page.as_uri()], tmp_path)
    ink = np.asarray(Image.open(shot).convert("L"))
    # each image's SVG is matched to its PDF by the drawing's size in pt
    pdfs = {}
    for f in (tmp_path / "exam2" / "figures").glob("tikz-*.pdf"):
        info = subprocess.run(["pdfinfo", str(f)], capture_output=True, text=True).stdout
        size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info).groups()
        pdfs[tuple(round(float(v), 1) for v in size)] = f
    views = [re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', base64.b64decode(m).decode())
             for m in re.findall(r'<img src="data:image/svg\+xml;base64,([^"]+)"', text)]
    heights = {}
    for view, (left, top, width, _) in zip(views, probe["images"], strict=True):
        pdf = pdfs.get((round(float(view[1]), 1), round(float(view[2]), 1)))
        if pdf is None:
            continue  # a matplotlib figure
        px = width / float(view[1])  # rendered px per pt of the drawing
        words = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True,
                               text=True).stdout
        for x0, y0, x1, y1, word in re.findall(
                r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">'
                r"(\d[\d.]*)</word>", words):
            if float(y1) - float(y0) < 6.5:
                continue  # a subscript (x_1), not a value: values' boxes are 7 pt tall
            box = ink[int(top + float(y0) * px) - 1:int(top + float(y1) * px) + 2,
                      int(left + float(x0) * px):int(left + float(x1) * px) + 1]
            rows = np.nonzero((box < 110).any(axis=1))[0]
            heights[(pdf.name, x0, y0, word)] = rows[-1] - rows[0] + 1
    assert len({k[0] for k in heights}) == 4 and len(heights) >= 20
    assert min(heights.values()) >= 11, sorted(heights.values())[:5]
