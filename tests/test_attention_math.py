"""Single-head self-attention's mathematics (issue 26, engine/layers/attention.py) against
numbers computed here, never by the module: a forward pass written as explicit loops over
samples, tokens and dimensions, central finite differences of a scalar loss sum(G * H) for
random G (with every intermediate bumped in turn, so dQ, dK, dV, dS and dA are checked too),
and two tokens with d_k = 1 worked by hand."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from fdiff import central
from hypothesis import given, settings
from hypothesis import strategies as st

from nnreport.engine.layers import attention as att


def ref_forward(X: np.ndarray, P: dict[str, np.ndarray], causal: bool,
                bump: tuple | None = None) -> dict[str, np.ndarray]:
    """Q, K, V, S, A, H by loops: s_ij = q_i . k_j / sqrt(d_k) for j <= i when causal (else
    every j), a_ij = e^{s_ij - max_j s_ij} / sum_j e^{s_ij - max_j s_ij}, h_i = sum_j a_ij v_j.
    bump = (name, i, a, b, eps) adds eps to entry (a, b) of sample i's Q, K, V, S or A."""
    m, n, F = X.shape
    dk, dv = P["Wq"].shape[1], P["Wv"].shape[1]
    out = {k: np.zeros((m, n, d)) for k, d in (("Q", dk), ("K", dk), ("V", dv), ("S", n),
                                                ("A", n), ("H", dv))}

    def bumped(name: str, i: int) -> None:
        if bump and bump[:2] == (name, i):
            out[name][i, bump[2], bump[3]] += bump[4]

    for i in range(m):
        for name, W in (("Q", P["Wq"]), ("K", P["Wk"]), ("V", P["Wv"])):
            for t in range(n):
                for c in range(W.shape[1]):
                    out[name][i, t, c] = sum(X[i, t, f] * W[f, c] for f in range(F))
            bumped(name, i)
        Q, K, V = out["Q"][i], out["K"][i], out["V"][i]
        for a in range(n):
            for b in range(n):
                out["S"][i, a, b] = sum(Q[a, c] * K[b, c] for c in range(dk)) / math.sqrt(dk)
        bumped("S", i)
        for a in range(n):
            seen = range(a + 1) if causal else range(n)
            top = max(out["S"][i, a, b] for b in seen)
            e = {b: math.exp(out["S"][i, a, b] - top) for b in seen}
            for b in seen:
                out["A"][i, a, b] = e[b] / sum(e.values())
        bumped("A", i)
        for a in range(n):
            for c in range(dv):
                out["H"][i, a, c] = sum(out["A"][i, a, b] * V[b, c] for b in range(n))
    return out


