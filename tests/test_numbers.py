"""Number display conventions (docs/spec.md, 'Numbers'), hand-checked expectations."""

from __future__ import annotations

import pytest

from nnreport.render.matrices import matrix
from nnreport.render.numbers import fmt, fmt_column

CASES = [
    (6.0, 4, "6"),                      # exact values: no trailing zeros
    (0.5, 4, "0.5"),
    (224.0, 4, "224"),
    (0.9975273768, 4, "0.9975"),        # rounded values keep every digit
    (2.99963, 4, "3.000"),              # ... so 3.000 is not mistaken for exactly 3
    (0.99999357, 4, "1.000"),
    (137.25, 4, "137.3"),               # half away from zero, as people round
    (-137.25, 4, "-137.3"),
    (0.125, 2, "0.13"),
    (523.9627665874224, 4, "524.0"),
    (224.0, 2, "224"),                  # never round away digits before the point
    (0.0023, 4, "0.0023"),
    (2.35e-3, 3, "0.00235"),
    (2.3456e-4, 4, r"2.346 \times 10^{-4}"),   # tiny: scientific, never 0.000
    (-5.853e-6, 4, r"-5.853 \times 10^{-6}"),
    (1e-10, 4, "10^{-10}"),
    (12345678.0, 4, r"1.235 \times 10^{7}"),
    (0.0, 4, "0"),
    (float("inf"), 4, r"\infty"),
]


@pytest.mark.parametrize("x,digits,want", CASES)
def test_fmt(x, digits, want):
    assert fmt(x, digits) == want


def test_matrix_column_keeps_decimal_places_of_largest_entry():
    # largest 0.06856 -> 5 places; -0.000135 is written -0.00014, not -1.350 x 10^{-4};
    # ordinary entries keep their 4 significant digits; 1e-9 does not round to a false 0
    assert fmt_column([0.06856, -0.000135, 0.004967, 1e-9], 4) == [
        "0.06856", "-0.00014", "0.004967", "10^{-9}"]


def test_all_tiny_matrix_factors_out_a_power_of_ten():
    t = matrix([[0.002349, -4.328e-5], [-5.853e-6, 0.0]], 4).tex
    assert t.startswith("10^{-3}")
    assert "2.349" in t and "-0.04328" in t and "-0.005853" in t


def test_large_matrix_is_elided_before_rendering():
    import numpy as np

    a = np.random.RandomState(0).randn(784, 128)
    t = matrix(a)
    assert r"\ddots" in t.tex and "784 \\times 128" in t.tex
    assert t.tex.count(r"\\") <= 8 and len(t.tex) < 2000  # corners only, not 100k cells


def test_digits_per_document_problem_and_value():
    from nnreport.document.tex import render
    from nnreport.engine.solve import solve
    from nnreport.spec import loads

    text = """
title: t
digits: 3
problems:
  - id: e
    digits_for: {b: 7}
    given: {a: 0.123456789}
    compute: [{b: a * 2}, {c: a * 3}]
  - id: f
    digits: 5
    given: {a: 0.123456789}
    compute: [{d: a * 4}]
"""
    doc = loads(text)
    tex = render(doc, solve(doc), "key")
    # document default 3, b overridden to 7, problem f at 5 (0.2469135..., 0.37037..., 0.4938271...)
    assert "= 0.2469136" in tex and "= 0.370\n\\end" in tex and "= 0.49383" in tex
