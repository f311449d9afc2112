"""`symbols:` (issue 23): the key, the question sheet and the HTML page write the course's
letters for a family of names (net_j, o_j, Err_j, w instead of Z, H, dZ, W); the JSON, check,
the LMS exports and the script keep the canonical names, and the numbers do not change."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from keycheck import check_key, problems_of
from ruamel.yaml import YAML

SPEC = """title: Symbols
problems:
  - id: s
    data:
      X: [[1, 0], [0.5, -1]]
      Y: [[1], [0]]
    network:
      layers:
        - {units: 2, activation: sigmoid}
        - {units: 1, activation: sigmoid, bias: threshold}
    params:
      W1: [[0.2, -0.4], [0.6, 0.1]]
      b1: [0.1, -0.2]
      W2: [[0.5], [-0.3]]
      theta2: [0.05]
    loss: {name: sse, factor: 0.5}
    train: {optimizer: sgd, lr: 0.5, epochs: 1}
"""
COURSE = SPEC + "    symbols: {Z: net, H: o, dZ: Err, W: w}\n"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nnreport", *args], capture_output=True,
                          text=True)


def build(tmp_path, text, name):
    spec = tmp_path / f"{name}.yaml"
    spec.write_text(text)
    r = run("build", str(spec), "--no-pdf", "--format", "pdf", "--format", "html",
            "-o", str(tmp_path / name))
    assert r.returncode == 0, r.stderr
    return spec, tmp_path / name / name


def test_the_key_writes_the_course_symbols_and_the_json_is_unchanged(tmp_path):
    _, plain = build(tmp_path, SPEC, "plain")
    spec, course = build(tmp_path, COURSE, "course")
    a = json.loads((plain / "answers.json").read_text())["problems"]["s"]
    b = json.loads((course / "answers.json").read_text())["problems"]["s"]
    assert a == b  # canonical names, same numbers
    tex = (course / "course-key.tex").read_text()
    answers = json.loads((course / "answers.json").read_text())
    assert check_key(tex, YAML(typ="safe").load(COURSE), answers) > 20
    part = problems_of(tex)["s"]
    assert r"\mathrm{net}_{1} &= X w_{1} + b_{1} = " in part
    assert r"o_{1} &= \sigma\left(\mathrm{net}_{1}\right)" in part
    assert r"\mathrm{Err}_{1} &= dH_{1} \odot \sigma'\left(\mathrm{net}_{1}\right)" in part
    assert r"dw_{1} &= \frac{1}{2} X^{T} \mathrm{Err}_{1}" in part
    assert r"\sum_{i=1}^{2} \mathrm{Err}_{2}^{(i)}" in part
    for old in ("Z_{", "dZ_{", "W_{", " H_{1}"):
        assert old not in part, old
    q = (course / "course-questions.tex").read_text()
    assert r"\mathrm{net}_{1}" in q and r"\mathrm{Err}_{2}" in q and "Z_{1}" not in q
    html = (course / "course-key.html").read_text() if (course / "course-key.html").exists() \
        else "".join(p.read_text() for p in course.parent.rglob("*.html"))
    assert r"\mathrm{net}_{1}" in html
    # check and the script take the canonical names
    sub = tmp_path / "a.yaml"
    sub.write_text(json.dumps({"s": {"Z1": b["Z1"], "dZ2": b["dZ2"]}}))
    out = json.loads(run("check", str(spec), str(sub), "--json").stdout)
    assert {x["value"]: x["status"] for x in out["values"]}["Z1"] == "right"
    code = run("code", str(spec))
    assert code.returncode == 0, code.stderr


@pytest.mark.parametrize("symbols,what", [
    ("{Q: net}", "cannot rename 'Q'"),
    ("{Z: n__et}", "symbol 'n__et' for Z"),
    ("{dZ: 'Err{}'}", "symbol 'Err{}' for dZ"),
    # one letter for two families (found by the generator): net_1 would be Z1 and delta1
    ("{delta: net, Z: net}", "'net' would name both Z and delta"),
    ("{Z: H}", "'H' would name both Z and H"),          # another family's own letter
    ("{Z: X}", "'X' would name both the inputs and Z"),
    ("{W: w, dZ: dw}", "'dw' would name both dZ and dW"),  # dW is d + W's symbol
])
def test_bad_symbols_are_located_errors(tmp_path, symbols, what):
    spec = tmp_path / "bad.yaml"
    spec.write_text(SPEC + f"    symbols: {symbols}\n")
    r = run("validate", str(spec))
    assert r.returncode != 0 and "bad.yaml:" in r.stderr and what in r.stderr, r.stderr


def test_symbols_on_an_expression_problem_are_a_located_error(tmp_path):
    spec = tmp_path / "e.yaml"
    spec.write_text("title: e\nproblems:\n  - id: e\n    given: {x: 2}\n    compute:\n"
                    "      - y: x * 2\n    symbols: {Z: net}\n")
    r = run("validate", str(spec))
    assert r.returncode != 0 and "e.yaml:3:" in r.stderr and "network problem" in r.stderr


def test_the_diagram_and_the_notation_use_the_course_letters(tmp_path):
    # the network diagram labelled hidden units h_j and weights W_l, and the Notation paragraph
    # never said which letter stands for which name
    spec = tmp_path / "c.yaml"
    spec.write_text(COURSE)
    r = run("build", str(spec), "-o", str(tmp_path / "out"), "--key")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out" / "c"
    tex = (out / "c-key.tex").read_text()
    assert (r"writes $\mathrm{net}$ for $Z$, $o$ for $H$, $\mathrm{Err}$ for $dZ$, $w$ for $W$"
            in tex)
    first = sorted((out / "figures").glob("tikz-*.pdf"))
    labels = [subprocess.run(["pdftotext", str(f), "-"], capture_output=True,
                             text=True).stdout.split() for f in first]
    diagram = next(words for words in labels if "x1" in words)
    assert "o1" in diagram and "o2" in diagram and "h1" not in diagram, diagram
