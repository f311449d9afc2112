"""Hypothesis strategy over the configured layer types (issues 25, 26; docs/spec.md
"Convolution, pooling, normalisation, recurrent and attention layers"), for the generative
test (tests/test_nd_spec_generated.py).

`nd_problem()` draws a valid network problem: either an image X [samples, C, h, w] (or
[samples, h, w]) through conv (filters, kernel k or [kh, kw], stride, padding, any conv
activation), an optional second conv, optional pool (max/avg, size, stride), flatten, optional
hidden dense, batchnorm, dropout (a 0/1 mask of a batch's shape), and a dense output; or a
sequence X [samples, steps, features] through rnn (units, activation, return last|sequence,
h0 given or not) and/or attention (d_k, d_v, causal), flatten when the output is 3-D, and
dense. Sizes are inferred here as the spec's reader infers them, so every drawn spec is valid
(strides that fit, masks of the right shape). Parameters are short decimals or drawn by
`init`; sgd, momentum, rmsprop, adam; epochs, batch_size, L2; ask/points on JSON names;
digits/decimals. `nd_document()` puts one problem in a spec.

TODO(rounding: chain): the chain is refused for these layers today; once it is built draw
`rounding: chain` here (CHAIN below) and check its rows in keycheck as for dense layers."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from specgen import OUTPUT_FOR, matrix, short

CHAIN = False  # TODO(rounding: chain): True once the chain takes configured layers
CONV_ACTS = ["relu", "leaky_relu", "sigmoid", "tanh", "linear"]
RNN_ACTS = ["tanh", "relu", "sigmoid", "linear"]
DENSE_HIDDEN = ["sigmoid", "relu", "tanh", "linear", "leaky_relu"]


def nested(draw: st.DrawFn, shape: tuple[int, ...], small: bool = True) -> Any:
    if len(shape) == 1:
        return [short(draw, small) for _ in range(shape[0])]
    return [nested(draw, shape[1:], small) for _ in range(shape[0])]


def windows(n_h: int, n_w: int, pad_ok: bool, least: int = 1
            ) -> list[tuple[tuple[int, int], tuple[int, int], int]]:
    """(kernel, stride, padding) that fit an n_h x n_w input exactly (kernel sides 1..3)."""
    out = []
    for kh in range(least, 4):
        for kw in range(least, 4):
            for s in (1, 2):
                for p in ((0, 1) if pad_ok else (0,)):
                    if kh <= n_h + 2 * p and kw <= n_w + 2 * p and \
                            (n_h + 2 * p - kh) % s == 0 and (n_w + 2 * p - kw) % s == 0:
                        out.append(((kh, kw), (s, s), p))
    return out


def size(k: tuple[int, int]) -> Any:
    return k[0] if k[0] == k[1] else list(k)


def image_layers(draw: st.DrawFn, C: int, h: int, w: int
                 ) -> tuple[list[dict[str, Any]], dict[str, tuple[int, ...]], int]:
    """conv [conv] [pool] flatten; the params' shapes; the flat width."""
    layers: list[dict[str, Any]] = []
    shapes: dict[str, tuple[int, ...]] = {}
    convs = 1 if draw(st.integers(0, 4)) else 2
    for _ in range(convs):
        choices = windows(h, w, True)
        k, s, p = draw(st.sampled_from(choices))
        F = draw(st.integers(1, 3))
        la: dict[str, Any] = {"type": "conv", "filters": F, "kernel": size(k)}
        if s[0] != 1 or draw(st.booleans()):
            la["stride"] = s[0]
        if p or draw(st.booleans()):
            la["padding"] = p
        if draw(st.integers(0, 3)):
            la["activation"] = draw(st.sampled_from(CONV_ACTS))
        l = len(layers) + 1
        shapes[f"W{l}"], shapes[f"b{l}"] = (F, C, *k), (F,)
        layers.append(la)
        C, h, w = F, (h + 2 * p - k[0]) // s[0] + 1, (w + 2 * p - k[1]) // s[1] + 1
    if min(h, w) >= 2 and draw(st.booleans()):
        pools = [(k, s) for k, s, _ in windows(h, w, False, 2) if k[0] == k[1] and s[0] <= k[0]]
        if pools:
            k, s = draw(st.sampled_from(pools))
            la = {"type": "pool", "kind": draw(st.sampled_from(["max", "avg"]))}
            if k[0] != 2 or draw(st.booleans()):
                la["size"] = k[0]
            if s[0] != k[0] or draw(st.booleans()):
                la["stride"] = s[0]
            layers.append(la)
            h, w = (h - k[0]) // s[0] + 1, (w - k[1]) // s[1] + 1
    layers.append({"type": "flatten"})
    return layers, shapes, C * h * w


