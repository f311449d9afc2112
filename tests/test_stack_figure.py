"""The network of configured layers drawn as a stack of feature maps (render/stack.py, issue
25): built through the CLI, the key's figure names every layer's output with the shape worked
out here by hand ((n + 2p - k) // s + 1 per side of a conv, (n - k) // s + 1 of a pool, the
product for a flatten, the units of a dense or rnn layer, tokens x d_v of attention), writes
each layer's operation on its arrow, appears on the question sheet too, and compiles inside
the text width with no overfull box; a pure dense problem keeps its diagram byte for byte."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import PROBLEMS

from nnreport.cli import cli

needs_tex = pytest.mark.skipif(shutil.which("pdflatex") is None or
                               shutil.which("pdftoppm") is None, reason="needs TeX and poppler")
TEXTWIDTH_PT = (21.0 - 4.0) / 2.54 * 72.27  # A4 with 2 cm margins, in TeX points


def run(*args: str) -> None:
    r = CliRunner().invoke(cli, list(args))
    assert r.exit_code == 0, (r.stdout, r.exception)


# ---- the shapes, by hand --------------------------------------------------------------------

def side(n: int, k: int, s: int, p: int) -> int:
    assert (n + 2 * p - k) % s == 0  # the specs below use strides that fit
    return (n + 2 * p - k) // s + 1


def by_hand(x_shape: tuple[int, ...], layers: list[dict]) -> list[tuple[int, ...]]:
    """Each stage's feature shape: X's, then every layer's output."""
    shapes = [tuple(x_shape)]
    for la in layers:
        cur = shapes[-1]
        kind = la.get("type", "dense")
        if kind == "conv":
            k, s, p = la["kernel"], la.get("stride", 1), la.get("padding", 0)
            shapes.append((la["filters"], side(cur[1], k, s, p), side(cur[2], k, s, p)))
        elif kind == "pool":
            k = la["size"]
            s = la.get("stride", k)
            shapes.append((cur[0], side(cur[1], k, s, 0), side(cur[2], k, s, 0)))
        elif kind == "flatten":
            shapes.append((math.prod(cur),))
        elif kind in ("batchnorm", "dropout"):
            shapes.append(cur)
        elif kind == "rnn":
            u = la["units"]
            shapes.append((u,) if la.get("return", "last") == "last" else (cur[0], u))
        elif kind == "attention":
            shapes.append((cur[0], la.get("d_v", 2)))
        else:
            shapes.append((la["units"],))
    return shapes


# ---- the specs --------------------------------------------------------------------------------

def images(m: int, c: int, h: int, w: int) -> list:
    """Inputs with distinct-ish values (no ties to care about here)."""
    return [[[[((3 * i + 5 * j + 7 * ch + n) % 5) - 2 for j in range(w)] for i in range(h)]
             for ch in range(c)] for n in range(m)]


VARIANTS = {
    "channels": ((2, 4, 4), [
        {"type": "conv", "filters": 3, "kernel": 2, "stride": 1, "activation": "relu"},
        {"type": "flatten"}, {"units": 1, "activation": "sigmoid"}]),
    "strided": ((1, 5, 5), [
        {"type": "conv", "filters": 2, "kernel": 3, "stride": 2, "padding": 1,
         "activation": "relu"},
        {"type": "pool", "kind": "avg", "size": 3, "stride": 1},
        {"type": "flatten"}, {"units": 1, "activation": "sigmoid"}]),
    "two_convs": ((1, 6, 6), [
        {"type": "conv", "filters": 2, "kernel": 3, "activation": "relu"},
        {"type": "conv", "filters": 3, "kernel": 2, "activation": "tanh"},
        {"type": "pool", "kind": "max", "size": 3}, {"type": "flatten"},
        {"units": 3, "activation": "relu"}, {"units": 1, "activation": "sigmoid"}]),
    "eight": ((1, 12, 12), [
        {"type": "conv", "filters": 8, "kernel": 3, "activation": "relu"},
        {"type": "pool", "kind": "max", "size": 2}, {"type": "flatten"},
        {"units": 1, "activation": "sigmoid"}]),
    "mnist_like": ((1, 28, 28), [
        {"type": "conv", "filters": 8, "kernel": 3, "activation": "relu"},
        {"type": "conv", "filters": 8, "kernel": 3, "activation": "relu"},
        {"type": "pool", "kind": "max", "size": 2}, {"type": "flatten"},
        {"units": 16, "activation": "relu"},
        {"type": "dropout", "p": 0.25, "mask": [[1, 0] * 8]},
        {"units": 1, "activation": "sigmoid"}]),
    "rnn_all": ((8, 3), [
        {"type": "rnn", "units": 2, "return": "sequence"}, {"type": "flatten"},
        {"type": "batchnorm"}, {"units": 1, "activation": "linear"}]),
}


