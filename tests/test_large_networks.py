"""Large networks in a report (issue 22.6, 22.10): problemset3's 64-32-10 network works the
method on what a page can hold (each product's result and one entry written out, tall
matrices to a corner of three rows, computed tall matrices left to answers.json), so the
report is at most 8 pages with at most 6 row-elided matrices, and every number it prints is
still answers.json's; reports print accuracy as their tables do (96.7%)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
import yaml
from conftest import PROBLEMS
from keycheck import check_key, delimiter_problems

REPORTS = ["problemset3", "circles_widths"]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("large")
    r = subprocess.run([sys.executable, "-m", "nnreport", "build",
                        *[str(PROBLEMS / f"{n}.yaml") for n in REPORTS], "-o", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return out


def tex_of(built: Path, name: str) -> str:
    return (built / name / f"{name}-report.tex").read_text()


def bmatrices(tex: str) -> list[str]:
    return re.findall(r"\\begin\{bmatrix\}(.*?)\\end\{bmatrix\}", tex, re.S)


def test_problemset3_is_at_most_eight_pages(built):
    from pypdf import PdfReader

    pages = len(PdfReader(built / "problemset3" / "problemset3-report.pdf").pages)
    assert pages <= 8, pages  # 13 before issue 22.6


def test_problemset3_elides_at_most_six_matrices(built):
    tex = tex_of(built, "problemset3")
    tall = [m for m in bmatrices(tex) if r"\vdots" in m]
    assert len(tall) <= 6, len(tall)  # 16 matrices with 74 \vdots before
    for m in tall:  # a tall matrix shows a corner of three rows, the dots and its last row
        assert len(m.split(r"\\")) <= 5, m[:200]


def test_problemset3_prints_answers_json(built):
    """Every worked line's value, entry lines and the training table against answers.json,
    and the substituted sides redone from their printed numbers (tests/keycheck.py)."""
    tex = tex_of(built, "problemset3")
    spec = yaml.safe_load((PROBLEMS / "problemset3.yaml").read_text())
    answers = json.loads((built / "problemset3" / "answers.json").read_text())
    assert check_key(tex, spec, answers) > 100
    assert not delimiter_problems(tex)


@pytest.mark.parametrize("name", REPORTS)
def test_large_network_writes_an_entry_for_each_product(built, name):
    """No worked line multiplies a matrix printed with vertical dots; each product's entry
    (1, 1) is written out instead, and the tall trained values are named as left out."""
    tex = tex_of(built, name)
    worked = tex.split(r"\subsubsection*{Forward pass}")[1].split(r"\subsubsection*{Training}")[0]
    for line in re.split(r"\\\\\*?\[0\.8ex\]", worked):
        rhs = line.split("&=", 1)[-1]
        sides = re.split(r"(?<!\\)=", rhs)
        if len(sides) > 1:  # a substituted side: none of its matrices is tall
            for side in sides[:-1]:
                assert r"\vdots" not in side, line[:300]
    for l in (1, 2):
        assert rf"\left(Z_{{{l}}}\right)_{{11}}" in worked
        assert rf"\left(dW_{{{l}}}\right)_{{11}}" in worked or "Backward pass" not in worked
    assert "answers.json holds them in full" in tex


@pytest.mark.parametrize("name", REPORTS)
def test_report_prints_accuracy_as_a_percentage(built, name):
    """'accuracy = 96.7%' after training, as the evaluation table prints it; never 0.9673."""
    tex = tex_of(built, name)
    acc = json.loads((built / name / "answers.json").read_text())
    acc = acc["problems"][next(iter(acc["problems"]))]["accuracy_final"]
    want = (Decimal(repr(acc)) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    m = re.search(r"\\text\{accuracy\} &= (\S+)", tex)
    assert m and m.group(1) == f"{want}\\%", (m and m.group(1), want)


@pytest.mark.parametrize("name", REPORTS)
def test_closing_accuracy_line_stays_with_the_values_above(built, name):
    """Issue 22.7: no page break before 'accuracy = ...' (a lone line at a page's top), in
    the .tex (a \\\\* before it) and in the PDF (no page starts with it)."""
    tex = tex_of(built, name)
    assert re.search(r"\\\\\*\[0\.8ex\]\s*\\text\{accuracy\}", tex)
    out = subprocess.run(["pdftotext", "-layout", str(built / name / f"{name}-report.pdf"), "-"],
                         capture_output=True, text=True).stdout
    for page in out.split("\f"):
        body = [ln for ln in page.splitlines()[1:] if ln.strip()]  # under the running head
        assert not (body and body[0].strip().startswith("accuracy =")), page[:300]
