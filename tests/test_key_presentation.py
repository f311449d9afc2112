"""The key's presentation bugs of issue 21.2, each on the .tex the user gets: a root around a
call, |min(M)|, outer(v, K w), two numbers side by side, a renaming step, float noise on
exact values, a name written one way in the formula and another in the question, a long
title in the points table. Expected numbers are worked out by hand in each test."""

from __future__ import annotations

import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from texnumbers import parse_matrix, parse_number

from nnreport.compile import tex_available
from nnreport.document.tex import render
from nnreport.engine.solve import solve
from nnreport.spec import loads

needs_tex = pytest.mark.skipif(not tex_available(), reason="TeX not installed")


def key_of(text: str, kind: str = "key") -> str:
    doc = loads(text)
    return render(doc, solve(doc), kind)


def line(tex: str, lhs: str) -> str:
    """The step starting `lhs &=`, its rows joined."""
    rows = tex.splitlines()
    k = next(i for i, r in enumerate(rows) if r.strip().startswith(lhs + " &="))
    out = [rows[k]]
    while not out[-1].rstrip().endswith((r"\\[0.8ex]", r"\\*[0.8ex]", r"\end{align*}")) and k + 1 < len(rows):
        k += 1
        if rows[k].strip().startswith(r"\end{align*}"):
            break
        out.append(rows[k])
    return " ".join(r.strip() for r in out)


def balanced(text: str) -> bool:
    """Braces (not \\{ \\}), \\left/\\right and environments pair up, in order."""
    stack: list[str] = []
    for m in re.finditer(r"\\[{}]|\\left(?![a-z])|\\right(?![a-z])|\\begin\{(\w+)\}|\\end\{(\w+)\}|[{}]",
                         text):
        t = m.group()
        if t in (r"\{", r"\}"):
            continue
        if t == "{" or t == r"\left" or m.group(1):
            stack.append(m.group(1) or t)
        else:
            want = m.group(2) or ("{" if t == "}" else r"\left")
            if not stack or stack.pop() != want:
                return False
    return not stack


EXPR = """title: e
problems:
  - id: e
    given: {x: [1, -2, 0.5], M: [[1, -6], [2, 3]], v: [1, 2], K: [[1, 2], [3, 4]], w: [1, -1],
            ddot: 0.19661193}
    compute:
      - a: sqrt(max(x))
      - norm: sqrt(sum(x**2))
      - b: abs(min(M))
      - o: outer(v, K @ w)
      - mean_ce: mean(x)
      - db: ddot
"""


@pytest.fixture(scope="module")
def expr_key() -> str:
    return key_of(EXPR)


def test_a_root_around_a_call_keeps_its_brace(expr_key):
    a, norm = line(expr_key, "a"), line(expr_key, r"\mathrm{norm}")
    assert balanced(a) and balanced(norm)
    assert r"\sqrt{\max\left(x\right)}" in a and a.endswith(r"\sqrt{1} = 1 \tag*{\footnotesize"
                                                             r"\color{black!70}$[1\,\text{pt}]$} \\[0.8ex]")
    # 1 + 4 + 0.25 = 5.25 under the root, sqrt(5.25) = 2.2913 -> 2.291
    assert r"= \sqrt{5.25} = 2.291 " in norm and r"\sqrt{\operatorname{sum}(" not in norm


def test_abs_of_a_min_shows_the_min_inside_the_bars(expr_key):
    b = line(expr_key, "b")
    assert balanced(b)
    assert r"\left|\min\left(M\right)\right|" in b and r"= \left|-6\right| = 6 " in b


def test_outer_of_a_product_keeps_its_transpose(expr_key):
    o = line(expr_key, "o")
    assert balanced(o)
    formula, subst, result = o.split(" &= ")[1].split(r" \tag*")[0].split(" = ")
    assert formula == r"v \, \left(K w\right)^{T}"
    mats = [parse_matrix(m) for m in re.findall(r"\\begin\{bmatrix\}.*?\\end\{bmatrix\}", subst)]
    v, K, w = (np.array([[float(m.cells[i, j].value) for j in range(m.shape[1])]
                         for i in range(m.shape[0])]) for m in mats)
    assert v.shape == (2, 1) and w.shape == (2, 1) and subst.rstrip().endswith(r"\right)^{T}")
    # v (K w)^T = [1; 2] [-1 -1] by hand
    want = np.array([[-1, -1], [-2, -2]])
    assert np.array_equal(v @ (K @ w).T, want)
    got = parse_matrix(result)
    assert {k: float(n.value) for k, n in got.cells.items()} == {
        (i, j): want[i, j] for i in range(2) for j in range(2)}


def test_a_step_that_only_renames_says_its_value_once(expr_key):
    db = line(expr_key, r"\mathrm{db}")
    assert db.startswith(r"\mathrm{db} &= \mathrm{ddot} = 0.1966 \tag*")


def test_a_name_reads_the_same_in_the_formula_and_the_question(expr_key):
    questions = key_of(EXPR, "questions")
    assert r"\mathrm{mean}_{ce} &=" in expr_key
    sentence = next(r for r in questions.splitlines() if r.startswith("Compute"))
    assert r"$\mathrm{mean}_{ce}$" in sentence and "mean\\_ce" not in sentence


