"""Read numbers back out of nnreport's LaTeX, independently of nnreport's own code.

Tests use it to check what a reader sees against the true values:

- `parse_number("-2.346 \\times 10^{-4}")` -> `Number` (exact Decimal value, the decimal
  exponent of its last printed digit, and how many significant digits it shows);
- `parse_matrix(tex)` -> `Matrix`: a scalar, or a bmatrix with an optional leading `10^{k}`
  factor, `\\cdots`/`\\vdots`/`\\ddots` elision and a `_{r \\times c}` shape subscript; its
  `cells` map (row, column) of the full matrix to the Number shown there;
- `parse_value(tex)` -> (float array of the full shape, NaN where elided; shape).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

_NUM = re.compile(r"^(-?)(?:(\d+(?:\.\d+)?)(?:\s*\\times\s*10\^\{(-?\d+)\})?|10\^\{(-?\d+)\})$")
_FACTOR = re.compile(r"^\s*10\^\{(-?\d+)\}\s*(?=\\begin)")
_BODY = re.compile(r"\\begin\{([pbv]?matrix)\}(.*)\\end\{\1\}\s*(?:_\{(\d+)\s*\\times\s*(\d+)\})?\s*$", re.S)


@dataclass(frozen=True)
class Number:
    """One printed number. `last` is the decimal exponent of the last printed digit; an
    integer ending in zeros (1000) is ambiguous, so `last_max` is the largest exponent it
    may stand for (1000: last 0, last_max 3). `sig` counts the significant digits shown
    when the last digit is at `last` (0 for zero)."""

    text: str
    value: Decimal
    last: int
    last_max: int
    sig: int

    def scaled(self, k: int) -> Number:
        """The number as it reads under a matrix factor 10^k."""
        return Number(self.text, self.value.scaleb(k), self.last + k, self.last_max + k, self.sig)


def parse_number(tex: str) -> Number:
    t = tex.strip()
    if t in (r"\mathrm{NaN}", r"\infty", r"-\infty"):
        v = Decimal("NaN") if "NaN" in t else Decimal("-Infinity" if t.startswith("-") else "Infinity")
        return Number(t, v, 0, 0, 0)
    m = _NUM.match(t)
    if not m:
        raise ValueError(f"not a number: {tex!r}")
    sign, mant, exp, bare = m.groups()
    if bare is not None:
        mant, exp = "1", bare
    e = int(exp or 0)
    int_part, _, frac = mant.partition(".")
    digits = (int_part + frac).lstrip("0")
    value = Decimal(sign + mant).scaleb(e)
    if not digits:
        return Number(t, value, 0, 0, 0)
    last = e - len(frac)
    last_max = last
    if not frac:  # trailing zeros of an integer may or may not be significant
        last_max = last + len(digits) - len(digits.rstrip("0"))
    return Number(t, value, last, last_max, len(digits))


@dataclass(frozen=True)
class Matrix:
    shape: tuple[int, int]
    cells: dict[tuple[int, int], Number]
    factor: int  # the leading 10^{factor}, 0 if none (already applied to cells)


def _split(body: str, sep: str) -> list[str]:
    return [s.strip() for s in re.split(sep, body)]


def _positions(marks: list[bool], n: int) -> list[int | None]:
    """Full-matrix indices of shown rows/columns: those before the dots count from the start,
    those after from the end; the dots line itself maps to None."""
    if True not in marks:
        return list(range(len(marks)))
    cut = marks.index(True)
    after = len(marks) - cut - 1
    return list(range(cut)) + [None] + [n - after + i for i in range(after)]


def parse_matrix(tex: str) -> Matrix:
    t = tex.strip()
    if r"\begin" not in t:
        return Matrix((1, 1), {(0, 0): parse_number(t)}, 0)
    f = _FACTOR.match(t)
    factor = int(f.group(1)) if f else 0
    body_m = _BODY.search(t[f.end():] if f else t)
    if not body_m:
        raise ValueError(f"not a matrix: {tex[:80]!r}")
    rows = [_split(r, r"(?<!\\)&") for r in _split(body_m.group(2), r"\\\\")]
    if len({len(r) for r in rows}) != 1:
        raise ValueError("ragged matrix")
    row_dots = [all(c in (r"\vdots", r"\ddots") for c in r) for r in rows]
    col_dots = [all(r[j] in (r"\cdots", r"\ddots") for r, d in zip(rows, row_dots, strict=True) if not d)
                for j in range(len(rows[0]))]
    if body_m.group(3):
        shape = (int(body_m.group(3)), int(body_m.group(4)))
    else:
        if any(row_dots) or any(col_dots):
            raise ValueError("elided matrix without a shape subscript")
        shape = (len(rows), len(rows[0]))
    ri, ci = _positions(row_dots, shape[0]), _positions(col_dots, shape[1])
    cells = {}
    for a, row in enumerate(rows):
        for b, cell in enumerate(row):
            i, j = ri[a], ci[b]
            if i is None or j is None:
                continue
            cells[(i, j)] = parse_number(cell).scaled(factor)
    if len({i for i, _ in cells}) != len([x for x in ri if x is not None]):
        raise ValueError("row indices collide")
    return Matrix(shape, cells, factor)


def parse_value(tex: str) -> tuple[np.ndarray, tuple[int, int]]:
    """The printed values as floats in the full shape, NaN where the matrix is elided."""
    m = parse_matrix(tex)
    out = np.full(m.shape, np.nan)
    for (i, j), n in m.cells.items():
        out[i, j] = float(n.value)
    return out, m.shape
