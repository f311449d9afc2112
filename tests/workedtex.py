"""Steps -> a small standalone .tex with the key's preamble, compiled by pdflatex; and the
numbers read back out, checked against independently computed values by the printing rule
(docs/spec.md, 'Numbers'), written out here again without nnreport's code."""

from __future__ import annotations

import re
import shutil
import subprocess
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from texnumbers import Number, parse_number

from nnreport.document.lines import align_body
from nnreport.document.steps import Step

ROOT = Path(__file__).resolve().parents[1]
END = "%% nnreport: end of the fixed preamble"
HAVE_TEX = shutil.which("pdflatex") is not None


def preamble() -> str:
    """The key's fixed preamble, as templates/base.tex.j2 writes it (its Jinja comments
    dropped)."""
    text = (ROOT / "nnreport" / "templates" / "base.tex.j2").read_text()
    text = re.sub(r"\(\(=.*?=\)\)\n?", "", text, flags=re.S)
    return text[:text.index(END)]


def document(groups: list[list[Step]]) -> str:
    body = "\n".join(r"\begin{align*}" + "\n" + align_body(g) + "\n" + r"\end{align*}"
                     for g in groups)
    return preamble() + "\\begin{document}\n" + body + "\n\\end{document}\n"


def compile_tex(tex: str, folder: Path, name: str = "doc", png: bool = False) -> Path:
    """pdflatex in `folder` (no shell escape); the PDF's path. Fails the test with the log's
    errors when it does not compile; `png`: also page images at 60 dpi (name-1.png ...)."""
    (folder / f"{name}.tex").write_text(tex)
    run = subprocess.run(["pdflatex", "-no-shell-escape", "-interaction=nonstopmode",
                          "-halt-on-error", f"{name}.tex"], cwd=folder, capture_output=True,
                         text=True, timeout=120)
    log = (folder / f"{name}.log").read_text(errors="replace")
    errors = [ln for ln in log.splitlines() if ln.startswith("!")]
    assert run.returncode == 0 and not errors, "\n".join(errors) or run.stdout[-2000:]
    bad = re.findall(r"Overfull \\hbox \((\d+\.\d+)pt too wide\)", log)
    assert not [b for b in bad if float(b) > 2.0], f"overfull boxes: {bad}"
    if png:
        subprocess.run(["pdftoppm", "-png", "-r", "60", f"{name}.pdf", name], cwd=folder,
                       check=True, timeout=120)
    return folder / f"{name}.pdf"


def expected(x: float, digits: int) -> tuple[Decimal, int | None]:
    """x as the rule prints it: (value, exponent of its last printed digit), the exponent None
    for a short exact decimal printed as it is. The rule: x's shortest decimal; kept whole
    when it has at most `digits` significant digits, else rounded half away from zero to
    `digits` significant digits, but never to fewer than the units (224.37 at 2 digits: 224)."""
    d = Decimal(repr(float(x)))
    if d == 0 or len(d.normalize().as_tuple().digits) <= digits:
        return d, None
    last = max(d.adjusted() - digits + 1, 0) if abs(d) >= 1 else d.adjusted() - digits + 1
    q = Decimal(1).scaleb(last)
    return abs(d).quantize(q, rounding=ROUND_HALF_UP).copy_sign(d), last


def correct(n: Number, x: float, digits: int) -> bool:
    """Whether the printed number n is x by the rule (its trailing zeros kept: 3.000)."""
    want, last = expected(x, digits)
    return n.value == want and (last is None or n.last == last)


def numbers(tex: str) -> list[Number]:
    """Every number in a piece of LaTeX, in order (the 10^{k} of a scientific number kept
    with its mantissa)."""
    out = []
    for m in re.finditer(r"-?\d+(?:\.\d+)?(?:\s*\\times\s*10\^\{-?\d+\})?", tex):
        out.append(parse_number(m.group()))
    return out


def last_number(row: str) -> Number:
    """The number after the last '=' of a row (its result), tags dropped."""
    row = row.split(r"\tag*")[0]
    return parse_number(row.rsplit("=", 1)[1].strip())