def variant_spec(name: str, extra: dict | None = None) -> dict:
    shape, layers = VARIANTS[name]
    X = images(1, *shape) if len(shape) == 3 else \
        [[[((t + f) % 3) / 2 - 0.5 for f in range(shape[1])] for t in range(shape[0])]]
    p = {"id": name, "data": {"X": X, "Y": [[1]]}, "network": {"layers": layers},
         "loss": "bce" if layers[-1]["activation"] == "sigmoid" else "mse",
         "train": {"optimizer": "sgd", "lr": 0.5, "epochs": 1}, **(extra or {})}
    return {"title": name, "problems": [p]}


def exam_problems(file: str) -> list[tuple[str, tuple[int, ...], list[dict]]]:
    """(id, X's feature shape, layers) of a shipped exam's problems that draw the figure."""
    doc = yaml.safe_load((PROBLEMS / file).read_text())
    out = []
    for p in doc["problems"]:
        if p.get("figures") == []:
            continue
        shape = _feature_shape(p["data"]["X"])
        out.append((p["id"], shape, p["network"]["layers"]))
    return out


def _feature_shape(X: list) -> tuple[int, ...]:
    s: list[int] = []
    v = X[0]
    while isinstance(v, list):
        s.append(len(v))
        v = v[0]
    return tuple(s)


# ---- reading the figure back ------------------------------------------------------------------

STAGE = re.compile(r"\\node\[[^\]]*\] \(S(\d+)\) at \([^)]*\) "
                   r"\{\$\\vphantom\{\\hat\{Y\}\}(.*?)\$\\\\ \$(.*?)\$\};")
OP = re.compile(r"\\node\[[^\]]*\] \(O(\d+)\) at \([^)]*\) \{(.*?)\};")


def figures(tex: str) -> list[str]:
    return [t for t in re.findall(r"\\begin\{tikzpicture\}.*?\\end\{tikzpicture\}", tex, re.S)
            if "(S0)" in t]


def stages(tikz: str) -> list[tuple[str, tuple[int, ...]]]:
    found = sorted((int(i), name, tuple(int(n) for n in shape.split(r"\times")))
                   for i, name, shape in STAGE.findall(tikz))
    assert [i for i, _, _ in found] == list(range(len(found)))
    return [(name, shape) for _, name, shape in found]


def ops(tikz: str) -> dict[int, str]:
    return {int(i): text for i, text in OP.findall(tikz)}


def expected_op(la: dict) -> list[str]:
    """Words the arrow into a layer's output must carry."""
    kind = la.get("type", "dense")
    act = {"relu": "ReLU", "tanh": "tanh", "sigmoid": "sigmoid", "linear": "linear"}
    if kind == "conv":
        k = la["kernel"]
        out = [rf"\text{{conv }}{k} \times {k}", rf"\text{{stride }}{la.get('stride', 1)}",
               act[la.get("activation", "relu")]]
        return out + ([rf"\text{{padding }}{la['padding']}"] if la.get("padding") else [])
    if kind == "pool":
        k = la["size"]
        return [rf"\text{{{la.get('kind', 'max')} pool }}{k} \times {k}",
                rf"\text{{stride }}{la.get('stride', k)}"]
    if kind == "dropout":
        return [r"\text{dropout}", f"p = {la['p']}"]
    if kind == "rnn":
        return ["rnn", "every state" if la.get("return") == "sequence" else "last state"]
    if kind == "attention":
        return ["attention", f"d_k = {la.get('d_k', 2)}", f"d_v = {la.get('d_v', 2)}"]
    if kind in ("flatten", "batchnorm"):
        return [kind]
    return ["dense", act[la["activation"]]]


