"""Batch normalisation's worked lines (issue 25) against an independent computation in
50-digit decimals: the statistics by their definitions, dX as the transposed Jacobian of xhat
(d xhat_k / d x_n = (delta_kn - 1/m) / s - (x_k - mu)(x_n - mu) / (m s^3), per feature) times
dH gamma, not the closed form the lines use; the lines compiled, their numbers read back.

Hand example (feature 1): x = 1, 2, 3, 6: mu = 3, var = (4 + 1 + 0 + 9) / 4 = 3.5,
xhat of sample 1 = (1 - 3) / sqrt(3.5 + 0.00001) = -1.069043..."""

from __future__ import annotations

from decimal import Decimal, getcontext
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
)

from nnreport.document.lines import side
from nnreport.document.worked.layers import batchnorm as B

needs_tex = pytest.mark.skipif(not HAVE_TEX, reason="pdflatex not installed")

X = np.array([[1, 0.5, -2], [2, 1.5, 0], [3, -1, 1], [6, 0, 0.25]])
G = np.array([2, 0.5, -1])
BETA = np.array([0.5, 0, 0.1])
DH = np.array([[0.1, -0.2, 0.3], [0.4, 0, -0.1], [-0.3, 0.2, 0.2], [0.05, 0.1, -0.4]])
EPS = 1e-5
DIG = 4
getcontext().prec = 50


def dec(v):
    return Decimal(repr(float(v)))


def reference():
    m, F = X.shape
    x = [[dec(v) for v in r] for r in X]
    g, b, dh, eps = [dec(v) for v in G], [dec(v) for v in BETA], \
        [[dec(v) for v in r] for r in DH], dec(EPS)
    mu = [sum(x[n][j] for n in range(m)) / m for j in range(F)]
    var = [sum((x[n][j] - mu[j]) ** 2 for n in range(m)) / m for j in range(F)]
    s = [(v + eps).sqrt() for v in var]
    xhat = [[(x[n][j] - mu[j]) / s[j] for j in range(F)] for n in range(m)]
    h = [[g[j] * xhat[n][j] + b[j] for j in range(F)] for n in range(m)]
    dx = [[Decimal(0)] * F for _ in range(m)]
    for j in range(F):
        for n in range(m):
            for k in range(m):
                jac = ((1 if k == n else 0) - Decimal(1) / m) / s[j] \
                    - (x[k][j] - mu[j]) * (x[n][j] - mu[j]) / (m * s[j] ** 3)
                dx[n][j] += dh[k][j] * g[j] * jac
    dg = [sum(dh[n][j] * xhat[n][j] for n in range(m)) / m for j in range(F)]
    db = [sum(dh[n][j] for n in range(m)) / m for j in range(F)]

    def arr(a):
        return np.array([[Fraction(v) for v in r] if isinstance(r, list) else Fraction(r)
                         for r in a], dtype=object)

    return {k: arr(v) for k, v in dict(mu=mu, var=var, std=s, xhat=xhat, H=h, dX=dx,
                                       dgamma=dg, dbeta=db).items()}


def test_hand_example():
    ref = reference()
    assert ref["mu"][0] == 3 and ref["var"][0] == Fraction(7, 2)
    st = B.forward(X, G, BETA, DIG, eps=EPS)
    assert result_tex(st[0]).startswith(r"\begin{bmatrix} 3 &")
    assert result_tex(st[3]) == "-1.069"


def test_against_reference():
    ref = reference()
    names = B.Names.layer(3)
    fw = B.forward(X, G, BETA, DIG, names, eps=EPS, at=(2, 1))
    by = {s.key: s for s in fw if s.key}
    assert set(by) == {"mu3", "var3", "xhat3", "H3"}
    for k, key in (("mu", "mu3"), ("var", "var3"), ("xhat", "xhat3"), ("H", "H3")):
        np.testing.assert_allclose(by[key].result.array, ref[k].astype(float), rtol=1e-12)
        check_printed(result_tex(by[key]), ref[k], DIG)
    std = next(s for s in fw if s.lhs.startswith(r"\sqrt"))
    check_printed(result_tex(std), ref["std"], DIG)
    entry = next(s for s in fw if s.lhs.startswith(r"\left(\hat{x}"))
    check_printed(result_tex(entry), ref["xhat"][2, 1], DIG)
    hentry = next(s for s in fw if s.lhs.startswith(r"\left(h_{3}"))
    check_printed(result_tex(hentry), ref["H"][2, 1], DIG)
    # the variance's line: the deviations as printed are the rows of x - mu
    more = " ".join(t.tex for t in side(by["var3"].more[0]))
    devs = matrices(more)
    assert len(devs) == 4
    for n, tex in enumerate(devs):
        check_printed(tex, np.array([Fraction(dec(v)) for v in X[n]], dtype=object)
                      - ref["mu"], DIG)
    gr = B.grads(DH, X, DIG, names, eps=EPS)
    assert [s.key for s in gr] == ["dgamma3", "dbeta3"]
    check_printed(result_tex(gr[0]), ref["dgamma"], DIG)
    check_printed(result_tex(gr[1]), ref["dbeta"], DIG)
    bk = B.back(DH, X, G, DIG, names, eps=EPS, at=(3, 2))
    final = bk[-1]
    assert final.key == "dH2"
    np.testing.assert_allclose(final.result.array, ref["dX"].astype(float), rtol=1e-10,
                               atol=1e-14)
    check_printed(result_tex(final), ref["dX"], DIG)
    check_printed(result_tex(bk[-2]), ref["dX"][3, 2], DIG)


@needs_tex
def test_compiles(tmp_path):
    names = B.Names.layer(3)
    groups = [B.forward(X, G, BETA, DIG, names, eps=EPS),
              B.grads(DH, X, DIG, names, eps=EPS) + B.back(DH, X, G, DIG, names, eps=EPS)]
    compile_tex(document(groups), tmp_path, "bn", png=True)


def test_a_large_batch_writes_its_sums_short():
    """40 samples: the mean's sum shows samples 1 to 3, dots and sample 40, the value is the
    whole batch's."""
    rng = np.random.default_rng(2)
    x = rng.integers(-9, 10, size=(40, 2)) / 4
    st = B.forward(x, np.ones(2), np.zeros(2), DIG)
    line = joined(st[0])
    assert line.count(r"\begin{bmatrix}") == 5 and r"\cdots" in line
    want = np.array([sum(Fraction(dec(v)) for v in x[:, j]) / 40 for j in range(2)],
                    dtype=object)
    check_printed(result_tex(st[0]), want, DIG)


def test_formula_and_refusals():
    assert B.formula(B.Names.layer(2)) == (
        r"H_{2} = \gamma_{2} \odot \frac{H_{1} - \mu_{2}}{\sqrt{\sigma^{2}_{2} + \epsilon}}"
        r" + \beta_{2}")
    with pytest.raises(ValueError, match="feature 2 has the same value in every sample"):
        B.forward(np.array([[1.0, 2], [3, 2]]), np.ones(2), np.zeros(2), 4, eps=0)
    with pytest.raises(ValueError, match="follows a dense layer"):
        B.forward(np.ones((2, 2, 2)), np.ones(2), np.zeros(2), 4)
