"""The mathematics of convolution, pooling and flatten (issue 25: engine/layers/conv.py, pool.py,
flatten.py), checked against numbers computed independently here: naive loops over every
index (n, f, c, i, j, p, q) written from the definition, central finite differences of a scalar
loss sum(G * Z) for a random G, small examples worked by hand, and Fraction arithmetic for the
exact variants. Nothing here takes its expected numbers from the modules under test."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from fdiff import central
from hypothesis import given, settings
from hypothesis import strategies as st

from nnreport.engine import exact
from nnreport.engine.layers import conv, flatten, pool

F = Fraction


# independent references ---------------------------------------------------------------------
def naive_conv(x, w, b, stride, padding):
    """Z by the definition, one index at a time; padding read as zeros outside X."""
    sh, sw = stride
    ph, pw = padding
    m, C, H, W = x.shape
    nf, _, kh, kw = w.shape
    oh = (H + 2 * ph - kh) // sh + 1
    ow = (W + 2 * pw - kw) // sw + 1
    zero = F(0) if x.dtype == object else 0.0
    z = np.full((m, nf, oh, ow), zero, dtype=x.dtype)
    for n in range(m):
        for f in range(nf):
            for i in range(oh):
                for j in range(ow):
                    s = b[f]
                    for c in range(C):
                        for p in range(kh):
                            for q in range(kw):
                                r, cc = i * sh + p - ph, j * sw + q - pw
                                if 0 <= r < H and 0 <= cc < W:
                                    s = s + x[n, c, r, cc] * w[f, c, p, q]
                    z[n, f, i, j] = s
    return z


def naive_conv_back(x, w, dz, stride, padding):
    """dX, per-sample dW, db by scattering each dZ entry back over the window it came from."""
    sh, sw = stride
    ph, pw = padding
    m, C, H, W = x.shape
    nf, _, kh, kw = w.shape
    dx = np.zeros(x.shape)
    dw = np.zeros((m,) + w.shape)
    db = np.zeros((m, nf))
    for n in range(m):
        for f in range(nf):
            for i in range(dz.shape[2]):
                for j in range(dz.shape[3]):
                    db[n, f] += dz[n, f, i, j]
                    for c in range(C):
                        for p in range(kh):
                            for q in range(kw):
                                r, cc = i * sh + p - ph, j * sw + q - pw
                                if 0 <= r < H and 0 <= cc < W:
                                    dx[n, c, r, cc] += w[f, c, p, q] * dz[n, f, i, j]
                                    dw[n, f, c, p, q] += x[n, c, r, cc] * dz[n, f, i, j]
    return dx, dw, db




def q(a):
    return np.vectorize(lambda v: F(repr(float(v))), otypes=[object])(np.asarray(a, float))


# (m, C, H, W, F, kh, kw, stride, padding): square and non-square kernels, strides, paddings
CASES = [
    (1, 1, 3, 3, 1, 2, 2, 1, 0),
    (2, 1, 4, 4, 2, 3, 3, 1, 1),
    (2, 3, 5, 5, 2, 3, 3, 2, 0),
    (1, 2, 5, 6, 3, 2, 3, (1, 1), (0, 1)),
    (3, 2, 6, 5, 2, 3, 1, (1, 2), (1, 0)),
    (2, 2, 7, 7, 1, 3, 3, 2, 2),
    (1, 1, 4, 7, 2, 1, 3, (3, 2), 0),
    (2, 3, 3, 3, 4, 3, 3, 1, 0),  # a 1x1 output
]


def case(c, seed=0):
    m, C, H, W, nf, kh, kw, stride, padding = c
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(m, C, H, W))
    w = rng.normal(size=(nf, C, kh, kw))
    b = rng.normal(size=nf)
    return x, w, b, conv.pair(stride, "s"), conv.pair(padding, "p", 0)


@pytest.mark.parametrize("c", CASES)
def test_forward_equals_the_loops(c):
    x, w, b, s, p = case(c)
    assert np.allclose(conv.forward(x, w, b, s, p), naive_conv(x, w, b, s, p))


@pytest.mark.parametrize("c", CASES)
def test_backward_equals_the_loops(c):
    x, w, b, s, p = case(c, 1)
    z = conv.forward(x, w, b, s, p)
    dz = np.random.default_rng(2).normal(size=z.shape)
    dx, dw_ps, db_ps = naive_conv_back(x, w, dz, s, p)
    assert np.allclose(conv.back(dz, w, x.shape, s, p), dx)
    ps_w, ps_b = conv.per_sample(x, dz, w, s, p)
    assert np.allclose(ps_w, dw_ps) and np.allclose(ps_b, db_ps)
    m = x.shape[0]
    dW, db = conv.grads(x, dz, w, s, p, scale=1.0 / m)
    assert np.allclose(dW, dw_ps.sum(axis=0) / m) and np.allclose(db, db_ps.sum(axis=0) / m)
    dW2, _ = conv.grads(x, dz, w, s, p, scale=1.0 / m, l2=0.3, m=m)
    assert np.allclose(dW2, dw_ps.sum(axis=0) / m + 0.3 / m * w)


@pytest.mark.parametrize("c", CASES)
def test_gradients_equal_finite_differences(c):
    x, w, b, s, p = case(c, 3)
    G = np.random.default_rng(4).normal(size=conv.forward(x, w, b, s, p).shape)

    def loss():
        return float((G * conv.forward(x, w, b, s, p)).sum())

    dW, db = conv.grads(x, G, w, s, p)
    assert np.allclose(conv.back(G, w, x.shape, s, p), central(loss, x), atol=1e-6)
    assert np.allclose(dW, central(loss, w), atol=1e-6)
    assert np.allclose(db, central(loss, b), atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 2), C=st.integers(1, 3), nf=st.integers(1, 3), kh=st.integers(1, 3),
       kw=st.integers(1, 3), sh=st.integers(1, 3), sw=st.integers(1, 3), ph=st.integers(0, 2),
       pw=st.integers(0, 2), oh=st.integers(1, 3), ow=st.integers(1, 3),
       seed=st.integers(0, 10**6))
def test_random_shapes(m, C, nf, kh, kw, sh, sw, ph, pw, oh, ow, seed):
    """Any shape that fits: the input is built from the output size, so the stride fits."""
    H, W = (oh - 1) * sh + kh - 2 * ph, (ow - 1) * sw + kw - 2 * pw
    if H < 1 or W < 1:
        return
    rng = np.random.default_rng(seed)
    x, w, b = rng.normal(size=(m, C, H, W)), rng.normal(size=(nf, C, kh, kw)), rng.normal(size=nf)
    z = conv.forward(x, w, b, (sh, sw), (ph, pw))
    assert z.shape == (m, nf, oh, ow)
    assert np.allclose(z, naive_conv(x, w, b, (sh, sw), (ph, pw)))
    dz = rng.normal(size=z.shape)
    dx, dw_ps, _ = naive_conv_back(x, w, dz, (sh, sw), (ph, pw))
    assert np.allclose(conv.back(dz, w, x.shape, (sh, sw), (ph, pw)), dx)
    assert np.allclose(conv.grads(x, dz, w, (sh, sw), (ph, pw))[0], dw_ps.sum(axis=0))


def test_floor_drops_what_the_stride_leaves_and_its_gradient_is_zero():
    """With floor (PyTorch's rule) a 5x5 input, kernel 2, stride 2 gives 2x2; the last row and
    column meet no window, so their dX is 0."""
    rng = np.random.default_rng(5)
    x, w, b = rng.normal(size=(1, 2, 5, 5)), rng.normal(size=(3, 2, 2, 2)), rng.normal(size=3)
    z = conv.forward(x, w, b, 2, 0, floor=True)
    assert z.shape == (1, 3, 2, 2)
    assert np.allclose(z, naive_conv(x, w, b, (2, 2), (0, 0)))
    dz = rng.normal(size=z.shape)
    dx = conv.back(dz, w, x.shape, 2, 0, floor=True)
    assert np.allclose(dx, naive_conv_back(x, w, dz, (2, 2), (0, 0))[0])
    assert not dx[:, :, 4, :].any() and not dx[:, :, :, 4].any()


def test_a_small_example_worked_by_hand():
    # X = 1 2 3     W = 1  0     b = 1, stride 1, no padding: Z is 2x2,
    #     4 5 6         0 -1
    #     7 8 9
    # Z[0,0] = 1*1 + 2*0 + 4*0 + 5*(-1) + 1 = -3, and every window gives x - (x + 4) + 1 = -3.
    # Backward with dZ = [[1, 2], [3, 4]]:
    # db = 1 + 2 + 3 + 4 = 10
    # dW[p,q] = sum_ij X[i+p, j+q] dZ[i,j]:
    #   dW[0,0] = 1*1 + 2*2 + 4*3 + 5*4 = 37    dW[0,1] = 2*1 + 3*2 + 5*3 + 6*4 = 47
    #   dW[1,0] = 4*1 + 5*2 + 7*3 + 8*4 = 67    dW[1,1] = 5*1 + 6*2 + 8*3 + 9*4 = 77
    # dX = dZ padded by one zero all round, correlated with the flipped kernel [[-1, 0], [0, 1]]:
    #   dX[r,c] = dZ[r,c] (through W[0,0] = 1) - dZ[r-1,c-1] (through W[1,1] = -1):
    #   1  2  0
    #   3  3 -2
    #   0 -3 -4
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    w = np.array([1.0, 0.0, 0.0, -1.0]).reshape(1, 1, 2, 2)
    b = np.array([1.0])
    assert conv.forward(x, w, b).tolist() == [[[[-3.0, -3.0], [-3.0, -3.0]]]]
    dz = np.array([1.0, 2.0, 3.0, 4.0]).reshape(1, 1, 2, 2)
    dW, db = conv.grads(x, dz, w)
    assert dW.tolist() == [[[[37.0, 47.0], [67.0, 77.0]]]] and db.tolist() == [10.0]
    assert conv.back(dz, w, x.shape).tolist() == [[[[1.0, 2.0, 0.0], [3.0, 3.0, -2.0],
                                                   [0.0, -3.0, -4.0]]]]
    # the full convolution's pieces as a student writes them
    assert conv.flip(w).tolist() == [[[[-1.0, 0.0], [0.0, 1.0]]]]
    assert conv.dilate(dz, 2)[0, 0].tolist() == [[1.0, 0.0, 2.0], [0.0, 0.0, 0.0],
                                                 [3.0, 0.0, 4.0]]


def test_one_entry_in_full():
    """entry() gives the window and kernel whose products sum to Z[n, f, i, j]; with padding
    the window holds the padding's zeros, and row/col are its corner in the padded input."""
    x, w, b, s, p = case((2, 2, 5, 6, 3, 3, 2, (2, 1), (1, 1)), 6)
    z = naive_conv(x, w, b, s, p)
    for idx in np.ndindex(z.shape):
        e = conv.entry(x, w, b, *idx, stride=s, padding=p)
        assert e.window.shape == e.kernel.shape == (2, 3, 2)
        assert np.isclose((e.window * e.kernel).sum() + e.bias, z[idx])
    e = conv.entry(x, w, b, 1, 2, 0, 0, stride=s, padding=p)
    assert (e.row, e.col) == (0, 0)
    assert not e.window[:, 0, :].any() and not e.window[:, :, 0].any()
    assert e.window[0, 1, 1] == x[1, 0, 0, 0]
    e = conv.entry(x, w, b, 0, 0, 2, 3, stride=s, padding=p)
    assert (e.row, e.col) == (4, 3)
    with pytest.raises(ValueError, match="index i = 3 is outside 0..2"):
        conv.entry(x, w, b, 0, 0, 3, 0, stride=s, padding=p)


def test_exact_rationals_equal_the_floats():
    x, w, b, s, p = case((2, 2, 5, 5, 2, 3, 2, (2, 1), 1), 7)
    x, w, b = np.round(x, 1), np.round(w, 1), np.round(b, 1)
    X, Wq, B = q(x), q(w), q(b)
    Z = conv.exact_forward(X, Wq, B, s, p)
    assert Z is not None and all(type(v) is F for v in Z.flat)
    assert (Z == naive_conv(X, Wq, B, s, p)).all()  # the loops in Fractions
    z = conv.forward(x, w, b, s, p)
    assert np.allclose(exact.to_float(Z), z, rtol=0, atol=1e-12)
    dz = np.round(np.random.default_rng(8).normal(size=z.shape), 1)
    DZ = q(dz)
    dX = conv.exact_back(DZ, Wq, x.shape, s, p)
    assert dX is not None and np.allclose(exact.to_float(dX), conv.back(dz, w, x.shape, s, p))
    dW, db = conv.exact_grads(X, DZ, Wq, s, p, F(1, 2), l2=0.1, m=2)
    fW, fb = conv.grads(x, dz, w, s, p, 0.5, l2=0.1, m=2)
    assert dW is not None and db is not None
    assert np.allclose(exact.to_float(dW), fW) and np.allclose(exact.to_float(db), fb)
    pw, pb = conv.exact_per_sample(X, DZ, w.shape, s, p)
    assert pw is not None and pb is not None
    assert (pw.sum(axis=0) / 2 == conv.exact_grads(X, DZ, Wq, s, p, F(1, 2))[0]).all()
    _, ref, _ = naive_conv_back(x, w, dz, s, p)
    assert np.allclose(exact.to_float(pw), ref)


def test_exact_zeros_where_floats_are_not():
    """0.1 + 0.2 - 0.3 is 5.55e-17 in floats and 0 on paper (and so for ReLU's kink)."""
    x = np.array([0.1, 0.2, 0.3]).reshape(1, 1, 1, 3)
    w = np.array([1.0, 1.0, -1.0]).reshape(1, 1, 1, 3)
    b = np.zeros(1)
    assert conv.forward(x, w, b)[0, 0, 0, 0] != 0.0  # the float
    Z = conv.exact_forward(q(x), q(w), q(b))
    assert Z is not None and Z[0, 0, 0, 0] == 0 and exact.to_float(Z)[0, 0, 0, 0] == 0.0
    # dX of a 1x3 input, kernel [-2, 1], dZ = [0.1, 0.2]: dX[1] = 0.1 * 1 + 0.2 * (-2) = -0.3,
    # which floats give as -0.30000000000000004
    dz = np.array([0.1, 0.2]).reshape(1, 1, 1, 2)
    w2 = np.array([-2.0, 1.0]).reshape(1, 1, 1, 2)
    assert conv.back(dz, w2, (1, 1, 1, 3))[0, 0, 0, 1] != -0.3
    d = conv.exact_back(q(dz), q(w2), (1, 1, 1, 3))
    assert d is not None and d[0, 0, 0].tolist() == [F(-1, 5), F(-3, 10), F(1, 5)]
    assert exact.to_float(d)[0, 0, 0, 1] == -0.3


def test_exact_none_breaks_the_chain():
    X = q(np.ones((1, 1, 2, 2)))
    Wq = q(np.ones((1, 1, 2, 2)))
    assert conv.exact_forward(None, Wq, q([0.0])) is None
    assert conv.exact_forward(X, Wq, None) is None
    assert conv.exact_back(None, Wq, (1, 1, 2, 2)) is None
    assert conv.exact_grads(X, None, Wq) == (None, None)
    dW, db = conv.exact_grads(None, q(np.ones((1, 1, 1, 1))), Wq)
    assert dW is None and db is not None and db.tolist() == [F(1)]
    assert conv.exact_per_sample(None, None, (1, 1, 2, 2)) == (None, None)


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, message", [
    ((1, 1, 3, 3), (1, 1, 4, 4), 1, 0,
     "the kernel height 4 is larger than the input height 3; the kernel must fit"),
    ((1, 1, 2, 5), (1, 1, 2, 5), 1, 0, None),  # fits exactly
    ((1, 1, 2, 2), (1, 1, 5, 1), 1, 1,
     r"the kernel height 5 is larger than the input height 2 with padding 1 \(2 \+ 2\*1 = 4\)"),
    ((1, 1, 3, 3), (1, 1, 2, 4), 1, 0, "the kernel width 4 is larger than the input width 3"),
    ((1, 1, 5, 5), (1, 1, 2, 2), 2, 0,
     r"stride 2 does not fit the input height: a kernel of 2 moving by 2 over 5 rows leaves "
     r"the last 1 row unused \(5 - 2 = 3 is not a multiple of 2\)"),
    ((1, 1, 4, 6), (1, 1, 2, 2), (2, 3), 0, "stride 3 does not fit the input width"),
    ((1, 2, 3, 3), (1, 3, 2, 2), 1, 0, "the input has 2 channels but the kernel W has 3"),
    ((1, 3, 3), (1, 1, 2, 2), 1, 0, r"\[samples, channels, height, width\]"),
    ((1, 1, 3, 3), (1, 1, 2, 2), 0, 0, "stride must be a positive whole number, not 0"),
    ((1, 1, 3, 3), (1, 1, 2, 2), 1, -1, "padding must be a whole number, 0 or more, not -1"),
    ((1, 1, 3, 3), (1, 1, 2, 2), (1, 1, 1), 0, r"stride is one number or two"),
    ((1, 1, 3, 3), (1, 1, 2, 2), 1.5, 0, "stride must be a positive whole number, not 1.5"),
])
def test_shape_errors_say_what_does_not_fit(x_shape, w_shape, stride, padding, message):
    if message is None:
        assert conv.output_shape(x_shape, w_shape, stride, padding) == (1, 1, 1, 1)
        return
    with pytest.raises(ValueError, match=message):
        conv.output_shape(x_shape, w_shape, stride, padding)


