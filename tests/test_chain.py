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
from hypothesis import given, settings
from hypothesis import strategies as st

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

def chain_check(problems, submitted, tolerance):
    """course.grading.check_answers against the chain ranges (answers.json's tolerance)."""
    from nnreport.course.grading import Rules, check_answers

    return check_answers({"problems": problems, "tolerance": tolerance or {}}, submitted,
                         Rules(1e-9, 0.0), {})



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
    assert r"\text{rounded chain: } {9.898}" in tex and "= 9.899" in tex
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


def test_l2_penalty_is_in_the_chain_loss(tmp_path):
    """The loss line is (1/m)(L_1 + L_2) + R with R printed: the chain adds it (it used to
    leave it out, so `check` refused the key's own loss)."""
    spec, ans = solve(tmp_path, NET.replace("    train: {lr: 0.5}",
                                            "    regularization: {l2: 0.1}\n    train: {lr: 0.5}"))
    X = np.array([[0.37, 1.21], [1.9, -0.44]])
    Y = np.array([[0.3], [0.9]])
    W1 = np.array([[0.113, -0.732], [0.518, 0.271]])
    W2 = np.array([[0.9], [-1.3]])
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    H1 = r4(sig(r4(X @ W1 + np.array([[0.05, -0.1]]))))
    yhat = r4(sig(r4(H1 @ W2 + 0.2)))
    ls = r4(((yhat - Y) ** 2).ravel())
    norms = r4((W1 ** 2).sum()) + r4((W2 ** 2).sum())     # 0.874458 -> 0.8745; 2.5
    R = r4(0.1 / (2 * 2) * norms)                          # 0.0843625 -> 0.08436
    assert ans["chain"]["n"]["loss"] == pytest.approx(float(r4(ls.mean() + R)), abs=1e-12)
    full = ans["problems"]["n"]["loss"]
    def loss_status(value: float) -> str:  # the other asked values are missing, not wrong
        (tmp_path / "a.yaml").write_text(json.dumps({"n": {"loss": value}}))
        r = subprocess.run([sys.executable, "-m", "nnreport", "check", str(spec),
                            str(tmp_path / "a.yaml"), "--json"], capture_output=True, text=True)
        return next(v["status"] for v in json.loads(r.stdout)["values"] if v["value"] == "loss")

    assert loss_status(full) == "right" and loss_status(float(r4(full))) == "right"
    assert loss_status(float(r4(ls.mean()))) == "WRONG"  # without R


def test_expression_chain_keeps_the_layout_of_its_values(tmp_path):
    """An expression problem's values are not transposed in the columns layout; neither are
    its chain values and ranges (they were, so a 2 x 2 result's range crossed its entries)."""
    spec, ans = solve(tmp_path, """title: cols
rounding: chain
layout: columns
problems:
  - id: e
    given: {A: [[1.23456, 2], [3, 4]]}
    compute: [{B: A * 3}]
""")
    # A prints as [[1.235, 2], [3, 4]] (4 digits): the chain is 3 x that
    assert ans["chain"]["e"]["B"] == [[3.705, 6.0], [9.0, 12.0]]
    assert ans["problems"]["e"]["B"][0][1] == 6.0
    assert check(spec, tmp_path, {"e": {"B": [[3.704, 6.0], [9.0, 12.0]]}}).returncode == 0
    assert check(spec, tmp_path, {"e": {"B": [[3.704, 9.0], [6.0, 12.0]]}}).returncode == 1


PATHS_NET = NET.replace("title: chain net", "title: chain net\ndigits: 3").replace(
    "W1: [[0.113, -0.732], [0.518, 0.271]]", "W1: [[0.1134, -0.7326], [0.5181, 0.2715]]")
STEPS = ["X", "W1", "b1", "W2", "b2", "Z1", "H1", "Z2", "yhat", "ls", "loss", "dyhat",
         "1-yhat", "dact2", "dZ2", "ps2", "dW2", "db2", "dH1", "1-H1", "dact1", "dZ1", "ps1",
         "dW1", "db1"]


def r3(x):
    def one(v):
        d = Decimal(repr(float(v)))
        if d == 0:
            return 0.0
        return float(d.quantize(Decimal(1).scaleb(d.adjusted() - 2), rounding=ROUND_HALF_UP))
    return np.vectorize(one, otypes=[float])(np.asarray(x, dtype=float))


