"""`rounding: chain` through conv, pool, flatten, batchnorm and dropout layers (issue 25).

The rounded chain is computed here by hand: this file's own half-up rounding to 2
significant digits (`rd`) after every value a worked line prints, and explicit loops over
the windows for the convolution, the pooling and its routing (nothing of nnreport's
arithmetic). The conv problem is chosen so that rounding makes a tie in a max-pool window
(Z = 1.95 and 1.97 both print 2.0): the chain routes the gradient to the window's FIRST
maximum, the full key to the true one. Then: every chain entry of answers.json against the
hand chain; the full key and the chain inside each tolerance; `check` marks the chain right
and a 5 % slip wrong; the key prints the routed map's "rounded chain" row with the hand
numbers; Moodle and Canvas (read by their own rules, tests/lmsrules.py) accept the chain and
the full key in every box; batchnorm (mean, the printed deviations, variance, the printed
standard deviation, xhat, the closed-form dX from the printed dxhat and column sums) and
dropout (1/(1 - p) carried as printed: 1/(1 - 0.3) = 1.4) likewise; every cnn_exam problem
builds with rounding: chain; and a huge conv net is refused by the chain budget."""

from __future__ import annotations

import json
import math
import re
import zipfile
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from conftest import PROBLEMS
from lmsrules import canvas_answers, canvas_grades, cloze_subquestions, quiz_page, within_tolerance

from nnreport.cli import cli


def rd(x, digits: int = 2) -> np.ndarray:
    """Half up to `digits` significant digits on the decimal the float stands for (within
    1e-12 of a tie counts as the tie, as docs/spec.md's number rule says); digits before
    the point are never rounded away (123.4 -> 123 at 2 digits)."""
    def one(v: float) -> float:
        if v == 0 or not math.isfinite(v):
            return v
        d = Decimal(repr(float(v))) * Decimal("1.000000000001")
        e = d.adjusted()
        q = d.quantize(Decimal(1).scaleb(e - digits + 1), rounding=ROUND_HALF_UP)
        if q.adjusted() > e:  # 9.96 -> 10
            q = d.quantize(Decimal(1).scaleb(q.adjusted() - digits + 1), rounding=ROUND_HALF_UP)
        if abs(q) >= 10 ** digits:
            q = d.quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return float(q)
    return np.vectorize(one, otypes=[float])(np.asarray(x, dtype=float))


def keep(x) -> np.ndarray:
    return np.asarray(x, dtype=float)


# --- loops ------------------------------------------------------------------------------

def conv_loops(x, w, b):
    m, C, H, W = x.shape
    F, _, kh, kw = w.shape
    z = np.zeros((m, F, H - kh + 1, W - kw + 1))
    for n, f, i, j in np.ndindex(*z.shape):
        z[n, f, i, j] = sum(x[n, c, i + p, j + q] * w[f, c, p, q]
                            for c in range(C) for p in range(kh) for q in range(kw)) + b[f]
    return z


def pool_loops(h, k):
    """Max pooling k x k, stride 1, and each window's FIRST maximum (row-major)."""
    m, C, H, W = h.shape
    out = np.zeros((m, C, H - k + 1, W - k + 1))
    chosen = {}
    for n, c, i, j in np.ndindex(*out.shape):
        best, at = None, None
        for p in range(k):
            for q in range(k):
                if best is None or h[n, c, i + p, j + q] > best:
                    best, at = h[n, c, i + p, j + q], (i + p, j + q)
        out[n, c, i, j], chosen[(n, c, i, j)] = best, at
    return out, chosen


def pool_back_loops(dh, h, k):
    dx = np.zeros(h.shape)
    for (n, c, i, j), (r, q) in pool_loops(h, k)[1].items():
        dx[n, c, r, q] += dh[n, c, i, j]
    return dx


