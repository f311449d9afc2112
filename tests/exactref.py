"""An independent exact reference for the generative test (issue 21): the worked step of a
network problem and the compute steps of an expression problem in rational arithmetic
(`fractions.Fraction` on the decimals as written), written from docs/spec.md's conventions
and not from nnreport's engine. Only what docs/spec.md promises to be exact is computed:
sums, products, ReLU, leaky ReLU, linear layers, MSE/SSE, the gradients, the first SGD,
momentum or Adam step, RMSprop's s (and its step when its root is rational), the L2 penalty;
a value that leaves the rationals is left out (None). Arrays in the rows layout, dtype object.
"""

from __future__ import annotations

import ast
import math
from fractions import Fraction
from typing import Any

import numpy as np

F = Fraction
Obj = np.ndarray


def q(x: Any) -> Obj:
    """Exact fractions of the decimals as written (numbers reach here as floats)."""
    return np.vectorize(lambda v: F(repr(float(v))), otypes=[object])(np.asarray(x, dtype=float))


def nearest(e: Obj) -> np.ndarray:
    """The float nearest to each exact value."""
    return np.vectorize(float, otypes=[float])(np.asarray(e, dtype=object))


def _root(x: Fraction) -> Fraction | None:
    if x < 0:
        return None
    n, d = math.isqrt(x.numerator), math.isqrt(x.denominator)
    return F(n, d) if n * n == x.numerator and d * d == x.denominator else None


def roots(a: Obj) -> Obj | None:
    out = [_root(x) for x in a.ravel()]
    return None if any(r is None for r in out) else np.array(out, dtype=object).reshape(a.shape)


def _closed(loss: str, act: str, eps: Any) -> bool:
    return (eps is None and (loss, act) in (("bce", "sigmoid"), ("cce", "softmax"))) or \
        (act == "linear" and loss in ("mse", "sse"))


def network(p: dict[str, Any], layout: str = "rows") -> dict[str, Any]:
    """The exact values of a generated network problem's worked step (rows layout);
    `layout`: the document's, for a problem without its own."""
    if "params" not in p:
        return {}  # drawn weights: not decimals as written
    cols = p.get("layout", layout) == "columns"
    t = (lambda a: np.asarray(a, dtype=object).T) if cols else (lambda a: np.asarray(a, dtype=object))
    X, Y = t(q(p["data"]["X"])), t(q(p["data"]["Y"]))
    layers = p["network"]["layers"]
    L = len(layers)
    P: dict[str, Obj] = {}
    for l, layer in enumerate(layers, 1):
        P[f"W{l}"] = t(q(p["params"][f"W{l}"]))
        if layer.get("bias", True):  # a threshold theta is the bias -theta (z = h W - theta)
            kind = "theta" if layer.get("bias") == "threshold" else "b"
            b = p["params"].get(f"{kind}{l}")
            P[f"{kind}{l}"] = q(b).reshape(1, -1) if b is not None else \
                np.full((1, layer["units"]), F(0), dtype=object)
    loss = p["loss"] if isinstance(p["loss"], dict) else {"name": p["loss"]}
    train = p["train"]
    m_all = X.shape[0]
    bs = train.get("batch_size", m_all)
    order = (np.random.RandomState(train["shuffle"]["seed"]).permutation(m_all)
             if "shuffle" in train else np.arange(m_all))
    batch = order[:bs]
    k = p.get("worked_samples", bs)
    out = _pass(P, layers, loss, p.get("regularization", {}).get("l2", 0), X[batch[:k]],
                Y[batch[:k]])
    grads = out
    if k < bs:  # the update uses the whole batch's gradient
        whole = _pass(P, layers, loss, p.get("regularization", {}).get("l2", 0), X[batch],
                      Y[batch])
        grads = {f"d{n}": whole.get(f"d{n}") for n in P}
        out.update({f"d{n}_batch": whole.get(f"d{n}") for n in P})
        out["loss_batch"] = whole.get("loss")
    opt = train["optimizer"] if isinstance(train["optimizer"], dict) else {"name": train["optimizer"]}
    lr = F(repr(float(train["lr"])))
    frozen = set(train.get("freeze", []))
    state = {k: t(q(v)) for k, v in train.get("state", {}).items()}  # train.state, rows
    for n in P:
        g = grads.get(f"d{n}")
        if g is None or n in frozen:
            continue
        step = _step(opt, lr, g, n, out, state)
        if step is not None:
            out[f"{n}_step"] = step
            out[f"{n}_new"] = P[n] - step
    if p.get("delta") == "error":  # the error signal, -dZ
        out.update({f"delta{l}": -out[f"dZ{l}"] for l in range(1, L + 1) if f"dZ{l}" in out})
    _ = L
    return {k: v for k, v in out.items() if v is not None}


