"""Helpers of the sequence layers' worked-step tests (test_rnn_worked.py,
test_attention_worked.py): a standalone .tex with the key's fixed preamble, compiled by
pdflatex; the align* body split back into its steps; every matrix and number read back
(tests/texnumbers.py) and checked against a value computed in the test, correctly rounded
by the rule of docs/spec.md ('Numbers') restated here, not by nnreport's code."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import numpy as np
from texnumbers import Number, parse_matrix, parse_number

ROOT = Path(__file__).resolve().parent.parent
END = "%% nnreport: end of the fixed preamble"


def preamble() -> str:
    """The key's fixed preamble (templates/base.tex.j2 up to its end mark), and its shape
    macro."""
    text = (ROOT / "nnreport/templates/base.tex.j2").read_text()
    start = text.index(r"\documentclass")
    return text[start:text.index(END)] + "\\newcommand{\\nnshape}[1]{\\quad\\text{\\footnotesize" \
        "\\color{black!70}$#1$}}\n"


def compile_body(body: str, folder: Path, name: str) -> tuple[Path, Path, str]:
    """body in an align* of a one-page-style document, compiled in `folder`; (tex, pdf, log).
    The PNGs of its pages go to $NNREPORT_PNG_DIR when set (to look at)."""
    tex = folder / f"{name}.tex"
    tex.write_text(preamble() + "\\begin{document}\n\\begin{align*}\n" + body +
                   "\n\\end{align*}\n\\end{document}\n")
    r = subprocess.run(["pdflatex", "-no-shell-escape", "-interaction=nonstopmode",
                        "-halt-on-error", tex.name], cwd=folder, capture_output=True, text=True,
                       timeout=120)
    log = (folder / f"{name}.log").read_text(errors="replace")
    assert r.returncode == 0, log[-3000:]
    pdf = folder / f"{name}.pdf"
    assert pdf.exists() and pdf.stat().st_size > 1000
    subprocess.run(["pdftoppm", "-png", "-r", "60", pdf.name, name], cwd=folder, check=True,
                   timeout=120)
    assert list(folder.glob(f"{name}*.png"))
    out = os.environ.get("NNREPORT_PNG_DIR")
    if out and Path(out).resolve() != folder.resolve():
        for p in folder.glob(f"{name}*.png"):
            shutil.copy(p, Path(out) / p.name)
    return tex, pdf, log


def overfull(log: str) -> list[float]:
    """The points by which lines stick out into the margin."""
    return [float(x) for x in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]


_SEP = re.compile(r" \\\\\*?\[0\.8ex\]\n")
_NOTE = re.compile(r"^\s*\\shortintertext\{.*\}\s*$", re.M)
_TAG = re.compile(r"\\tag\*\{.*\}\s*$")


def chunks(body: str) -> list[str]:
    """The align* body split into its steps, notes removed, rows joined by one space."""
    out = []
    for part in _SEP.split(body):
        part = _NOTE.sub("", part)
        rows = [_TAG.sub("", r).strip() for r in re.split(r" \\\\\*\n", part)]
        out.append(" ".join(r for r in rows if r))
    return out


def lhs_and_sides(chunk: str) -> tuple[str, list[str]]:
    """'lhs &= a = b &= c' -> (lhs, [a, b, c]); a continuation row's '&\\qquad' joins its
    side."""
    lhs, _, rest = chunk.partition("&=")
    rest = rest.replace(r"&\qquad", " ").replace("&=", "=")
    return lhs.strip(), [s.strip() for s in re.split(r"(?<![<>\\])=", rest)]


_ITEM = re.compile(r"(?:10\^\{(-?\d+)\}\s*)?\\begin\{bmatrix\}(.*?)\\end\{bmatrix\}"
                   r"(_\{\d+ \\times \d+\})?", re.S)


def matrices(text: str) -> list[tuple[int, np.ndarray, dict]]:
    """Every bmatrix of a text in order: (the 10^k before it or 0, its full shape, its cells
    by their place in the full matrix; an elided matrix shows its corners)."""
    out = []
    for m in _ITEM.finditer(text):
        k = int(m.group(1) or 0)
        mat = parse_matrix(r"\begin{bmatrix}" + m.group(2) + r"\end{bmatrix}" + (m.group(3) or ""))
        out.append((k, np.array(mat.shape), {ij: n.scaled(k) for ij, n in mat.cells.items()}))
    return out


def rounded_ok(n: Number, x: float, digits: int) -> bool:
    """Whether the printed number n is x by the printing rule: x rounded half away from zero to
    at least `digits` significant digits, or fewer when they are the whole exact value (0.08:
    the loops' float, summed in another order, may be 0.08000000000000002); 0 only for 0 (or a cancellation's float noise, under 1e-12); infinities as
    such."""
    if np.isinf(x):
        return n.value.is_infinite() and (n.value < 0) == (x < 0)
    if abs(x) < 1e-12:
        return n.value == 0
    exact = Decimal(repr(float(x)))
    if n.value == exact:
        return True
    if n.value == 0:
        return False
    if n.sig < digits:  # an exact short decimal: the loops' float may differ in its last bits
        return abs(n.value - exact) <= abs(exact) * Decimal("1e-12")
    err = abs(n.value - exact)
    half = Decimal(5).scaleb(n.last - 1)
    return err <= half * (1 + Decimal("1e-9")) and n.sig >= digits


def check_value(printed: str | tuple, want: np.ndarray | float, digits: int) -> None:
    """A printed scalar (string) or a parsed matrix against the values computed in the test."""
    w = np.atleast_2d(np.asarray(want, dtype=float))
    if isinstance(printed, str):
        t = printed.strip()
        if r"\begin" in t:
            items = matrices(t)
            assert len(items) == 1, t
            printed = items[0]
        else:
            n = parse_number(t)
            assert w.size == 1 and rounded_ok(n, float(w.ravel()[0]), digits), (t, w)
            return
    _, shape, cells = printed
    assert tuple(shape) == w.shape, (tuple(shape), w.shape)
    for (i, j), n in cells.items():
        assert rounded_ok(n, float(w[i, j]), digits), (n.text, float(w[i, j]), (i, j))


def check_matrices(chunk: str, wants: list[np.ndarray], digits: int) -> None:
    """The bmatrices of one step, in order, against the arrays the test computed."""
    got = matrices(chunk)
    assert len(got) == len(wants), (len(got), len(wants), chunk[:300])
    for g, w in zip(got, wants, strict=True):
        check_value(g, w, digits)
