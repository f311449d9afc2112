"""The convolution family's worked lines fit the page for specs beyond the small exam (issue
25): maps larger than the page elided to their corners, a group of maps too wide for one line
broken between its maps, a sum over large maps written with each map's sum. Each case is built
with the CLI to PDF; no Overfull \\hbox in the key's or the question sheet's log (TeX's own
measure of a line wider than the text); and the numbers on the elided and broken lines read
back and compared with tests/ndref.py (explicit loops, central finite differences), correctly
rounded."""

from __future__ import annotations

import re
import shutil
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from fdiff import central
from ndref import forward, losses
from texnumbers import Number, parse_matrix, parse_number
from workedtex import check_printed, correct, matrices

from nnreport.cli import cli

pytestmark = pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no pdflatex")
D = 4  # the problems' significant digits


# The conv biases carry an odd offset (+ 0.003217): no Z is exactly 0, where a ReLU's kink
# would make a finite difference take half a slope.
def rnd(rs: np.random.RandomState, *shape: int, scale: float = 1.0) -> np.ndarray:
    return np.round(rs.randn(*shape) * scale, 2)


def conv8() -> dict:
    """One sample of 12x12, a conv of 8 3x3 filters (the dW line was 44.6 pt too wide)."""
    rs = np.random.RandomState(11)
    layers = [{"type": "conv", "filters": 8, "kernel": 3, "activation": "relu"},
              {"type": "flatten"}, {"units": 1, "activation": "linear"}]
    P = {"W1": rnd(rs, 8, 1, 3, 3, scale=0.5), "b1": rnd(rs, 8, scale=0.1) + 0.003217,
         "W3": rnd(rs, 800, 1, scale=0.05), "b3": np.zeros((1, 1))}
    return {"layers": layers, "X": np.round(rs.randn(1, 1, 12, 12), 1), "Y": np.array([[1.0]]),
            "P": P, "loss": "mse", "opt": "sgd"}


def conv28() -> dict:
    """28x28, two conv layers of 8 filters and dropout (db_1 summed whole 26x26 maps)."""
    rs = np.random.RandomState(12)
    layers = [{"type": "conv", "filters": 8, "kernel": 3, "activation": "relu"},
              {"type": "conv", "filters": 8, "kernel": 3, "activation": "relu"},
              {"type": "dropout", "p": 0.5,
               "mask": (rs.rand(1, 8, 24, 24) > 0.5).astype(int).tolist()},
              {"type": "flatten"}, {"units": 1, "activation": "linear"}]
    P = {"W1": rnd(rs, 8, 1, 3, 3, scale=0.5), "b1": rnd(rs, 8, scale=0.1) + 0.003217,
         "W2": rnd(rs, 8, 8, 3, 3, scale=0.2), "b2": rnd(rs, 8, scale=0.1) + 0.002731,
         "W5": rnd(rs, 8 * 24 * 24, 1, scale=0.02), "b5": np.zeros((1, 1))}
    return {"layers": layers, "X": np.round(rs.randn(1, 1, 28, 28), 1), "Y": np.array([[1.0]]),
            "P": P, "loss": "mse", "opt": "sgd"}


def two_conv_adam() -> dict:
    """tests/test_cnn_key.py's "two conv layers + Adam" (40 pt too wide)."""
    rs = np.random.RandomState(13)
    layers = [{"type": "conv", "filters": 2, "kernel": [3, 2], "activation": "relu"},
              {"type": "conv", "filters": 2, "kernel": 2, "activation": "tanh"},
              {"type": "flatten"}, {"units": 1, "activation": "linear"}]
    P = {"W1": rnd(rs, 2, 1, 3, 2), "b1": rnd(rs, 2, scale=0.1) + 0.003217,
         "W2": rnd(rs, 2, 2, 2, 2), "b2": rnd(rs, 2, scale=0.1),
         "W4": rnd(rs, 24, 1, scale=0.5), "b4": np.zeros((1, 1))}
    return {"layers": layers, "X": np.round(rs.randn(2, 1, 6, 6), 1),
            "Y": np.round(rs.randn(2, 1), 1), "P": P, "loss": "mse", "opt": "adam"}


