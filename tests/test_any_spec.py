"""Any spec that validates builds (issue 21): the hand-written specs and the random sample's
findings that once failed in TeX or ended in a traceback, each as a regular test that builds
the real PDF and reads back what it prints."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nnreport.compile import tex_available

needs_tex = pytest.mark.skipif(not tex_available(), reason="TeX not installed")


def build(tmp_path: Path, text: str, *extra: str) -> tuple[subprocess.CompletedProcess, Path]:
    spec = tmp_path / "s.yaml"
    spec.write_text(text)
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "nnreport", "build", str(spec), "-o", str(out),
                        *extra], capture_output=True, text=True, timeout=600)
    return r, out / "s"


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout


@needs_tex
def test_a_leaky_relu_network_without_text_builds(tmp_path):
    r, out = build(tmp_path, """title: lr
problems:
  - id: p
    data: {X: [[1, 2], [0, -1]], Y: [[1, 0], [0, 1]]}
    network:
      layers: [{units: 3, activation: leaky_relu}, {units: 2, activation: linear}]
      init: {method: randn, seed: 1, scale: 0.5}
    loss: mse
    train: {optimizer: rmsprop, lr: 0.1, epochs: 1}
""")
    assert r.returncode == 0, r.stderr
    text = pdf_text(out / "s-questions.pdf")
    assert "A 2-3-2 network (leaky ReLU hidden units, a linear output)" in text


@needs_tex
def test_a_list_holding_calls_is_written_and_substituted(tmp_path):
    r, out = build(tmp_path, """title: l
problems:
  - id: e
    given: {h: 2, a: 3}
    compute: [{v: "[log(h), a]"}, {w: "[[h, sqrt(a)], [a, h]]"}]
""", "--key")
    assert r.returncode == 0, r.stderr
    tex = (out / "s-key.tex").read_text()
    line = next(x for x in tex.splitlines() if x.strip().startswith("v &="))
    assert r"\log\left(h\right) & a" in line and r"\log\left(2\right) & 3" in line
    assert f"{math.log(2):.4f}" in line  # 0.6931
    line = next(x for x in tex.splitlines() if x.strip().startswith("w &="))
    assert r"\sqrt{a}" in line and r"\sqrt{3}" in line
    assert f"{math.sqrt(3):.4g}" == "1.732" and r"2 & 1.732 \\ 3 & 2" in line


@needs_tex
def test_space_zero_is_a_length(tmp_path):
    r, out = build(tmp_path, "title: l\nspace: '0'\nproblems:\n  - id: e\n    given: {h: 2}\n"
                   "    compute: [{v: h * 3}]\n", "--questions")
    assert r.returncode == 0, r.stderr
    assert r"\vspace{0pt}" in (out / "s-questions.tex").read_text()


@pytest.mark.parametrize("test_share", [0.2, 0.4])
def test_a_split_too_small_to_stratify_is_made_unstratified(tmp_path, test_share):
    """6 samples of 3 classes with a test share of 0.2 is 2 test samples: fewer than the
    classes, so scikit-learn refuses to stratify (a traceback before)."""
    spec = tmp_path / "s.yaml"
    spec.write_text(f"""title: s
document: report
problems:
  - id: p
    data:
      X: [[1, 2], [0, -1], [1, 1], [2, 2], [3, 1], [0, 0]]
      Y: [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]]
    split: {{test: {test_share}, seed: 1}}
    network: {{layers: [{{units: 3, activation: softmax}}]}}
    loss: cce
""")
    r = subprocess.run([sys.executable, "-m", "nnreport", "solve", str(spec), "--json"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    import json

    rows = json.loads(r.stdout)["problems"]["p"]["test_rows"]
    assert len(rows) == math.ceil(test_share * 6) and len(set(rows)) == len(rows)


def test_text_sentences_hold_no_bare_underscore():
    """Every activation name the grammar allows reads as words in the generated sentence."""
    from nnreport.document.marking import ACTIVATION_WORDS
    from nnreport.engine.functions import ACTIVATIONS

    assert set(ACTIVATIONS) <= set(ACTIVATION_WORDS)
    assert not [w for w in ACTIVATION_WORDS.values() if re.search(r"[_$\\^]", w)]


# --- found by trying every string field (an audit of issue 19's surfaces) --------------------

def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nnreport", *args], capture_output=True,
                          text=True, timeout=600)


NET = """title: t
problems:
  - id: p
    data: {X: [[1, 2], [0, -1]], Y: [1, 0]}
    network: {layers: [{units: 2, activation: relu}, {units: 1, activation: sigmoid}]}
    loss: bce
    EXTRA
