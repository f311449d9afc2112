"""`nnreport code` for the configured layer types (issues 25, 26): conv, pool, flatten,
batchnorm, dropout, rnn and attention. The script is run as its own program with the venv's
python, under a small wrapper that runs it (runpy) and then dumps what it computed: its
final parameters and its gradients at the initial parameters (the script's module-level
names, W1, b1 ..., keep the initial values; `gradients` is its own function). Its printed
loss history, final loss, final parameters and first gradients are compared with an
independent training loop: tests/ndref.py's explicit-loop forward passes, central finite
differences (tests/fdiff.py) of the batch loss for every gradient, and the optimisers' rules
written out here - nothing of nnreport's engine."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import PROBLEMS
from fdiff import central
from ndref import batch_loss

WRAP = r'''
import json, runpy, sys
import numpy as np
g = runpy.run_path(sys.argv[1], run_name="__main__")
first = {k: g[k] for k in g["params"]}  # the module's names keep the initial values
bs = int(sys.argv[2])
grads = g["gradients"](first, g["X"][:bs], g["Y"][:bs])
print("DUMP " + json.dumps({"params": {k: np.asarray(v).tolist() for k, v in g["params"].items()},
                            "grads": {k: np.asarray(v).tolist() for k, v in grads.items()}}))
'''


def code_of(spec: Path, problem: str | None = None) -> str:
    pick = ["--problem", problem] if problem else []
    r = subprocess.run([sys.executable, "-m", "nnreport", "code", str(spec), *pick],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


def run_script(tmp_path: Path, text: str, batch: int) -> tuple[list[float], float, dict]:
    """The script's loss history and final loss as it prints them, and its dump."""
    assert "nnreport" not in text.split('"""', 2)[2].replace("nnreport's", "")  # standalone
    path = tmp_path / "script.py"
    path.write_text(text)
    wrap = tmp_path / "wrap.py"
    wrap.write_text(WRAP)
    r = subprocess.run([sys.executable, str(wrap), str(path), str(batch)], capture_output=True,
                       text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = r.stdout.splitlines()
    history = [float(x.split()[-1]) for x in lines if x.startswith("epoch")]
    final = float(next(x for x in lines if x.startswith("final")).split()[-1])
    dump = json.loads(next(x for x in lines if x.startswith("DUMP "))[5:])
    return history, final, dump


# the independent reference: ndref's loops, finite differences, the optimisers by hand
def decayed(layers: list[dict]) -> list[str]:
    """The weights an L2 penalty decays (docs/spec.md): a dense or conv layer's W, an rnn's
    Wx and Wh, attention's Wq, Wk, Wv."""
    kinds = {"dense": ("W",), "conv": ("W",), "rnn": ("Wx", "Wh"),
             "attention": ("Wq", "Wk", "Wv")}
    return [f"{k}{l}" for l, la in enumerate(layers, 1)
            for k in kinds.get(la.get("type", "dense"), ())]


def for_batch(layers: list[dict], n: int) -> list[dict]:
    """A dropout mask holds a batch's rows: n samples use rows 1..n, row i % rows beyond."""
    out = []
    for la in layers:
        if la.get("type") == "dropout":
            mask = np.array(la["mask"], dtype=float)
            la = {**la, "mask": mask[np.arange(n) % len(mask)]}
        out.append(la)
    return out


def loss_at(layers, P, X, Y, loss, l2):
    return float(batch_loss(for_batch(layers, len(X)), P, X, Y, loss, l2, decayed(layers)))


def fd_grads(layers, P, X, Y, loss, l2) -> dict[str, np.ndarray]:
    return {k: central(lambda: loss_at(layers, P, X, Y, loss, l2), P[k]) for k in P}


def reference(p: dict) -> tuple[list[float], float, dict, dict]:
    """Loss history, final loss, final parameters and the first batch's gradients of the
    problem `p` (a spec's problem as a dict), trained as docs/spec.md says: each epoch's loss
    over every sample first, then the batches in order."""
    layers = p["network"]["layers"]
    X, Y = np.array(p["data"]["X"], dtype=float), np.array(p["data"]["Y"], dtype=float)
    if layers[0].get("type") == "conv" and X.ndim == 3:
        X = X[:, None]
    P = {k: np.array(v, dtype=float) for k, v in p["params"].items()}
    t = p["train"]
    opt = t.get("optimizer", "sgd")
    opt = opt if isinstance(opt, dict) else {"name": opt}
    lr, bs = t["lr"], t.get("batch_size", len(X))
    loss, l2 = p["loss"] if isinstance(p["loss"], str) else p["loss"]["name"], \
        p.get("regularization", {}).get("l2", 0.0)
    state: dict[str, np.ndarray] = {}
    history, first, step = [], None, 0
    for _ in range(t["epochs"]):
        history.append(loss_at(layers, P, X, Y, loss, l2))
        for i in range(0, len(X), bs):
            g = fd_grads(layers, P, X[i:i + bs], Y[i:i + bs], loss, l2)
            first = first or g
            step += 1
            for k in P:
                if opt["name"] == "sgd":
                    P[k] = P[k] - lr * g[k]
                elif opt["name"] == "momentum":  # v = beta v + (1 - beta) g, p -= lr v
                    b = opt.get("beta", 0.9)
                    state[k] = b * state.get(k, 0.0) + (1 - b) * g[k]
                    P[k] = P[k] - lr * state[k]
                else:  # adam, bias-corrected
                    b1, b2, eps = opt.get("beta1", 0.9), opt.get("beta2", 0.999), 1e-8
                    state["m" + k] = b1 * state.get("m" + k, 0.0) + (1 - b1) * g[k]
                    state["v" + k] = b2 * state.get("v" + k, 0.0) + (1 - b2) * g[k] ** 2
                    mhat = state["m" + k] / (1 - b1 ** step)
                    vhat = state["v" + k] / (1 - b2 ** step)
                    P[k] = P[k] - lr * mhat / (np.sqrt(vhat) + eps)
    return history, loss_at(layers, P, X, Y, loss, l2), P, first or {}


def compare(tmp_path: Path, spec: Path, p: dict, problem: str | None = None) -> str:
    text = code_of(spec, problem)
    bs = p["train"].get("batch_size", len(p["data"]["X"]))
    history, final, dump = run_script(tmp_path, text, bs)
    want_history, want_final, want_P, want_g = reference(p)
    assert len(history) == p["train"]["epochs"]
    np.testing.assert_allclose(history, want_history, rtol=1e-7, atol=1e-9)
    assert final == pytest.approx(want_final, rel=1e-7, abs=1e-9)
    assert set(dump["params"]) == set(want_P) == set(dump["grads"])
    for k, v in want_P.items():
        got, g = np.array(dump["params"][k]), np.array(dump["grads"][k])
        assert got.shape == g.shape
        if k.startswith("b") and got.shape == (1, v.size):  # a dense bias is a row
            got, g = got.reshape(v.shape), g.reshape(v.shape)
        np.testing.assert_allclose(got, v, rtol=1e-6, atol=1e-8, err_msg=f"{k} after training")
        np.testing.assert_allclose(g, want_g[k], rtol=1e-5, atol=1e-8,
                                   err_msg=f"d{k} of the first batch")
    return text


SHIPPED = [("cnn_exam", "conv"), ("cnn_exam", "bn"), ("cnn_exam", "dropout"),
           ("sequences_exam", "rnn"), ("sequences_exam", "attention")]


@pytest.mark.parametrize("name,problem", SHIPPED)
def test_shipped_problems_scripts_reproduce_an_independent_reference(tmp_path, name, problem):
    spec = PROBLEMS / f"{name}.yaml"
    p = next(x for x in yaml.safe_load(spec.read_text())["problems"] if x["id"] == problem)
    text = compare(tmp_path, spec, p, problem)
    assert text.count("def forward(") == 1


@pytest.mark.parametrize("name,problem", SHIPPED)
def test_shipped_problems_trained_longer(tmp_path, name, problem):
    """The same problems over four epochs and a bigger step: the script follows every step."""
    spec = yaml.safe_load((PROBLEMS / f"{name}.yaml").read_text())
    p = next(x for x in spec["problems"] if x["id"] == problem)
    p["train"] = {**p["train"], "epochs": 4, "lr": 0.2}
    spec["problems"] = [p]
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    compare(tmp_path, path, p)


def rnd(rs, *shape, scale=1.0):
    return np.round(rs.randn(*shape) * scale, 2).tolist()


def variant(name: str) -> dict:
    rs = np.random.RandomState(sum(map(ord, name)))
    if name == "conv_stride_pad_avg":  # 2 channels x 2 filters, stride 2, padding 1, avg pool
        layers = [{"type": "conv", "filters": 2, "kernel": 3, "stride": 2, "padding": 1,
                   "activation": "relu"},
                  {"type": "pool", "kind": "avg", "size": 2, "stride": 1},
                  {"type": "flatten"}, {"units": 1, "activation": "sigmoid"}]
        X, Y = rnd(rs, 2, 2, 5, 5), [[1.0], [0.0]]
        P = {"W1": rnd(rs, 2, 2, 3, 3, scale=0.5), "b1": [0.1, -0.1],
             "W4": rnd(rs, 8, 1, scale=0.5), "b4": [[0.0]]}
        extra = {"loss": "bce", "regularization": {"l2": 0.05},
                 "train": {"optimizer": {"name": "momentum", "beta": 0.8}, "lr": 0.3,
                           "epochs": 3, "batch_size": 1}}
    elif name == "max_pool_adam":
        layers = [{"type": "conv", "filters": 2, "kernel": 2, "activation": "tanh"},
                  {"type": "pool", "kind": "max", "size": 2, "stride": 1},
                  {"type": "flatten"}, {"units": 1, "activation": "linear"}]
        X, Y = rnd(rs, 3, 1, 4, 4), [[0.5], [-0.2], [1.0]]
        P = {"W1": rnd(rs, 2, 1, 2, 2, scale=0.5), "b1": [0.05, -0.05],
             "W4": rnd(rs, 8, 1, scale=0.5), "b4": [[0.1]]}
        extra = {"loss": "mse", "train": {"optimizer": "adam", "lr": 0.05, "epochs": 4}}
    elif name == "batchnorm":
        layers = [{"units": 3, "activation": "tanh"}, {"type": "batchnorm", "eps": 1e-3},
                  {"units": 2, "activation": "sigmoid"}]
        X, Y = rnd(rs, 4, 3), [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]]
        P = {"W1": rnd(rs, 3, 3), "b1": [[0.1, 0.0, -0.1]], "gamma2": [1.0, 0.5, 2.0],
             "beta2": [0.0, 0.2, -0.1], "W3": rnd(rs, 3, 2), "b3": [[0.0, 0.1]]}
        extra = {"loss": "bce", "regularization": {"l2": 0.1},
                 "train": {"optimizer": "momentum", "lr": 0.2, "epochs": 3, "batch_size": 2}}
    elif name == "dropout":  # batches of 2 and 1: the mask's rows 1..2, then row 1
        layers = [{"units": 4, "activation": "relu"},
                  {"type": "dropout", "p": 0.25, "mask": [[1, 0, 1, 1], [0, 1, 1, 0]]},
                  {"units": 1, "activation": "linear"}]
        X, Y = [[1.0, 2.0], [0.5, -1.0], [2.0, 0.5]], [[1.0], [0.0], [0.5]]
        P = {"W1": [[0.5, 0.2, -0.3, 0.4], [0.1, 0.6, 0.3, -0.2]], "b1": [[0.1, 0.1, 0.2, 0.3]],
             "W3": [[0.3], [-0.2], [0.5], [0.4]], "b3": [[0.0]]}
        extra = {"loss": "mse", "train": {"optimizer": "sgd", "lr": 0.05, "epochs": 3,
                                          "batch_size": 2}}
    elif name == "rnn_sequence_h0_relu":
        layers = [{"type": "rnn", "units": 2, "activation": "relu", "return": "sequence"},
                  {"type": "flatten"}, {"units": 1, "activation": "linear"}]
        X, Y = rnd(rs, 2, 3, 2), [[0.5], [-0.5]]
        P = {"Wx1": [[0.5, -0.3], [0.2, 0.4]], "Wh1": [[0.3, 0.2], [-0.2, 0.4]],
             "b1": [0.2, 0.3], "h01": [0.5, 0.4], "W3": rnd(rs, 6, 1, scale=0.5),
             "b3": [[0.1]]}
        extra = {"loss": "mse", "regularization": {"l2": 0.2},
                 "train": {"optimizer": "momentum", "lr": 0.1, "epochs": 3}}
    else:  # causal attention, adam
        layers = [{"type": "attention", "d_k": 2, "d_v": 2, "causal": True},
                  {"type": "flatten"}, {"units": 1, "activation": "sigmoid"}]
        X, Y = rnd(rs, 2, 3, 2), [[1.0], [0.0]]
        P = {"Wq1": rnd(rs, 2, 2, scale=0.7), "Wk1": rnd(rs, 2, 2, scale=0.7),
             "Wv1": rnd(rs, 2, 2, scale=0.7), "W3": rnd(rs, 6, 1, scale=0.5), "b3": [[0.0]]}
        extra = {"loss": "bce", "regularization": {"l2": 0.1},
                 "train": {"optimizer": "adam", "lr": 0.05, "epochs": 3, "batch_size": 2}}
    return {"id": "p", "network": {"layers": layers}, "data": {"X": X, "Y": Y},
            "params": P, **extra}


