"""Optimiser steps against hand-derived updates (docs/spec.md conventions)."""

from __future__ import annotations

import numpy as np
import pytest

from nnreport.engine.optim import Optimizer, OptimizerSpec

P = {"W1": np.array([[1.0, -2.0], [0.5, 3.0]])}
G = {"W1": np.array([[0.2, -0.4], [0.0, 1.0]])}
G2 = {"W1": np.array([[-0.1, 0.3], [0.5, 0.5]])}


def test_sgd():
    out = Optimizer(OptimizerSpec("sgd"), lr=0.1).step(P, G, set())
    np.testing.assert_allclose(out["W1"], P["W1"] - 0.1 * G["W1"])


def test_momentum_two_steps():
    o = Optimizer(OptimizerSpec("momentum", beta=0.8), lr=0.5)
    p1 = o.step(P, G, set())
    v1 = 0.2 * G["W1"]
    np.testing.assert_allclose(p1["W1"], P["W1"] - 0.5 * v1)
    p2 = o.step(p1, G2, set())
    v2 = 0.8 * v1 + 0.2 * G2["W1"]
    np.testing.assert_allclose(p2["W1"], p1["W1"] - 0.5 * v2)


def test_adam_first_step_is_lr_times_sign():
    # t=1: mhat = g, vhat = g^2, so the step is lr * g / (|g| + eps)
    o = Optimizer(OptimizerSpec("adam"), lr=0.01)
    out = o.step(P, G, set())
    np.testing.assert_allclose(out["W1"], P["W1"] - 0.01 * G["W1"] / (np.abs(G["W1"]) + 1e-8))


def test_adam_second_step_bias_correction():
    b1, b2, lr, eps = 0.9, 0.999, 0.01, 1e-8
    o = Optimizer(OptimizerSpec("adam", beta1=b1, beta2=b2, eps=eps), lr=lr)
    p1 = o.step(P, G, set())
    p2 = o.step(p1, G2, set())
    g1, g2 = G["W1"], G2["W1"]
    m = b1 * (1 - b1) * g1 + (1 - b1) * g2
    v = b2 * (1 - b2) * g1**2 + (1 - b2) * g2**2
    mh, vh = m / (1 - b1**2), v / (1 - b2**2)
    np.testing.assert_allclose(p2["W1"], p1["W1"] - lr * mh / (np.sqrt(vh) + eps))


def test_rmsprop_first_step():
    o = Optimizer(OptimizerSpec("rmsprop", beta=0.9, eps=1e-8), lr=0.1)
    out = o.step(P, G, set())
    s = 0.1 * G["W1"] ** 2
    np.testing.assert_allclose(out["W1"], P["W1"] - 0.1 * G["W1"] / (np.sqrt(s) + 1e-8))


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam", "rmsprop"])
def test_frozen_parameters_do_not_move(name):
    out = Optimizer(OptimizerSpec(name), lr=0.1).step(P, G, {"W1"})
    np.testing.assert_array_equal(out["W1"], P["W1"])
