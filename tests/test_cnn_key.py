"""`nnreport build` of conv-family specs (issue 25): the key's printed results against an
independent reference (tests/ndref.py: explicit loops and finite differences, nothing of
nnreport's arithmetic), `check` on a submission made from the reference, the Moodle export
and the HTML page. A value of more than two dimensions (Z1 [m, F, h, w]) is printed as maps,
one line per sample and map, (Z_{1})^{(n)}_{f}; it is graded as one value under its JSON
name."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from conftest import PROBLEMS
from fdiff import central
from ndref import dH, forward, losses
from texnumbers import parse_matrix, parse_number
from workedtex import correct, matrices

from nnreport.cli import cli

SLACK = 1e-7  # a finite difference's error, far below a unit of the 4th digit here


def run(*args: str) -> str:
    r = CliRunner().invoke(cli, list(args))
    assert r.exit_code == 0, (r.stdout, r.stderr if r.stderr_bytes else "", r.exception)
    return r.stdout


def steps_of(tex: str) -> dict[str, str]:
    """Each worked line of the key's align* blocks: its left side -> its printed result."""
    out: dict[str, str] = {}
    for body in re.findall(r"\\begin\{align\*\}(.*?)\\end\{align\*\}", tex, re.S):
        for chunk in re.split(r"\\\\\[[\d.]+ex\]", body):
            if "&=" not in chunk:
                continue
            lhs, rest = chunk.split("&=", 1)
            lhs = lhs.rsplit("}\n", 1)[-1] if r"\shortintertext" in lhs else lhs
            rest = rest.split(r"\tag*")[0]
            rest = re.sub(r"\\\\\*|&\\qquad|\\(left|right)\.", " ", rest)
            out.setdefault(lhs.strip(), rest.rsplit("=", 1)[-1].strip())
    return out


def printed_ok(result: str, want: np.ndarray | float, digits: int, exact: bool) -> int:
    """Every printed number of a result (a bmatrix, or a number) is `want` correctly
    rounded to `digits` significant digits; exact: want is loop arithmetic (else a finite
    difference, within SLACK)."""
    a = np.atleast_2d(np.asarray(want, dtype=float))
    mats = matrices(result)
    if mats:
        mat = parse_matrix(mats[-1])
        assert mat.shape == a.shape, (mat.shape, a.shape, result[:200])
        cells = mat.cells.items()
    else:
        assert a.size == 1, result
        cells = [((0, 0), parse_number(result))]  # type: ignore[list-item]
    for (i, j), n in cells:
        x = float(a[i, j])
        if exact and abs(float(n.value) - x) <= 1e-12 * max(1.0, abs(x)):
            continue  # the exact value (-2.1), which the float -2.0999999999999996 stands for
        if exact:
            assert correct(n, Fraction(x), digits), (n.text, x, result[:120])
        else:
            unit = 10.0 ** n.last
            assert abs(float(n.value) - x) <= unit / 2 + SLACK, (n.text, x, result[:120])
    return len(list(cells)) if not isinstance(cells, list) else 1


def sym(name: str, n: int, f: int) -> str:
    return rf"\left({name}\right)^{{({n + 1})}}_{{{f + 1}}}"


def spec(layers, X, Y, P, loss="bce", lr=0.5, ask=()) -> dict:
    return {"id": "p", "network": {"layers": layers},
            "data": {"X": np.asarray(X).tolist(), "Y": np.asarray(Y).tolist()},
            "loss": loss, "params": {k: np.asarray(v).tolist() for k, v in P.items()},
            "train": {"optimizer": "sgd", "lr": lr, "epochs": 1}, "ask": list(ask)}


CONV_ASK = ["Z1", "H1", "H2", "H3", "yhat", "dW4", "dH3", "dH2", "dH1", "dZ1", "dW1", "db1",
            "W1_new"]


def exam_problem() -> tuple[list, np.ndarray, np.ndarray, dict]:
    p = yaml.safe_load((PROBLEMS / "cnn_exam.yaml").read_text())["problems"][0]
    P = {k: np.asarray(v, dtype=float) for k, v in p["params"].items()}
    return (p["network"]["layers"], np.asarray(p["data"]["X"], float),
            np.asarray(p["data"]["Y"], float), P)


