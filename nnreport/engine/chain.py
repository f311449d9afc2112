"""The rounded-chain key: every worked value computed from the previous values rounded half-up
to the digits the document prints, as a student with a calculator following the instructions
gets them; and, for each value, the tolerance that accepts both keys and any rounding path a
careful student could take.

A *path* decides, value by value, whether the student carried the rounded number or the full
one. `values(setup, sol, rounder)` runs the worked step along one path: `full` rounds nothing
(it reproduces the full-precision key), `chain` rounds everything. The tolerance of a value is
the range the value takes over the full path, the chain path and PATHS random paths (each
intermediate rounded or not, a fixed seed), widened by half a unit in the last digit the value
is printed with (the student's own final rounding); entry by entry, as `low` and `high`."""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np

from ..spec.cost import CHAIN_PATHS as PATHS
from ..spec.setups import ExpressionSetup, NetworkSetup
from .functions import ACTIVATIONS

Array = np.ndarray
Rounder = Callable[[str, Array], Array]


def round_half_up(x: float, digits: int) -> float:
    """x rounded half-up to `digits` significant digits, on its shortest decimal form."""
    if x == 0 or not np.isfinite(x):
        return float(x)
    d = Decimal(repr(float(x)))
    q = Decimal(1).scaleb(d.adjusted() - digits + 1)
    return float(d.quantize(q, rounding=ROUND_HALF_UP))


def rounded(a: Any, digits: int) -> Array:
    arr = np.asarray(a, dtype=float)
    return np.vectorize(lambda v: round_half_up(v, digits), otypes=[float])(arr) if arr.size \
        else arr


def unit(a: Any, digits: int) -> Array:
    """Half a unit in the last printed digit of each entry (0 for 0)."""
    arr = np.abs(np.asarray(a, dtype=float))
    with np.errstate(divide="ignore"):
        e = np.floor(np.log10(np.where(arr > 0, arr, 1.0)))
    return np.where(arr > 0, 0.5 * 10.0 ** (e - digits + 1), 0.0)


def network_values(s: NetworkSetup, Xb: Array, Yb: Array, dW_batch: dict[str, Array] | None,
                   r: Rounder) -> dict[str, Array]:
    """The worked step of a network problem along one rounding path (rows layout)."""
    out: dict[str, Array] = {}
    L, m, k = s.depth, Xb.shape[0], Yb.shape[1]

    def keep(name: str, v: Any) -> Array:
        out[name] = r(name, np.asarray(v, dtype=float))
        return out[name]

    H = [Xb]
    Z = []
    for l in range(1, L + 1):
        z = keep(f"Z{l}", H[-1] @ s.params[f"W{l}"] + s.params.get(f"b{l}", 0.0))
        Z.append(z)
        act = ACTIVATIONS[s.activations[l - 1]]
        H.append(keep("yhat" if l == L else f"H{l}", act(z, s.alphas[l - 1])))
    yhat, f = H[-1], s.factor
    e = s.eps or 0.0
    if s.loss == "mse":
        ls = ((yhat - Yb) ** 2).mean(axis=1)
    elif s.loss == "sse":
        ls = ((yhat - Yb) ** 2).sum(axis=1)
    elif s.loss == "bce":
        ls = -(Yb * np.log(yhat + e) + (1 - Yb) * np.log(1 - yhat + e)).mean(axis=1)
    else:
        ls = -(Yb * np.log(yhat + e)).sum(axis=1)
    ls = keep("loss_per_sample", f * ls)
    keep("loss", ls.sum() if s.reduction == "sum" else ls.mean())
    last = s.activations[-1]
    if s.eps is None and (s.loss, last) in (("bce", "sigmoid"), ("cce", "softmax")):  # shortcut
        dZ = keep(f"dZ{L}", f * (yhat * (Yb.sum(axis=1, keepdims=True) if s.loss == "cce" else 1)
                                 - Yb) / (k if s.loss == "bce" else 1))
    else:
        g = {"mse": 2 * (yhat - Yb) / k, "sse": 2 * (yhat - Yb),
             "bce": -(Yb / (yhat + e) - (1 - Yb) / (1 - yhat + e)) / k,
             "cce": -Yb / (yhat + e)}[s.loss]
        g = r("dyhat", f * g)
        dZ = keep(f"dZ{L}", ACTIVATIONS[last].backward(Z[-1], yhat, g, s.alphas[-1]))
    scale = 1.0 if s.reduction == "sum" else 1.0 / m
    grads: dict[str, Array] = {}
    for l in range(L, 0, -1):
        per = r(f"dW{l}_per_sample", np.einsum("mi,mo->mio", H[l - 1], dZ))
        dW = per.sum(axis=0) * scale + (s.l2 / m * s.params[f"W{l}"] if s.l2 else 0.0)
        grads[f"W{l}"] = keep(f"dW{l}", dW)
        if f"b{l}" in s.params:
            grads[f"b{l}"] = keep(f"db{l}", scale * dZ.sum(axis=0, keepdims=True))
        if l > 1:
            dH = r(f"dH{l - 1}", dZ @ s.params[f"W{l}"].T)
            act = ACTIVATIONS[s.activations[l - 2]]
            if act.elementwise:
                assert act.deriv is not None
                d = r(f"dact{l - 1}", act.deriv(Z[l - 2], H[l - 1], s.alphas[l - 2]))
                dZ = keep(f"dZ{l - 1}", dH * d)
            else:
                dZ = keep(f"dZ{l - 1}", act.backward(Z[l - 2], H[l - 1], dH))
    step_grads = dW_batch if dW_batch is not None else grads
    o = s.optimizer
    for name, g in step_grads.items():
        if name in s.freeze:
            continue
        if o["name"] == "sgd":
            upd = g
        elif o["name"] == "momentum":
            upd = keep(f"{name}_v", (1 - o["beta"]) * g)
        elif o["name"] == "rmsprop":
            sq = keep(f"{name}_s", (1 - o["beta"]) * g * g)
            upd = g / (np.sqrt(sq) + o["eps"])
        else:
            mm = keep(f"{name}_m", (1 - o["beta1"]) * g)
            vv = keep(f"{name}_v", (1 - o["beta2"]) * g * g)
            mh = keep(f"{name}_mhat", mm / (1 - o["beta1"]))
            vh = keep(f"{name}_vhat", vv / (1 - o["beta2"]))
            upd = mh / (np.sqrt(vh) + o["eps"])
        step = keep(f"{name}_step", s.lr * upd)
        keep(f"{name}_new", s.params[name] - step)
    return out


