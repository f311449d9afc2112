"""A layer type is one unit (issue 24): the toy scaling layer of tests/toylayer.py, added by
one engine module and one worked module, is built into a key through the public API; its
worked lines are in the key and its gradients equal finite differences computed here."""

from __future__ import annotations

import json

import numpy as np
import pytest
import toylayer  # noqa: F401  (registers the scaling layer)

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
    assert np.asarray(v["a2_new"]) == pytest.approx(P0["a2"] - 0.1 * np.asarray(v["da2"]))


def test_the_key_shows_the_layers_worked_lines(built):
    _, folder = built
    tex = (folder / "toy-key.tex").read_text()
    answers = json.loads((folder / "answers.json").read_text())["problems"]["toy"]
    assert "da2" in answers and "Z2" in answers
    assert r"Z_{2} &= H_{1} \odot a_{2} = " in tex
    assert r"da_{2} &= \frac{1}{2} \mathbf{1}^{T} \left(H_{1} \odot dZ_{2}\right) = " in tex
    assert r"dH_{1} &= dZ_{2} \odot a_{2} = " in tex
    assert "W_{2}" not in tex


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
