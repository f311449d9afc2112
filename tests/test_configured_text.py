"""What the key says of a network with configured layers when the spec gives no text, and the
rnn's initial state as a parameter (issues 25, 26).

The task sentence names each layer in words (its widths alone, 16-9-4-4-1, said nothing of a
convolution and called an rnn's tanh units "linear"); a value printed map by map or sample by
sample is named as a whole (Z_1, not its first map). `h0{l}`, given in `params:`, is a
parameter like the others: `dh0{l}` and `h0{l}_new` can be asked (and only then), the key
names the state h_{0,1} where it enters and dh_{0,1} on its graded line, and the numbers are
the reference's (tests/ndref.py: loops and central differences, nothing of nnreport's)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import yaml
from click.testing import CliRunner
from fdiff import central
from ndref import batch_loss

from nnreport.cli import cli

ROOT = Path(__file__).resolve().parent.parent


def _without_text(name: str) -> dict:
    d = yaml.safe_load((ROOT / "problems" / name).read_text())
    for p in d["problems"]:
        p.pop("text", None)
    return d


def _build(tmp: Path, d: dict, *args: str) -> tuple[int, str, Path]:
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / "spec.yaml"
    path.write_text(yaml.safe_dump(d, sort_keys=False))
    pdf = [] if tmp.name == "pdf" else ["--no-pdf"]
    r = CliRunner().invoke(cli, ["build", str(path), "-o", str(tmp / "out"), *pdf, *args])
    return r.exit_code, r.stdout + r.stderr, tmp / "out" / "spec"


def _sentences(tex: str) -> dict[str, str]:
    part = re.split(r"^% nnreport problem: (\S+)$", tex, flags=re.M)
    return {pid: re.search(r"^A network of .*$", body, re.M).group(0)
            for pid, body in zip(part[1::2], part[2::2], strict=True)}


def test_task_sentence_names_each_layer(tmp_path):
    code, out, folder = _build(tmp_path, _without_text("cnn_exam.yaml"), "--key")
    assert code == 0, out
    said = _sentences((folder / "spec-key.tex").read_text())
    assert said["conv"].startswith(
        "A network of a 2x2 convolution (1 filter, ReLU), max pooling over 2x2 windows, a "
        "flatten and a dense layer of 1 unit (sigmoid) is trained with the BCE loss.")
    assert said["bn"].startswith("A network of a dense layer of 2 units (linear), batch "
                                 "normalisation and a dense layer of 1 unit (linear)")
    assert "dropout (p = 0.5)" in said["dropout"]
    assert "$H_{1}$" in said["dropout"]
    code, out, folder = _build(tmp_path / "s", _without_text("sequences_exam.yaml"), "--key")
    assert code == 0, out
    said = _sentences((folder / "spec-key.tex").read_text())
    assert said["rnn"].startswith("A network of a recurrent layer of 2 units (tanh) and a "
                                  "dense layer of 1 unit (linear) is trained with the MSE loss.")
    assert said["attention"].startswith("A network of single-head self-attention, a flatten and")
    # values printed sample by sample are named whole: H_{1}, not H_{1}^{(1)}
    assert r"\hat{Y}" in said["attention"] and "^{(1)}" not in said["attention"]
    assert "linear hidden units" not in said["rnn"]


def test_task_sentence_names_a_value_printed_by_maps_whole(tmp_path):
    d = _without_text("cnn_exam.yaml")
    d["problems"] = [d["problems"][0]]
    d["problems"][0]["ask"] = ["Z1", "H1", "dH1"]
    code, out, folder = _build(tmp_path, d, "--key")
    assert code == 0, out
    said = _sentences((folder / "spec-key.tex").read_text())["conv"]
    assert "Compute $Z_{1}$, $H_{1}$ and $dH_{1}$." in said, said


def _row(tex: str) -> list[float]:
    """The last printed row vector of a line, with its common factor (10^{-3} [3.972 3.568])."""
    m = re.findall(r"(?:10\^\{(-?\d+)\} )?\\begin\{bmatrix\} (.*?) \\end\{bmatrix\}", tex)[-1]
    scale = 10.0 ** int(m[0]) if m[0] else 1.0
    return [float(x) * scale for x in m[1].split("&")]


def _rnn(h0: bool, ask: list[str]) -> dict:
    d = yaml.safe_load((ROOT / "problems" / "sequences_exam.yaml").read_text())
    p = d["problems"][0]
    if h0:
        p["params"]["h01"] = [0.2, -0.4]
    p["ask"] = ask
    d["problems"] = [p]
    return d


def test_h0_gradient_and_update_asked_only_when_given(tmp_path):
    code, out, _ = _build(tmp_path / "no", _rnn(False, ["dh01"]))
    assert code == 2 and "'dh01' is not a value of problem 'rnn'" in out, out
    assert "Traceback" not in out
    d = _rnn(True, ["dh01", "h01_new"])
    code, out, folder = _build(tmp_path / "yes", d, "--key")
    assert code == 0, out
    tex = (folder / "spec-key.tex").read_text()
    p = d["problems"][0]
    layers = p["network"]["layers"]
    X = np.array(p["data"]["X"], dtype=float)
    Y = np.array(p["data"]["Y"], dtype=float)
    P = {k: np.array(v, dtype=float) for k, v in p["params"].items()}
    P["b2"] = P["b2"].reshape(1, -1)
    g = central(lambda: batch_loss(layers, P, X, Y, "mse"), P["h01"])
    line = re.search(r"^  dh_\{0,1\} &= dh_\{0\} = (.*)$", tex, re.M)
    assert line, "the graded dh0 line names the parameter"
    assert np.allclose(_row(line.group(1)), [float(f"{v:.4g}") for v in g], rtol=1e-12)
    new = P["h01"] - p["train"]["lr"] * g
    up = re.search(r"^  h_\{0,1\}\^\{\\text\{new\}\} &= h_\{0,1\} - \\eta\\, dh_\{0,1\}", tex, re.M)
    assert up, "the update line names h0 as the parameter"
    rest = tex[up.end():].split(r"\tag*")[0]
    last = rest.split(" = ")[-1]
    assert np.allclose(_row(last), [float(f"{v:.4g}") for v in new], rtol=1e-12)
    assert re.search(r"^  h_\{0\} &= h_\{0,1\} = ", tex, re.M), "the state starts at h_{0,1}"


def _table_rows(tex: str, pid: str) -> list[list[str]]:
    part = re.split(r"^% nnreport problem: (\S+)$", tex, flags=re.M)
    body = dict(zip(part[1::2], part[2::2], strict=True))[pid]
    table = body.split("Layer&Activation&Units&Weights&Bias&Parameters")[1].split(r"\bottomrule")[0]
    return [r.rstrip("\\%").split("&") for r in table.split("\n")
            if "&" in r and not r.startswith("Total")]


def test_architecture_table_lists_biases_under_bias(tmp_path):
    """A conv's b_1, batchnorm's beta under Bias; its kernel, gamma, an rnn's W_x, W_h under
    Weights; each row's parameter count the product of the shapes the spec gives."""
    d = yaml.safe_load((ROOT / "problems" / "cnn_exam.yaml").read_text())
    code, out, folder = _build(tmp_path, d, "--key")
    assert code == 0, out
    tex = (folder / "spec-key.tex").read_text()
    conv = {r[0]: r for r in _table_rows(tex, "conv")}
    assert conv["Hidden 1"][3:] == ["$W_{1}$: $1 \\times 1 \\times 2 \\times 2$", "$b_{1}$: $1$",
                                    "5"]
    assert conv["Hidden 2"][1] == "max pool"
    bn = {r[0]: r for r in _table_rows(tex, "bn")}
    assert bn["Hidden 2"][3:] == [r"$\gamma_{2}$: $2$", r"$\beta_{2}$: $2$", "4"]
    d = _rnn(True, ["dWx1"])
    code, out, folder = _build(tmp_path / "r", d, "--key")
    assert code == 0, out
    rnn = {r[0]: r for r in _table_rows((folder / "spec-key.tex").read_text(), "rnn")}
    weights, bias, count = rnn["Hidden 1"][3:]
    assert "W_{x,1}" in weights and "W_{h,1}" in weights and "h_{0,1}" in weights
    assert bias == "$b_{1}$: $2$" and count == str(2 * 2 + 2 * 2 + 2 + 2)