def test_out_size():
    assert conv.out_size(5, 3, 2, 1) == 3
    assert conv.out_size(5, 2, 2, 0, floor=True) == 2
    assert conv.out_size(28, 5) == 24
    with pytest.raises(ValueError, match="the pooling window width 3 is larger"):
        conv.out_size(2, 3, axis="width", what="pooling window")


def test_wrong_dz_and_bias_shapes():
    x, w = np.ones((1, 1, 3, 3)), np.ones((2, 1, 2, 2))
    with pytest.raises(ValueError, match=r"dZ has shape \(1, 2, 3, 3\), but Z is \(1, 2, 2, 2\)"):
        conv.back(np.ones((1, 2, 3, 3)), w, x.shape)
    with pytest.raises(ValueError, match=r"the bias b has shape \(3,\), not \(2,\)"):
        conv.forward(x, w, np.ones(3))


# pooling ------------------------------------------------------------------------------------
def naive_pool(x, kind, size, stride):
    """H by the definition, and each window's first maximum (r, c) in X (a later equal entry
    does not replace it)."""
    (kh, kw), (sh, sw) = size, stride
    m, C, H, W = x.shape
    oh, ow = (H - kh) // sh + 1, (W - kw) // sw + 1
    h = np.zeros((m, C, oh, ow), dtype=x.dtype)
    chosen = {}
    for n in range(m):
        for c in range(C):
            for i in range(oh):
                for j in range(ow):
                    best, at, total = None, None, 0
                    for p in range(kh):
                        for q in range(kw):
                            v = x[n, c, i * sh + p, j * sw + q]
                            total = total + v
                            if best is None or v > best:
                                best, at = v, (i * sh + p, j * sw + q)
                    h[n, c, i, j] = best if kind == "max" else total / (kh * kw)
                    chosen[n, c, i, j] = at
    return h, chosen


