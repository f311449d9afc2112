"""`rounding: chain` for the recurrent and attention layers (issue 26): the rounded-chain key
of a 2-unit tanh rnn over 3 steps and of self-attention over 3 tokens (d_k 2), each followed
by a linear unit, MSE, one SGD step, at 2 significant digits, recomputed here by explicit
loops in exact decimal arithmetic, every intermediate the key prints rounded half-up to 2
significant digits before it is used (this file's own rounding; nothing from nnreport):
every answers.json chain entry equals it; the full key and the chain lie inside each
value's tolerance; `check` marks a submission of the chain values right and the same with
one entry 5 % off wrong; the key prints a "rounded chain" row with the chain's numbers;
Moodle's and Canvas's ranges (tests/lmsrules.py) accept both keys; problems/sequences_exam.yaml
with rounding: chain builds (key, sheet, Moodle, Canvas) without overfull boxes; a huge rnn
with rounding: chain is refused by the chain budget at its `rounding:` key."""

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
from seqtex import matrices

from nnreport.cli import cli

ROOT = Path(__file__).resolve().parent.parent
DIG = {"n": 2}  # the digits this file rounds to (the problems' `digits:`)
D = Decimal


@pytest.fixture(autouse=True)
def flatten_chain(monkeypatch):
    """The attention problems need a flatten layer on the chain; its worked lines come with the
    conv family's chain (engine/layers/cnn_worked.py). Until that is merged, a reshape stands
    in for them here (a flatten only moves numbers: nothing to round)."""
    from nnreport.engine.layers.cnn import Flatten
    from nnreport.spec.shaped import FlattenType

    if FlattenType.chain:
        return
    monkeypatch.setattr(FlattenType, "chain", True)
    monkeypatch.setattr(Flatten, "worked_forward",
                        lambda self, h, P, l, keep, c: h.reshape(h.shape[0], -1))
    monkeypatch.setattr(Flatten, "worked_back", lambda self, dz, P, l, h, keep, c:
                        dz.reshape(h.shape))
    monkeypatch.setattr(Flatten, "worked_backward", lambda self, *a: {})


# --- this file's arithmetic: exact decimals, half-up to DIG significant digits ----------

def r(x) -> Decimal:
    d = x if isinstance(x, Decimal) else D(repr(float(x)))
    if d == 0 or not d.is_finite():
        return d
    return d.quantize(D(1).scaleb(d.adjusted() - DIG["n"] + 1), rounding=ROUND_HALF_UP)


def dec(a) -> list:
    """A nested list of numbers as Decimals (each as written)."""
    return [dec(v) for v in a] if isinstance(a, list) else D(repr(float(a)))


def R(a):
    return [R(v) for v in a] if isinstance(a, list) else r(a)


def mm(A, B):
    return [[sum((A[i][k] * B[k][j] for k in range(len(B))), D(0)) for j in range(len(B[0]))]
            for i in range(len(A))]


def tr(A):
    return [list(c) for c in zip(*A, strict=True)]


def ew(f, *As):
    """f entry by entry over equally shaped nested lists."""
    if isinstance(As[0], list):
        return [ew(f, *xs) for xs in zip(*As, strict=True)]
    return f(*As)


def fn(f, x) -> Decimal:
    return D(repr(f(float(x))))


# --- the recurrent problem ---------------------------------------------------------------

RNN = """title: rnn chain
rounding: chain
digits: 2
problems:
  - id: rnn
    data:
      X: [[[1.0, 0.5], [-0.5, 1.0], [0.5, -1.0]]]
      Y: [[0.5]]
    network:
      layers:
        - {type: rnn, units: 2, activation: tanh, return: last}
        - {units: 1, activation: linear}
    params:
      Wx1: [[0.5, -0.3], [0.2, 0.4]]
      Wh1: [[0.1, 0.2], [-0.2, 0.3]]
      b1: [0.1, -0.1]
      W2: [[0.6], [-0.4]]
      b2: [0.1]
    loss: mse
    train: {optimizer: sgd, lr: 0.5, epochs: 1}
    ask: [Z1, H1, yhat, loss, dH1, dZ1, dWx1, dWh1, db1, W2_new, Wx1_new]
"""


