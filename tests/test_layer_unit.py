"""A layer type is one unit (issue 24): the toy scaling layer of tests/toylayer.py, added by
one engine module and one worked module, is built into a key through the public API; its
worked lines are in the key and its gradients equal finite differences computed here."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest
import toylayer  # registers the scaling layer

from nnreport import load
from nnreport.build import BuildOptions, build

SPEC = """title: A scaling layer
problems:
  - id: toy
    data:
      X: [[0.5, -1.0], [2.0, 0.25]]
      Y: [[1.0, 0.0], [0.0, 1.0]]
    network:
      layers:
        - {units: 2, activation: sigmoid}
        - {units: 2, activation: linear, type: scale, bias: false}
    params:
      W1: [[0.2, -0.4], [0.7, 0.1]]
      b1: [0.1, -0.2]
      a2: [1.5, -0.5]
    loss: {name: mse}
    train: {optimizer: sgd, lr: 0.1, epochs: 1}
    figures: []
"""

X = np.array([[0.5, -1.0], [2.0, 0.25]])
Y = np.array([[1.0, 0.0], [0.0, 1.0]])
P0 = {"W1": np.array([[0.2, -0.4], [0.7, 0.1]]), "b1": np.array([[0.1, -0.2]]),
      "a2": np.array([[1.5, -0.5]])}


def loss(P: dict[str, np.ndarray]) -> float:
    """The batch loss, written out here: mean over samples of the mean squared error."""
    h = 1 / (1 + np.exp(-(X @ P["W1"] + P["b1"])))
    yhat = h * P["a2"]
    return float(((yhat - Y) ** 2).mean(axis=1).mean())


def finite_differences(name: str, eps: float = 1e-6) -> np.ndarray:
    g = np.zeros_like(P0[name])
    for idx in np.ndindex(g.shape):
        up = {k: v.copy() for k, v in P0.items()}
        down = {k: v.copy() for k, v in P0.items()}
        up[name][idx] += eps
        down[name][idx] -= eps
        g[idx] = (loss(up) - loss(down)) / (2 * eps)
    return g


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("toy")
    spec = out / "toy.yaml"
    spec.write_text(SPEC)
    build(spec, BuildOptions(output=out / "b", pdf=False))
    return spec, out / "b" / "toy"


def test_gradients_equal_finite_differences(built):
    spec, _ = built
    v = load(spec).answers()["problems"]["toy"]
    assert v["loss"] == pytest.approx(loss(P0), rel=1e-12)
    for name in ("W1", "b1", "a2"):
        assert np.asarray(v[f"d{name}"]) == pytest.approx(finite_differences(name), abs=1e-8)
    assert "W2" not in v and "b2" not in v
    assert np.asarray(v["a2_new"]) == pytest.approx(P0["a2"] - 0.1 * finite_differences("a2"),
                                                    abs=1e-9)
    assert v["a2_final"] == v["a2_new"]  # one epoch of one step


def test_the_key_shows_the_layers_worked_lines(built):
    _, folder = built
    tex = (folder / "toy-key.tex").read_text()
    answers = json.loads((folder / "answers.json").read_text())["problems"]["toy"]
    assert "da2" in answers and "Z2" in answers
    assert r"Z_{2} &= H_{1} \odot a_{2} = " in tex
    assert r"da_{2} &= \frac{1}{2} \mathbf{1}^{T} \left(H_{1} \odot dZ_{2}\right) = " in tex
    assert r"dH_{1} &= dZ_{2} \odot a_{2} = " in tex
    assert r"a_{2}^{\text{new}} &= a_{2} - \eta\, da_{2} = " in tex  # the update part's line
    assert "W_{2}" not in tex


def test_the_error_signal_update_keeps_the_gradient_form_for_the_layers_parameter(tmp_path):
    """delta: error writes a dense layer's update with delta (W + eta (1/m) X^T delta); the
    scaling layer's a2 keeps a2 - eta da2, its value the finite differences' step."""
    spec = tmp_path / "toy.yaml"
    spec.write_text(SPEC.replace("    figures: []", "    figures: []\n    delta: error"))
    build(spec, BuildOptions(output=tmp_path / "b", pdf=False))
    tex = (tmp_path / "b" / "toy" / "toy-key.tex").read_text()
    assert r"W_{1}^{\text{new}} &= W_{1} + \eta\, \frac{1}{2} X^{T} \delta_{1} = " in tex
    assert r"a_{2}^{\text{new}} &= a_{2} - \eta\, da_{2} = " in tex
    v = json.loads((tmp_path / "b" / "toy" / "answers.json").read_text())["problems"]["toy"]
    assert np.asarray(v["a2_new"]) == pytest.approx(P0["a2"] - 0.1 * finite_differences("a2"),
                                                    abs=1e-9)


def test_the_rounded_chain_follows_the_layers_lines(tmp_path):
    """`rounding: chain`: the toy layer's worked lines along the rounded path (its
    worked_backward) give a da2 close to the full one, and the full key is in its range."""
    spec = tmp_path / "toy.yaml"
    spec.write_text(SPEC.replace("    figures: []", "    figures: []\n    rounding: chain"))
    build(spec, BuildOptions(output=tmp_path / "b", pdf=False))
    ans = json.loads((tmp_path / "b" / "toy" / "answers.json").read_text())
    full = np.asarray(ans["problems"]["toy"]["da2"])
    chain = np.asarray(ans["chain"]["toy"]["da2"])
    assert chain == pytest.approx(full, abs=1e-3)
    lo, hi = (np.asarray(ans["tolerance"]["toy"]["da2"][k]) for k in ("low", "high"))
    assert np.all(lo <= full) and np.all(full <= hi)


# --- what the spec, the outputs and the budgets ask of a layer type ---------------------------

def where(text: str, line_with: str, token: str) -> tuple[int, int]:
    """1-based line and column of `token` on the first line of `text` holding `line_with`."""
    for n, line in enumerate(text.splitlines(), 1):
        if line_with in line:
            return n, line.index(token) + 1
    raise AssertionError(line_with)


def test_a_scaling_layer_that_changes_the_width_is_a_located_spec_error(tmp_path):
    """The type's own fit check: z = h (.) a needs as many units as its input."""
    from nnreport import SpecError

    text = SPEC.replace("- {units: 2, activation: linear, type: scale",
                        "- {units: 3, activation: linear, type: scale")
    text = text.replace("Y: [[1.0, 0.0], [0.0, 1.0]]", "Y: [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]")
    text = text.replace("a2: [1.5, -0.5]", "a2: [1.5, -0.5, 2.0]")
    spec = tmp_path / "toy.yaml"
    spec.write_text(text)
    with pytest.raises(SpecError) as e:
        load(spec)
    line, col = where(text, "type: scale", "3, activation")  # the value of units
    assert len(e.value.issues) == 1
    assert str(e.value).startswith(f"{spec}:{line}:{col}: layer 2 (scale): a scaling layer "
                                   "keeps its input's width, but it has 3 units and its input 2")
    assert "hint: give it 2 units" in str(e.value)