def conv_bn_dropout() -> dict:
    """tests/test_cnn_key.py's "conv + batchnorm + dropout" (19 pt too wide)."""
    rs = np.random.RandomState(14)
    layers = [{"type": "conv", "filters": 1, "kernel": 2, "activation": "sigmoid"},
              {"type": "flatten"}, {"type": "batchnorm"},
              {"type": "dropout", "p": 0.5, "mask": [[1, 0, 1, 1], [0, 1, 1, 0]]},
              {"units": 2, "activation": "softmax"}]
    P = {"W1": rnd(rs, 1, 1, 2, 2), "b1": rnd(rs, 1, scale=0.1) + 0.003217,
         "gamma3": np.ones(4), "beta3": np.zeros(4),
         "W5": rnd(rs, 4, 2), "b5": np.zeros((1, 2))}
    return {"layers": layers, "X": np.round(rs.randn(2, 1, 3, 3), 1),
            "Y": np.array([[1.0, 0.0], [0.0, 1.0]]), "P": P, "loss": "cce", "opt": "momentum"}


def stride_pad_bn() -> dict:
    """3 channels of 10x10, 4 filters with stride 2 and padding 1, avg pooling, a dense layer
    of 12 units and batchnorm after it."""
    rs = np.random.RandomState(15)
    layers = [{"type": "conv", "filters": 4, "kernel": 2, "stride": 2, "padding": 1,
               "activation": "relu"},
              {"type": "pool", "kind": "avg", "size": 2},
              {"type": "flatten"}, {"units": 12, "activation": "relu"}, {"type": "batchnorm"},
              {"units": 1, "activation": "linear"}]
    P = {"W1": rnd(rs, 4, 3, 2, 2, scale=0.5), "b1": rnd(rs, 4, scale=0.1) + 0.003217,
         "W4": rnd(rs, 36, 12, scale=0.3), "b4": rnd(rs, 1, 12, scale=0.1),
         "gamma5": np.round(1 + 0.1 * rs.randn(12), 2), "beta5": rnd(rs, 12, scale=0.1),
         "W6": rnd(rs, 12, 1, scale=0.5), "b6": np.zeros((1, 1))}
    return {"layers": layers, "X": np.round(rs.randn(2, 3, 10, 10), 1),
            "Y": np.array([[1.0], [-1.0]]), "P": P, "loss": "mse", "opt": "sgd"}


CASES = {"conv8-12x12": conv8, "conv28-two-conv-dropout": conv28,
         "two-conv-adam": two_conv_adam, "conv-bn-dropout": conv_bn_dropout,
         "3ch-stride2-pad1-avg-bn": stride_pad_bn}


def spec_doc(c: dict) -> dict:
    return {"title": "t", "problems": [{
        "id": "p", "network": {"layers": c["layers"]},
        "data": {"X": c["X"].tolist(), "Y": c["Y"].tolist()}, "loss": c["loss"],
        "params": {k: np.asarray(v).tolist() for k, v in c["P"].items()},
        "train": {"optimizer": c["opt"], "lr": 0.1, "epochs": 1}}]}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    """Every case built to PDF once: name -> its output folder."""
    out: dict[str, Path] = {}
    for name, make in CASES.items():
        tmp = tmp_path_factory.mktemp(name)
        path = tmp / "s.yaml"
        path.write_text(yaml.safe_dump(spec_doc(make()), sort_keys=False))
        r = CliRunner().invoke(cli, ["build", str(path), "-o", str(tmp / "o")])
        assert r.exit_code == 0, (name, r.stdout, r.exception)
        out[name] = tmp / "o" / "s"
    return out


@pytest.mark.parametrize("name", CASES)
def test_no_line_wider_than_the_text(built, name):
    folder = built[name]
    for doc in ("s-key", "s-questions"):
        assert (folder / f"{doc}.pdf").exists(), (name, doc)
        log = (folder / f"{doc}.log").read_text(errors="replace")
        assert "Overfull \\hbox" not in log, (name, doc, re.findall(r"Overfull.*", log))


# --- reading the key back -------------------------------------------------------------------

def key_steps(tex: str) -> list[tuple[str, str]]:
    """Each worked step of the key: (its left side, its rows joined, line-break marks and tags
    dropped)."""
    out = []
    for body in re.findall(r"\\begin\{align\*\}(.*?)\\end\{align\*\}", tex, re.S):
        body = "\n".join(ln for ln in body.split("\n")
                         if not ln.strip().startswith(r"\shortintertext"))
        for chunk in re.split(r"\\\\\*?\[[\d.]+ex\]", body):
            if "&=" not in chunk:
                continue
            text = " ".join(re.split(r"\\\\\*", chunk))
            text = re.sub(r"\\tag\*\{\\footnotesize\\color\{black!70\}\$.*?\$\}", "", text)
            text = re.sub(r"\\(left|right)\.", "", text.replace(r"&\qquad", " "))
            lhs, rest = text.split("&=", 1)
            out.append((lhs.strip(), rest.replace("&=", "=").strip()))
    return out


