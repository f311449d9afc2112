"""The recurrent layer's mathematics (issue 26, engine/layers/rnn.py) against numbers computed
here, never by the module: a forward pass and a backpropagation through time written as
explicit loops over samples, steps and units (on floats, or on Fractions for the exact pass),
central finite differences of a scalar loss sum(G * output) for random G, and small examples
worked by hand."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from fdiff import central
from hypothesis import given, settings
from hypothesis import strategies as st

from nnreport.engine import exact
from nnreport.engine.layers import rnn

ACTS = ("tanh", "relu", "sigmoid", "linear")


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


# f(z) and f'(z) from (z, f(z)), one number at a time; relu and linear also on Fractions
REF = {
    "tanh": (math.tanh, lambda z, h: 1 - h * h),
    "sigmoid": (_sigmoid, lambda z, h: h * (1 - h)),
    "relu": (lambda z: z if z > 0 else 0 * z, lambda z, h: 1 if z > 0 else 0),
    "linear": (lambda z: z, lambda z, h: 1),
}


def ref_forward(X: Any, P: dict[str, Any], act: str, bump: tuple | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """Z, H [m, T, U] by loops: h_t = act(x_t Wx + h_{t-1} Wh + b). bump = (what, i, t, u,
    eps) adds eps to z_t or h_t (t = -1: h_0) of sample i, for finite differences."""
    f = REF[act][0]
    m, T, F = np.shape(X)
    Wx, Wh = P["Wx"], P["Wh"]
    b = np.reshape(P["b"], -1)
    U = len(b)
    Z = np.empty((m, T, U), dtype=object)
    H = np.empty((m, T, U), dtype=object)

    def bumped(what: str, i: int, t: int, v: list) -> list:
        if bump and bump[:3] == (what, i, t):
            v = list(v)
            v[bump[3]] += bump[4]
        return v

    for i in range(m):
        h = list(np.reshape(P["h0"], -1)) if "h0" in P else [0] * U
        h = bumped("h", i, -1, h)
        for t in range(T):
            z = []
            for u in range(U):
                s = b[u]
                for k in range(F):
                    s += X[i][t][k] * Wx[k][u]
                for k in range(U):
                    s += h[k] * Wh[k][u]
                z.append(s)
            z = bumped("z", i, t, z)
            h = bumped("h", i, t, [f(v) for v in z])
            for u in range(U):
                Z[i, t, u], H[i, t, u] = z[u], h[u]
    return Z, H


def ref_output(H: np.ndarray, ret: str) -> np.ndarray:
    return H[:, -1] if ret == "last" else H


def ref_loss(X: Any, P: dict[str, Any], act: str, G: np.ndarray, ret: str,
             bump: tuple | None = None) -> float:
    out = ref_output(ref_forward(X, P, act, bump)[1], ret)
    return float(sum(g * float(o) for g, o in zip(G.ravel(), out.ravel(), strict=True)))


def ref_backward(X: Any, P: dict[str, Any], act: str, G: Any, ret: str) -> dict[str, Any]:
    """BPTT by loops: for each sample, from the last step down, dh_t = (the output's gradient
    at t) + dz_{t+1} Wh^T, dz_t = dh_t f'(z_t); each step adds x_t^T dz_t to dWx,
    h_{t-1}^T dz_t to dWh and dz_t to db. Unscaled; works on floats or Fractions."""
    Z, H = ref_forward(X, P, act)
    d = REF[act][1]
    m, T, F = np.shape(X)
    U = Z.shape[2]
    Wx, Wh = P["Wx"], P["Wh"]
    h0 = list(np.reshape(P["h0"], -1)) if "h0" in P else [0] * U
    out = {k: np.zeros(s, dtype=object) for k, s in (
        ("dZ", (m, T, U)), ("dH", (m, T, U)), ("dX", (m, T, F)), ("dh0", (m, U)),
        ("Wx", (m, T, F, U)), ("Wh", (m, T, U, U)), ("b", (m, T, U)))}
    for i in range(m):
        carry = [0] * U
        for t in reversed(range(T)):
            for u in range(U):
                ext = G[i][t][u] if ret == "sequence" else (G[i][u] if t == T - 1 else 0)
                out["dH"][i, t, u] = ext + carry[u]
                out["dZ"][i, t, u] = out["dH"][i, t, u] * d(Z[i, t, u], H[i, t, u])
            dz = out["dZ"][i, t]
            prev = H[i, t - 1] if t else h0
            for u in range(U):
                for k in range(F):
                    out["Wx"][i, t, k, u] = X[i][t][k] * dz[u]
                for k in range(U):
                    out["Wh"][i, t, k, u] = prev[k] * dz[u]
                out["b"][i, t, u] = dz[u]
            for k in range(F):
                out["dX"][i, t, k] = sum(dz[u] * Wx[k][u] for u in range(U))
            carry = [sum(dz[u] * Wh[k][u] for u in range(U)) for k in range(U)]
        out["dh0"][i] = carry
    return out


def draw(rng: np.random.Generator, m: int, T: int, F: int, U: int, act: str, h0: bool
         ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Random X and parameters, drawn again while a z lies within 1e-3 of relu's kink (finite
    differences across it are meaningless)."""
    while True:
        X = rng.normal(size=(m, T, F))
        P = {"Wx": rng.normal(scale=0.8, size=(F, U)), "Wh": rng.normal(scale=0.6, size=(U, U)),
             "b": rng.normal(scale=0.5, size=U)}
        if h0:
            P["h0"] = rng.normal(size=U)
        Z, _ = ref_forward(X, P, act)
        if act != "relu" or np.abs(Z.astype(float)).min() > 1e-3:
            return X, P


