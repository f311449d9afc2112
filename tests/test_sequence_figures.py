"""The sequence layers' figures (render/sequences.py, issue 26): the attention heat map prints
each weight in its cell, correctly rounded (weights computed here by loops), masked cells
blank; the unrolled recurrent layer labels every step's input, the shared weights and the
output the layer passes on; both write reproducible PDFs without a creation date."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from seqtex import rounded_ok
from texnumbers import parse_number

from nnreport.render import sequences


def softmax_rows(S: list[list[float]]) -> np.ndarray:
    out = []
    for row in S:
        top = max(row)
        e = [math.exp(v - top) if v != -math.inf else 0.0 for v in row]
        out.append([v / sum(e) for v in e])
    return np.array(out)


S = [[0.3, -math.inf, -math.inf], [0.1, 0.7, -math.inf], [-0.2, 0.05, 0.4]]
MASK = np.tril(np.ones((3, 3), dtype=bool))


def _figure():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    return Figure(figsize=(3.9, 3.5))


def test_heat_map_prints_each_weight_correctly_rounded() -> None:
    A = softmax_rows(S)
    ax = sequences.draw_attention(_figure(), A, 4, MASK)
    texts = [t for t in ax.texts]
    assert len(texts) == int(MASK.sum())  # masked cells: no number
    for t in texts:
        i, j = (round(v) for v in t.get_position()[::-1])
        assert MASK[i, j]
        n = parse_number(t.get_text().strip("$"))
        assert rounded_ok(n, float(A[i, j]), 4), (t.get_text(), A[i, j])


def test_figures_are_reproducible_pdfs(tmp_path: Path) -> None:
    A = softmax_rows(S)
    one, two = tmp_path / "one", tmp_path / "two"
    names = []
    for folder in (one, two):
        names.append((sequences.attention_figure(A, folder, mask=MASK),
                      sequences.unrolled_figure(4, folder, ret="sequence")))
    assert names[0] == names[1]
    for name in names[0]:
        a, b = (one / name).read_bytes(), (two / name).read_bytes()
        assert a == b and a.startswith(b"%PDF") and b"CreationDate" not in a


def test_unrolled_labels() -> None:
    ax = sequences.draw_unrolled(_figure(), 3, "last")
    texts = {t.get_text() for t in ax.texts}
    assert {"$x_{1}$", "$x_{2}$", "$x_{3}$", "$h_{3}$", "$h_0 = 0$"} <= texts
    assert "$h_{1}$" not in texts  # `return: last` passes on h_T only
    assert sum(t.get_text() == "$W_h$" for t in ax.texts) == 3
    ax = sequences.draw_unrolled(_figure(), 9, "sequence", h0=True)
    texts = {t.get_text() for t in ax.texts}
    assert {"$x_{1}$", "$x_{9}$", r"$\cdots$", "$h_{1}$", "$h_{9}$", "$h_0$"} <= texts
    assert "$x_{5}$" not in texts  # the middle steps are the dots