def step(steps: list[tuple[str, str]], lhs: str, k: int = 0) -> str:
    hits = [t for s, t in steps if s == lhs]
    assert len(hits) > k, (lhs, [s for s, _ in steps][:80])
    return hits[k]


def sides(text: str) -> list[str]:
    """A step's sides: formula, substitution(s), result (an '=' inside a formula, as in
    \\sum_{n=1}, has no spaces around it)."""
    return re.split(r"\s=\s", text)


def result(text: str) -> str:
    return text.rsplit("=", 1)[1].strip()


def products(text: str) -> list[tuple[Number, Number]]:
    """The 'a \\cdot b' terms of a written-out sum, each factor as printed."""
    num = r"-?\d+(?:\.\d+)?(?:\s*\\times\s*10\^\{-?\d+\})?"
    out = []
    for sign, a, b1, b2 in re.findall(
            rf"(?:([+-]) )?({num}) \\cdot (?:\\left\(({num})\\right\)|({num}))", text):
        # a term after '- ' is written without its own minus (a - 0.9 . 2, not a + -0.9 . 2)
        a = ("-" + a if not a.startswith("-") else a[1:]) if sign == "-" else a
        out.append((parse_number(a), parse_number(b1 or b2)))
    return out


def sym(name: str, n: int, f: int) -> str:
    return rf"\left({name}\right)^{{({n + 1})}}_{{{f + 1}}}"


def grad_param(c: dict, name: str) -> np.ndarray:
    L = len(c["layers"])
    P = {k: np.array(a, dtype=float) for k, a in c["P"].items()}
    return central(lambda: losses(forward(c["layers"], P, c["X"])[f"H{L}"], c["Y"],
                                  c["loss"]).mean(), P[name])


def grad_h(c: dict, l: int) -> np.ndarray:
    """d(sum of the samples' losses)/dH_l: the key's dH and dZ are each sample's own (its
    loss's gradient), the batch's 1/m applied in dW and db."""
    L = len(c["layers"])
    H = forward(c["layers"], c["P"], c["X"])[f"H{l}"].copy()
    return central(lambda: losses(forward(c["layers"], c["P"], c["X"], l, H)[f"H{L}"], c["Y"],
                                  c["loss"]).sum(), H)


def near(n_text: str, x: float, slack: float = 1e-6) -> bool:
    """A printed gradient against a finite difference: within half a unit of its last digit
    (plus the difference's own error)."""
    n = parse_number(n_text)
    return abs(float(n.value) - x) <= 10.0 ** n.last / 2 + slack * max(1.0, abs(x))


def check_exact(tex: str, want: np.ndarray) -> int:
    """A printed forward map (elided or not) against ndref's loops, by the printing rule; a
    number printed whole (0.864) is the exact value the float 0.8639999999999998 stands for."""
    mat = parse_matrix(tex)
    a = np.atleast_2d(want)
    assert mat.shape == a.shape, (mat.shape, a.shape)
    for (i, j), n in mat.cells.items():
        x = float(a[i, j])
        assert abs(float(n.value) - x) <= 1e-12 * max(1.0, abs(x)) or correct(n, x, D), \
            (i, j, n.text, x)
    return len(mat.cells)


def check_fd(tex: str, want: np.ndarray) -> int:
    """A printed map (elided or not) against finite differences."""
    mat = parse_matrix(tex)
    a = np.atleast_2d(want)
    assert mat.shape == a.shape, (mat.shape, a.shape)
    for (i, j), n in mat.cells.items():
        unit = 10.0 ** n.last
        assert abs(float(n.value) - a[i, j]) <= unit / 2 + 1e-6 * max(1, abs(a[i, j])), \
            (i, j, n.text, a[i, j])
    return len(mat.cells)


# --- the numbers on the elided and broken lines ---------------------------------------------

