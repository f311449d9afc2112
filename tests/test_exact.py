"""Exact arithmetic where a hand calculation would differ from floating point, the optimiser
state of the worked step, layers without bias, shuffled batches and the task of a problem.

Every expected number here is computed independently: Python's fractions for the exact
values, central finite differences for gradients, the optimiser formulas of docs/spec.md
written out by hand for the state, NumPy's RandomState for the shuffle."""

from __future__ import annotations

import math
from fractions import Fraction as F

import numpy as np
import pytest

from nnreport.engine.solve import solve
from nnreport.spec import loads

# 0.1 + 0.2 - 0.3 is exactly 0 on paper and 5.55e-17 in floating point
KINK = """
title: t
problems:
  - id: k
    data: {{X: [[0.1, 0.2], [1, -0.5]], Y: [[1], [0]]}}
    network:
      layers:
        - {{units: 2, activation: {hidden}}}
        - {{units: 1, activation: {out}}}
    params:
      W1: [[1, 0.5], [1, -1]]
      b1: [-0.3, 0.1]
      W2: [[0.7], [-1.2]]
      b2: [0.2]
    loss: {loss}
    train: {{lr: 0.5, epochs: 1{opt}}}
"""


def values(text: str) -> dict:
    doc = loads(text)
    return solve(doc)[doc.problems[0].id].values()


def test_float_arithmetic_really_leaves_noise_here():
    z = np.array([[0.1, 0.2]]) @ np.array([[1.0], [1.0]]) + np.array([[-0.3]])
    assert z[0, 0] != 0.0  # the trap the engine must avoid


def _frac(a):
    return [[F(repr(float(x))) for x in row] for row in a]


def _matmul(A, B):
    return [[sum((A[i][k] * B[k][j] for k in range(len(B))), F(0)) for j in range(len(B[0]))]
            for i in range(len(A))]


def test_relu_kink_is_decided_exactly():
    v = values(KINK.format(hidden="relu", out="sigmoid", loss="bce", opt=""))
    X, W1, b1 = _frac([[0.1, 0.2], [1, -0.5]]), _frac([[1, 0.5], [1, -1]]), _frac([[-0.3, 0.1]])
    Z1 = [[z + b for z, b in zip(row, b1[0], strict=True)] for row in _matmul(X, W1)]
    assert Z1[0][0] == 0
    assert np.array(v["Z1"]).tolist() == [[float(z) for z in row] for row in Z1]
    assert v["H1"][0][0] == 0.0
    # relu'(0) = 0: sample 1's first hidden unit passes no gradient
    assert v["dZ1"][0][0] == 0.0
    # by hand: dZ2 = yhat - y (sigmoid + BCE); dZ1 = (dZ2 W2^T) * 1[Z1 > 0]
    H1 = [[max(z, F(0)) for z in row] for row in Z1]
    z2 = [float(sum((h * w for h, w in zip(row, (F("0.7"), F("-1.2")), strict=True)), F(0)) + F("0.2"))
          for row in H1]
    dz2 = [1 / (1 + math.exp(-z)) - y for z, y in zip(z2, (1, 0), strict=True)]
    dz1 = [[d * w * (1.0 if z > 0 else 0.0) for w, z in zip((0.7, -1.2), zrow, strict=True)]
           for d, zrow in zip(dz2, Z1, strict=True)]
    dW1 = (np.array([[float(x) for x in row] for row in X]).T @ np.array(dz1)) / 2
    np.testing.assert_allclose(v["dW1"], dW1, rtol=1e-12, atol=1e-15)