HELPERS = {"conv_stride_pad_avg": {"conv", "avg_pool"}, "max_pool_adam": {"conv", "max_pool"},
           "batchnorm": {"batchnorm"}, "dropout": {"dropout"}, "rnn_sequence_h0_relu": {"rnn"},
           "causal_attention": {"attention"}}
VARIANTS = list(HELPERS)


@pytest.mark.parametrize("name", VARIANTS)
def test_variant_scripts_reproduce_an_independent_reference(tmp_path, name):
    p = variant(name)
    spec = tmp_path / "v.yaml"
    spec.write_text(yaml.safe_dump({"title": "v", "problems": [p]}, sort_keys=False))
    text = compare(tmp_path, spec, p)
    want = HELPERS[name]
    others = {"conv", "max_pool", "avg_pool", "batchnorm", "dropout", "rnn", "attention"}
    assert {k for k in others if f"def {k}_forward(" in text or f"def {k}(" in text} == want
    for k in want:  # each helper written once
        assert text.count(f"def {k}_forward(") + text.count(f"def {k}(") == 1


def test_two_layers_of_a_type_share_one_helper(tmp_path):
    """Two conv layers (the second a 2 x 3 kernel with padding 1 on 2 channels): conv_forward
    is written once and called twice, and the numbers still follow the reference."""
    rs = np.random.RandomState(5)
    layers = [{"type": "conv", "filters": 2, "kernel": 2, "activation": "relu"},
              {"type": "conv", "filters": 1, "kernel": [2, 3], "padding": 1,
               "activation": "tanh"},
              {"type": "flatten"}, {"units": 1, "activation": "sigmoid"}]
    p = {"id": "p", "network": {"layers": layers},
         "data": {"X": rnd(rs, 2, 3, 3), "Y": [[1.0], [0.0]]},
         "params": {"W1": rnd(rs, 2, 1, 2, 2, scale=0.6), "b1": [0.1, 0.2],
                    "W2": rnd(rs, 1, 2, 2, 3, scale=0.6), "b2": [0.0],
                    "W4": rnd(rs, 6, 1, scale=0.5), "b4": [[0.0]]},
         "loss": "bce", "train": {"optimizer": "sgd", "lr": 0.5, "epochs": 2}}
    spec = tmp_path / "two.yaml"
    spec.write_text(yaml.safe_dump({"title": "t", "problems": [p]}, sort_keys=False))
    text = compare(tmp_path, spec, p)
    assert text.count("def conv_forward(") == 1 and text.count("conv_forward(H[-1]") == 2