def sequence_layers(draw: st.DrawFn, T: int, F: int
                    ) -> tuple[list[dict[str, Any]], dict[str, tuple[int, ...]], int, bool]:
    """rnn and/or attention [flatten]; the params' shapes, the flat width, whether h0."""
    kinds = draw(st.sampled_from([["rnn"], ["rnn"], ["attention"], ["attention"],
                                  ["rnn", "attention"], ["attention", "rnn"]]))
    layers: list[dict[str, Any]] = []
    shapes: dict[str, tuple[int, ...]] = {}
    seq, h0 = True, False
    for i, kind in enumerate(kinds):
        l = len(layers) + 1
        if kind == "rnn":
            U = draw(st.integers(1, 3))
            la: dict[str, Any] = {"type": "rnn", "units": U}
            if draw(st.integers(0, 3)):
                la["activation"] = draw(st.sampled_from(RNN_ACTS))
            last = i == len(kinds) - 1 and draw(st.booleans())
            if not last:
                la["return"] = "sequence"
            elif draw(st.booleans()):
                la["return"] = "last"
            seq = not last
            shapes.update({f"Wx{l}": (F, U), f"Wh{l}": (U, U), f"b{l}": (U,)})
            if draw(st.integers(0, 2)) == 0:
                shapes[f"h0{l}"], h0 = (U,), True
            F = U
        else:
            dk, dv = draw(st.integers(1, 3)), draw(st.integers(1, 3))
            la = {"type": "attention"}
            if dk != 2 or draw(st.booleans()):
                la["d_k"] = dk
            if dv != 2 or draw(st.booleans()):
                la["d_v"] = dv
            if draw(st.booleans()):
                la["causal"] = draw(st.booleans())
            shapes.update({f"Wq{l}": (F, dk), f"Wk{l}": (F, dk), f"Wv{l}": (F, dv)})
            F = dv
        layers.append(la)
    if seq:
        layers.append({"type": "flatten"})
        return layers, shapes, T * F, h0
    return layers, shapes, F, h0


def head(draw: st.DrawFn, layers: list[dict[str, Any]], shapes: dict[str, tuple[int, ...]],
         width: int, batch: int, k: int, out_act: str) -> None:
    """[batchnorm] [dropout] [dense hidden [batchnorm] [dropout]] dense output (in place)."""
    def extras(width: int) -> None:
        if draw(st.integers(0, 3)) == 0:
            shapes[f"gamma{len(layers) + 1}"] = shapes[f"beta{len(layers) + 1}"] = (width,)
            layers.append({"type": "batchnorm"} if draw(st.booleans()) else
                          {"type": "batchnorm", "eps": draw(st.sampled_from([1e-5, 0.01, 0.1]))})
        if draw(st.integers(0, 3)) == 0:
            mask = [[draw(st.sampled_from([0, 1, 1])) for _ in range(width)]
                    for _ in range(batch)]
            la: dict[str, Any] = {"type": "dropout", "mask": mask}
            if draw(st.booleans()):
                la["p"] = draw(st.sampled_from([0.5, 0.2, 0.25]))
            layers.append(la)
    extras(width)
    if draw(st.integers(0, 3)) == 0:
        u = draw(st.integers(1, 3))
        l = len(layers) + 1
        layers.append({"units": u, "activation": draw(st.sampled_from(DENSE_HIDDEN))})
        shapes[f"W{l}"], shapes[f"b{l}"] = (width, u), (u,)
        width = u
        extras(width)
    l = len(layers) + 1
    layers.append({"units": k, "activation": out_act})
    shapes[f"W{l}"], shapes[f"b{l}"] = (width, k), (k,)


DRAWN = ("W", "Wx", "Wh", "Wq", "Wk", "Wv")


