"""The convolution's worked lines (issue 25): every result against an independent computation
written here with explicit loops (never nnreport's), and the lines compiled by pdflatex with
the key's preamble, each printed number read back and checked against the true value by the
printing rule.

Hand example (the first test's entry): X^{(1)} window at row 2, column 2 of channel 1 is
[[1, 3], [1, 0]], the kernel W_1 channel 1 is [[0.5, -1], [0.25, 2]]:
1 * 0.5 + 3 * (-1) + 1 * 0.25 + 0 * 2 = -2.25; channel 2's window [[0, 1], [2, 1]] times
[[1, 0], [0, -1]] = -1; plus b_1 = 0.1: z = -2.25 - 1 + 0.1 = -3.15."""

from __future__ import annotations

import re
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
    sum_checks,
    sum_value,
    unstrut,
)

from nnreport.document.worked.layers import conv as W

needs_tex = pytest.mark.skipif(not HAVE_TEX, reason="pdflatex not installed")

X1 = [[1, 2, 0, 1], [0, 1, 3, 1], [2, 1, 0, 2], [1, 0, 1, 1]]
X2 = [[0, 1, 2, 0], [1, 0, 1, 2], [0, 2, 1, 1], [3, 0, 0, 1]]
X = np.array([[X1, X2], [np.flip(X2, 1).tolist(), (np.array(X1) * 0.5).tolist()]], float)
K = np.array([[[[0.5, -1], [0.25, 2]], [[1, 0], [0, -1]]],
              [[[1, 0], [-0.5, 0.3]], [[0.2, 0.4], [-1, 0]]]])
B = np.array([0.1, -0.2])
DIG = 4


def exact(a):
    """Exact rationals of the given decimals (0.1 is 1/10): the loops' arithmetic is exact,
    so the printed numbers are checked against the true values, not against float noise."""
    return np.vectorize(lambda v: Fraction(Decimal(repr(float(v)))), otypes=[object])(a)


def conv_loops(x, w, b, s, p):
    """Z[n, f, i, j] = sum_{c, u, v} Xp[n, c, s i + u, s j + v] W[f, c, u, v] + b[f], in
    exact rationals."""
    x, w, b = exact(x), exact(w), exact(b)
    m, C, H, Wd = x.shape
    F, _, kh, kw = w.shape
    xp = np.full((m, C, H + 2 * p, Wd + 2 * p), Fraction(0), dtype=object)
    xp[:, :, p:p + H, p:p + Wd] = x
    oh, ow = (H + 2 * p - kh) // s + 1, (Wd + 2 * p - kw) // s + 1
    z = np.full((m, F, oh, ow), Fraction(0), dtype=object)
    for n in range(m):
        for f in range(F):
            for i in range(oh):
                for j in range(ow):
                    t = b[f]
                    for c in range(C):
                        for u in range(kh):
                            for v in range(kw):
                                t += xp[n, c, s * i + u, s * j + v] * w[f, c, u, v]
                    z[n, f, i, j] = t
    return z, xp


def grads_loops(x, dz, w, s, p):
    """dW, db (means over the m samples) and dX by the chain rule, entry by entry: every
    output entry sends dz * w to the input entry it read and dz * x to the weight (exact)."""
    x, dz, w = exact(x), exact(dz), exact(w)
    m, C, H, Wd = x.shape
    F, _, kh, kw = w.shape
    xp = np.full((m, C, H + 2 * p, Wd + 2 * p), Fraction(0), dtype=object)
    xp[:, :, p:p + H, p:p + Wd] = x
    dxp = np.full(xp.shape, Fraction(0), dtype=object)
    dw = np.full(w.shape, Fraction(0), dtype=object)
    db = np.full(F, Fraction(0), dtype=object)
    for n in range(m):
        for f in range(F):
            for i in range(dz.shape[2]):
                for j in range(dz.shape[3]):
                    g = dz[n, f, i, j]
                    db[f] += g / m
                    for c in range(C):
                        for u in range(kh):
                            for v in range(kw):
                                dw[f, c, u, v] += xp[n, c, s * i + u, s * j + v] * g / m
                                dxp[n, c, s * i + u, s * j + v] += w[f, c, u, v] * g
    return dw, db, dxp[:, :, p:p + H, p:p + Wd]


