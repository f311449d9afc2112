"""Momentum's forms (heavy ball, Nesterov) and the optimiser state given before the first
step (issue 23). Every expected number is derived by hand here, never from nnreport.

f(w) = (w - 4)^2 is a 1-1 linear network without bias: x = 1, target 4, MSE loss (one
sample, one output), so L = (w - 4)^2 and g = dL/dw = 2 (w - 4). From w = 0, lr = 0.1,
beta = 0.9, by hand:

heavy ball (v = 0.9 v - 0.1 g, w += v):
  g1 = -8      v1 = 0.8                   w1 = 0.8
  g2 = -6.4    v2 = 0.72 + 0.64 = 1.36    w2 = 2.16
  g3 = -3.68   v3 = 1.224 + 0.368 = 1.592 w3 = 3.752
  g4 = -0.496  v4 = 1.4328 + 0.0496 = 1.4824  w4 = 5.2344
Nesterov (v as above, w += 0.9 v - 0.1 g with the new v):
  g1 = -8        v1 = 0.8        w1 = 0 + 0.72 + 0.8 = 1.52
  g2 = -4.96     v2 = 1.216      w2 = 1.52 + 1.0944 + 0.496 = 3.1104
  g3 = -1.7792   v3 = 1.27232    w3 = 3.1104 + 1.145088 + 0.17792 = 4.433408
  g4 = 0.866816  v4 = 1.0584064  w4 = 4.433408 + 0.95256576 - 0.0866816 = 5.29929216
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import solve_json as solve_values

from nnreport.errors import SpecError
from nnreport.spec import loads

F = """title: f
problems:
  - id: f
    data: {{X: [[1]], Y: [[4]]}}
    network:
      layers: [{{units: 1, activation: linear, bias: false}}]
    params: {{W1: [[0]]}}
    loss: mse
    train: {{optimizer: {opt}, lr: 0.1, epochs: {epochs}{more}}}
