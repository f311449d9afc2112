"""Every activation x loss x layout x reduction: gradients against central finite
differences of the batch loss, and per-sample gradients against the batch gradient."""

from __future__ import annotations

import itertools
import zlib

import numpy as np
import pytest

from nnreport.engine.functions import LossSpec
from nnreport.engine.network import Net, loss_of, run
from nnreport.spec import loads

HIDDEN = ["sigmoid", "relu", "leaky_relu", "tanh", "linear", "softmax"]
OUTPUT_LOSS = [("sigmoid", "bce", None), ("sigmoid", "bce", 1e-3), ("softmax", "cce", None),
               ("softmax", "cce", 1e-2), ("linear", "mse", None), ("tanh", "sse", None),
               ("sigmoid", "mse", None), ("relu", "sse", None)]


def _data(rs, m, n_in, n_out, loss):
    X = rs.randn(m, n_in)
    if loss == "cce":
        Y = np.eye(n_out)[rs.randint(0, n_out, m)]
    elif loss == "bce":
        Y = rs.randint(0, 2, (m, n_out)).astype(float)
    else:
        Y = rs.randn(m, n_out)
    return X, Y


def _fd(net, params, X, Y, name, h=1e-6):
    g = np.zeros_like(params[name])
    for idx in np.ndindex(g.shape):
        plus = {k: v.copy() for k, v in params.items()}
        minus = {k: v.copy() for k, v in params.items()}
        plus[name][idx] += h
        minus[name][idx] -= h
        g[idx] = (loss_of(net, plus, X, Y) - loss_of(net, minus, X, Y)) / (2 * h)
    return g


CASES = list(itertools.product(HIDDEN, OUTPUT_LOSS, ["mean", "sum"], [0.0, 0.3]))


@pytest.mark.parametrize("hidden,out_loss,reduction,l2", CASES)
def test_gradients_match_finite_differences(hidden, out_loss, reduction, l2):
    out_act, loss, eps = out_loss
    rs = np.random.RandomState(zlib.crc32(repr((hidden, out_loss, reduction, l2)).encode()))
    n_in, n_h, n_out, m = 3, 4, 3, 5
    X, Y = _data(rs, m, n_in, n_out, loss)
    params = {"W1": rs.randn(n_in, n_h) * 0.7, "b1": rs.randn(1, n_h) * 0.3,
              "W2": rs.randn(n_h, n_out) * 0.7, "b2": rs.randn(1, n_out) * 0.3}
    # keep ReLU kinks away from the finite-difference step
    net = Net((hidden, out_act), (0.1, 0.1), LossSpec(loss, eps, reduction, 1.5), l2)
    p = run(net, params, X, Y, per_sample=True)
    for name in params:
        fd = _fd(net, params, X, Y, name)
        np.testing.assert_allclose(p.grads[name], fd, rtol=1e-5, atol=1e-7, err_msg=name)
    # per-sample gradients (no L2 term) average, or sum, to the batch gradient
    for name in params:
        ps = p.per_sample[name]
        agg = ps.sum(axis=0) if reduction == "sum" else ps.mean(axis=0)
        if name.startswith("W") and l2:
            agg = agg + l2 / m * params[name]
        np.testing.assert_allclose(agg.reshape(p.grads[name].shape), p.grads[name], atol=1e-12)


@pytest.mark.parametrize("loss", ["mse", "sse", "bce", "cce"])
def test_per_sample_gradient_is_gradient_of_that_sample_alone(loss):
    act = {"bce": "sigmoid", "cce": "softmax"}.get(loss, "tanh")
    rs = np.random.RandomState(7)
    X, Y = _data(rs, 4, 2, 3, loss)
    params = {"W1": rs.randn(2, 3), "b1": rs.randn(1, 3), "W2": rs.randn(3, 3), "b2": rs.randn(1, 3)}
    net = Net(("sigmoid", act), (0.01, 0.01), LossSpec(loss, None, "sum", 1.0))
    p = run(net, params, X, Y, per_sample=True)
    for i in range(4):
        for name in params:
            fd = _fd(net, params, X[i:i + 1], Y[i:i + 1], name)
            np.testing.assert_allclose(p.per_sample[name][i].reshape(fd.shape), fd, rtol=1e-5, atol=1e-8)


def test_three_layer_deep_network_gradients():
    rs = np.random.RandomState(3)
    X, Y = _data(rs, 6, 3, 1, "bce")
    params = {"W1": rs.randn(3, 4), "b1": rs.randn(1, 4), "W2": rs.randn(4, 4),
              "b2": rs.randn(1, 4), "W3": rs.randn(4, 1), "b3": rs.randn(1, 1)}
    net = Net(("tanh", "leaky_relu", "sigmoid"), (0.01, 0.2, 0.01), LossSpec("bce"), 0.1)
    p = run(net, params, X, Y)
    for name in params:
        np.testing.assert_allclose(p.grads[name], _fd(net, params, X, Y, name), rtol=1e-5, atol=1e-8)


LAYOUT_SPEC = """
title: t
layout: {layout}
problems:
  - id: p
    data: {{X: {X}, Y: {Y}}}
    network: {{layers: [{{units: 3, activation: tanh}}, {{units: 2, activation: softmax}}],
              init: {{seed: 4, scale: 0.5}}}}
    loss: cce
    train: {{optimizer: {opt}, lr: 0.5, epochs: 3}}
"""


@pytest.mark.parametrize("opt", ["sgd", "momentum", "adam", "rmsprop"])
def test_layouts_are_transposes_of_each_other(opt):
    """Same problem in both layouts: every value of one is the transpose of the other, except
    that init draws W in each layout's own shape (so we pin the columns init to the rows one)."""
    from nnreport.engine.solve import solve

    X = [[1, 2], [0.5, -1], [2, 0], [-1, -1]]
    Y = [[1, 0], [0, 1], [1, 0], [0, 1]]
    rows = loads(LAYOUT_SPEC.format(layout="rows", X=X, Y=Y, opt=opt))
    s_rows = solve(rows)["p"]
    Xt = np.array(X).T.tolist()
    Yt = np.array(Y).T.tolist()
    W1 = s_rows.setup.params["W1"].T.tolist()
    W2 = s_rows.setup.params["W2"].T.tolist()
    cols_text = LAYOUT_SPEC.format(layout="columns", X=Xt, Y=Yt, opt=opt).replace(
        "    loss: cce", f"    params: {{W1: {W1}, W2: {W2}}}\n    loss: cce")
    s_cols = solve(loads(cols_text))["p"]
    vr, vc = s_rows.values(), s_cols.values()
    for k in vr:
        a, b = vr[k], vc[k]
        if isinstance(a, list) and a and isinstance(a[0], np.ndarray):
            for x, y in zip(a, b, strict=True):
                np.testing.assert_allclose(x.T, y, atol=1e-12)
        elif isinstance(a, np.ndarray) and a.ndim == 2:
            np.testing.assert_allclose(a.T, b, atol=1e-12, err_msg=k)
        else:
            np.testing.assert_allclose(a, b, atol=1e-12, err_msg=k)