def kernel_grad_loops(x, dz, kh, kw):
    """Each sample's dW [m, F, C, kh, kw]: the input entries each kernel entry met times dZ."""
    m, C = x.shape[:2]
    F, oh, ow = dz.shape[1:]
    per = np.zeros((m, F, C, kh, kw))
    for n, f, c, p, q in np.ndindex(*per.shape):
        per[n, f, c, p, q] = sum(x[n, c, i + p, j + q] * dz[n, f, i, j]
                                 for i in range(oh) for j in range(ow))
    return per


# --- the conv problem ---------------------------------------------------------------------

X = np.array([[[[2, 2, -3], [-3, -1, -2], [3, -2, 1]]],
              [[[2, -1, -2], [1, 0, 3], [2, 1, -2]]]], dtype=float)
Y = np.array([[1.0], [0.0]])
W1 = np.array([[[[-0.3, 0.7], [0.61, 1.0]]]])
B1 = np.array([0.05])
W4 = np.array([[0.7]])
B4 = np.array([[0.1]])
LR = 0.5
ASK = ["Z1", "H1", "H2", "yhat", "dH1", "dZ1", "dW1", "db1", "W1_new"]

CONV = f"""title: chain conv
rounding: chain
digits: 2
layout: rows
problems:
  - id: c
    data:
      X: {X.astype(int).tolist()}
      Y: [[1], [0]]
    network:
      layers:
        - {{type: conv, filters: 1, kernel: 2, stride: 1, activation: relu}}
        - {{type: pool, kind: max, size: 2, stride: 1}}
        - {{type: flatten}}
        - {{units: 1, activation: sigmoid}}
    params:
      W1: {W1.tolist()}
      b1: [0.05]
      W4: [[0.7]]
      b4: [[0.1]]
    loss: bce
    train: {{optimizer: sgd, lr: {LR}, epochs: 1}}
    figures: []
    ask: [{", ".join(ASK)}]
"""


def conv_chain(r) -> dict[str, np.ndarray]:
    """The worked step, each printed value through `r` (rd: the chain; keep: the full key).
    Dense output layer: dZ = yhat - Y (sigmoid with BCE), each sample's dW printed and
    added up; the conv's db: each sample's map sum printed, then their mean."""
    m = X.shape[0]
    v: dict[str, np.ndarray] = {}
    v["Z1"] = Z1 = r(conv_loops(X, W1, B1))
    v["H1"] = H1 = r(np.maximum(Z1, 0))
    v["H2"] = H2 = r(pool_loops(H1, 2)[0])
    v["H3"] = H3 = r(H2.reshape(m, -1))
    v["Z4"] = Z4 = r(H3 @ W4 + B4)
    v["yhat"] = yh = r(1 / (1 + np.exp(-Z4)))
    v["loss_per_sample"] = ls = r([-math.log(yh[0, 0]), -math.log(1 - yh[1, 0])])  # Y = 1, 0
    v["loss"] = r(ls.sum() / m)
    v["dZ4"] = dZ4 = r(yh - Y)
    v["dW4_per_sample"] = ps4 = r(H3[:, :, None] * dZ4[:, None, :])
    v["db4_per_sample"] = r(dZ4[:, None, :])
    v["dW4"] = dW4 = r(ps4.sum(axis=0) / m)
    v["db4"] = db4 = r(dZ4.sum(axis=0, keepdims=True) / m)
    v["dH3"] = dH3 = r(dZ4 @ W4.T)
    v["dH2"] = dH2 = r(dH3.reshape(H2.shape))
    v["dH1"] = dH1 = r(pool_back_loops(dH2, H1, 2))  # routed by the PRINTED H1
    v["dact1"] = dact = r((Z1 > 0).astype(float))
    v["dZ1"] = dZ1 = r(dH1 * dact)
    per = kernel_grad_loops(X, dZ1, 2, 2)
    v["dW1_per_sample"] = r(per)
    v["db1_per_sample"] = sums = r(dZ1.sum(axis=(2, 3)))
    v["dW1"] = dW1 = r(per.sum(axis=0) / m)  # the products, not the rounded per-sample dW
    v["db1"] = db1 = r(sums.sum(axis=0) / m)
    for name, p, g in (("W1", W1, dW1), ("b1", B1, db1), ("W4", W4, dW4), ("b4", B4, db4)):
        v[f"{name}_step"] = r(LR * g)
        v[f"{name}_new"] = r(p - LR * g)
    return v


