"""The seeds' printed numbers, reproduced from the YAML specs in problems/.

Expected values come from the seeds' own printouts (copied below) and from an independent
re-implementation of each seed's NumPy code inside this file, never from nnreport.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import PROBLEMS

import nnreport


def sig(z):
    return 1 / (1 + np.exp(-z))


@pytest.fixture(scope="module")
def assignment():
    return nnreport.load(PROBLEMS / "assignment01.yaml").answers()["problems"]


def test_seed000_numpy_practice(assignment):
    np.testing.assert_allclose(assignment["A1"]["Result"],
                               [[224, 216], [173.5, 166.5], [137.25, 132.75]])
    np.testing.assert_array_equal(assignment["A2"]["Total"][0], [19, 22, 21, 25, 28, 26, 30])
    np.testing.assert_allclose(assignment["A3"]["s"],
                               [0.11920292, 0.26894142, 0.5, 0.73105858, 0.88079708], atol=5e-9)
    np.testing.assert_allclose(assignment["A4"]["ds"],
                               [0.10499359, 0.19661193, 0.25, 0.19661193, 0.10499359], atol=5e-9)


def test_seed000_network_initial_step(assignment):
    v = assignment["net"]
    # printed by the seed (columns layout: predictions are 1 x 5)
    np.testing.assert_allclose(v["yhat"], [[0.4980767, 0.49867582, 0.49706008, 0.49765919, 0.49654701]], atol=5e-9)
    assert v["loss"] == pytest.approx(523.9627665874224, rel=1e-13)
    np.testing.assert_allclose(v["dW1"], [[0.7313369, 0.08728627, 0.0709515], [0, 0, 0],
                                          [6.04184407, 0.72110411, 0.5861565]], atol=5e-8)
    np.testing.assert_allclose(v["db1"], [[0.02805639], [0], [0.23178416]], atol=5e-9)
    np.testing.assert_allclose(v["dW2"], [[-4.39936457, 0, -4.94139938]], atol=5e-9)
    np.testing.assert_allclose(v["db2"], [[-11.25088979]], atol=5e-9)


def test_seed000_network_after_5000_epochs(assignment):
    v = assignment["net"]
    np.testing.assert_allclose(v["W1_final"], [
        [7.34670458e-01, 1.40969247e-01, 9.73968474e-02],
        [-1.07296862e-02, 8.65407629e-03, -2.30153870e-02],
        [-2.25946277e-05, -9.69721158e-03, 1.49546541e-03]], rtol=5e-8, atol=1e-12)
    np.testing.assert_allclose(v["b1_final"], [[0.03614688], [0], [-0.00067023]], atol=5e-9)
    np.testing.assert_allclose(v["W2_final"], [[0.75512589, 0.01462108, -0.01015278]], atol=5e-9)
    np.testing.assert_allclose(v["b2_final"], [[0.21793038]], atol=5e-9)
    np.testing.assert_allclose(v["yhat_final"], [[0.99999357, 0.99991036, 0.99999997, 0.99999955, 1.0]], atol=5e-9)
    assert len(v["loss_history"]) == 5000
    assert v["loss_history"][0] == pytest.approx(523.9627665874224, rel=1e-13)


def test_seed001_moons_loss_log():
    v = nnreport.load(PROBLEMS / "moons.yaml").answers()["problems"]["moons"]
    printed = [0.6932, 0.6925, 0.6542, 0.3816, 0.3235, 0.3145, 0.3127, 0.3121, 0.3119, 0.3117]
    got = [round(x, 4) for x in v["loss_history"][::100]]
    assert got == printed


# --- exam 2 (seed 004) -------------------------------------------------------------------

@pytest.fixture(scope="module")
def exam():
    return nnreport.load(PROBLEMS / "exam2.yaml").answers()["problems"]


def test_exam2_problem1(exam):
    np.testing.assert_array_equal(exam["p1"]["XW1"], [10, 10, 10])
    np.testing.assert_allclose(exam["p1"]["out"], [0.99752738], atol=5e-9)  # printed
    assert exam["p1"]["nll"] == pytest.approx(0.10536051565782628, rel=1e-15)  # printed


def _exam_p2_by_hand():
    X = np.array([[1, 2, 3, 0], [2, 4, 1, 0], [4, 3, 2, 0]], float)
    Y = np.array([[0], [1], [1]], float)
    Z1 = X @ np.ones((4, 3))          # every hidden unit sees the row sum: 6, 7, 9
    H1 = sig(Z1)
    Z2 = H1 @ np.ones((3, 1))
    yhat = sig(Z2)
    eps = 1e-10
    loss = -(Y * np.log(yhat + eps) + (1 - Y) * np.log(1 - yhat + eps))
    # exact derivative of that loss (eps included) through the sigmoid
    dZ2 = -(Y / (yhat + eps) - (1 - Y) / (1 - yhat + eps)) * yhat * (1 - yhat)
    dZ1 = (dZ2 @ np.ones((1, 3))) * H1 * (1 - H1)
    per_sample = [np.outer(X[i], dZ1[i]) for i in range(3)]
    return Z1, H1, Z2, yhat, loss, dZ1, per_sample


def test_exam2_problem2_forward_and_loss(exam):
    Z1, H1, Z2, yhat, loss, _, _ = _exam_p2_by_hand()
    v = exam["p2"]
    np.testing.assert_allclose(v["Z1"], Z1)
    np.testing.assert_allclose(v["H1"], H1, rtol=1e-14)
    np.testing.assert_allclose(v["Z2"], Z2, rtol=1e-14)
    np.testing.assert_allclose(v["yhat"], yhat, rtol=1e-14)
    np.testing.assert_allclose(v["loss_per_sample"], loss.ravel(), rtol=1e-12)
    # the exam printed these, rounded to 2 decimals
    assert np.round(v["Z2"], 2).ravel().tolist() == [2.99, 3.0, 3.0]
    assert np.round(v["yhat"], 2).ravel().tolist() == [0.95, 0.95, 0.95]
    assert np.round(v["loss_per_sample"], 2).tolist() == [3.04, 0.05, 0.05]


def test_exam2_problem2_dW1_per_sample_and_averaged(exam):
    """The exam's dL/dW1 is wrong. It computed `(Y - yhat) * W2.T @ H * (1 - H)` with
    H = [2, 2, 2], the *input of problem 1*, instead of H1 = sigma(Z1) of this network: H(1-H) is
    then 2 * (1 - 2) = -2 rather than about 0.0025, and (Y - yhat) has the sign flipped. That
    is why its first column is 5.71 = 1 * 2 * 0.95 * 3 ... and why its three columns differ
    (numpy broadcast the 3x1 (Y-yhat) against the 1x3 row) although all three hidden units are
    identical here. The right per-sample gradient is x_i^T dZ1_i with dZ1 = dZ2 W2^T * H1(1-H1),
    whose columns are equal because W1 and W2 are all ones."""
    *_, dZ1, per_sample = _exam_p2_by_hand()
    v = exam["p2"]
    for got, want in zip(v["dW1_per_sample"], per_sample, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-18)
    np.testing.assert_allclose(v["dW1"], np.mean(per_sample, axis=0), rtol=1e-10, atol=1e-18)
    # and the exam's printed averaged value is not it
    exam_avg = np.array([[13.331, -0.666, -0.664], [17.14, -0.856, -0.854],
                         [11.427, -0.571, -0.569], [0, 0, 0]])
    assert not np.allclose(v["dW1"], exam_avg, atol=0.01)
    # the wrong formula, re-run, does give the exam's numbers: so the diagnosis above is right
    X = np.array([[1, 2, 3, 0], [2, 4, 1, 0], [4, 3, 2, 0]], float)
    Y = np.array([[0], [1], [1]], float)
    H = np.array([2, 2, 2])
    wrong = (Y - np.array(v["yhat"])) * np.ones((3, 1)).T @ H * (1 - H)
    wrong_avg = np.mean([np.round(np.outer(xi, wrong), 3) for xi in X], axis=0)
    np.testing.assert_allclose(wrong_avg, exam_avg, atol=2e-3)


def test_exam2_problem3_by_independent_implementation(exam):
    X = np.array([[1, 0, 0], [0.9, 0, 0], [0, 1, 0], [0, 0.95, 0], [0, 0, 1], [0, 0, 0.85]])
    Y = np.repeat(np.eye(3), 2, axis=0)
    W1 = np.array([[0.5938, 0.0634], [0.0018, 0.1043], [0.3504, 0.0656]])
    W2 = np.array([[1.0, 0.41, 0.26], [0.24, 0.53, 0.71]])
    B = np.array([[0.76, 0.76]])
    C = np.array([[0.95, 0.21, 0.98]])
    Z1 = X @ W1 + B
    H1 = sig(Z1)
    Z2 = H1 @ W2 + C
    e = np.exp(Z2)
    yhat = e / e.sum(axis=1, keepdims=True)
    losses = -np.sum(Y * np.log(yhat), axis=1)
    dZ2 = (yhat - Y) / 6
    dW2, dC = H1.T @ dZ2, dZ2.sum(0, keepdims=True)
    dZ1 = dZ2 @ W2.T * H1 * (1 - H1)
    dW1, dB = X.T @ dZ1, dZ1.sum(0, keepdims=True)
    v = exam["p3"]
    np.testing.assert_allclose(v["yhat"], yhat, rtol=1e-13)
    np.testing.assert_allclose(v["loss_per_sample"], losses, rtol=1e-13)
    assert v["loss"] == pytest.approx(losses.mean(), rel=1e-14)
    np.testing.assert_allclose(v["dW1"], dW1, rtol=1e-12)
    np.testing.assert_allclose(v["dW2"], dW2, rtol=1e-12)
    np.testing.assert_allclose(v["db1"], dB, rtol=1e-12)
    np.testing.assert_allclose(v["db2"], dC, rtol=1e-12)
    np.testing.assert_allclose(v["W1_new"], W1 - dW1, rtol=1e-13)
    np.testing.assert_allclose(v["b2_new"], C - dC, rtol=1e-13)
    # The exam's Z1 (1.34, 0.83) and dL/dW1 (0.0041 ...) do not follow from the weights it
    # printed: its network used unrounded weights and printed Z after the update.
    assert abs(v["Z1"][0][0] - 1.34) > 0.01
