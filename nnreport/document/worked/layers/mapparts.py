"""Pieces the map layers' worked lines share (conv.py, pool.py, batchnorm.py, dropout.py,
shaped.py, ../ndmaps.py, ../given.py): exact-where-possible arithmetic (`nearest`), indices
and names of entries and maps (`idx`, `sym`), written-out sums (`term`, `sum_of`,
`samples_sum`), one power of ten per quantity (`power`), and the width rules that keep a line
on the page: a group of maps set as one piece only when it fits (`unit`, `joint`), a map
that prints elided (`elided`)."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from ....engine import exact
from ....render.maps import decide
from ....render.matrices import MAX_COLS, MAX_ROWS, Tex
from ....render.numbers import fmt
from ...lines import piece_tex
from ...steps import Piece

FULL_TERMS = 18  # products of an entry written out; a longer sum shows the first and last
UNIT_EM = 26.0  # widest group of maps set as one piece (sum([window] (.) [kernel])): a wider
#                 one is set as its pieces, the line breaking between its maps
EXACT_ENTRIES = 4096  # inputs up to this many entries are worked in exact rationals


def nearest(fn: Callable[..., Any], *arrays: Any) -> Any:
    """fn of the arrays as the solution prints it: on small finite inputs computed in exact
    rationals and each value the float nearest to its exact value (a sum that cancels is 0,
    never -1.1e-16: engine/solve.py's rule for an exact step), else in floats. A tuple result
    is converted entry by entry; None arguments are passed through."""
    if sum(int(np.size(a)) for a in arrays if a is not None) <= EXACT_ENTRIES:
        rs = [None if a is None else exact.rational(a) for a in arrays]
        if all(r is not None for r, a in zip(rs, arrays, strict=True) if a is not None):
            out = fn(*rs)
            if isinstance(out, tuple):
                return tuple(_float(o) for o in out)
            return _float(out)
    return fn(*[None if a is None else np.asarray(a, dtype=float) for a in arrays])


def _float(e: Any) -> Any:
    f = exact.to_float(np.asarray(e, dtype=object))
    return f if np.ndim(e) else float(f)


def idx(*ks: int) -> str:
    """1-based indices as a subscript: (0, 1, 2) -> '1,23'; a row and column written together
    (23) unless one of them has two digits (1,10,2)."""
    *head, i, j = [k + 1 for k in ks] if len(ks) >= 2 else [0, *[k + 1 for k in ks]]
    tail = f"{i}{j}" if i < 10 and j < 10 else f"{i},{j}"
    return ",".join([*(str(h) for h in head), tail]) if len(ks) >= 2 else str(ks[0] + 1)


def sym(name: str, n: int | str | None = None, sub: str = "") -> str:
    """An entry or a map of a quantity: X^{(n)}_{sub} (n 0-based, or a letter such as 'n');
    a name with a subscript of its own is put in parentheses, (Z_{1})^{(n)}_{sub}, as the
    dense lines write (Z_{1})_{11}."""
    base = rf"\left({name}\right)" if "_" in name and (n is not None or sub) else name
    sup = "" if n is None else f"^{{({n})}}" if isinstance(n, str) else f"^{{({n + 1})}}"
    return base + sup + (f"_{{{sub}}}" if sub else "")


def term(a: float, b: float, d: int) -> str:
    """'a \\cdot b', a negative factor in parentheses."""
    x, y = fmt(a, d), fmt(b, d)
    return f"{x} \\cdot " + (rf"\left({y}\right)" if y.startswith("-") else y)


def sum_of(terms: list[str], pre: str = "") -> list[Piece]:
    """`pre (t1 + t2 - t3 ...)` as separate pieces (a long sum breaks between its terms);
    more than FULL_TERMS terms: the first ones, \\cdots and the last one."""
    if not terms:
        terms = ["0"]
    if len(terms) > FULL_TERMS:
        terms = terms[:FULL_TERMS - 2] + [r"\cdots", terms[-1]]
    out: list[Piece] = [(pre + r"\left(" if pre else "") + terms[0]]
    for t in terms[1:]:
        out.append("- " + t[1:] if t.startswith("-") else "+ " + t)
    if pre:
        out.append(r"\right)")
    return out


def mean_of(m: int, mean: bool) -> str:
    """The mean's 1/m before a sum over the batch (none for a batch of one or a sum)."""
    return rf"\frac{{1}}{{{m}}}" if mean and m > 1 else ""


def mean_scale(a: np.ndarray, m: int, mean: bool) -> Any:
    """1/m (exact on exact arrays) or 1."""
    if not mean:
        return 1
    return Fraction(1, m) if a.dtype == object else 1 / m


SHOWN_SAMPLES = 5  # samples written out in a sum over the batch; more: 3, dots and the last


def few(m: int) -> list[int | None]:
    """The samples a sum over the batch writes out (None: the dots)."""
    return list(range(m)) if m <= SHOWN_SAMPLES else [0, 1, 2, None, m - 1]


def samples_sum(m: int, one: Callable[[int], Piece | list[Piece]], pre: str = ""
                ) -> list[Piece]:
    r"""pre (one(1) + one(2) + ...) over the batch's samples; a large batch: the first three,
    \cdots and the last. `one` gives a piece or a list of pieces (a group set apart)."""
    out: list[Piece] = [pre + r"\left(" if pre else ""]
    for k, n in enumerate(few(m)):
        t = r"\cdots" if n is None else one(n)
        out += (["+"] if k else []) + (t if isinstance(t, list) else [t])
    if pre:
        out.append(r"\right)")
    return out


def power(maps_: np.ndarray, d: int) -> bool | int:
    """One power of ten for all the maps of a quantity (issue 22.4: Z's maps read alike),
    decided from the entries they show; False: none."""
    k = decide(list(np.asarray(maps_, dtype=float).reshape(-1, *np.shape(maps_)[-2:])), d)
    return False if k is None else k


def pieces(ts: list[Tex]) -> list[Piece]:
    """Maps (render/maps.py's Tex pieces) as one side of a Step."""
    return [*ts]


def unit(*parts: Piece) -> Tex:
    """Pieces set as one (a line never breaks inside): sum([window] (.) [kernel])."""
    ts = [piece_tex(p) for p in parts]
    return Tex(" ".join(t.tex for t in ts), sum(t.width for t in ts))


def joint(*parts: Piece) -> list[Piece]:
    """Pieces set as one (a unit) when that fits the width a line leaves (UNIT_EM); a wider
    group as its pieces, so the line breaks between its maps (sum([A] then (.) [B]) on the
    next row), never runs off the page."""
    u = unit(*parts)
    return [u] if u.width <= UNIT_EM else list(parts)


def elided(*maps_: np.ndarray) -> bool:
    """Whether a map would print with rows or columns left out (corners and dots)."""
    return any(np.shape(a)[-2] > MAX_ROWS or np.shape(a)[-1] > MAX_COLS for a in maps_)
