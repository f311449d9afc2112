"""`delta: error` (issue 23): the key shows the error signal delta_l = -dL/dZ_l, as texts
that write w_ij += eta delta_j o_i do, and SGD's update with it. Expected numbers are
worked out here by hand in plain Python (loops over samples and units, no NumPy), then
compared with the JSON and with the numbers the key prints (tests/keycheck.py)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from keycheck import check_key, problems_of
from ruamel.yaml import YAML

SPEC = """title: Delta
problems:
  - id: d
    data:
      X: [[1, 0], [0.5, -1]]
      Y: [[1], [0]]
    network:
      layers:
        - {units: 2, activation: sigmoid}
        - {units: 1, activation: linear}
    params:
      W1: [[0.2, -0.4], [0.6, 0.1]]
      b1: [0.1, -0.2]
      W2: [[0.5], [-0.3]]
      b2: [0.05]
    loss: {name: sse, factor: 0.5}
    train: {optimizer: sgd, lr: 0.5, epochs: 1}
    delta: error
"""


def by_hand() -> dict[str, object]:
    sig = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    X, Y = [[1, 0], [0.5, -1]], [1, 0]
    W1, b1 = [[0.2, -0.4], [0.6, 0.1]], [0.1, -0.2]
    W2, b2 = [0.5, -0.3], 0.05
    eta, m = 0.5, 2
    d2, d1, H = [], [], []
    for x, y in zip(X, Y, strict=True):
        h = [sig(x[0] * W1[0][j] + x[1] * W1[1][j] + b1[j]) for j in range(2)]
        out = h[0] * W2[0] + h[1] * W2[1] + b2
        e = y - out                                   # delta of the linear output: -dE/dnet
        d2.append(e)
        d1.append([h[j] * (1 - h[j]) * e * W2[j] for j in range(2)])
        H.append(h)
    W2n = [W2[j] + eta / m * sum(H[i][j] * d2[i] for i in range(m)) for j in range(2)]
    b2n = b2 + eta / m * sum(d2)
    W1n = [[W1[k][j] + eta / m * sum(X[i][k] * d1[i][j] for i in range(m)) for j in range(2)]
           for k in range(2)]
    b1n = [b1[j] + eta / m * sum(d1[i][j] for i in range(m)) for j in range(2)]
    return {"delta2": [[v] for v in d2], "delta1": d1, "W2_new": [[v] for v in W2n],
            "b2_new": [[b2n]], "W1_new": W1n, "b1_new": [b1n]}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nnreport", *args], capture_output=True,
                          text=True)


def test_error_signals_and_update_by_hand(tmp_path):
    spec = tmp_path / "d.yaml"
    spec.write_text(SPEC)
    r = run("build", str(spec), "--no-pdf", "--format", "pdf", "--format", "html",
            "-o", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    folder = tmp_path / "o" / "d"
    answers = json.loads((folder / "answers.json").read_text())
    v = answers["problems"]["d"]
    for name, want in by_hand().items():
        assert np.allclose(v[name], want, rtol=1e-12, atol=1e-15), name
    assert np.array_equal(v["delta2"], -np.asarray(v["dZ2"]))
    tex = (folder / "d-key.tex").read_text()
    assert check_key(tex, YAML(typ="safe").load(SPEC), answers) > 20
    part = problems_of(tex)["d"]
    assert r"\delta_{2} &= -dZ_{2} = " in part and r"\delta_{1} &= -dZ_{1} = " in part
    assert r"W_{2}^{\text{new}} &= W_{2} + \eta\, \frac{1}{2} H_{1}^{T} \delta_{2} = " in part
    assert r"b_{1}^{\text{new}} &= b_{1} + \eta\, \frac{1}{2} \sum_{i} \delta^{(i)}_{1} = " in part
    q = (folder / "d-questions.tex").read_text()
    assert r"\delta_{2}" in q
    html = "".join(p.read_text() for p in (tmp_path / "o").rglob("*.html"))
    assert r"\delta_{1}" in html
    # check grades delta by its JSON name; the script computes the same training
    sub = tmp_path / "s.yaml"
    sub.write_text(json.dumps({"d": {"delta1": v["delta1"], "delta2": [[0.0], [0.0]]}}))
    out = json.loads(run("check", str(spec), str(sub), "--json").stdout)
    status = {x["value"]: x["status"] for x in out["values"]}
    assert status["delta1"] == "right" and status["delta2"] == "WRONG"
    code = run("code", str(spec))
    assert code.returncode == 0, code.stderr
    ran = subprocess.run([sys.executable, "-c", code.stdout], capture_output=True, text=True)
    final = float(next(x for x in ran.stdout.splitlines() if x.startswith("final")).split()[-1])
    assert final == pytest.approx(v["loss_final"], abs=1e-12)


def test_negnevitsky_error_gradients_with_thresholds(tmp_path):
    """The XOR step of tests/test_thresholds.py in the book's own terms: the published error
    gradients delta5 = -0.1274, delta3 = 0.0381, delta4 = -0.0147 (4 decimals)."""
    from test_thresholds import SPEC as XOR

    spec = tmp_path / "x.yaml"
    spec.write_text(XOR.replace("    loss:", "    delta: error\n    loss:"))
    r = run("solve", str(spec), "--json")
    assert r.returncode == 0, r.stderr
    v = json.loads(r.stdout)["problems"]["xor"]
    assert round(v["delta2"][0][0], 4) == -0.1274
    assert [round(x, 4) for x in v["delta1"][0]] == [0.0381, -0.0147]


def test_a_bad_delta_is_a_located_error(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text(SPEC.replace("delta: error", "delta: errors"))
    r = run("validate", str(spec))
    assert r.returncode != 0 and "bad.yaml:" in r.stderr and "delta" in r.stderr, r.stderr


TEXTBOOK = """title: Negnevitsky's XOR network in the textbook's conventions
digits: {decimals: 4}
problems:
  - id: xor
    data: {X: [[1, 1], [0, 1]], Y: [[0], [1]]}
    network:
      layers:
        - {units: 2, activation: sigmoid, bias: threshold}
        - {units: 1, activation: sigmoid, bias: threshold}
    params:
      W1: [[0.5, 0.9], [0.4, 1.0]]
      W2: [[-1.2], [1.1]]
      theta1: [0.8, -0.1]
      theta2: [0.3]
    loss: {name: sse, factor: 0.5}
    delta: error
    symbols: {Z: net, H: y, dZ: Err, W: w}
    train: {optimizer: sgd, lr: 0.1, epochs: 2, batch_size: 1}
    worked_steps: 2
