"""Recurrent and attention layers through `nnreport solve --json` (issue 26), every value
against an independent reference (tests/ndref.py: explicit loops, central finite
differences); the rnn's every-step dH by finite differences of each h_t with the recurrence
cut there; causal scores' -inf as null in the JSON."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fdiff import central
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ndref import ACT, check_all, forward, losses, solve_json, spec_text


def rnd(rs, *shape, scale=0.5):
    return np.round(rs.randn(*shape) * scale, 3)


def rnn_dH(layers, P, X, Y, l: int) -> np.ndarray:
    """d(sum of losses)/dh_t for every step: h_t perturbed, the recurrence after t and the
    layers above recomputed (the total gradient flowing into h_t, as BPTT's dH)."""
    la = layers[l - 1]
    act = ACT[la.get("activation", "tanh")]
    Z = forward(layers, P, X)[f"Z{l}"]
    Hs = act(Z)
    m, T, U = Hs.shape
    L = len(layers)

    def loss_from(t: int, H: np.ndarray) -> float:
        seq = H.copy()
        h = seq[:, t]
        for s in range(t + 1, T):
            h = act(X[:, s] @ P[f"Wx{l}"] + h @ P[f"Wh{l}"] + P[f"b{l}"])
            seq[:, s] = h
        out = seq[:, -1] if la.get("return", "last") == "last" else seq
        return losses(forward(layers, P, X, l, out)[f"H{L}"], Y, "mse").sum()

    g = np.zeros_like(Hs)
    for t in range(T):
        H = Hs.copy()
        g[:, t] = central(lambda t=t, H=H: loss_from(t, H), H)[:, t]
    return g


@pytest.mark.parametrize("ret,act,opt", [("last", "tanh", "sgd"), ("sequence", "relu", "adam"),
                                         ("last", "sigmoid", "adam")])
def test_rnn(tmp_path, ret, act, opt):
    rs = np.random.RandomState(7)
    X = rnd(rs, 3, 4, 2, scale=1.0)
    Y = rnd(rs, 3, 1)
    layers = [{"type": "rnn", "units": 3, "activation": act, "return": ret}]
    width = 3
    if ret == "sequence":
        layers.append({"type": "flatten"})
        width = 12
    layers.append({"units": 1, "activation": "linear"})
    L = len(layers)
    P = {"Wx1": rnd(rs, 2, 3), "Wh1": rnd(rs, 3, 3), "b1": rnd(rs, 3), "h01": rnd(rs, 3),
         f"W{L}": rnd(rs, width, 1), f"b{L}": rnd(rs, 1, 1)}
    v = check_all(tmp_path, layers, X, Y, P, optimizer=opt, l2=0.05,
                  decayed=("Wx1", "Wh1", f"W{L}"))
    assert np.array(v["Z1"]).shape == (3, 4, 3) and np.array(v["H1"]).shape == (3, 4, 3)
    assert np.array(v["dH1"]).shape == (3, 4, 3) and np.array(v["dZ1"]).shape == (3, 4, 3)
    np.testing.assert_allclose(v["dH1"], rnn_dH(layers, P, X, Y, 1), 1e-4, 1e-6)
    assert np.array(v["dWx1_per_sample"]).shape == (3, 2, 3)


def test_rnn_without_h0_starts_from_zero(tmp_path):
    rs = np.random.RandomState(8)
    X = rnd(rs, 2, 3, 2, scale=1.0)
    Y = rnd(rs, 2, 2)
    layers = [{"type": "rnn", "units": 2}, {"units": 2, "activation": "linear"}]
    P = {"Wx1": rnd(rs, 2, 2), "Wh1": rnd(rs, 2, 2), "b1": rnd(rs, 2), "W2": rnd(rs, 2, 2),
         "b2": rnd(rs, 1, 2)}
    v = check_all(tmp_path, layers, X, Y, P)
    assert "h01" not in v and "dh01" not in v


@pytest.mark.parametrize("causal", [False, True])
def test_attention_then_flatten_dense(tmp_path, causal):
    rs = np.random.RandomState(9 + causal)
    X = rnd(rs, 2, 3, 4, scale=1.0)
    Y = rnd(rs, 2, 1)
    layers = [{"type": "attention", "d_k": 2, "d_v": 3, "causal": causal},
              {"type": "flatten"}, {"units": 1, "activation": "linear"}]
    P = {"Wq1": rnd(rs, 4, 2), "Wk1": rnd(rs, 4, 2), "Wv1": rnd(rs, 4, 3),
         "W3": rnd(rs, 9, 1), "b3": rnd(rs, 1, 1)}
    v = check_all(tmp_path, layers, X, Y, P, optimizer="adam")
    assert {"Q1", "K1", "V1", "S1", "A1", "H1", "dWq1", "dWk1", "dWv1"} <= set(v)
    assert "Z1" not in v and "dZ1" not in v
    S = v["S1"]
    if causal:  # masked scores are -inf: null in the JSON
        assert S[0][0][1] is None and S[1][0][2] is None and S[0][2][0] is not None
        assert v["A1"][0][0][1] == 0.0
    else:
        assert all(x is not None for s in S for r in s for x in r)


def test_attention_json_is_strict(tmp_path):
    """The streamed JSON holds no -Infinity (not JSON): json.loads would take it, so check
    the text."""
    from click.testing import CliRunner

    from nnreport.cli import cli

    rs = np.random.RandomState(3)
    path = tmp_path / "spec.yaml"
    path.write_text(spec_text([{"type": "attention", "causal": True}, {"type": "flatten"},
                               {"units": 1, "activation": "linear"}],
                              rnd(rs, 2, 3, 2), rnd(rs, 2, 1), {}))
    r = CliRunner().invoke(cli, ["solve", str(path), "--json"])
    assert r.exit_code == 0, r.stderr
    assert "Infinity" not in r.stdout and "NaN" not in r.stdout and "null" in r.stdout


def test_rnn_into_attention(tmp_path):
    rs = np.random.RandomState(11)
    X = rnd(rs, 2, 3, 2, scale=1.0)
    Y = rnd(rs, 2, 1)
    layers = [{"type": "rnn", "units": 2, "return": "sequence"},
              {"type": "attention", "d_k": 1, "d_v": 2}, {"type": "flatten"},
              {"units": 1, "activation": "linear"}]
    P = {"Wx1": rnd(rs, 2, 2), "Wh1": rnd(rs, 2, 2), "b1": rnd(rs, 2), "Wq2": rnd(rs, 2, 1),
         "Wk2": rnd(rs, 2, 1), "Wv2": rnd(rs, 2, 2), "W4": rnd(rs, 6, 1), "b4": rnd(rs, 1, 1)}
    check_all(tmp_path, layers, X, Y, P)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_random_small_sequence_specs_solve(tmp_path, data):
    T, F = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 3))
    layers: list[dict] = []
    if data.draw(st.booleans()):
        ret = data.draw(st.sampled_from(["last", "sequence"]))
        layers.append({"type": "rnn", "units": data.draw(st.integers(1, 3)), "return": ret,
                       "activation": data.draw(st.sampled_from(["tanh", "relu", "sigmoid",
                                                                "linear"]))})
        if ret == "sequence":
            layers.append({"type": "flatten"})
    else:
        layers += [{"type": "attention", "d_k": data.draw(st.integers(1, 3)),
                    "d_v": data.draw(st.integers(1, 3)), "causal": data.draw(st.booleans())},
                   {"type": "flatten"}]
    layers.append({"units": 1, "activation": "sigmoid"})
    rs = np.random.RandomState(data.draw(st.integers(0, 999)))
    text = spec_text(layers, rnd(rs, 2, T, F, scale=1.0), [[1.0], [0.0]], {}, "bce",
                     data.draw(st.sampled_from(["sgd", "momentum", "rmsprop", "adam"])))
    code, v, err = solve_json(tmp_path, text)
    assert code == 0, err
    assert v is not None and math.isfinite(v["loss_final"])


