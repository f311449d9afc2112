"""The course's own conventions (issue 23), one at a time: indexing in expressions (CS231n's
neuron is written with w[0], w[1], not split into scalars)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from nnreport.errors import SpecError
from nnreport.spec import loads

INDEXED = """title: idx
problems:
  - id: e
    given: {w: [2, -3, -3], x: [-1, -2], M: [[1, 2, 3], [4, 5, 6]]}
    compute:
      - {z: "w[0] * x[0] + w[1] * x[1] + w[2]"}
      - {f: "sigmoid(z)"}
      - {col: "M[:, 2] * x"}
      - {row: "M[1] @ w"}
      - {one: "M[1, 0] - w[2]"}
"""


def solve_json(tmp_path, text):
    spec = tmp_path / "s.yaml"
    spec.write_text(text)
    r = subprocess.run([sys.executable, "-m", "nnreport", "solve", str(spec), "--json"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["problems"]["e"], spec


def test_cs231n_neuron_with_indexed_weights(tmp_path):
    """CS231n's example: w = [2, -3, -3], x = [-1, -2]; w0 x0 + w1 x1 + w2 = 1, and the
    neuron's output sigma(1) = 0.7311 (values computed here by hand)."""
    v, _ = solve_json(tmp_path, INDEXED)
    assert v["z"] == 2 * -1 + -3 * -2 + -3 == 1
    assert v["f"] == pytest.approx(1 / (1 + math.exp(-1)), rel=1e-12)
    assert v["col"] == [3 * -1, 6 * -2]
    assert v["row"] == 4 * 2 + 5 * -3 + 6 * -3
    assert v["one"] == 4 - -3


def test_indexed_names_are_written_as_they_are_typed(tmp_path):
    from nnreport.document.tex import render
    from nnreport.engine.solve import solve

    doc = loads(INDEXED)
    tex = render(doc, solve(doc), "key")
    line = next(x for x in tex.splitlines() if x.strip().startswith("z &="))
    assert r"w[0] \cdot x[0] + w[1] \cdot x[1] + w[2]" in line
    assert r"2 \cdot \left(-1\right) + \left(-3\right) \cdot \left(-2\right) + \left(-3\right)" \
        in line or "2 \\cdot \\left(-1\\right)" in line
    col = next(x for x in tex.splitlines() if x.strip().startswith(r"\mathrm{col} &="))
    assert r"M[:,\,2]" in col


@pytest.mark.parametrize("expr,fragment", [
    ("w[3]", "index 3 is past the 3 entries"), ("M[0, 0, 0]", "3 indices for a value"),
    ("w[x]", "an index is a whole number"), ("w[-1]", "an index is a whole number"),
    ("M[0:1]", "or : for a whole row"), ("w[0.5]", "an index is a whole number"),
    ("(w + w)[0]", "only a name can be indexed"), ("M[2]", "index 2 is past the 2 entries"),
])
def test_a_bad_index_is_a_located_spec_error(tmp_path, expr, fragment):
    spec = tmp_path / "s.yaml"
    spec.write_text(INDEXED.replace('{one: "M[1, 0] - w[2]"}', f'{{bad: "{expr}"}}'))
    r = subprocess.run([sys.executable, "-m", "nnreport", "validate", str(spec)],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert fragment in r.stderr and f"{spec}:" in r.stderr


def test_an_index_in_exact_arithmetic_stays_exact():
    """Exact inputs stay exact through an index (engine/exact.py): 1/3 of an entry prints
    as the decimal of the exact fraction, not float noise."""
    doc = loads("title: x\nproblems:\n  - id: e\n    given: {w: [0.1, 0.2]}\n"
                "    compute: [{s: 'w[0] + w[1]'}]\n")
    from nnreport.engine.solve import solve

    assert solve(doc)["e"].values()["s"] == pytest.approx(0.3, abs=1e-15)
    with pytest.raises(SpecError):
        loads("title: x\nproblems:\n  - id: e\n    given: {w: [1]}\n    compute: [{s: 'w[1]'}]\n")


EPS0 = """title: eps
problems:
  - id: e
    data: {X: [[1, 2], [0.5, -1]], Y: [[0.5], [0.25]]}
    network: {layers: [{units: 1, activation: linear}]}
    params: {W1: [[0.25], [-0.5]], b1: [B]}
    loss: mse
    train: {optimizer: {name: OPT, eps: 0}, lr: 0.1}
"""


@pytest.mark.parametrize("opt", ["adam", "rmsprop"])
def test_eps_zero_as_hand_examples_write_it(tmp_path, opt):
    """The first step with eps = 0, by hand: Adam's mhat = g and vhat = g^2, so each weight
    moves by lr sign(g); RMSprop's s = (1 - beta) g^2, so by lr sign(g) / sqrt(1 - beta)."""
    v, _ = solve_json(tmp_path, EPS0.replace("OPT", opt).replace("B", "0.125"))
    X = [[1, 2], [0.5, -1]]
    W = [0.25, -0.5]
    yhat = [sum(x * w for x, w in zip(row, W, strict=True)) + 0.125 for row in X]
    err = [yh - y for yh, y in zip(yhat, [0.5, 0.25], strict=True)]
    g = [sum(2 * e * row[j] for e, row in zip(err, X, strict=True)) / 2 for j in range(2)]  # mean of 2
    scale = 1.0 if opt == "adam" else 1 / math.sqrt(1 - 0.9)
    for j in range(2):
        want = W[j] - 0.1 * math.copysign(1, g[j]) * scale
        assert v["W1_new"][j][0] == pytest.approx(want, abs=1e-12)


def test_eps_zero_with_an_entry_without_gradient_is_a_clear_error(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(EPS0.replace("OPT", "adam").replace("B", "0.125").replace(
        "X: [[1, 2], [0.5, -1]]", "X: [[1, 0], [0.5, 0]]"))  # the second input is always 0
    r = subprocess.run([sys.executable, "-m", "nnreport", "solve", str(spec)],
                       capture_output=True, text=True)
    assert r.returncode == 5 and "Traceback" not in r.stderr
    assert "eps: 0 divides by zero in step 1" in r.stderr and "W1" in r.stderr
