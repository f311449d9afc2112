"""Feature maps side by side (render/maps.py, issue 25): the marks, elision that keeps a marked
window, one power of ten for a stack, wrapping to the page width (by the line breaker and by
`wrap`), and the LaTeX compiled with the key's preamble (and rendered by KaTeX, as the HTML
page renders the same rows)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from workedtex import HAVE_TEX, check_printed, compile_tex, document, matrices, unmarked, unstrut

from nnreport.compile.katex import node, render
from nnreport.document.lines import LINE_BUDGET_EM, rows
from nnreport.document.steps import Step
from nnreport.render.maps import display, feature_map, maps, window_mask, wrap


def cells(tex: str) -> list[list[str]]:
    body = re.search(r"\\begin\{bmatrix\}(.*)\\end\{bmatrix\}", tex, re.S).group(1)
    return [[c.strip() for c in r.split("&")] for r in body.split(r"\\")]


def test_marks():
    a = np.arange(16).reshape(4, 4) / 4
    boxed = np.zeros((4, 4), bool)
    boxed[1, 1] = boxed[3, 0] = True
    t = feature_map(a, 3, shaded=window_mask((4, 4), (1, 1, 2, 2)), boxed=boxed)
    c = cells(unstrut(t.tex))
    assert c[1][1] == r"\colorbox{lightgray}{$\boxed{1.25}$}"  # in the window and chosen
    assert c[2][2] == r"\colorbox{lightgray}{$2.5$}"
    assert c[3][0] == r"\boxed{3}"
    assert c[0][0] == "0" and c[0][3] == "0.75"
    check_printed(unmarked(t.tex), a, 3)


def test_elided_keeps_the_window():
    a = np.arange(20 * 20).reshape(20, 20) * 0.5
    t = feature_map(a, 4, shaded=window_mask((20, 20), (12, 13, 3, 3)))
    c = cells(t.tex)
    assert t.tex.endswith(r"_{20 \times 20}")
    # the first rows (fewer, to make room for the window), the window, the last one
    rows_shown = [0, 1, 2, None, 12, 13, 14, None, 19]
    cols_shown = [0, None, 13, 14, 15, None, 19]
    assert len(c) == len(rows_shown) and all(len(r) == len(cols_shown) for r in c)
    for r, i in zip(c, rows_shown, strict=True):
        for x, j in zip(r, cols_shown, strict=True):
            if i is None or j is None:
                assert x in (r"\vdots", r"\cdots", r"\ddots")
                continue
            x = unstrut(x)
            v = re.sub(r"\\colorbox\{lightgray\}\{\$(.*)\$\}", r"\1", x)
            assert float(v) == a[i, j], (i, j, x)
            assert (x != v) == (12 <= i < 15 and 13 <= j < 16)


def test_one_power_for_the_stack():
    s = np.array([[[1.5e-4, 2e-4], [3e-4, 4e-5]], [[2.5e-4, 1e-4], [5e-4, 6e-4]]])
    p = maps(s, 3)
    assert all(t.tex.startswith(r"\underset{\text{channel") for t in p[::2])
    assert [m[:9] for m in matrices(" ".join(t.tex for t in p))] == ["10^{-4} \\"] * 2
    for k, m in enumerate(matrices(" ".join(t.tex for t in p))):
        check_printed(m, s[k], 3)


def test_wraps_to_the_page():
    s = np.arange(6 * 4 * 4).reshape(6, 4, 4) / 7  # six 4x4 maps of 3-digit numbers
    p = maps(s, 3)
    total = sum(t.width for t in p)
    assert total > LINE_BUDGET_EM
    lines = wrap(p, LINE_BUDGET_EM)
    assert len(lines) >= 2 and all(sum(t.width for t in r) <= LINE_BUDGET_EM for r in lines)
    assert sum(1 for r in lines for t in r if "bmatrix" in t.tex) == 6
    assert r"\\[1ex]" in display(p, LINE_BUDGET_EM)
    # as a Step's side, the line breaker wraps them the same way: maps on several rows
    r = rows(Step("X^{(1)}", None, p, None))
    assert len(r) >= 2 and sum(x.count(r"\begin{bmatrix}") for x in r) == 6


@pytest.mark.skipif(node() is None, reason="Node.js not installed")
def test_katex_renders_the_marks():
    b = np.zeros((2, 3, 3), bool)
    b[0, 1, 1] = True
    p = maps(np.arange(18).reshape(2, 3, 3) / 8, 3, window=(0, 0, 2, 2), boxed=b)
    html = render([(" ".join(t.tex for t in p), True)])[0]
    assert "stretchy colorbox" in html and "lightgray" in html  # the shaded window
    assert "stretchy fbox" in html  # the boxed entry


@pytest.mark.skipif(not HAVE_TEX, reason="pdflatex not installed")
def test_compiles(tmp_path):
    s = np.arange(6 * 4 * 4).reshape(6, 4, 4) / 7
    b = np.zeros(s.shape, bool)
    b[:, ::2, ::2] = True
    big = np.arange(3 * 16 * 16).reshape(3, 16, 16) * 0.37
    steps = [Step("X^{(1)}", None, maps(s, 3, window=(1, 1, 2, 2), boxed=b), None,
                  note="six maps, wrapped; a window shaded, some entries boxed"),
             Step("Y", None, maps(big, 3, window=(9, 10, 3, 3)), None,
                  note="large maps elided, the window kept")]
    compile_tex(document([steps]), tmp_path, "maps", png=True)