def naive_pool_back(x, dh, kind, size, stride):
    (kh, kw), (sh, sw) = size, stride
    _, chosen = naive_pool(x, kind, size, stride)
    dx = np.zeros(x.shape)
    for (n, c, i, j), (r, cc) in chosen.items():
        if kind == "max":
            dx[n, c, r, cc] += dh[n, c, i, j]
        else:
            for p in range(kh):
                for q in range(kw):
                    dx[n, c, i * sh + p, j * sw + q] += dh[n, c, i, j] / (kh * kw)
    return dx


# (m, C, H, W, size, stride): non-overlapping, overlapping (stride < size), non-square
POOLS = [
    (1, 1, 4, 4, 2, None),
    (2, 3, 6, 6, 2, 2),
    (2, 2, 5, 5, 3, 2),  # overlapping
    (1, 2, 4, 5, 2, 1),  # overlapping, every inner entry in four windows
    (2, 1, 4, 6, (2, 3), (2, 3)),
    (1, 2, 5, 4, (3, 2), (1, 2)),
    (2, 1, 5, 5, 2, 3),  # gaps: row and column 2 in no window
]


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("k", range(len(POOLS)))
def test_pool_equals_the_loops_and_finite_differences(kind, k):
    c = POOLS[k]
    m, C, H, W, size, stride = c
    sz = conv.pair(size, "s")
    st_ = conv.pair(size if stride is None else stride, "s")
    rng = np.random.default_rng(20 + k)
    x = rng.normal(size=(m, C, H, W))  # continuous: no ties, and each maximum clear of eps
    h = pool.forward(x, kind, size, stride)
    ref, chosen = naive_pool(x, kind, sz, st_)
    assert np.allclose(h, ref)
    G = rng.normal(size=h.shape)
    dx = pool.back(G, x, kind, size, stride)
    assert np.allclose(dx, naive_pool_back(x, G, kind, sz, st_))
    num = central(lambda: float((G * pool.forward(x, kind, size, stride)).sum()), x)
    assert np.allclose(dx, num, atol=1e-6)
    if kind == "max":
        a = pool.argmax(x, size, stride)
        assert not a.tie
        for idx, (r, cc) in chosen.items():
            assert (a.row[idx], a.col[idx]) == (r, cc)