def check_figure(tikz: str, x_shape: tuple[int, ...], layers: list[dict]) -> None:
    got = stages(tikz)
    want = by_hand(x_shape, layers)
    assert [s for _, s in got] == want, (got, want)
    L = len(layers)
    assert got[0][0] == "X" and got[L][0] == r"\hat{Y}"
    assert [n for n, _ in got[1:L]] == [f"H_{{{l}}}" for l in range(1, L)]
    arrows = ops(tikz)
    assert sorted(arrows) == list(range(1, L + 1))
    for l, la in enumerate(layers, 1):
        for word in expected_op(la):
            assert word in arrows[l], (l, word, arrows[l])


# ---- the tests ----------------------------------------------------------------------------------

@pytest.mark.parametrize("file", ["cnn_exam.yaml", "sequences_exam.yaml"])
def test_shipped_exams_draw_the_stack_with_shapes_by_hand(tmp_path, file):
    run("build", str(PROBLEMS / file), "-o", str(tmp_path), "--no-pdf")
    name = file.removesuffix(".yaml")
    key = (tmp_path / name / f"{name}-key.tex").read_text()
    questions = (tmp_path / name / f"{name}-questions.tex").read_text()
    drawn = figures(key)
    probs = exam_problems(file)
    assert len(drawn) == len(probs) > 0  # one per problem that has figures
    for tikz, (_, shape, layers) in zip(drawn, probs, strict=True):
        check_figure(tikz, shape, layers)
    assert figures(questions) == drawn  # shapes are given: the sheet shows the same picture


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variants_draw_every_layer_with_its_shape(tmp_path, name):
    spec = tmp_path / f"{name}.yaml"
    spec.write_text(yaml.safe_dump(variant_spec(name)))
    run("build", str(spec), "-o", str(tmp_path / "out"), "--no-pdf", "--key")
    (tikz,) = figures((tmp_path / "out" / name / f"{name}-key.tex").read_text())
    shape, layers = VARIANTS[name]
    check_figure(tikz, shape, layers)
    if max(la.get("filters", 0) for la in layers) > 4:  # 8 maps: 4 slabs drawn, dots between
        first = tikz.split(r"(S1)")[0].split(r"(S0)")[1]
        assert first.count("rectangle") == 4 and first.count(r"\fill") == 3


def test_course_symbols_name_the_stages(tmp_path):
    """symbols: {H: o}: the stages are named as the key's lines write them."""
    spec = tmp_path / "strided.yaml"
    spec.write_text(yaml.safe_dump(variant_spec("strided", {"symbols": {"H": "o"}})))
    run("build", str(spec), "-o", str(tmp_path / "out"), "--no-pdf", "--key")
    (tikz,) = figures((tmp_path / "out" / "strided" / "strided-key.tex").read_text())
    assert [n for n, _ in stages(tikz)] == ["X", "o_{1}", "o_{2}", "o_{3}", r"\hat{Y}"]


def test_pure_dense_problem_keeps_its_node_diagram(tmp_path):
    run("build", str(PROBLEMS / "exam2.yaml"), "-o", str(tmp_path), "--no-pdf", "--key")
    tex = (tmp_path / "exam2" / "exam2-key.tex").read_text()
    assert r"\node[neuron] (L0N1)" in tex and not figures(tex)


def _figure_page(pdf: Path) -> int:
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(
        ["pdfinfo", str(pdf)], capture_output=True, text=True).stdout).group(1))
    for p in range(1, pages + 1):
        text = subprocess.run(["pdftotext", "-f", str(p), "-l", str(p), str(pdf), "-"],
                              capture_output=True, text=True).stdout
        if "each layer’s output for one sample" in text or \
                "each layer's output for one sample" in text:
            return p
    raise AssertionError(f"no page of {pdf.name} has the figure's caption")