def _step(opt: dict[str, Any], lr: Fraction, g: Obj, n: str, out: dict[str, Any],
          state: dict[str, Obj]) -> Obj | None:
    """The step subtracted from parameter n (its state before the step from train.state)."""
    name = opt["name"]
    c = lambda key, default: F(repr(float(opt.get(key, default))))  # noqa: E731

    def old(st: str) -> Any:
        return state.get(f"{n}_{st}", F(0))
    if name == "sgd":
        return lr * g
    if name == "momentum" and opt.get("form") == "heavy_ball":  # v = beta v - lr g, p + v
        beta = c("beta", 0.9)
        out[f"{n}_v"] = beta * old("v") - lr * g
        ahead = beta * out[f"{n}_v"] - lr * g if opt.get("nesterov") else out[f"{n}_v"]
        return -ahead
    if name == "momentum":
        out[f"{n}_v"] = c("beta", 0.9) * old("v") + (1 - c("beta", 0.9)) * g
        return lr * out[f"{n}_v"]
    if name == "adam":
        b1, b2, eps = c("beta1", 0.9), c("beta2", 0.999), c("eps", 1e-8)
        out[f"{n}_m"] = b1 * old("m") + (1 - b1) * g
        out[f"{n}_v"] = b2 * old("v") + (1 - b2) * g * g
        out[f"{n}_mhat"], out[f"{n}_vhat"] = out[f"{n}_m"] / (1 - b1), out[f"{n}_v"] / (1 - b2)
        r = roots(out[f"{n}_vhat"])
        if r is None or (eps == 0 and np.any(r == 0)):
            return None
        return lr * out[f"{n}_mhat"] / (r + eps)
    beta, eps = c("beta", 0.9), c("eps", 1e-8)
    out[f"{n}_s"] = beta * old("s") + (1 - beta) * g * g
    r = roots(out[f"{n}_s"])
    if r is None or (eps == 0 and np.any(r == 0)):
        return None
    return lr * g / (r + eps)


def _pass(P: dict[str, Obj], layers: list[dict[str, Any]], loss: dict[str, Any], l2: float,
          X: Obj, Y: Obj) -> dict[str, Any]:
    """Forward while the activations are rational, the loss and backward for squared errors."""
    out: dict[str, Any] = {}
    L, m, kk = len(layers), X.shape[0], Y.shape[1]
    H: list[Obj | None] = [X]
    Z: list[Obj | None] = []
    for l, layer in enumerate(layers, 1):
        h = H[-1]
        if h is None:
            break
        z = np.dot(h, P[f"W{l}"]) + P.get(f"b{l}", F(0)) - P.get(f"theta{l}", F(0))
        Z.append(z)
        out[f"Z{l}"] = z
        act, alpha = layer["activation"], F(repr(float(layer.get("alpha", 0.01))))
        a = z if act == "linear" else np.where(z > 0, z, 0) if act == "relu" else \
            np.where(z > 0, z, alpha * z) if act == "leaky_relu" else None
        H.append(None if a is None else np.asarray(a, dtype=object))
        if a is not None:
            out["yhat" if l == L else f"H{l}"] = H[-1]
    lam = F(repr(float(l2)))
    if lam:
        out["loss_l2"] = lam / (2 * m) * sum((P[f"W{l}"] ** 2).sum() for l in range(1, L + 1))
    yhat = H[-1] if len(H) == L + 1 else None
    if yhat is None or loss["name"] not in ("mse", "sse"):
        return out
    f = F(repr(float(loss.get("factor", 1))))
    n_out = kk if loss["name"] == "mse" else 1
    ls = f * ((yhat - Y) ** 2).sum(axis=1) / n_out
    out["loss_per_sample"] = ls
    red = F(1) if loss.get("reduction", "mean") == "sum" else F(1, m)
    out["loss"] = ls.sum() * red + out.get("loss_l2", 0)
    dyhat = f * 2 * (yhat - Y) / n_out
    acts = [layer["activation"] for layer in layers]
    if not _closed(loss["name"], acts[-1], loss.get("eps")):
        out["dyhat"] = dyhat
    g = dyhat
    for l in range(L, 0, -1):
        layer = layers[l - 1]
        act, alpha = layer["activation"], F(repr(float(layer.get("alpha", 0.01))))
        if act != "linear":
            d = np.where(Z[l - 1] > 0, F(1), F(0) if act == "relu" else alpha)
            out[f"dact{l}"] = np.asarray(d, dtype=object)
            g = g * out[f"dact{l}"]
        dZ = np.asarray(g, dtype=object)
        out[f"dZ{l}"] = dZ
        h = H[l - 1]
        assert h is not None
        out[f"dW{l}_per_sample"] = [np.outer(h[i], dZ[i]) for i in range(m)]
        out[f"dW{l}"] = np.dot(h.T, dZ) * red + lam / m * P[f"W{l}"]
        if f"b{l}" in P:
            out[f"db{l}_per_sample"] = [dZ[i:i + 1] for i in range(m)]
            out[f"db{l}"] = dZ.sum(axis=0, keepdims=True) * red
        if f"theta{l}" in P:  # dL/dtheta = -dL/db
            out[f"dtheta{l}_per_sample"] = [-dZ[i:i + 1] for i in range(m)]
            out[f"dtheta{l}"] = -dZ.sum(axis=0, keepdims=True) * red
        if l > 1:
            g = out[f"dH{l - 1}"] = np.dot(dZ, P[f"W{l}"].T)
    return out


