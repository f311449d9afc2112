"""Number display conventions (docs/spec.md, 'Numbers'), hand-checked expectations."""

from __future__ import annotations

import pytest

from nnreport.render.matrices import matrix
from nnreport.render.numbers import fmt, fmt_entries

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
    # the cases (#10): each keeps its 4 significant digits
    (0.0005477, 4, r"5.477 \times 10^{-4}"),
    (-0.00099393, 4, r"-9.939 \times 10^{-4}"),
    (3.4e-9, 4, r"3.4 \times 10^{-9}"),                 # exact and short: as it is
    (3.4000000000000004e-09, 4, r"3.400 \times 10^{-9}"),  # not exact: all 4 digits
    (0.9985, 4, "0.9985"),
    (0.9977, 4, "0.9977"),
    (0.30000000000000004, 4, "0.3000"),   # repr is the true value; it is not exactly 0.3
    # a computed tie (137.25 as 137.24999999999997) rounds as the tie; a real miss does not
    (137.24999999999997, 4, "137.3"),
    (-137.24999999999997, 4, "-137.3"),
    (137.249999999, 4, "137.2"),     # 7e-12 below the tie: a real miss
    (0.15, 1, "0.2"),
    (224.37, 2, "224"),                   # digits before the point are never rounded away
    (999.7, 2, "1000"),
    (95.5, 1, "96"),
    (9.9996, 4, "10.00"),                 # one more digit before the point, same precision
    (0.00099996, 4, "0.001000"),          # rounds into plain notation
    (99999.7, 4, r"1.000 \times 10^{5}"),  # rounds into scientific notation
    (1e5, 4, "10^{5}"),
    (-0.0, 4, "0"),
    (float("nan"), 4, r"\mathrm{NaN}"),
    (float("-inf"), 4, r"-\infty"),
]


@pytest.mark.parametrize("x,digits,want", CASES)
def test_fmt(x, digits, want):
    assert fmt(x, digits) == want


def test_matrix_entry_keeps_its_digits_beside_larger_ones():
    # old rule: shared decimal places wrote these -0.001, 0.0005, -0.001, -0.00014 and 10^{-9}
    assert fmt_entries([1.277, -0.0008, 0.0005477, -0.00099393], 4) == (None, [
        "1.277", r"-8 \times 10^{-4}", r"5.477 \times 10^{-4}", r"-9.939 \times 10^{-4}"])
    assert fmt_entries([0.06856, -0.000135, 0.004967, 1.3e-9], 4) == (None, [
        "0.06856", r"-1.35 \times 10^{-4}", "0.004967", r"1.3 \times 10^{-9}"])
    assert fmt_entries([0.5, 3.4000000000000004e-09], 4)[1][1] == r"3.400 \times 10^{-9}"


def test_matrix_factor_is_applied_exactly():
    # 10^{-5} * 4.3 by float division is 0.43000000000000005; the Decimal shift is exact
    assert fmt_entries([4.3e-6, 1.2e-5, 1e-5], 4) == (-5, ["0.43", "1.2", "1"])
    assert fmt_entries([123456.0, 2.5e6], 4) == (6, ["0.1235", "2.5"])
    assert fmt_entries([123456.0, 2.5e6], 4, factor=False) == (
        None, [r"1.235 \times 10^{5}", r"2.5 \times 10^{6}"])
    assert fmt_entries([1e-4, float("nan")], 4) == (None, [r"10^{-4}", r"\mathrm{NaN}"])


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
    assert "= 0.2469136" in tex and "= 0.370 \\tag" in tex and "= 0.49383" in tex