def test_max_pool_a_small_example_worked_by_hand():
    # X = 1 3 2 0     2x2 windows, stride 2:   max: 4 2     avg: 2.5  1.0
    #     4 2 1 1                                   6 8          4.0  5.0
    #     5 6 7 8
    #     1 4 3 2
    # max chooses (1,0), (0,2), (2,1), (2,3); dH = [[1, 2], [3, 4]] lands there.
    x = np.array([[1, 3, 2, 0], [4, 2, 1, 1], [5, 6, 7, 8], [1, 4, 3, 2]], float)[None, None]
    dh = np.array([[1.0, 2.0], [3.0, 4.0]])[None, None]
    assert pool.forward(x, "max").tolist() == [[[[4.0, 2.0], [6.0, 8.0]]]]
    assert pool.forward(x, "avg").tolist() == [[[[2.5, 1.0], [4.0, 5.0]]]]
    assert pool.back(dh, x, "max").tolist() == [[[[0, 0, 2, 0], [1, 0, 0, 0], [0, 3, 0, 4],
                                                 [0, 0, 0, 0]]]]
    assert pool.back(dh, x, "avg")[0, 0].tolist() == [[0.25, 0.25, 0.5, 0.5],
                                                      [0.25, 0.25, 0.5, 0.5],
                                                      [0.75, 0.75, 1.0, 1.0],
                                                      [0.75, 0.75, 1.0, 1.0]]
    a = pool.argmax(x)
    assert a.row[0, 0].tolist() == [[1, 0], [2, 2]] and a.col[0, 0].tolist() == [[0, 2], [1, 3]]