def test_dense_after_an_rnn_reads_its_last_state(tmp_path):
    """H_1 is every step's state (3 x 2, printed just above); the dense layer reads the last
    one, so its lines name it h_3 (a batch: H^<3>, each sample's row h_3^(i)), and the numbers
    they substitute are that row."""
    d = _rnn(False, ["Z2", "dW2"])
    code, out, folder = _build(tmp_path / "one", d, "--key")
    assert code == 0, out
    tex = (folder / "spec-key.tex").read_text()
    assert r"Z_{2} &= h_{3} W_{2} + b_{2} = \begin{bmatrix} 0.07051 & -0.4453 \end{bmatrix}" in tex
    assert r"dW_{2} &= h_{3}^{T} dZ_{2}" in tex and "H_{1} W_{2}" not in tex
    p = d["problems"][0]
    p["data"] = {"X": [p["data"]["X"][0], [[0.2, -0.4], [1.0, 0.3], [-0.6, 0.8]]],
                 "Y": [[0.5], [-0.2]]}
    code, out, folder = _build(tmp_path / "two", d, "--key")
    assert code == 0, out
    tex = (folder / "spec-key.tex").read_text()
    assert r"Z_{2} &= {H^{\langle 3 \rangle}} W_{2} + b_{2}" in tex
    assert r"h_{3}^{(2)T} dz^{(2)}_{2}" in tex
    code, out, folder = _build(tmp_path / "pdf", d)  # it typesets
    assert code == 0 and (folder / "spec-key.pdf").exists(), out