def gout(rng: np.random.Generator, m: int, T: int, U: int, ret: str) -> np.ndarray:
    return rng.normal(size=(m, U) if ret == "last" else (m, T, U))




def close(a: Any, b: Any, tol: float = 1e-6) -> None:
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                               rtol=tol, atol=tol)


# forward

@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("h0", [False, True])
@pytest.mark.parametrize("act", ACTS)
def test_forward_equals_the_loops(act, h0, seed):
    rng = np.random.default_rng(seed)
    X, P = draw(rng, 2, 4, 3, 2, act, h0)
    f = rnn.forward(X, P, act)
    Z, H = ref_forward(X, P, act)
    close(f.Z, Z, 1e-12)
    close(f.H, H, 1e-12)
    close(f.output("last"), H[:, -1], 1e-12)
    close(f.output("sequence"), H, 1e-12)
    close(f.h0, np.tile(P["h0"], (2, 1)) if h0 else np.zeros((2, 2)), 0)


# backward: finite differences of sum(G * output)

@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("h0", [False, True])
@pytest.mark.parametrize("ret", ["last", "sequence"])
@pytest.mark.parametrize("act", ACTS)
def test_bptt_equals_finite_differences(act, ret, h0, seed):
    m, T, F, U = 2, 3, 2, 2
    rng = np.random.default_rng(100 + seed)
    X, P = draw(rng, m, T, F, U, act, h0)
    G = gout(rng, m, T, U, ret)
    back = rnn.backward(X, P, rnn.forward(X, P, act), G, ret, act)

    def loss(bump: tuple | None = None, g: np.ndarray = G) -> float:
        return ref_loss(X, P, act, g, ret, bump)

    kinds = ["Wx", "Wh", "b"] + (["h0"] if h0 else [])
    total = {k: np.zeros(P[k].shape) for k in kinds}
    for i in range(m):  # each sample's loss: G zero outside sample i
        Gi = np.zeros_like(G)
        Gi[i] = G[i]
        for k in kinds:
            g = central(lambda Gi=Gi: loss(g=Gi), P[k])
            close(back.per_sample[k][i], g)
            total[k] += g
    for k in kinds:
        close(back.grads[k], total[k])
    for k in ("Wx", "Wh", "b"):  # h0 acts once, before step 1: it has no steps
        close(back.steps[k].sum(axis=0), back.grads[k], 1e-12)
    assert set(back.grads) == set(kinds) == set(back.per_sample)
    assert set(back.steps) == {"Wx", "Wh", "b"}
    close(back.dX, central(loss, X))
    eps = 1e-6
    for what, arr in (("z", back.dZ), ("h", back.dH)):
        for i, t, u in np.ndindex(m, T, U):
            num = (loss((what, i, t, u, eps)) - loss((what, i, t, u, -eps))) / (2 * eps)
            assert arr[i, t, u] == pytest.approx(num, rel=1e-6, abs=1e-6), (what, i, t, u)
    for i, u in np.ndindex(m, U):  # dL/dh_0, whether or not h0 is a parameter
        num = (loss(("h", i, -1, u, eps)) - loss(("h", i, -1, u, -eps))) / (2 * eps)
        assert back.dh0[i, u] == pytest.approx(num, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("ret", ["last", "sequence"])
@pytest.mark.parametrize("act", ACTS)
def test_bptt_equals_the_loops_step_by_step(act, ret):
    m, T, F, U = 3, 4, 2, 3
    rng = np.random.default_rng(7)
    X, P = draw(rng, m, T, F, U, act, True)
    G = gout(rng, m, T, U, ret)
    back = rnn.backward(X, P, rnn.forward(X, P, act), G, ret, act, scale=1 / m)
    ref = ref_backward(X, P, act, G, ret)
    for k in ("dZ", "dH", "dX", "dh0"):
        close(getattr(back, k), ref[k], 1e-12)
    for k in ("Wx", "Wh", "b"):  # ref[k] is [m, T, ...]: each sample's each step
        close(back.steps[k], ref[k].sum(axis=0) / m, 1e-12)
        close(back.per_sample[k], ref[k].sum(axis=1), 1e-12)
        close(back.grads[k], ref[k].sum(axis=(0, 1)) / m, 1e-12)
    close(back.grads["h0"], ref["dh0"].sum(axis=0) / m, 1e-12)
    close(back.per_sample["h0"], ref["dh0"], 1e-12)


def test_gradients_are_shaped_like_their_parameters():
    """A bias and h0 in the rows layout ([1, U]) get [1, U] gradients and [m, 1, U] per
    sample, as the dense layer's bias does."""
    rng = np.random.default_rng(3)
    X, P = draw(rng, 2, 3, 2, 4, "tanh", True)
    P = {**P, "b": P["b"][None], "h0": P["h0"][None]}
    back = rnn.backward(X, P, rnn.forward(X, P, "tanh"), gout(rng, 2, 3, 4, "last"))
    shapes = {k: v.shape for k, v in back.grads.items()}
    assert shapes == {"Wx": (2, 4), "Wh": (4, 4), "b": (1, 4), "h0": (1, 4)}
    assert back.per_sample["b"].shape == back.per_sample["h0"].shape == (2, 1, 4)
    assert back.steps["b"].shape == (3, 1, 4) and back.steps["Wh"].shape == (3, 4, 4)
    assert back.dX.shape == (2, 3, 2) and back.dh0.shape == (2, 4)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 3), st.integers(1, 4), st.integers(1, 3), st.integers(1, 3),
       st.sampled_from(ACTS), st.sampled_from(["last", "sequence"]), st.booleans(),
       st.integers(0, 2**32 - 1))