def rnn_chain(text: str = RNN) -> dict:
    """Every value of the rnn's rounded chain, by loops: z_t = [x_t W_x] + [h_{t-1} W_h] + b
    (each product printed), h_t = [tanh z_t]; G = [dz_2 W_2^T]; dh_T = g_T,
    dh_t = [dz_{t+1} W_h^T], dz_t = [dh_t (.) [1 - h_t h_t]]; dW_x = [sum_t [x_t^T dz_t]],
    dW_h = [sum_t [h_{t-1}^T dz_t]], db = [sum_t dz_t]; W_new = [W - 0.5 dW]."""
    p = yaml.safe_load(text)["problems"][0]
    X = R(dec(p["data"]["X"]))[0]  # the given values as printed (at the problem's digits)
    P = {k: R(dec(v)) for k, v in p["params"].items()}
    Wx, Wh, b, W2, b2 = P["Wx1"], P["Wh1"], P["b1"], P["W2"], P["b2"][0]
    y = r(dec(p["data"]["Y"])[0][0])
    h = [D(0), D(0)]
    Z, H = [], []
    for t in range(3):
        xw = R(mm([X[t]], Wx)[0])
        hw = R(mm([h], Wh)[0]) if t else [D(0), D(0)]
        z = R([xw[u] + hw[u] + b[u] for u in range(2)])
        h = R([fn(math.tanh, v) for v in z])
        Z.append(z)
        H.append(h)
    yhat = r(mm([H[-1]], W2)[0][0] + b2)
    loss = r((yhat - y) ** 2)
    dz2 = r(2 * (yhat - y))
    dW2 = R([[H[-1][u] * dz2] for u in range(2)])
    g = R([dz2 * W2[u][0] for u in range(2)])
    dH: list = [None] * 3
    dZ: list = [None] * 3
    for t in (2, 1, 0):
        dh = g if t == 2 else R(mm([dZ[t + 1]], tr(Wh))[0])
        der = R([1 - v * v for v in H[t]])
        dH[t], dZ[t] = dh, R([dh[u] * der[u] for u in range(2)])
    xs = [X[t] for t in range(3)]
    hs = [[D(0), D(0)], H[0], H[1]]
    dWx = R(ew(lambda *a: sum(a, D(0)), *[R(mm(tr([xs[t]]), [dZ[t]])) for t in range(3)]))
    dWh = R(ew(lambda *a: sum(a, D(0)), *[R(mm(tr([hs[t]]), [dZ[t]])) for t in range(3)]))
    db = R([sum((dZ[t][u] for t in range(3)), D(0)) for u in range(2)])
    lr = D("0.5")
    out = {"Z1": [Z], "H1": [H], "Z2": [[yhat]], "yhat": [[yhat]], "loss": loss,
           "loss_per_sample": [loss], "dZ2": [[dz2]], "dW2": dW2, "dW2_per_sample": [dW2],
           "db2": [[dz2]], "db2_per_sample": [[[dz2]]], "dH1": [dH], "dZ1": [dZ],
           "dWx1": dWx, "dWx1_per_sample": [dWx], "dWh1": dWh, "dWh1_per_sample": [dWh],
           "db1": db, "db1_per_sample": [db]}
    for name, w, dw in (("W2", W2, dW2), ("b2", [[b2]], [[dz2]]), ("Wx1", Wx, dWx),
                        ("Wh1", Wh, dWh), ("b1", b, db)):
        out[f"{name}_step"] = R(ew(lambda g: lr * g, dw))
        out[f"{name}_new"] = R(ew(lambda w, g: w - lr * g, w, dw))
    return out