def draw(rng: np.random.Generator, m: int, n: int, F: int, dk: int, dv: int
         ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    return rng.normal(size=(m, n, F)), {"Wq": rng.normal(size=(F, dk)),
                                        "Wk": rng.normal(size=(F, dk)),
                                        "Wv": rng.normal(size=(F, dv))}




def close(a: Any, b: Any, tol: float = 1e-6) -> None:
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                               rtol=tol, atol=tol)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("causal", [False, True])
def test_forward_equals_the_loops(causal, seed):
    rng = np.random.default_rng(seed)
    X, P = draw(rng, 2, 4, 3, 2, 3)
    f = att.forward(X, P, causal)
    ref = ref_forward(X, P, causal)
    for k in ("Q", "K", "V", "A", "H"):
        close(getattr(f, k), ref[k], 1e-12)
    above = np.triu(np.ones((4, 4), dtype=bool), 1)
    if causal:
        assert np.isneginf(f.S[:, above]).all() and (f.A[:, above] == 0).all()
        assert (f.E[:, above] == 0).all()
        close(f.S[:, ~above], ref["S"][:, ~above], 1e-12)
        close(f.H[:, 0], f.V[:, 0], 1e-15)  # the first token sees only itself
    else:
        close(f.S, ref["S"], 1e-12)
    seen = ~above if causal else np.ones((4, 4), dtype=bool)
    close(f.QK[:, seen] / math.sqrt(2), f.S[:, seen], 1e-15)
    close(f.A.sum(axis=-1), np.ones((2, 4)), 1e-15)
    # what a worked step prints: each row's shift, exponentials and their sum
    finite = np.where(seen, ref["S"], -np.inf)
    close(f.rowmax, finite.max(axis=-1), 1e-12)
    close(f.E, np.exp(finite - finite.max(axis=-1, keepdims=True)), 1e-12)
    close(f.rowsum, f.E.sum(axis=-1), 1e-15)
    assert (f.E.max(axis=-1) == 1).all()  # the shifted maximum is e^0


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("causal", [False, True])
def test_backward_equals_finite_differences(causal, seed):
    m, n, F, dk, dv = 2, 3, 2, 2, 3
    rng = np.random.default_rng(50 + seed)
    X, P = draw(rng, m, n, F, dk, dv)
    G = rng.normal(size=(m, n, dv))
    back = att.backward(X, P, att.forward(X, P, causal), G, scale=1 / m)

    def loss(bump: tuple | None = None, g: np.ndarray = G) -> float:
        return float((g * ref_forward(X, P, causal, bump)["H"]).sum())

    for k in att.KINDS:
        total = np.zeros(P[k].shape)
        for i in range(m):  # each sample's loss: G zero outside sample i
            Gi = np.zeros_like(G)
            Gi[i] = G[i]
            g = central(lambda Gi=Gi: loss(g=Gi), P[k])
            close(back.per_sample[k][i], g)
            total += g
        close(back.grads[k], total / m)
    close(back.dX, central(loss, X))
    close(sum(back.dX_parts.values()), back.dX, 1e-12)
    eps = 1e-6
    for name, got in (("Q", back.dQ), ("K", back.dK), ("V", back.dV), ("S", back.dS),
                      ("A", back.dA)):
        for idx in np.ndindex(got.shape):
            b = (name, idx[0], idx[1], idx[2])
            num = (loss((*b, eps)) - loss((*b, -eps))) / (2 * eps)
            assert got[idx] == pytest.approx(num, rel=1e-6, abs=1e-6), (name, idx)
    if causal:  # no gradient reaches a masked score
        assert (back.dS[:, np.triu(np.ones((n, n), dtype=bool), 1)] == 0).all()


@pytest.mark.parametrize("causal", [False, True])
def test_the_softmax_jacobian_per_row(causal):
    """dS_i = J_i dA_i with J_i = diag(A_i) - A_i A_i^T, J_i by finite differences of the
    row's softmax written here; rowdot_i = sum_j dA_ij A_ij."""
    rng = np.random.default_rng(9)
    X, P = draw(rng, 2, 3, 2, 2, 2)
    f = att.forward(X, P, causal)
    back = att.backward(X, P, f, rng.normal(size=(2, 3, 2)))
    J = att.softmax_jacobian(f.A)
    assert J.shape == (2, 3, 3, 3)
    for i, a in np.ndindex(2, 3):
        s = f.S[i, a].copy()
        seen = np.isfinite(s)

        def row(s=s, seen=seen) -> np.ndarray:
            e = np.zeros(len(s))
            e[seen] = [math.exp(v) for v in s[seen]]
            return e / e.sum()

        num = np.zeros((3, 3))
        for b in np.flatnonzero(seen):
            s[b] += 1e-6
            up = row()
            s[b] -= 2e-6
            down = row()
            s[b] += 1e-6
            num[:, b] = (up - down) / 2e-6
        close(J[i, a], num)
        close(J[i, a] @ back.dA[i, a], back.dS[i, a], 1e-12)
        dot = sum(back.dA[i, a, b] * f.A[i, a, b] for b in range(3))
        assert back.rowdot[i, a] == pytest.approx(dot, rel=1e-12, abs=1e-15)
    close(J.sum(axis=-1), np.zeros((2, 3, 3)), 1e-15)