"""


@pytest.mark.parametrize("written", ['" No_Dead_Relu "', "NO_DEAD_RELU", "{No_Saturation: 2}"])
def test_a_constraint_written_in_another_case_is_its_canonical_name(tmp_path, written):
    spec = tmp_path / "s.yaml"
    spec.write_text(NET.replace("EXTRA", f"constraints: [{written}]"))
    r = run("solve", str(spec), "--json")
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr


def test_a_constraint_in_another_case_is_enforced():
    from nnreport.spec import loads

    doc = loads(NET.replace("EXTRA", "constraints: [{No_Saturation: 2}]"))
    assert doc.problems[0].constraints == (("no_saturation", 2.0),)


@pytest.mark.parametrize("prose", ["- a\\n  - b\\n", "- first\\n\\n  second paragraph\\n- next"])
def test_nested_lists_and_list_paragraphs_build_as_html(tmp_path, prose):
    r, out = build(tmp_path, f'title: t\ninstructions: "{prose}"\nproblems:\n  - id: p\n'
                   f'    text: "{prose}"\n    given: {{a: 1}}\n    compute: [{{b: a + 1}}]\n',
                   "--format", "html")
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    page = (out / "s-key.html").read_text()
    assert page.count("<li>") >= 4 and ("second paragraph" in page or "<li>b" in page)


@needs_tex
@pytest.mark.parametrize("expr,want", [("sum(M, -1)", "3 & 7"), ("mean(M, +0)", "2 & 3"),
                                       ("max(M, -(-1))", "2 & 4")])
def test_a_signed_axis_is_read_as_the_number_it_is(tmp_path, expr, want):
    r, out = build(tmp_path, "title: t\nproblems:\n  - id: e\n    given: {M: [[1, 2], [3, 4]]}\n"
                   f'    compute: [{{y: "{expr}"}}]\n', "--key")
    assert r.returncode == 0, r.stderr
    line = next(x for x in (out / "s-key.tex").read_text().splitlines() if "y &=" in x)
    assert line.split(" = ")[-1].startswith(r"\begin{bmatrix} " + want)


def test_space_takes_ascii_digits_only(tmp_path):
    for space in ("３cm", "٣cm", "𝟗cm"):
        spec = tmp_path / "s.yaml"
        spec.write_text(f'title: t\nspace: "{space}"\nproblems:\n  - id: e\n    given: {{a: 1}}\n'
                        "    compute: [{b: a + 1}]\n", encoding="utf-8")
        r = run("validate", str(spec))
        assert r.returncode == 2 and f"{spec}:2:" in r.stderr, space


@needs_tex
def test_a_name_ending_in_scr_compiles(tmp_path):
    r, out = build(tmp_path, "title: t\nproblems:\n  - id: e\n    given: {alphascr: 2}\n"
                   "    compute: [{x_alphascr: alphascr + 1}]\n")
    assert r.returncode == 0, r.stderr
    assert r"\mathscr" not in (out / "s-key.tex").read_text()


def test_a_placeholder_inside_a_formula_is_a_located_error(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text('title: t\nproblems:\n  - id: p1\n    text: "We get $\\\\frac{ {{ p1.s }} }{2}$"\n'
                    "    given: {a: 1}\n    compute: [{s: a + 2}]\n")
    r = run("validate", str(spec))
    assert r.returncode == 2 and f"{spec}:4:" in r.stderr
    assert "a placeholder inside a formula" in r.stderr


def test_a_given_name_has_a_length_limit(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("title: t\nproblems:\n  - id: e\n    given:\n      ? " + "a" * 210_000
                    + "\n      : 1\n    compute: [{b: 2}]\n")  # an explicit key: any length
    r = run("validate", str(spec))
    assert r.returncode == 2 and "a name of 210,000 characters; at most 40" in r.stderr


@pytest.mark.parametrize("field", ["digits_for: {bb: 6}", "names: {bb: B}"])
def test_a_misspelt_name_in_an_expression_problem_is_a_located_error(tmp_path, field):
    spec = tmp_path / "s.yaml"
    spec.write_text(f"title: t\nproblems:\n  - id: e\n    given: {{a: 1}}\n"
                    f"    compute: [{{b: a + 1}}]\n    {field}\n")
    r = run("validate", str(spec))
    assert r.returncode == 2 and f"{spec}:6:" in r.stderr and "did you mean 'b'" in r.stderr


def test_a_run_name_cannot_start_with_an_underscore(tmp_path):
    """matplotlib hides legend labels that start with '_': such a run vanished from the plot."""
    spec = tmp_path / "s.yaml"
    spec.write_text(NET.replace("title: t", "title: t\ndocument: report").replace(
        "EXTRA", "experiments: {G: [{name: _hidden}, {name: b}]}"))
    r = run("validate", str(spec))
    assert r.returncode == 2 and "Traceback" not in r.stderr


# --- found by the generative test (tests/test_any_spec_generated.py) -------------------------

@needs_tex
def test_a_chain_row_under_a_tagged_step_renders_as_html(tmp_path):
    """With rounding: chain, a step with a shape tag whose chain value prints differently has
    its tag on the row above the "rounded chain" row: the HTML page kept the tag inside the
    formula, and KaTeX refused \\color{black!70} (exit 4)."""
    r, out = build(tmp_path, """title: t
