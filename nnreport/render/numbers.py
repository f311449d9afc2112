"""Numbers as a careful person writes them.

The rule (docs/spec.md, 'Numbers'): every printed number is its true value -- the float's
shortest decimal, repr(x) -- rounded half away from zero to `digits` significant digits. It
may show more correct digits, never fewer:

- an exact shorter decimal prints as it is (6, 0.5, 137.25 at 5 digits);
- digits before the decimal point are never rounded away (224.37 at 2 digits is 224);
- a rounded value keeps its trailing zeros (3.000), so 1 and 0.99999 look different;
- values under 1e-3 or from 1e5 up use scientific notation, 2.346 \\times 10^{-4};
- exact zero prints 0, a nonzero value never does.

A value within TIE_NOISE (relative) of a half-unit boundary is the float noise of an exact
tie (137.25 computed as 137.24999999999997) and rounds as the tie does, up: 137.3.
A matrix may share one power of ten (`common_exponent`), applied exactly in Decimal; each
entry then follows the same rule, so no entry loses digits to its neighbours.
"""

from __future__ import annotations

import math
from decimal import Decimal

from ..engine.printed import CTX as _CTX
from ..engine.printed import SCI_LARGE, SCI_SMALL, TIE_NOISE, Decimals, shown_decimal, true_decimal
from ..engine.printed import sig as _sig

_HUNDREDTH = Decimal("0.01")

__all__ = ["SCI_LARGE", "SCI_SMALL", "TIE_NOISE", "common_exponent", "fmt", "fmt_decimal",
           "fmt_entries", "true_decimal"]


def _sci(mantissa: str, e: int) -> str:
    if mantissa in ("1", "-1"):
        return ("-" if mantissa == "-1" else "") + f"10^{{{e}}}"
    return f"{mantissa} \\times 10^{{{e}}}"


def fmt_decimal(d: Decimal, digits: int = 4) -> str:
    """One finite exact decimal as LaTeX math, by the rule above (its value:
    engine/printed.shown_decimal, which the rounded chain carries). With Decimals, a fixed
    number of places and no scientific notation: 0.0000 for 3e-5, as 4-place tables print."""
    if d == 0:
        return "0"
    if isinstance(digits, Decimals):
        r = shown_decimal(d, digits)
        return f"{abs(r):f}" if r == 0 else f"{r:f}"
    if _sig(d) <= digits:  # exact and short: as it is, no trailing zeros
        e = d.adjusted()
        if SCI_SMALL <= abs(d) < SCI_LARGE:
            return f"{d.normalize(_CTX):f}"
        return _sci(f"{d.scaleb(-e, _CTX).normalize(_CTX):f}", e)
    r = shown_decimal(d, digits)  # rounded, with its trailing zeros
    if SCI_SMALL <= abs(r) < SCI_LARGE:
        return f"{r:f}"
    e = r.adjusted()
    return _sci(f"{r.scaleb(-e, _CTX):f}", e)


def fmt(x: float, digits: int = 4) -> str:
    """One number as LaTeX math (no $ around it)."""
    x = float(x)
    if math.isnan(x):
        return r"\mathrm{NaN}"
    if math.isinf(x):
        return r"\infty" if x > 0 else r"-\infty"
    return fmt_decimal(true_decimal(x), digits)


def fmt_plain(x: float, digits: int = 4) -> str:
    """One number as `fmt` prints it, in the plain form a spreadsheet or a program reads:
    2.346E-4 for 2.346 \\times 10^{-4}; NaN and infinities as nan, inf, -inf."""
    x = float(x)
    if not math.isfinite(x):
        return repr(x)
    t = fmt(x, digits)
    if "10^{" not in t:
        return t
    mant, _, exp = t.rpartition("10^{")
    mant = mant.replace(r" \times ", "").strip() or "1"
    return f"{'-1' if mant == '-' else mant}E{exp.rstrip('}')}"


def _needs_sci(d: Decimal, digits: int) -> bool:
    return "10^{" in fmt_decimal(d, digits)


def common_exponent(values: list[float], digits: int) -> int | None:
    """The power of ten to factor out of a matrix, or None. A few tiny or huge entries beside
    ordinary ones read best in their own scientific notation, and a matrix whose largest
    entry is ordinary (0.1 to 1e5) keeps its entries as they are. Otherwise, when more than
    half of the nonzero entries are below 0.01 or need scientific notation, a shared 10^k reads
    better if one puts the largest entry between 1 and 1000 and lets every entry be written
    plainly (the first such from 'largest between 1 and 10'). None for NaN/inf, or when no
    10^k does; a factor and scientific entries together would read worse than either."""
    if isinstance(digits, Decimals) or not all(math.isfinite(v) for v in values):
        return None  # decimal places: every entry to the same places, no factor
    nz = [true_decimal(v) for v in values if v != 0]
    # only when it spares most entries their leading zeros (0.00x) or their exponents
    zeros = sum(abs(d) < _HUNDREDTH or _needs_sci(d, digits) for d in nz)
    if 2 * zeros <= len(nz):
        return None
    top = max(abs(d) for d in nz).adjusted()
    if -1 <= top < 5:  # largest entry 0.1 to 1e5: as it is (a probability never reads 9.998)
        return None
    for k in range(top, top - 3, -1):
        if not any(_needs_sci(d.scaleb(-k, _CTX), digits) for d in nz):
            return k
    return None


def fmt_entries(values: list[float], digits: int = 4, factor: bool | int = True
                ) -> tuple[int | None, list[str]]:
    """The entries of one matrix: (power of ten factored out or None, one string each).
    Each entry is its own true value divided by that power exactly (a Decimal shift, no
    float division) and written by `fmt_decimal`, so every entry keeps `digits`
    significant digits whatever its neighbours are; an entry too small or large for plain
    notation beside ordinary ones is written in scientific notation. `factor`: True lets the
    entries decide (common_exponent), False factors nothing out, an int forces that power."""
    if isinstance(factor, bool):
        scale = common_exponent(values, digits) if factor else None
    else:  # a power of ten decided for several matrices together (a sum, a product)
        scale = factor or None
    out = []
    for v in values:
        if not math.isfinite(v):
            out.append(fmt(v, digits))
        else:
            d = true_decimal(v)
            out.append(fmt_decimal(d if scale is None else d.scaleb(-scale, _CTX), digits))
    return scale, out
