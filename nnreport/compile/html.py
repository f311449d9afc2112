"""HTML pages finished: every formula rendered by KaTeX (one Node run per page) and put in
its place, KaTeX's stylesheet and fonts inlined, figures as SVG inlined as data: URIs, so a
page is one file that needs no network to be read."""

from __future__ import annotations

import base64
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from ..errors import NNReportError
from . import katex


class FigureError(NNReportError):
    exit_code = 4


def svg_of(pdf: Path) -> str:
    """A figure's PDF (drawn by nnreport: matplotlib or its own TikZ) as an SVG data: URI,
    converted by poppler's pdftocairo."""
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
    return "data:image/svg+xml;base64," + base64.b64encode(data).decode()


def finish(text: str, page: Any, seconds: float = 60.0) -> str:
    """Fill the formula markers of `text` (document/html.py's Page) with KaTeX's HTML."""
    rendered = katex.render(page.formulas, seconds)
    text = page.pattern().sub(lambda m: rendered[int(m.group(1))], text)
    return text.replace("/*KATEX-CSS*/", katex.stylesheet(), 1)