def test_any_shape(m, T, F, U, act, ret, h0, seed):
    rng = np.random.default_rng(seed)
    X, P = draw(rng, m, T, F, U, act, h0)
    G = gout(rng, m, T, U, ret)
    f = rnn.forward(X, P, act)
    Z, H = ref_forward(X, P, act)
    close(f.Z, Z, 1e-12)
    close(f.output(ret), ref_output(H, ret), 1e-12)
    back = rnn.backward(X, P, f, G, ret, act)
    close(back.dX, central(lambda: ref_loss(X, P, act, G, ret), X))
    for k in P:
        close(back.grads[k], central(lambda: ref_loss(X, P, act, G, ret), P[k]))


# by hand

def test_a_linear_unit_over_three_steps_by_hand():
    """x = 1, 2, -1; wx = 1, wh = 0.5, b = 0, h0 = 0, linear; return last, L = h_3.
    Forward: z1 = 1, h1 = 1; z2 = 2 + 0.5*1 = 2.5; z3 = -1 + 0.5*2.5 = 0.25.
    Backward: dh3 = 1, dz3 = 1; dh2 = dz3 wh = 0.5, dz2 = 0.5; dh1 = 0.25, dz1 = 0.25.
    dwx = sum x_t dz_t = 0.25 + 1 - 1 = 0.25 (= x3 + wh x2 + wh^2 x1, from
    h3 = wx (x3 + wh x2 + wh^2 x1)); dwh = sum h_{t-1} dz_t = 0 + 0.5 + 2.5 = 3
    (= wx (x2 + 2 wh x1)); db = 0.25 + 0.5 + 1 = 1.75; dx_t = wx dz_t = 0.25, 0.5, 1."""
    X = np.array([[[1.0], [2.0], [-1.0]]])
    P = {"Wx": [[1.0]], "Wh": [[0.5]], "b": [0.0]}
    f = rnn.forward(X, P, "linear")
    assert f.H.ravel().tolist() == [1.0, 2.5, 0.25]
    assert f.output("last").tolist() == [[0.25]]
    back = rnn.backward(X, P, f, [[1.0]], "last", "linear")
    assert back.dH.ravel().tolist() == [0.25, 0.5, 1.0]
    assert back.dZ.ravel().tolist() == [0.25, 0.5, 1.0]
    assert back.grads["Wx"].tolist() == [[0.25]]
    assert back.grads["Wh"].tolist() == [[3.0]]
    assert back.grads["b"].tolist() == [1.75]
    assert back.dX.ravel().tolist() == [0.25, 0.5, 1.0]
    assert back.dh0.tolist() == [[0.125]]  # dz1 wh
    # the sums a worked step shows: dwh = 0 + 0.5 + 2.5
    assert back.steps["Wh"].ravel().tolist() == [0.0, 0.5, 2.5]
    assert back.steps["Wx"].ravel().tolist() == [0.25, 1.0, -1.0]