def variant_stride_channels() -> tuple[list, np.ndarray, np.ndarray, dict]:
    """2 channels, 2 filters, stride 2 with padding 1, average pooling, two samples."""
    layers = [{"type": "conv", "filters": 2, "kernel": 2, "stride": 2, "padding": 1,
               "activation": "relu"},
              {"type": "pool", "kind": "avg", "size": 2, "stride": 1},
              {"type": "flatten"}, {"units": 1, "activation": "sigmoid"}]
    X = np.array([[[[1, 0, 2, 1], [0, 3, 1, 1], [2, 1, 1, 1], [1, 0, 2, 2]],
                   [[0, 1, 0, 2], [1, 0, 1, 0], [2, 0, 1, 1], [0, 1, 0, 1]]],
                  [[[2, 1, 0, 0], [1, 1, 0, 2], [0, 2, 1, 0], [1, 0, 0, 1]],
                   [[1, 1, 1, 0], [0, 2, 0, 1], [1, 0, 2, 0], [0, 1, 1, 1]]]], float)
    Y = np.array([[1], [0]], float)
    P = {"W1": np.array([[[[1, -1], [0, 1]], [[0.5, 0], [1, -0.5]]],
                         [[[0, 1], [1, 0]], [[-1, 0.5], [0, 1]]]]),
         "b1": np.array([0.05, 0.35]),  # no Z exactly 0 (a finite difference's kink)
         "W4": np.array([[0.5], [-1], [0.5], [0], [1], [0], [-0.5], [0.5]]),
         "b4": np.array([[0.0]])}
    return layers, X, Y, P


def variant_padding_max() -> tuple[list, np.ndarray, np.ndarray, dict]:
    """One channel, 2 filters of 3x3 with padding 1, max pooling 2x2 (stride 2), squared
    error."""
    layers = [{"type": "conv", "filters": 2, "kernel": 3, "stride": 1, "padding": 1,
               "activation": "relu"},
              {"type": "pool", "kind": "max", "size": 2},
              {"type": "flatten"}, {"units": 1, "activation": "linear"}]
    # distinct entries, odd weights: no tie in a pooling window, no Z exactly 0 (where a
    # finite difference cannot tell which way the gradient goes)
    X = ((np.random.RandomState(5).permutation(16) + 1) * 0.5 - 3.9).reshape(1, 1, 4, 4)
    Y = np.array([[1.0]])
    P = {"W1": np.array([[[[0.3, 0, -0.7], [0, 1, 0], [0.5, 0, 0]]],
                         [[[0, 0.9, 0], [1, -1.3, 1], [0, 0.5, 0]]]]),
         "b1": np.array([0.0, -1.0]),
         "W4": np.array([[0.5], [-0.5], [0], [1], [0.25], [0], [-1], [0.5]]),
         "b4": np.array([[0.5]])}
    return layers, X, Y, P


def reference(layers, X, Y, P, loss: str, lr: float) -> dict[str, np.ndarray]:
    """Every asked value of a conv-pool-flatten-dense problem, computed by tests/ndref.py."""
    v = {k: np.asarray(a, float) for k, a in forward(layers, P, X).items()}
    L = len(layers)
    v["yhat"] = v[f"H{L}"]
    P2 = {k: np.array(a, dtype=float) for k, a in P.items()}
    for name in P2:
        v[f"d{name}"] = central(lambda: losses(forward(layers, P2, X)[f"H{L}"], Y, loss).mean(),
                           P2[name])
        v[f"{name}_new"] = P2[name] - lr * v[f"d{name}"]
    for l in range(1, L):
        v[f"dH{l}"] = dH(layers, P, X, Y, loss, l)  # of the sum of the samples' losses
    relu = (v["Z1"] > 0).astype(float)
    v["dZ1"] = v["dH1"] * relu
    return v


def build_key(tmp: Path, doc: dict, *fmt: str) -> Path:
    path = tmp / "spec.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    run("build", str(path), "-o", str(tmp / "out"), *fmt)
    return tmp / "out" / "spec"