def test_rnn_relu_is_exact(tmp_path):
    """A ReLU or linear recurrence keeps decimals rational: its values and gradients are
    the floats nearest their exact rationals (rnn.py's exact variants)."""
    from nnreport.engine.solve import solve
    from nnreport.spec import loads

    rs = np.random.RandomState(14)
    layers = [{"type": "rnn", "units": 2, "activation": "relu"},
              {"units": 1, "activation": "linear"}]
    P = {"Wx1": rnd(rs, 2, 2), "Wh1": rnd(rs, 2, 2), "b1": [0.1, 0.2], "W2": [[0.3], [-0.2]],
         "b2": [[0.1]]}
    sol = solve(loads(spec_text(layers, rnd(rs, 2, 3, 2, scale=1.0), [[0.1], [0.7]], P)))["p"]
    assert {"Z1", "H1", "dH1", "dZ2", "dWx1", "dWh1", "db1", "dW2", "loss"} <= \
        set(sol.step.exact), sorted(sol.step.exact)


def test_sequence_spec_faults_are_located(tmp_path):
    rs = np.random.RandomState(0)
    X = rnd(rs, 2, 3, 2)
    cases = [([{"type": "rnn", "units": 2, "retrun": "last"}], "did you mean 'return'?"),
             ([{"type": "rnn"}], "an rnn layer needs units"),
             ([{"type": "rnn", "units": 2, "activation": "softmax"}], "activation is one of"),
             ([{"type": "attention", "d_k": 2, "units": 3}], "has no key 'units'")]
    for layers, fragment in cases:
        text = spec_text([*layers, {"type": "flatten"}, {"units": 1, "activation": "linear"}],
                         X, [[0.0], [1.0]], {})
        code, v, err = solve_json(tmp_path, text)
        assert code == 2 and fragment in err and "Traceback" not in err, err
        assert f"{tmp_path / 'spec.yaml'}:" in err
    text = spec_text([{"type": "rnn", "units": 2}, {"units": 1, "activation": "linear"}], X,
                     [[0.0], [1.0]], {"Wh1": np.zeros((3, 3))})
    code, v, err = solve_json(tmp_path, text)
    assert code == 2 and "expected [2, 2]" in err, err


def test_attention_scores_count_in_the_answer_budget(tmp_path):
    """tokens^2 scores and weights per sample: a long sequence is refused before any work,
    at a located error that names the budget."""
    rs = np.random.RandomState(1)
    text = spec_text([{"type": "attention", "d_k": 1, "d_v": 1}, {"type": "flatten"},
                      {"units": 1, "activation": "linear"}], rnd(rs, 1, 30, 1), [[0.5]], {})
    code, v, err = solve_json(tmp_path, text)
    assert code == 0, err
    code, v, err = solve_json(tmp_path, text, "--budget", "answer_entries=1500")
    assert code == 2 and "answer_entries" in err and "Traceback" not in err, err
    assert f"{tmp_path / 'spec.yaml'}:" in err