# --- the attention problem ---------------------------------------------------------------

ATT = """title: attention chain
rounding: chain
digits: 2
problems:
  - id: att
    data:
      X: [[[1.0, 0.0], [0.5, 1.0], [-0.5, 0.5]]]
      Y: [[1.0]]
    network:
      layers:
        - {type: attention, d_k: 2, d_v: 2}
        - {type: flatten}
        - {units: 1, activation: linear}
    params:
      Wq1: [[0.5, -0.2], [0.3, 0.4]]
      Wk1: [[0.4, 0.1], [-0.3, 0.6]]
      Wv1: [[1.0, -0.5], [0.2, 0.3]]
      W3: [[0.5], [-0.3], [0.2], [0.4], [-0.1], [0.3]]
      b3: [0.1]
    loss: mse
    train: {optimizer: sgd, lr: 0.5, epochs: 1}
    ask: [Q1, K1, V1, S1, A1, H1, yhat, loss, dWq1, dWk1, dWv1, Wq1_new, Wv1_new]
"""


def att_chain(text: str = ATT) -> dict:
    """Attention's rounded chain by loops: Q, K, V = [X W]; [Q K^T]; S = [QK / sqrt 2] (the
    fraction as a calculator takes it); per row e = [exp [S_j - max S]], [sum e],
    A = [e / sum]; H = [A V]; dV = [A^T dH], dA = [dH V^T], per row [sum_j dA A],
    [dA - that], dS = [A (.) it]; dQ = [[dS K] / sqrt 2], dK = [[dS^T Q] / sqrt 2];
    dW = [X^T d.]; W_new = [W - 0.5 dW]."""
    p = yaml.safe_load(text)["problems"][0]
    X = R(dec(p["data"]["X"]))[0]  # the given values as printed (at the problem's digits)
    P = {k: R(dec(v)) for k, v in p["params"].items()}
    Q, K, V = (R(mm(X, P[f"W{k}1"])) for k in "qkv")
    root = D(repr(math.sqrt(2)))

    def over_root(a):  # a / sqrt(2) on a calculator
        return ew(lambda v: D(repr(float(v) / math.sqrt(2))), a)

    assert root  # the scale is used as the fraction 1/sqrt(2), never rounded
    S = R(over_root(R(mm(Q, tr(K)))))
    A = []
    for row in S:
        top = max(row)
        e = R([fn(math.exp, v) for v in R([v - top for v in row])])
        s = r(sum(e, D(0)))
        A.append(R([v / s for v in e]))
    H = R(mm(A, V))
    flat = [v for rw in H for v in rw]
    W3, b3 = P["W3"], P["b3"][0]
    yhat = r(sum((flat[i] * W3[i][0] for i in range(6)), D(0)) + b3)
    y = r(dec(p["data"]["Y"])[0][0])
    loss = r((yhat - y) ** 2)
    dz = r(2 * (yhat - y))
    dW3 = R([[v * dz] for v in flat])
    dflat = R([dz * W3[i][0] for i in range(6)])
    dH = [dflat[0:2], dflat[2:4], dflat[4:6]]
    dV = R(mm(tr(A), dH))
    dA = R(mm(dH, tr(V)))
    dS = []
    for i in range(3):
        dot = r(sum((dA[i][j] * A[i][j] for j in range(3)), D(0)))
        dS.append(R([A[i][j] * r(dA[i][j] - dot) for j in range(3)]))
    dQ = R(over_root(R(mm(dS, K))))
    dK = R(over_root(R(mm(tr(dS), Q))))
    grads = {"Wq1": R(mm(tr(X), dQ)), "Wk1": R(mm(tr(X), dK)), "Wv1": R(mm(tr(X), dV))}
    lr = D("0.5")
    out = {"Q1": [Q], "K1": [K], "V1": [V], "S1": [S], "A1": [A], "H1": [H], "H2": [flat],
           "Z3": [[yhat]], "yhat": [[yhat]], "loss": loss, "loss_per_sample": [loss],
           "dZ3": [[dz]], "dW3": dW3, "dW3_per_sample": [dW3], "db3": [[dz]],
           "db3_per_sample": [[[dz]]], "dH2": [dflat], "dH1": [dH]}
    for name, g in grads.items():
        out[f"d{name}"] = g
        out[f"d{name}_per_sample"] = [g]
    for name, w, dw in (("W3", W3, dW3), ("b3", [[b3]], [[dz]]),
                        *((n, P[n], g) for n, g in grads.items())):
        out[f"{name}_step"] = R(ew(lambda g: lr * g, dw))
        out[f"{name}_new"] = R(ew(lambda w, g: w - lr * g, w, dw))
    return out


