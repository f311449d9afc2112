"""HTML pages finished: every formula rendered by KaTeX (one Node run per page) and put in
its place, KaTeX's stylesheet and fonts inlined, figures as SVG inlined as data: URIs, so a
page is one file that needs no network to be read."""

from __future__ import annotations

import base64
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from ..errors import NNReportError
from . import katex


class FigureError(NNReportError):
    exit_code = 4


# Figures are drawn for a 17 cm column of paper, 643 px at a screen's 96 px an inch, while
# the page's column is 960 px: a figure is shown this much larger than its natural size
# (the page's CSS caps it at the column's width), taking the share of the column it takes
# on paper.
FIGURE_SCALE = 1.45
# A network diagram's labels are \scriptsize (8 pt): at natural size their digits are about
# 7 px tall. A diagram (figures/tikz-*, see externalize.py) is shown larger still, so that
# they are 11 px tall on a page of 1100 px.
DIAGRAM_SCALE = 1.65


def svg_of(pdf: Path) -> str:
    """A figure's PDF (drawn by nnreport: matplotlib or its own TikZ) as an SVG data: URI,
    converted by poppler's pdftocairo, its rendered size scaled (FIGURE_SCALE, DIAGRAM_SCALE)."""
    with tempfile.TemporaryDirectory(prefix="nnreport-svg-") as tmp:
        out = Path(tmp) / "figure.svg"
        try:
            r = subprocess.run(["pdftocairo", "-svg", str(pdf), str(out)], capture_output=True,
                               timeout=60, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.SubprocessError) as e:
            raise FigureError(f"cannot convert {pdf.name} to SVG: {e}") from None
        if r.returncode != 0 or not out.is_file():
            raise FigureError(f"cannot convert {pdf.name} to SVG: "
                              + r.stderr.decode("utf-8", "replace")[-300:])
        data = out.read_bytes()
    k = DIAGRAM_SCALE if pdf.name.startswith("tikz-") else FIGURE_SCALE
    data = scaled(data.decode("utf-8"), k).encode("utf-8")
    return "data:image/svg+xml;base64," + base64.b64encode(data).decode()


def scaled(svg: str, k: float) -> str:
    """The SVG shown k times its size: the root element's width and height (pdftocairo writes
    them in pt) scaled, its viewBox, and so its drawing, unchanged."""
    end = svg.index(">", svg.index("<svg"))
    head = re.sub(r'\s(width|height)="([\d.]+)pt"',
                  lambda m: f' {m[1]}="{float(m[2]) * k:.3f}pt"', svg[:end])
    return head + svg[end:]


def finish(text: str, page: Any, seconds: float = 60.0) -> str:
    """Fill the formula markers of `text` (document/html.py's Page) with KaTeX's HTML."""
    rendered = katex.render(page.formulas, seconds)
    text = page.pattern().sub(lambda m: rendered[int(m.group(1))], text)
    return text.replace("/*KATEX-CSS*/", katex.stylesheet(), 1)
