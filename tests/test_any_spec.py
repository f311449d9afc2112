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