def test_max_pool_ties_go_to_the_first_maximum():
    # one 2x2 window 1 3 / 3 2: two 3s; row-major order meets (0, 1) first
    x = np.array([[1.0, 3.0], [3.0, 2.0]])[None, None]
    a = pool.argmax(x)
    assert (int(a.row[0, 0, 0, 0]), int(a.col[0, 0, 0, 0])) == (0, 1) and a.tie
    assert pool.back(np.full((1, 1, 1, 1), 5.0), x, "max")[0, 0].tolist() == [[0, 5], [0, 0]]
    # all equal: the top-left entry
    x = np.full((1, 1, 2, 2), 7.0)
    assert pool.back(np.ones((1, 1, 1, 1)), x, "max")[0, 0].tolist() == [[1, 0], [0, 0]]
    # overlapping 1x2 windows, stride 1, over 2 5 5 1: windows [2 5] -> the first 5,
    # [5 5] (a tie) -> the first 5, [5 1] -> the second 5; dH = 1 1 1 gives dX = 0 2 1 0
    x = np.array([2.0, 5.0, 5.0, 1.0]).reshape(1, 1, 1, 4)
    a = pool.argmax(x, (1, 2), 1)
    assert a.col[0, 0, 0].tolist() == [1, 1, 2] and a.ties[0, 0, 0].tolist() == [False, True,
                                                                                  False]
    assert pool.back(np.ones((1, 1, 1, 3)), x, "max", (1, 2), 1)[0, 0, 0].tolist() == \
        [0, 2, 1, 0]
    # on exact rationals 0.3 and 0.1 + 0.2 tie and the first is chosen, as on paper; floats
    # see 0.3 < 0.30000000000000004 and choose the second
    X = np.array([F(3, 10), F(1, 10) + F(2, 10)], dtype=object).reshape(1, 1, 1, 2)
    assert pool.argmax(X, (1, 2)).tie
    d = pool.exact_back(np.array([[[[F(1)]]]], dtype=object), X, "max", (1, 2))
    assert d is not None and d[0, 0, 0].tolist() == [F(1), F(0)]
    xf = np.array([0.3, 0.1 + 0.2]).reshape(1, 1, 1, 2)
    assert not pool.argmax(xf, (1, 2)).tie
    assert pool.back(np.ones((1, 1, 1, 1)), xf, "max", (1, 2))[0, 0, 0].tolist() == [0, 1]