def run(*args: str) -> str:
    res = CliRunner().invoke(cli, list(args))
    assert res.exit_code == 0, (res.output, res.exception)
    return res.stdout


@pytest.fixture(scope="module")
def conv_built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("chaincnn")
    spec = folder / "c.yaml"
    spec.write_text(CONV)
    run("build", str(spec), "-o", str(folder / "out"), "--no-pdf", "--format", "pdf",
        "--format", "moodle", "--format", "canvas")
    answers = json.loads((folder / "out" / "c" / "answers.json").read_text())
    return spec, folder / "out" / "c", answers


def within(tol: dict, value) -> bool:
    v = np.asarray(value, dtype=float)
    return bool(np.all((np.asarray(tol["low"]) <= v) & (v <= np.asarray(tol["high"]))))


def test_the_chain_is_the_hand_chain_entry_by_entry(conv_built):
    _, _, ans = conv_built
    chain, full, tol = ans["chain"]["c"], ans["problems"]["c"], ans["tolerance"]["c"]
    hand = conv_chain(rd)
    assert set(chain) == set(hand)  # every value of the worked step, and no other
    for name, want in hand.items():
        got = np.asarray(chain[name], dtype=float)
        assert got.shape == want.shape, name  # nested lists like the key's
        assert np.allclose(got, want, rtol=0, atol=1e-12), (name, got, want)
        assert within(tol[name], chain[name]) and within(tol[name], full[name]), name
    # the full key is the loops' own arithmetic, and it differs from the chain visibly
    plain = conv_chain(keep)
    for name in hand:
        assert np.allclose(full[name], plain[name], rtol=1e-12, atol=1e-12), name
    for name in ("yhat", "dH1", "dW1", "W1_new"):  # (Z1 is the full Z1 rounded)
        assert np.any(np.abs(rd(plain[name]) - hand[name]) > 1e-9), name
    # rounding made the tie: Z1 of sample 2 is 1.95 and 1.97 (both 2.0); the chain routes
    # the window's gradient to the first (row 1, column 2), the full key to the second
    assert np.allclose(plain["Z1"][1, 0], [[-0.64, 1.95], [1.97, 0.76]])
    assert hand["dH1"][1, 0].tolist() == [[0, 0.57], [0, 0]]
    assert rd(plain["dH1"])[1, 0].tolist() == [[0, 0], [0.57, 0]]


def submit(spec: Path, folder: Path, values: dict) -> dict:
    sub = folder / "sub.json"
    sub.write_text(json.dumps({"c": values}))
    res = CliRunner().invoke(cli, ["check", str(spec), str(sub), "--json"])
    assert res.exit_code in (0, 1), res.output
    return {v["value"]: v["status"] for v in json.loads(res.stdout)["values"]}


def test_check_takes_the_chain_and_refuses_a_slip(conv_built, tmp_path):
    spec, _, _ = conv_built
    hand = conv_chain(rd)
    chain = {n: hand[n].tolist() for n in ASK}
    assert submit(spec, tmp_path, chain) == {n: "right" for n in ASK}
    full = {n: conv_chain(keep)[n].tolist() for n in ASK}
    assert submit(spec, tmp_path, full) == {n: "right" for n in ASK}
    slip = dict(chain)
    z = hand["Z1"].copy()
    z[0, 0, 0, 1] *= 1.05  # -5.3 written as -5.565
    slip["Z1"] = z.tolist()
    assert submit(spec, tmp_path, slip) == {**{n: "right" for n in ASK}, "Z1": "WRONG"}