def test_attention_below_a_batchnorm_prints_terms_not_sample_gradients(tmp_path):
    """Below a batch normalisation a sample's gradient is not its own (answers.json has no
    dWq1_per_sample): attention's per-sample lines are the sum's terms X^(i)T dQ^(i), not
    dL_i/dW_q; the batch gradient they add up to is the reference's (finite differences)."""
    d = yaml.safe_load((ROOT / "problems" / "sequences_exam.yaml").read_text())
    p = d["problems"][1]
    p["data"] = {"X": [p["data"]["X"][0], [[0.2, -0.4], [1.0, 0.3], [-0.6, 0.8]]],
                 "Y": [[1.0], [-0.5]]}
    p["network"]["layers"] = [{"type": "attention", "d_k": 2, "d_v": 2}, {"type": "flatten"},
                              {"units": 2, "activation": "linear"}, {"type": "batchnorm"},
                              {"units": 1, "activation": "linear"}]
    rs = np.random.RandomState(0)
    p["params"] = {"Wq1": p["params"]["Wq1"], "Wk1": p["params"]["Wk1"],
                   "Wv1": p["params"]["Wv1"], "W3": np.round(rs.randn(6, 2), 1).tolist(),
                   "b3": [0.1, -0.1], "gamma4": [1.0, 1.0], "beta4": [0.0, 0.0],
                   "W5": [[0.5], [-0.4]], "b5": [0.1]}
    p["ask"] = ["dWq1"]
    d["problems"] = [p]
    code, out, folder = _build(tmp_path, d, "--key")
    assert code == 0, out
    tex = (folder / "spec-key.tex").read_text()
    assert r"\frac{\partial L_{1}}{\partial W_{q,1}}" not in tex
    assert re.search(r"^  X\^\{\(1\)T\} dQ\^\{\(1\)\} &= ", tex, re.M), "sample 1's term"
    P = {k: np.array(v, dtype=float) for k, v in p["params"].items()}
    P["b3"], P["b5"] = P["b3"].reshape(1, -1), P["b5"].reshape(1, -1)
    X, Y = np.array(p["data"]["X"], dtype=float), np.array(p["data"]["Y"], dtype=float)
    g = central(lambda: batch_loss(p["network"]["layers"], P, X, Y, "mse"), P["Wq1"])
    line = re.search(r"^  dW_\{q,1\} &= .*\n  &= (?:10\^\{(-?\d+)\} )?\\begin\{bmatrix\} (.*?) "
                     r"\\end\{bmatrix\}", tex, re.M)
    assert line, "the batch line and its result"
    scale = 10.0 ** int(line.group(1)) if line.group(1) else 1.0
    printed = [[float(x) * scale for x in row.split("&")] for row in line.group(2).split(r"\\")]
    np.testing.assert_allclose(printed, [[float(f"{v:.4g}") for v in row] for row in g],
                               rtol=1e-12)
