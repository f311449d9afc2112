"""Figures: the TikZ diagram puts the right weight on the right edge in both layouts, every
shipped PDF carries its figures, and an unchanged rebuild draws nothing."""

from __future__ import annotations

import html
import re
import subprocess
import unicodedata

import pytest
from conftest import PROBLEMS

from nnreport.build import BuildOptions, build
from nnreport.render import plots

# the label of the edge from unit i of layer l-1 to unit j of layer l is the node E{l}-{i}-{j}
EDGE = re.compile(r"\\node\[w\] \(E(\d)-(\d)-(\d)\) at \([^)]*\) \{\$([-\d.]+)\$\};")

NET222 = """
title: diagram
layout: {layout}
problems:
  - id: d
    data: {{X: {X}, Y: {Y}}}
    network: {{layers: [{{units: 2, activation: sigmoid}}, {{units: 2, activation: softmax}}]}}
    params: {{W1: {W1}, W2: {W2}, b1: [0.5, -0.5], b2: [0.25, 0.75]}}
    loss: cce
"""


@pytest.mark.parametrize("layout", ["rows", "columns"])
def test_diagram_edges_carry_the_right_weights(tmp_path, layout):
    # weight from input i to unit j is "0.ij" (layer 1) and "0.9ij"... written in each layout
    w1_rows = [[0.11, 0.12], [0.21, 0.22]]          # rows: W[i][j], (in, out)
    w2_rows = [[0.311, 0.312], [0.321, 0.322]]
    if layout == "rows":
        W1, W2, X, Y = w1_rows, w2_rows, [[1, 0], [0, 1]], [[1, 0], [0, 1]]
    else:                                            # columns: W[j][i], (out, in)
        W1 = [list(r) for r in zip(*w1_rows, strict=True)]
        W2 = [list(r) for r in zip(*w2_rows, strict=True)]
        X, Y = [[1, 0], [0, 1]], [[1, 0], [0, 1]]
    spec = tmp_path / "d.yaml"
    spec.write_text(NET222.format(layout=layout, W1=W1, W2=W2, X=X, Y=Y))
    build(spec, BuildOptions(output=tmp_path / "out", pdf=False, kinds=("key",)))
    tex = (tmp_path / "out" / "d" / "d-key.tex").read_text()
    first_picture = tex[tex.index(r"\begin{tikzpicture}"):tex.index(r"\end{tikzpicture}")]
    edges = {(int(l) - 1, int(i), int(l), int(j)): v for l, i, j, v in EDGE.findall(first_picture)}
    assert len(edges) == 8
    for i in (1, 2):
        for j in (1, 2):
            assert edges[(0, i, 1, j)] == f"0.{i}{j}"
            assert edges[(1, i, 2, j)] == f"0.3{i}{j}"
    assert r"(B1-1) at" in first_picture and r"{$b_{1,1} = 0.5$}" in first_picture
    assert r"{$b_{1,2} = -0.5$}" in first_picture and r"{$b_{2,2} = 0.75$}" in first_picture


BIAS = re.compile(r"\\node\[b\] \(B(\d)-(\d)\) at \((-?[\d.]+), (-?[\d.]+)\) \{\$(.*?) = (.*?)\$\};")
NEURON = re.compile(r"\\node\[neuron\] \(L(\d)N(\d)\) at \((-?[\d.]+), (-?[\d.]+)\)")