def test_a_max_pool_tie_goes_to_the_first_maximum(tmp_path):
    """By hand: a 1 x 1 kernel [1, 1] over two channels gives Z = x0 + x1 = [[3, 3], [0, 0]]
    (x0 = [[1, 2], [0, 0]], x1 = [[2, 1], [0, 0]]); 2 x 2 max pooling ties at (0, 0) and
    (0, 1). yhat = 3, Y = 0, mse: dyhat = 6, which goes to the first maximum, (0, 0): dW1 =
    6 [x0, x1] there = [6, 12] (the other maximum would give [12, 6]), db1 = 6, dW4 = 6 * 3."""
    p = {"id": "p", "network": {"layers": [
        {"type": "conv", "filters": 1, "kernel": 1, "activation": "linear"},
        {"type": "pool", "kind": "max", "size": 2}, {"type": "flatten"},
        {"units": 1, "activation": "linear"}]},
        "data": {"X": [[[[1, 2], [0, 0]], [[2, 1], [0, 0]]]], "Y": [[0]]},
        "params": {"W1": [[[[1]], [[1]]]], "b1": [0], "W4": [[1]], "b4": [[0]]},
        "loss": "mse", "train": {"optimizer": "sgd", "lr": 0.01, "epochs": 1}}
    spec = tmp_path / "tie.yaml"
    spec.write_text(yaml.safe_dump({"title": "t", "problems": [p]}, sort_keys=False))
    history, _, dump = run_script(tmp_path, code_of(spec), 1)
    assert history == [9.0]
    assert np.array(dump["grads"]["W1"]).ravel().tolist() == [6.0, 12.0]
    assert dump["grads"]["b1"] == [6.0] and dump["grads"]["W4"] == [[18.0]]


