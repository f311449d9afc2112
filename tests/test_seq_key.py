"""Recurrent and attention layers through `nnreport build` (issue 26), read back as a user
reads them: every graded result printed in the key (.tex) is the value of an independent
reference (tests/ndref.py: explicit loops, central finite differences; never nnreport's own
numbers) correctly rounded (tests/seqtex.py), for problems/sequences_exam.yaml and variants
(return: sequence over a batch of two, causal attention, a relu rnn with h0 given, L2); `check`
marks a submission of the reference's values right and one wrong entry WRONG (a causal mask's
-infinity submitted as null, as answers.json holds it); the Moodle export asks the graded
values; the HTML pages have no KaTeX error."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from fdiff import central
from ndref import batch_loss, forward, losses
from seqtex import check_value, matrices
from test_seq_solve import rnn_dH

from nnreport.cli import cli

ROOT = Path(__file__).resolve().parent.parent
EXAM = ROOT / "problems" / "sequences_exam.yaml"
DIGITS = 4


def reference(p: dict) -> dict[str, np.ndarray]:
    """Every graded value of a spec's problem, from tests/ndref.py alone."""
    layers = p["network"]["layers"]
    X = np.array(p["data"]["X"], dtype=float)
    Y = np.array(p["data"]["Y"], dtype=float)
    P = {k: np.array(v, dtype=float) for k, v in p["params"].items()}
    for k in P:  # a dense bias [out] as a 1 x out row
        if k.startswith("b") and layers[int(k[1:]) - 1].get("type", "dense") == "dense":
            P[k] = P[k].reshape(1, -1)
    L = len(layers)
    f = forward(layers, P, X)
    out: dict[str, np.ndarray] = {}
    for k, v in f.items():
        if k.startswith("Hseq"):
            out[f"H{k[4:]}"] = v
        elif k == f"H{L}":
            out["yhat"] = v
        elif not (k.startswith("H") and layers[int(k[1:]) - 1].get("type") == "rnn"):
            out[k] = v
    out["loss"] = np.array(losses(out["yhat"], Y, "mse").mean())
    lr = p["train"]["lr"]
    l2 = p.get("regularization", {}).get("l2", 0.0)
    decayed = [k for k in P if k[:2] in ("Wx", "Wh", "Wq", "Wk", "Wv") or (
        k.startswith("W") and k[1:].isdigit())]
    for name, a in P.items():
        g = central(lambda: batch_loss(layers, P, X, Y, "mse", l2, decayed), a)
        out[f"d{name}"] = g.reshape(np.shape(p["params"][name])) if name.startswith("b") and \
            layers[int(name[1:]) - 1].get("type") == "rnn" else g
        out[f"{name}_new"] = a - lr * g
    for l, la in enumerate(layers, 1):
        if la.get("type") == "rnn":
            out[f"dH{l}"] = rnn_dH(layers, P, X, Y, l)
            Z, H = out[f"Z{l}"], out[f"H{l}"]
            slope = {"tanh": 1 - H * H, "relu": (Z > 0).astype(float), "sigmoid": H * (1 - H),
                     "linear": np.ones_like(Z)}[la.get("activation", "tanh")]
            out[f"dZ{l}"] = out[f"dH{l}"] * slope
    return out


def spec(problems: list[dict]) -> str:
    return yaml.safe_dump({"title": "Sequences", "problems": problems}, sort_keys=False)


def build(tmp: Path, text: str, *args: str) -> Path:
    path = tmp / "spec.yaml"
    path.write_text(text)
    r = CliRunner().invoke(cli, ["build", str(path), "-o", str(tmp / "out"), *args])
    assert r.exit_code == 0, (r.stdout, r.stderr, r.exception)
    return tmp / "out" / "spec"


_GRADED = re.compile(r"\\text\{pt\}")
_LHS = re.compile(r"^(d?)([A-Za-z])_\{(?:([a-z0-9]),)?(\d+)\}(\^\{\\text\{new\}\})?$")
PLAIN = {r"\hat{Y}": "yhat", "L": "loss", "Q": "Q", "K": "K", "V": "V", "S": "S", "A": "A"}


