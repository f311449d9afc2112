"""The mathematics of batch normalisation and dropout (issue 25: engine/layers/batchnorm.py,
dropout.py), checked against numbers computed independently here: loops from the definitions,
backpropagation through the computation graph step by step (mu, var, xhat: a different
derivation from the module's closed form), central finite differences of sum(G * H), examples
worked by hand, and Fraction arithmetic for the exact variants."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from fdiff import central
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from nnreport.engine import exact
from nnreport.engine.layers import batchnorm as bn
from nnreport.engine.layers import dropout

F = Fraction


def q(a):
    return np.vectorize(lambda v: F(repr(float(v))), otypes=[object])(np.asarray(a, float))




# batch normalisation --------------------------------------------------------------------------
def naive_bn(x, gamma, beta, eps):
    """mu, var, xhat, H feature by feature, sample by sample."""
    m, nf = x.shape
    mu, var = np.zeros(nf), np.zeros(nf)
    xhat, h = np.zeros(x.shape), np.zeros(x.shape)
    for j in range(nf):
        mu[j] = sum(x[n, j] for n in range(m)) / m
        var[j] = sum((x[n, j] - mu[j]) ** 2 for n in range(m)) / m
        for n in range(m):
            xhat[n, j] = (x[n, j] - mu[j]) / math.sqrt(var[j] + eps)
            h[n, j] = gamma[j] * xhat[n, j] + beta[j]
    return mu, var, xhat, h


def graph_bn_back(dh, x, gamma, eps):
    """dX by the chain rule through the graph x -> mu -> var -> xhat -> H, one node at a time
    (not the closed form): dxhat, then dvar, then dmu, then dX."""
    m = x.shape[0]
    mu = x.mean(axis=0)
    var = ((x - mu) ** 2).mean(axis=0)
    inv = 1 / np.sqrt(var + eps)
    dxhat = dh * gamma
    dvar = (dxhat * (x - mu) * -0.5 * inv ** 3).sum(axis=0)
    dmu = (-dxhat * inv).sum(axis=0) + dvar * (-2 * (x - mu)).mean(axis=0)
    return dxhat * inv + dvar * 2 * (x - mu) / m + dmu / m


@settings(max_examples=40, deadline=None)
@given(m=st.integers(2, 6), nf=st.integers(1, 4), eps=st.sampled_from([1e-5, 1e-3, 0.1]),
       seed=st.integers(0, 10**6))
def test_batchnorm_equals_the_loops_the_graph_and_finite_differences(m, nf, eps, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(m, nf)) * rng.uniform(0.5, 3, size=nf) + rng.normal(size=nf)
    gamma, beta = rng.normal(size=nf), rng.normal(size=nf)
    out = bn.forward(x, gamma, beta, eps)
    assume(out.var.min() > 0.01)  # finite differences of a near-constant feature are noise
    for got, want in zip(out, naive_bn(x, gamma, beta, eps), strict=True):
        assert np.allclose(got, want)
    G = rng.normal(size=(m, nf))
    dx, dgamma, dbeta = bn.backward(G, x, gamma, eps)
    assert np.allclose(dx, graph_bn_back(G, x, gamma, eps))
    assert np.allclose(dx.sum(axis=0), 0)  # shifting every sample shifts nothing

    def loss():
        return float((G * bn.forward(x, gamma, beta, eps).h).sum())

    assert np.allclose(dx, central(loss, x), atol=1e-5)
    assert np.allclose(dgamma, central(loss, gamma), atol=1e-6)
    assert np.allclose(dbeta, central(loss, beta), atol=1e-6)
    pg, pb = bn.per_sample(G, out.xhat)
    assert pg.shape == pb.shape == (m, nf)
    assert np.allclose(pg.sum(axis=0), dgamma) and np.allclose(pb.sum(axis=0), dbeta)
    sg, sb = bn.grads(G, out.xhat, scale=1 / m)
    assert np.allclose(sg, dgamma / m) and np.allclose(sb, dbeta / m)
    assert np.allclose(bn.backward(G, x, gamma, eps, 1 / m)[0], dx)  # dX takes no scale


def test_batchnorm_worked_by_hand():
    # one feature, X = 0 0 0 0 5, eps = 0, gamma = 1, beta = 0:
    # mu = 5/5 = 1, var = (4 * 1 + 16) / 5 = 4, sqrt = 2, xhat = -0.5 -0.5 -0.5 -0.5 2
    # dH = 1 0 0 0 0: dxhat = dH, sum dxhat = 1, sum dxhat xhat = -0.5,
    # dX = (5 dxhat - 1 - xhat (-0.5)) / (5 * 2) = (3.75, -1.25, -1.25, -1.25, 0) / 10
    # dgamma = -0.5, dbeta = 1
    x = np.array([[0.0], [0.0], [0.0], [0.0], [5.0]])
    g, b = np.array([1.0]), np.array([0.0])
    out = bn.forward(x, g, b, eps=0.0)
    assert out.mu.tolist() == [1.0] and out.var.tolist() == [4.0]
    assert out.xhat[:, 0].tolist() == [-0.5, -0.5, -0.5, -0.5, 2.0]
    dh = np.array([[1.0], [0.0], [0.0], [0.0], [0.0]])
    dx, dg, db = bn.backward(dh, x, g, eps=0.0)
    assert np.allclose(dx[:, 0], [0.375, -0.125, -0.125, -0.125, 0.0], atol=1e-15)
    assert dg.tolist() == [-0.5] and db.tolist() == [1.0]
    # exactly, as on paper
    E = bn.exact_forward(q(x), q(g), q(b), eps=0.0)
    assert E.mu.tolist() == [1] and E.var.tolist() == [4]
    assert E.xhat is not None and E.xhat[:, 0].tolist() == [F(-1, 2)] * 4 + [2]
    D = bn.exact_back(q(dh), q(x), q(g), eps=0.0)
    assert D is not None and D[:, 0].tolist() == [F(3, 8), F(-1, 8), F(-1, 8), F(-1, 8), 0]
    # two samples: xhat is always -1, 1 (with eps = 0), so dX is 0 whatever dH is
    x2 = np.array([[3.0], [7.0]])
    assert np.allclose(bn.back(np.array([[2.0], [-5.0]]), x2, g, eps=0.0), 0)


def test_batchnorm_exact():
    rng = np.random.default_rng(3)
    x = np.round(rng.normal(size=(4, 3)), 1)
    X = q(x)
    mu, var = bn.exact_stats(X)
    assert mu is not None and var is not None
    ref_mu = [sum(X[n, j] for n in range(4)) / 4 for j in range(3)]
    assert mu.tolist() == ref_mu
    assert var.tolist() == [sum((X[n, j] - ref_mu[j]) ** 2 for n in range(4)) / 4
                            for j in range(3)]
    f = bn.forward(x, np.ones(3), np.zeros(3))
    assert np.allclose(exact.to_float(mu), f.mu) and np.allclose(exact.to_float(var), f.var)
    # with eps = 1e-5 the root is irrational: xhat and H leave the exact chain
    E = bn.exact_forward(X, q(np.ones(3)), q(np.zeros(3)))
    assert E.mu is not None and E.xhat is None and E.h is None
    assert bn.exact_back(q(np.ones((4, 3))), X, q(np.ones(3))) is None
    # 3-4-5: var 0.16 + eps 0.09 = 0.25, root 0.5
    x = np.array([[0.0], [0.8]])
    E = bn.exact_forward(q(x), q([2.0]), q([0.1]), eps=0.09)
    assert E.xhat is not None and E.xhat[:, 0].tolist() == [F(-4, 5), F(4, 5)]
    assert E.h is not None and E.h[:, 0].tolist() == [F(-3, 2), F(17, 10)]
    assert np.allclose(exact.to_float(E.h), bn.forward(x, np.array([2.0]), np.array([0.1]),
                                                       0.09).h)
    dh = np.array([[0.3], [-0.2]])
    D = bn.exact_back(q(dh), q(x), q([2.0]), eps=0.09)
    assert D is not None and np.allclose(exact.to_float(D),
                                         bn.back(dh, x, np.array([2.0]), 0.09))
    assert bn.exact_stats(None) == (None, None)
    assert bn.exact_forward(None, None, None) == (None, None, None, None)


def test_batchnorm_one_sample_and_errors():
    out = bn.forward(np.array([[2.0, -1.0]]), np.array([3.0, 3.0]), np.array([0.5, -0.5]))
    assert out.var.tolist() == [0.0, 0.0] and out.h.tolist() == [[0.5, -0.5]]
    with pytest.raises(ValueError, match=r"its input is \[samples, features\], not of shape "
                                         r"\[2, 3, 4\]"):
        bn.forward(np.ones((2, 3, 4)), np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match=r"gamma has shape \[2\], expected \[3\]"):
        bn.forward(np.ones((2, 3)), np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match=r"beta has shape \[1, 3\], expected \[3\]"):
        bn.forward(np.ones((2, 3)), np.ones(3), np.ones((1, 3)))
    with pytest.raises(ValueError, match="feature 2 has the same value in every sample"):
        bn.forward(np.array([[1.0, 4.0], [2.0, 4.0]]), np.ones(2), np.ones(2), eps=0.0)
    with pytest.raises(ValueError, match="eps must be 0 or more"):
        bn.forward(np.ones((2, 3)), np.ones(3), np.ones(3), eps=-1e-5)
    with pytest.raises(ValueError, match=r"dH has shape \[3, 3\], but H is \[2, 3\]"):
        bn.back(np.ones((3, 3)), np.ones((2, 3)), np.ones(3))


# dropout ------------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [0.0, 0.2, 0.5, 0.75])
@pytest.mark.parametrize("shape", [(1, 4), (3, 5), (2, 3, 4)])
def test_dropout_equals_the_loop_and_finite_differences(p, shape):
    rng = np.random.default_rng(len(shape) * 10 + int(p * 100))
    h = rng.normal(size=shape)
    mask = rng.integers(0, 2, size=shape).astype(float)
    out = dropout.forward(h, mask, p)
    for idx in np.ndindex(shape):
        assert np.isclose(out[idx], h[idx] / (1 - p) if mask[idx] else 0.0)
    G = rng.normal(size=shape)
    num = central(lambda: float((G * dropout.forward(h, mask, p)).sum()), h)
    assert np.allclose(dropout.back(G, mask, p), num, atol=1e-6)
    E = dropout.exact_forward(q(h), mask, p)
    assert E is not None and np.allclose(exact.to_float(E), out)
    D = dropout.exact_back(q(G), mask, p)
    assert D is not None and np.allclose(exact.to_float(D), dropout.back(G, mask, p))


def test_dropout_worked_by_hand_and_exact():
    # H_prev = 0.3 -1.2 0.5, mask = 1 0 1, p = 0.2: kept units times 1/0.8 = 1.25:
    # H = 0.375 0 0.625 (floats give 0.3 / 0.8 = 0.37499999999999994)
    h = np.array([[0.3, -1.2, 0.5]])
    mask = dropout.check_mask([[1, 0, 1]], (1, 3))
    assert dropout.forward(h, mask, 0.2)[0, 0] != 0.375
    E = dropout.exact_forward(q(h), mask, 0.2)
    assert E is not None and E.tolist() == [[F(3, 8), 0, F(5, 8)]]
    assert exact.to_float(E).tolist() == [[0.375, 0.0, 0.625]]
    # backward: dH = 1 2 3 -> dH_prev = 1.25 0 3.75
    D = dropout.exact_back(q([[1.0, 2.0, 3.0]]), mask, 0.2)
    assert D is not None and D.tolist() == [[F(5, 4), 0, F(15, 4)]]
    # p = 0.5 doubles the kept units, exactly in floats too
    assert dropout.forward(h, mask, 0.5).tolist() == [[0.6, 0.0, 1.0]]
    assert dropout.exact_forward(None, mask, 0.5) is None
    assert dropout.exact_back(None, mask, 0.5) is None


@pytest.mark.parametrize("mask, shape, message", [
    ([[1, 0], [1, 1]], (2, 3),
     r"the dropout mask has shape \[2, 2\], expected \[2, 3\] \(the shape of H1: one 0 or 1"),
    ([[1, 0, 0.5], [1, 1, 1]], (2, 3),
     r"the dropout mask holds 0.5 at row 1, column 3; a mask entry is 0 \(the unit is "
     r"dropped\) or 1 \(kept\)"),
    ([[1, 0, 1], [1, 2, 1]], (2, 3), "holds 2 at row 2, column 2"),
    ([[1, 0, 1], [1, 1]], (2, 3), r"the dropout mask's rows have different lengths \[2, 3\]"),
    ([[1, "x", 1]], (1, 3), "the dropout mask is a table of 0s and 1s, one per entry of H1"),
    ([["1", 0, 1]], (1, 3), "the dropout mask is a table of 0s and 1s"),
    ([[1, -1, 1]], (1, 3), "holds -1 at row 1, column 2"),
    ([[[1, 0], [1, 1]]], (1, 2, 2), None),
    (np.array([[[1, 0], [1, 0.5]]]), (1, 2, 2), r"holds 0.5 at entry \[1, 2, 2\]"),
    ([[1, float("nan")]], (1, 2), "holds nan at row 1, column 2"),
])
def test_mask_errors_say_what_is_wrong(mask, shape, message):
    if message is None:
        assert dropout.check_mask(mask, shape, "H1").shape == shape
        return
    with pytest.raises(ValueError, match=message):
        dropout.check_mask(mask, shape, "H1")


@pytest.mark.parametrize("p", [1, 1.0, -0.1, 1.5, True, "0.5", float("nan")])
def test_p_errors(p):
    with pytest.raises(ValueError, match="dropout's p is the probability of dropping a unit"):
        dropout.check_p(p)


def test_mask_shape_is_checked_at_use():
    with pytest.raises(ValueError, match=r"the dropout mask has shape \[1, 2\], but the array "
                                         r"it masks is \[1, 3\]"):
        dropout.forward(np.ones((1, 3)), np.ones((1, 2)), 0.5)
    assert dropout.check_mask([[True, False]], (1, 2)).tolist() == [[1.0, 0.0]]