def by_hand(carry: dict[str, bool]) -> dict[str, np.ndarray]:
    """PATHS_NET's worked step, each number (a given, a result, a printed intermediate) carried
    rounded to 3 digits where `carry` says so, else in full: the lines the key prints."""
    def R(name, v):
        return r3(v) if carry[name] else np.asarray(v, dtype=float)
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    X = R("X", [[0.37, 1.21], [1.9, -0.44]])
    Y = np.array([[0.3], [0.9]])
    W1 = R("W1", [[0.1134, -0.7326], [0.5181, 0.2715]])
    b1, W2, b2 = R("b1", [[0.05, -0.1]]), R("W2", [[0.9], [-1.3]]), R("b2", [[0.2]])
    out = {"Z1": R("Z1", X @ W1 + b1)}
    out["H1"] = R("H1", sig(out["Z1"]))
    out["Z2"] = R("Z2", out["H1"] @ W2 + b2)
    yhat = out["yhat"] = R("yhat", sig(out["Z2"]))
    out["loss_per_sample"] = R("ls", ((yhat - Y) ** 2).ravel())
    out["loss"] = R("loss", out["loss_per_sample"].mean())
    dact2 = R("dact2", yhat * R("1-yhat", 1 - yhat))
    dZ2 = out["dZ2"] = R("dZ2", R("dyhat", 2 * (yhat - Y)) * dact2)
    out["dW2_per_sample"] = R("ps2", np.einsum("mi,mo->mio", out["H1"], dZ2))
    out["dW2"] = R("dW2", out["dW2_per_sample"].sum(axis=0) / 2)
    out["db2"] = R("db2", dZ2.sum(axis=0, keepdims=True) / 2)
    dH1 = R("dH1", dZ2 @ W2.T)
    dZ1 = out["dZ1"] = R("dZ1", dH1 * R("dact1", out["H1"] * R("1-H1", 1 - out["H1"])))
    out["dW1_per_sample"] = R("ps1", np.einsum("mi,mo->mio", X, dZ1))
    out["dW1"] = R("dW1", out["dW1_per_sample"].sum(axis=0) / 2)
    out["db1"] = R("db1", dZ1.sum(axis=0, keepdims=True) / 2)
    for p, g in (("W1", out["dW1"]), ("b1", out["db1"]), ("W2", out["dW2"]), ("b2", out["db2"])):
        out[f"{p}_new"] = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}[p] - 0.5 * g
    return out


_PATHS_KEY: dict = {}


def paths_key() -> dict:
    if not _PATHS_KEY:
        from nnreport.build import answers_of
        from nnreport.engine.solve import solve as solve_doc
        from nnreport.spec import loads

        doc = loads(PATHS_NET)
        _PATHS_KEY.update(json.loads(json.dumps(answers_of(doc, solve_doc(doc)))))
    return _PATHS_KEY


@settings(max_examples=150, deadline=None)
@given(st.fixed_dictionaries({name: st.booleans() for name in STEPS}))
def test_any_rounding_path_is_accepted(carry):
    """A student may carry any number rounded or in full; whatever the mix, each value they
    get, rounded to the 3 digits shown, is inside its range (the given W1 has 4 digits, so
    even the givens are a choice). The path is computed here, not by nnreport."""
    key = paths_key()
    mine = {k: r3(v).tolist() for k, v in by_hand(carry).items()}
    bad = [(v.name, v.detail) for v in chain_check(key["problems"], {"n": mine}, key["tolerance"]) if not v.ok]
    assert not bad, bad


def test_all_paths_through_the_forward_pass_are_accepted():
    """All 2^10 choices for the forward pass and loss (givens, Z1, H1, Z2, yhat, ls), the rest
    in full: every one accepted, so the range holds the extremes, not just a sample."""
    from itertools import product

    key = paths_key()
    first = ["X", "W1", "b1", "W2", "b2", "Z1", "H1", "Z2", "yhat", "ls"]
    for picks in product([False, True], repeat=len(first)):
        carry = dict.fromkeys(STEPS, False) | dict(zip(first, picks, strict=True))
        v = by_hand(carry)
        mine = {k: r3(v[k]).tolist() for k in ("Z1", "H1", "Z2", "yhat", "loss_per_sample",
                                                "loss")}
        bad = [x.name for x in chain_check(key["problems"], {"n": mine}, key["tolerance"]) if not x.ok]
        assert not bad, (picks, bad)