def test_conv8_elided_maps_and_the_dw_products(built):
    c = conv8()
    st = key_steps((built["conv8-12x12"] / "s-key.tex").read_text())
    v = forward(c["layers"], c["P"], c["X"])
    checked = 0
    for f in range(8):  # Z_1's 10x10 maps, elided to corners
        t = result(step(st, sym("Z_{1}", 0, f)))
        assert r"\cdots" in t and r"_{10 \times 10}" in t
        checked += check_exact(t, v["Z1"][0, f])
    # dW_1: every kernel against finite differences
    dW = grad_param(c, "W1")
    for f in range(8):
        checked += check_fd(result(step(st, rf"\left(dW_{{1}}\right)_{{{f + 1},1}}")),
                            dW[f, 0])
    # the entry written out: X's entries (given) times dZ_1's (relu' dH_1), products only
    dZ = grad_h(c, 1) * (v["Z1"] > 0)
    line = step(st, r"\left(dW_{1}\right)_{1,1,11}")
    assert r"\begin{bmatrix}" not in sides(line)[1]  # no 10x10 maps side by side
    prods = products(line)
    assert len(prods) == 17  # 16 written out, the dots, the last one
    assert r"\cdots" in line
    pairs = [(c["X"][0, 0, i, j], dZ[0, 0, i, j]) for i in range(10) for j in range(10)]
    for (a, b), (x, g) in zip(prods, pairs[:16] + pairs[-1:], strict=True):
        assert a.value == Fraction(str(x)).limit_denominator() or float(a.value) == x
        assert near(b.text, g), (b.text, g)
        checked += 2
    # the shaded input of dW's entry: X elided like any map, its shown entries X's
    assert r"\colorbox" in step(st, "X")
    xs = matrices(step(st, "X"))
    checked += check_printed(xs[0], c["X"][0, 0], 1)
    assert r"_{12 \times 12}" in xs[0]
    assert checked > 400


def test_conv28_db_as_per_map_sums_and_elided_maps(built):
    c = conv28()
    st = key_steps((built["conv28-two-conv-dropout"] / "s-key.tex").read_text())
    v = forward(c["layers"], c["P"], c["X"])
    checked = 0
    for key, name, size in (("Z1", "Z_{1}", 26), ("Z2", "Z_{2}", 24), ("H1", "H_{1}", 26)):
        for f in range(8):
            t = result(step(st, sym(name, 0, f)))
            assert rf"_{{{size} \times {size}}}" in t
            checked += check_exact(t, v[key][0, f])
    db = grad_param(c, "b1")
    for f in range(8):
        line = step(st, rf"\left(db_{{1}}\right)_{{{f + 1}}}")
        assert r"\begin{bmatrix}" not in line  # no 26x26 map to add up by eye
        assert near(result(line), db[f]), (f, result(line), db[f])
        checked += 1
    # layer 2's dW: the shaded input H_1, elided (the kernel entry meets most of it)
    line = step(st, r"\left(H_{1}\right)_{1}")
    t = matrices(line)[0]
    assert r"_{26 \times 26}" in t and r"\colorbox" in line
    checked += check_exact(t, v["H1"][0, 0])
    assert checked > 700


def test_broken_window_products_read_back(built):
    """Two conv layers: dW's entry sum(window (.) dZ) with 4x5 maps, broken between its maps;
    the maps read back are X's (given) and dZ_1's (finite differences)."""
    c = two_conv_adam()
    st = key_steps((built["two-conv-adam"] / "s-key.tex").read_text())
    v = forward(c["layers"], c["P"], c["X"])
    dZ = grad_h(c, 1) * (v["Z1"] > 0)
    line = step(st, r"\left(dW_{1}\right)_{1,1,11}")
    mats = matrices(sides(line)[1])
    assert len(mats) == 4  # two samples, each window and dZ map
    checked = 0
    for n in range(2):
        checked += check_printed(mats[2 * n], c["X"][n, 0, :4, :5], 1)
        checked += check_fd(mats[2 * n + 1], dZ[n, 0])
    assert checked == 80
    # the products written out: the first ones, the dots, the last (sample 2's last entry)
    prods = products(sides(line)[2])
    assert len(prods) == 17 and r"\cdots" in sides(line)[2]
    assert float(prods[-1][0].value) == c["X"][1, 0, 3, 4]
    assert near(prods[-1][1].text, dZ[1, 0, 3, 4])
    assert near(result(line), grad_param(c, "W1")[0, 0, 0, 0])


