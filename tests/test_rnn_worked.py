"""The recurrent layer's worked steps (document/worked/layers/rnn.py, issue 26) against numbers
computed here by explicit loops over samples, steps and units, never by nnreport: (a) each
Step's result is the loop's value; (b) the steps typeset through document/lines.py compile
with the key's preamble, and every matrix they print -- operands, intermediate products and
results -- reads back as the loop's value correctly rounded."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from seqtex import check_matrices, check_value, chunks, compile_body, lhs_and_sides, overfull

from nnreport.document.lines import align_body
from nnreport.document.steps import Step
from nnreport.document.worked.layers import rnn

D = 4
# two samples, three steps, two features, two units
X = [[[1.0, 0.5], [0.2, -1.0], [0.4, 0.3]],
     [[0.3, -0.2], [1.0, 0.1], [-0.5, 0.6]]]
WX = [[0.5, -0.3], [0.2, 0.4]]
WH = [[0.1, 0.6], [-0.2, 0.3]]
B = [0.1, -0.1]
G_LAST = [[1.0, -0.5], [0.3, 0.8]]  # dL/dh_T of each sample
G_SEQ = [[[0.2, 0.1], [-0.4, 0.3], [1.0, -0.5]],
         [[0.5, 0.0], [0.1, 0.2], [0.3, 0.8]]]


def _f(act: str, z: float) -> float:
    return {"tanh": math.tanh, "relu": lambda v: max(v, 0.0), "linear": lambda v: v,
            "sigmoid": lambda v: 1 / (1 + math.exp(-v))}[act](z)


def _df(act: str, z: float, h: float) -> float:
    return {"tanh": 1 - h * h, "relu": 1.0 if z > 0 else 0.0, "linear": 1.0,
            "sigmoid": h * (1 - h)}[act]


def ref(act: str, g: list, ret: str, h0: list | None = None, scale: float = 0.5,
        X: list = X, WX: list = WX, WH: list = WH, B: list = B) -> dict:
    """Every value by loops: Z, H, dH, dZ [m][T][U] (h_0 at H0), the gradients, each step's
    batch contributions, dX."""
    m, T, F, U = len(X), len(X[0]), len(X[0][0]), len(B)
    H0 = [list(h0) if h0 else [0.0] * U for _ in range(m)]
    Z = [[[0.0] * U for _ in range(T)] for _ in range(m)]
    H = [[[0.0] * U for _ in range(T)] for _ in range(m)]
    for i in range(m):
        for t in range(T):
            prev = H0[i] if t == 0 else H[i][t - 1]
            for u in range(U):
                z = B[u]
                for f in range(F):
                    z += X[i][t][f] * WX[f][u]
                for v in range(U):
                    z += prev[v] * WH[v][u]
                Z[i][t][u] = z
                H[i][t][u] = _f(act, z)
    dH = [[[0.0] * U for _ in range(T)] for _ in range(m)]
    dZ = [[[0.0] * U for _ in range(T)] for _ in range(m)]
    dh0 = [[0.0] * U for _ in range(m)]
    for i in range(m):
        for t in reversed(range(T)):
            for u in range(U):
                out = (g[i][u] if t == T - 1 else 0.0) if ret == "last" else g[i][t][u]
                rec = 0.0
                if t < T - 1:
                    for v in range(U):
                        rec += dZ[i][t + 1][v] * WH[u][v]
                dH[i][t][u] = out + rec
                dZ[i][t][u] = dH[i][t][u] * _df(act, Z[i][t][u], H[i][t][u])
        for u in range(U):
            dh0[i][u] = sum(dZ[i][0][v] * WH[u][v] for v in range(U))
    cx = [[[sum(X[i][t][f] * dZ[i][t][u] for i in range(m)) for u in range(U)]
           for f in range(F)] for t in range(T)]
    ch = [[[sum((H0[i] if t == 0 else H[i][t - 1])[v] * dZ[i][t][u] for i in range(m))
            for u in range(U)] for v in range(U)] for t in range(T)]
    cb = [[sum(dZ[i][t][u] for i in range(m)) for u in range(U)] for t in range(T)]
    dX = [[[sum(dZ[i][t][u] * WX[f][u] for u in range(U)) for f in range(F)]
           for t in range(T)] for i in range(m)]
    return {
        "Z": np.array(Z), "H": np.array(H), "H0": np.array(H0), "dH": np.array(dH),
        "dZ": np.array(dZ), "cx": np.array(cx), "ch": np.array(ch), "cb": np.array(cb),
        "dWx": scale * np.array(cx).sum(0), "dWh": scale * np.array(ch).sum(0),
        "db": scale * np.array(cb).sum(0), "dX": np.array(dX),
        "dh0": np.array(dh0), "dh0_grad": scale * np.array(dh0).sum(0),
    }


def params(h0: list | None = None) -> dict:
    p = {"Wx": np.array(WX), "Wh": np.array(WH), "b": np.array(B)}
    if h0 is not None:
        p["h0"] = np.array(h0)
    return p


def build(act: str = "tanh", ret: str = "last", h0: list | None = None,
          scale: float = 0.5, sample: int = 0) -> list[Step]:
    g = G_LAST if ret == "last" else G_SEQ
    Xa, P = np.array(X), params(h0)
    return (rnn.forward(Xa, P, act=act, digits=D, sample=sample)
            + rnn.bptt(Xa, P, np.array(g), act=act, ret=ret, digits=D, sample=sample)
            + rnn.grads(Xa, P, np.array(g), act=act, ret=ret, scale=scale, digits=D)
            + rnn.back(Xa, P, np.array(g), act=act, ret=ret, digits=D, sample=sample))


def by_lhs(steps: list[Step]) -> dict[str, Step]:
    out: dict[str, Step] = {}
    for s in steps:
        assert s.lhs not in out, s.lhs
        out[s.lhs] = s
    return out


def expected(r: dict, sample: int, h0: bool) -> dict[str, np.ndarray]:
    """lhs -> the value its step must have (the names the module writes for sample 1 of 2)."""
    T = r["Z"].shape[1]
    s = f"^{{({sample + 1})}}"
    want = {f"h{s}_{{0}}": r["H0"][sample]}
    for t in range(1, T + 1):
        want |= {f"z{s}_{{{t}}}": r["Z"][sample, t - 1], f"h{s}_{{{t}}}": r["H"][sample, t - 1],
                 f"Z_{{{t}}}": r["Z"][:, t - 1], f"H_{{{t}}}": r["H"][:, t - 1],
                 f"dh{s}_{{{t}}}": r["dH"][sample, t - 1], f"dz{s}_{{{t}}}": r["dZ"][sample, t - 1],
                 f"dH_{{{t}}}": r["dH"][:, t - 1], f"dZ_{{{t}}}": r["dZ"][:, t - 1],
                 f"X_{{{t}}}^{{T}} dZ_{{{t}}}": r["cx"][t - 1],
                 f"H_{{{t - 1}}}^{{T}} dZ_{{{t}}}": r["ch"][t - 1],
                 f"dx{s}_{{{t}}}": r["dX"][sample, t - 1], f"dX_{{{t}}}": r["dX"][:, t - 1]}
    want |= {"dW_{x}": r["dWx"], "dW_{h}": r["dWh"], "db": r["db"]}
    if h0:
        want |= {f"dh{s}_{{0}}": r["dh0"][sample],
                 r"\frac{\partial L}{\partial h_{0}}": r["dh0_grad"]}
    return want


CASES = [("tanh", "last", None, 0.5, 0), ("tanh", "sequence", None, 1.0, 1),
         ("relu", "last", [0.2, -0.4], 0.5, 0), ("sigmoid", "sequence", [0.5, 0.1], 0.5, 1),
         ("linear", "last", None, 0.5, 0)]


@pytest.mark.parametrize(("act", "ret", "h0", "scale", "sample"), CASES)
def test_results_are_the_loops_values(act: str, ret: str, h0: list | None, scale: float,
                                      sample: int) -> None:
    r = ref(act, G_LAST if ret == "last" else G_SEQ, ret, h0, scale)
    steps = by_lhs(build(act, ret, h0, scale, sample))
    want = expected(r, sample, h0 is not None)
    assert set(want) <= set(steps), sorted(set(want) - set(steps))
    for lhs, w in want.items():
        got = steps[lhs].result
        assert got is not None, lhs
        np.testing.assert_allclose(np.asarray(got.value, dtype=float).reshape(np.shape(w)), w,
                                   rtol=1e-12, atol=1e-12, err_msg=lhs)
    assert all(st.result is None or st.result.digits == D for st in steps.values())


def test_sums_over_steps_show_each_contribution() -> None:
    """dW_x = 1/2 (X_1^T dZ_1 + X_2^T dZ_2 + X_3^T dZ_3): the three loop contributions, in
    order, are the terms of the sum, and the 1/m of a mean is written before it."""
    r = ref("tanh", G_LAST, "last")
    steps = by_lhs(build())
    for key, c in (("dW_{x}", "cx"), ("dW_{h}", "ch"), ("db", "cb")):
        st = steps[key]
        assert st.formula is not None and st.formula.startswith(r"\frac{1}{2} \sum_{t=1}^{3}")
        terms = [p for p in st.subst or [] if not isinstance(p, str)]
        assert len(terms) == 3
        for t, p in enumerate(terms):
            np.testing.assert_allclose(np.asarray(p.value, dtype=float).reshape(r[c][t].shape),  # type: ignore[union-attr]
                                       r[c][t], atol=1e-12)
    assert rnn.scale_tex(1.0, 2) == "" and rnn.scale_tex(0.25, 4) == r"\frac{1}{4}"


def _compiled(tmp_path: Path, name: str, steps: list[Step]) -> tuple[list[str], str]:
    body = align_body(steps)
    _, _, log = compile_body(body, tmp_path, name)
    parts = chunks(body)
    assert len(parts) == len(steps)
    return parts, log


@pytest.mark.parametrize(("act", "ret", "h0", "scale", "sample"), CASES[:4])
def test_typeset_numbers_read_back(tmp_path: Path, act: str, ret: str, h0: list | None,
                                   scale: float, sample: int) -> None:
    """Compiled with the key's preamble; every step's printed result, and every matrix of the
    forward, BPTT and gradient-sum lines, is the loop's value correctly rounded."""
    g = G_LAST if ret == "last" else G_SEQ
    r = ref(act, g, ret, h0, scale)
    steps = build(act, ret, h0, scale, sample)
    parts, log = _compiled(tmp_path, f"rnn_{act}_{ret}", steps)
    assert max(overfull(log), default=0.0) < 1.0, overfull(log)
    want = expected(r, sample, h0 is not None)
    i = sample
    s = f"^{{({i + 1})}}"
    Wx, Wh, b = np.array(WX), np.array(WH), np.array(B)
    checked = set()
    for st, tex in zip(steps, parts, strict=True):
        lhs, sides = lhs_and_sides(tex)
        assert lhs == st.lhs
        if lhs in want:  # the result, as printed
            check_value(sides[-1], want[lhs], D)
            checked.add(lhs)
        for t in range(1, 4):
            x = np.array(X)[i, t - 1]
            hp = r["H0"][i] if t == 1 else r["H"][i, t - 2]
            if lhs == f"z{s}_{{{t}}}":
                if t == 1 and h0 is None:
                    ops = [x, Wx, b, x @ Wx, b, r["Z"][i, 0]]
                else:
                    ops = [x, Wx, hp, Wh, b, x @ Wx, hp @ Wh, b, r["Z"][i, t - 1]]
                check_matrices(tex, ops, D)
            if lhs == f"dz{s}_{{{t}}}" and act in ("tanh", "sigmoid"):
                h, dh = r["H"][i, t - 1], r["dH"][i, t - 1]
                der = 1 - h * h if act == "tanh" else h * (1 - h)
                check_matrices(tex, [dh, h, h, dh, der, r["dZ"][i, t - 1]], D)
            if lhs == f"dh{s}_{{{t}}}" and t < 3:
                dzn = r["dZ"][i, t]
                ops = [dzn, Wh.T, r["dH"][i, t - 1]] if ret == "last" else \
                    [np.array(g)[i, t - 1], dzn, Wh.T, np.array(g)[i, t - 1], dzn @ Wh.T,
                     r["dH"][i, t - 1]]
                check_matrices(tex, ops, D)
        if lhs == "dW_{x}":
            check_matrices(tex, [*r["cx"], r["dWx"]], D)
        if lhs == "dW_{h}":
            check_matrices(tex, [*r["ch"], r["dWh"]], D)
        if lhs == "db":
            check_matrices(tex, [*r["cb"], r["db"]], D)
    assert checked == set(want)


