"""engine/printed.shown_array, the number a student reads off the key, is exactly the number
the key prints: fmt's LaTeX read back by tests/texnumbers.py, for any float, for exact
decimal ties (half-up, computed here with Decimal) and for the float noise of a tie."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from texnumbers import parse_number

from nnreport.engine.printed import shown_array
from nnreport.render.numbers import fmt


@settings(max_examples=2000, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300),
       st.integers(1, 8))
def test_a_float_reads_as_printed(x, digits):
    assert shown_array([x], digits)[0] == float(parse_number(fmt(x, digits)).value)


@settings(max_examples=2000, deadline=None)
@given(st.integers(1, 99999), st.integers(-9, 3), st.integers(1, 4), st.booleans())
def test_a_decimal_tie_rounds_half_up(mant, exp, digits, negative):
    """mant ending in 5 one place past `digits` is a tie: away from zero, as by hand."""
    d = Decimal(mant * 10 + 5).scaleb(exp)
    d = -d if negative else d
    if len(d.as_tuple().digits) != digits + 1 or abs(d) >= 10 ** digits:
        return  # not a tie at these digits (or digits before the point, never rounded)
    want = d.quantize(Decimal(1).scaleb(d.adjusted() - digits + 1), rounding=ROUND_HALF_UP)
    x = float(d)
    assert shown_array(np.array([x]), digits)[0] == float(want)
    assert shown_array(np.array([x]), digits)[0] == float(parse_number(fmt(x, digits)).value)


def test_the_noise_of_a_computed_tie_rounds_as_the_tie():
    assert shown_array([137.24999999999997], 4)[0] == 137.3   # 137.25 computed
    assert shown_array([0.1 + 0.2 + 0.0049999999999999], 2)[0] == 0.31
    assert shown_array([224.37, 123456.7, 9.9996, -0.0], 2).tolist() == [224.0, 120000.0, 10.0, 0.0]