def test_the_key_prints_the_routed_maps_chain_row(conv_built):
    _, out, _ = conv_built
    tex = (out / "c-key.tex").read_text()
    hand = conv_chain(rd)
    m = re.search(r"\\left\(dH_\{1\}\\right\)\^\{\(2\)\}_\{1\} &= \\begin\{bmatrix\}(.*?)"
                  r"\\end\{bmatrix\}.*?\n\s*&\\quad \\text\{rounded chain: \} "
                  r"\{\\begin\{bmatrix\}(.*?)\\end\{bmatrix\}\}", tex)
    assert m, "no rounded-chain row under dH_1 of sample 2"

    def cells(body: str) -> list[list[float]]:
        return [[float(c) for c in row.split("&")] for row in body.split(r"\\")]
    assert cells(m.group(1)) == rd(conv_chain(keep)["dH1"])[1, 0].tolist()  # the full key
    assert cells(m.group(2)) == hand["dH1"][1, 0].tolist()                   # the chain
    # a map whose chain prints alike has no row (sample 1's H1: 0, 0, 0.08, 0 both ways)
    h1 = re.search(r"\\left\(H_\{1\}\\right\)\^\{\(1\)\}_\{1\} &=.*?\n(.*?)\n", tex)
    assert h1 and "rounded chain" not in h1.group(1)


def test_moodle_and_canvas_take_the_chain_and_the_full_key_in_every_box(conv_built):
    _, out, ans = conv_built
    chain, full = ans["chain"]["c"], ans["problems"]["c"]
    entries = [(n, idx) for n in ASK for idx in np.ndindex(np.shape(full[n]))]
    raw = next(q.findtext("questiontext/text") for q in _xml(out / "moodle.xml")
               .findall("question[@type='cloze']"))
    powers = {g.group(1): int(g.group(2) or 0) for g in re.finditer(
        r"<p>(\w+)(?: \(in units of 10\^(-?\d+)\))? =</p><table>", raw)}
    assert list(powers) == ASK
    _, boxes = cloze_subquestions(raw)
    assert len(boxes) == len(entries)
    for (name, idx), box in zip(entries, boxes, strict=True):
        alt = box["alternatives"][0]
        for key in (chain, full):
            x = float(np.asarray(key[name])[idx]) / 10.0 ** powers[name]
            assert within_tolerance(alt["answer"], alt["tolerance"], x), (name, idx, alt)
    # Z1 (no tie in it) is tight: 5 % off is refused in Moodle too
    alt = boxes[1]["alternatives"][0]
    assert not within_tolerance(alt["answer"], alt["tolerance"], 1.05 * chain["Z1"][0][0][0][1])
    with zipfile.ZipFile(out / "canvas-qti.zip") as z:
        qti = _xml_bytes(z.read("nnreport_assessment/nnreport_assessment.xml"))
    seen = []
    for item in qti.iter("{*}item"):
        name, where = re.match(r"v01 c\.(\w+)(?:\[([\d, ]+)\])?", item.get("title")).groups()
        idx = (tuple(int(i) - 1 for i in where.split(",")) if where
               else (0,) * np.ndim(full[name]))  # a one-entry value (db1 [1]) has no index
        text = "".join(t or "" for t in item.itertext())
        power = re.search(r"in units of 10\^(-?\d+)", text)
        k = int(power.group(1)) if power else 0
        answers = canvas_answers(item)
        for key in (chain, full):
            x = float(np.asarray(key[name]).reshape(np.shape(full[name]))[idx]) / 10.0 ** k
            assert canvas_grades(answers, quiz_page(x)), (name, idx)
        seen.append((name, idx))
    assert seen == entries


def _xml(path: Path):
    from lxml import etree
    return etree.parse(str(path)).getroot()


def _xml_bytes(data: bytes):
    from lxml import etree
    return etree.fromstring(data)


# --- batchnorm and dropout ----------------------------------------------------------------