@st.composite
def nd_problem(draw: st.DrawFn, pid: str = "p") -> dict[str, Any]:
    m = draw(st.integers(1, 3))
    image = draw(st.booleans())
    loss = draw(st.sampled_from(["mse", "mse", "sse", "bce", "bce", "cce"]))
    out_act = draw(st.sampled_from(OUTPUT_FOR[loss]))
    k = draw(st.integers(2, 3)) if out_act == "softmax" else draw(st.integers(1, 2))
    batch = m if m == 1 or draw(st.integers(0, 3)) else draw(st.integers(1, m - 1))
    if image:
        C, h, w = draw(st.integers(1, 2)), draw(st.integers(3, 6)), draw(st.integers(3, 6))
        X = nested(draw, (m, C, h, w), small=False)
        if C == 1 and draw(st.booleans()):
            X = [x[0] for x in X]  # [samples, h, w]: one channel
        layers, shapes, width, h0 = *image_layers(draw, C, h, w), False
    else:
        T, F = draw(st.integers(2, 4)), draw(st.integers(1, 3))
        X = nested(draw, (m, T, F), small=False)
        layers, shapes, width, h0 = sequence_layers(draw, T, F)
    head(draw, layers, shapes, width, batch, k, out_act)
    if loss == "bce":
        Y = [[draw(st.sampled_from([0, 1, 1, 0, 0.3])) for _ in range(k)] for _ in range(m)]
    elif loss == "cce":
        Y = [[1 if j == draw(st.integers(0, k - 1)) else 0 for j in range(k)] for _ in range(m)]
    else:
        Y = matrix(draw, m, k)
    p: dict[str, Any] = {"id": pid, "data": {"X": X, "Y": Y}, "network": {"layers": layers}}
    drawn = draw(st.integers(0, 4)) == 0
    if drawn:
        p["network"]["init"] = {"method": draw(st.sampled_from(["randn", "xavier", "he", "uniform"])),
                                "seed": draw(st.integers(0, 9)), "scale": 0.5}
    params: dict[str, Any] = {}
    for name, shape in shapes.items():
        kind = name.rstrip("0123456789")
        given = not drawn or draw(st.integers(0, 2)) == 0
        if kind == "h0" and not h0:
            continue
        if given or kind == "h0":
            params[name] = nested(draw, shape)
        elif kind in ("b", "beta") and draw(st.booleans()):
            params[name] = nested(draw, shape)
    if params:
        p["params"] = params
    p["loss"] = loss if draw(st.booleans()) else {"name": loss}
    if isinstance(p["loss"], dict) and draw(st.integers(0, 3)) == 0:
        p["loss"]["reduction"] = "sum"
    if draw(st.integers(0, 4)) == 0:
        p["regularization"] = {"l2": draw(st.sampled_from([0.1, 0.5, 0.01]))}
    opt = draw(st.sampled_from(["sgd", "sgd", "momentum", "adam", "rmsprop"]))
    optspec: dict[str, Any] = {"name": opt}
    if opt == "momentum" and draw(st.booleans()):
        optspec["beta"] = draw(st.sampled_from([0.5, 0.8, 0.9]))
    if opt == "adam" and draw(st.booleans()):
        optspec["beta1"], optspec["beta2"] = (0.5, 0.75)
    train: dict[str, Any] = {"optimizer": optspec if len(optspec) > 1 else opt,
                             "lr": draw(st.sampled_from([0.1, 0.5, 0.01, 0.05])),
                             "epochs": draw(st.sampled_from([1, 1, 1, 2]))}
    if batch < m:
        train["batch_size"] = batch
    p["train"] = train
    p["figures"] = []
    names = value_names(layers, shapes, h0)
    if draw(st.integers(0, 2)) == 0:
        p["digits"] = draw(st.integers(2, 6)) if draw(st.integers(0, 3)) else {
            "decimals": draw(st.integers(2, 4))}
    if draw(st.integers(0, 2)):
        p["ask"] = draw(st.lists(st.sampled_from(names), min_size=1, max_size=5, unique=True))
        if draw(st.booleans()):
            p["points"] = {n: draw(st.sampled_from([1, 2, 0.5])) for n in p["ask"][:2]}
    if CHAIN and draw(st.integers(0, 5)) == 0:  # TODO(rounding: chain)
        p["rounding"] = "chain"
    return p


def value_names(layers: list[dict[str, Any]], shapes: dict[str, tuple[int, ...]],
                h0: bool) -> list[str]:
    """JSON names of the docs' table that `ask:` may name: each layer's values, dH below the
    output, each parameter's gradient and update; yhat, loss."""
    L = len(layers)
    out = ["yhat", "loss"]
    for l, la in enumerate(layers, 1):
        t = la.get("type", "dense")
        if t in ("conv", "rnn", "dense"):
            out += [f"Z{l}", f"dZ{l}"]
        if l < L:
            out += [f"H{l}", f"dH{l}"]
        if t == "batchnorm":
            out += [f"mu{l}", f"var{l}", f"xhat{l}"]
        if t == "attention":
            out += [f"{x}{l}" for x in "QKVSA"]
    for name in shapes:
        if not name.startswith("h0"):
            out += [f"d{name}", f"{name}_new"]
    return out


@st.composite
def nd_document(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {"title": "Generated", "problems": [draw(nd_problem())]}
    if draw(st.integers(0, 3)) == 0:
        doc["digits"] = draw(st.integers(2, 6))
    return doc