# --- expression problems --------------------------------------------------------------------

class Inexact(Exception):
    pass


def expression(p: dict[str, Any]) -> dict[str, Obj]:
    """Each compute step's exact value where it stays rational."""
    env: dict[str, Obj | None] = {}
    for k, v in p["given"].items():
        env[k] = (np.full(v["shape"], F(repr(float(v["fill"]))), dtype=object)
                  if isinstance(v, dict) else q(v))
    out = {}
    for step in p["compute"]:
        (name, src), = step.items()
        try:
            v = _ev(ast.parse(str(src), mode="eval").body, env)
        except (Inexact, ZeroDivisionError, OverflowError):
            v = None
        env[name] = v
        if v is not None:
            out[name] = v
    return out


def _ev(node: ast.AST, env: dict[str, Obj | None]) -> Obj:
    def ev(n: ast.AST) -> Obj:
        return _ev(n, env)
    if isinstance(node, ast.Constant):
        return np.asarray(F(repr(float(node.value))), dtype=object)
    if isinstance(node, ast.Name):
        v = env[node.id]
        if v is None:
            raise Inexact
        return v
    if isinstance(node, ast.List):
        return np.array([ev(e) for e in node.elts], dtype=object)
    if isinstance(node, ast.UnaryOp):
        return -ev(node.operand) if isinstance(node.op, ast.USub) else ev(node.operand)
    if isinstance(node, ast.Subscript):
        idx = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        key = tuple(slice(None) if isinstance(i, ast.Slice) else int(i.value) for i in idx)  # type: ignore[attr-defined]
        return np.asarray(ev(node.value)[key], dtype=object)
    if isinstance(node, ast.Attribute):
        return np.transpose(ev(node.value))
    if isinstance(node, ast.Call):
        fn = node.func.id  # type: ignore[attr-defined]
        a = ev(node.args[0])
        if fn == "relu":
            return np.asarray(np.where(a > 0, a, F(0)), dtype=object)
        if fn == "abs":
            return np.asarray(np.abs(a), dtype=object)
        if fn == "transpose":
            return np.transpose(a)
        if fn == "outer":
            return np.outer(a, ev(node.args[1]))
        if fn in ("sum", "mean", "max", "min"):
            axis = None
            if len(node.args) == 2:
                axis = int(ast.literal_eval(node.args[1])) % a.ndim
            r = {"sum": np.sum, "max": np.max, "min": np.min, "mean": np.sum}[fn](a, axis=axis)
            if fn == "mean":
                r = r / (a.size if axis is None else a.shape[axis])
            return np.asarray(r, dtype=object)
        raise Inexact
    if isinstance(node, ast.BinOp):
        a, b = ev(node.left), ev(node.right)
        if isinstance(node.op, ast.Add):
            return a + b
        if isinstance(node.op, ast.Sub):
            return a - b
        if isinstance(node.op, ast.Mult):
            return a * b
        if isinstance(node.op, ast.Div):
            return a / b
        if isinstance(node.op, ast.MatMult):
            return np.asarray(np.dot(a, b), dtype=object)
        k = float(b)
        if k != int(k):
            raise Inexact
        return a ** int(k)
    raise Inexact
