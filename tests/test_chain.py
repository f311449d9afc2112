"""`rounding: chain`: the rounded-chain key computed by hand in the test (each intermediate
rounded half-up to 4 significant digits before use), both keys accepted by `check`, a value
one unit further off refused, the key showing the chain value where it prints differently."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest

EXPR = """title: chain
rounding: chain
problems:
  - id: e
    given: {a: 2}
    compute: [{b: sqrt(a)}, {c: b * 7}]
"""

NET = """title: chain net
rounding: chain
problems:
  - id: n
    data: {X: [[0.37, 1.21], [1.9, -0.44]], Y: [0.3, 0.9]}
    network:
      layers: [{units: 2, activation: sigmoid}, {units: 1, activation: sigmoid}]
    params: {W1: [[0.113, -0.732], [0.518, 0.271]], b1: [0.05, -0.1], W2: [[0.9], [-1.3]], b2: [0.2]}
    loss: mse
    train: {lr: 0.5}
"""


def r4(x):
    """Half-up to 4 significant digits on the decimal form: the test's own rounding."""
    def one(v):
        d = Decimal(repr(float(v)))
        if d == 0:
            return 0.0
        return float(d.quantize(Decimal(1).scaleb(d.adjusted() - 3), rounding=ROUND_HALF_UP))
    return np.vectorize(one, otypes=[float])(np.asarray(x, dtype=float))