def test_hand_example():
    st = W.forward(X, K, B, DIG, at=(0, 0, 1, 1))
    entry = st[1]
    assert entry.lhs == r"Z^{(1)}_{1,22}"
    assert float(entry.result.value) == pytest.approx(-3.15)  # the docstring's hand sum
    assert result_tex(entry) == "-3.15"
    # the products, in order, as a student writes them
    sums = joined(entry).split("=")[-2]
    assert re.sub(r"\s+", " ", sums).strip().startswith(
        r"1 \cdot 0.5 + 3 \cdot \left(-1\right) + 1 \cdot 0.25 + 0 \cdot 2 + 0 \cdot 1")


@pytest.mark.parametrize("stride,pad", [(1, 0), (2, 1), (1, 1)])
def test_forward_against_loops(stride, pad):
    z, xp = conv_loops(X, K, B, stride, pad)
    at = (1, 1, z.shape[2] - 1, 0)
    steps = W.forward(X, K, B, DIG, W.Names.layer(1), stride=stride, padding=pad, at=at,
                      key="Z1")
    shown, entry, *maps_ = steps
    # the input as shown (padded) with the window; its numbers are the input's
    for c, tex in enumerate(matrices(joined(shown))):
        check_printed(tex, xp[1, c], DIG)
    # the 2x2 window, in both channels
    assert unstrut(joined(shown)).count(r"\colorbox") == 2 * 2 * 2
    # the entry: its value, its printed result, and its products add up to it
    assert float(entry.result.value) == pytest.approx(float(z[at]), abs=1e-12)
    check_printed(result_tex(entry), z[at], DIG)
    assert sum_value(joined(entry).split("=")[-2]) == z[at]  # the products add up to it
    # every feature map: graded under Z1, equal to the loops, printed by the rule
    assert [s.key for s in maps_] == ["Z1"] * 4
    for k, s in enumerate(maps_):
        n, f = divmod(k, 2)
        np.testing.assert_allclose(s.result.array, z[n, f].astype(float), atol=1e-12)
        check_printed(result_tex(s), z[n, f], DIG)


@pytest.mark.parametrize("stride,pad", [(1, 0), (2, 1)])
def test_backward_against_loops(stride, pad):
    z, _ = conv_loops(X, K, B, stride, pad)
    rng = np.random.default_rng(7)
    dz = rng.integers(-9, 10, size=z.shape) / 10
    dw, db, dx = grads_loops(X, dz, K, stride, pad)
    names = W.Names.layer(2)
    bsteps = W.bias_grad(dz, DIG, names, key="db2")
    assert bsteps[-1].key == "db2"
    np.testing.assert_allclose(bsteps[-1].result.array, db.astype(float), atol=1e-12)
    check_printed(result_tex(bsteps[-1]), db, DIG)
    for f in range(2):
        check_printed(result_tex(bsteps[f]), db[f], DIG)
    at = (1, 0, 1, 0)
    wsteps = W.weight_grad(X, dz, K.shape, DIG, names, stride=stride, padding=pad, at=at,
                           key="dW2")
    entry = wsteps[1]
    assert float(entry.result.value) == pytest.approx(float(dw[at]), abs=1e-12)
    assert sum_value(joined(entry).split("=")[-2]) == dw[at]
    check_printed(result_tex(entry), dw[at], DIG)
    whole = [s for s in wsteps if s.key == "dW2"]
    assert len(whole) == 4
    for k, s in enumerate(whole):
        f, c = divmod(k, 2)
        np.testing.assert_allclose(s.result.array, dw[f, c].astype(float), atol=1e-12)
        check_printed(result_tex(s), dw[f, c], DIG)
    at = (1, 1, 2, 3)
    xsteps = W.input_grad(dz, K, X.shape, DIG, names, stride=stride, padding=pad, at=at,
                          key="dH1")
    entry = next(s for s in xsteps if s.result is not None and s.key == "")
    assert float(entry.result.value) == pytest.approx(float(dx[at]), abs=1e-12)
    assert sum_value(joined(entry).split("=")[-2]) == dx[at]
    check_printed(result_tex(entry), dx[at], DIG)
    whole = [s for s in xsteps if s.key == "dH1"]
    assert len(whole) == 4
    for k, s in enumerate(whole):
        n, c = divmod(k, 2)
        np.testing.assert_allclose(s.result.array, dx[n, c].astype(float), atol=1e-12)
        check_printed(result_tex(s), dx[n, c], DIG)
    # the flipped kernels of channel 1, as shown: W[f, 1] rotated by 180 degrees
    rot = next(s for s in xsteps if s.lhs.startswith(r"\operatorname{rot}"))
    for f, tex in enumerate(matrices(joined(rot))):
        check_printed(tex, K[f, at[1]][::-1, ::-1], DIG)


