"""An independent reference for a whole configured-layer problem (tests/specgen_nd.py's
specs): forward passes by tests/ndref.py's loops, the backward pass written out layer by
layer (conv, pool, flatten, batchnorm, dropout, rnn by BPTT, attention, dense; every loss of
docs/spec.md with factor and reduction), L2, the optimisers' rules of docs/spec.md and the
training loop (batches, epochs, the dropout mask's rows, the final pass). Imports nothing from
nnreport. Its gradients are checked against tests/fdiff.py's central differences
(tests/test_nd_generated_finds.py), so it is not nnreport's arithmetic either.

`solve(p)` -> {JSON name: value} of the worked (first) step and the training run."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from ndref import attention, batchnorm, conv, pool, rnn

KINK = 0.0  # a kink is decided on Z after snap()


def snap(z: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Z with the entries that are 0 on paper (cancellation noise: under 1e-12 of the sum of
    their terms' sizes) exactly 0, as the engine decides kinks on exact values."""
    return np.where(np.abs(z) <= 1e-12 * scale, 0.0, z)


def act(name: str, z: np.ndarray) -> np.ndarray:
    if name == "relu":
        return np.where(z > KINK, z, 0.0)
    if name == "leaky_relu":
        return np.where(z > KINK, z, 0.01 * z)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "softmax":
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    return z.copy()


def dact_mul(name: str, z: np.ndarray, h: np.ndarray, dh: np.ndarray) -> np.ndarray:
    """dL/dz from dL/dh through the activation."""
    if name == "relu":
        return dh * (z > KINK)
    if name == "leaky_relu":
        return dh * np.where(z > KINK, 1.0, 0.01)
    if name == "sigmoid":
        return dh * h * (1 - h)
    if name == "tanh":
        return dh * (1 - h * h)
    if name == "softmax":
        return h * (dh - (dh * h).sum(axis=-1, keepdims=True))
    return dh.copy()


def kind(name: str) -> str:
    return name.rstrip("0123456789")


def init_params(p: dict[str, Any], shapes: dict[str, tuple[tuple[int, ...], str, int, int]]
                ) -> dict[str, np.ndarray]:
    """docs/spec.md's init: one RandomState(seed), the drawn kinds in order (given ones still
    drawn), biases and beta 0, gamma 1; then `params:`."""
    init = p["network"].get("init", {})
    method, scale = init.get("method", "randn"), init.get("scale", 0.01)
    rs = np.random.RandomState(init.get("seed", 0))
    P: dict[str, np.ndarray] = {}
    for name, (shape, how, fi, fo) in shapes.items():
        if how == "draw":
            if method == "randn":
                a = rs.randn(*shape) * scale
            elif method == "xavier":
                a = rs.randn(*shape) * math.sqrt(2.0 / (fi + fo))
            elif method == "he":
                a = rs.randn(*shape) * math.sqrt(2.0 / fi)
            else:
                a = rs.uniform(-scale, scale, size=shape)
        else:
            a = np.ones(shape) if how == "ones" else np.zeros(shape)
        P[name] = a
    for name, v in p.get("params", {}).items():
        P[name] = np.asarray(v, dtype=float).reshape(shapes[name][0])
    return P