def solve(tmp_path, text):
    spec = tmp_path / "c.yaml"
    spec.write_text(text)
    r = subprocess.run([sys.executable, "-m", "nnreport", "solve", str(spec), "--json"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return spec, json.loads(r.stdout)


def check(spec, tmp_path, values):
    ans = tmp_path / "a.yaml"
    ans.write_text(json.dumps(values))
    return subprocess.run([sys.executable, "-m", "nnreport", "check", str(spec), str(ans)],
                          capture_output=True, text=True)


def test_full_and_chain_differ_in_the_fourth_digit_and_both_pass(tmp_path):
    spec, ans = solve(tmp_path, EXPR)
    assert ans["problems"]["e"]["c"] == pytest.approx(7 * 2 ** 0.5)   # 9.89949...
    assert ans["chain"]["e"]["b"] == 1.414
    assert ans["chain"]["e"]["c"] == pytest.approx(9.898, abs=1e-12)   # 1.414 * 7
    for ok in (9.899, 9.898, 7 * 2 ** 0.5):  # b is asked too: every asked value counts
        assert check(spec, tmp_path, {"e": {"b": 1.414, "c": ok}}).returncode == 0, ok
    for bad in (9.897, 9.901):   # one unit past the chain value; two past the full one
        r = check(spec, tmp_path, {"e": {"b": 1.414, "c": bad}})
        assert r.returncode == 1 and "WRONG" in r.stdout, bad


def test_network_chain_by_hand(tmp_path):
    spec, ans = solve(tmp_path, NET)
    ch, full, tol = ans["chain"]["n"], ans["problems"]["n"], ans["tolerance"]["n"]
    X = np.array([[0.37, 1.21], [1.9, -0.44]])
    Y = np.array([[0.3], [0.9]])
    W1 = np.array([[0.113, -0.732], [0.518, 0.271]])
    b1 = np.array([[0.05, -0.1]])
    W2 = np.array([[0.9], [-1.3]])
    b2 = np.array([[0.2]])
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    Z1 = r4(X @ W1 + b1)
    H1 = r4(sig(Z1))
    Z2 = r4(H1 @ W2 + b2)
    yhat = r4(sig(Z2))
    ls = r4(((yhat - Y) ** 2).mean(axis=1))
    loss = r4(ls.mean())
    dyhat = r4(2 * (yhat - Y))
    dZ2 = r4(dyhat * r4(yhat * (1 - yhat)))
    dW2 = r4(r4(np.einsum("mi,mo->mio", H1, dZ2)).sum(axis=0) / 2)
    dH1 = r4(dZ2 @ W2.T)
    dZ1 = r4(dH1 * r4(H1 * (1 - H1)))
    dW1 = r4(r4(np.einsum("mi,mo->mio", X, dZ1)).sum(axis=0) / 2)
    W1_new = r4(W1 - r4(0.5 * dW1))
    for name, want in (("Z1", Z1), ("H1", H1), ("Z2", Z2), ("yhat", yhat), ("loss", loss),
                       ("dZ2", dZ2), ("dW2", dW2), ("dZ1", dZ1), ("dW1", dW1),
                       ("W1_new", W1_new)):
        assert np.allclose(ch[name], want, rtol=0, atol=1e-12), name
        # the accepted range holds both keys
        for key in (ch, full):
            assert np.all(np.array(tol[name]["low"]) <= np.array(key[name]))
            assert np.all(np.array(key[name]) <= np.array(tol[name]["high"]))


def test_the_key_shows_the_chain_value_where_it_prints_differently(tmp_path):
    from nnreport.build import BuildOptions, build

    spec = tmp_path / "c.yaml"
    spec.write_text(EXPR)
    build(spec, BuildOptions(output=tmp_path / "o", pdf=False, kinds=("key",)))
    tex = (tmp_path / "o" / "c" / "c-key.tex").read_text()
    assert r"\text{rounded chain: } 9.898" in tex and "= 9.899" in tex
    assert r"\textbf{Rounding.}" in tex


FOLLOW = """title: follow
problems:
  - id: n
    data: {X: [[1, 2], [0, -1]], Y: [1, 0]}
    network:
      layers: [{units: 2, activation: relu}, {units: 1, activation: sigmoid}]
    params: {W1: [[0.5, -0.25], [0.75, 0.5]], b1: [0, 0], W2: [[1], [-2]], b2: [0.5]}
    loss: bce
    ask: [Z1, H1, yhat]
    points: {Z1: 2, H1: 2, yhat: 2}
"""


def test_follow_through_credits_a_right_method_on_a_wrong_earlier_value(tmp_path):
    spec = tmp_path / "f.yaml"
    spec.write_text(FOLLOW)
    X = np.array([[1, 2], [0, -1]], float)
    W1 = np.array([[0.5, -0.25], [0.75, 0.5]])
    Z1 = X @ W1                          # [[2, 0.75], [-0.75, -0.5]]
    wrong_Z1 = Z1 + np.array([[0, 0], [1.5, 0]])   # a slip: -0.75 written as 0.75
    H1_mine = np.maximum(wrong_Z1, 0)    # right method on the wrong Z1
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    yhat_mine = sig(H1_mine @ np.array([[1], [-2]]) + 0.5)
    answers = {"n": {"Z1": wrong_Z1.tolist(), "H1": H1_mine.tolist(), "yhat": yhat_mine.tolist()}}
    (tmp_path / "a.yaml").write_text(json.dumps(answers))
    argv = [sys.executable, "-m", "nnreport", "check", str(spec), str(tmp_path / "a.yaml")]
    plain = subprocess.run(argv + ["--json"], capture_output=True, text=True)
    assert plain.returncode == 1
    assert [v["status"] for v in json.loads(plain.stdout)["values"]] == ["WRONG"] * 3
    r = subprocess.run(argv + ["--follow-through", "--json"], capture_output=True, text=True)
    out = json.loads(r.stdout)
    assert r.returncode == 1
    assert [(v["value"], v["status"], v["points"]) for v in out["values"]] == [
        ("Z1", "WRONG", 0), ("H1", "follows", 1.0), ("yhat", "follows", 1.0)]
    assert out["points"] == 2 and out["of"] == 6
    # gaming: an all-zero Z1 carries nothing, so H1 = 0 earns no follow-through credit
    answers = {"n": {"Z1": [[0, 0], [0, 0]], "H1": [[0, 0], [0, 0]]}}
    (tmp_path / "a.yaml").write_text(json.dumps(answers))
    r = subprocess.run(argv + ["--follow-through", "--json"], capture_output=True, text=True)
    assert [v["status"] for v in json.loads(r.stdout)["values"]] == ["WRONG", "WRONG", "missing"]


def test_a_class_folder_is_marked_into_a_grades_csv(tmp_path):
    import csv

    spec = tmp_path / "f.yaml"
    spec.write_text(FOLLOW)
    X = np.array([[1, 2], [0, -1]], float)
    Z1 = X @ np.array([[0.5, -0.25], [0.75, 0.5]])
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "v01.yaml").write_text(json.dumps({"n": {"Z1": Z1.tolist()}}))
    (subs / "v02.yaml").write_text(json.dumps({"n": {"Z1": (Z1 + 1).tolist()}}))
    (subs / "notes.txt").write_text("ignored")
    r = subprocess.run([sys.executable, "-m", "nnreport", "check", str(spec), str(subs),
                        "--grades", str(tmp_path / "g.csv")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader((tmp_path / "g.csv").open()))
    got = {(x["version"], x["value"]): (x["status"], float(x["points"])) for x in rows}
    assert got[("v01", "Z1")] == ("right", 2.0) and got[("v02", "Z1")] == ("WRONG", 0.0)
    assert got[("v01", "total")][1] == 2.0 and got[("v02", "total")][1] == 0.0
    # H1 and yhat were not handed in: missing, 0 of their points; totals out of the exam's 6
    assert got[("v01", "H1")] == ("missing", 0.0) and got[("v01", "yhat")] == ("missing", 0.0)
    assert {float(x["of"]) for x in rows if x["value"] == "total"} == {6.0}
    # the same class as a CSV laid out as answers.csv
    with (tmp_path / "class.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["version", "problem", "value", "index", "number"])
        for (i, j), v in np.ndenumerate(Z1):
            w.writerow(["v01", "n", "Z1", f"[{i}][{j}]", v])
    r = subprocess.run([sys.executable, "-m", "nnreport", "check", str(spec),
                        str(tmp_path / "class.csv")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader((tmp_path / "grades.csv").open()))
    assert [(x["version"], x["value"], x["status"]) for x in rows][0] == ("v01", "Z1", "right")


def test_the_readme_follow_through_example_runs_as_shown():
    from conftest import ROOT

    r = subprocess.run([sys.executable, "-m", "nnreport", "check", "problems/exam2.yaml",
                        "examples/exam2-wrong-z1.yaml", "--follow-through", "--problem", "p2"],
                       cwd=ROOT,
                       capture_output=True, text=True)
    readme = (ROOT / "README.md").read_text()
    assert r.returncode == 1
    for line in r.stdout.strip().splitlines():
        assert line in readme, line
    assert "follows p2.H1" in r.stdout and "3 of 20 points" in r.stdout
