"""Inputs that used to end in a Python traceback (spec and engine side), each now a located
error or a working spec; and a property test: whatever a spec mapping holds, loading and
solving it raise nothing but nnreport's own errors."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from specpaths import spec_paths

from nnreport.budgets import Budgets
from nnreport.engine.solve import solve
from nnreport.errors import NNReportError, SpecError
from nnreport.spec import load, loads

HEAD = "title: t\nproblems:\n  - id: p\n"
EXPR = HEAD + "    given: {a: GIVEN}\n    compute: [{b: 'STEP'}]\n"
NETWORK = HEAD + ("    data: DATA\n    network: {layers: [{units: 1}]}\n    loss: bce\n"
                  "    train: {epochs: 2}\n")


def expr(given: str = "[1, 2]", step: str = "a") -> str:
    return EXPR.replace("GIVEN", given).replace("STEP", step)


def net(data: str) -> str:
    return NETWORK.replace("DATA", data)


# (spec text, where: (line, column) or (line, token) for the column where token first occurs
# on that line, fragment of the message)
REFUSED = [
    # YAML: tags on lists and mappings, Python object tags
    (expr("!foo [1]"), (4, "!foo"), "YAML tags are not allowed"),
    (expr("!foo {x: 1}"), (4, "!foo"), "YAML tags are not allowed"),
    (expr("!!python/object:os.system [ls]"), (4, "!!"), "YAML tags are not allowed"),
    # numbers: 5000 digits anywhere a number goes, 1e400, NaN
    (expr("9" * 5000), (4, "9999"), "a number with 5000 digits"),
    ("digits: " + "9" * 5000 + "\n" + expr(), (1, "9999"), "a number with 5000 digits"),
    (net("{X: [[1]], Y: [1]}").replace("epochs: 2", "epochs: " + "9" * 5000), (7, "9999"),
     "a number with 5000 digits"),
    (expr("1e400"), (4, "1e400"), "not a valid value"),
    (expr(".nan"), (4, ".nan"), "not a valid value"),
    (net("{X: [[1]], Y: [1]}").replace("epochs: 2", "lr: 1e400"), (7, "1e400"), "finite number"),
    (net("{X: [[1e400]], Y: [1]}"), (4, "1e400"), "finite number"),
    (expr("[1, 2]", "sum(a, 1e400)"), (5, "1e400"), "a number this large is not allowed"),
    (expr("[1, 2]", "a * " + "9" * 400), (5, "9999"), "a number this large is not allowed"),
    (expr("[1, 2]", "sum(a, 0.5)"), (5, "sum"), "the axis must be a whole number"),
    # random values: non-finite or huge bounds, huge shapes
    (expr("{random: uniform, low: 0, high: .inf}"), (4, ".inf"), "finite number"),
    (expr("{random: integers, low: .nan, high: 3}"), (4, ".nan"), "finite number"),
    (expr("{random: uniform, low: -1e308, high: 1e308}"), (4, "{random"), "too wide to draw from"),
    (expr("{random: integers, low: -1e300, high: 1e300}"), (4, "{random"), "between -2**53 and 2**53"),
    (expr("{random: integers, low: 0.2, high: 0.8}"), (4, "{random"), "no whole number"),
    (expr("{random: integers, low: 0, high: 3, shape: [10000, 10000, 10000]}"), (4, "{random"),
     "--budget yaml_nodes="),
    # a constraint mapping with two keys, or a value that is not a number
    (net("{X: [[1]], Y: [1]}") + "    constraints: [{no_saturation: 4, no_dead_relu: 0}]\n",
     (8, "["), "one 'name: value' pair, not 2"),
    (net("{X: [[1]], Y: [1]}") + "    constraints: [{no_saturation: .nan}]\n", (8, "["),
     "not a finite number"),
    # scikit-learn parameters, checked before scikit-learn sees them
    (net("{generate: circles, factor: 2}"), (4, "2}"), "factor 2: the inner circle's radius"),
    (net("{generate: circles, factor: -1}"), (4, "-1"), "factor -1"),
    (net("{generate: classification, n_classes: 1000}"), (4, "1000"),
     "makes at most 4 classes from 2 features, not 1000"),
    (net("{generate: classification, n_features: 1, n_classes: 3}"), (4, "3}"),
     "at most 2 classes from 1 feature, not 3"),
    (net("{generate: moons, noise: .inf}"), (4, ".inf"), "finite number"),
    (net("{generate: moons, target: y}"), (4, "{generate"), "choose columns of a csv"),
    # expressions: arguments the functions do not take, empty reductions, three dimensions
    (expr("[1, 2]", "softmax(a, 1)"), (5, "softmax"), "softmax() takes one argument"),
    (expr("[1, 2]", "sqrt(a, a)"), (5, "sqrt"), "sqrt() takes one argument"),
    (expr("[1, 2]", "transpose(a, 1)"), (5, "transpose"), "transpose() takes one argument"),
    (expr("[]", "max(a)"), (5, "max"), "max() of an empty value"),
    (expr("[[1, 2]]", "[[a, a]]"), (5, "[a,"), "[a, a] would have 3 dimensions"),
    # wrong types where a list goes
    (expr() + "    show: 5\n", (6, "5"), "valid list"),
    (expr() + "    figures: {a: 1}\n", (6, "{a"), "valid list"),
    # nesting: the top mapping is level 1, so the 64th bracket (column 11 + 63) is level 65
    ("title: t\nproblems: " + "[" * 5000 + "]" * 5000 + "\n", (2, 74), "nested deeper than 64"),
]


@pytest.mark.parametrize("text,where,fragment", REFUSED, ids=[f"r{i}" for i in range(len(REFUSED))])
def test_former_tracebacks_are_located_errors(write_spec, text, where, fragment):
    path = write_spec(text)
    with pytest.raises(SpecError) as err:
        load(path)
    msg = str(err.value)
    assert fragment in msg, msg
    line, token = where
    col = token if isinstance(token, int) else text.splitlines()[line - 1].index(token) + 1
    assert f"{path}:{line}:{col}:" in msg, msg


def test_yaml_merge_keys_work_and_keep_positions(write_spec):
    path = write_spec("title: t\nproblems:\n  - &base\n    id: p\n    given: {a: [1, 2]}\n"
                      "    compute: [{b: a * 2}]\n  - <<: *base\n    id: q\n    oops: 1\n")
    with pytest.raises(SpecError) as err:
        load(path)
    assert f"{path}:9:5: unknown key 'oops'" in str(err.value)
    doc = load(write_spec("title: t\nproblems:\n  - &base\n    id: p\n    given: {a: [1, 2]}\n"
                          "    compute: [{b: a * 2}]\n  - <<: *base\n    id: q\n"))
    assert [p.id for p in doc.problems] == ["p", "q"]
    assert solve(doc)["q"].values()["b"].tolist() == [2.0, 4.0]


def test_a_lone_surrogate_is_a_located_error():
    with pytest.raises(SpecError, match=r"<string>:2:16: the text holds a lone surrogate"):
        loads("title: t\ninstructions: x\ud800\nproblems: []\n")


# --- CSV files: encoding, field size, header -----------------------------------------------

CSV_SPEC = HEAD + "    data: {csv: d.csv, CHOICE}\n    network: {layers: [{units: 1}]}\n    loss: bce\n"


@pytest.mark.parametrize("content,choice,fragment", [
    ("x,y\n1,0\n2,\xe9\n".encode("latin-1"), "target: y", "is not UTF-8 text (byte 0xe9"),
    (b"x,y\n1,0\n2," + b"9" * 200_000 + b"\n", "target: y", "line 3: field larger than field limit"),
    (b"x,y\n1,0\n", "features: [z]", "feature column 'z' is not in the csv header"),
    (b"x,x,y\n1,2,0\n", "target: y", "column 'x' appears twice"),
    (b"x,,y\n1,2,0\n", "target: y", "must name every column"),
    (b"\n1,0\n", "target: y", "must name every column"),
    (b"", "target: y", "must name every column"),
    (b"x,y\n1,0\n2\n", "target: y", "line 3: 1 fields, but the header names 2"),
    (b"x,y\n1,0\n", "target: [], features: [x]", "target: names no column"),
    (b"x,y\n1,0\n", "target: y, features: []", "no feature columns"),
])
def test_csv_problems_are_located_errors(tmp_path, content, choice, fragment):
    (tmp_path / "d.csv").write_bytes(content)
    spec = tmp_path / "s.yaml"
    spec.write_text(CSV_SPEC.replace("CHOICE", choice))
    with pytest.raises(SpecError) as err:
        load(spec)
    assert fragment in str(err.value) and f"{spec}:4:" in str(err.value), str(err.value)


# --- output: strict JSON and huge data in plots ----------------------------------------------

def _strict(text: str):
    def refuse(token: str):
        raise AssertionError(f"non-standard JSON token {token}")
    return json.loads(text, parse_constant=refuse)


def test_solve_json_is_strict_and_writes_non_finite_numbers_as_null(write_spec):
    path = write_spec(expr("[0, 1]", "log(a)") + "    \n")
    path.write_text(path.read_text().replace("compute: [{b: 'log(a)'}]",
                                             "compute: [{b: 'log(a)'}, {c: '1 / a'}, {d: 'sqrt(a - 1)'}]"))
    r = subprocess.run([sys.executable, "-m", "nnreport", "solve", str(path), "--json"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    values = _strict(r.stdout)["problems"]["p"]
    # log 0 = -inf, log 1 = 0; 1/0 = inf; sqrt(-1) = NaN, sqrt(0) = 0
    assert values == {"b": [None, 0.0], "c": [None, 1.0], "d": [None, 0.0]}


def test_data_of_1e308_is_plotted_without_overflow(tmp_path):
    spec = tmp_path / "big.yaml"
    spec.write_text(net("{X: [[1e308, 1], [-1e308, 2], [0, 0]], Y: [1, 0, 1]}")
                    .replace("{units: 1}", "{units: 1, activation: sigmoid}")
                    + "    figures: [data, decision_boundary]\n")
    r = subprocess.run([sys.executable, "-m", "nnreport", "build", str(spec), "--no-pdf", "-o",
                        str(tmp_path / "out")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    figures = sorted(p.name.split("-")[0] for p in (tmp_path / "out/big/figures").glob("*.pdf"))
    assert figures == ["boundary", "data"]
    answers = _strict((tmp_path / "out/big/answers.json").read_text())
    assert answers["problems"]["p"]["Z1"] is not None


def test_the_decision_boundary_is_predicted_in_bounded_chunks(monkeypatch, tmp_path):
    from nnreport.document import figures
    from nnreport.engine.network import forward

    sizes: list[int] = []

    def counting(net, params, X):
        sizes.append(X.shape[0])
        return forward(net, params, X)

    monkeypatch.setattr(figures, "forward", counting)
    doc = loads(HEAD + "    data: {generate: moons, n_samples: 50, seed: 0}\n"
                "    network: {layers: [{units: 2000, activation: tanh}, {units: 1, activation: sigmoid}]}\n"
                "    loss: bce\n    train: {epochs: 2}\n    figures: [decision_boundary]\n")
    figures.make_figures(doc, solve(doc), tmp_path)
    assert sum(sizes) == 2 * 160 * 160  # the whole grid, before and after training
    assert max(sizes) * 2000 <= figures.CHUNK_ENTRIES


# --- property: nothing but our own errors ---------------------------------------------------

SMALL = Budgets(yaml_nodes=20_000, data_entries=50_000, train_work=2e7, train_steps=2_000,
                compute_entries=50_000, compute_flops=2e7, answer_entries=200_000,
                variant_work=1e9)

BASES = [
    {"title": "t", "problems": [{"id": "p", "data": {"X": [[1, 2], [3, 4], [5, 6]], "Y": [0, 1, 1]},
                                 "network": {"layers": [{"units": 3, "activation": "relu"},
                                                        {"units": 1, "activation": "sigmoid"}],
                                             "init": {"seed": 1}},
                                 "params": {"W1": {"fill": 0.5}, "b2": [0.1]},
                                 "loss": {"name": "bce"}, "train": {"epochs": 3, "lr": 0.5,
                                                                    "batch_size": 2},
                                 "constraints": [{"no_saturation": 4}, "no_dead_relu"]}]},
    {"title": "t", "problems": [{"id": "p", "data": {"generate": "blobs", "n_samples": 30,
                                                     "n_features": 2, "n_classes": 3, "seed": 0},
                                 "network": {"layers": [{"units": 3, "activation": "softmax"}]},
                                 "loss": "cce", "train": {"optimizer": {"name": "adam"},
                                                          "epochs": 2}}]},
    {"title": "t", "problems": [{"id": "p", "data": {"generate": "circles", "n_samples": 20,
                                                     "factor": 0.5, "noise": 0.1},
                                 "network": {"layers": [{"units": 1, "activation": "sigmoid"}]},
                                 "loss": "mse"}]},
    {"title": "t", "max_tries": 5,
     "problems": [{"id": "p", "given": {"X": [[1, 2], [3, 4]], "W": {"fill": 1, "shape": [2, 3]},
                                        "r": {"random": "uniform", "low": -1, "high": 1,
                                              "shape": [2]}},
                   "compute": [{"Z": "X @ W"}, {"H": "sigmoid(Z) * 2"}, {"s": "sum(H, 0)"},
                               {"o": "outer(r, s)"}, {"m": "max(o.T, 1) - mean(o)"}]}]},
]

NUMBERS = st.one_of(st.integers(-(10**30), 10**30), st.sampled_from([0, -1, 1, 2**63, 10**99]),
                    st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from([1e308, -1e308, 5e-324, 1e-300]))
LEAVES = st.one_of(NUMBERS, st.text(max_size=12), st.booleans(), st.none(),
                   st.sampled_from(["", " ", "sigmoid", "relu", "softmax", "mse", "cce", "adam",
                                    "moons", "iris", "csv", "random", "X @ W", "sum(X, 1)",
                                    "outer(X, X)", "X ** 100", "log(0)", "no_saturation"]))
JUNK = st.recursive(LEAVES, lambda kids: st.one_of(
    st.lists(kids, max_size=4), st.dictionaries(st.sampled_from(
        ["random", "low", "high", "from", "shape", "fill", "units", "name", "x", "seed"]),
        kids, max_size=3)), max_leaves=12)


def _yaml(obj) -> str:
    text = json.dumps(obj, allow_nan=True)  # JSON is YAML 1.2, but for these three tokens
    return text.replace("-Infinity", "-.inf").replace("Infinity", ".inf").replace("NaN", ".nan")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(range(len(BASES))), st.data())
def test_any_spec_mapping_ends_in_our_own_errors(base, data):
    spec = copy.deepcopy(BASES[base])
    for _ in range(data.draw(st.integers(1, 3))):
        paths = [p for p in spec_paths(spec) if p]
        path = data.draw(st.sampled_from(paths))
        parent = spec
        for k in path[:-1]:
            parent = parent[k]
        if isinstance(parent, dict) and data.draw(st.booleans()):
            parent[data.draw(st.sampled_from(["units", "epochs", "shape", "n_samples", "layout",
                                              "digits", "figures", "show", "one_hot", "target"]))] = \
                data.draw(JUNK)
        else:
            parent[path[-1]] = data.draw(JUNK)
    try:
        doc = loads(_yaml(spec), budgets=SMALL)
        sols = solve(doc)
        for s in sols.values():
            for v in s.values().values():
                np.asarray(v, dtype=float) if not isinstance(v, list) else None
    except NNReportError as e:
        if isinstance(e, SpecError):
            assert e.issues and all(i.file == "<string>" for i in e.issues)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=0, max_size=4), st.integers(1, 40), st.data())
def test_streamed_json_equals_json_dumps_of_the_lists(shape, chunk, data):
    import io

    from nnreport import jsonout
    from nnreport.engine.solve import to_jsonable

    n = int(np.prod(shape)) if shape else 1
    values = data.draw(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=n,
                                max_size=n))
    a = np.array(values, dtype=float).reshape(shape)
    obj = {"a": a, "stack": [a, a + 1], "mixed": [1.5, float("inf"), "x", None, True]}
    old, jsonout.CHUNK = jsonout.CHUNK, chunk
    try:
        out = io.StringIO()
        jsonout.write_json(obj, out)
    finally:
        jsonout.CHUNK = old
    expected = {k: to_jsonable(v) for k, v in obj.items()}
    assert _strict(out.getvalue()) == json.loads(json.dumps(expected, allow_nan=False))


def test_exact_values_past_the_float_range_are_infinite_not_a_crash(write_spec):
    # found by the fuzz test above: a fill of 2.6e307 summed exactly overflows float()
    from nnreport.engine.solve import solve

    doc = load(write_spec("title: t\nproblems:\n  - id: p\n    given: {W: {fill: 1e308, "
                          "shape: [3, 1]}}\n    compute: [{s: sum(W)}]\n"))
    assert np.isinf(solve(doc)["p"].results["s"]).all()
