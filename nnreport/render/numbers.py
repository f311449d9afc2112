"""Numbers as a careful person writes them.

- `digits` significant digits (default 4).
- A value shown exactly (6, 0.5, 224) has no trailing zeros; a rounded one keeps all its
  digits (0.9975, 3.000), so the reader can tell 1 from 0.99999.
- Tiny or huge values use scientific notation, 2.350 \\times 10^{-3}: never a column of 0.00.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

SCI_SMALL = 1e-3
SCI_LARGE = 1e5


def _round(x: float, digits: int) -> tuple[Decimal, int, bool]:
    """Round half away from zero on the shortest decimal form of x, as people do (137.25 ->
    137.3, not the binary tie-break 137.2). Returns (rounded, exponent, exact)."""
    # 12 significant digits first: 0.30000000000000004 is the 0.3 the user wrote
    d = Decimal(repr(float(f"{float(x):.12g}")))
    e = d.adjusted()
    r = d.quantize(Decimal(1).scaleb(e - digits + 1), rounding=ROUND_HALF_UP)
    if r.adjusted() > e:  # 9.9996 -> 10.00: one digit more before the point
        e = r.adjusted()
        r = d.quantize(Decimal(1).scaleb(e - digits + 1), rounding=ROUND_HALF_UP)
    return r, e, r == d


def _strip(s: str) -> str:
    return s.rstrip("0").rstrip(".") if "." in s else s


def fmt(x: float, digits: int = 4) -> str:
    """One number as LaTeX math (no $ around it)."""
    x = float(x)
    if math.isnan(x):
        return r"\mathrm{NaN}"
    if math.isinf(x):
        return r"\infty" if x > 0 else r"-\infty"
    if x == 0:
        return "0"
    r, e, exact = _round(x, digits)
    ax = abs(float(r))
    if ax < SCI_SMALL or ax >= SCI_LARGE:
        m = f"{r.scaleb(-e):.{digits - 1}f}"
        if exact:
            m = _strip(m)
        if m in ("1", "-1"):
            return ("-" if m == "-1" else "") + f"10^{{{e}}}"
        return f"{m} \\times 10^{{{e}}}"
    if e >= digits - 1:  # never round away digits before the point: 224, not 220
        d = Decimal(repr(x)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return str(d)
    s = f"{r:f}"
    return _strip(s) if exact else s


def common_exponent(values: list[float], digits: int) -> int | None:
    """A power of ten to factor out of a matrix whose entries are all tiny or all huge."""
    nz = [abs(v) for v in values if v != 0 and math.isfinite(v)]
    if not nz or not all(math.isfinite(v) for v in values):
        return None
    big = max(nz)
    needs_sci = any(v < SCI_SMALL or v >= SCI_LARGE for v in nz)
    if (big < 0.01 and needs_sci) or min(nz) >= SCI_LARGE:
        return math.floor(math.log10(big))
    return None


def fmt_column(values: list[float], digits: int = 4) -> list[str]:
    """Entries of one matrix. Each keeps `digits` significant digits, except that an entry
    so small that it would need scientific notation beside ordinary numbers is written with
    the decimal places of the largest entry (-0.00014 beside 0.06856, not -1.350 x 10^{-4}),
    which keeps columns narrow. If even that rounds to zero, a short scientific form is used,
    so a nonzero value is never shown as 0."""
    finite = [abs(v) for v in values if math.isfinite(v) and v != 0]
    if not finite:
        return [fmt(v, digits) for v in values]
    big = max(finite)
    if big < SCI_SMALL or big >= SCI_LARGE:
        return [fmt(v, digits) for v in values]
    places = max(digits - 1 - math.floor(math.log10(big)), 0)
    out = []
    for v in values:
        if not math.isfinite(v) or v == 0 or abs(v) >= SCI_SMALL:
            out.append(fmt(v, digits))
            continue
        d = Decimal(repr(float(f"{float(v):.12g}")))
        q = d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        if q == 0:
            out.append(fmt(v, 2))
        else:
            out.append(_strip(f"{q:f}") if q == d else f"{q:f}")
    return out