# --- running nnreport --------------------------------------------------------------------

def build(tmp: Path, text: str, *args: str) -> Path:
    spec = tmp / "spec.yaml"
    spec.write_text(text)
    r_ = CliRunner().invoke(cli, ["build", str(spec), "-o", str(tmp / "out"), *args])
    assert r_.exit_code == 0, (r_.stdout, r_.stderr, r_.exception)
    return tmp / "out" / "spec"


def check(tmp: Path, text: str, sub: dict) -> str:
    spec, answers = tmp / "check.yaml", tmp / "sub.json"
    spec.write_text(text)
    answers.write_text(json.dumps(sub))
    r_ = CliRunner().invoke(cli, ["check", str(spec), str(answers)])
    return r_.stdout + r_.stderr


CASES = {"rnn": (RNN, rnn_chain), "att": (ATT, att_chain)}
ROUGH = {"[[[1.0, 0.5], [-0.5, 1.0], [0.5, -1.0]]]": "[[[0.73, 0.41], [-0.52, 0.96], [0.35, -0.88]]]",
         "[[[1.0, 0.0], [0.5, 1.0], [-0.5, 0.5]]]": "[[[0.93, 0.17], [0.46, 1.12], [-0.57, 0.38]]]",
         "Y: [[0.5]]": "Y: [[0.47]]", "Y: [[1.0]]": "Y: [[0.83]]",
         "Wx1: [[0.5, -0.3], [0.2, 0.4]]": "Wx1: [[0.47, -0.31], [0.23, 0.38]]",
         "Wh1: [[0.1, 0.2], [-0.2, 0.3]]": "Wh1: [[0.12, 0.21], [-0.18, 0.33]]",
         "Wq1: [[0.5, -0.2], [0.3, 0.4]]": "Wq1: [[0.52, -0.23], [0.31, 0.44]]",
         "Wv1: [[1.0, -0.5], [0.2, 0.3]]": "Wv1: [[0.97, -0.53], [0.21, 0.34]]"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Each problem's key, sheet, Moodle and Canvas exports (no TeX run: the exam below
    compiles)."""
    out = {}
    for pid, (text, _) in CASES.items():
        tmp = tmp_path_factory.mktemp(pid)
        with pytest.MonkeyPatch.context() as mp:
            from nnreport.engine.layers.cnn import Flatten
            from nnreport.spec.shaped import FlattenType

            if not FlattenType.chain:  # as the autouse fixture (module scope here)
                mp.setattr(FlattenType, "chain", True)
                mp.setattr(Flatten, "worked_forward",
                           lambda self, h, P, l, keep, c: h.reshape(h.shape[0], -1))
                mp.setattr(Flatten, "worked_back", lambda self, dz, P, l, h, keep, c:
                           dz.reshape(h.shape))
                mp.setattr(Flatten, "worked_backward", lambda self, *a: {})
            folder = build(tmp, text, "--no-pdf", "--format", "pdf", "--format", "moodle",
                           "--format", "canvas")
        out[pid] = (tmp, folder, json.loads((folder / "answers.json").read_text()))
    return out


def as_float(a) -> np.ndarray:
    return np.asarray(ew(float, a) if isinstance(a, list) else float(a), dtype=float)


def same_chain(chain: dict, want: dict) -> None:
    assert set(chain) == set(want), set(chain) ^ set(want)
    for name, w in want.items():
        got = np.asarray(chain[name], dtype=float)
        assert got.shape == as_float(w).shape, name
        assert np.array_equal(got, as_float(w)), (name, got.tolist(), ew(str, w))


@pytest.mark.parametrize("pid", list(CASES))
def test_every_chain_entry_is_the_loops_rounded_chain(built, pid):
    _, _, answers = built[pid]
    same_chain(answers["chain"][pid], CASES[pid][1]())


@pytest.mark.parametrize("digits", [2, 3, 4])
@pytest.mark.parametrize("pid", list(CASES))
def test_the_chain_at_more_digits_is_the_loops_too(tmp_path, monkeypatch, pid, digits):
    """With data of more digits (at 2, 3 and 4 digits), other intermediates decide (x_t W_x,
    f'(z_t), the exponentials, ...)."""
    text = CASES[pid][0].replace("digits: 2", f"digits: {digits}")
    for a, b in ROUGH.items():
        text = text.replace(a, b)
    spec = tmp_path / "s.yaml"
    spec.write_text(text)
    r_ = CliRunner().invoke(cli, ["solve", "--json", str(spec)])
    assert r_.exit_code == 0, (r_.stdout, r_.exception)
    monkeypatch.setitem(DIG, "n", digits)
    same_chain(json.loads(r_.stdout)["chain"][pid], CASES[pid][1](text))


def test_the_chain_differs_visibly_from_the_full_key(built):
    """At 2 digits the chain is not the full key rounded: the rnn's dh_2 (x 1) cancels to 0
    on the chain (-0.22 (0.1) + 0.11 (0.2)), 0.0016 in full; b's update moves."""
    _, _, answers = built["rnn"]
    chain, full = answers["chain"]["rnn"], answers["problems"]["rnn"]
    assert chain["dH1"][0][1][0] == 0 and float(r(full["dH1"][0][1][0])) == 0.0016
    assert chain["dWx1"][0][1] == 0.042 and float(r(full["dWx1"][0][1])) == 0.045
    moved = [n for n in chain if not np.array_equal(
        np.asarray(chain[n], dtype=float), as_float(R(dec(full[n]) if isinstance(
            full[n], list) else r(full[n]))))]
    assert {"dH1", "dZ1", "dWx1", "dWh1", "b1_new"} <= set(moved), moved
    _, _, att = built["att"]
    ch, fu = att["chain"]["att"], att["problems"]["att"]
    assert not np.array_equal(np.asarray(ch["dWq1"]), as_float(R(dec(fu["dWq1"]))))


@pytest.mark.parametrize("pid", list(CASES))
def test_both_keys_lie_in_every_tolerance(built, pid):
    _, _, answers = built[pid]
    tol, chain, full = answers["tolerance"][pid], answers["chain"][pid], answers["problems"][pid]
    assert set(tol) == set(chain)
    for name in chain:
        lo, hi = (np.asarray(tol[name][k], dtype=float) for k in ("low", "high"))
        for key in (chain, full):
            v = np.asarray(key[name], dtype=float)
            assert np.all((lo <= v) & (v <= hi)), (name, v, lo, hi)
        assert np.all(hi - lo > 0), name


def submission(pid: str, names: list[str], values: dict) -> dict:
    return {pid: {n: as_float(values[n]).tolist() for n in names}}


@pytest.mark.parametrize("pid,moved", [("rnn", ("Wx1_new", (0, 0))), ("rnn", ("H1", (0, 0, 0))),
                                       ("att", ("A1", (0, 2, 2))), ("att", ("Wv1_new", (0, 0)))])
def test_check_marks_the_chain_right_and_5_percent_off_wrong(built, tmp_path, pid, moved):
    text = CASES[pid][0]
    asked = yaml.safe_load(text)["problems"][0]["ask"]
    want = CASES[pid][1]()
    sub = submission(pid, asked, want)
    report = check(tmp_path, text, sub)
    assert "WRONG" not in report and f"{len(asked)} of {len(asked)} right" in report, report
    name, idx = moved
    a = np.asarray(sub[pid][name])
    a[idx] *= 1.05
    sub[pid][name] = a.tolist()
    report = check(tmp_path, text, sub)
    assert f"WRONG  {pid}.{name}" in report and f"{len(asked) - 1} of {len(asked)} right" \
        in report, report




@pytest.mark.parametrize("pid,lhs,name", [
    ("rnn", r"dH_{1}", "dH1"), ("rnn", r"dZ_{1}", "dZ1"), ("rnn", r"dW_{h,1}", "dWh1"),
    ("att", r"A", "A1"), ("att", r"H_{1}", "H1")])
def test_the_key_prints_the_chain_row(built, pid, lhs, name):
    _, folder, answers = built[pid]
    tex = (folder / "spec-key.tex").read_text()
    row = tex.split(f"\n  {lhs} &=", 1)[1].split("\\\\[0.8ex]", 1)[0]
    assert r"\text{rounded chain: }" in row, row
    (_, shape, cells), = matrices(row.split(r"\text{rounded chain: }", 1)[1])
    want = as_float(CASES[pid][1]()[name])
    want = want[0] if want.ndim == 3 else want
    assert tuple(shape) == want.shape
    for ij, n in cells.items():
        assert float(n.value) == want[ij], (ij, n.text, want[ij])


def _moodle_entries(xml: str, name: str) -> list[tuple[float, float]]:
    m = re.search(rf"<p>{re.escape(name)} =</p>(.*?)(?:<p>|\]\]>)", xml, re.S)
    assert m, name
    return [(float(a) - float(b), float(a) + float(b))
            for a, b in re.findall(r"NUMERICAL:=([-0-9.e]+):([0-9.e]+)", m.group(1))]


@pytest.mark.parametrize("pid", list(CASES))
def test_moodle_and_canvas_ranges_hold_both_keys(built, pid):
    from lmsrules import canvas_answers, canvas_grades, quiz_page
    from lxml import etree
    from test_lms import _items

    _, folder, answers = built[pid]
    chain, full = answers["chain"][pid], answers["problems"][pid]
    xml = (folder / "moodle.xml").read_text()
    asked = yaml.safe_load(CASES[pid][0])["problems"][0]["ask"]
    for name in asked:
        c = np.asarray(chain[name], dtype=float).ravel()
        f = np.asarray(full[name], dtype=float).ravel()
        if np.abs(f).max() < 0.01:  # asked in units of a power of ten: read below on Canvas
            continue
        ranges = _moodle_entries(xml, name)
        assert len(ranges) == c.size, name
        for (lo, hi), x, y in zip(ranges, c, f, strict=True):
            assert lo <= min(x, y) and max(x, y) <= hi, (name, lo, hi, x, y)
    with zipfile.ZipFile(folder / "canvas-qti.zip") as z:
        qti = etree.fromstring(z.read("nnreport_assessment/nnreport_assessment.xml"))
    seen = set()
    for _, where, name, idx, k, item in _items(qti):
        assert where == pid
        for key in (chain, full):
            a = np.asarray(key[name], dtype=float)
            x = float(a[idx] if idx else a.reshape(-1)[0]) / 10.0 ** k
            assert canvas_grades(canvas_answers(item), quiz_page(x)), (name, idx, x)
        seen.add(name)
    assert seen == set(asked)


def test_the_exam_with_rounding_chain_builds_without_overfull_boxes(tmp_path):
    text = (ROOT / "problems" / "sequences_exam.yaml").read_text().replace(
        "layout: rows", "layout: rows\nrounding: chain")
    folder = build(tmp_path, text, "--format", "pdf", "--format", "moodle", "--format", "canvas")
    for f in ("spec-key.pdf", "spec-questions.pdf", "moodle.xml", "canvas-qti.zip"):
        assert (folder / f).exists(), f
    for log in folder.glob("*.log"):
        assert "Overfull" not in log.read_text(errors="replace"), log.name
    tex = (folder / "spec-key.tex").read_text()
    assert tex.count(r"\text{rounded chain: }") >= 10
    answers = json.loads((folder / "answers.json").read_text())
    assert {"Z1", "dWx1", "A1", "dWq1"} <= set(answers["chain"]["rnn"]) | set(
        answers["chain"]["attention"])


def test_a_huge_rnn_on_the_chain_is_refused_by_its_budget(tmp_path):
    """400 steps: fine in full precision; the chain's paths would take minutes, so the
    chain_entries budget refuses it at `rounding:` (file:line:col, exit 2)."""
    steps = [[round(math.sin(t), 2)] for t in range(400)]
    text = yaml.safe_dump({"title": "long", "problems": [{
        "id": "long", "rounding": "chain",
        "data": {"X": [steps], "Y": [[0.5]]},
        "network": {"layers": [{"type": "rnn", "units": 2}, {"units": 1, "activation": "linear"}]},
        "loss": "mse", "train": {"lr": 0.1}}]}, sort_keys=False)
    spec = tmp_path / "long.yaml"
    spec.write_text(text)
    r_ = CliRunner().invoke(cli, ["validate", str(spec)])
    assert r_.exit_code == 2, r_.stdout + r_.stderr
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "rounding:" in t)
    assert re.search(rf"long\.yaml:{line}:\d+: .*rounding: chain works problem 'long'",
                     r_.stderr), r_.stderr
    assert "chain_entries" in r_.stderr
    spec.write_text(text.replace("rounding: chain", "rounding: full"))
    assert CliRunner().invoke(cli, ["validate", str(spec)]).exit_code == 0


