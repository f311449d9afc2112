"""The course's own conventions (issue 23), one at a time: indexing in expressions (CS231n's
neuron is written with w[0], w[1], not split into scalars)."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import solve_json

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


MAZUR = """title: decimals
digits: {decimals: 4}
problems:
  - id: p
    data: {X: [[0.05, 0.10]], Y: [[0.01, 0.99]]}
    network:
      layers: [{units: 2, activation: sigmoid}, {units: 2, activation: sigmoid}]
    params: {W1: [[0.15, 0.25], [0.20, 0.30]], b1: [0.35, 0.35],
             W2: [[0.40, 0.50], [0.45, 0.55]], b2: [0.60, 0.60]}
    loss: mse
    train: {lr: 0.5}
    digits_for: {dZ2: {decimals: 6}}
"""


def test_decimal_places_print_a_published_example_as_published(tmp_path):
    """Matt Mazur's 'A Step by Step Backpropagation Example' (2-2-2 sigmoid, E = 1/2 sum of
    squares, lr 0.5): published net_h1 = 0.3775, out_h1 = 0.593269992, E_total = 0.298371109,
    w5+ = 0.35891648, w6+ = 0.408666186, w7+ = 0.511301270, w8+ = 0.561370121,
    w1+ = 0.149780716: at 4 decimal places in the key."""
    from nnreport.document.tex import render
    from nnreport.engine.solve import solve

    v, spec = solve_json(tmp_path, MAZUR)
    assert v["loss"] == pytest.approx(0.298371109, abs=5e-10)
    assert np.allclose(v["W2_new"], [[0.35891648, 0.511301270], [0.408666186, 0.561370121]],
                       rtol=0, atol=5e-9)
    doc = loads(MAZUR)
    tex = render(doc, solve(doc), "key")
    for published in ("0.3775", "0.5933", "0.2984", "0.3589", "0.4087", "0.5113", "0.5614",
                      "0.1498"):
        assert published in tex, published
    lines = tex.splitlines()
    k = next(i for i, x in enumerate(lines) if x.strip().startswith("dZ_{2} &="))
    assert re.search(r"0\.138499", lines[k] + lines[k + 1])  # digits_for: six places
    dw2 = next(x for x in lines if x.strip().startswith("dW_{2} &="))
    assert "0.138499" in dw2  # and so wherever dZ2 is substituted (0.138498562)


@pytest.mark.parametrize("x,want", [(-0.00865, "-0.0087"), (2.00005, "2.0001"),
                                    (3e-5, "0.0000"), (0.5, "0.5"), (1.0, "1"),
                                    (12.345678, "12.3457"), (-0.00004, "0.0000")])
def test_decimal_places_round_half_away_from_zero_on_the_decimal(x, want):
    """Ties on the shortest decimal, half away from zero, as by hand; a tiny value is
    0.0000 (a table to four places), an exact shorter value as it is."""
    from nnreport.engine.printed import Decimals
    from nnreport.render.numbers import fmt

    assert fmt(x, Decimals(4)) == want


def test_decimal_places_reach_check_and_the_lms(tmp_path):
    """A student writing every value to 4 places is right; the LMS range is one unit of the
    fourth place either side of each entry, whatever its size."""
    from nnreport.course.lms_numbers import unit
    from nnreport.engine.printed import Decimals

    v, spec = solve_json(tmp_path, MAZUR)
    four = {k: np.round(np.asarray(v[k]), 4).tolist() for k in ("Z1", "H1", "yhat", "W2_new")}
    (tmp_path / "a.yaml").write_text(json.dumps({"p": four}))
    r = subprocess.run([sys.executable, "-m", "nnreport", "check", str(spec),
                        str(tmp_path / "a.yaml"), "--json"], capture_output=True, text=True)
    got = {x["value"]: x["status"] for x in json.loads(r.stdout)["values"]}
    assert all(got[k] == "right" for k in four), got
    assert float(unit(123.456, Decimals(4))) == float(unit(0.001, Decimals(4))) == 1e-4


def test_epsilon_prints_as_given_at_decimal_places(tmp_path):
    """At four places, Adam's epsilon = 1e-8 prints as written (10^-8), not 0.0000 (its line
    would read m / (sqrt(v) + 0)), and the rounded chain carries it so: first step by hand,
    g = dW1 = 2 (0 - 4) = -8 (MSE on w x, x = 1, target 4), m = -0.8, v = 0.064,
    mhat = -8, vhat = 64, step = 0.1 * (-8) / (8 + 1e-8) = -0.1000 at four places."""
    spec = tmp_path / "e.yaml"
    spec.write_text("""title: e
problems:
  - id: e
    digits: {decimals: 4}
    rounding: chain
    data: {X: [[1]], Y: [[4]]}
    network:
      layers: [{units: 1, activation: linear, bias: false}]
    params: {W1: [[0]]}
    loss: mse
    train: {optimizer: adam, lr: 0.1, epochs: 1}
""")
    r = subprocess.run([sys.executable, "-m", "nnreport", "build", str(spec), "-o",
                        str(tmp_path / "o"), "--no-pdf", "--key"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    tex = (tmp_path / "o" / "e" / "e-key.tex").read_text()
    assert r"\sqrt{64} + 10^{-8}\right) = -0.1000" in tex
    assert r"+ 0.0000\right)" not in tex
    answers = json.loads((tmp_path / "o" / "e" / "answers.json").read_text())
    assert answers["chain"]["e"]["W1_step"][0][0] == pytest.approx(-0.1, abs=1e-12)
    assert answers["chain"]["e"]["W1_new"][0][0] == pytest.approx(0.1, abs=1e-12)