def test_two_tokens_by_hand():
    """One feature, x = (1, 2), Wq = Wk = Wv = 1, d_k = 1: q = k = v = (1, 2).
    S = q k^T = [[1, 2], [2, 4]]. Row 1: shift by 2, E = (e^-1, 1), sum 1 + 1/e;
    a11 = 1/(1+e) = 0.26894, a12 = e/(1+e) = 0.73106; h1 = a11 + 2 a12 = 1.73106.
    Row 2: E = (e^-2, 1), a21 = 1/(1+e^2) = 0.11920, h2 = a21 + 2 a22 = 1.88080.
    L = h1 (dH = (1, 0)): dV = A^T dH = (a11, a12); dA = dH v^T = [[1, 2], [0, 0]];
    rowdot1 = a11 + 2 a12 = h1; dS1j = a1j (dA1j - h1) = (-a11 a12, a11 a12) = (-p, p) with
    p = a11 a12 = e/(1+e)^2 = 0.19661; dS row 2 = 0. dQ = dS K = (-p + 2p, 0) = (p, 0);
    dK = dS^T Q = (-p, p). dWq = x . dQ = p; dWk = x . dK = -p + 2p = p; dWv = x . dV = h1;
    dX = dQ Wq + dK Wk + dV Wv = (p - p + a11, 0 + p + a12) = (a11, a12 + p).
    Check: h1 = wv (2 - a11) with a11 = 1/(1 + e^{wq wk}): dh1/dwq = wv a11 a12 wk = p."""
    e = math.e
    a11, a12, a21 = 1 / (1 + e), e / (1 + e), 1 / (1 + e * e)
    h1, p = a11 + 2 * a12, a11 * a12
    X = np.array([[[1.0], [2.0]]])
    P = {"Wq": [[1.0]], "Wk": [[1.0]], "Wv": [[1.0]]}
    f = att.forward(X, P)
    close(f.S, [[[1, 2], [2, 4]]], 0)
    close(f.rowmax, [[2, 4]], 0)
    close(f.E, [[[1 / e, 1], [1 / e**2, 1]]], 1e-15)
    close(f.rowsum, [[1 + 1 / e, 1 + 1 / e**2]], 1e-15)
    close(f.A, [[[a11, a12], [a21, 1 - a21]]], 1e-15)
    close(f.H, [[[h1], [a21 + 2 * (1 - a21)]]], 1e-15)
    assert h1 == pytest.approx(1.73106, abs=1e-5) and p == pytest.approx(0.19661, abs=1e-5)
    b = att.backward(X, P, f, [[[1.0], [0.0]]])
    close(b.dV, [[[a11], [a12]]], 1e-15)
    close(b.dA, [[[1, 2], [0, 0]]], 0)
    close(b.rowdot, [[h1, 0]], 1e-15)
    close(b.dS, [[[-p, p], [0, 0]]], 1e-15)
    close(b.dQ, [[[p], [0]]], 1e-15)
    close(b.dK, [[[-p], [p]]], 1e-15)
    close(b.grads["Wq"], [[p]], 1e-15)
    close(b.grads["Wk"], [[p]], 1e-15)
    close(b.grads["Wv"], [[h1]], 1e-15)
    close(b.dX, [[[a11], [a12 + p]]], 1e-15)


def test_two_tokens_by_hand_causal():
    """The same with a causal mask: token 1 sees only itself, S1 = (1, -inf), E1 = (1, 0),
    a1 = (1, 0), h1 = v1 = 1; row 2 as before. With L = h1: dS row 1 = a1 * (dA1 - 1) =
    (1 * (1 - 1), 0) = 0, so dWq = dWk = 0; dV = (1, 0), dWv = x1 = 1; dX = (1, 0)."""
    X = np.array([[[1.0], [2.0]]])
    P = {"Wq": [[1.0]], "Wk": [[1.0]], "Wv": [[1.0]]}
    f = att.forward(X, P, causal=True)
    assert f.S[0, 0].tolist() == [1.0, -math.inf]
    assert f.E[0, 0].tolist() == [1.0, 0.0] and f.A[0, 0].tolist() == [1.0, 0.0]
    assert f.H[0, 0].tolist() == [1.0]
    close(f.A[0, 1], [1 / (1 + math.e**2), 1 - 1 / (1 + math.e**2)], 1e-15)
    b = att.backward(X, P, f, [[[1.0], [0.0]]])
    assert b.dS.tolist() == [[[0.0, 0.0], [0.0, 0.0]]]
    assert b.grads["Wq"].tolist() == [[0.0]] and b.grads["Wk"].tolist() == [[0.0]]
    assert b.grads["Wv"].tolist() == [[1.0]]
    assert b.dX.ravel().tolist() == [1.0, 0.0]


