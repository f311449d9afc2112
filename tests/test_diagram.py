"""Network diagrams: every number on the right edge or neuron, correctly rounded, and no label
touching another label, a neuron or a foreign edge; repeated weights said once; many edges
shown as a matrix. Label sizes come from the layout's estimate, which is checked here against
the widths TeX itself gives the same labels."""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_number_properties import check
from texnumbers import parse_matrix, parse_number

from nnreport.render.diagram import MAX_EDGE_LABELS, entry_name, tikz_network
from nnreport.render.labels import NEURON_R, PAD_CM, box_at, label_size

NEURON = re.compile(r"\\node\[neuron\] \((L\d+N\d+)\) at \((-?[\d.]+), (-?[\d.]+)\) \{\$(.*?)\$\};")
LABEL = re.compile(r"\\node\[(w|b)\] \(([EB][\d-]+)\) at \((-?[\d.]+), (-?[\d.]+)\) \{\$(.*)\$\};")
EDGE = re.compile(r"\\draw\[edge\] \((L\d+N\d+)\) -- \((L\d+N\d+)\);")
UNDER = re.compile(r"\\node\[font=\\scriptsize, anchor=north\] at .*? \{\$(.*)\$\};")


def read(tikz: str) -> tuple[dict, dict, list, list]:
    neurons = {m[0]: (float(m[1]), float(m[2])) for m in NEURON.findall(tikz)}
    labels = {m[1]: ((float(m[2]), float(m[3])), m[4]) for m in LABEL.findall(tikz)}
    edges = EDGE.findall(tikz)
    under = UNDER.findall(tikz)
    return neurons, labels, edges, under


def value_of(label: str) -> str:
    return label.split("=", 1)[1].strip() if "=" in label else label


