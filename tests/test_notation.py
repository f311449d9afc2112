"""Notation that reads as it is written (issue 22.8): a step named for a product (XW1, HW) is
that product in italics, not an upright word; the Notation paragraph defines the vector of
ones, the indicator 1[.] and the natural log exactly when the document uses them; a negative
number after a product dot is in parentheses (0.1/3 . (-0.03279))."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PROBLEMS

DOCS = ["exam2", "three_layer", "moons", "assignment01", "problemset3"]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("notation")
    r = subprocess.run([sys.executable, "-m", "nnreport", "build", "--no-pdf",
                        *[str(PROBLEMS / f"{n}.yaml") for n in DOCS], "-o", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return out


def texs(built: Path) -> list[Path]:
    return sorted(built.glob("*/*.tex"))


def test_a_product_named_step_is_the_product_in_italics(built):
    key = (built / "exam2" / "exam2-key.tex").read_text()
    assert r"\mathrm{XW}" not in key and r"\mathrm{HW}" not in key
    assert re.search(r"^\s*X W_\{1\} &= ", key, re.M) and re.search(r"^\s*H W &= ", key, re.M)


def test_notation_defines_what_the_document_uses(built):
    seen = set()
    for path in texs(built):
        tex = path.read_text()
        m = re.search(r"\\textbf\{Notation\.\}(.*?)\}\n", tex, re.S)
        if not m:
            continue
        note, body = m.group(1), tex.replace(m.group(0), "")
        ones = bool(re.search(r"\\mathbf\{1\}(?!\\left\[)", body))
        indicator = r"\mathbf{1}\left[" in body
        log = bool(re.search(r"\\log(?![a-zA-Z])", body))
        assert ("vector of ones" in note) == ones, path.name
        assert ("where its condition holds" in note) == indicator, path.name
        assert ("natural logarithm" in note) == log, path.name
        if r"\frac{\partial L_{" in body:  # a sample's gradient: its subscript is explained
            assert r"$\partial L_i / \partial W$ is that sample's gradient" in note, path.name
        seen |= {k for k, v in (("ones", ones), ("indicator", indicator), ("log", log)) if v}
    assert seen == {"ones", "indicator", "log"}  # each case met by some shipped document


def test_no_negative_number_right_after_a_product_dot(built):
    for path in texs(built):
        tex = path.read_text()
        assert not re.search(r"\\cdot\s*-", tex), (path.name, re.search(r".{60}\\cdot\s*-.{20}", tex))


@pytest.mark.parametrize("name", ["exam2", "three_layer"])
def test_the_html_page_defines_what_its_pdf_defines(tmp_path, name):
    # the HTML page's Notation paragraph always said "a vector of ones" (issue 22.8)
    r = subprocess.run([sys.executable, "-m", "nnreport", "build", "--no-pdf", "--key",
                        "--format", "pdf", "--format", "html", str(PROBLEMS / f"{name}.yaml"),
                        "-o", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    tex = (tmp_path / name / f"{name}-key.tex").read_text()
    page = (tmp_path / name / f"{name}-key.html").read_text()
    block = page[page.index('class="notation"'):]
    block = block[:block.index("</div>")]
    said = {
        "ones": (r"$\mathbf{1}$ is a vector of ones", "is a vector of ones"),
        "indicator": (r"is 1 where its condition holds", "is 1 where its condition holds"),
        "log": (r"$\log$ is the natural logarithm", "is the natural logarithm"),
    }
    for what, (in_tex, in_html) in said.items():
        assert (in_tex in tex) == (in_html in block), what
    assert ("is a vector of ones" in block) == (name == "exam2")
