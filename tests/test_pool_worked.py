"""Pooling's worked lines (issue 25) against loops written here (first maximum in reading
order, as a student marks it), and the lines compiled with the key's preamble, every printed
number read back by the printing rule.

Hand example: X channel 1 = [[1, 3, 2, 0], [4, 0, 1, 5], [2, 2, 0, 1], [1, 2, 1, 1]], 2x2
windows: max [[4, 5], [2, 1]]; the bottom-left window [[2, 2], [1, 2]] has three maxima 2, the
first (row 3, column 1) is chosen; the bottom-right window [[0, 1], [1, 1]] chooses row 3,
column 4. avg: [[2, 2], [1.75, 0.75]]."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from workedtex import (
    HAVE_TEX,
    check_printed,
    compile_tex,
    document,
    joined,
    matrices,
    result_tex,
    sum_value,
    unstrut,
)

from nnreport.document.worked.layers import pool as P

needs_tex = pytest.mark.skipif(not HAVE_TEX, reason="pdflatex not installed")

C1 = [[1, 3, 2, 0], [4, 0, 1, 5], [2, 2, 0, 1], [1, 2, 1, 1]]
C2 = [[0.5, -1, 2.5, 2.5], [0.25, 0.75, -2, 1], [3, 1, 0, 0], [1, 3, -1, -0.5]]
X = np.array([[C1, C2], [np.flip(C2, 0).tolist(), np.flip(C1, 1).tolist()]], float)
DIG = 4


def fr(v):
    return Fraction(Decimal(repr(float(v))))


def pool_loops(x, kind, k, s):
    """H and, per output entry, the chosen (row, col) (first strict maximum in reading
    order), exact."""
    m, C, H, W = x.shape
    oh, ow = (H - k) // s + 1, (W - k) // s + 1
    h = np.full((m, C, oh, ow), Fraction(0), dtype=object)
    pick = {}
    for n in range(m):
        for c in range(C):
            for i in range(oh):
                for j in range(ow):
                    cells = [(s * i + u, s * j + v) for u in range(k) for v in range(k)]
                    if kind == "max":
                        best = cells[0]
                        for rc in cells[1:]:
                            if x[n, c][rc] > x[n, c][best]:
                                best = rc
                        pick[n, c, i, j] = best
                        h[n, c, i, j] = fr(x[n, c][best])
                    else:
                        h[n, c, i, j] = sum(fr(x[n, c][rc]) for rc in cells) / (k * k)
    return h, pick


def back_loops(dh, x, kind, k, s):
    h, pick = pool_loops(x, kind, k, s)
    dx = np.full(x.shape, Fraction(0), dtype=object)
    for (n, c, i, j), g in np.ndenumerate(dh):
        if kind == "max":
            dx[(n, c, *pick[n, c, i, j])] += fr(g)
        else:
            for u in range(k):
                for v in range(k):
                    dx[n, c, s * i + u, s * j + v] += fr(g) / (k * k)
    return dx


def test_hand_example():
    h, pick = pool_loops(X, "max", 2, 2)
    assert h[0, 0].tolist() == [[4, 5], [2, 1]]
    assert pick[0, 0, 1, 0] == (2, 0) and pick[0, 0, 1, 1] == (2, 3)
    st = P.forward(X, "max", DIG, at=(0, 0, 1, 0))
    assert "a tie" in st[1].note
    assert result_tex(st[1]) == "2"
    shown = unstrut(joined(st[0]))  # the rows' struts
    # chosen entries boxed: the four windows of each of the two channels
    assert shown.count(r"\boxed") == 8
    assert shown.count(r"\colorbox") == 4  # the window of h_{1,21}, in channel 1 only


@pytest.mark.parametrize("kind,k,s", [("max", 2, 2), ("avg", 2, 2), ("max", 2, 1),
                                      ("avg", 3, 1)])
def test_against_loops(kind, k, s):
    h, pick = pool_loops(X, kind, k, s)
    oh = h.shape[2]
    at = (1, 1, oh - 1, 0)
    steps = P.forward(X, kind, DIG, P.Names.layer(2), size=k, stride=s, at=at, key="H2")
    shown, entry, *whole = steps
    for c, tex in enumerate(matrices(joined(shown))):
        check_printed(tex, X[1, c], DIG)
    check_printed(result_tex(entry), h[at], DIG)
    if kind == "avg":
        assert sum_value(joined(entry).split("=")[-2]) == h[at]
    if kind == "max":  # the boxed entries are exactly the chosen ones
        body = unstrut(joined(shown))
        boxed = body.count(r"\boxed")
        assert boxed == len({(n, c, *rc) for (n, c, _, _), rc in pick.items() if n == 1})
    assert len(whole) == 4 and {w.key for w in whole} == {"H2"}
    for q, st in enumerate(whole):
        n, c = divmod(q, 2)
        np.testing.assert_allclose(st.result.array, h[n, c].astype(float), atol=1e-12)
        check_printed(result_tex(st), h[n, c], DIG)
    dh = (np.arange(h.size).reshape(h.shape) % 5 - 2) / 4 + 0.1
    dx = back_loops(dh, X, kind, k, s)
    steps = P.back(dh, X, kind, DIG, P.Names.layer(2), size=k, stride=s, at=at, key="dH1")
    entry, *whole = steps
    if kind == "max":
        r, q = pick[at]
    else:
        r, q = s * at[2], s * at[3]
    assert entry.lhs == rf"\left(dH_{{1}}\right)^{{(2)}}_{{2,{r + 1}{q + 1}}}"
    check_printed(result_tex(entry), dx[1, 1, r, q], DIG)
    if entry.subst:
        assert sum_value(joined(entry).split("=")[-2]) == dx[1, 1, r, q]
    for z, st in enumerate(whole):
        n, c = divmod(z, 2)
        np.testing.assert_allclose(st.result.array, dx[n, c].astype(float), atol=1e-12)
        check_printed(result_tex(st), dx[n, c], DIG)


def test_formula():
    assert P.formula(P.Names.layer(2), "max", 2) == \
        r"H_{2} = \operatorname{maxpool}_{2\times2}\left(H_{1}\right)"


@needs_tex
def test_compiles(tmp_path):
    h, _ = pool_loops(X, "max", 2, 2)
    dh = (np.arange(h.size).reshape(h.shape) % 5 - 2) / 4
    names = P.Names.layer(2)
    groups = [P.forward(X, "max", DIG, names, at=(0, 0, 1, 0), key="H2", samples=[0]),
              P.back(dh, X, "max", DIG, names, at=(0, 0, 1, 0), key="dH1", samples=[0]),
              P.forward(X, "avg", DIG, names, size=3, stride=1, at=(0, 1, 1, 1), samples=[0]),
              P.back(dh[:, :, :2, :2], X, "avg", DIG, names, size=3, stride=1, at=(0, 1, 1, 1),
                     samples=[0])]
    compile_tex(document(groups), tmp_path, "pool", png=True)


def test_entry_outside_is_refused():
    with pytest.raises(ValueError, match="index i = 2 is outside 0..1"):
        P.forward(X, "max", DIG, at=(0, 0, 2, 0))