def check_key(tex: str, v: dict[str, np.ndarray], layers: list, exact_forward: bool = True
              ) -> int:
    """Every printed graded result of the conv problem against the reference."""
    st = steps_of(tex)
    L, n_checked = len(layers), 0
    maps = {"Z1": "Z_{1}", "H1": "H_{1}", "H2": "H_{2}", "dH2": "dH_{2}", "dH1": "dH_{1}",
            "dZ1": "dZ_{1}"}
    for key, name in maps.items():
        a = v[key]
        for n in range(a.shape[0]):
            for f in range(a.shape[1]):
                lhs = sym(name, n, f)
                assert lhs in st, (lhs, list(st)[:40])
                n_checked += printed_ok(st[lhs], a[n, f], 4, key in ("Z1", "H1", "H2"))
    W = v["dW1"]
    for f in range(W.shape[0]):
        for c in range(W.shape[1]):
            n_checked += printed_ok(st[rf"\left(dW_{{1}}\right)_{{{f + 1},{c + 1}}}"],
                                    W[f, c], 4, False)
            n_checked += printed_ok(
                st[rf"\left(W_{{1}}^{{\text{{new}}}}\right)_{{{f + 1},{c + 1}}}"],
                v["W1_new"][f, c], 4, False)
    n_checked += printed_ok(st["H_{3}"], v["H3"], 4, True)
    n_checked += printed_ok(st[r"\hat{Y}"], v["yhat"], 4, True)
    n_checked += printed_ok(st[f"dW_{{{L}}}"], v[f"dW{L}"], 4, False)
    n_checked += printed_ok(st[f"dH_{{{L - 1}}}"], v[f"dH{L - 1}"], 4, False)
    n_checked += printed_ok(st["db_{1}"], v["db1"], 4, False)
    return n_checked


def submission(v: dict[str, np.ndarray], ask: list[str]) -> dict:
    return {"p": {k: np.asarray(v[k], float).tolist() for k in ask}}


def check_run(tmp: Path, spec_path: Path, sub: dict) -> tuple[int, str]:
    path = tmp / "sub.yaml"
    path.write_text(yaml.safe_dump(sub))
    r = CliRunner().invoke(cli, ["check", str(spec_path), str(path)])
    return r.exit_code, r.stdout


@pytest.mark.parametrize("make,loss,lr", [(exam_problem, "bce", 0.5),
                                          (variant_stride_channels, "bce", 0.5),
                                          (variant_padding_max, "mse", 0.1)],
                         ids=["exam", "stride2-pad1-2ch-avg", "pad1-2filters-max"])
def test_conv_key_and_check(tmp_path, make, loss, lr):
    layers, X, Y, P = make()
    doc = {"title": "t", "problems": [spec(layers, X, Y, P, loss, lr, CONV_ASK)]}
    out = build_key(tmp_path, doc, "--no-pdf")
    tex = (out / "spec-key.tex").read_text()
    v = reference(layers, X, Y, P, loss, lr)
    assert check_key(tex, v, layers) > 20
    assert "katex" not in tex
    qs = (out / "spec-questions.tex").read_text()
    assert r"X^{(1)}" in qs  # the given image, as maps, on the question sheet
    # check: the reference's values are right, a wrong entry is wrong
    spec_path = tmp_path / "spec.yaml"
    code, text = check_run(tmp_path, spec_path, submission(v, CONV_ASK))
    assert code == 0 and "WRONG" not in text.upper().replace("RIGHT", ""), text
    assert f"{len(CONV_ASK)} of {len(CONV_ASK)} right" in text, text
    bad = submission(v, CONV_ASK)
    bad["p"]["Z1"][0][0][0][0] += 1.0
    code, text = check_run(tmp_path, spec_path, bad)
    assert re.search(r"WRONG\s+p\.Z1:", text), text
    assert f"{len(CONV_ASK) - 1} of {len(CONV_ASK)} right" in text, text


def test_exam_builds_key_questions_moodle_and_html(tmp_path):
    out = tmp_path / "out"
    for fmt in ("pdf", "moodle", "html"):
        run("build", str(PROBLEMS / "cnn_exam.yaml"), "-o", str(out), "--format", fmt,
            *(["--no-pdf"] if fmt != "pdf" else []))
    folder = out / "cnn_exam"
    names = {p.name for p in folder.iterdir()}
    assert {"cnn_exam-key.tex", "cnn_exam-questions.tex", "moodle.xml",
            "cnn_exam-key.html", "cnn_exam-questions.html"} <= names
    if "cnn_exam-key.pdf" not in names:
        pytest.skip("no TeX here")
    # the Moodle export asks every entry of the asked maps
    xml = (folder / "moodle.xml").read_text()
    got = [float(x) for x in re.findall(r"NUMERICAL:=([-\d.eE+]+):", xml)]
    layers, X, Y, P = exam_problem()
    v = reference(layers, X, Y, P, "bce", 0.5)
    for key in ("Z1", "H1", "H2"):
        for x in v[key].ravel():
            assert any(abs(g - x) < 1e-9 for g in got), (key, x)


