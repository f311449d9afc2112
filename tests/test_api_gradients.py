"""Through the public API, for every layout x optimiser: dW1 of the worked step against central
finite differences of the worked step's loss (perturbing W1 in the spec, in that layout's
shape), and W1_new against the optimiser's first-step formula derived by hand."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from nnreport.engine.solve import solve
from nnreport.spec import loads

HEADS = [("sigmoid", "bce"), ("softmax", "cce"), ("linear", "mse")]


def spec(layout, opt, head, loss, W1):
    rs = np.random.RandomState(5)
    X = rs.randn(4, 3)
    Y = np.eye(2)[[0, 1, 1, 0]] if loss == "cce" else (rs.rand(4, 2) > 0.5).astype(float) \
        if loss == "bce" else rs.randn(4, 2)
    if layout == "columns":
        X, Y = X.T, Y.T
    doc = {
        "title": "t", "layout": layout,
        "problems": [{
            "id": "p", "data": {"X": X.tolist(), "Y": Y.tolist()},
            "network": {"layers": [{"units": 2, "activation": "tanh"},
                                   {"units": 2, "activation": head}], "init": {"seed": 3, "scale": 0.8}},
            "params": {"W1": W1.tolist()},
            "loss": loss, "regularization": {"l2": 0.05},
            "train": {"optimizer": {"name": opt, "beta": 0.8}, "lr": 0.3},
        }],
    }
    return solve(loads(json.dumps(doc)))["p"].values()


@pytest.mark.parametrize("layout,opt,head_loss",
                         list(itertools.product(["rows", "columns"], ["sgd", "momentum", "adam", "rmsprop"], HEADS)))
def test_gradient_and_first_update(layout, opt, head_loss):
    head, loss = head_loss
    W1 = np.array([[0.3, -0.2, 0.5], [0.1, 0.4, -0.6]])  # (out, in) = columns shape
    if layout == "rows":
        W1 = W1.T
    v = spec(layout, opt, head, loss, W1)
    g = np.array(v["dW1"])
    assert g.shape == W1.shape
    h = 1e-6
    fd = np.zeros_like(W1)
    for idx in np.ndindex(W1.shape):
        plus, minus = W1.copy(), W1.copy()
        plus[idx] += h
        minus[idx] -= h
        fd[idx] = (spec(layout, opt, head, loss, plus)["loss"] - spec(layout, opt, head, loss, minus)["loss"]) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-8)
    lr, beta, eps = 0.3, 0.8, 1e-8
    step = {"sgd": g, "momentum": (1 - beta) * g, "adam": g / (np.abs(g) + eps),
            "rmsprop": g / (np.sqrt(1 - beta) * np.abs(g) + eps)}[opt]
    np.testing.assert_allclose(np.array(v["W1_new"]), W1 - lr * step, rtol=1e-10, atol=1e-12)