def test_spec_strings_do_not_reach_the_script(tmp_path):
    """Titles, texts and display names are hostile: the script is numbers and fixed
    identifiers (the id only through repr)."""
    spec = yaml.safe_load((PROBLEMS / "sequences_exam.yaml").read_text())
    evil = "'''\"\"\"\nimport os; os.system('echo PWNED')  # \\"
    spec["title"] = evil
    for p in spec["problems"]:
        p["title"], p["text"] = evil, evil
        p["names"] = {"Wx1" if p["id"] == "rnn" else "Wq1": "w_evil"}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    for pid in ("rnn", "attention"):
        text = code_of(path, pid)
        assert "PWNED" not in text and "w_evil" not in text and "os.system" not in text
        compile(text, "script.py", "exec")


def test_a_reports_code_appendix_has_every_configured_problem(tmp_path):
    """A report of the shipped convolution and sequence problems with appendix: [code]
    prints each problem's script (none is left out) exactly as `nnreport code` writes it."""
    from nnreport.build import BuildOptions, build

    a = yaml.safe_load((PROBLEMS / "cnn_exam.yaml").read_text())
    b = yaml.safe_load((PROBLEMS / "sequences_exam.yaml").read_text())
    a["problems"] += b["problems"]
    a.update({"document": "report", "appendix": ["code"], "sections": ["results"]})
    spec = tmp_path / "rep.yaml"
    spec.write_text(yaml.safe_dump(a, sort_keys=False))
    build(spec, BuildOptions(output=tmp_path / "o", pdf=False))
    tex = (tmp_path / "o" / "rep" / "rep-report.tex").read_text()
    assert tex.count("\\begin{verbatim}") == 5
    for p in a["problems"]:
        script = code_of(spec, p["id"])
        assert "\\begin{verbatim}\n" + script + "\\end{verbatim}" in tex, p["id"]