def name_of(lhs: str, layer: dict[str, int]) -> tuple[str, int | None]:
    """The JSON name (and sample) a graded line's left-hand side stands for."""
    sample = None
    m = re.fullmatch(r"(.*?)\^\{\((\d+)\)\}", lhs)
    if m:
        lhs, sample = m.group(1), int(m.group(2)) - 1
    if lhs in PLAIN:
        name = PLAIN[lhs]
        return (name + str(layer["attention"]) if len(name) == 1 else name), sample
    g = _LHS.fullmatch(lhs)
    assert g, lhs
    d, base, sub, l, new = g.groups()
    return f"{d}{base}{sub or ''}{l}" + ("_new" if new else ""), sample


def graded_lines(tex: str, pid: str) -> list[tuple[str, str]]:
    """(lhs, the printed result) of every graded line of one problem in the key."""
    part = re.split(r"^% nnreport problem: (\S+)$", tex, flags=re.M)
    body = dict(zip(part[1::2], part[2::2], strict=True))[pid]
    out = []
    steps = [st for block in re.findall(r"\\begin\{align\*\}(.*?)\\end\{align\*\}", body, re.S)
             for st in re.split(r" \\\\\*?\[0\.8ex\]\n", block)]
    for step in steps:
        rows = [r for r in step.split("\n") if "&" in r and not r.strip().startswith(
            r"\shortintertext")]
        text = " ".join(rows)
        if not _GRADED.search(text):
            continue
        text = re.sub(r"\\tag\*\{.*?\$\}", "", text).replace(r"\\*", " ")
        lhs, _, rest = text.partition("&=")
        result = re.split(r"(?<![<>\\])=", rest.replace(r"&\qquad", " ").replace("&=", "="))[-1]
        out.append((lhs.strip().split(r"\begin{aligned}")[-1].strip(), result.strip()))
    return out


def check_key(tex: str, p: dict) -> set[str]:
    """Every graded line's result is the reference value correctly rounded; the names seen."""
    ref = reference(p)
    layer = {la.get("type", "dense"): l for l, la in enumerate(p["network"]["layers"], 1)}
    seen = set()
    for lhs, printed in graded_lines(tex, p["id"]):
        name, sample = name_of(lhs, layer)
        want = ref[name]
        if want.ndim == 3:  # one sample's steps x units on each line
            want = want[sample or 0]
        if r"\begin" in printed:
            check_value(printed, want, DIGITS)
        else:
            check_value(printed, np.asarray(want).reshape(-1)[:1], DIGITS)
        seen.add(name)
    return seen


def submission(p: dict, names: list[str]) -> dict:
    ref = reference(p)
    return {n: [[[None if math.isinf(x) else x for x in r] for r in s] for s in ref[n].tolist()]
            if ref[n].ndim == 3 else ref[n].tolist() for n in names}


def run_check(tmp: Path, text: str, sub: dict) -> str:
    path, answers = tmp / "check.yaml", tmp / "answers.json"
    path.write_text(text)
    answers.write_text(json.dumps(sub))
    r = CliRunner().invoke(cli, ["check", str(path), str(answers)])
    return r.stdout + r.stderr