BN = """title: chain bn
rounding: chain
digits: 2
problems:
  - id: bn
    data:
      X: [[-2.8, 1], [-0.5, 0.4], [-2.2, -1.8]]
      Y: [[1], [0], [0.5]]
    network:
      layers:
        - {units: 2, activation: linear}
        - {type: batchnorm}
        - {units: 1, activation: linear}
    params:
      W1: [[0.6, 0.94], [-0.37, 0.38]]
      b1: [[0.1, 0]]
      gamma2: [1.4, 1.4]
      beta2: [0, 0.25]
      W3: [[-1.2], [-1.4]]
      b3: [[0]]
    loss: mse
    train: {optimizer: sgd, lr: 0.1, epochs: 1}
    figures: []
"""


def bn_chain(r) -> dict[str, np.ndarray]:
    p = yaml.safe_load(BN)["problems"][0]
    P = {k: np.asarray(v, dtype=float) for k, v in p["params"].items()}
    Xb, Yb = np.asarray(p["data"]["X"], float), np.asarray(p["data"]["Y"], float)
    m = Xb.shape[0]
    v: dict[str, np.ndarray] = {}
    H1 = r(Xb @ P["W1"] + P["b1"])
    v["mu2"] = mu = r([sum(H1[n, j] for n in range(m)) / m for j in range(2)])
    dev = r(H1 - mu)                                   # printed before it is squared
    v["var2"] = var = r([sum(dev[n, j] ** 2 for n in range(m)) / m for j in range(2)])
    std = r(np.sqrt(var + 1e-5))                       # a line of its own
    v["xhat2"] = xhat = r((H1 - mu) / std)
    v["H2"] = H2 = r(P["gamma2"] * xhat + P["beta2"])
    v["yhat"] = yh = r(H2 @ P["W3"] + P["b3"])
    dZ3 = r(2 * (yh - Yb))
    v["dH2"] = dH2 = r(dZ3 @ P["W3"].T)
    v["dgamma2"] = r((dH2 * xhat).sum(axis=0) / m)
    v["dbeta2"] = r(dH2.sum(axis=0) / m)
    v["dgamma2_per_sample"] = r(dH2 * xhat)
    dxhat = r(dH2 * P["gamma2"])                       # printed
    s1, s2 = r(dxhat.sum(axis=0)), r((dxhat * xhat).sum(axis=0))
    v["dH1"] = r((m * dxhat - s1 - xhat * s2) / (m * std))
    return v


DROPOUT = """title: chain dropout
rounding: chain
digits: 2
problems:
  - id: do
    data:
      X: [[1, 2], [-0.5, 1.5]]
      Y: [[1], [-1]]
    network:
      layers:
        - {units: 3, activation: relu}
        - {type: dropout, p: 0.3, mask: [[1, 0, 1], [1, 1, 0]]}
        - {units: 1, activation: linear}
    params:
      W1: [[0.9, -0.2, 0.35], [0.15, 0.6, 0.55]]
      b1: [[0.05, 0, 0]]
      W3: [[0.7], [-0.45], [1.3]]
      b3: [[0]]
    loss: mse
    train: {optimizer: sgd, lr: 0.1, epochs: 1}
    figures: []
"""


def dropout_chain(r) -> dict[str, np.ndarray]:
    p = yaml.safe_load(DROPOUT)["problems"][0]
    P = {k: np.asarray(v, dtype=float) for k, v in p["params"].items()}
    Xb, Yb = np.asarray(p["data"]["X"], float), np.asarray(p["data"]["Y"], float)
    M = np.asarray(p["network"]["layers"][1]["mask"], float)
    scale = r(1 / (1 - 0.3))                           # printed: 1.4 at 2 digits
    v: dict[str, np.ndarray] = {}
    v["H1"] = H1 = r(np.maximum(r(Xb @ P["W1"] + P["b1"]), 0))
    v["H2"] = H2 = r(H1 * M * scale)
    v["yhat"] = yh = r(H2 @ P["W3"] + P["b3"])
    dZ3 = r(2 * (yh - Yb))
    v["dH2"] = dH2 = r(dZ3 @ P["W3"].T)
    v["dH1"] = r(dH2 * M * scale)
    return v