def test_data_loaded_as_rows_is_reshaped_into_images(tmp_path):
    """digits loaded by scikit-learn as rows of 64 (too many to write out) become
    [samples, 1, 8, 8] before a conv, in the script as in nnreport: its loss history equals
    solve --json's."""
    text = """title: d
problems:
  - id: d
    data: {load: digits, n_samples: 100, normalize: minmax}
    network:
      layers:
        - {type: conv, filters: 2, kernel: 3, stride: 1, activation: relu}
        - {type: pool, kind: max, size: 2}
        - {type: flatten}
        - {units: 10, activation: softmax}
      init: {seed: 1, scale: 0.3}
    loss: cce
    train: {optimizer: adam, lr: 0.01, epochs: 3, batch_size: 10}
"""
    spec = tmp_path / "d.yaml"
    spec.write_text(text)
    script = code_of(spec)
    assert "X = X.reshape((len(X),) + (1, 8, 8))" in script
    history, final, _ = run_script(tmp_path, script, 10)
    j = subprocess.run([sys.executable, "-m", "nnreport", "solve", str(spec), "--json"],
                       capture_output=True, text=True)
    v = json.loads(j.stdout)["problems"]["d"]
    np.testing.assert_allclose(history, v["loss_history"], rtol=0, atol=1e-10)
    assert final == pytest.approx(v["loss_final"], abs=1e-10)