def test_the_budgets_count_the_layers_own_parameters(tmp_path):
    """The training estimate counts W1 (2 x 2), b1 (2) and a2 (2): 8 parameters, not the
    2 x 2 + 2 a dense second layer would have."""
    from nnreport import Budgets, SpecError

    spec = tmp_path / "toy.yaml"
    spec.write_text(SPEC)
    with pytest.raises(SpecError) as e:
        load(spec, Budgets.parse(("train_work=1",)))
    assert "(2 samples x 8 parameters x 1 epochs)" in str(e.value)


L2 = 0.1


def loss_l2(P: dict[str, np.ndarray]) -> float:
    """The batch loss with lambda/(2m) ||W1||^2: the scaling layer's a2 is not decayed."""
    return loss(P) + L2 / (2 * 2) * float((P["W1"] ** 2).sum())


def test_l2_decays_the_parameters_the_layer_type_names(tmp_path):
    spec = tmp_path / "toy.yaml"
    spec.write_text(SPEC.replace("    figures: []", f"    figures: []\n    regularization: {{l2: {L2}}}"))
    build(spec, BuildOptions(output=tmp_path / "b", pdf=False))
    v = json.loads((tmp_path / "b" / "toy" / "answers.json").read_text())["problems"]["toy"]
    assert v["loss_l2"] == pytest.approx(L2 / 4 * (0.2**2 + 0.4**2 + 0.7**2 + 0.1**2), rel=1e-12)
    assert v["loss"] == pytest.approx(loss_l2(P0), rel=1e-12)
    for name in ("W1", "b1", "a2"):
        g = np.zeros_like(P0[name])
        for idx in np.ndindex(g.shape):
            up = {k: x.copy() for k, x in P0.items()}
            down = {k: x.copy() for k, x in P0.items()}
            up[name][idx] += 1e-6
            down[name][idx] -= 1e-6
            g[idx] = (loss_l2(up) - loss_l2(down)) / 2e-6
        assert np.asarray(v[f"d{name}"]) == pytest.approx(g, abs=1e-8)
    tex = (tmp_path / "b" / "toy" / "toy-key.tex").read_text()
    assert r"R &= \frac{\lambda}{2m}\left(\lVert W_{1} \rVert^2\right) = " in tex
    assert (r"L2 regularisation $\frac{\lambda}{2m}\left(\lVert W_{1} \rVert^2\right)$ with "
            r"$\lambda = 0.1$ (no other parameter)") in tex