def test_a_relu_unit_returning_the_sequence_by_hand():
    """x = 1, 2, -2; wx = 1, wh = 0.5, b = 0, relu; return sequence, L = h1 + h2 + h3.
    Forward: z = 1, 2.5, -2 + 1.25 = -0.75; h = 1, 2.5, 0.
    Backward: dh3 = 1, dz3 = 1 * relu'(-0.75) = 0; dh2 = 1 + 0 * 0.5 = 1, dz2 = 1;
    dh1 = 1 + 1 * 0.5 = 1.5, dz1 = 1.5. dwx = 1*1.5 + 2*1 + (-2)*0 = 3.5;
    dwh = 0*1.5 + 1*1 + 2.5*0 = 1; db = 2.5. With two samples, both the same, and the
    batch mean (scale 1/2) the gradients are the same."""
    X = np.array([[[1.0], [2.0], [-2.0]]] * 2)
    P = {"Wx": [[1.0]], "Wh": [[0.5]], "b": [0.0]}
    f = rnn.forward(X, P, "relu")
    assert f.Z[0].ravel().tolist() == [1.0, 2.5, -0.75]
    assert f.H[0].ravel().tolist() == [1.0, 2.5, 0.0]
    back = rnn.backward(X, P, f, np.ones((2, 3, 1)), "sequence", "relu", scale=0.5)
    assert back.dH[0].ravel().tolist() == [1.5, 1.0, 1.0]
    assert back.dZ[0].ravel().tolist() == [1.5, 1.0, 0.0]
    assert back.grads["Wx"].tolist() == [[3.5]]
    assert back.grads["Wh"].tolist() == [[1.0]]
    assert back.grads["b"].tolist() == [2.5]
    assert back.per_sample["Wx"].ravel().tolist() == [3.5, 3.5]


# exact rationals