def test_pool_exact_equals_the_floats():
    rng = np.random.default_rng(11)
    x = np.round(rng.normal(size=(2, 2, 5, 5)), 1)
    X = q(x)
    for kind in ("max", "avg"):
        H = pool.exact_forward(X, kind, 3, 2)
        assert H is not None and np.allclose(exact.to_float(H), pool.forward(x, kind, 3, 2))
        dh = np.round(rng.normal(size=H.shape), 1)
        d = pool.exact_back(q(dh), X, kind, 3, 2)
        assert d is not None and all(isinstance(v, F) for v in d.flat)
        assert np.allclose(exact.to_float(d), pool.back(dh, x, kind, 3, 2))
        if kind == "avg":  # reads only X's shape: a float X will do
            assert (pool.exact_back(q(dh), x, kind, 3, 2) == d).all()
    ref, _ = naive_pool(X, "avg", (3, 3), (2, 2))  # the loops in Fractions
    assert (pool.exact_forward(X, "avg", 3, 2) == ref).all()
    assert pool.exact_forward(None) is None and pool.exact_back(None, X) is None
    assert pool.exact_back(q(np.ones((2, 2, 2, 2))), None) is None
    # a mean that is 0 on paper and 1.4e-17 in floats
    x = np.array([0.1, 0.2, -0.3, 0.0]).reshape(1, 1, 2, 2)
    assert pool.forward(x, "avg")[0, 0, 0, 0] != 0.0
    A = pool.exact_forward(q(x), "avg")
    assert A is not None and A[0, 0, 0, 0] == 0 and exact.to_float(A)[0, 0, 0, 0] == 0.0


