"""Property tests: random valid specs always solve to finite numbers (or stop with a
divergence error); random corruptions of them end in nnreport's own located errors."""

from __future__ import annotations

import copy
import json

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from specpaths import spec_paths

from nnreport.engine.solve import solve
from nnreport.errors import ComputeError, NNReportError, SpecError
from nnreport.spec import loads

HIDDEN = ["sigmoid", "relu", "leaky_relu", "tanh", "linear"]
HEADS = [("sigmoid", "bce"), ("softmax", "cce"), ("linear", "mse"), ("tanh", "sse"), ("sigmoid", "mse")]
OPTS = ["sgd", "momentum", "adam", "rmsprop"]

small = st.floats(-3, 3, allow_nan=False, allow_infinity=False, width=32)


@st.composite
def valid_specs(draw):
    m = draw(st.integers(1, 5))
    n_in = draw(st.integers(1, 3))
    depth = draw(st.integers(0, 2))
    head, loss = draw(st.sampled_from(HEADS))
    n_out = draw(st.integers(2, 3)) if head == "softmax" else draw(st.integers(1, 2))
    layers = [{"units": draw(st.integers(1, 4)), "activation": draw(st.sampled_from(HIDDEN))}
              for _ in range(depth)] + [{"units": n_out, "activation": head}]
    X = [[draw(small) for _ in range(n_in)] for _ in range(m)]
    if loss == "cce":
        Y = [list(np.eye(n_out)[draw(st.integers(0, n_out - 1))]) for _ in range(m)]
    elif loss == "bce":
        Y = [[float(draw(st.integers(0, 1))) for _ in range(n_out)] for _ in range(m)]
    else:
        Y = [[draw(small) for _ in range(n_out)] for _ in range(m)]
    layout = draw(st.sampled_from(["rows", "columns"]))
    if layout == "columns":
        X = [list(r) for r in zip(*X, strict=True)]
        Y = [list(r) for r in zip(*Y, strict=True)]
    spec = {
        "title": "random",
        "layout": layout,
        "problems": [{
            "id": "p",
            "data": {"X": X, "Y": Y},
            "network": {"layers": layers, "init": {"seed": draw(st.integers(0, 99)),
                                                   "scale": draw(st.sampled_from([0.01, 0.5, 2.0]))}},
            "loss": {"name": loss, "reduction": draw(st.sampled_from(["mean", "sum"])),
                     **({"eps": 1e-8} if loss in ("bce", "cce") and draw(st.booleans()) else {})},
            "regularization": {"l2": draw(st.sampled_from([0.0, 0.1]))},
            "train": {"optimizer": draw(st.sampled_from(OPTS)), "lr": draw(st.sampled_from([0.01, 0.5, 5.0])),
                      "epochs": draw(st.integers(1, 5)), "batch_size": draw(st.integers(1, m))},
        }],
    }
    return spec


def _finite(v):
    if isinstance(v, list):
        return all(_finite(x) for x in v)
    return bool(np.all(np.isfinite(np.asarray(v, dtype=float))))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_specs())
def test_valid_specs_give_finite_numbers_or_a_divergence_error(spec):
    doc = loads(json.dumps(spec))  # JSON is YAML 1.2
    try:
        sol = solve(doc)["p"]
    except ComputeError as e:
        assert "diverged in epoch" in str(e) and "hint" in str(e)
        return
    for name, value in sol.values().items():
        assert _finite(value), name


JUNK = st.one_of(st.just("banana"), st.integers(-5, 0), st.just([]), st.just([[1, 2], [3]]),
                 st.just({"x": 1}), st.just(None), st.just(True), st.floats(allow_nan=True),
                 st.just("1e400"), st.just([["a"]]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_specs(), st.data())
def test_corrupted_specs_end_in_our_own_errors(spec, data):
    paths = [p for p in spec_paths(spec) if p]
    path = data.draw(st.sampled_from(paths))
    bad = copy.deepcopy(spec)
    parent = bad
    for k in path[:-1]:
        parent = parent[k]
    action = data.draw(st.sampled_from(["replace", "delete", "rename"]))
    if action == "replace" or isinstance(parent, list):
        parent[path[-1]] = data.draw(JUNK)
    elif action == "delete":
        del parent[path[-1]]
    else:
        parent[str(path[-1]) + "x"] = parent.pop(path[-1])
    try:
        text = json.dumps(bad, allow_nan=True).replace("NaN", ".nan").replace("Infinity", ".inf")
        doc = loads(text)
        solve(doc)
    except SpecError as e:
        assert e.issues and all(i.line is not None and i.col is not None for i in e.issues), str(e)
        assert "<string>" in str(e)
    except NNReportError:
        pass