# --- the other forms: at 12 digits the chain is the full key --------------------------------

X2 = [[[1.0, 0.5], [-0.5, 1.0], [0.5, -1.0]], [[0.2, -0.4], [1.0, 0.3], [-0.6, 0.8]]]
Y2 = [[0.5], [-0.2]]
RNN_P = {"Wx1": [[0.5, -0.3], [0.2, 0.4]], "Wh1": [[0.1, 0.2], [-0.2, 0.3]], "b1": [0.1, -0.1]}
ATT_P = {"Wq1": [[0.5, -0.2], [0.3, 0.4]], "Wk1": [[0.4, 0.1], [-0.3, 0.6]],
         "Wv1": [[1.0, -0.5], [0.2, 0.3]]}
LIN = {"units": 1, "activation": "linear"}


def _form(layers: list, params: dict, **more) -> dict:
    return {"data": {"X": X2, "Y": Y2}, "network": {"layers": layers}, "params": params,
            "loss": "mse", "train": {"lr": 0.5}, **more}


FORMS = {
    "sequence": _form([{"type": "rnn", "units": 2, "return": "sequence"}, {"type": "flatten"},
                       LIN], RNN_P),
    "relu_h0": _form([{"type": "rnn", "units": 2, "activation": "relu"}, LIN],
                     {**RNN_P, "h01": [0.2, -0.1]}),
    "sigmoid_h0_sum": _form([{"type": "rnn", "units": 2, "activation": "sigmoid"}, LIN],
                            {**RNN_P, "h01": [0.2, -0.1]},
                            loss={"name": "mse", "reduction": "sum"}),
    "linear_l2_adam": _form([{"type": "rnn", "units": 2, "activation": "linear"}, LIN], RNN_P,
                            regularization={"l2": 0.1},
                            train={"optimizer": {"name": "adam"}, "lr": 0.1}),
    "causal_momentum": _form([{"type": "attention", "causal": True}, {"type": "flatten"}, LIN],
                             ATT_P, train={"optimizer": {"name": "momentum", "beta": 0.9},
                                           "lr": 0.5}),
    "attention_rnn": _form([{"type": "attention"}, {"type": "rnn", "units": 2}, LIN],
                           {**ATT_P, "Wx2": RNN_P["Wx1"], "Wh2": RNN_P["Wh1"]}),
    "rnn_attention": _form([{"type": "rnn", "units": 2, "return": "sequence"},
                            {"type": "attention"}, {"type": "flatten"}, LIN],
                           {**RNN_P, **{k.replace("1", "2"): v for k, v in ATT_P.items()}},
                           regularization={"l2": 0.05}),
}