def test_pool_floor_and_errors():
    x = np.arange(25.0).reshape(1, 1, 5, 5)
    assert pool.forward(x, "max", 2, floor=True).tolist() == [[[[6.0, 8.0], [16.0, 18.0]]]]
    assert pool.output_shape((3, 2, 5, 5), 3, 1) == (3, 2, 3, 3)
    with pytest.raises(ValueError, match="stride 2 does not fit the input height: a pooling "
                                         "window of 2 moving by 2 over 5 rows"):
        pool.forward(x, "max", 2)
    with pytest.raises(ValueError, match="the pooling window width 6 is larger than the input "
                                         "width 5"):
        pool.forward(x, "avg", (1, 6))
    with pytest.raises(ValueError, match="pooling is max or avg, not 'mean'"):
        pool.forward(x, "mean", 5)
    with pytest.raises(ValueError, match=r"dH has shape \(1, 1, 2, 2\), but the pooled H is "
                                         r"\(1, 1, 1, 1\)"):
        pool.back(np.ones((1, 1, 2, 2)), x, "max", 5)
    with pytest.raises(ValueError, match=r"\[samples, channels, height, width\]"):
        pool.forward(np.ones((5, 5)), "max")


# flatten ------------------------------------------------------------------------------------
def test_flatten_is_row_major_channel_then_row_then_column():
    rng = np.random.default_rng(12)
    x = rng.normal(size=(2, 3, 2, 4))
    f = flatten.forward(x)
    assert f.shape == (2, 24) == flatten.output_shape(x.shape)
    for n in range(2):
        for c in range(3):
            for i in range(2):
                for j in range(4):
                    col = (c * 2 + i) * 4 + j
                    assert f[n, col] == x[n, c, i, j]
                    assert flatten.index(x.shape, c, i, j) == col
                    assert flatten.position(x.shape, col) == (c, i, j)
    assert (flatten.back(f, x.shape) == x).all()
    s = rng.normal(size=(2, 3, 5))  # [m, t, d]
    assert flatten.forward(s)[1, 7] == s[1, 1, 2] and flatten.position(s.shape, 7) == (1, 2)
    X = q(np.round(x, 1))
    E = flatten.exact_forward(X)
    assert E is not None and E[1, 5] == X[1, 0, 1, 1]
    B = flatten.exact_back(E, x.shape)
    assert B is not None and (B == X).all()
    assert flatten.exact_forward(None) is None and flatten.exact_back(None, x.shape) is None
    with pytest.raises(ValueError, match=r"not an array of shape \(2, 3\)"):
        flatten.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"dH has shape \(2, 23\), but the flattened H is "
                                         r"\(2, 24\)"):
        flatten.back(np.ones((2, 23)), x.shape)