def expression_values(s: ExpressionSetup, r: Rounder) -> dict[str, Array]:
    from .expressions import evaluate

    env = dict(s.given)
    out = {}
    for st in s.steps:
        v = r(st.name, np.asarray(evaluate(st.tree, env, f"{s.id}.{st.name}",
                                           s.budgets.compute_entries), dtype=float))
        env[st.name] = v
        out[st.name] = v
    return out


def along(s: Any, sol: Any, r: Rounder) -> dict[str, Array]:
    if isinstance(s, NetworkSetup):
        batch = ({k: v for k, v in sol.batch.grads.items()} if sol.batch is not None else None)
        return network_values(s, sol.Xb, sol.Yb, batch, r)
    return expression_values(s, r)


def digits_of(s: Any, name: str) -> int:
    return s.digits_for.get(name, s.digits)


def chain_and_tolerance(s: Any, sol: Any
                        ) -> tuple[dict[str, Array], dict[str, tuple[Array, Array]]]:
    """The chain key and each value's accepted range (low, high; entry by entry), rows
    layout."""
    def chain(name: str, v: Array) -> Array:
        return rounded(v, digits_of(s, name))

    def full(name: str, v: Array) -> Array:
        return v

    base = along(s, sol, full)
    ch = along(s, sol, chain)
    lo = {k: np.minimum(ch[k], base[k]) for k in base}
    hi = {k: np.maximum(ch[k], base[k]) for k in base}
    rs = np.random.RandomState(20261122)
    for _ in range(PATHS):
        picks: dict[str, bool] = {}

        def some(name: str, v: Array, picks: dict[str, bool] = picks) -> Array:
            if picks.setdefault(name, bool(rs.rand() < 0.5)):
                return rounded(v, digits_of(s, name))
            return v
        path = along(s, sol, some)
        for k in base:
            lo[k] = np.minimum(lo[k], path[k])
            hi[k] = np.maximum(hi[k], path[k])
    half = {k: unit(base[k], digits_of(s, k)) for k in base}
    return ch, {k: (lo[k] - half[k], hi[k] + half[k]) for k in base}
