"""An independent reference for the configured layers' tests (tests/test_cnn_solve.py,
tests/test_seq_solve.py): explicit loops over every index for the forward passes (conv, pool,
rnn, attention, batchnorm, dropout, dense) and central finite differences of the batch loss
for every gradient. It imports nothing of nnreport, so a number it agrees with is not
nnreport's own arithmetic read back."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import yaml
from click.testing import CliRunner
from fdiff import central

ACT = {"relu": lambda z: np.maximum(z, 0.0), "linear": lambda z: z,
       "sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh}


def conv(x, W, b, stride, pad):
    m, C, H, Wd = x.shape
    F, _, kh, kw = W.shape
    xp = np.zeros((m, C, H + 2 * pad[0], Wd + 2 * pad[1]))
    xp[:, :, pad[0]:pad[0] + H, pad[1]:pad[1] + Wd] = x
    oh = (H + 2 * pad[0] - kh) // stride[0] + 1
    ow = (Wd + 2 * pad[1] - kw) // stride[1] + 1
    z = np.zeros((m, F, oh, ow))
    for n in range(m):
        for f in range(F):
            for i in range(oh):
                for j in range(ow):
                    s = b[f]
                    for c in range(C):
                        for p in range(kh):
                            for q in range(kw):
                                s += xp[n, c, stride[0] * i + p, stride[1] * j + q] * W[f, c, p, q]
                    z[n, f, i, j] = s
    return z


def pool(x, kind, size, stride):
    m, C, H, W = x.shape
    oh, ow = (H - size) // stride + 1, (W - size) // stride + 1
    out = np.zeros((m, C, oh, ow))
    for n in range(m):
        for c in range(C):
            for i in range(oh):
                for j in range(ow):
                    win = [x[n, c, stride * i + p, stride * j + q]
                           for p in range(size) for q in range(size)]
                    out[n, c, i, j] = max(win) if kind == "max" else sum(win) / len(win)
    return out


def rnn(x, Wx, Wh, b, act, h0=None):
    m, T, F = x.shape
    U = Wx.shape[1]
    Z, H = np.zeros((m, T, U)), np.zeros((m, T, U))
    for n in range(m):
        h = np.zeros(U) if h0 is None else np.array(h0, dtype=float)
        for t in range(T):
            z = np.array([sum(x[n, t, f] * Wx[f, u] for f in range(F))
                          + sum(h[v] * Wh[v, u] for v in range(U)) + b[u] for u in range(U)])
            h = ACT[act](z)
            Z[n, t], H[n, t] = z, h
    return Z, H


def attention(x, Wq, Wk, Wv, causal):
    m, T, _ = x.shape
    dk = Wq.shape[1]
    Q, K, V = x @ Wq, x @ Wk, x @ Wv
    S = np.zeros((m, T, T))
    A = np.zeros((m, T, T))
    for n in range(m):
        for i in range(T):
            for j in range(T):
                S[n, i, j] = (-math.inf if causal and j > i else
                              sum(Q[n, i, d] * K[n, j, d] for d in range(dk)) / math.sqrt(dk))
            row = [math.exp(S[n, i, j] - max(S[n, i])) if S[n, i, j] > -math.inf else 0.0
                   for j in range(T)]
            A[n, i] = np.array(row) / sum(row)
    return Q, K, V, S, A, A @ V


def batchnorm(x, gamma, beta, eps):
    mu = x.mean(axis=0)
    var = ((x - mu) ** 2).mean(axis=0)
    xhat = (x - mu) / np.sqrt(var + eps)
    return mu, var, xhat, gamma * xhat + beta


def forward(layers: list[dict], P: dict[str, np.ndarray], X: np.ndarray, start: int = 0,
            H0: np.ndarray | None = None) -> dict[str, Any]:
    """Every named value of a forward pass (1-based layer numbers as the JSON's), from layer
    start + 1 with its input H0 (default: X)."""
    out: dict[str, Any] = {}
    h = X if H0 is None else H0
    if start == 0 and layers[0].get("type") == "conv" and h.ndim == 3:
        h = h[:, None]
    for l, la in enumerate(layers, 1):
        if l <= start:
            continue
        t = la.get("type", "dense")
        if t == "conv":
            k = la["kernel"]
            k = (k, k) if isinstance(k, int) else tuple(k)
            s = la.get("stride", 1)
            p = la.get("padding", 0)
            z = conv(h, P[f"W{l}"], P[f"b{l}"], (s, s), (p, p))
            out[f"Z{l}"] = z
            h = ACT[la.get("activation", "relu")](z)
        elif t == "pool":
            h = pool(h, la.get("kind", "max"), la.get("size", 2),
                     la.get("stride", la.get("size", 2)))
        elif t == "flatten":
            h = h.reshape(h.shape[0], -1)
        elif t == "batchnorm":
            mu, var, xhat, h = batchnorm(h, P[f"gamma{l}"], P[f"beta{l}"], la.get("eps", 1e-5))
            out.update({f"mu{l}": mu, f"var{l}": var, f"xhat{l}": xhat})
        elif t == "dropout":
            mask = np.array(la["mask"], dtype=float)
            h = h * mask / (1 - la.get("p", 0.5))
        elif t == "rnn":
            Z, Hs = rnn(h, P[f"Wx{l}"], P[f"Wh{l}"], P[f"b{l}"], la.get("activation", "tanh"),
                        P.get(f"h0{l}"))
            out[f"Z{l}"], out[f"Hseq{l}"] = Z, Hs
            h = Hs[:, -1] if la.get("return", "last") == "last" else Hs
        elif t == "attention":
            Q, K, V, S, A, h = attention(h, P[f"Wq{l}"], P[f"Wk{l}"], P[f"Wv{l}"],
                                         la.get("causal", False))
            out.update({f"Q{l}": Q, f"K{l}": K, f"V{l}": V, f"S{l}": S, f"A{l}": A})
        else:
            z = h @ P[f"W{l}"] + P[f"b{l}"]
            out[f"Z{l}"] = z
            h = ACT[la.get("activation", "sigmoid")](z)
        out[f"H{l}"] = h
    return out


def losses(yhat: np.ndarray, Y: np.ndarray, loss: str) -> np.ndarray:
    """Each sample's loss (mse: the mean over the outputs; bce: the mean over the outputs)."""
    if loss == "mse":
        return ((yhat - Y) ** 2).mean(axis=1)
    return -(Y * np.log(yhat) + (1 - Y) * np.log(1 - yhat)).mean(axis=1)


def batch_loss(layers, P, X, Y, loss, l2=0.0, decayed=()):
    yh = forward(layers, P, X)[f"H{len(layers)}"]
    m = X.shape[0]
    return losses(yh, Y, loss).mean() + l2 / (2 * m) * sum((P[w] ** 2).sum() for w in decayed)




def dH(layers, P, X, Y, loss, l: int) -> np.ndarray:
    """d(sum of the samples' losses)/dH_l, by finite differences from layer l's output."""
    H = forward(layers, P, X)[f"H{l}"].copy()
    L = len(layers)
    return central(lambda: losses(forward(layers, P, X, l, H)[f"H{L}"], Y, loss).sum(), H)


def spec_text(layers, X, Y, params, loss="mse", optimizer="sgd", lr=0.1, epochs=1,
              l2=0.0, extra: dict | None = None) -> str:
    p = {"id": "p", "network": {"layers": layers, "init": {"seed": 3, "scale": 0.5}},
         "data": {"X": np.asarray(X).tolist(), "Y": np.asarray(Y).tolist()},
         "loss": {"name": loss},
         "params": {k: np.asarray(v).tolist() for k, v in params.items()},
         "train": {"lr": lr, "epochs": epochs, "optimizer": optimizer}}
    if l2:
        p["regularization"] = {"l2": l2}
    p.update(extra or {})
    return yaml.safe_dump({"title": "t", "problems": [p]}, sort_keys=False)


def solve_json(tmp_path, text: str, *args: str) -> tuple[int, dict | None, str]:
    """`nnreport solve --json` in this process: (exit code, the problem's values, stderr)."""
    from nnreport.cli import cli

    path = tmp_path / "spec.yaml"
    path.write_text(text)
    r = CliRunner().invoke(cli, ["solve", str(path), "--json", *args])
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    data = json.loads(r.stdout)["problems"]["p"] if r.exit_code == 0 else None
    return r.exit_code, data, r.stderr


def check_all(tmp_path, layers, X, Y, P, loss="mse", optimizer="sgd", lr=0.1, l2=0.0,
              decayed=(), rtol=1e-5, atol=1e-7) -> dict:
    """Solve the spec and compare every forward value, dH, each parameter's gradient and
    the updated parameters with the reference; returns the JSON values."""
    code, v, err = solve_json(tmp_path, spec_text(layers, X, Y, P, loss, optimizer, lr, l2=l2))
    assert code == 0, err
    assert v is not None
    ref = forward(layers, P, X)
    L = len(layers)
    for name, val in ref.items():
        if name.startswith("Hseq"):  # an rnn's every step: its JSON H
            np.testing.assert_allclose(np.array(v[f"H{name[4:]}"], float), val, rtol, atol)
            continue
        if name == f"H{L}":
            name = "yhat"
        t = layers[int("".join(c for c in name if c.isdigit()) or 0) - 1].get("type")
        if t == "rnn" and name.startswith("H"):
            continue
        got = np.array([[[-math.inf if x is None else x for x in r] for r in s] for s in v[name]]
                       ) if name.startswith("S") else np.array(v[name], dtype=float)
        np.testing.assert_allclose(got, val, rtol, atol, err_msg=name)
    m = X.shape[0]
    grads = {}
    for name, a in P.items():
        arr = np.array(a, dtype=float)
        P2 = {k: np.array(x, dtype=float) for k, x in P.items()}
        P2[name] = arr
        g = central(lambda P2=P2: batch_loss(layers, P2, X, Y, loss, l2, decayed), arr)
        grads[name] = g
        np.testing.assert_allclose(np.array(v[f"d{name}"], float), g, 1e-4, 1e-6,
                                   err_msg=f"d{name}")
    for l in range(1, L):
        if layers[l - 1].get("type") == "rnn":
            continue  # an rnn's dH is every step's (test_seq_solve checks it)
        np.testing.assert_allclose(np.array(v[f"dH{l}"], float), dH(layers, P, X, Y, loss, l),
                                   1e-4, 1e-6, err_msg=f"dH{l}")
    for name, g in grads.items():
        if optimizer == "sgd":
            want = np.asarray(P[name], float) - lr * g
        else:  # adam's first step: m = (1-b1) g, v = (1-b2) g^2, corrected: p - lr g/(|g|+eps)
            want = np.asarray(P[name], float) - lr * g / (np.sqrt(g * g) + 1e-8)
            sure = np.abs(g) > 1e-4  # a tiny gradient's sign is all a difference quotient
            want = np.where(sure, want, np.array(v[f"{name}_new"], float))  # cannot tell
        np.testing.assert_allclose(np.array(v[f"{name}_new"], float), want, 1e-4, 1e-6,
                                   err_msg=f"{name}_new")
    assert m >= 1
    return v