"""
HEAVY = "{name: momentum, form: heavy_ball, beta: 0.9}"
NESTEROV = "{name: momentum, form: heavy_ball, nesterov: true, beta: 0.9}"
HEAVY_W = [0.8, 2.16, 3.752, 5.2344]
NESTEROV_W = [1.52, 3.1104, 4.433408, 5.29929216]


def solve_json(tmp_path, text):
    return solve_values(tmp_path, text)[0]


def key_tex(text):
    from nnreport.document.tex import render
    from nnreport.engine.solve import solve

    doc = loads(text)
    return render(doc, solve(doc), "key")


@pytest.mark.parametrize("opt,ws", [(HEAVY, HEAVY_W), (NESTEROV, NESTEROV_W)])
def test_heavy_ball_and_nesterov_steps_1_to_4(tmp_path, opt, ws):
    for epochs, w in enumerate(ws, start=1):
        v = solve_json(tmp_path, F.format(opt=opt, epochs=epochs, more=""))
        assert v["W1_final"][0][0] == pytest.approx(w, rel=1e-12)
    assert v["W1_v"] == [[0.8]]  # the worked (first) step
    assert v["W1_new"] == [[ws[0]]]
    assert v["W1_step"] == [[-ws[0]]]  # what is subtracted, as for every optimiser


def test_nesterov_is_pytorchs_sgd_nesterov():
    """PyTorch's SGD(momentum=mu, nesterov=True): b = mu b + g; p -= lr (g + mu b), written
    out here (torch is not installed), against the heavy-ball Nesterov hand values."""
    p, b, lr, mu = 0.0, 0.0, 0.1, 0.9
    for w in NESTEROV_W:
        g = 2 * (p - 4)
        b = mu * b + g
        p -= lr * (g + mu * b)
        assert p == pytest.approx(w, rel=1e-12)


def test_heavy_ball_key_lines():
    tex = key_tex(F.format(opt=HEAVY, epochs=1, more=""))
    assert r"v_{W_{1}} &= \beta \cdot 0 - \eta\, dW_{1} = 0.9 \cdot 0 - 0.1 \cdot " \
        r"\left(-8\right) = 0.8" in tex
    assert r"W_{1}^{\text{new}} &= W_{1} + v_{W_{1}} = 0 + 0.8 = 0.8" in tex
    assert r"v \leftarrow \beta v - \eta\, g" in tex and "heavy-ball momentum" in tex
    assert r"\Delta" not in tex


def test_nesterov_key_lines():
    tex = key_tex(F.format(opt=NESTEROV, epochs=1, more=""))
    assert r"W_{1}^{\text{new}} &= W_{1} + \beta\, v_{W_{1}} - \eta\, dW_{1} = 0 + 0.9 \cdot " \
        r"0.8 - 0.1 \cdot \left(-8\right) = 1.52" in tex
    assert "Nesterov momentum" in tex


def test_given_state_enters_the_first_step(tmp_path):
    """Average form from v = 2: v = 0.9 * 2 + 0.1 * (-8) = 1; w = 0 - 0.1 * 1 = -0.1.
    Heavy ball from v = 2: v = 0.9 * 2 - 0.1 * (-8) = 2.6; w = 2.6."""
    more = ", state: {W1_v: 2}"
    v = solve_json(tmp_path, F.format(opt="{name: momentum, beta: 0.9}", epochs=1, more=more))
    assert v["W1_v"] == [[1.0]] and v["W1_new"] == [[-0.1]]
    v = solve_json(tmp_path, F.format(opt=HEAVY, epochs=1, more=more))
    assert v["W1_v"] == [[2.6]] and v["W1_new"] == [[2.6]]
    tex = key_tex(F.format(opt=HEAVY, epochs=1, more=more))
    assert r"v_{W_{1}} &= \beta\, v^{\text{old}}_{W_{1}} - \eta\, dW_{1} = 0.9 \cdot 2 - " \
        r"0.1 \cdot \left(-8\right) = 2.6" in tex
    assert r"v^{\text{old}}_{W_{1}}" in tex.split("Update")[0]  # listed with the given values


def test_given_state_of_adam_and_rmsprop(tmp_path):
    """RMSprop from s = 1: s = 0.9 + 0.1 * 64 = 7.3. Adam from m = 1, v = 4: m = 0.9 - 0.8
    = 0.1, v = 3.996 + 0.064 = 4.06, m-hat = 1, v-hat = 4060, step 0.1 / sqrt(4060)."""
    v = solve_json(tmp_path, F.format(opt="{name: rmsprop, beta: 0.9}", epochs=1,
                                      more=", state: {W1_s: 1}"))
    assert v["W1_s"][0][0] == pytest.approx(7.3, rel=1e-12)
    assert v["W1_new"][0][0] == pytest.approx(0.1 * 8 / (np.sqrt(7.3) + 1e-8), rel=1e-12)
    v = solve_json(tmp_path, F.format(opt="{name: adam, eps: 0}", epochs=1,
                                      more=", state: {W1_m: 1, W1_v: 4}"))
    assert v["W1_m"] == [[0.1]] and v["W1_v"] == [[4.06]]
    assert v["W1_mhat"] == [[1.0]] and v["W1_vhat"] == [[4060.0]]
    assert v["W1_new"][0][0] == pytest.approx(-0.1 / np.sqrt(4060), rel=1e-12)
    tex = key_tex(F.format(opt="{name: adam, eps: 0}", epochs=1,
                           more=", state: {W1_m: 1, W1_v: 4}"))
    assert r"m_{W_{1}} &= \beta_1\, m^{\text{old}}_{W_{1}} + (1 - \beta_1)\, dW_{1} = " \
        r"0.9 \cdot 1 + 0.1 \cdot \left(-8\right) = 0.1" in tex


def test_state_in_the_columns_layout(tmp_path):
    """A 2-1 network, columns layout (W1 is 1 x 2); v given as a row; one heavy-ball step:
    x = (1, 2), w = (0, 0), target 1: yhat = 0, g = 2 (0 - 1) x = (-2, -4);
    v = 0.5 (1, -1) - 0.1 g = (0.7, -0.1)."""
    text = """title: c