def test_a_cancellation_prints_zero() -> None:
    """0.4 (-0.3) + 0.3 (0.4) is 0: the product x_3 W_x of sample 1 shows 0, not the float's
    6.661e-18 (step z_3's second side)."""
    steps = by_lhs(build())
    z3 = steps["z^{(1)}_{3}"]
    prod = z3.more[0][0]
    assert not isinstance(prod, str)
    assert float(np.asarray(prod.value).ravel()[1]) == 0.0  # type: ignore[union-attr]


def test_formula_and_conventions() -> None:
    assert rnn.formula("tanh") == r"h_{t} = \tanh\left(x_{t} W_{x} + h_{t-1} W_{h} + b\right)"
    assert "h_{0} = 0" in rnn.conventions("tanh")
    assert "the parameter $h_{0}$" in rnn.conventions("relu", h0=True)


def test_batch_gradients_carry_their_json_names() -> None:
    """With the layer's number, dWx{l}, dWh{l}, db{l} (and dh0{l}) name the batch gradients;
    a batch of one with h_0 a parameter writes its state's gradient apart from BPTT's dh_0."""
    Xa = np.array(X[:1])
    steps = rnn.grads(Xa, params([0.2, -0.4]), np.array(G_LAST[:1]), scale=1.0, layer=2)
    keyed = {s.key: s for s in steps if s.key}
    assert set(keyed) == {"dWx2", "dWh2", "db2", "dh02"}
    r = ref("tanh", G_LAST[:1], "last", [0.2, -0.4], scale=1.0, X=X[:1])
    for k, w in (("dWx2", r["dWx"]), ("dWh2", r["dWh"]), ("db2", r["db"]),
                 ("dh02", r["dh0_grad"])):
        got = keyed[k].result
        assert got is not None
        np.testing.assert_allclose(np.asarray(got.value).reshape(w.shape), w, atol=1e-12)
    both = rnn.bptt(Xa, params([0.2, -0.4]), np.array(G_LAST[:1])) + steps
    lhs = [s.lhs for s in both]
    assert len(lhs) == len(set(lhs))
    assert all(not s.key for s in rnn.grads(Xa, params(), np.array(G_LAST[:1])))


