"""Every value the key prints has a canonical JSON name (issue 21.3): dyhat, the activation
derivatives dact{l}, dH{l}, the softmax's E{l} and Esum{l}, the L2 penalty loss_l2, and SGD's
step W1_step. Each is in `solve --json`, can be asked (a line with its points in the key, a
box on the question sheet), checked (`nnreport check`) and exported (Moodle).

The expected numbers are computed here with NumPy from the formulas of docs/spec.md, not by
nnreport; printed numbers are read back from the .tex (tests/texnumbers.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_number_properties import check
from texarith import worked_lines
from texnumbers import parse_matrix

X = np.array([[1, 2], [0.5, -1]])
Y = np.array([[1.0], [0.0]])
W1 = np.array([[0.5, -0.5], [0.25, 1]])
b1 = np.array([[0, 0.1]])
W2 = np.array([[1.0], [-1.0]])
b2 = np.array([[0.2]])
LR = 0.1

SPEC = """title: names
problems:
  - id: p
    data: {X: [[1, 2], [0.5, -1]], Y: [[1], [0]]}
    network:
      layers: [{units: 2, activation: relu}, {units: 1, activation: sigmoid}]
    params: {W1: [[0.5, -0.5], [0.25, 1]], b1: [0, 0.1], W2: [[1], [-1]], b2: [0.2]}
    loss: mse
    regularization: {l2: 0.5}
    train: {optimizer: sgd, lr: 0.1}
    ASK
    figures: []
"""
ASKED = ["dyhat", "dact2", "dH1", "dact1", "loss_l2", "W1_step"]


def by_hand() -> dict[str, np.ndarray]:
    """The worked step of SPEC from docs/spec.md's conventions (rows layout, m = 2)."""
    m = 2
    Z1 = X @ W1 + b1
    H1 = np.maximum(Z1, 0)
    yhat = 1 / (1 + np.exp(-(H1 @ W2 + b2)))
    dyhat = 2 * (yhat - Y)                       # mse over one output
    dact2 = yhat * (1 - yhat)
    dZ2 = dyhat * dact2
    dH1 = dZ2 @ W2.T
    dact1 = (Z1 > 0).astype(float)
    dZ1 = dH1 * dact1
    dW1 = X.T @ dZ1 / m + 0.5 / m * W1
    return {"dyhat": dyhat, "dact2": dact2, "dH1": dH1, "dact1": dact1,
            "loss_l2": np.asarray(0.5 / (2 * m) * ((W1 ** 2).sum() + (W2 ** 2).sum())),
            "W1_step": LR * dW1}


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nnreport", *args], capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, dict, str, str]:
    folder = tmp_path_factory.mktemp("names")
    spec = folder / "s.yaml"
    spec.write_text(SPEC.replace("ASK", f"ask: [{', '.join(ASKED)}]"))
    r = run("build", str(spec), "-o", str(folder / "out"), "--no-pdf", "--format", "pdf",
            "--format", "moodle")
    assert r.returncode == 0, r.stderr
    out = folder / "out" / "s"
    answers = json.loads(run("solve", str(spec), "--json").stdout)["problems"]["p"]
    return spec, answers, (out / "s-key.tex").read_text(), (out / "s-questions.tex").read_text()


def test_the_json_holds_every_intermediate_under_its_name(built):
    _, answers, _, _ = built
    for name, want in by_hand().items():
        np.testing.assert_allclose(np.asarray(answers[name]), want, rtol=1e-12, atol=1e-15,
                                   err_msg=name)
    # 0.5 / (2 * 2) * (0.25 + 0.25 + 0.0625 + 1 + 1 + 1) exactly: no float noise
    assert answers["loss_l2"] == 0.4453125


LHS = {"dyhat": r"d\hat{Y}", "dact2": r"\sigma'\left(Z_{2}\right)", "dH1": "dH_{1}",
       "dact1": r"\operatorname{ReLU}'\left(Z_{1}\right)", "loss_l2": "R",
       "W1_step": r"\Delta_{W_{1}}"}