def test_exam2_bias_labels_name_each_entry_on_one_side(tmp_path):
    """exam2's key wrote 'B = 0.76' on two neurons, above one and below another: each label
    names its entry with the problem's display name (B_1, B_2, C_1, ...), every label of a
    picture on the same side of its neuron."""
    import yaml

    spec = yaml.safe_load((PROBLEMS / "exam2.yaml").read_text())
    build(PROBLEMS / "exam2.yaml", BuildOptions(output=tmp_path, pdf=False, kinds=("key",)))
    tex = (tmp_path / "exam2" / "exam2-key.tex").read_text()
    pictures = re.findall(r"\\begin\{tikzpicture\}.*?\\end\{tikzpicture\}", tex, re.S)
    assert len(pictures) == 4
    labelled = 0
    for k, pic in enumerate(pictures):
        problem = spec["problems"][1 + k // 2]  # given and updated network of p2, then p3
        neurons = {(int(l), int(j)): (float(x), float(y)) for l, j, x, y in NEURON.findall(pic)}
        offsets, names = [], []
        for l, j, x, y, name, value in BIAS.findall(pic):
            l, j = int(l), int(j)
            vector = problem["names"][f"b{l}"]
            units = problem["network"]["layers"][l - 1]["units"]
            assert name == (f"{vector}_{{{j}}}" if units > 1 else vector)
            names.append(name)
            nx, ny = neurons[(l, j)]
            offsets.append((float(x) - nx, float(y) - ny))
            if k % 2 == 0 and isinstance(problem["params"][f"b{l}"], list):
                assert float(value) == problem["params"][f"b{l}"][j - 1]
        assert len(names) == len(set(names))
        # straight above (or below) the neuron, all at one distance (coordinates to 0.01 cm)
        assert all(abs(dx) < 0.011 and abs(dy) > 0.4 for dx, dy in offsets)
        assert not offsets or max(dy for _, dy in offsets) - min(dy for _, dy in offsets) < 0.011
        labelled += len(names)
    assert labelled >= 10  # B_1, B_2 and C_1..C_3 in both pictures of problem 3 at least


def test_large_layers_collapse(tmp_path):
    from nnreport.render.diagram import tikz_network

    t = tikz_network((64, 32, 10), ("relu", "linear"))
    assert "64 units" in t and "32 units" in t and "10 units" in t and r"\vdots" in t
    assert t.count(r"\node[neuron]") == 12  # units 1, 2, 3, dots, n: 4 neurons a layer
    assert "node[w" not in t                # no weights written on a big network


def _pdf_text(path):
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    out = tmp_path_factory.mktemp("figs")
    for name in ["exam2", "moons", "problemset3", "assignment01"]:
        build(PROBLEMS / f"{name}.yaml", BuildOptions(output=out))
    return out


@pytest.mark.parametrize("name,expect", [
    ("exam2", {"tikz": 4, "files": ["data-"]}),
    ("moons", {"tikz": 2, "files": ["loss-", "boundary-"]}),
    ("problemset3", {"tikz": 1, "files": ["loss-", "activations-"]}),
    ("assignment01", {"tikz": 2, "files": ["loss-"]}),
])
def test_shipped_pdfs_have_their_figures(shipped, name, expect):
    folder = shipped / name
    main = f"{name}-report" if name == "problemset3" else f"{name}-key"
    tex = (folder / f"{main}.tex").read_text()
    included = re.findall(r"\\includegraphics(?:\[[^\]]*\])?\{([^}]*)\}", tex)
    # network diagrams: TikZ, compiled once to figures/tikz-<hash>.pdf (or inline without TeX)
    diagrams = tex.count(r"\begin{tikzpicture}") + sum(p.startswith("figures/tikz-") for p in included)
    assert diagrams == expect["tikz"]
    for prefix in expect["files"]:
        hits = [p for p in included if p.startswith("figures/" + prefix)]
        assert hits, (prefix, included)
        assert all((folder / p).is_file() for p in hits)
    text = _pdf_text(folder / f"{main}.pdf")
    if "loss-" in expect["files"]:
        assert "training loss" in text and "epoch" in text   # axis labels, as vector text
    if "boundary-" in expect["files"]:
        assert "before training" in text and "after training" in text


def _words(pdf):
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True,
                         text=True).stdout
    # NFC: TeX's y-hat comes out as y and a combining circumflex
    return [(float(a), float(b), float(c), float(d), unicodedata.normalize("NFC", html.unescape(w)))
            for a, b, c, d, w in
            re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" '
                       r'yMax="([\d.]+)">(.*?)</word>', out)]


def test_exam2_bias_labels_as_printed(shipped):
    """In the diagrams as TeX set them: each bias label (letter, subscript, '=', value) is
    centred on one neuron's column, every label of a picture the same height above (or below)
    its neuron, and no two labels of a picture share a name."""
    folder = shipped / "exam2"
    tex = (folder / "exam2-key.tex").read_text()
    pictures = re.findall(r"\{(figures/tikz-[0-9a-f]+\.pdf)\}", tex)
    assert len(pictures) == 4
    seen = 0
    for pic in pictures:
        w = _words(folder / pic)
        neurons = [((w[i][0] + w[i + 1][2]) / 2, (w[i][1] + w[i][3]) / 2)
                   for i in range(len(w) - 1) if w[i][4] in ("h", "ŷ") and w[i + 1][4].isdigit()]
        neurons += [((a + c) / 2, (b + d) / 2) for a, b, c, d, t in w if t == "ŷ"]
        names, shifts = [], []
        for i in range(len(w) - 3):
            sub = w[i + 1][4] if w[i + 1][4].isdigit() else ""  # none: a one-unit layer's C
            eq = w[i + 2] if sub else w[i + 1]
            if w[i][4] not in ("B", "C") or eq[4] != "=":
                continue
            x, y = (w[i][0] + w[i + 3 if sub else i + 2][2]) / 2, (eq[1] + eq[3]) / 2
            nx, ny = min(neurons, key=lambda n: abs(n[0] - x) + abs(n[1] - y))
            if not sub and abs(y - ny) > 30:
                continue  # a vector under the picture ("B = [0 0 0]")
            names.append(w[i][4] + sub)
            assert abs(nx - x) < 3, (pic, names[-1])  # centred on its neuron
            shifts.append(y - ny)
        assert len(names) == len(set(names)), (pic, names)
        if shifts:
            assert all(abs(s) > 10 for s in shifts) and max(shifts) - min(shifts) < 1.5, shifts
        seen += len(names)
    assert seen >= 10


