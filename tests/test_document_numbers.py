"""Every number a key prints is its JSON value correctly rounded, as a property over random
problems: hypothesis draws small networks (any layout, activation, loss, optimiser, digits,
values of mixed magnitudes) and expression problems, the key's .tex is rendered, every result
and every given matrix of every step is parsed back out of it (tests/texnumbers.py) and each
entry is compared with the JSON value (`solve --json`'s dict) by tests/test_number_properties.check."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import numpy as np
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from test_number_properties import check
from test_steps import top_level_split
from texnumbers import parse_matrix

from nnreport.build import answers_of
from nnreport.document.content import Eqs, Values
from nnreport.document.lines import rows
from nnreport.document.tex import problem_docs, render
from nnreport.engine.solve import solve
from nnreport.errors import ComputeError
from nnreport.spec import loads

ACTS = ["sigmoid", "tanh", "relu", "leaky_relu", "linear"]


@st.composite
def decimal_value(draw: st.DrawFn) -> str:
    """A number as a teacher writes it: a short decimal of any magnitude, sometimes tiny."""
    mant = draw(st.integers(-999, 999))
    exp = draw(st.sampled_from([-7, -5, -4, -3, -2, -1, -1, 0, 0, 0, 1, 2]))
    return format(Decimal(mant).scaleb(exp).normalize(), "f")


def matrix_yaml(draw: st.DrawFn, r: int, c: int) -> str:
    return "[" + ", ".join("[" + ", ".join(draw(decimal_value()) for _ in range(c)) + "]"
                           for _ in range(r)) + "]"


@st.composite
def network_spec(draw: st.DrawFn) -> str:
    m, n_in = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    hidden = draw(st.integers(1, 3))
    out_kind = draw(st.sampled_from(["bce", "cce", "mse"]))
    k = 1 if out_kind == "bce" else draw(st.integers(2, 3)) if out_kind == "cce" else draw(st.integers(1, 2))
    act_h = draw(st.sampled_from(ACTS))
    act_o = {"bce": "sigmoid", "cce": "softmax"}.get(out_kind) or draw(st.sampled_from(["linear", "sigmoid"]))
    if out_kind == "cce":
        Y = [[1 if j == draw(st.integers(0, k - 1)) else 0 for j in range(k)] for _ in range(m)]
        Y = [row if sum(row) else [1] + row[1:] for row in Y]
    elif out_kind == "bce":
        Y = [[draw(st.sampled_from([0, 1]))] for _ in range(m)]
    else:
        Y = [[float(draw(decimal_value())) for _ in range(k)] for _ in range(m)]
    layout = draw(st.sampled_from(["rows", "columns"]))
    X = matrix_yaml(draw, m, n_in)
    Yt = json.dumps(Y)
    if layout == "columns":  # the spec gives X and Y in the layout: transpose
        X = json.dumps(np.array(json.loads(X)).T.tolist())
        Yt = json.dumps(np.array(Y).T.tolist())
    opt = draw(st.sampled_from(["sgd", "momentum", "rmsprop", "adam"]))
    digits = draw(st.integers(2, 6))
    W1 = matrix_yaml(draw, n_in, hidden) if layout == "rows" else matrix_yaml(draw, hidden, n_in)
    W2 = matrix_yaml(draw, hidden, k) if layout == "rows" else matrix_yaml(draw, k, hidden)
    l2 = draw(st.sampled_from([0, 0, 0.1]))
    return f"""
title: T
digits: {digits}
layout: {layout}
problems:
  - id: p
    data: {{X: {X}, Y: {Yt}}}
    network:
      layers:
        - {{units: {hidden}, activation: {act_h}}}
        - {{units: {k}, activation: {act_o}}}
    params: {{W1: {W1}, W2: {W2}}}
    loss: {out_kind}
    regularization: {{l2: {l2}}}
    train: {{lr: {draw(st.sampled_from(["1", "0.5", "0.1", "0.01", "2.5"]))}, optimizer: {opt}}}
    figures: []
"""


@st.composite
def expression_spec(draw: st.DrawFn) -> str:
    r, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    A = matrix_yaml(draw, r, c)
    v = "[" + ", ".join(draw(decimal_value()) for _ in range(c)) + "]"
    s = draw(decimal_value())
    return f"""
title: T
digits: {draw(st.integers(2, 6))}
problems:
  - id: e
    given: {{A: {A}, v: {v}, s: {s}}}
    compute:
      - Av: A @ v
      - h: relu(A @ v + s)
      - t: sum(A, 0) * s
      - u: A - s * A
      - w: sigmoid(sum(v) * 0.5)
"""


def _json(doc) -> dict:
    return json.loads(json.dumps(answers_of(doc, solve(doc))))


def _compare(printed_tex: str, want, digits: int, what: str) -> int:
    m = parse_matrix(printed_tex)
    a = np.asarray(want, dtype=float)
    a2 = a.reshape(1, 1) if a.ndim == 0 else a.reshape(1, -1) if a.ndim == 1 else a
    if a.ndim == 1 and m.shape == (a.size, 1):
        a2 = a.reshape(-1, 1)  # a 1-D value shown as a column
    assert m.shape == a2.shape, (what, m.shape, a2.shape, printed_tex[:120])
    for (i, j), shown in m.cells.items():
        check(float(a2[i, j]), shown, digits)
    return len(m.cells)


def _sample_index(lhs: str) -> int:
    return int(re.search(r"L_\{(\d+)\}", lhs).group(1)) - 1  # type: ignore[union-attr]


def numbers_of_key(text: str) -> int:
    doc = loads(text)
    try:
        answers = _json(doc)
    except ComputeError:
        assume(False)
    values = answers["problems"]
    tex = render(doc, solve(doc), "key")
    count = 0
    for p in problem_docs(doc, solve(doc)):
        want = values[p.id]
        setup = next(s for s in doc.problems if s.id == p.id)
        for part in p.parts:
            for item in part.items:
                if isinstance(item, Values):  # the given values
                    for row in item.rows():
                        assert row in tex
                if not isinstance(item, Eqs):
                    continue
                for st_ in item.steps:
                    if st_.result is None or not st_.key or st_.key not in want:
                        continue
                    text_rows = rows(st_)
                    assert all(r in tex for r in text_rows)
                    joined = " ".join(re.sub(r"^&\\quad|^&", "", r.strip()) for r in text_rows)
                    joined = re.sub(r"\\tag\*\{.*\}$", "", joined)
                    result = top_level_split(joined)[-1]
                    value = want[st_.key]
                    if st_.key.endswith("_per_sample"):
                        value = value[_sample_index(st_.lhs)]
                    if st_.key == "loss_per_sample" and np.ndim(value) == 1 and "L_{" in st_.lhs:
                        value = value[_sample_index(st_.lhs)]
                    count += _compare(result, value, setup.digits_for.get(st_.key, setup.digits),
                                      st_.key)
    return count


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(network_spec())
def test_every_printed_number_of_a_network_key_is_its_json_value_rounded(text):
    n = numbers_of_key(text)
    event(f"numbers checked: {'<50' if n < 50 else '50-150' if n < 150 else '150+'}")
    assert n > 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expression_spec())
def test_every_printed_number_of_an_expression_key_is_its_json_value_rounded(text):
    assert numbers_of_key(text) > 0


def test_a_wrong_digit_is_caught():
    """The comparison fails when a printed entry is off in its last digit."""
    from texnumbers import parse_number

    try:
        check(0.123456, parse_number("0.1234"), 4)
    except AssertionError:
        return
    raise AssertionError("a wrongly rounded 0.123456 -> 0.1234 was accepted")