def _inline_width(tikz: str, tmp: Path) -> tuple[float, float, str]:
    """The picture set inline as the key sets it (a centred minipage of the line width, the
    key's page geometry): its width and the text width in pt, and TeX's log."""
    doc = ("\\documentclass[11pt,a4paper]{article}\\usepackage[T1]{fontenc}\\usepackage{lmodern}"
           "\\usepackage[margin=2cm]{geometry}\\usepackage{amsmath,amssymb}\\usepackage{tikz}"
           "\\begin{document}\\setbox0\\hbox{" + tikz + "}\\typeout{FIG:\\the\\wd0}"
           "\\typeout{TW:\\the\\textwidth}\\noindent\\begin{minipage}{\\linewidth}\\centering\n"
           + tikz + "\n\\end{minipage}\\end{document}\n")
    (tmp / "w.tex").write_text(doc)
    r = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-no-shell-escape", "w.tex"],
                       cwd=tmp, capture_output=True, text=True, timeout=120)
    log = (tmp / "w.log").read_text(errors="replace")
    assert r.returncode == 0, log[-2000:]
    fig = float(re.search(r"FIG:([\d.]+)pt", log).group(1))
    return fig, float(re.search(r"TW:([\d.]+)pt", log).group(1)), log


@needs_tex
@pytest.mark.parametrize("name", ["cnn_exam", "sequences_exam", "two_convs", "eight",
                                  "mnist_like"])
def test_figure_compiles_inside_the_text_width(tmp_path, name):
    if name in VARIANTS:
        spec = tmp_path / f"{name}.yaml"
        spec.write_text(yaml.safe_dump(variant_spec(name)))
    else:
        spec = PROBLEMS / f"{name}.yaml"
    run("build", str(spec), "-o", str(tmp_path / "inline"), "--no-pdf", "--key")
    for k, tikz in enumerate(figures((tmp_path / "inline" / name / f"{name}-key.tex")
                                     .read_text())):
        fig, text, log = _inline_width(tikz, tmp_path)
        assert abs(text - TEXTWIDTH_PT) < 1.0
        assert 0 < fig <= text, (k, fig, text)
        assert "Overfull" not in log
    # the key as built: the picture drawn once to a PDF, included at its natural size
    run("build", str(spec), "-o", str(tmp_path / "out"), "--key")
    out = tmp_path / "out" / name
    tex = (out / f"{name}-key.tex").read_text()
    lines = tex.splitlines()
    starts = [i + 1 for i, t in enumerate(lines) if "draws the network" in t]
    assert starts
    for pdf in (out / "figures").glob("tikz-*.pdf"):
        w = float(re.search(r"Page size:\s+([\d.]+) x", subprocess.run(
            ["pdfinfo", str(pdf)], capture_output=True, text=True).stdout).group(1))
        assert w <= TEXTWIDTH_PT * 72 / 72.27, (pdf.name, w)  # PostScript points
    log = (out / f"{name}-key.log").read_text(errors="replace")
    bad = [int(n) for n in re.findall(r"Overfull \\hbox .*? at lines? (\d+)", log)]
    if name in ("cnn_exam", "sequences_exam"):
        assert "Overfull" not in log
    # none in the figure's box (a big input's worked lines may run long: not this figure's)
    assert not [n for n in bad for s in starts if s - 5 <= n <= s + 12], bad
    page = _figure_page(out / f"{name}-key.pdf")
    png = tmp_path / f"{name}-figure"
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", str(page), "-l", str(page),
                    "-singlefile", str(out / f"{name}-key.pdf"), str(png)], check=True)
    assert png.with_suffix(".png").stat().st_size > 1000


@needs_tex
def test_html_pages_show_the_figure_as_svg(tmp_path):
    """The HTML pages (key and question sheet) show the picture as the PDF does: drawn once,
    inlined as an SVG image under the sentence that refers to it."""
    import base64

    run("build", str(PROBLEMS / "cnn_exam.yaml"), "-o", str(tmp_path), "--format", "html")
    for page in ("key", "questions"):
        html = (tmp_path / "cnn_exam" / f"cnn_exam-{page}.html").read_text()
        m = re.search(r'draws the network\.</p><figure id="fig:conv-network">\s*'
                      r'<img src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', html)
        assert m, page
        svg = base64.b64decode(m.group(1)).decode()
        assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "<path" in svg