def test_piecewise_linear_network_is_exact_end_to_end():
    """ReLU hidden layer, linear output, MSE, SGD: every worked value is rational, so each is
    the float nearest to the exact value."""
    v = values(KINK.format(hidden="relu", out="linear", loss="mse", opt=""))
    X, W1, b1 = _frac([[0.1, 0.2], [1, -0.5]]), _frac([[1, 0.5], [1, -1]]), _frac([[-0.3, 0.1]])
    W2, b2, Y = _frac([[0.7], [-1.2]]), _frac([[0.2]]), _frac([[1], [0]])
    Z1 = [[z + b for z, b in zip(row, b1[0], strict=True)] for row in _matmul(X, W1)]
    H1 = [[max(z, F(0)) for z in row] for row in Z1]
    Z2 = [[row[0] + b2[0][0]] for row in _matmul(H1, W2)]
    m = 2
    dZ2 = [[2 * (z[0] - y[0])] for z, y in zip(Z2, Y, strict=True)]          # MSE, k = 1
    dH1 = _matmul(dZ2, [list(r) for r in zip(*W2, strict=True)])
    dZ1 = [[g * (1 if z > 0 else 0) for g, z in zip(gr, zr, strict=True)] for gr, zr in zip(dH1, Z1, strict=True)]
    XT = [list(r) for r in zip(*X, strict=True)]
    dW1 = [[x / m for x in row] for row in _matmul(XT, dZ1)]
    H1T = [list(r) for r in zip(*H1, strict=True)]
    dW2 = [[x / m for x in row] for row in _matmul(H1T, dZ2)]
    db1 = [[sum(c, F(0)) / m for c in zip(*dZ1, strict=True)]]
    loss = sum((z[0] - y[0]) ** 2 for z, y in zip(Z2, Y, strict=True)) / m
    lr = F("0.5")
    W1_new = [[w - lr * g for w, g in zip(wr, gr, strict=True)] for wr, gr in zip(W1, dW1, strict=True)]

    def fl(a):
        return [[float(x) for x in row] for row in a]

    assert np.array(v["Z1"]).tolist() == fl(Z1)
    assert np.array(v["yhat"]).tolist() == fl(Z2)
    assert v["loss"] == float(loss)
    assert np.array(v["dZ1"]).tolist() == fl(dZ1)
    assert np.array(v["dW1"]).tolist() == fl(dW1)
    assert np.array(v["dW2"]).tolist() == fl(dW2)
    assert np.array(v["db1"]).tolist() == fl(db1)
    assert np.array(v["W1_new"]).tolist() == fl(W1_new)


def test_exact_zero_prints_as_zero_in_the_key():
    from nnreport.document.tex import render

    text = KINK.format(hidden="relu", out="sigmoid", loss="bce", opt="")
    doc = loads(text)
    tex = render(doc, solve(doc), "key")
    assert "10^{-17}" not in tex and "10^{-16}" not in tex


def _fd_grad(text: str, name: str, h: float = 1e-6) -> np.ndarray:
    """dL/d(name) by central differences of the batch loss, independent of backprop."""
    from nnreport.engine.network import loss_of
    from nnreport.engine.solve import make_net

    doc = loads(text)
    s = doc.problems[0]
    net = make_net(s)
    base = {k: v.copy() for k, v in s.params.items()}
    g = np.zeros_like(base[name])
    for idx in np.ndindex(g.shape):
        plus = {k: v.copy() for k, v in base.items()}
        minus = {k: v.copy() for k, v in base.items()}
        plus[name][idx] += h
        minus[name][idx] -= h
        g[idx] = (loss_of(net, plus, s.X, s.Y) - loss_of(net, minus, s.X, s.Y)) / (2 * h)
    return g


@pytest.mark.parametrize("opt", ["momentum", "rmsprop", "adam"])
def test_optimiser_state_of_the_worked_step_by_hand(opt):
    extra = {"momentum": "{name: momentum, beta: 0.8}", "rmsprop": "{name: rmsprop, beta: 0.9, eps: 1e-8}",
             "adam": "{name: adam, beta1: 0.9, beta2: 0.999, eps: 1e-8}"}[opt]
    text = KINK.format(hidden="tanh", out="sigmoid", loss="bce", opt=f", optimizer: {extra}")
    v = values(text)
    lr = 0.5
    for name in ("W1", "b2"):
        g = _fd_grad(text, name)
        W = np.array(loads(text).problems[0].params[name])
        if opt == "momentum":        # v = beta 0 + (1 - beta) g; p -= lr v
            state = {"v": 0.2 * g}
            step = lr * state["v"]
        elif opt == "rmsprop":       # s = beta 0 + (1 - beta) g^2; p -= lr g / (sqrt(s) + eps)
            state = {"s": 0.1 * g * g}
            step = lr * g / (np.sqrt(state["s"]) + 1e-8)
        else:                        # t = 1: m = 0.1 g, v = 0.001 g^2, mhat = g, vhat = g^2
            m, s2 = 0.1 * g, 0.001 * g * g
            state = {"m": m, "v": s2, "mhat": m / (1 - 0.9), "vhat": s2 / (1 - 0.999)}
            step = lr * state["mhat"] / (np.sqrt(state["vhat"]) + 1e-8)
        for key, want in state.items():
            np.testing.assert_allclose(v[f"{name}_{key}"], want, rtol=1e-6, atol=1e-10,
                                       err_msg=f"{name}_{key}")
        np.testing.assert_allclose(v[f"{name}_step"], step, rtol=1e-6, atol=1e-10)
        np.testing.assert_allclose(v[f"{name}_new"], W - step, rtol=1e-9, atol=1e-9)


