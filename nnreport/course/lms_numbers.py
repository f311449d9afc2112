"""The numbers the LMS exports write (moodle.py, canvas.py): each entry's accepted range, exact in decimal,
the digits that state it to Moodle and Canvas, the power of ten it is asked in, and the
weights that give each asked value its share of the spec's points (docs/lms.md).

- Range of an entry: with `rounding: chain`, answers.json's tolerance [low, high] (the
  floats' shortest decimals); otherwise the value +- one unit in its last printed digit
  (`unit`). An exact zero also gets its unit on each side (the chain range of a zero that
  every rounding path reaches is the single point 0, which no typed number could hit after
  Canvas's 4-decimal rounding).
- Moodle: `value:tolerance`, the midpoint and half-width rounded so that the interval holds
  the range and is wider by at most SLACK of its width (`moodle_pair`).
- Canvas: the bounds floored and ceiled the same way, with at most 15 significant digits so
  that Canvas's Float reading gives back exactly the decimal written (`canvas_bounds`); each
  entry is asked in units of 10^k such that one unit of its shown digits is at least 1e-4
  (`canvas_scale`), since Canvas's quiz page rounds typed numbers to 4 decimals.
"""

from __future__ import annotations

import math
from decimal import (
    ROUND_CEILING,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    localcontext,
)
from fractions import Fraction
from typing import Any

import numpy as np

from ..engine.printed import Decimals

SLACK = Decimal("1e-6")   # how much wider than the range an LMS interval may be (of its width)
CANVAS_DIGITS = 15        # at most this many significant digits survive Canvas's to_f / to_s
CANVAS_STEP = -4          # Canvas's quiz page rounds typed numbers to 10^-4 (toFixed(4))
WEIGHT_MAX = 10_000       # Moodle weights (integers) beyond this are rounded, not exact
_CTX = Context(prec=80)   # exact for sums of float decimals and powers of ten

Entry = tuple[tuple[int, ...], Decimal, Decimal, Decimal, Decimal]  # index, value, lo, hi, unit


def _pow10(e: int) -> Decimal:
    return Decimal(1).scaleb(e)


def unit(x: float, digits: int) -> Decimal:
    """One unit in the last printed digit: 10^(E - digits + 1), E the decimal exponent of x
    rounded half up to `digits` significant digits (9.9996 prints 10.00 at 4 digits: 0.01);
    10^-digits for 0, and for every entry when digits count decimal places."""
    if x == 0 or isinstance(digits, Decimals):
        return _pow10(-int(digits))
    d = abs(Decimal(repr(float(x))))
    with localcontext(_CTX):
        r = d.quantize(_pow10(d.adjusted() - digits + 1), rounding=ROUND_HALF_UP)
    return _pow10(r.adjusted() - digits + 1)


def ranges(answers: dict[str, Any], pid: str, name: str, digits: int) -> list[Entry]:
    """Every entry of one asked value: (index, value, low, high, unit), exact decimals in the
    value's own units (not scaled). An entry that is not finite (a causal mask's score,
    -infinity, null in answers.json) is no answer: it has no entry."""
    v = np.asarray(answers["problems"][pid][name], dtype=float)
    tol = answers.get("tolerance", {}).get(pid, {}).get(name)
    lows = highs = None
    if tol is not None:
        lows = np.asarray(tol["low"], dtype=float).reshape(v.shape)
        highs = np.asarray(tol["high"], dtype=float).reshape(v.shape)
    out = []
    with localcontext(_CTX):
        for idx in np.ndindex(v.shape):
            x = float(v[idx])
            if not math.isfinite(x):
                continue
            d, u = Decimal(repr(x)), unit(x, digits)
            if lows is None or highs is None:
                lo, hi = d - u, d + u
            else:
                lo, hi = Decimal(repr(float(lows[idx]))), Decimal(repr(float(highs[idx])))
                if x == 0:
                    lo, hi = lo - u, hi + u
            out.append((idx, d, lo, hi, u))
    return out


def moodle_scale(v: Any) -> int:
    """The power of ten a whole value is shown in on Moodle: 0 unless its largest entry is
    below 0.01 or at least 10^5 (for reading only: Moodle compares typed numbers unrounded)."""
    a = np.abs(np.asarray(v, dtype=float))
    a = a[np.isfinite(a)]  # a causal mask's -infinity is no answer
    top = float(a.max()) if a.size else 0.0
    if top == 0 or 1e-2 <= top < 1e5:
        return 0
    return int(math.floor(math.log10(top)))