@pytest.fixture(scope="module")
def exam(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("exam")
    out = build(tmp, EXAM.read_text(), "--format", "pdf", "--format", "html",
                "--format", "moodle")
    return tmp, out, yaml.safe_load(EXAM.read_text())


def test_exam_builds_and_every_graded_result_is_the_reference(exam):
    tmp, out, spec_ = exam
    assert (out / "spec-key.pdf").exists() and (out / "spec-questions.pdf").exists()
    tex = (out / "spec-key.tex").read_text()
    for p in spec_["problems"]:
        seen = check_key(tex, p)
        assert set(p["ask"]) <= seen, set(p["ask"]) - seen
    for log in out.glob("*.log"):
        assert "Overfull" not in log.read_text(errors="replace"), log.name


def test_exam_html_and_moodle(exam):
    tmp, out, spec_ = exam
    for page in out.glob("*.html"):
        assert "katex-error" not in page.read_text(), page.name
    xml = (out / "moodle.xml").read_text()
    answers = json.loads((out / "answers.json").read_text())["problems"]
    for p in spec_["problems"]:
        for name in p["ask"]:
            assert f"<p>{name} =</p>" in xml or f"<p>{name} (in units" in xml, name
        boxes = len(re.findall(r":NUMERICAL:", xml))
        assert boxes >= sum(np.size(answers[p["id"]][n]) for n in p["ask"])


def test_exam_check_marks_the_reference_right_and_a_wrong_entry_wrong(exam):
    tmp, out, spec_ = exam
    text = EXAM.read_text()
    sub = {p["id"]: submission(p, p["ask"]) for p in spec_["problems"]}
    report = run_check(tmp, text, sub)
    assert "WRONG" not in report and "22 of 22 right" in report, report
    sub["rnn"]["H1"][0][1][0] += 0.01
    sub["attention"]["A1"][0][2][2] -= 0.01
    report = run_check(tmp, text, sub)
    assert "WRONG  rnn.H1" in report and "WRONG  attention.A1" in report, report
    assert "20 of 22 right" in report, report


def _rnn_problem(**over) -> dict:
    p = yaml.safe_load(EXAM.read_text())["problems"][0]
    p.pop("text")
    p.update(over)
    return p


VARIANTS = {
    "sequence": lambda: _rnn_problem(
        id="seq", data={"X": [[[1.0, 0.5], [-0.5, 1.0], [0.5, -1.0]],
                              [[0.2, -0.4], [1.0, 0.3], [-0.6, 0.8]]], "Y": [[0.5], [-0.2]]},
        network={"layers": [{"type": "rnn", "units": 2, "activation": "tanh",
                             "return": "sequence"}, {"type": "flatten"},
                            {"units": 1, "activation": "linear"}]},
        params={"Wx1": [[0.5, -0.3], [0.2, 0.4]], "Wh1": [[0.1, 0.2], [-0.2, 0.3]],
                "b1": [0.1, -0.1], "W3": [[0.6], [-0.4], [0.3], [0.2], [-0.5], [0.1]],
                "b3": [0.1]},
        ask=["Z1", "H1", "dH1", "dZ1", "dWx1", "dWh1", "db1", "Wh1_new"]),
    "relu_h0": lambda: _rnn_problem(
        id="relu", network={"layers": [{"type": "rnn", "units": 2, "activation": "relu"},
                                       {"units": 1, "activation": "linear"}]},
        params={**_rnn_problem()["params"], "h01": [0.2, -0.1]},
        ask=["Z1", "H1", "dH1", "dWx1", "dWh1", "db1", "Wx1_new", "dh01", "h01_new"]),
    "l2": lambda: _rnn_problem(id="l2", regularization={"l2": 0.1},
                               ask=["dWx1", "dWh1", "db1", "Wx1_new", "Wh1_new"]),
    "causal": lambda: {**yaml.safe_load(EXAM.read_text())["problems"][1], "id": "causal",
                       "network": {"layers": [{"type": "attention", "d_k": 2, "d_v": 2,
                                               "causal": True}, {"type": "flatten"},
                                              {"units": 1, "activation": "linear"}]}},
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_variant_key_and_check(tmp_path, variant):
    p = VARIANTS[variant]()
    text = spec([p])
    out = build(tmp_path, text, "--no-pdf", "--key")
    seen = check_key((out / "spec-key.tex").read_text(), p)
    assert set(p["ask"]) <= seen, set(p["ask"]) - seen
    sub = {p["id"]: submission(p, p["ask"])}
    report = run_check(tmp_path, text, sub)
    n = len(p["ask"])
    assert f"{n} of {n} right" in report, report
    first = p["ask"][0]
    a = np.array(sub[p["id"]][first], dtype=float)
    a.reshape(-1)[-1] += 0.05
    sub[p["id"]][first] = a.tolist()
    assert f"WRONG  {p['id']}.{first}" in run_check(tmp_path, text, sub)


def test_causal_scores_print_minus_infinity(tmp_path):
    p = VARIANTS["causal"]()
    out = build(tmp_path, spec([p]), "--no-pdf", "--key")
    tex = (out / "spec-key.tex").read_text()
    S = [printed for lhs, printed in graded_lines(tex, "causal") if lhs == "S"]
    assert S and r"-\infty" in S[0]
    assert matrices(S[0])[0][1].tolist() == [3, 3]
