"""Math for HTML pages: LaTeX -> KaTeX's HTML (with MathML), rendered at build time by the
vendored KaTeX (nnreport/vendor/katex, MIT) under Node.js, so a page needs no script and no
network when it is viewed. Node runs like TeX: fixed argv, a private folder, OS limits, its
process group killed on every way out (sandbox.py). A formula KaTeX cannot render is a build
error naming it, never red text in a page."""

from __future__ import annotations

import json
import shutil
import tempfile
from importlib.resources import files
from pathlib import Path

from ..errors import NNReportError
from . import sandbox

VENDOR = files("nnreport").joinpath("vendor/katex")


class MathError(NNReportError):
    exit_code = 4


class NodeMissing(NNReportError):
    exit_code = 3


def node() -> str | None:
    return shutil.which("node") or shutil.which("nodejs")


def render(formulas: list[tuple[str, bool]], seconds: float = 60.0) -> list[str]:
    """KaTeX HTML for each (tex, display) pair, in order."""
    if not formulas:
        return []
    exe = node()
    if exe is None:
        raise NodeMissing("Node.js is needed for HTML output (math is rendered at build time): "
                          "install it (Debian: apt-get install nodejs)")
    with tempfile.TemporaryDirectory(prefix="nnreport-katex-") as tmp:
        work = Path(tmp)
        for name in ("render.js", "katex.min.js"):
            (work / name).write_bytes(VENDOR.joinpath(name).read_bytes())
        (work / "in.json").write_text(json.dumps(formulas), encoding="utf-8")
        limits = sandbox.Limits(seconds=seconds, cpu_seconds=int(seconds) + 1,
                                file_bytes=200 * 1024**2)
        out = sandbox.run([exe, "--max-old-space-size=1024", "render.js", "in.json", "out.json"],
                          work, limits)
        if out.timed_out or out.returncode != 0 or not (work / "out.json").is_file():
            raise MathError("rendering the math for HTML failed"
                            + (" (time limit)" if out.timed_out else "") + ": "
                            + out.output.decode("utf-8", "replace")[-500:])
        results = json.loads((work / "out.json").read_text(encoding="utf-8"))
    html = []
    for (tex, _), r in zip(formulas, results, strict=True):
        if "error" in r:
            raise MathError(f"a formula cannot be rendered for HTML: {r['error']}\n    "
                            f"formula: {tex[:300]}")
        html.append(r["html"])
    return html


def stylesheet() -> str:
    """KaTeX's CSS with its fonts inlined as data: URIs (the page stays one file)."""
    import base64
    import re

    css = VENDOR.joinpath("katex.min.css").read_text(encoding="utf-8")

    def inline(m: re.Match[str]) -> str:
        name = m.group(1)
        data = VENDOR.joinpath("fonts", name).read_bytes()
        return f"url(data:font/woff2;base64,{base64.b64encode(data).decode()}) format(\"woff2\")"

    css = re.sub(r"url\(fonts/([A-Za-z0-9_-]+\.woff2)\) format\(\"woff2\"\)", inline, css)
    # the woff and ttf fallbacks are not shipped: every browser that runs KaTeX reads woff2
    return re.sub(r",\s*url\(fonts/[^)]+\) format\(\"(woff|truetype)\"\)", "", css)