def test_formula():
    assert W.formula(W.Names.layer(2)) == r"Z_{2} = H_{1} \ast W_{2} + b_{2}"


@needs_tex
def test_compiles_and_reads(tmp_path):
    """Every line compiles with the key's preamble, no box runs past the margin; the PNGs
    (conv-1.png ...) are kept in tmp_path for a look."""
    z, _ = conv_loops(X, K, B, 2, 1)
    dz = (np.arange(z.size).reshape(z.shape) % 7 - 3) / 4
    names = W.Names.layer(1)
    groups = [W.forward(X, K, B, DIG, names, at=(0, 0, 1, 1), key="Z1", samples=[0]),
              W.forward(X, K, B, DIG, names, stride=2, padding=1, at=(0, 1, 0, 1), key="Z1",
                        samples=[0]),
              W.bias_grad(dz, DIG, names, per_sample_key="db1_per_sample")
              + W.weight_grad(X, dz, K.shape, DIG, names, stride=2, padding=1,
                              per_sample_key="dW1_per_sample"),
              W.input_grad(dz, K, X.shape, DIG, names, stride=2, padding=1, samples=[0])]
    compile_tex(document(groups), tmp_path, "conv", png=True)
    assert (tmp_path / "conv-1.png").is_file()


def test_l2_term():
    """With lambda = 0.1: dW = (1/m) X * dZ + (0.1 / m) W, the term on the entry's line."""
    z, _ = conv_loops(X, K, B, 1, 0)
    dz = (np.arange(z.size).reshape(z.shape) % 5 - 2) / 10
    dw, _, _ = grads_loops(X, dz, K, 1, 0)
    want = dw + exact(K) * Fraction(1, 10) / 2
    st = W.weight_grad(X, dz, K.shape, DIG, stride=1, at=(1, 0, 0, 1), key="dW1", l2=0.1, w=K)
    entry = st[1]
    assert r"\frac{\lambda}{2}" in entry.formula
    assert sum_value(joined(entry).split("=")[-2]) == want[1, 0, 0, 1]
    check_printed(result_tex(entry), want[1, 0, 0, 1], DIG)
    for k, s in enumerate(x for x in st if x.key == "dW1"):
        check_printed(result_tex(s), want[divmod(k, 2)], DIG)
    with pytest.raises(ValueError, match="needs the weights"):
        W.weight_grad(X, dz, K.shape, DIG, l2=0.1)


@needs_tex
def test_large_input_compiles(tmp_path):
    """A 3-channel 28 x 28 input (elided maps, the window kept; 27 products, the sum cut
    short) stays inside the margins."""
    rng = np.random.default_rng(3)
    x = rng.integers(0, 10, size=(1, 3, 28, 28)) / 10
    w = rng.integers(-5, 6, size=(4, 3, 3, 3)) / 10
    b = np.zeros(4)
    st = W.forward(x, w, b, DIG, at=(0, 2, 13, 20), padding=1, key="Z1")
    z, _ = conv_loops(x, w, b, 1, 1)
    check_printed(result_tex(st[1]), z[0, 2, 13, 20], DIG)
    assert r"\cdots" in joined(st[1])
    for f, s in enumerate(st[2:]):
        check_printed(result_tex(s), z[0, f], DIG)
    compile_tex(document([st]), tmp_path, "large")