@pytest.mark.parametrize("text,hand,pid", [(BN, bn_chain, "bn"), (DROPOUT, dropout_chain, "do")])
def test_batchnorm_and_dropout_chains_by_hand(tmp_path, text, hand, pid):
    spec = tmp_path / "s.yaml"
    spec.write_text(text)
    ans = json.loads(run("solve", str(spec), "--json"))
    chain, full, tol = ans["chain"][pid], ans["problems"][pid], ans["tolerance"][pid]
    assert set(chain) <= set(full)  # (no per-sample gradient below a batchnorm: none in the key)
    want = hand(rd)
    for name, v in want.items():
        assert np.allclose(np.asarray(chain[name], float), v, rtol=0, atol=1e-12), (name, chain[name], v)
    for name in chain:
        assert within(tol[name], chain[name]) and within(tol[name], full[name]), name
    plain = hand(keep)
    differs = [n for n in want if np.any(np.abs(rd(plain[n]) - want[n]) > 1e-9)]
    assert "dH1" in differs and len(differs) >= 3, differs  # the chain shows
    # the key prints batchnorm's xhat / dropout's H2 rounded-chain row with the hand numbers
    out = tmp_path / "o"
    run("build", str(spec), "-o", str(out), "--no-pdf", "--key")
    tex = (out / "s" / "s-key.tex").read_text()
    rows = re.findall(r"\\text\{rounded chain: \} \{\\begin\{bmatrix\}(.*?)\\end\{bmatrix\}\}",
                      tex)
    shown = [[[float(c) for c in row.split("&")] for row in body.split(r"\\")] for body in rows]
    assert want["dH1"].tolist() in shown


def test_every_cnn_exam_problem_builds_with_the_chain(tmp_path):
    text = (PROBLEMS / "cnn_exam.yaml").read_text().replace("layout: rows",
                                                             "layout: rows\nrounding: chain")
    spec = tmp_path / "cnn_chain.yaml"
    spec.write_text(text)
    out = tmp_path / "out"
    run("build", str(spec), "-o", str(out), "--format", "pdf", "--format", "moodle",
        "--format", "canvas")
    folder = out / "cnn_chain"
    names = {p.name for p in folder.iterdir()}
    assert {"cnn_chain-key.tex", "cnn_chain-questions.tex", "moodle.xml",
            "canvas-qti.zip", "answers.json"} <= names
    ans = json.loads((folder / "answers.json").read_text())
    assert set(ans["chain"]) == {"conv", "bn", "dropout"}
    tex = (folder / "cnn_chain-key.tex").read_text()
    assert tex.count(r"\text{rounded chain: }") >= 5
    if "cnn_chain-key.pdf" not in names:
        pytest.skip("no TeX here")
    log = (folder / "cnn_chain-key.log").read_text(errors="replace")
    assert "Overfull" not in log


def test_a_huge_conv_net_is_refused_by_the_chain_budget(tmp_path):
    X = np.zeros((2, 1, 64, 64)).tolist()
    text = f"""title: huge
problems:
  - id: h
    rounding: chain
    data: {{X: {X}, Y: [[1], [0]]}}
    network:
      layers:
        - {{type: conv, filters: 8, kernel: 3, activation: relu}}
        - {{type: flatten}}
        - {{units: 1, activation: sigmoid}}
    loss: bce
"""
    spec = tmp_path / "h.yaml"
    spec.write_text(text)
    res = CliRunner().invoke(cli, ["solve", str(spec), "--json"])
    assert res.exit_code == 2
    msg = res.output
    m = re.search(rf"{re.escape(str(spec))}:4:15: rounding: chain works problem 'h' 50 times "
                  r"\(its rounding paths\), ([\d,]+) numbers", msg)
    assert m, msg
    # at least every path's Z1, H1, dZ1, dH1: 2 samples x 8 maps of 62 x 62
    assert int(m.group(1).replace(",", "")) >= 50 * 4 * 2 * 8 * 62 * 62
    assert "chain_entries" in msg and "Traceback" not in msg