def test_large_scores_do_not_overflow():
    """Scores in the thousands: e^1000 overflows, the shifted exponentials do not; the row's
    largest score takes all the weight."""
    X = np.array([[[30.0], [-20.0], [10.0]]])
    P = {"Wq": [[2.0]], "Wk": [[3.0]], "Wv": [[1.0]]}
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # e^-4500 is 0: fine
        f = att.forward(X, P)
        b = att.backward(X, P, f, np.ones((1, 3, 1)))
    assert np.isfinite(f.A).all() and np.isfinite(b.dX).all()
    assert f.A[0, 0].tolist() == [1.0, 0.0, 0.0]  # 6 * 30 * (30, -20, 10)
    assert f.A[0, 1].tolist() == [0.0, 1.0, 0.0]  # 6 * -20 * (30, -20, 10)
    close(f.H.ravel(), [30.0, -20.0, 30.0], 0)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 2), st.integers(1, 4), st.integers(1, 3), st.integers(1, 3),
       st.integers(1, 3), st.booleans(), st.integers(0, 2**32 - 1))
def test_any_shape(m, n, F, dk, dv, causal, seed):
    rng = np.random.default_rng(seed)
    X, P = draw(rng, m, n, F, dk, dv)
    G = rng.normal(size=(m, n, dv))
    f = att.forward(X, P, causal)
    close(f.H, ref_forward(X, P, causal)["H"], 1e-12)
    b = att.backward(X, P, f, G)

    def loss() -> float:
        return float((G * ref_forward(X, P, causal)["H"]).sum())

    close(b.dX, central(loss, X))
    for k in att.KINDS:
        close(b.grads[k], central(loss, P[k]))


GOOD = {"Wq": np.zeros((3, 2)), "Wk": np.zeros((3, 2)), "Wv": np.zeros((3, 4))}


@pytest.mark.parametrize("X, change, message", [
    (np.zeros((2, 3)), {}, r"X must be \[samples, tokens, features\] \(3-D\), got shape \(2, 3\)"),
    (np.zeros((1, 2, 3, 3)), {}, r"\(4-D\)"),
    (np.zeros((1, 0, 3)), {}, "at least one sample, token and feature"),
    (np.zeros((2, 4, 5)), {}, r"Wq has 3 rows but X has 5 features"),
    (np.zeros((2, 4, 3)), {"Wv": np.zeros((2, 4))}, r"Wv has 2 rows but X has 3 features"),
    (np.zeros((2, 4, 3)), {"Wk": np.zeros(3)}, r"Wk must be \[features, d\]"),
    (np.zeros((2, 4, 3)), {"Wk": np.zeros((3, 3))}, r"Wq and Wk must have the same columns"),
    (np.zeros((2, 4, 3)), {"Wx": np.zeros((3, 3))}, "unknown parameter"),
])
def test_validation_names_what_does_not_fit(X, change, message):
    P = {**GOOD, **change}
    with pytest.raises(ValueError, match=message):
        att.validate(X, P)
    with pytest.raises(ValueError, match="^attention: "):
        att.forward(X, P)


def test_validation_of_the_spec_and_the_gradient():
    X = np.zeros((2, 4, 3))
    assert att.validate(X, GOOD, d_k=2, d_v=4) == att.Shapes(2, 4, 3, 2, 4)
    with pytest.raises(ValueError, match="missing parameter"):
        att.validate(X, {"Wq": GOOD["Wq"]})
    with pytest.raises(ValueError, match="d_k is 3 but Wq and Wk have 2 columns"):
        att.validate(X, GOOD, d_k=3)
    with pytest.raises(ValueError, match="d_v is 2 but Wv has 4 columns"):
        att.validate(X, GOOD, d_v=2)
    f = att.forward(X, GOOD)
    with pytest.raises(ValueError, match=r"dH must be \[2, 4, 4\]"):
        att.backward(X, GOOD, f, np.zeros((2, 4, 2)))
    with pytest.raises(ValueError, match="forward pass"):
        att.backward(X[:1], GOOD, f, np.zeros((1, 4, 4)))