rounding: chain
problems:
  - id: p
    data: {X: [[109.0]], Y: [[0, 0]]}
    network: {layers: [{units: 1, activation: sigmoid}, {units: 2, activation: softmax}]}
    params: {W1: [[-0.7]], b1: [1.8], W2: [[-13.0, 1.2]], b2: [-1.8, 0.8]}
    loss: {name: cce, eps: 0.001}
""", "--format", "html")
    assert r.returncode == 0, r.stderr
    page = (out / "s-key.html").read_text()
    assert "rounded chain" in page and "katex-error" not in page
    assert page.count('class="tag"') >= 1


def test_the_update_starts_from_the_exact_gradient_not_its_float():
    """dW1 = X^T dZ / 3 + (0.5 / 3) W1 is exact but no short decimal: the SGD step took the
    float of dW1 as exact and W1_new came out an ulp off the nearest float to its exact value
    (found with batch_size 3 of 4 samples). The expected values are exact fractions from
    tests/exactref.py, which is independent of nnreport's engine."""
    import exactref
    import numpy as np

    from nnreport.engine.solve import solve
    from nnreport.spec import loads

    p = {"id": "p", "data": {"X": [[17.7, -22.0, 18.0], [5.7, -6.3, -14.1], [112.0, 51.0, -185.0],
                                   [-22.5, -14.5, 11.6]], "Y": [[-18.5], [-1.59], [0.52], [0.23]]},
         "network": {"layers": [{"units": 1, "activation": "linear"},
                                {"units": 1, "activation": "relu"}]},
         "params": {"W1": [[1.1], [-0.3], [-0.18]], "b1": [-1.1], "W2": [[1.8]]},
         "loss": {"name": "sse", "factor": 2}, "regularization": {"l2": 0.5},
         "train": {"optimizer": "sgd", "lr": 0.05, "batch_size": 3}}
    import json

    values = solve(loads(json.dumps({"title": "t", "problems": [p]})))["p"].values()
    ref = exactref.network(p)
    for name in ("dW1", "W1_new", "W2_new", "b1_new", "dW2"):
        assert np.array_equal(values[name], exactref.nearest(ref[name])), name


def test_a_frozen_parameters_update_cannot_be_asked(tmp_path):
    """W1 frozen has no state, step or new value on the key (W1^new = W1, no box): asking
    for them counted points the sheet had no box for (3 points, one box)."""
    spec = tmp_path / "s.yaml"
    spec.write_text("""title: f
problems:
  - id: p
    data: {X: [[1, 2]], Y: [[1]]}
    network: {layers: [{units: 1, activation: sigmoid}]}
    params: {W1: [[0.5], [-0.5]]}
    loss: bce
    train: {optimizer: momentum, freeze: [W1]}
    ask: [W1_new, W1_v, b1_new]
""")
    r = run("validate", str(spec))
    assert r.returncode == 2 and r.stderr.count("W1 is frozen") == 2
    assert f"{spec}:9:11: 'W1_new'" in r.stderr and f"{spec}:9:19: 'W1_v'" in r.stderr