layout: columns
problems:
  - id: c
    data: {X: [[1], [2]], Y: [[1]]}
    network: {layers: [{units: 1, activation: linear, bias: false}]}
    params: {W1: [[0, 0]]}
    loss: mse
    train: {optimizer: {name: momentum, form: heavy_ball, beta: 0.5}, lr: 0.1,
            state: {W1_v: [[1, -1]]}}
"""
    v = solve_json(tmp_path, text)
    assert np.allclose(v["W1_v"], [[0.7, -0.1]], rtol=1e-14)
    assert np.allclose(v["W1_new"], [[0.7, -0.1]], rtol=1e-14)


@pytest.mark.parametrize("opt,more,where,says", [
    ("{name: momentum, nesterov: true}", "", "9:", "nesterov: true needs"),
    ("{name: adam, form: heavy_ball}", "", "9:", "form of momentum"),
    ("{name: momentum, form: heavyball}", "", "9:", "did you mean 'heavy_ball'"),
    (HEAVY, ", state: {W1_v: [[1, 2]]}", "9:", "shape [1, 2], expected [1, 1]"),
    (HEAVY, ", state: {W1_s: 1}", "9:", "unknown optimiser state 'W1_s'"),
    (HEAVY, ", state: {W2_v: 1}", "9:", "unknown optimiser state 'W2_v'"),
    ("sgd", ", state: {W1_v: 1}", "9:", "sgd keeps no state"),
])
def test_invalid_combinations_are_located(opt, more, where, says):
    with pytest.raises(SpecError) as e:
        loads(F.format(opt=opt, epochs=1, more=more), "s.yaml")
    assert says in str(e.value)
    assert f"s.yaml:{where}" in str(e.value)


@pytest.mark.parametrize("opt,more", [(HEAVY, ""), (NESTEROV, ", state: {W1_v: 0.5}"),
                                      ("{name: adam}", ", state: {W1_m: 1, W1_v: 4}")])
def test_code_script_follows(tmp_path, opt, more):
    from test_code import run_both

    spec = tmp_path / "s.yaml"
    spec.write_text(F.format(opt=opt, epochs=6, more=more))
    history, final, v = run_both(spec)
    assert np.allclose(history, v["loss_history"], rtol=0, atol=1e-10)
    assert final == pytest.approx(v["loss_final"], abs=1e-10)


def test_chain_key_follows_the_forms(tmp_path):
    """Rounded chain at 2 digits: heavy ball from v = 0.33 with g = -8: v = 0.9 x 0.33 + 0.8
    = 1.097 -> 1.1 (chain); Nesterov's new w = 0 + 0.9 x 1.1 + 0.8 = 1.79 -> 1.8."""
    text = F.format(opt=NESTEROV, epochs=1, more=", state: {W1_v: 0.33}")
    text = text.replace("problems:", "digits: 2\nrounding: chain\nproblems:")
    v = solve_json(tmp_path, text)
    assert v["W1_v"][0][0] == pytest.approx(0.9 * 0.33 + 0.8, rel=1e-12)
    from nnreport.engine.solve import solve

    doc = loads(text)
    sol = solve(doc)["f"]
    assert sol.chain["W1_v"][0][0] == pytest.approx(1.1)
    assert sol.chain["W1_new"][0][0] == pytest.approx(1.8)
    lo, hi = sol.tolerance["W1_new"]["low"], sol.tolerance["W1_new"]["high"]
    assert lo[0][0] <= 0.9 * 1.097 + 0.8 <= hi[0][0]