NET = """title: n
problems:
  - id: p
    data: {X: [[1.2], [1]], Y: [[6.95], [0]]}
    network: {layers: [{units: 1, activation: linear}]}
    params: {W1: [[1]], b1: [0]}
    loss: mse
    train: {optimizer: adam, lr: 0.1}
"""


def test_two_numbers_side_by_side_get_a_product_dot():
    tex = key_of(NET)
    # dz^(1) = 2 (1.2 - 6.95) = -11.5; x^(1) dz^(1) = 1.2 * -11.5 = -13.8 (float: -13.799999...)
    row = line(tex, r"\frac{\partial L_{1}}{\partial W_{1}}")
    assert r"= 1.2 \cdot \left(-11.5\right) = -13.8 " in row
    assert r"\begin{bmatrix} 1.2 \\ 1 \end{bmatrix} \cdot 1 + 0" in line(tex, "Z_{1}")
    assert not re.search(r"\d \\, \\?(?:left\()?-?\d", tex)  # no "1 \, 12" anywhere


def test_exact_values_print_without_float_noise():
    tex = key_of(NET)
    # dW1 = (-13.8 + 1 * 2) / 2 = -5.9; Adam's first step: m = 0.1 g = -0.59 (float:
    # (1 - 0.9) * -5.9 = -0.5899999999999999), v = 0.001 g^2 = 0.03481, m-hat = g, v-hat = g^2,
    # step = 0.1 g / (|g| + 1e-8) = -0.09999999983050848 (rational, printed -0.1000)
    assert line(tex, r"dW_{1}").split(" = ")[-1].startswith("-5.9 ")
    assert line(tex, r"m_{W_{1}}").split(" = ")[-1].startswith("-0.59 ")
    assert line(tex, r"v_{W_{1}}").split(" = ")[-1].startswith("0.03481 ")
    assert line(tex, r"\hat m_{W_{1}}").split(" = ")[-1].startswith("-5.9 ")
    assert line(tex, r"\hat v_{W_{1}}").split(" = ")[-1].startswith("34.81 ")
    doc = loads(NET)
    v = solve(doc)["p"].values()
    assert v["dW1_per_sample"][0][0, 0] == -13.8 and v["W1_m"][0, 0] == -0.59
    F = Fraction
    assert v["W1_step"][0, 0] == float(F("0.1") * F("-5.9") / (F("5.9") + F("1e-8")))


def test_rmsprop_with_a_square_one_minus_beta_steps_exactly():
    """beta 0.99: s = 0.01 g^2, sqrt(s) = 0.1 |g|, so with eps 0 the step is lr g / (0.1 |g|)
    = 10 lr sign(g) exactly: 1.0 for g < 0 gives W_new = 1 + 1 = 2."""
    tex = key_of(NET.replace("optimizer: adam", "optimizer: {name: rmsprop, beta: 0.99, eps: 0}"))
    assert line(tex, r"s_{W_{1}}").split(" = ")[-1].startswith("0.3481 ")
    assert line(tex, r"\Delta_{W_{1}}").split(" = ")[-1].startswith("-1 ")
    assert line(tex, r"W_{1}^{\text{new}}").split(" = ")[-1].startswith("2 ")


def test_a_hidden_linear_layer_says_dz_once():
    tex = key_of("""title: n
problems:
  - id: p
    data: {X: [[1, 2]], Y: [[1]]}
    network: {layers: [{units: 2, activation: linear}, {units: 1, activation: sigmoid}]}
    params: {W1: [[1, 0], [0, 1]], W2: [[0.5], [-0.5]]}
    loss: bce
""")
    row = line(tex, "dZ_{1}")
    sides = row.split(r" \tag*")[0].split(" &= ")[1].split(" = ")
    assert sides[0] == "dH_{1}" and len(sides) == 2, row


@needs_tex
def test_a_long_title_wraps_in_the_points_table(tmp_path):
    title = ("Forward and backward propagation through a two-layer network with a softmax "
             "output, by hand, 1!")
    assert len(title) == 95
    spec = tmp_path / "s.yaml"
    spec.write_text(f"title: t\nproblems:\n  - id: e\n    title: {title}\n    given: {{a: 2}}\n"
                    "    compute: [{b: a + 1}]\n")
    r = subprocess.run([sys.executable, "-m", "nnreport", "build", str(spec), "-o",
                        str(tmp_path / "o"), "--questions"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = Path(tmp_path / "o" / "s")
    assert "Overfull" not in (out / "s-questions.log").read_text()
    text = subprocess.run(["pdftotext", str(out / "s-questions.pdf"), "-"], capture_output=True,
                          text=True).stdout
    assert "by hand, 1!" in text and "1 point" in text


@needs_tex
def test_the_expression_key_compiles(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(EXPR)
    r = subprocess.run([sys.executable, "-m", "nnreport", "build", str(spec), "-o",
                        str(tmp_path / "o"), "--key"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert parse_number("2.291").value  # the parser reads what the key printed