def test_a_value_of_a_part_not_shown_cannot_be_asked(tmp_path):
    """show: [given, forward] prints no backward pass: ask: [Z1, dW1] counted 2 points for
    one box."""
    spec = tmp_path / "s.yaml"
    spec.write_text("""title: f
problems:
  - id: p
    data: {X: [[1, 2]], Y: [[1]]}
    network: {layers: [{units: 1, activation: sigmoid}]}
    params: {W1: [[0.5], [-0.5]]}
    loss: bce
    show: [given, forward]
    ask: [Z1, dW1]
""")
    r = run("validate", str(spec))
    assert r.returncode == 2 and f"{spec}:9:15: 'dW1'" in r.stderr
    assert "the backward part, which prints it, is not in show" in r.stderr


def test_outer_of_a_sum_keeps_its_brackets():
    """outer(v - w, v + w) was substituted as v - w (v + w)^T, which reads as v - (w (v + w)^T):
    the printed line gave other numbers than its result (found with v = [-15.1, 0.55])."""
    from texnumbers import parse_matrix

    from nnreport.document.tex import render
    from nnreport.engine.solve import solve
    from nnreport.spec import loads

    doc = loads("title: t\nproblems:\n  - id: e\n    given: {v: [3, 1], w: [1, 2]}\n"
                "    compute: [{o: 'outer(v - w, v + w)'}]\n")
    row = next(x for x in render(doc, solve(doc), "key").splitlines() if x.strip().startswith("o &="))
    formula, subst, result = row.split(" &= ")[1].split(r" \tag*")[0].split(" = ")
    assert formula == r"\left(v - w\right) \, \left(v + w\right)^{T}"
    assert subst.startswith(r"\left(\begin{bmatrix} 3 \\ 1 \end{bmatrix} - \begin{bmatrix} 1 \\ 2 "
                            r"\end{bmatrix}\right) \, \left(")
    # (v - w) (v + w)^T = [2; -1] [4 3] by hand
    got = parse_matrix(result)
    assert {k: float(n.value) for k, n in got.cells.items()} == {
        (0, 0): 8, (0, 1): 6, (1, 0): -4, (1, 1): -3}


@pytest.mark.parametrize("expr,want", [
    # (v K) is a row: on the right of A it is written (v K)^T; A (v K)^T = [29; 5]
    ("A @ (v @ K)", [29, 5]),
    # K v is a column: on the left of a product it is written (K v)^T; (K v)^T w = 17
    ("((K @ v) @ w) * A", [[17, 34, 51], [0, 17, 0]]),
    # colmean(K) is a row already: v colmean(K), no transpose
    ("outer(v, mean(K, 0))", [[2 / 3, 2 / 3, 1], [4 / 3, 4 / 3, 2], [2, 2, 3]]),
])
def test_a_product_of_vectors_is_written_the_way_round_it_computes(expr, want):
    """Found by the generative test: A @ (v @ K) was substituted as A v K (a matrix times a
    row), (K @ v) @ w as K v w, and outer(v, mean(K, 0)) as v (colmean K)^T: each printed
    line did not compute. Each substituted side is now redone from its printed numbers."""
    import numpy as np
    from texarith import evaluate, split_top

    from nnreport.document.tex import render
    from nnreport.engine.solve import solve
    from nnreport.spec import loads

    doc = loads("title: t\nproblems:\n  - id: e\n    given: {v: [1, 2, 3], w: [1, -1, 2], "
                "K: [[1, 0, 2], [0, 1, 0], [1, 1, 1]], A: [[1, 2, 3], [0, 1, 0]]}\n"
                f"    compute: [{{o: '{expr}'}}]\n")
    row = next(x for x in render(doc, solve(doc), "key").splitlines() if x.strip().startswith("o &="))
    sides = split_top(row.split(" &= ")[1].split(r" \tag*")[0])
    assert np.allclose(evaluate(sides[1]).ravel(), np.ravel(want), rtol=1e-3)


@needs_tex
def test_each_samples_bias_gradient_asked_has_a_graded_line(tmp_path):
    # found by the generative test: db2_per_sample asked counted a point the key had no line
    # for. Hand values: a linear output with no hidden weights gives yhat = b2 = [0.5, -1];
    # mse with sum reduction and factor 1/2 over 2 outputs: dz = (yhat - y) / 2 per sample
    r, out = build(tmp_path, """title: b
problems:
  - id: p
    data: {X: [[1, 0], [0, 1]], Y: [[1, 0], [0, 0]]}
    network: {layers: [{units: 2, activation: linear}]}
    params: {W1: [[0, 0], [0, 0]], b1: [0.5, -1]}
    loss: {name: mse, reduction: sum, factor: 0.5}
    ask: [db1_per_sample]
""", "--key")
    assert r.returncode == 0, r.stderr
    tex = (out / "s-key.tex").read_text()
    rows = [x for x in tex.splitlines() if r"{\partial b_{1}}" in x and "frac{\\partial L_" in x]
    assert len(rows) == 2 and all(r"\text{pt" in x for x in rows), rows
    want = [[(0.5 - 1) / 2, (-1 - 0) / 2], [(0.5 - 0) / 2, (-1 - 0) / 2]]
    for row, w in zip(rows, want, strict=True):
        nums = [float(x) for x in re.findall(r"-?\d+\.?\d*", row.split("=")[-1])]
        assert nums[:2] == w, (row, w)


