"""The new layers' worked lines on the HTML page (issue 25): every step's rows, as
document/html.py joins them, rendered by the vendored KaTeX, and the notes' inline math too,
so the marks (\\colorbox, \\boxed, \\underset labels) and names (\\operatorname{rot},
\\widetilde{dZ}) are ones KaTeX knows, not only pdflatex."""

from __future__ import annotations

import re

import numpy as np
import pytest

from nnreport.compile.katex import node, render
from nnreport.document.lines import blank_row, rows
from nnreport.document.worked.layers import batchnorm, conv, dropout, pool

pytestmark = pytest.mark.skipif(node() is None, reason="Node.js not installed")


def all_steps():
    rng = np.random.default_rng(5)
    x = rng.integers(-4, 5, size=(2, 2, 5, 5)) / 4
    w = rng.integers(-3, 4, size=(2, 2, 3, 3)) / 2
    b = np.array([0.5, -1])
    names = conv.Names.layer(2)
    z = conv.nearest(lambda a, k, c: conv.C.forward(a, k, c, 2, 1), x, w, b)
    dz = np.ones_like(z) / 8
    steps = conv.forward(x, w, b, 3, names, stride=2, padding=1, at=(1, 1, 2, 0), key="Z2")
    steps += conv.bias_grad(dz, 3, names) + conv.weight_grad(
        x, dz, w.shape, 3, names, stride=2, padding=1, l2=0.01, w=w)
    steps += conv.input_grad(dz, w, x.shape, 3, names, stride=2, padding=1)
    steps += pool.forward(x, "max", 3, pool.Names.layer(3), size=2, stride=1, at=(0, 1, 3, 3))
    h = pool.P.forward(x, "avg", 2, 1)
    steps += pool.back(np.ones_like(h), x, "avg", 3, size=2, stride=1, at=(0, 0, 1, 1))
    steps += pool.back(np.ones_like(h), x, "max", 3, size=2, stride=1, at=(0, 0, 1, 1))
    xb = rng.integers(-4, 5, size=(3, 2)) / 2 + np.array([[0, 0], [1, 0], [0, 1]])
    g, be = np.array([1.5, -0.5]), np.array([0.1, 0.2])
    bn = batchnorm.Names.layer(4)
    steps += batchnorm.forward(xb, g, be, 4, bn) + batchnorm.grads(xb / 3, xb, 4, bn)
    steps += batchnorm.back(xb / 3, xb, g, 4, bn)
    steps += dropout.forward(xb, [[1, 0], [0, 1], [1, 1]], 0.25, 4, dropout.Names.layer(5))
    return steps


def test_katex_renders_every_line():
    steps = all_steps()
    formulas = []
    for st in steps:
        lines = [line.split(r" \tag*")[0] for line in rows(st)]
        formulas.append((r"\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}", True))
        formulas += [(m, False) for m in re.findall(r"\$([^$]+)\$", st.note)]
        if st.asked and st.result is not None:  # the question sheet's answer box
            formulas.append((blank_row(st).split(r" \tag*")[0].replace("&=", "=", 1), True))
    html = render(formulas)
    assert len(html) == len(formulas) > 60
    joined = "\n".join(html)
    assert "stretchy colorbox" in joined and "stretchy fbox" in joined
