"""Dropout's worked lines (issue 25) against exact loops written here: H = H_prev * mask /
(1 - p) entry by entry, the same for the gradient; the lines compiled, numbers read back.
Hand example: p = 0.2, kept 1.5 -> 1.5 / 0.8 = 1.875, dropped -> 0."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from workedtex import HAVE_TEX, check_printed, compile_tex, document, matrices, result_tex

from nnreport.document.lines import side
from nnreport.document.worked.layers import dropout as Dr

needs_tex = pytest.mark.skipif(not HAVE_TEX, reason="pdflatex not installed")

H = np.array([[1.5, -0.3, 2.0], [0.7, 0.1, -1.2]])
MASK = np.array([[1, 0, 1], [0, 1, 1]])


def loops(a, mask, p):
    out = np.full(a.shape, Fraction(0), dtype=object)
    keep = 1 / (1 - Fraction(Decimal(repr(p))))
    for i in np.ndindex(a.shape):
        out[i] = Fraction(Decimal(repr(float(a[i])))) * keep if mask[i] else Fraction(0)
    return out


@pytest.mark.parametrize("p", [0.2, 0.5, 0.3])
def test_against_loops(p):
    want = loops(H, MASK, p)
    assert p != 0.2 or want[0, 0] == Fraction(15, 8)  # the hand example
    st = Dr.forward(H, MASK, p, 4, Dr.Names.layer(2), key="H2")
    assert len(st) == 1 and st[0].key == "H2"
    check_printed(result_tex(st[0]), want, 4)
    shown = " ".join(t.tex for t in side(st[0].subst))
    h_tex, m_tex = matrices(shown)
    check_printed(h_tex, H, 4)
    check_printed(m_tex, MASK, 4)
    dh = H[::-1] * 0.5
    back = Dr.back(dh, MASK, p, 4, Dr.Names.layer(2), key="dH1")
    check_printed(result_tex(back[0]), loops(dh, MASK, p), 4)


def test_maps():
    """After a convolution: one line per (sample, channel)."""
    x = np.arange(2 * 2 * 2 * 2).reshape(2, 2, 2, 2) / 4
    mask = (np.arange(16).reshape(x.shape) % 3 > 0).astype(int)
    st = Dr.forward(x, mask, 0.5, 4, key="H3")
    want = loops(x, mask, 0.5)
    assert len(st) == 4
    for k, s in enumerate(st):
        check_printed(result_tex(s), want[divmod(k, 2)], 4)


def test_bad_mask():
    with pytest.raises(ValueError, match="holds 2 at row 1, column 2"):
        Dr.forward(H, [[1, 2, 1], [0, 1, 1]], 0.5, 4)


@needs_tex
def test_compiles(tmp_path):
    compile_tex(document([Dr.forward(H, MASK, 0.2, 4, Dr.Names.layer(2)),
                          Dr.back(H, MASK, 0.2, 4, Dr.Names.layer(2))]), tmp_path, "drop")