def test_conv_helpers_with_a_different_stride_and_padding_per_axis(tmp_path):
    """stride [2, 1], padding [1, 0]: the script's conv_forward against ndref's loops and
    conv_backward's dX, dW, db against central differences of sum(Z * R) (R fixed)."""
    import runpy

    from ndref import conv

    layers = [{"type": "conv", "filters": 2, "kernel": [3, 2], "stride": [2, 1],
               "padding": [1, 0], "activation": "relu"},
              {"type": "flatten"}, {"units": 1, "activation": "linear"}]
    rs = np.random.RandomState(8)
    X = np.array(rnd(rs, 2, 2, 5, 4))
    p = {"id": "p", "network": {"layers": layers}, "data": {"X": X.tolist(), "Y": [[1], [0]]},
         "params": {"W1": rnd(rs, 2, 2, 3, 2), "b1": [0.5, -0.5], "W3": rnd(rs, 18, 1),
                    "b3": [[0]]}, "loss": "mse", "train": {"lr": 0.1, "epochs": 1}}
    spec = tmp_path / "geo.yaml"
    spec.write_text(yaml.safe_dump({"title": "t", "problems": [p]}, sort_keys=False))
    path = tmp_path / "geo.py"
    path.write_text(code_of(spec))
    assert "(2, 1), (1, 0)" in path.read_text()
    g = runpy.run_path(str(path))
    W, b = np.array(p["params"]["W1"], float), np.array(p["params"]["b1"], float)
    Z = g["conv_forward"](X, W, b, (2, 1), (1, 0))
    assert Z.shape == (2, 2, 3, 3)
    np.testing.assert_allclose(Z, conv(X, W, b, (2, 1), (1, 0)), rtol=1e-12, atol=1e-12)
    R = rs.randn(*Z.shape)
    dX, dW, db = g["conv_backward"](X, W, R, (2, 1), (1, 0))
    f = lambda: float((conv(X, W, b, (2, 1), (1, 0)) * R).sum())  # noqa: E731
    np.testing.assert_allclose(dX, central(f, X), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dW, central(f, W), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(db, central(f, b), rtol=1e-6, atol=1e-8)