def test_exam_batchnorm_and_dropout_lines(tmp_path):
    out = tmp_path / "out"
    run("build", str(PROBLEMS / "cnn_exam.yaml"), "-o", str(out), "--no-pdf")
    st = steps_of((out / "cnn_exam" / "cnn_exam-key.tex").read_text())
    probs = yaml.safe_load((PROBLEMS / "cnn_exam.yaml").read_text())["problems"]
    bn = probs[1]
    P = {k: np.asarray(a, float) for k, a in bn["params"].items()}
    X, Y = np.asarray(bn["data"]["X"], float), np.asarray(bn["data"]["Y"], float)
    v = forward(bn["network"]["layers"], P, X)
    assert printed_ok(st[r"\mu_{2}"], v["mu2"], 4, True)
    assert printed_ok(st[r"\sigma^{2}_{2}"], v["var2"], 4, True)
    assert printed_ok(st[r"\hat{X}_{2}"], v["xhat2"], 4, True)
    assert printed_ok(st["H_{2}"], v["H2"], 4, True)
    P2 = {k: a.copy() for k, a in P.items()}
    lay = bn["network"]["layers"]
    dg = central(lambda: losses(forward(lay, P2, X)["H3"], Y, "mse").mean(), P2["gamma2"])
    assert printed_ok(st[r"d\gamma_{2}"], dg, 4, False)
    do = probs[2]
    P = {k: np.asarray(a, float) for k, a in do["params"].items()}
    X = np.asarray(do["data"]["X"], float)
    v = forward(do["network"]["layers"], P, X)
    tex = (out / "cnn_exam" / "cnn_exam-key.tex").read_text()
    third = steps_of(tex.split(r"\section*{Problem 3", 1)[1])  # the batchnorm's H_2 is first
    assert printed_ok(third["H_{2}"], v["H2"], 4, True)
    assert printed_ok(third[r"\hat{Y}"], v["H3"], 4, True)


CHROMIUM_TEST = pytest.importorskip("test_html")


@pytest.mark.skipif(CHROMIUM_TEST.CHROMIUM is None, reason="chromium not installed")
def test_html_page_renders_without_katex_errors(tmp_path):
    out = tmp_path / "out"
    run("build", str(PROBLEMS / "cnn_exam.yaml"), "-o", str(out), "--format", "html",
        "--no-pdf")
    for page in sorted((out / "cnn_exam").glob("*.html")):
        r = CHROMIUM_TEST.probe(page, tmp_path)
        assert r["errors"] == 0 and r["math"] > 20 and r["empty"] == 0, (page.name, r)


SMOKE = {
    # two conv layers (the second's dH passes through the first), a 3-D X (one channel),
    # Adam's state per map
    "two-conv-adam": ([{"type": "conv", "filters": 2, "kernel": [3, 2], "activation": "relu"},
                       {"type": "conv", "filters": 2, "kernel": 2, "activation": "tanh"},
                       {"type": "flatten"}, {"units": 1, "activation": "linear"}],
                      (2, 6, 6), "mse", "adam"),
    # flatten, batchnorm, dropout after a conv layer, a softmax output, momentum
    "conv-bn-dropout": ([{"type": "conv", "filters": 1, "kernel": 2, "activation": "sigmoid"},
                         {"type": "flatten"}, {"type": "batchnorm"},
                         {"type": "dropout", "p": 0.5, "mask": [[1, 0, 1, 1], [0, 1, 1, 0]]},
                         {"units": 2, "activation": "softmax"}],
                        (2, 1, 3, 3), "cce", "momentum"),
}


@pytest.mark.parametrize("name", SMOKE)
def test_other_networks_build_key_and_html(tmp_path, name):
    """The key (.tex) and the HTML page, whose build renders every formula with KaTeX (a
    formula it cannot parse fails the build, exit 4)."""
    from ndref import spec_text

    layers, shape, loss, opt = SMOKE[name]
    rs = np.random.RandomState(3)
    X = np.round(rs.randn(*shape), 1)
    Y = np.array([[1, 0], [0, 1]]) if loss == "cce" else np.round(rs.randn(2, 1), 1)
    path = tmp_path / "s.yaml"
    path.write_text(spec_text(layers, X, Y, {}, loss=loss, optimizer=opt))
    run("build", str(path), "-o", str(tmp_path / "o"), "--no-pdf")
    run("build", str(path), "-o", str(tmp_path / "o"), "--format", "html", "--no-pdf")
    tex = (tmp_path / "o" / "s" / "s-key.tex").read_text()
    assert r"H_{1}_{" not in tex  # a channel of H_1 is (H_1)_c
    assert (tmp_path / "o" / "s" / "s-key.html").exists()