def test_each_asked_intermediate_is_a_graded_line_of_the_key(built):
    _, _, key, _ = built
    lines = {lhs: sides for lhs, sides in worked_lines(key)}
    rows = key.splitlines()
    for name, want in by_hand().items():
        lhs = LHS[name]
        assert lhs in lines, f"no line for {name}"
        shown = parse_matrix(lines[lhs][-1])
        for (i, j), number in shown.cells.items():
            check(float(np.atleast_2d(want)[i, j]), number, 4)
        row = next(k for k, r in enumerate(rows) if r.strip().startswith(lhs + " &="))
        tail = next(r for r in rows[row:] if r"\tag*" in r or r.rstrip().endswith((r"\\[0.8ex]", r"\\*[0.8ex]")))
        assert r"[1\,\text{pt}]" in tail, f"{name} carries no points"


def test_sgd_with_its_step_asked_subtracts_the_printed_step(built):
    _, _, key, _ = built
    lines = dict(worked_lines(key))
    new = lines[r"W_{1}^{\text{new}}"]
    assert new[0] == r"W_{1} - \Delta_{W_{1}}"
    W, step = new[1].split(" - ")  # [W1] - [Delta]: the step as its own line printed it
    assert parse_matrix(step).cells == parse_matrix(lines[r"\Delta_{W_{1}}"][-1]).cells
    np.testing.assert_allclose(np.vectorize(float)(np.array(
        [[float(parse_matrix(W).cells[i, j].value) for j in range(2)] for i in range(2)])), W1)


def test_the_question_sheet_has_a_box_for_each(built):
    _, _, _, questions = built
    for name in ASKED:
        row = re.search("^  " + re.escape(LHS[name]) + r" &= (?:\\boxed|\\begin\{bmatrix\} \\fbox)"
                        r".*$", questions, re.M)
        assert row and r"[1\,\text{pt}]" in row.group(), name


def test_check_marks_them_right_and_wrong(built, tmp_path):
    spec, _, _, _ = built
    want = by_hand()
    good = {name: np.round(np.asarray(v, dtype=float), 4).tolist() for name, v in want.items()}
    (tmp_path / "good.json").write_text(json.dumps({"p": good}))
    r = run("check", str(spec), str(tmp_path / "good.json"), "--json", "--rtol", "1e-3")
    verdicts = {v["value"]: v["status"] for v in json.loads(r.stdout)["values"]}
    assert {verdicts[n] for n in ASKED} == {"right"}, verdicts
    bad = dict(good, dH1=(np.asarray(want["dH1"]) + 0.5).tolist())
    (tmp_path / "bad.json").write_text(json.dumps({"p": bad}))
    r = run("check", str(spec), str(tmp_path / "bad.json"), "--json", "--rtol", "1e-3")
    verdicts = {v["value"]: v["status"] for v in json.loads(r.stdout)["values"]}
    assert r.returncode == 1 and verdicts["dH1"] != "right" and verdicts["dyhat"] == "right"


def test_moodle_asks_them(built):
    spec, _, _, _ = built
    moodle = (spec.parent / "out" / "s" / "moodle.xml").read_text()
    for name in ASKED:
        assert f"<p>{name} =</p>" in moodle or f"<p>{name} (in units of" in moodle, name


@pytest.mark.parametrize("ask,wrong,hint", [
    ("ask: [dyhat]", "dyhat", "sigmoid"),      # closed form dZ = Yhat - Y: no dyhat line
    ("ask: [dH2]", "dH2", "did you mean"),     # no layer above the output
    ("digits_for: {dW3: 6}", "dW3", "did you mean"),
])
def test_a_value_the_key_does_not_print_cannot_be_asked(tmp_path, ask, wrong, hint):
    spec = tmp_path / "s.yaml"
    text = SPEC.replace("loss: mse", "loss: bce").replace("ASK", ask)
    spec.write_text(text)
    r = run("validate", str(spec))
    line = next(k for k, x in enumerate(text.splitlines(), 1) if x.strip().startswith(ask[:4]))
    assert r.returncode == 2 and f"{spec}:{line}:" in r.stderr and f"'{wrong}'" in r.stderr
    if hint != "sigmoid":
        assert hint in r.stderr