def test_conv_pool_flatten_dense_chain_equals_finite_differences():
    """The pieces chained as a network would chain them: conv -> ReLU -> max pool -> flatten ->
    a dense layer; dX and dW of the convolution from the chained backward passes equal finite
    differences of sum(G * Y)."""
    rng = np.random.default_rng(13)
    x, w, b = rng.normal(size=(2, 2, 6, 6)), rng.normal(size=(3, 2, 3, 3)), rng.normal(size=3)
    V = rng.normal(size=(3 * 2 * 2, 4))
    G = rng.normal(size=(2, 4))

    def run():
        z = conv.forward(x, w, b, 1, 1)
        a = np.maximum(z, 0)
        p = pool.forward(a, "max", 3, 3)
        return z, a, p, flatten.forward(p) @ V

    def loss():
        return float((G * run()[3]).sum())

    z, a, p, _ = run()
    dp = flatten.back(G @ V.T, p.shape)
    da = pool.back(dp, a, "max", 3, 3)
    dz = da * (z > 0)
    dW, db = conv.grads(x, dz, w, 1, 1)
    assert np.allclose(conv.back(dz, w, x.shape, 1, 1), central(loss, x), atol=1e-5)
    assert np.allclose(dW, central(loss, w), atol=1e-5)
    assert np.allclose(db, central(loss, b), atol=1e-5)