@st.composite
def network(draw):
    depth = draw(st.integers(1, 3))
    units = tuple(draw(st.lists(st.integers(1, 6), min_size=depth + 1, max_size=depth + 1)))
    kind = draw(st.sampled_from(["random", "short", "equal", "tiny"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    Ws, bs = [], []
    for a, b in zip(units, units[1:], strict=False):
        if kind == "equal":
            W = np.full((a, b), float(draw(st.sampled_from([1, 0.5, -0.25]))))
        elif kind == "short":
            W = rng.integers(-9, 10, (a, b)) / 10
        elif kind == "tiny":
            W = rng.normal(0, 1e-4, (a, b))
        else:
            W = rng.normal(0, 1, (a, b))
        Ws.append(W)
        bs.append(None if draw(st.booleans()) and kind != "random" else rng.normal(0, 1, (1, b)))
    digits = draw(st.integers(2, 5))
    return units, tuple(["relu"] * (depth - 1) + ["sigmoid"]), Ws, bs, digits


@given(network())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_labels_never_touch_and_every_number_is_right(net):
    units, acts, Ws, bs, digits = net
    tikz = tikz_network(units, acts, Ws, bs, digits=digits)
    neurons, labels, edges, under = read(tikz)
    segments = {(a, b): (neurons[a], neurons[b]) for a, b in edges}
    boxes = {k: box_at(*xy, tex) for k, (xy, tex) in labels.items()}
    names = sorted(boxes)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not boxes[a].overlaps(boxes[b]), (a, b)
        for n, (x, y) in neurons.items():
            assert not boxes[a].near_circle(x, y, NEURON_R), (a, n)
        own = None
        if a.startswith("E"):
            l, i_, j = a[1:].split("-")
            own = (f"L{int(l) - 1}N{i_}", f"L{l}N{j}")
        for key, seg in segments.items():
            if key != own:
                assert not boxes[a].crosses(*seg), (a, key)
    matrices = {u.split("=")[0].strip(): u for u in under if r"\begin" in u}
    notes = [u for u in under if "all weights" in u]
    for l, W in enumerate(Ws, start=1):
        edge_labels = {k: v for k, v in labels.items() if k.startswith(f"E{l}-")}
        if f"W_{{{l}}}" in matrices:  # shown as a matrix: every entry, each correctly rounded
            m = parse_matrix(matrices[f"W_{{{l}}}"].split("=", 1)[1])
            assert not edge_labels
            for (r, c), shown in m.cells.items():
                check(W[r, c], shown, digits)
            assert len(m.cells) == W.size
        elif any(n.startswith(f"W_{{{l}}}") for n in notes):
            note = next(n for n in notes if n.startswith(f"W_{{{l}}}"))
            assert not edge_labels and np.all(W == W.flat[0]) and W.size > 1
            check(W.flat[0], parse_number(note.split("weights }")[1].strip()[1:-1]), digits)
        else:
            assert len(edge_labels) == W.size <= MAX_EDGE_LABELS
            for k, (_, tex) in edge_labels.items():
                _, i_, j = k[1:].split("-")
                check(W[int(i_) - 1, int(j) - 1], parse_number(tex), digits)
        b = bs[l - 1]
        shown_b = {k: v for k, v in labels.items() if k.startswith(f"B{l}-")}
        if b is None:
            assert not shown_b and f"b_{{{l}}}" not in matrices
        elif shown_b:
            assert len(shown_b) == units[l]
            for k, (_, tex) in shown_b.items():
                j = int(k.split("-")[1])
                # the entry's own name; a one-unit layer's vector has one entry
                assert tex.split("=")[0].strip() == (f"b_{{{l},{j}}}" if units[l] > 1 else
                                                     f"b_{{{l}}}")
                check(b[0, j - 1], parse_number(value_of(tex)), digits)
        else:
            m = parse_matrix(matrices[f"b_{{{l}}}"].split("=", 1)[1])
            for (_, c), shown in m.cells.items():
                check(b[0, c], shown, digits)
    assert_biases_on_one_side(neurons, labels)


def assert_biases_on_one_side(neurons: dict, labels: dict) -> None:
    """Every bias label straight above its neuron, or every one straight below, all at the
    same distance (coordinates are written to 0.01 cm)."""
    offsets = []
    for k, ((x, y), _) in labels.items():
        if k.startswith("B"):
            l, j = k[1:].split("-")
            nx, ny = neurons[f"L{l}N{j}"]
            offsets.append((x - nx, y - ny))
    if offsets:
        assert all(abs(dx) < 0.011 for dx, _ in offsets), offsets
        dys = [dy for _, dy in offsets]
        assert max(dys) - min(dys) < 0.011, offsets
        assert abs(dys[0]) > NEURON_R, offsets


@pytest.mark.parametrize("vector,entry", [
    ("b_{1}", "b_{1,2}"), ("B", "B_{2}"), (r"b_{\mathrm{out}}", r"b_{\mathrm{out},2}"),
    (r"\beta", r"\beta_{2}"), (r"\hat{b}", r"\hat{b}_{2}"), ("c^{a}", "c^{a}_{2}")])
def test_a_bias_entry_is_named_by_its_vector_and_unit(vector, entry):
    assert entry_name(vector, 2) == entry


def test_display_names_name_every_entry_and_labels_share_one_side():
    # exam2's second network: biases B (hidden) and C (output), one value repeated
    W = [np.array([[0.5938, 0.0634], [0.0018, 0.1043], [0.3504, 0.0656]]),
         np.array([[1.0, 0.41, 0.26], [0.24, 0.53, 0.71]])]
    b = [np.array([[0.76, 0.76]]), np.array([[0.95, 0.21, 0.98]])]
    t = tikz_network((3, 2, 3), ("sigmoid", "softmax"), W, b, digits=4, bias_names=["B", "C"])
    neurons, labels, _, under = read(t)
    names = {k: tex.split("=")[0].strip() for k, (_, tex) in labels.items() if k[0] == "B"}
    assert names == {"B1-1": "B_{1}", "B1-2": "B_{2}", "B2-1": "C_{1}", "B2-2": "C_{2}",
                     "B2-3": "C_{3}"}
    assert [value_of(labels[k][1]) for k in sorted(names)] == ["0.76", "0.76", "0.95", "0.21",
                                                             "0.98"]
    assert not under
    assert_biases_on_one_side(neurons, labels)


def test_repeated_weights_are_said_once_and_many_edges_become_a_matrix():
    ones = [np.ones((3, 4)), np.ones((4, 1)) * 0.5]
    t = tikz_network((3, 4, 1), ("relu", "sigmoid"), ones, [None, None])
    assert "node[w]" not in t
    assert r"W_{1}\colon \text{all weights } {1}" in t and r"\text{all weights } {0.5}" in t
    rng = np.random.default_rng(0)
    many = [rng.normal(size=(4, 4)), rng.normal(size=(4, 1))]  # 16 edges in the first gap
    t = tikz_network((4, 4, 1), ("relu", "sigmoid"), many, [None, None])
    assert not re.search(r"\(E1-", t) and r"W_{1} = \begin{bmatrix}" in t
    assert len(re.findall(r"\(E2-", t)) == 4  # four edges still carry their weights


def test_columns_layout_shows_the_matrix_as_out_by_in():
    rng = np.random.default_rng(1)
    W = rng.normal(size=(4, 5))  # rows layout: in x out
    t = tikz_network((4, 5, 1), ("relu", "sigmoid"), [W, np.ones((5, 1))], [None, None],
                     layout="columns")
    m = parse_matrix(UNDER.findall(t)[0].split("=", 1)[1])
    assert m.shape == (5, 4)


def test_deep_networks_number_layers_with_brackets_not_parentheses():
    W = [np.ones((2, 2)) * 0.1, np.ones((2, 2)) * 0.2, np.ones((2, 1))]
    t = tikz_network((2, 2, 2, 1), ("relu", "relu", "sigmoid"), W, [None] * 3)
    assert r"h^{[1]}_{1}" in t and r"h^{[2]}_{2}" in t and "^{(" not in t


LABELS = ["0.5", "-0.004588", "1", r"7.438 \times 10^{-6}", r"-2.685 \times 10^{-6}",
          "-0.0001234", "123.4", r"b_{2} = -0.6125", r"C = -7.665 \times 10^{-4}",
          r"W_{1}\colon \text{all weights } {-0.25}", r"b_{\mathrm{out}} = 0.7150"]


def test_label_size_estimate_covers_what_tex_sets(tmp_path):
    body = "\n".join(
        rf"\setbox0\hbox{{\scriptsize${t}$}}\message{{WIDTH{k}=\the\wd0;HEIGHT{k}=\the\dimexpr\ht0+\dp0\relax;}}"
        for k, t in enumerate(LABELS))
    (tmp_path / "m.tex").write_text(
        "\\documentclass[11pt]{article}\\usepackage{amsmath}\\begin{document}\n" + body
        + "\n\\end{document}\n")
    r = subprocess.run(["pdflatex", "-interaction=batchmode", "-no-shell-escape", "m.tex"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=60)
    log = (tmp_path / "m.log").read_text(errors="replace").replace("\n", "")
    assert r.returncode == 0, log[-2000:]
    cm = 2.54 / 72.27
    for k, tex in enumerate(LABELS):
        width = float(re.search(rf"WIDTH{k}=([\d.]+)pt", log)[1]) * cm
        height = float(re.search(rf"HEIGHT{k}=([\d.]+)pt", log)[1]) * cm
        w, h = label_size(tex)
        drawn = width + 2 * 1 * cm  # the node's inner sep is 1pt
        assert drawn <= w, (tex, drawn, w)  # TeX's box fits the estimate
        assert w - drawn <= 0.1 + 0.2 * drawn, (tex, drawn, w)  # and wastes little room
        assert height <= h - PAD_CM, (tex, height, h)
