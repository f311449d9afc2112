"""Matrices to LaTeX, elided to their corners *before* any string is built, so a 784 x 128
matrix costs what an 8 x 8 one does. Each result carries an estimate of its printed width
(in em) so the document stage can break long equations before they hit the margin."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .numbers import fmt, fmt_entries

MAX_ROWS = 8
MAX_COLS = 6
COLSEP_EM = 0.9  # 2 x \arraycolsep (5pt) at 11pt
DELIM_EM = 1.0   # the two brackets


@dataclass(frozen=True)
class Tex:
    """A piece of math and its approximate width in em."""

    tex: str
    width: float

    def __str__(self) -> str:
        return self.tex

    def __add__(self, other: Tex) -> Tex:
        return Tex(self.tex + " " + other.tex, self.width + other.width)


_SPACING = re.compile(r"\\(left|right|Big|big|Bigg|,|;|!|displaystyle)(?![a-zA-Z])")
_WORDS = re.compile(r"\\(log|exp|max|min|tanh|sum|operatorname|mathrm|text|mathbf|mathit)(?![a-zA-Z])")
_COMMAND = re.compile(r"\\[a-zA-Z]+")
_SCRIPT = re.compile(r"[_^]\{([^{}]*)\}|[_^](.)")


def text_width(tex: str) -> float:
    """Rough em width of a math string at 11pt: digits 0.5em, minus 0.8em, point 0.28em,
    sub- and superscripts at 70%, each remaining command one character."""
    t = _SPACING.sub("", tex)
    t = re.sub(r"\\times", "xx", t)
    t = re.sub(r"\\(quad)", "xx", t)
    t = _WORDS.sub(lambda m: m.group(1)[:3] if m.group(1) not in ("operatorname", "mathrm", "text", "mathbf", "mathit") else "", t)
    t = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", lambda m: max(m.group(1), m.group(2), key=len), t)
    scripts = 0.0
    for m in _SCRIPT.finditer(t):
        scripts += 0.7 * _plain_width(m.group(1) or m.group(2) or "")
    t = _SCRIPT.sub("", t)
    t = _COMMAND.sub("x", t)
    return _plain_width(t) + scripts


def _plain_width(t: str) -> float:
    t = t.replace("{", "").replace("}", "")
    w = 0.0
    for ch in t:
        if ch == " ":
            continue
        w += 0.8 if ch in "-+=" else 0.28 if ch in ".,()[]|" else 0.5
    return w


def _keep(n: int, limit: int) -> tuple[list[int], bool]:
    if n <= limit:
        return list(range(n)), False
    head = limit - 2
    return list(range(head)) + [n - 1], True


def shown_entries(a: np.ndarray | list | float, max_rows: int = MAX_ROWS,
                  max_cols: int = MAX_COLS) -> list[float]:
    """The entries a matrix of `a` shows (its corners when elided), in reading order."""
    m = as_matrix(a)
    rows, _ = _keep(m.shape[0], max_rows)
    cols, _ = _keep(m.shape[1], max_cols)
    return [float(x) for x in m[np.ix_(rows, cols)].ravel()]


def as_matrix(a: np.ndarray | list | float) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    if a.ndim == 0:
        return a.reshape(1, 1)
    if a.ndim == 1:
        return a.reshape(1, -1)
    return a


MAX_WIDTH_EM = 38.0
WIDTH_SAFETY = 1.12  # the estimate runs about 10% short of what TeX sets (measured on logs)


def matrix(a: np.ndarray | list | float, digits: int = 4, *, max_rows: int = MAX_ROWS,
           max_cols: int = MAX_COLS, factor: bool | int = True, env: str = "bmatrix",
           blank: bool = False, max_width: float = MAX_WIDTH_EM, blank_em: float = 3.4) -> Tex:
    """A bmatrix of `a`; 1-D arrays are shown as rows. `blank` gives empty cells to fill in,
    `blank_em` wide. Columns are elided further while the matrix would be wider than
    `max_width` em."""
    while True:
        t = _matrix(a, digits, max_rows, max_cols, factor, env, blank, blank_em)
        if t.width <= max_width or max_cols <= 3 or as_matrix(a).shape[1] <= 3:
            return t
        max_cols = min(max_cols, as_matrix(a).shape[1]) - 1


def _matrix(a: np.ndarray | list | float, digits: int, max_rows: int, max_cols: int,
            factor: bool | int, env: str, blank: bool, blank_em: float = 3.4) -> Tex:
    m = as_matrix(a)
    r, c = m.shape
    rows, cut_r = _keep(r, max_rows)
    cols, cut_c = _keep(c, max_cols)
    sub = m[np.ix_(rows, cols)]
    scale = None
    if blank:  # a framed box per entry (\fboxsep 3 pt each side, ~0.6 em with the rules)
        cells = [[rf"\fbox{{\rule{{0pt}}{{1.5em}}\hspace{{{blank_em - 0.6:.1f}em}}}}"
                  for _ in cols] for _ in rows]
    else:  # the power of ten is chosen from the shown corners and applied exactly
        scale, flat = fmt_entries(sub.ravel().tolist(), digits, factor)
        cells = [flat[i * len(cols):(i + 1) * len(cols)] for i in range(len(rows))]
    if cut_c:
        for row in cells:
            row.insert(len(cols) - 1, r"\cdots")
    if cut_r:
        dots = [r"\vdots"] * len(cells[0])
        if cut_c:
            dots[len(cols) - 1] = r"\ddots"
        cells.insert(len(rows) - 1, dots)
    widths = [max(text_width(row[j]) if not blank else blank_em for row in cells)
              for j in range(len(cells[0]))]
    body = (r" \\[0.6ex] " if blank else r" \\ ").join(" & ".join(row) for row in cells)
    tex = f"\\begin{{{env}}} {body} \\end{{{env}}}"
    width = (sum(widths) + COLSEP_EM * len(widths)) * WIDTH_SAFETY + DELIM_EM
    if cut_r or cut_c:
        tex += f"_{{{r} \\times {c}}}"
        width += 0.7 * _plain_width(f"{r}x{c}") + 1.0
    if scale is not None:
        tex = f"10^{{{scale}}} {tex}"
        width += 1.8
    return Tex(tex, width)


def scalar(x: float, digits: int = 4) -> Tex:
    s = fmt(x, digits)
    return Tex(s, text_width(s))


def value(a: np.ndarray | list | float, digits: int = 4, **kw: object) -> Tex:
    """A scalar as a number, anything with more than one entry as a matrix."""
    arr = np.asarray(a, dtype=float)
    if arr.size == 1 and arr.ndim <= 2 and not kw.get("blank"):
        return scalar(float(arr.ravel()[0]), digits)
    return matrix(arr, digits, **kw)  # type: ignore[arg-type]