def test_batchnorm_rows_broken_read_back(built):
    """Batchnorm after a dense layer of 12 units: dgamma's rows dh^(n) (.) xhat^(n), too wide
    for one piece, broken between the rows; xhat read back against ndref; dgamma against
    finite differences; conv db with stride and padding against finite differences."""
    c = stride_pad_bn()
    st = key_steps((built["3ch-stride2-pad1-avg-bn"] / "s-key.tex").read_text())
    v = forward(c["layers"], c["P"], c["X"])
    line = step(st, r"d\gamma_{5}")
    mats = matrices(sides(line)[1])
    assert len(mats) == 4
    checked = 0
    dh = grad_h(c, 5)
    for n in range(2):  # the 1x12 rows, elided to 5 entries each
        checked += check_fd(mats[2 * n], dh[n])
        checked += check_exact(mats[2 * n + 1], v["xhat5"][n])
    dg = grad_param(c, "gamma5")
    checked += check_fd(result(line), dg)
    db = grad_param(c, "b1")
    for f in range(4):
        r = result(step(st, rf"\left(db_{{1}}\right)_{{{f + 1}}}"))
        assert near(r, db[f]), (f, r, db[f])
        checked += 1
    assert checked == 4 * 5 + 5 + 4


def test_correct_rule_reader_sanity():
    """The helpers above read what they claim: a rounded number is right, one off is not."""
    assert correct(parse_number("0.1235"), Fraction("0.12345"), 4)
    assert not correct(parse_number("0.1236"), Fraction("0.12345"), 4)
    assert [(a.value, b.value) for a, b in products(
        r"1.5 \cdot \left(-2\right) + 0.1 \cdot 3 - 0.2 \cdot 1")] == [
        (Fraction("1.5"), Fraction(-2)), (Fraction("0.1"), Fraction(3)),
        (Fraction("-0.2"), Fraction(1))]


def test_batchnorm_after_an_rnn_names_its_last_state(tmp_path):
    """Batchnorm directly above an rnn that returns its last state: its lines name their
    input and its gradient as that state (h_3, a batch's H^<3>, as the dense lines do), never
    (dH_1)^{(n)}_j (the JSON dH1 is [samples, steps, units]); the entry and the whole
    gradient are the finite-difference gradient with respect to the last state."""
    layers = [{"type": "rnn", "units": 2, "activation": "tanh"}, {"type": "batchnorm"},
              {"units": 1, "activation": "linear"}]
    X = np.array([[[1, 0], [0.5, -1], [2, 1]], [[0, 1], [1, 1], [-1, 0.5]]])
    Y = np.array([[1.0], [0.0]])
    P = {"Wx1": np.array([[0.5, -0.3], [0.2, 0.8]]), "Wh1": np.array([[0.1, 0.4], [-0.6, 0.3]]),
         "b1": np.array([0.05, -0.1]), "gamma2": np.array([1.0, 1.5]),
         "beta2": np.array([0.0, 0.2]), "W3": np.array([[0.7], [-0.4]]), "b3": np.zeros((1, 1))}
    c = {"layers": layers, "X": X, "Y": Y, "P": P, "loss": "mse", "opt": "sgd"}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(spec_doc(c), sort_keys=False))
    r = CliRunner().invoke(cli, ["build", str(path), "-o", str(tmp_path / "o"), "--no-pdf"])
    assert r.exit_code == 0, (r.stdout, r.exception)
    tex = (tmp_path / "o" / "s" / "s-key.tex").read_text()
    assert r"\left(dH_{1}\right)^{(1)}" not in tex
    st = key_steps(tex)
    g = grad_h(c, 1)  # of the sum of the samples' losses, with respect to h_3
    last = r"{H^{\langle 3 \rangle}}"
    assert near(result(step(st, rf"d{last}^{{(1)}}_{{1}}")), g[0, 0])
    assert check_fd(result(step(st, f"d{last}", 0)), g) == 4
    assert rf"\left({last} - \mu_{{2}}\right)" in tex


def test_a_marked_maps_leading_minus_stays_a_sign():
    """Every row of a map with a shaded window gets a strut (rows stay even); before a
    leading minus the strut made it a binary minus ('- 1.24', set apart). The strut now
    follows such an entry."""
    from nnreport.render.maps import feature_map

    a = np.array([[1.0, 2.0, 3.0], [-1.24, 0.5, 0.25], [-2.5, 1.0, 0.0]])
    t = feature_map(a, 4, shaded=np.array([[1, 1, 0], [0, 0, 0], [0, 0, 0]], bool)).tex
    rows = t.split(r"\\")
    assert rows[1].strip().startswith("-1.24\\vphantom") and "\\vphantom" in rows[0]
    assert "0$}}-" not in t  # no strut (\vphantom{\colorbox{..}{$0$}}) right before a minus