"""


def test_a_textbook_example_in_its_own_conventions(tmp_path):
    # issue 23's "done means": thresholds, error signals, 4 decimal places, the course's
    # letters and two worked steps together. The first step's numbers are Negnevitsky's
    # published ones (Artificial Intelligence, 3rd ed., the XOR back-propagation example):
    # y5 = 0.5097, delta5 = -0.1274, delta3 = 0.0381, delta4 = -0.0147, w13 = 0.5038,
    # w14 = 0.8985, w23 = 0.4038, w24 = 0.9985, w35 = -1.2067, w45 = 1.0888,
    # theta3 = 0.7962, theta4 = -0.0985, theta5 = 0.3127
    spec = tmp_path / "neg.yaml"
    spec.write_text(TEXTBOOK)
    r = run("build", str(spec), "-o", str(tmp_path / "out"), "--key")
    assert r.returncode == 0, r.stderr
    tex = (tmp_path / "out" / "neg" / "neg-key.tex").read_text()
    first = tex[:tex.index("Step 2")]
    for published in ["0.5097", "-0.1274", "0.0381", "-0.0147", "0.5038", "0.8985", "0.4038",
                      "0.9985", "-1.2067", "1.0888", "0.7962", "-0.0985", "0.3127"]:
        assert published in first, published
    assert r"\mathrm{net}" in first and r"\mathrm{Err}" in first and r"\delta_{2}" in first
    assert r"\theta_{1}" in first and "Z_{1}" not in first and "dZ_{2}" not in first
    assert r"\frac{1}{1}" not in tex and r"\sum_{i=1}^{1}" not in tex  # batches of one
    answers = json.loads((tmp_path / "out" / "neg" / "answers.json").read_text())
    assert len(answers["problems"]["xor"]["steps"]) == 2