def test_the_conventions_sentence_writes_each_layers_formula(built):
    _, folder = built
    tex = (folder / "toy-key.tex").read_text()
    assert (r"Conventions: rows layout: $X$ is samples $\times$ features, "
            r"$Z_{1} = X W_{1} + b_{1}$, $Z_{2} = H_{1} \odot a_{2}$; loss:") in tex
    assert "Z = X W + b" not in tex


# the same network in the columns layout: X is features x samples, W1 is out x in, b1 and a2
# are columns; the literals of SPEC read that way
Xc, Yc = X, Y
W1c, b1c, a2c = P0["W1"], P0["b1"].T, P0["a2"].T


def loss_columns(W1: np.ndarray, b1: np.ndarray, a2: np.ndarray) -> float:
    H1 = 1 / (1 + np.exp(-(W1 @ Xc + b1)))
    return float(((H1 * a2 - Yc) ** 2).mean(axis=0).mean())


def test_the_columns_layout_sums_the_samples_by_rows(tmp_path):
    """In the columns layout a sample is a column: da2 = (1/m) (H1 (.) dZ2) 1, a column, equal
    to the finite differences of the loss written here in that layout."""
    spec = tmp_path / "toy.yaml"
    spec.write_text(SPEC.replace("  - id: toy\n", "  - id: toy\n    layout: columns\n"))
    build(spec, BuildOptions(output=tmp_path / "b", pdf=False))
    v = json.loads((tmp_path / "b" / "toy" / "answers.json").read_text())["problems"]["toy"]
    g = np.zeros_like(a2c)
    for idx in np.ndindex(g.shape):
        up, down = a2c.copy(), a2c.copy()
        up[idx] += 1e-6
        down[idx] -= 1e-6
        g[idx] = (loss_columns(W1c, b1c, up) - loss_columns(W1c, b1c, down)) / 2e-6
    assert np.shape(v["da2"]) == (2, 1)
    assert np.asarray(v["da2"]) == pytest.approx(g, abs=1e-8)
    tex = (tmp_path / "b" / "toy" / "toy-key.tex").read_text()
    assert r"da_{2} &= \frac{1}{2} \left(H_{1} \odot dZ_{2}\right) \mathbf{1} = " in tex
    assert r"\mathbf{1}^{T}" not in tex.split("Backward pass")[1].split("Update")[0]
    assert (r"columns layout: $X$ is features $\times$ samples, $Z_{1} = W_{1} X + b_{1}$, "
            r"$Z_{2} = H_{1} \odot a_{2}$;") in tex