def tenths(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.integers(-10, 11, size=shape) / 10


def fractions(a: Any) -> np.ndarray:
    return np.vectorize(lambda v: Fraction(repr(float(v))), otypes=[object])(np.asarray(a))


def all_fractions(a: np.ndarray) -> bool:
    return all(isinstance(v, Fraction) for v in np.ravel(a))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("ret", ["last", "sequence"])
@pytest.mark.parametrize("act", ["relu", "linear"])
def test_exact_pass_equals_fractions_by_loops_and_the_float_pass(act, ret, seed):
    rng = np.random.default_rng(seed)
    m, T, F, U = 2, 3, 2, 2
    h0 = seed % 2 == 0
    X, G = tenths(rng, m, T, F), tenths(rng, *((m, U) if ret == "last" else (m, T, U)))
    P = {"Wx": tenths(rng, F, U), "Wh": tenths(rng, U, U), "b": tenths(rng, U)}
    if h0:
        P["h0"] = tenths(rng, U)
    EX, EP, EG = fractions(X), {k: fractions(v) for k, v in P.items()}, fractions(G)
    f = rnn.exact_forward(EX, EP, act)
    assert f is not None
    Z, H = ref_forward(EX, EP, act)
    assert (f.Z == Z).all() and (f.H == H).all() and all_fractions(f.H)
    back = rnn.exact_backward(EX, EP, f, EG, ret, act, Fraction(1, m))
    assert back is not None
    ref = ref_backward(EX, EP, act, EG, ret)
    for k in ("dZ", "dH", "dX", "dh0"):
        assert (getattr(back, k) == ref[k]).all() and all_fractions(getattr(back, k)), k
    for k in ("Wx", "Wh", "b"):
        assert (back.grads[k] == ref[k].sum(axis=(0, 1)) / m).all(), k
        assert (back.per_sample[k] == ref[k].sum(axis=1)).all(), k
        assert (back.steps[k] == ref[k].sum(axis=0) / m).all(), k
        assert all_fractions(back.grads[k])
    if h0:
        assert (back.grads["h0"] == ref["dh0"].sum(axis=0) / m).all()
    # the float pass agrees wherever no z sits on relu's kink (there only exact is right)
    if act == "linear" or not (Z == 0).any():
        fb = rnn.backward(X, P, rnn.forward(X, P, act), G, ret, act, 1 / m)
        close(exact.to_float(f.H), rnn.forward(X, P, act).H, 1e-12)
        for k in back.grads:
            close(exact.to_float(back.grads[k]), fb.grads[k], 1e-12)
        close(exact.to_float(back.dX), fb.dX, 1e-12)


@pytest.mark.parametrize("act", ["relu", "linear"])
def test_exact_zeros_where_floats_leave_dust(act):
    """z1 = 0.1 + 0.2 - 0.3 is 0 on paper and 5.55e-17 in floats: relu'(z1) is then 1 instead
    of 0. Step 2: z2 = 0.5 + h1 - 0.3 = 0.2. With L = h_2: dz2 = 1, dh1 = wh dz2 = 1,
    dz1 = dh1 relu'(0) = 0 (relu) or 1 (linear); dWx = x1 dz1 + x2 dz2."""
    X = np.array([[[0.1, 0.2], [0.5, 0.0]]])
    P = {"Wx": np.array([[1.0], [1.0]]), "Wh": np.array([[1.0]]), "b": np.array([-0.3])}
    fl = rnn.forward(X, P, act)
    assert fl.Z[0, 0, 0] != 0  # the dust
    EP = {k: exact.rational(v) for k, v in P.items()}
    f = rnn.exact_forward(exact.rational(X), EP, act)
    assert f is not None
    assert f.Z[0, 0, 0] == 0 and f.H[0, 0, 0] == 0 and exact.to_float(f.H)[0, 0, 0] == 0.0
    assert f.Z[0, 1, 0] == Fraction(1, 5)
    back = rnn.exact_backward(exact.rational(X), EP, f, exact.rational([[1.0]]), "last", act)
    assert back is not None
    dz1 = 0 if act == "relu" else 1
    assert back.dZ.ravel().tolist() == [dz1, 1]
    assert back.grads["Wx"].ravel().tolist() == [Fraction(1, 10) * dz1 + Fraction(1, 2),
                                                 Fraction(2, 10) * dz1]
    assert back.grads["Wh"].ravel().tolist() == [0]  # h1 = 0 exactly
    assert exact.to_float(back.grads["Wh"]).tolist() == [[0.0]]


def test_exact_pass_is_none_off_the_rationals():
    X = exact.rational(np.ones((1, 2, 1)))
    P = {k: exact.rational(v) for k, v in {"Wx": [[1.0]], "Wh": [[0.5]], "b": [0.0]}.items()}
    G = exact.rational([[1.0]])
    for act in ("tanh", "sigmoid"):
        assert rnn.exact_forward(X, P, act) is None
        assert rnn.exact_backward(X, P, rnn.forward(np.ones((1, 2, 1)), P, "linear"), G,
                                  "last", act) is None
    assert rnn.exact_forward(None, P, "relu") is None
    assert rnn.exact_forward(X, {**P, "Wh": None}, "relu") is None
    assert rnn.exact_forward(X, {**P, "h0": None}, "relu") is None  # a broken h0
    assert rnn.exact_forward(X, {**P, "h0": exact.rational([1.0])}, "relu") is not None
    f = rnn.exact_forward(X, P, "relu")
    assert rnn.exact_backward(X, P, None, G, "last", "relu") is None
    assert rnn.exact_backward(X, P, f, None, "last", "relu") is None
    assert rnn.exact_backward(X, P, f, G, "last", "relu") is not None


# validation

GOOD = {"Wx": np.zeros((3, 2)), "Wh": np.zeros((2, 2)), "b": np.zeros(2)}


@pytest.mark.parametrize("X, change, message", [
    (np.zeros((2, 3)), {}, r"X must be \[samples, steps, features\] \(3-D\), got shape \(2, 3\)"),
    (np.zeros((2, 4, 3, 1)), {}, r"3-D\), got shape \(2, 4, 3, 1\) \(4-D\)"),
    (np.zeros((2, 0, 3)), {}, "at least one sample, step and feature"),
    (np.zeros((2, 4, 5)), {}, r"Wx has 3 rows but X has 5 features"),
    (np.zeros((2, 4, 3)), {"Wx": np.zeros(3)}, r"Wx must be \[features, units\]"),
    (np.zeros((2, 4, 3)), {"Wh": np.zeros((3, 3))}, r"Wh must be \[2, 2\]"),
    (np.zeros((2, 4, 3)), {"b": np.zeros(3)}, r"b must be \[2\]"),
    (np.zeros((2, 4, 3)), {"h0": np.zeros((2, 2))}, r"h0 must be \[2\]"),
    (np.zeros((2, 4, 3)), {"b": None}, r"b must be"),
    (np.zeros((2, 4, 3)), {"Wq": np.zeros(1)}, "unknown parameter"),
])
def test_validation_names_what_does_not_fit(X, change, message):
    P = {k: v for k, v in {**GOOD, **change}.items()}
    with pytest.raises(ValueError, match=message):
        rnn.validate(X, P)
    with pytest.raises(ValueError, match="^rnn: "):
        rnn.forward(X, P)


def test_validation_of_names_and_the_gradient():
    X = np.zeros((2, 4, 3))
    assert rnn.validate(X, GOOD) == rnn.Shapes(2, 4, 3, 2)
    with pytest.raises(ValueError, match="missing parameter"):
        rnn.validate(X, {"Wx": GOOD["Wx"]})
    with pytest.raises(ValueError, match="activation must be one of"):
        rnn.forward(X, GOOD, "softmax")
    f = rnn.forward(X, GOOD)
    with pytest.raises(ValueError, match="return must be last or sequence"):
        rnn.backward(X, GOOD, f, np.zeros((2, 2)), "first")
    with pytest.raises(ValueError, match="return must be"):
        f.output("all")
    with pytest.raises(ValueError, match=r"gradient must be \[2, 2\] for return: last"):
        rnn.backward(X, GOOD, f, np.zeros((2, 4, 2)), "last")
    with pytest.raises(ValueError, match=r"gradient must be \[2, 4, 2\] for return: sequence"):
        rnn.backward(X, GOOD, f, np.zeros((2, 2)), "sequence")
    with pytest.raises(ValueError, match="forward pass is of shape"):
        rnn.backward(X[:1], GOOD, f, np.zeros((1, 2)), "last")


def test_an_exact_scale_is_a_fraction():
    E = exact.rational(np.ones((1, 1, 1)))
    P = {k: exact.rational(v) for k, v in {"Wx": [[1.0]], "Wh": [[1.0]], "b": [0.0]}.items()}
    f = rnn.exact_forward(E, P, "linear")
    with pytest.raises(TypeError, match="Fraction"):
        rnn.exact_backward(E, P, f, exact.rational([[1.0]]), "last", "linear", 1 / 3)