def test_a_larger_problem_stays_inside_the_margins(tmp_path: Path) -> None:
    """Six steps, four features, seven units (matrices wider than six columns elided to their
    corners), return: sequence: it compiles without a line into the margin, and every
    printed result is the loops' value correctly rounded."""
    rng = np.random.default_rng(7)
    m, T, F, U = 2, 6, 4, 7
    x = np.round(rng.normal(size=(m, T, F)), 2)
    Wx, Wh = np.round(rng.normal(size=(F, U)) * 0.5, 2), np.round(rng.normal(size=(U, U)) * 0.5, 2)
    b, g = np.round(rng.normal(size=U) * 0.1, 2), np.round(rng.normal(size=(m, T, U)), 2)
    P = {"Wx": Wx, "Wh": Wh, "b": b}
    steps = (rnn.forward(x, P, digits=D) + rnn.bptt(x, P, g, ret="sequence", digits=D)
             + rnn.grads(x, P, g, ret="sequence", scale=1 / m, digits=D)
             + rnn.back(x, P, g, ret="sequence", digits=D))
    r = ref("tanh", g.tolist(), "sequence", None, 1 / m, x.tolist(), Wx.tolist(), Wh.tolist(),
            b.tolist())
    parts, log = _compiled(tmp_path, "rnn_large", steps)
    assert overfull(log) == []
    want = expected(r, 0, False)
    seen = set()
    for tex in parts:
        lhs, sides = lhs_and_sides(tex)
        if lhs in want:
            check_value(sides[-1], want[lhs], D)
            seen.add(lhs)
    assert seen == set(want)