def canvas_scale(x: Decimal, u: Decimal) -> int:
    """The power of ten one entry is asked in on Canvas: 0 when a unit of its shown digits is
    at least 1e-4 and it is below 10^5; else the entry's leading digit goes to the ones
    place, or lower still until that unit is 1e-4."""
    top = u.adjusted() - CANVAS_STEP          # the lowest k with u / 10^k >= 1e-4
    if top >= 0 and abs(x) < 100_000:
        return 0
    return top if x == 0 else min(x.adjusted(), top)


def moodle_pair(lo: Decimal, hi: Decimal) -> tuple[Decimal, Decimal]:
    """(answer, tolerance) for Moodle's `=answer:tolerance`, which accepts
    [answer - tolerance, answer + tolerance]: the midpoint rounded to the fewest decimals that
    keep it within SLACK/2 of the half-width, the half-width plus that shift rounded up the
    same way. The interval holds [lo, hi] and is wider by at most SLACK * (hi - lo)."""
    with localcontext(_CTX):
        m, t = (lo + hi) / 2, (hi - lo) / 2
        if t <= 0:
            return m, Decimal(0)
        q = t.adjusted()
        while abs((mm := m.quantize(_pow10(q), rounding=ROUND_HALF_EVEN)) - m) > SLACK * t / 2:
            q -= 1
        shift, q = abs(mm - m), t.adjusted()
        while (tt := (t + shift).quantize(_pow10(q), rounding=ROUND_CEILING)) - t > SLACK * t:
            q -= 1
        return mm, tt


def canvas_bounds(lo: Decimal, hi: Decimal) -> tuple[Decimal, Decimal]:
    """[lo, hi] floored and ceiled to the fewest decimals that widen it by at most
    SLACK * (hi - lo), with at most CANVAS_DIGITS significant digits (then the widening can
    be more: only for values printed with more than about 8 digits)."""
    with localcontext(_CTX):
        w = hi - lo
        top = max(abs(lo), abs(hi)).adjusted()
        q = w.adjusted() if w > 0 else top
        while True:
            a = lo.quantize(_pow10(q), rounding=ROUND_FLOOR)
            b = hi.quantize(_pow10(q), rounding=ROUND_CEILING)
            if (w > 0 and (lo - a) + (b - hi) <= SLACK * w) or top - q + 2 > CANVAS_DIGITS:
                return a, b
            q -= 1


def scaled(d: Decimal, k: int) -> Decimal:
    """d in units of 10^k, exactly."""
    return d.scaleb(-k, _CTX)


def text(d: Decimal) -> str:
    """A decimal as both LMSs read it: plain digits with a dot, or 1.5e-9 when far from 1."""
    if d == 0:
        return "0"
    d = d.normalize(_CTX)
    return format(d, "f") if -7 <= d.adjusted() < 16 else format(d, "e")


def _fraction(p: float) -> Fraction:
    """Points as the fraction a teacher meant (10/3 from 3.3333333333333335)."""
    f = Fraction(p).limit_denominator(10_000)
    return f if abs(float(f) - p) <= 1e-12 * abs(p) else Fraction(p)


def weights(shares: dict[Any, Fraction]) -> dict[Any, int]:
    """Integer weights with exactly the ratios of `shares` (each multiplied by the least
    common denominator), or, if that makes the largest exceed WEIGHT_MAX, rounded with the
    largest at WEIGHT_MAX (each then within 0.5 of its exact value, at least 1)."""
    if not shares:
        return {}
    lcd = math.lcm(*(f.denominator for f in shares.values()))
    exact = {k: f * lcd for k, f in shares.items()}
    if max(exact.values()) <= WEIGHT_MAX:
        return {k: int(f) for k, f in exact.items()}
    top = max(shares.values())
    return {k: max(1, round(f / top * WEIGHT_MAX)) for k, f in shares.items()}


def entry_points(points: dict[str, dict[str, float]], answers: dict[str, Any],
                 names: list[tuple[str, str, int]]) -> dict[tuple[str, str], Fraction]:
    """Each asked value's points divided by its number of entries, as a fraction."""
    return {(pid, name): _fraction(points[pid][name])
            / max(int(np.isfinite(np.asarray(answers["problems"][pid][name],
                                             dtype=float)).sum()), 1)
            for pid, name, _ in names}


Row = dict[str, Any]  # one version: label, answers, given, feedback, points, text
Names = list[tuple[str, str, int]]  # (problem, value, digits) of every value that can be asked


def asked(row: Row, names: Names) -> Names:
    """The values the LMS asks: those the question sheet gives points."""
    pts = row.get("points", {})
    return [(p, n, d) for p, n, d in names if pts.get(p, {}).get(n, 0) > 0]


def unit_label(name: str, k: int) -> str:
    return name + (f" (in units of 10^{k})" if k else "")