def test_the_diagram_draws_the_scaling_layers_own_edges(tmp_path):
    """Unit j of the scaling layer is fed by unit j alone, labelled a_j; the dense gap before
    it keeps its four edges; the layer's type heads its column."""
    spec = tmp_path / "toy.yaml"
    spec.write_text(SPEC.replace("    figures: []", "    figures: [network]"))
    build(spec, BuildOptions(output=tmp_path / "b", pdf=False))
    tex = (tmp_path / "b" / "toy" / "toy-key.tex").read_text()
    pic = tex[tex.index(r"\begin{tikzpicture}"):tex.index(r"\end{tikzpicture}")]
    edges = set(re.findall(r"\\draw\[edge\] \((L\d+N\d+)\) -- \((L\d+N\d+)\);", pic))
    assert edges == {("L0N1", "L1N1"), ("L0N1", "L1N2"), ("L0N2", "L1N1"), ("L0N2", "L1N2"),
                     ("L1N1", "L2N1"), ("L1N2", "L2N2")}
    labels = dict(re.findall(r"\\node\[w\] \((E2-\d-\d)\) at \([^)]*\) \{\$([^$]*)\$\}", pic))
    assert labels == {"E2-1-1": "1.5", "E2-2-2": "-0.5"}
    assert "{scale, linear}" in pic


def test_nnreport_code_writes_the_layers_lines_and_reproduces_the_loss(tmp_path):
    """The script's layers come from their types: run alone, it prints the loss before and
    after one step of gradient descent, as computed here (finite-difference gradients)."""
    from click.testing import CliRunner

    from nnreport.cli import cli

    spec = tmp_path / "toy.yaml"
    spec.write_text(SPEC.replace("    figures: []", f"    figures: []\n    regularization: {{l2: {L2}}}"))
    r = CliRunner().invoke(cli, ["code", str(spec)])
    assert r.exit_code == 0, r.output
    assert "z = H[-1] * params['a2']" in r.stdout
    assert "for k in ['W1']" in r.stdout  # the decayed parameters: W1 alone
    run = subprocess.run([sys.executable, "-c", r.stdout], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    start = float(lines[0].split()[-1])
    final = float(lines[-1].split()[-1])
    grads = {}
    for name in P0:
        g = np.zeros_like(P0[name])
        for idx in np.ndindex(g.shape):
            up = {k: x.copy() for k, x in P0.items()}
            down = {k: x.copy() for k, x in P0.items()}
            up[name][idx] += 1e-6
            down[name][idx] -= 1e-6
            g[idx] = (loss_l2(up) - loss_l2(down)) / 2e-6
        grads[name] = g
    assert start == pytest.approx(loss_l2(P0), rel=1e-12)
    assert final == pytest.approx(loss_l2({k: P0[k] - 0.1 * grads[k] for k in P0}), abs=1e-9)


def test_nnreport_code_refuses_a_layer_type_without_code_at_its_type(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from nnreport.cli import cli

    monkeypatch.setattr(toylayer.Scale, "code", lambda self, *a: None)
    spec = tmp_path / "toy.yaml"
    spec.write_text(SPEC)
    r = CliRunner().invoke(cli, ["code", str(spec)])
    line, col = where(SPEC, "type: scale", "scale")  # the value of type
    assert r.exit_code == 2
    assert r.stdout == ""
    assert r.stderr.startswith(f"{spec}:{line}:{col}: nnreport code does not write scale "
                               "layers yet (layer 2)\n    hint: ")


def test_the_training_part_prints_the_layers_final_parameter(tmp_path):
    """Two epochs of full-batch gradient descent, done here with finite-difference gradients,
    give a2_final; the key's training part prints it."""
    spec = tmp_path / "toy.yaml"
    spec.write_text(SPEC.replace("epochs: 1", "epochs: 2"))
    build(spec, BuildOptions(output=tmp_path / "b", pdf=False))
    v = json.loads((tmp_path / "b" / "toy" / "answers.json").read_text())["problems"]["toy"]
    P = {k: x.copy() for k, x in P0.items()}
    for _ in range(2):
        grads = {}
        for name in P:
            g = np.zeros_like(P[name])
            for idx in np.ndindex(g.shape):
                up = {k: x.copy() for k, x in P.items()}
                down = {k: x.copy() for k, x in P.items()}
                up[name][idx] += 1e-6
                down[name][idx] -= 1e-6
                g[idx] = (loss(up) - loss(down)) / 2e-6
            grads[name] = g
        P = {k: P[k] - 0.1 * grads[k] for k in P}
    assert np.asarray(v["a2_final"]) == pytest.approx(P["a2"], abs=1e-9)
    tex = (tmp_path / "b" / "toy" / "toy-key.tex").read_text()
    assert r"a_{2}^{\text{final}} &= " in tex