@pytest.mark.parametrize("kshape,stride,pad", [((1, 1), 1, 0), ((3, 2), 1, 1), ((3, 3), 2, 0)])
def test_other_kernels(kshape, stride, pad):
    """A 1x1 kernel (nothing to pad for dX), a 3x2 one and a 3x3 with stride 2, against the
    loops."""
    rng = np.random.default_rng(11)
    x = rng.integers(-3, 4, size=(2, 2, 5, 5)) / 2
    w = rng.integers(-3, 4, size=(3, 2, *kshape)) / 4
    b = np.array([0.5, 0, -0.25])
    z, _ = conv_loops(x, w, b, stride, pad)
    dz = rng.integers(-3, 4, size=z.shape) / 8
    dw, db, dx = grads_loops(x, dz, w, stride, pad)
    f = W.forward(x, w, b, DIG, stride=stride, padding=pad, at=(1, 2, 0, 1))
    check_printed(result_tex(f[1]), z[1, 2, 0, 1], DIG)
    assert sum_checks(f[1], z[1, 2, 0, 1])
    g = W.weight_grad(x, dz, w.shape, DIG, stride=stride, padding=pad, at=(2, 1, 0, 0),
                      key="dW")
    assert sum_checks(g[1], dw[2, 1, 0, 0])
    for k, s in enumerate(s for s in g if s.key == "dW"):
        check_printed(result_tex(s), dw[divmod(k, 2)], DIG)
    bx = W.input_grad(dz, w, x.shape, DIG, stride=stride, padding=pad, at=(0, 1, 4, 2),
                      key="dX")
    entry = next(s for s in bx if s.result is not None and not s.key)
    assert sum_checks(entry, dx[0, 1, 4, 2])
    check_printed(result_tex(entry), dx[0, 1, 4, 2], DIG)
    for k, s in enumerate(s for s in bx if s.key == "dX"):
        check_printed(result_tex(s), dx[divmod(k, 2)], DIG)
    if kshape == (1, 1):
        assert "needs no padding" in bx[0].note


def test_one_power_of_ten_for_the_maps():
    """Z's maps share one 10^k (issue 22.4): tiny inputs give every map 10^{-3}, even one
    whose own entries would have chosen differently."""
    x = X * 1e-3
    st = W.forward(x, K, B * 1e-3, DIG, key="Z1")
    z, _ = conv_loops(x, K, B * 1e-3, 1, 0)
    maps_ = [s for s in st if s.key == "Z1"]
    heads = {result_tex(s)[:8] for s in maps_}
    assert heads == {"10^{-3} "}, heads
    for k, s in enumerate(maps_):
        check_printed(result_tex(s), z[divmod(k, 2)], DIG)


def test_a_large_batch_writes_its_sums_short():
    """8 samples: db's and dW's sums over the batch show samples 1 to 3, dots and sample 8;
    the input shown for dW is the first three samples'; the values are the whole batch's."""
    rng = np.random.default_rng(4)
    x = rng.integers(-3, 4, size=(8, 1, 4, 4)) / 2
    w = rng.integers(-3, 4, size=(1, 1, 2, 2)) / 2
    z, _ = conv_loops(x, w, np.zeros(1), 1, 0)
    dz = rng.integers(-3, 4, size=z.shape) / 4
    dw, db, _ = grads_loops(x, dz, w, 1, 0)
    b = W.bias_grad(dz, DIG, key="db")
    assert joined(b[0]).count(r"\begin{bmatrix}") == 4 and r"\cdots" in joined(b[0])
    check_printed(result_tex(b[0]), db[0], DIG)
    g = W.weight_grad(x, dz, w.shape, DIG, key="dW")
    assert joined(g[0]).count("sample") == 3
    assert r"\cdots" in joined(g[1]).split("=")[2]
    check_printed(result_tex(g[1]), dw[0, 0, 0, 0], DIG)
    check_printed(result_tex(g[2]), dw[0, 0], DIG)


def test_per_sample_gradients():
    """Each sample's dW and db (no 1/m) when their JSON name is given: the loops with m = 1."""
    z, _ = conv_loops(X, K, B, 1, 0)
    dz = (np.arange(z.size).reshape(z.shape) % 7 - 3) / 8
    g = W.weight_grad(X, dz, K.shape, DIG, key="dW1", per_sample_key="dW1_per_sample")
    ps = [s for s in g if s.key == "dW1_per_sample"]
    assert len(ps) == 2 * 2 * 2
    for k, s in enumerate(ps):
        n, rest = divmod(k, 4)
        f, c = divmod(rest, 2)
        want = grads_loops(X[n:n + 1], dz[n:n + 1], K, 1, 0)[0]
        check_printed(result_tex(s), want[f, c], DIG)
    b = W.bias_grad(dz, DIG, key="db1", per_sample_key="db1_per_sample")
    pb = [s for s in b if s.key == "db1_per_sample"]
    assert len(pb) == 2
    for n, s in enumerate(pb):
        check_printed(result_tex(s), grads_loops(X[n:n + 1], dz[n:n + 1], K, 1, 0)[1], DIG)