@needs_tex
def test_a_batch_of_one_has_no_one_over_one(tmp_path):
    # the mean over a batch of one sample printed "dW1 = 1/1 X^T dZ1" and summed db over
    # i = 1..1; dW1 = x^T dz with dz = yhat - y for bce on a sigmoid output (hand values:
    # z = 0.5 * 1 + 0 = 0.5, yhat = 1 / (1 + e^-0.5), dW = 2 (yhat - 1))
    r, out = build(tmp_path, """title: one
problems:
  - id: n
    data: {X: [[2]], Y: [1]}
    network: {layers: [{units: 1, activation: sigmoid}]}
    params: {W1: [[0.25]], b1: [0]}
    loss: bce
    regularization: {l2: 0.1}
""", "--key")
    assert r.returncode == 0, r.stderr
    tex = (out / "s-key.tex").read_text()
    assert r"\frac{1}{1}" not in tex and r"\sum_{i=1}^{1}" not in tex
    dw = next(x for x in tex.splitlines() if x.strip().startswith("dW_{1} &="))
    yhat = 1 / (1 + math.exp(-0.5))
    want = 2 * (yhat - 1) + 0.1 * 0.25
    assert f"{want:.4f}" in dw.split("=")[-1], (dw, want)
    assert "the L2 term" in tex
    db = next(x for x in tex.splitlines() if x.strip().startswith("db_{1} &="))
    assert db.split(r"\tag")[0].count("=") == 2, db  # db = dz^(1) = value, the value once
    assert "column sums" not in tex


@pytest.mark.parametrize("expr,written", [
    ("v @ (K * K)", r"v \left(K \odot K\right)"),       # found by the generator (issue 23's run)
    ("(K * K) @ v", r"\left(K \odot K\right) v"),
    ("K * (K @ K)", r"K \odot \left(K K\right)"),
    ("(K @ K) * K", r"\left(K K\right) \odot K"),
    ("2 * K @ K", r"2 \cdot K K"),                       # a number commutes: no parentheses
])
def test_an_elementwise_product_beside_a_matrix_product_keeps_its_parentheses(tmp_path, expr,
                                                                             written):
    """v (K (.) K) printed as v K (.) K reads as (v K) (.) K, another value; the key's line
    must read as computed (v K K is 3 numbers, (v K) (.) K 9)."""
    r, out = build(tmp_path, f"""title: m
problems:
  - id: e
    given: {{v: [1, 2], K: [[1, 2], [3, 4]]}}
    compute: [{{y: "{expr}"}}]
""", "--key", "--no-pdf")
    assert r.returncode == 0, r.stderr
    line = next(x for x in (out / "s-key.tex").read_text().splitlines()
                if x.strip().startswith("y &="))
    assert written in line, line


def test_an_asked_linear_output_has_its_line_and_box(tmp_path):
    """Found by the generator: `ask: [yhat]` with a linear output printed only Yhat = Z_2,
    with no value and no answer box, though the task sentence asked for Yhat. By hand:
    Z_2 = 1 * 2 + 0.5 = 2.5."""
    r, out = build(tmp_path, """title: y
problems:
  - id: p
    data: {X: [[1]], Y: [[1]]}
    network: {layers: [{units: 1, activation: linear}]}
    params: {W1: [[2]], b1: [0.5]}
    loss: mse
    ask: [yhat]
""", "--no-pdf")
    assert r.returncode == 0, r.stderr
    key = (out / "s-key.tex").read_text()
    assert r"\hat{Y} &= Z_{1} = 2.5 \tag*" in key
    sheet = (out / "s-questions.tex").read_text()
    assert re.search(r"\\hat\{Y\} &= \\(fbox|boxed)", sheet)  # a scalar: one box
