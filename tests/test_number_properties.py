"""Every printed number is its true value rounded half up (docs/spec.md, 'Numbers'), as a
property: random matrices of mixed magnitudes are rendered, the LaTeX is parsed back by
tests/texnumbers.py, and each shown entry is compared with an independent Decimal rounding
of repr(true value)."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

import numpy as np
from hypothesis import event, given, settings
from hypothesis import strategies as st
from texnumbers import Number, parse_matrix, parse_number, parse_value

from nnreport.render.matrices import matrix, value

TIE = Decimal("1e-12")  # a computed tie: within this relative distance of a half unit


def half_up(t: Decimal, last: int) -> Decimal:
    """t rounded to a multiple of 10**last, halves (and float noise of halves) away from 0."""
    q = Decimal(1).scaleb(last)
    n = abs(t) / q
    whole = n.to_integral_value(rounding=ROUND_DOWN)
    up = n - whole >= Decimal("0.5") - TIE * n
    r = (whole + (1 if up else 0)) * q
    return -r if t < 0 else r


def check(x: float, shown: Number, digits: int) -> None:
    t = Decimal(repr(float(x)))
    if not np.isfinite(x):
        assert shown.value.is_nan() if np.isnan(x) else shown.value == t, (x, shown.text)
        return
    if t == 0:
        assert shown.text == "0" and shown.value == 0, (x, shown.text)
        return
    assert shown.value != 0, f"nonzero {x!r} printed as {shown.text}"
    if shown.value == t:  # exact (e.g. 0.5, 137.25, 6): printing it as it is is always right
        return
    ok = [last for last in range(shown.last, shown.last_max + 1)
          if half_up(t, last) == shown.value and shown.sig - (last - shown.last) >= digits]
    assert ok, (f"{x!r} at {digits} digits printed {shown.text}: want {digits}+ significant "
                f"digits, half up, e.g. {half_up(t, t.adjusted() - digits + 1)}")


def short_decimal(draw: st.DrawFn) -> float:
    mant = draw(st.integers(-999999, 999999))
    return float(Decimal(mant).scaleb(draw(st.integers(-14, 3))))


@st.composite
def entry(draw: st.DrawFn, band: tuple[float, float] | None = None) -> float:
    """One value: any magnitude from 1e-9 to 2e7, or mostly floats within `band` (decades)."""
    kinds = ["zero", "int", "short", "float", "float", "tie", "noise"]
    kind = draw(st.sampled_from(kinds if band is None else ["zero", "float", "float", "float"]))
    if kind == "zero":
        return 0.0
    if kind == "int":
        return float(draw(st.integers(-10**7, 10**7)))
    if kind == "short":
        return short_decimal(draw)
    if kind == "float":
        sign = draw(st.sampled_from([-1, 1]))
        return sign * 10 ** draw(st.floats(*(band or (-9, 7.3)), allow_nan=False))
    # a half-unit tie at some digit (137.25, 0.0045), or a float one or two ulps beside a
    # short decimal (137.24999999999997, 0.30000000000000004)
    mant = draw(st.integers(-99999, 99999)) * 10 + 5
    x = float(Decimal(mant).scaleb(draw(st.integers(-12, 2))))
    if kind == "noise":
        x = float(np.nextafter(x, draw(st.sampled_from([0.0, np.inf * np.sign(x)]))))
    return x


@st.composite
def matrices(draw: st.DrawFn) -> np.ndarray:
    big = draw(st.integers(0, 5)) == 0
    r = draw(st.integers(1, 14 if big else 8))
    c = draw(st.integers(1, 10 if big else 6))
    # some matrices hold mostly values of one size, e.g. 1e-6 .. 1e-2, as gradients do
    top = draw(st.one_of(st.none(), st.floats(-5, 7)))
    band = None if top is None else (top - 4, top)
    return np.array([[draw(entry(band)) for _ in range(c)] for _ in range(r)])


@settings(max_examples=400, deadline=None)
@given(matrices(), st.integers(1, 8), st.booleans())
def test_every_shown_entry_is_the_true_value_rounded(a, digits, factor):
    tex = value(a, digits, factor=factor).tex
    parsed = parse_matrix(tex)
    event(f"factor 10^k: {parsed.factor != 0}, elided: {len(parsed.cells) < a.size}")
    assert parsed.shape == a.shape
    for (i, j), shown in parsed.cells.items():
        check(a[i, j], shown, digits)
    # the corners are shown: first and last row and column, elided or not
    r, c = a.shape
    assert {(0, 0), (0, c - 1), (r - 1, 0), (r - 1, c - 1)} <= set(parsed.cells)


@settings(max_examples=2000, deadline=None)
@given(entry(), st.integers(1, 8))
def test_every_scalar_is_the_true_value_rounded(x, digits):
    check(x, parse_number(value(x, digits).tex), digits)


def test_parser_reads_a_factored_elided_matrix():
    a = (np.arange(784 * 128).reshape(784, 128) + 1) / 1e8  # exact decimals 1e-8 .. 0.00100352
    tex = matrix(a, 4).tex
    assert tex.startswith("10^{-5}")  # 0.001 .. 100.4: every entry plain
    got, shape = parse_value(tex)
    assert shape == (784, 128)
    rows, cols = (sorted(set(ix)) for ix in np.nonzero(~np.isnan(got)))
    assert rows == [0, 1, 2, 3, 4, 5, 783]
    assert cols[-1] == 127 and cols[:-1] == list(range(len(cols) - 1)) and len(cols) >= 4
    for i in rows:
        for j in cols:
            check(a[i, j], parse_matrix(tex).cells[(i, j)], 4)
    assert got[0, 0] == 1e-8 and got[783, 127] == 1.004e-3