def test_layers_without_bias():
    text = """
title: t
problems:
  - id: nb
    data: {X: [[1, 2], [3, -1]], Y: [[0.5], [1]]}
    network:
      layers:
        - {units: 2, activation: linear, bias: false}
        - {units: 1, activation: linear, bias: false}
    params: {W1: [[0.1, 0.2], [0.3, 0.4]], W2: [[0.5], [0.6]]}
    loss: mse
    train: {lr: 0.1}
"""
    v = values(text)
    import re

    assert not [k for k in v if re.match(r"d?b\d", k)]
    X = np.array([[1, 2], [3, -1.0]])
    np.testing.assert_allclose(v["yhat"], X @ np.array([[0.1, 0.2], [0.3, 0.4]]) @ [[0.5], [0.6]])
    np.testing.assert_allclose(v["dW1"], _fd_grad(text, "W1"), rtol=1e-6)
    np.testing.assert_allclose(v["dW2"], _fd_grad(text, "W2"), rtol=1e-6)
    with pytest.raises(Exception, match="unknown parameter 'b1'"):
        loads(text.replace("params: {", "params: {b1: [0, 0], "))


def test_shuffled_batches_are_named_in_the_json():
    text = """
title: t
problems:
  - id: s
    data: {X: [[1], [2], [3], [4], [5]], Y: [[0], [1], [0], [1], [1]]}
    network: {layers: [{units: 1, activation: sigmoid}]}
    loss: bce
    train: {lr: 0.1, epochs: 2, batch_size: 2, shuffle: {seed: 7}}
"""
    v = values(text)
    order = np.random.RandomState(7).permutation(5).tolist()
    assert v["batches"] == [order[0:2], order[2:4], order[4:5]]
    # the worked step is the first batch: its dZ rows are those samples' deltas
    X = np.array([[1], [2], [3], [4], [5]], dtype=float)[order[:2]]
    Y = np.array([[0], [1], [0], [1], [1]], dtype=float)[order[:2]]
    W = loads(text).problems[0].params["W1"]
    yhat = 1 / (1 + np.exp(-(X @ W)))
    np.testing.assert_allclose(v["dZ1"], yhat - Y, rtol=1e-12)


@pytest.mark.parametrize("out,loss,Y,task", [
    ("sigmoid", "bce", "[[0], [1]]", "classification"),
    ("linear", "mse", "[[0.5], [1.7]]", "regression"),
    ("linear", "mse", "[[0], [1]]", "regression"),          # one 0/1 column, linear: a value
    ("linear", "mse", "[[1, 0], [0, 1]]", "classification"),  # one-hot rows (seed 003)
])
def test_task_decides_whether_there_is_an_accuracy(out, loss, Y, task):
    k = 2 if "1, 0" in Y else 1
    text = f"""
title: t
problems:
  - id: r
    data: {{X: [[1, 2], [3, -1]], Y: {Y}}}
    network: {{layers: [{{units: {k}, activation: {out}}}]}}
    loss: {loss}
    train: {{lr: 0.1, epochs: 3}}
"""
    doc = loads(text)
    assert doc.problems[0].task == task
    v = solve(doc)["r"].values()
    assert ("accuracy_final" in v) == (task == "classification")


def test_compute_steps_are_exact_where_they_stay_rational():
    text = """
title: t
problems:
  - id: e
    given: {a: 0.1, b: 0.2, M: [[0.1, 0.2], [0.3, -0.3]], v: [1, 1]}
    compute:
      - z: a + b - 0.3
      - w: M @ v
      - r: relu(M @ v - 0.3)
      - s: sum(M, 0) * 3
      - q: mean(M)
      - p: (a - 0.1) ** 2 + 1 / 3
      - e: exp(z)
"""
    doc = loads(text)
    got = solve(doc)["e"].results
    # by hand, in fractions
    a, b = F(1, 10), F(2, 10)
    M = [[F(1, 10), F(2, 10)], [F(3, 10), F(-3, 10)]]
    w = [M[0][0] + M[0][1], M[1][0] + M[1][1]]
    assert float(got["z"]) == float(a + b - F(3, 10)) == 0.0
    assert got["w"].tolist() == [float(x) for x in w] == [0.3, 0.0]
    assert got["r"].tolist() == [float(max(x - F(3, 10), F(0))) for x in w] == [0.0, 0.0]
    assert got["s"].tolist() == [float((M[0][j] + M[1][j]) * 3) for j in range(2)]
    assert float(got["q"]) == float(sum(M[0] + M[1]) / 4)
    assert float(got["p"]) == float(F(1, 3))
    assert float(got["e"]) == 1.0  # exp of an exact 0


def test_the_float_noise_exact_arithmetic_removes_is_real():
    assert 0.1 + 0.2 - 0.3 != 0.0 and (0.1 * 3 - 0.3) != 0.0
