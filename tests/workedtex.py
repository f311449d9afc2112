"""Steps -> a small standalone .tex with the key's preamble, compiled by pdflatex; and the
numbers read back out, checked against independently computed values by the printing rule
(docs/spec.md, 'Numbers'), written out here again without nnreport's code."""

from __future__ import annotations

import re
import shutil
import subprocess
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
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


def correct(n: Number, x: float | Fraction, digits: int) -> bool:
    """Whether the printed number n is the true value x by the rule: x itself, or x rounded
    at n's last digit (to within float noise, 1e-9 of a unit there) showing at least `digits`
    significant digits. x exact (a Fraction from the test's own loops) or a float (its
    shortest decimal)."""
    exact = x if isinstance(x, Fraction) else Fraction(Decimal(repr(float(x))))
    shown = Fraction(n.value)
    if shown == exact:
        return True
    unit = Fraction(10) ** n.last
    return n.sig >= digits and abs(shown - exact) <= unit / 2 * (1 + Fraction(1, 10**9))


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


def joined(step: Step) -> str:
    """A step's align* rows as one line, its tags dropped."""
    from nnreport.document.lines import rows

    text = " ".join(r.split(r"\tag*")[0] for r in rows(step))
    # the line breaks' marks: continuation indents, '&=' and the brackets closed at a break
    text = text.replace(r"&\qquad ", "").replace("&= ", "= ").replace(f"{step.lhs} &", step.lhs)
    return re.sub(r"\\(left|right)\.", "", text)


def result_tex(step: Step) -> str:
    """The LaTeX after a step's last '=': its printed result."""
    return joined(step).rsplit("=", 1)[1].strip()


def unstrut(tex: str) -> str:
    """A marked map's rows without their struts (a marked entry's height, \vphantom)."""
    return re.sub(r"\\vphantom\{(\\colorbox\{[a-z]+\}\{\$)?(\\boxed\{0\}|0)(\$\})?\}", "",
                  tex)


def unmarked(tex: str) -> str:
    """A map's entries without their shading and boxes."""
    tex = unstrut(tex)
    tex = re.sub(r"\\colorbox\{[a-z]+\}\{\$(.*?)\$\}", r"\1", tex)
    return re.sub(r"\\boxed\{([^{}]*)\}", r"\1", tex)


def matrices(tex: str) -> list[str]:
    """Every bmatrix of a piece of LaTeX, with its elided shape subscript, marks removed."""
    return [m.group(0) for m in re.finditer(
        r"(?:10\^\{-?\d+\} )?\\begin\{bmatrix\}.*?\\end\{bmatrix\}(?:_\{\d+ \\times \d+\})?",
        unmarked(tex))]


def check_printed(tex: str, want: np.ndarray | float | Fraction, digits: int) -> int:
    """Every number of a printed value (a number or a bmatrix, elided or not) is the
    independent value `want` by the rule; returns how many numbers were checked."""
    from texnumbers import parse_matrix

    a = np.asarray(want, dtype=object if np.asarray(want).dtype == object else float)
    a = a.reshape(1, -1) if a.ndim == 1 else a.reshape(1, 1) if a.ndim == 0 else a
    mat = parse_matrix(tex)
    assert mat.shape == a.shape, (mat.shape, a.shape, tex[:200])
    for (i, j), n in mat.cells.items():
        assert correct(n, a[i, j], digits), (n.text, a[i, j], digits)
    return len(mat.cells)


def sum_value(tex: str) -> Fraction:
    """The exact value of a written-out sum of products such as
    '\\frac{1}{2}\\left(1 \\cdot 0.5 + 3 \\cdot \\left(-1\\right) - 0.2\\right)', read with
    Python's own arithmetic on Fractions (numbers as written, no rounding)."""
    assert r"\cdots" not in tex, "an elided sum has no value to check"
    t = tex.replace(r"\left(", "(").replace(r"\right)", ")").replace(r"\cdot", "*")
    t = re.sub(r"\\frac\{([\d.]+)\}\{(\d+)\}", r"(\1/\2)", t)
    t = re.sub(r"\)\s*\(", ")*(", t)  # 1/2 (a + b): a product written by juxtaposition
    t = re.sub(r"\\times\s*10\^\{(-?\d+)\}", r"*10**(\1)", t)
    assert "\\" not in t, t
    t = re.sub(r"(\d+(?:\.\d+)?)", r'F("\1")', t)
    return Fraction(eval(t, {"F": Fraction, "__builtins__": {}}))  # noqa: S307 (our own LaTeX)


def sum_checks(step: Step, want: Fraction) -> bool:
    """The written-out sum of a step (the side before its result) equals `want` exactly;
    True also when the sum is elided (too many terms to write: first ones, dots, last)."""
    tex = joined(step).split("=")[-2]
    return r"\cdots" in tex or sum_value(tex) == want