def test_rebuild_without_changes_draws_nothing(tmp_path):
    out = tmp_path / "out"
    plots.DRAWN.clear()
    build(PROBLEMS / "moons.yaml", BuildOptions(output=out, pdf=False))
    assert len(plots.DRAWN) == 2
    first = sorted(p.read_bytes() for p in (out / "moons" / "figures").glob("*.pdf"))
    plots.DRAWN.clear()
    build(PROBLEMS / "moons.yaml", BuildOptions(output=out, pdf=False))
    assert plots.DRAWN == []
    again = sorted(p.read_bytes() for p in (out / "moons" / "figures").glob("*.pdf"))
    assert first == again


def test_figures_are_reproducible_bytes(tmp_path):
    a = plots.loss_curve([3.0, 2.0, 1.0], tmp_path / "a", None)
    b = plots.loss_curve([3.0, 2.0, 1.0], tmp_path / "b", None)
    assert (tmp_path / "a" / a).read_bytes() == (tmp_path / "b" / b).read_bytes()


@pytest.mark.parametrize("history,scale", [([100.0, 1.0, 0.01], "log"), ([0.7, 0.5, 0.31], "linear"),
                                           ([5.0, 0.06], "linear"), ([5.0, 0.04], "log")])
def test_loss_curve_uses_log_scale_when_spanning_decades(history, scale):
    import numpy as np
    from matplotlib.figure import Figure

    ax = plots.draw_loss(Figure(), np.array(history))
    assert ax.get_yscale() == scale
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "training loss"


@pytest.mark.parametrize("name", ["exam2", "moons"])
def test_every_figure_reference_names_the_figure_it_means(shipped, name):
    """Numbers are written in by nnreport (one TeX pass): each 'Figure N <verb>' sentence is
    followed by the caption 'Figure N:' of the figure it introduces."""
    text = _pdf_text(shipped / name / f"{name}-key.pdf")
    refs = re.findall(r"Figure (\d+) (?:draws|shows|plots|compares)", text)
    captions = re.findall(r"Figure (\d+):", text)
    assert refs and refs == captions
    assert captions == [str(k) for k in range(1, len(captions) + 1)]
    assert "??" not in text


def test_no_shipped_pdf_is_left_with_unsettled_tables_or_references(shipped):
    # longtable aligns its chunks only once the widths are in the .aux: such a document gets
    # its second pass (one pass made a grading grid's header stand off its columns)
    logs = sorted(shipped.glob("*/*.log"))
    assert len(logs) >= 7
    for log in logs:
        text = log.read_text(errors="replace")
        assert "Rerun" not in text and "widths have changed" not in text, log.name


def test_a_longtable_document_gets_its_second_pass(tmp_path):
    from nnreport.compile import compile_tex

    rows = "\n".join(f"{i} & {'x' * i} \\\\" for i in range(70))  # later chunks wider
    tex = ("\\documentclass{article}\\usepackage{longtable}\\begin{document}"
           "\\begin{longtable}{rl}head & wide column head\\\\\\endhead\n" + rows +
           "\n\\end{longtable}\\end{document}\n")
    result = compile_tex(tex, "t", workdir=tmp_path)
    assert result.passes == 2 and "widths have changed" not in result.log


TWO_POINTS = """
title: two points
problems:
  - id: t
    data: {X: [[1, 0], [0.5, -1]], Y: [[1], [0]]}
    network: {layers: [{units: 2, activation: sigmoid}, {units: 1, activation: sigmoid}]}
    params: {W1: [[0.1, 0.2], [0.3, 0.4]], W2: [[0.5], [-0.5]], b1: [0, 0], b2: [0]}
    loss: bce
"""


def test_a_two_point_scatter_is_printed_small(tmp_path):
    """The data figure of two samples took a third of a page: it is printed at the size it is
    drawn, a small one (height from the .tex width and the figure's own page size)."""
    spec = tmp_path / "t.yaml"
    spec.write_text(TWO_POINTS)
    build(spec, BuildOptions(output=tmp_path / "out", pdf=False, kinds=("key",)))
    folder = tmp_path / "out" / "t"
    tex = (folder / "t-key.tex").read_text()
    width, path = re.search(r"\\includegraphics\[width=([\d.]+)\\linewidth\]\{(figures/data-[^}]+)\}",
                            tex).groups()
    info = subprocess.run(["pdfinfo", str(folder / path)], capture_output=True, text=True).stdout
    w, h = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())
    printed_w = float(width) * 17.0  # cm: A4 less 2 cm margins
    assert printed_w <= 0.45 * 17.0
    assert printed_w * h / w <= 5.5  # cm, of a text height of 25.7 cm
    # drawn at the size it is printed: its 10 pt labels print at 9 pt or more
    assert printed_w / (w / 72 * 2.54) >= 0.9