SIGMOID_CONV = """title: chain sigmoid conv
rounding: chain
digits: 2
problems:
  - id: s
    data:
      X: [[[[-2, -2, 1], [0, 1, -2], [0, -1, 1]]]]
      Y: [[1]]
    network:
      layers:
        - {type: conv, filters: 1, kernel: 2, activation: sigmoid}
        - {type: flatten}
        - {units: 1, activation: linear}
    params:
      W1: [[[[0.2, -0.4], [-0.5, 0.2]]]]
      b1: [0]
      W3: [[0.1], [-1.5], [0.1], [-1.3]]
      b3: [[0]]
    loss: mse
    train: {optimizer: sgd, lr: 0.1, epochs: 1}
    figures: []
"""


def test_a_sigmoid_conv_multiplies_its_derivative_in_unrounded(tmp_path):
    """A conv layer's dZ line prints dH (.) sigma'(Z) with no derivative's values: the chain
    multiplies H (1 - H) in from the printed H unrounded (dact1 in answers.json is rounded,
    as printed there), and so differs from a dense layer's line, which prints H (1 - H)."""
    spec = tmp_path / "s.yaml"
    spec.write_text(SIGMOID_CONV)
    ch = json.loads(run("solve", str(spec), "--json"))["chain"]["s"]
    X = np.array([[[[-2, -2, 1], [0, 1, -2], [0, -1, 1]]]], float)
    W1 = np.array([[[[0.2, -0.4], [-0.5, 0.2]]]])
    W3 = np.array([[0.1], [-1.5], [0.1], [-1.3]])
    H1 = rd(1 / (1 + np.exp(-rd(conv_loops(X, W1, [0.0])))))
    yh = rd(rd(H1.reshape(1, -1)) @ W3)
    dH1 = rd(rd(rd(2 * (yh - 1.0)) @ W3.T).reshape(H1.shape))
    want = rd(dH1 * H1 * (1 - H1))
    assert np.allclose(ch["dZ1"], want, rtol=0, atol=1e-12), (ch["dZ1"], want)
    assert np.allclose(ch["dact1"], rd(H1 * (1 - H1)), rtol=0, atol=1e-12)
    assert not np.allclose(want, rd(dH1 * rd(H1 * rd(1 - H1))))  # the dense line's way differs


def test_conv_with_l2_adds_lambda_over_m_times_the_printed_kernel(tmp_path):
    """L2 decays the conv kernel: dW1 = (1/m) (the products) + (lambda/m) W1, lambda and W1
    as printed; the dense W4 likewise (its dW from H^T dZ, not the per-sample sum)."""
    spec = tmp_path / "l2.yaml"
    spec.write_text(CONV.replace("    figures: []", "    figures: []\n    regularization: {l2: 0.1}"))
    ans = json.loads(run("solve", str(spec), "--json"))
    chain, full, tol = ans["chain"]["c"], ans["problems"]["c"], ans["tolerance"]["c"]
    v = conv_chain(rd)  # the forward pass and dZ do not depend on lambda
    m = X.shape[0]
    dW1 = rd(kernel_grad_loops(X, v["dZ1"], 2, 2).sum(axis=0) / m + 0.1 / m * W1)
    dW4 = rd(v["H3"].T @ v["dZ4"] / m + 0.1 / m * W4)
    for name, want in (("dW1", dW1), ("W1_new", rd(W1 - LR * dW1)), ("dW4", dW4),
                       ("dZ1", v["dZ1"])):
        assert np.allclose(chain[name], want, rtol=0, atol=1e-12), (name, chain[name], want)
        assert within(tol[name], chain[name]) and within(tol[name], full[name]), name
    assert not np.allclose(dW1, v["dW1"])  # the penalty shows at 2 digits