def solve_chain(tmp: Path, form: dict, digits: int) -> tuple[dict, dict, dict]:
    spec = tmp / f"f{digits}.yaml"
    spec.write_text(yaml.safe_dump({"title": "f", "problems": [
        {"id": "f", "digits": digits, "rounding": "chain", **form}]}, sort_keys=False))
    r_ = CliRunner().invoke(cli, ["solve", "--json", str(spec)])
    assert r_.exit_code == 0, (r_.stdout[-2000:], r_.stderr, r_.exception)
    out = json.loads(r_.stdout)
    return out["problems"]["f"], out["chain"]["f"], out["tolerance"]["f"]


@pytest.mark.parametrize("form", sorted(FORMS))
def test_every_form_on_the_chain(tmp_path, form):
    """At 12 digits nothing a line prints is rounded enough to matter: every chain value is
    the full key's (computed by the engine's own passes, which tests/test_seq_key.py checks
    against tests/ndref.py): the worked lines' arithmetic is the layers' (BPTT with
    return: sequence, h0, sigmoid's f', relu's kink, L2, Adam, causal masks, an rnn under
    attention and over it). At 3 digits both keys lie in every range."""
    full, chain, _ = solve_chain(tmp_path, FORMS[form], 12)
    assert {"dH1", "dWq1", "dWx1", "dWx2", "dWq2"} & set(chain)
    for name, v in chain.items():
        f, c = np.asarray(full[name], dtype=float), np.asarray(v, dtype=float)
        ok = np.isfinite(f)
        assert np.array_equal(ok, np.isfinite(c)), name
        assert np.allclose(c[ok], f[ok], rtol=1e-9, atol=1e-13), (name, c, f)
    full, chain, tol = solve_chain(tmp_path, FORMS[form], 3)
    for name, v in chain.items():
        f, c = np.asarray(full[name], dtype=float), np.asarray(v, dtype=float)
        lo, hi = (np.asarray(tol[name][k], dtype=float) for k in ("low", "high"))
        ok = np.isfinite(f)
        for key in (f, c):
            assert np.all((lo[ok] <= key[ok]) & (key[ok] <= hi[ok])), name


def test_a_causal_chain_is_checked_with_its_masked_scores_null(tmp_path):
    text = yaml.safe_dump({"title": "c", "problems": [
        {"id": "c", "digits": 3, "rounding": "chain", **FORMS["causal_momentum"],
         "ask": ["S1", "A1", "dWq1", "Wq1_new"]}]}, sort_keys=False)
    _, chain, _ = solve_chain(tmp_path, FORMS["causal_momentum"], 3)
    sub = {"c": {n: chain[n] for n in ("S1", "A1", "dWq1", "Wq1_new")}}
    assert sub["c"]["S1"][0][0][1] is None  # -infinity, null as answers.json writes it
    report = check(tmp_path, text, sub)
    assert "4 of 4 right" in report, report
    sub["c"]["A1"][1][2][1] *= 1.05
    assert "WRONG  c.A1" in check(tmp_path, text, sub)