def param_shapes(layers: list[dict[str, Any]], x_shape: tuple[int, ...], given: dict[str, Any]
                 ) -> dict[str, tuple[tuple[int, ...], str, int, int]]:
    """Each parameter: (shape, draw/zeros/ones, fan in, fan out), in the layers' order."""
    out: dict[str, tuple[tuple[int, ...], str, int, int]] = {}
    shape = x_shape[1:]
    if layers[0].get("type") == "conv" and len(shape) == 2:
        shape = (1, *shape)
    for l, la in enumerate(layers, 1):
        t = la.get("type", "dense")
        if t == "conv":
            k = la["kernel"]
            kh, kw = (k, k) if isinstance(k, int) else k
            s, pd = la.get("stride", 1), la.get("padding", 0)
            C, F = shape[0], la["filters"]
            out[f"W{l}"] = ((F, C, kh, kw), "draw", C * kh * kw, F * kh * kw)
            out[f"b{l}"] = ((F,), "zeros", 0, 0)
            shape = (F, (shape[1] + 2 * pd - kh) // s + 1, (shape[2] + 2 * pd - kw) // s + 1)
        elif t == "pool":
            z, s = la.get("size", 2), la.get("stride", la.get("size", 2))
            shape = (shape[0], (shape[1] - z) // s + 1, (shape[2] - z) // s + 1)
        elif t == "flatten":
            shape = (int(np.prod(shape)),)
        elif t == "batchnorm":
            out[f"gamma{l}"], out[f"beta{l}"] = (shape, "ones", 0, 0), (shape, "zeros", 0, 0)
        elif t == "rnn":
            F, U = shape[1], la["units"]
            out[f"Wx{l}"], out[f"Wh{l}"] = ((F, U), "draw", F, U), ((U, U), "draw", U, U)
            out[f"b{l}"] = ((U,), "zeros", 0, 0)
            if f"h0{l}" in given:
                out[f"h0{l}"] = ((U,), "zeros", 0, 0)
            shape = (U,) if la.get("return", "last") == "last" else (shape[0], U)
        elif t == "attention":
            F, dk, dv = shape[1], la.get("d_k", 2), la.get("d_v", 2)
            out[f"Wq{l}"] = ((F, dk), "draw", F, dk)
            out[f"Wk{l}"] = ((F, dk), "draw", F, dk)
            out[f"Wv{l}"] = ((F, dv), "draw", F, dv)
            shape = (shape[0], dv)
        elif t == "dense":
            n, u = shape[0], la["units"]
            out[f"W{l}"], out[f"b{l}"] = ((n, u), "draw", n, u), ((u,), "zeros", 0, 0)
            shape = (u,)
    return out


def forward(layers: list[dict[str, Any]], P: dict[str, np.ndarray], X: np.ndarray,
            masks: np.ndarray | list) -> tuple[dict[str, np.ndarray], list[Any]]:
    """The named values and each layer's cache (its input and what its backward needs)."""
    h = X[:, None] if layers[0].get("type") == "conv" and X.ndim == 3 else X
    out: dict[str, np.ndarray] = {}
    cache: list[Any] = []
    for l, la in enumerate(layers, 1):
        t = la.get("type", "dense")
        x = h
        out[f"in{l}"] = x  # the layer's input (the key's worked lines use it)
        if t == "conv":
            k = la["kernel"]
            k = (k, k) if isinstance(k, int) else tuple(k)
            s, pd = la.get("stride", 1), la.get("padding", 0)
            z = conv(x, P[f"W{l}"], P[f"b{l}"], (s, s), (pd, pd))
            z = snap(z, conv(np.abs(x), np.abs(P[f"W{l}"]), np.abs(P[f"b{l}"]), (s, s), (pd, pd)))
            a = la.get("activation", "relu")
            h = act(a, z)
            out[f"Z{l}"] = z
        elif t == "pool":
            z = la.get("size", 2)
            h = pool(x, la.get("kind", "max"), z, la.get("stride", z))
        elif t == "flatten":
            h = x.reshape(x.shape[0], -1)
        elif t == "batchnorm":
            mu, var, xhat, h = batchnorm(x, P[f"gamma{l}"], P[f"beta{l}"], la.get("eps", 1e-5))
            out.update({f"mu{l}": mu, f"var{l}": var, f"xhat{l}": xhat})
        elif t == "dropout":
            mask = np.asarray(masks[l], dtype=float)
            h = x * mask / (1 - la.get("p", 0.5))
        elif t == "rnn":
            a = la.get("activation", "tanh")
            Z, Hs = rnn_loop(x, P[f"Wx{l}"], P[f"Wh{l}"], P[f"b{l}"], a, P.get(f"h0{l}"))
            out[f"Z{l}"] = Z
            h = Hs[:, -1] if la.get("return", "last") == "last" else Hs
            cache.append((x, Z, Hs))
            out[f"H{l}"] = Hs
            continue
        elif t == "attention":
            Q, K, V, S, A, h = attention(x, P[f"Wq{l}"], P[f"Wk{l}"], P[f"Wv{l}"],
                                         la.get("causal", False))
            out.update({f"Q{l}": Q, f"K{l}": K, f"V{l}": V, f"S{l}": S, f"A{l}": A})
        else:
            z = x @ P[f"W{l}"] + P[f"b{l}"].reshape(1, -1)
            z = snap(z, np.abs(x) @ np.abs(P[f"W{l}"]) + np.abs(P[f"b{l}"]).reshape(1, -1))
            out[f"Z{l}"] = z
            h = act(la.get("activation", "sigmoid"), z)
        cache.append((x, out.get(f"Z{l}"), h))
        out[f"H{l}"] = h
    return out, cache


def rnn_loop(x, Wx, Wh, b, a, h0):
    """ndref.rnn with the kink rule of act()."""
    if a in ("relu",):
        m, T, _ = x.shape
        U = Wx.shape[1]
        Z, H = np.zeros((m, T, U)), np.zeros((m, T, U))
        for n in range(m):
            h = np.zeros(U) if h0 is None else np.array(h0, dtype=float)
            for t in range(T):
                z = snap(x[n, t] @ Wx + h @ Wh + b,
                         np.abs(x[n, t]) @ np.abs(Wx) + np.abs(h) @ np.abs(Wh) + np.abs(b))
                h = act(a, z)
                Z[n, t], H[n, t] = z, h
        return Z, H
    return rnn(x, Wx, Wh, b, a, h0)


def loss_parts(p: dict[str, Any]) -> tuple[str, float | None, float, bool]:
    loss = p["loss"] if isinstance(p["loss"], dict) else {"name": p["loss"]}
    return (loss["name"], loss.get("eps"), float(loss.get("factor", 1)),
            loss.get("reduction", "mean") == "sum")


def per_sample(p: dict[str, Any], z: np.ndarray, yhat: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Each sample's loss (docs/spec.md 'per-sample loss'); without eps bce and cce from the
    logits z."""
    name, eps, f, _ = loss_parts(p)
    out_act = p["network"]["layers"][-1].get("activation", "sigmoid")
    k = Y.shape[1]
    if name == "mse":
        return f * ((yhat - Y) ** 2).sum(axis=1) / k
    if name == "sse":
        return f * ((yhat - Y) ** 2).sum(axis=1)
    if name == "bce":
        if eps is None and out_act == "sigmoid":
            lp, lq = -np.logaddexp(0, -z), -np.logaddexp(0, z)
        else:
            e = eps or 0.0
            lp, lq = np.log(yhat + e), np.log(1 - yhat + e)
        return f * -(Y * lp + (1 - Y) * lq).sum(axis=1) / k
    if eps is None and out_act == "softmax":
        ls = z - z.max(axis=1, keepdims=True)
        ls = ls - np.log(np.exp(ls).sum(axis=1, keepdims=True))
    else:
        ls = np.log(yhat + (eps or 0.0))
    return f * -(Y * ls).sum(axis=1)


def d_output(p: dict[str, Any], z: np.ndarray, yhat: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """d(loss_i)/dz_i of the output layer, per sample."""
    name, eps, f, _ = loss_parts(p)
    a = p["network"]["layers"][-1].get("activation", "sigmoid")
    k = Y.shape[1]
    if name == "bce" and eps is None and a == "sigmoid":
        return f * (yhat - Y) / k
    if name == "cce" and eps is None and a == "softmax":
        return f * (yhat * Y.sum(axis=1, keepdims=True) - Y)
    e = eps or 0.0
    dy = {"mse": lambda: 2 * (yhat - Y) / k, "sse": lambda: 2 * (yhat - Y),
          "bce": lambda: -(Y / (yhat + e) - (1 - Y) / (1 - yhat + e)) / k,
          "cce": lambda: -Y / (yhat + e)}[name]()
    return f * dact_mul(a, z, yhat, dy)


def backward(layers, P, cache, out, dz_out) -> dict[str, np.ndarray]:
    """Gradients of the SUM of the samples' losses: dZ, dH (per sample, as the JSON's) and
    every parameter's."""
    g: dict[str, np.ndarray] = {}
    L = len(layers)
    dh = None
    for l in range(L, 0, -1):
        la = layers[l - 1]
        t = la.get("type", "dense")
        x, z, h = cache[l - 1]
        if l < L:
            g[f"dH{l}"] = dh
        if t == "dense":
            dz = dz_out if l == L else dact_mul(la.get("activation", "sigmoid"), z, h, dh)
            g[f"dZ{l}"] = dz
            g[f"dW{l}"], g[f"db{l}"] = x.T @ dz, dz.sum(axis=0)
            dh = dz @ P[f"W{l}"].T
        elif t == "conv":
            dz = dact_mul(la.get("activation", "relu"), z, h, dh)
            g[f"dZ{l}"] = dz
            g[f"dW{l}"], g[f"db{l}"], dh = conv_back(x, P[f"W{l}"], dz, la)
        elif t == "pool":  # ties in float (saturated sigmoids: 1.0) decided on Z
            below = layers[l - 2] if l > 1 else {}
            strict = below.get("type") == "conv" and below.get("activation") in ("sigmoid", "tanh")
            dh = pool_back(x, dh, la, cache[l - 2][1] if strict else x)
        elif t == "flatten":
            dh = dh.reshape(x.shape)
        elif t == "dropout":
            dh = dh * out[f"mask{l}"] / (1 - la.get("p", 0.5))
        elif t == "batchnorm":
            xhat, var = out[f"xhat{l}"], out[f"var{l}"]
            g[f"dgamma{l}"], g[f"dbeta{l}"] = (dh * xhat).sum(axis=0), dh.sum(axis=0)
            dx = dh * P[f"gamma{l}"]
            m = x.shape[0]
            dh = (m * dx - dx.sum(axis=0) - xhat * (dx * xhat).sum(axis=0)) / (
                m * np.sqrt(var + la.get("eps", 1e-5)))
        elif t == "rnn":
            g[f"G{l}"] = dh  # the gradient arriving at the rnn's output
            dh = rnn_back(l, la, P, x, z, h, dh, g)
        elif t == "attention":
            dh = attention_back(l, la, P, x, out, dh, g)
    return g


def conv_back(x, W, dz, la):
    m, C, Hh, Ww = x.shape
    F, _, kh, kw = W.shape
    s, pd = la.get("stride", 1), la.get("padding", 0)
    xp = np.zeros((m, C, Hh + 2 * pd, Ww + 2 * pd))
    xp[:, :, pd:pd + Hh, pd:pd + Ww] = x
    dxp, dW = np.zeros_like(xp), np.zeros_like(W)
    for n in range(m):
        for f in range(F):
            for i in range(dz.shape[2]):
                for j in range(dz.shape[3]):
                    win = xp[n, :, s * i:s * i + kh, s * j:s * j + kw]
                    dW[f] += dz[n, f, i, j] * win
                    dxp[n, :, s * i:s * i + kh, s * j:s * j + kw] += dz[n, f, i, j] * W[f]
    return dW, dz.sum(axis=(0, 2, 3)), dxp[:, :, pd:pd + Hh, pd:pd + Ww]


def pool_back(x, dh, la, key):
    z, s = la.get("size", 2), la.get("stride", la.get("size", 2))
    dx = np.zeros_like(x)
    m, C, oh, ow = dh.shape
    for n in range(m):
        for c in range(C):
            for i in range(oh):
                for j in range(ow):
                    win = x[n, c, s * i:s * i + z, s * j:s * j + z]
                    if la.get("kind", "max") == "avg":
                        dx[n, c, s * i:s * i + z, s * j:s * j + z] += dh[n, c, i, j] / (z * z)
                        continue
                    # the first maximum in row-major order (ties within float noise)
                    flat = win.ravel()
                    tied = np.flatnonzero(flat >= flat.max() - 1e-12 * max(1, abs(flat.max())))
                    kz = key[n, c, s * i:s * i + z, s * j:s * j + z].ravel()[tied]
                    k = int(tied[np.flatnonzero(kz == kz.max())[0]])
                    dx[n, c, s * i + k // z, s * j + k % z] += dh[n, c, i, j]
    return dx


def rnn_back(l, la, P, x, Z, Hs, dnext, g):
    m, T, _ = x.shape
    U = Z.shape[2]
    a = la.get("activation", "tanh")
    dseq = np.zeros((m, T, U))
    if la.get("return", "last") == "last":
        dseq[:, -1] = dnext
    else:
        dseq += dnext
    Wx, Wh = P[f"Wx{l}"], P[f"Wh{l}"]
    h0 = P.get(f"h0{l}")
    dH, dZ = np.zeros((m, T, U)), np.zeros((m, T, U))
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(U)
    dx, dh0 = np.zeros_like(x), np.zeros(U)
    for n in range(m):
        carry = np.zeros(U)
        for t in range(T - 1, -1, -1):
            dh = dseq[n, t] + carry
            dz = dact_mul(a, Z[n, t], Hs[n, t], dh)
            dH[n, t], dZ[n, t] = dh, dz
            prev = Hs[n, t - 1] if t else (np.zeros(U) if h0 is None else h0)
            dWx += np.outer(x[n, t], dz)
            dWh += np.outer(prev, dz)
            db += dz
            dx[n, t] = Wx @ dz
            carry = Wh @ dz
        dh0 += carry
    g[f"dH{l}"], g[f"dZ{l}"] = dH, dZ  # every step's total gradient (BPTT)
    g[f"dWx{l}"], g[f"dWh{l}"], g[f"db{l}"] = dWx, dWh, db
    if h0 is not None:
        g[f"dh0{l}"] = dh0
    return dx


def attention_back(l, la, P, x, out, dH, g):
    Q, K, V, A = out[f"Q{l}"], out[f"K{l}"], out[f"V{l}"], out[f"A{l}"]
    dk = Q.shape[2]
    dV = np.einsum("nij,nid->njd", A, dH)
    dA = np.einsum("nid,njd->nij", dH, V)
    dS = A * (dA - (dA * A).sum(axis=2, keepdims=True))
    dQ = np.einsum("nij,njd->nid", dS, K) / math.sqrt(dk)
    dK = np.einsum("nij,nid->njd", dS, Q) / math.sqrt(dk)
    g[f"dWq{l}"] = np.einsum("ntf,ntd->fd", x, dQ)
    g[f"dWk{l}"] = np.einsum("ntf,ntd->fd", x, dK)
    g[f"dWv{l}"] = np.einsum("ntf,ntd->fd", x, dV)
    return dQ @ P[f"Wq{l}"].T + dK @ P[f"Wk{l}"].T + dV @ P[f"Wv{l}"].T


DECAYED = ("W", "Wx", "Wh", "Wq", "Wk", "Wv")


def batch_values(p, layers, P, X, Y, mask_rows) -> dict[str, Any]:
    """Forward, loss and gradients of one batch (docs/spec.md 'batch loss', 'gradients')."""
    masks = {l: mask_rows[l] for l in mask_rows}
    out, cache = forward(layers, P, X, masks)
    for l, m_ in masks.items():
        out[f"mask{l}"] = np.asarray(m_, dtype=float)
    L = len(layers)
    z, yhat = out[f"Z{L}"], out[f"H{L}"]
    ls = per_sample(p, z, yhat, Y)
    m = X.shape[0]
    red = 1.0 if loss_parts(p)[3] else 1.0 / m
    l2 = p.get("regularization", {}).get("l2", 0.0)
    decayed = [n for n in P if kind(n) in DECAYED]
    g = backward(layers, P, cache, out, d_output(p, z, yhat, Y))
    v: dict[str, Any] = {**{k: a for k, a in out.items() if not k.startswith("mask")},
                         **{f"d{k}_data": a * red for k, a in ((k[1:], a) for k, a in g.items())
                            if k in P},
                         "yhat": yhat, "loss_per_sample": ls,
                         "loss": ls.sum() * red + l2 / (2 * m) * sum((P[n] ** 2).sum()
                                                                   for n in decayed)}
    del v[f"H{L}"]
    dz = d_output(p, z, yhat, Y)
    for i in range(m):  # each sample's own loss: its row of dZ_L alone
        gi = backward(layers, P, cache, out, np.where(np.arange(m)[:, None] == i, dz, 0.0))
        for n in P:
            v.setdefault(f"d{n}_per_sample", []).append(gi[f"d{n}"])
    for k, a in g.items():
        if k[1:] in P:  # a parameter's gradient: of the batch loss
            v[k] = a * red + (l2 / m * P[k[1:]] if k[1:] in decayed else 0)
        else:
            v[k] = a
    return v


def step(opt: dict[str, Any], lr: float, t: int, name: str, p: np.ndarray, g: np.ndarray,
         state: dict[str, np.ndarray], v: dict[str, Any]) -> np.ndarray:
    """One optimiser step of docs/spec.md's table; the state and the step into v."""
    kind_ = opt["name"]
    if kind_ == "sgd":
        d = lr * g
    elif kind_ == "momentum":
        b = opt.get("beta", 0.9)
        s = state[f"{name}_v"] = b * state.get(f"{name}_v", 0) + (1 - b) * g
        v[f"{name}_v"] = s
        d = lr * s
    elif kind_ == "rmsprop":
        b, e = opt.get("beta", 0.9), opt.get("eps", 1e-8)
        s = state[f"{name}_s"] = b * state.get(f"{name}_s", 0) + (1 - b) * g * g
        v[f"{name}_s"] = s
        d = lr * g / (np.sqrt(s) + e)
    else:
        b1, b2, e = opt.get("beta1", 0.9), opt.get("beta2", 0.999), opt.get("eps", 1e-8)
        mm = state[f"{name}_m"] = b1 * state.get(f"{name}_m", 0) + (1 - b1) * g
        vv = state[f"{name}_v"] = b2 * state.get(f"{name}_v", 0) + (1 - b2) * g * g
        mh, vh = mm / (1 - b1 ** t), vv / (1 - b2 ** t)
        v.update({f"{name}_m": mm, f"{name}_v": vv, f"{name}_mhat": mh, f"{name}_vhat": vh})
        d = lr * mh / (np.sqrt(vh) + e)
    v[f"{name}_step"] = d
    return p - d


def solve(p: dict[str, Any]) -> dict[str, Any]:
    """The worked step's values (first batch), its update, and the training run."""
    layers = p["network"]["layers"]
    X = np.asarray(p["data"]["X"], dtype=float)
    Y = np.asarray(p["data"]["Y"], dtype=float)
    P = init_params(p, param_shapes(layers, X.shape, p.get("params", {})))
    train = p["train"]
    opt = train["optimizer"] if isinstance(train["optimizer"], dict) else {
        "name": train["optimizer"]}
    m = X.shape[0]
    B = train.get("batch_size", m)
    drop = {l: np.asarray(la["mask"], dtype=float) for l, la in enumerate(layers, 1)
            if la.get("type") == "dropout"}

    def full(P_: dict[str, np.ndarray]) -> dict[str, Any]:
        rows = {l: np.stack([mk[i % mk.shape[0]] for i in range(m)]) for l, mk in drop.items()}
        return batch_values(p, layers, P_, X, Y, rows)

    first: dict[str, Any] = {}
    state: dict[str, np.ndarray] = {}
    history, t = [], 0
    for _e in range(train.get("epochs", 1)):
        history.append(full(P)["loss"])
        for start in range(0, m, B):
            idx = list(range(start, min(start + B, m)))
            v = batch_values(p, layers, P, X[idx], Y[idx],
                             {l: mk[:len(idx)] for l, mk in drop.items()})
            t += 1
            new = {n: step(opt, train["lr"], t, n, P[n], v[f"d{n}"], state, v) for n in P}
            if not first:
                v.update({f"{n}_new": a for n, a in new.items()})
                first = v
            P = new
    f = full(P)
    first["loss_history"] = history
    first["loss_final"], first["yhat_final"] = f["loss"], f["yhat"]
    first.update({f"{n}_final": a for n, a in P.items()})
    return first
