"""The worked step as the key writes it, line by line, along one rounding path.

Every number a worked line substitutes passes through the path's rounder `r(name, value)`
before it is used: the given data and parameters, the constants the lines print (eta, 1 - beta,
2/k, lambda ...), each earlier result, and the intermediates the key prints on lines of their
own (dyhat, the activation derivative, dH, a softmax's exponentials ...). So a line computes
exactly what its substitution shows: with the chain's rounder (engine/chain.py) every factor is
the number a student reads off the key; with the identity, the full-precision key.

A value of the key is named by its canonical JSON name (the intermediates printed on lines of
their own too: dyhat, dact{l}, dH{l}, E{l}, Esum{l}, loss_l2); any other printed number by a
name starting with '@' (printed with the problem's digits); '@dZ2|db' is dZ2 as the bias
gradient's line prints it (with the digits engine/printed.cancellation_digits gives it).
Layout decisions (which form a line takes) come from engine/printed.py, as in the document.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from ..spec.setups import ExpressionSetup, NetworkSetup
from .expressions import evaluate
from .functions import ACTIVATIONS
from .layers import Layer, configured
from .printed import (
    PER_SAMPLE_SHOWN,
    closed_delta,
    closed_scale,
    one_minus,
    shown_argument,
    softmax_shifted,
    targets_add_up,
)

Array = np.ndarray
Rounder = Callable[[str, Array], Array]


def own_z(lay: Layer) -> bool:
    """The network writes the layer's Z_l and activation lines (a dense or conv layer); a pool,
    flatten, batchnorm or dropout layer's lines give H_l; an rnn's activation acts inside it
    (it keeps its own per-step Z_l, H_l, dZ_l, dH_l)."""
    return lay.has_z and not getattr(lay, "inside", False)


def output_name(l: int, depth: int) -> str:
    return "yhat" if l == depth else f"H{l}"


class _Line:
    """The rounder of one path, with `keep` for the key's values (collected in `out`) and `c`
    for the other numbers a line prints."""

    def __init__(self, r: Rounder):
        self.r = r
        self.out: dict[str, Array] = {}

    def keep(self, name: str, v: Any) -> Array:
        self.out[name] = self.r(name, np.asarray(v, dtype=float))
        return self.out[name]

    def c(self, name: str, v: Any) -> Array:
        return self.r("@" + name, np.asarray(v, dtype=float))


def network_values(s: NetworkSetup, Xb: Array, Yb: Array, dW_batch: dict[str, Array] | None,
                   r: Rounder, per_sample: bool = False, t: int = 1) -> dict[str, Array]:
    """The worked step of a network problem along one rounding path (rows layout), from the
    setup's parameters and optimiser state; `t` the optimiser step it is (Adam's 1 - beta^t).
    `per_sample`: the solution has the per-sample gradients (the key then shows them)."""
    ln = _Line(r)
    keep, c = ln.keep, ln.c
    L, k = s.depth, Yb.shape[1]
    P = {name: c(name, v) for name, v in s.params.items()}  # the given values, as printed
    Y = c("Y", Yb)
    H = [c("X", Xb)]
    Z = []
    layers = configured(s.kinds, s.layer_cfgs, L)
    with np.errstate(all="ignore"):
        for l, lay in enumerate(layers, 1):  # forward: Z = H W + b, H = f(Z)
            out = lay.worked_forward(H[-1], P, l, keep, c)
            if own_z(lay):
                Z.append(keep(f"Z{l}", out))
                H.append(keep(output_name(l, L), _activate(s, l, Z[-1], keep, c)))
            else:  # its output is H_l (an rnn keeps its own H_l: every step's)
                Z.append(out)
                H.append(out if getattr(lay, "inside", False) else keep(output_name(l, L), out))
        yh = H[-1]
        keep("loss", _loss(s, yh, Y, Yb, P, keep, c))
        if closed_delta(s.loss, s.activations[-1], s.eps):
            sc = closed_scale(s.loss, k, s.factor)
            sums = 1.0 if s.loss != "cce" or targets_add_up(Yb) else \
                c("Ysum", Y.sum(axis=1, keepdims=True))
            dZ = keep(f"dZ{L}", sc * (yh * sums - Y))
        else:
            dZ = keep(f"dZ{L}", _through(s, L, Z[-1], yh, _dyhat(s, yh, Y, keep, c), keep, c))
        grads = _backward(s, layers, H, Z, dZ, P, per_sample, keep, c)
        if dW_batch is not None:  # the update uses the whole batch's gradient, as printed
            grads = {name: r(f"d{name}_batch", np.asarray(g, dtype=float))
                     for name, g in dW_batch.items()}
        _update(s, grads, P, keep, c, t)
    return ln.out


def _activate(s: NetworkSetup, l: int, z: Array, keep: Callable[[str, Any], Array],
              c: Callable[[str, Any], Array]) -> Array:
    act = s.activations[l - 1]
    if act != "softmax":
        return ACTIVATIONS[act](z, s.alphas[l - 1])
    shift = z.max(axis=1, keepdims=True) if softmax_shifted(z) else 0.0
    E = keep(f"E{l}", np.exp(c(f"Zs{l}", z - shift)))   # the exponentials and their row sums
    return E / keep(f"Esum{l}", E.sum(axis=1, keepdims=True))


def _loss(s: NetworkSetup, yh: Array, Y: Array, Yb: Array, P: dict[str, Array],
          keep: Callable[[str, Any], Array], c: Callable[[str, Any], Array]) -> Array:
    """Each sample's loss, then L = (1/m)(L_1 + ... + L_m) + R."""
    k, m, e = Y.shape[1], Y.shape[0], s.eps or 0.0
    if s.loss in ("mse", "sse"):
        ls = ((yh - Y) ** 2).sum(axis=1) / (k if s.loss == "mse" else 1)
    elif s.loss == "bce":  # a term with a 0 coefficient is 0, as written by hand
        ones = c("1-Y", np.vectorize(one_minus, otypes=[float])(Yb))
        ls = -(_times(Y, np.log(yh + e)) + _times(ones, np.log(1 - yh + e))).sum(axis=1) / k
    else:
        ls = -_times(Y, np.log(yh + e)).sum(axis=1)
    ls = keep("loss_per_sample", (c("factor", s.factor) if s.factor != 1 else 1.0) * ls)
    total = ls.sum() if m <= PER_SAMPLE_SHOWN else c("Lsum", ls.sum())
    data = total if s.reduction == "sum" else total / m
    if not s.l2:
        return data
    norms = sum(c(f"norm{l}", (P[w] ** 2).sum())
                for l, lay in enumerate(configured(s.kinds, s.layer_cfgs, s.depth), 1)
                for w in lay.decayed(l))
    return data + keep("loss_l2", c("l2", s.l2) / (2 * m) * norms)


def _times(a: Array, b: Array) -> Array:
    return np.where(a == 0, 0.0, a * b)


def _dyhat(s: NetworkSetup, yh: Array, Y: Array, keep: Callable[[str, Any], Array],
           c: Callable[[str, Any], Array]) -> Array:
    """dL_i/dyhat, elementwise, from the numbers its line prints."""
    k, e = Y.shape[1], s.eps or 0.0
    pre = s.factor / (k if s.loss in ("mse", "bce") else 1)
    if s.loss in ("mse", "sse"):
        g = c("2pre", 2 * pre) * (yh - Y)
    else:
        scale = 1.0 if pre == 1 else c("pre", pre)
        g = (scale * (-Y / (yh + e) + (1 - Y) / (1 - yh + e)) if s.loss == "bce"
             else -scale * Y / (yh + e))
    return keep("dyhat", g)


def _through(s: NetworkSetup, l: int, z: Array, h: Array, g: Array,
             keep: Callable[[str, Any], Array], c: Callable[[str, Any], Array]) -> Array:
    """dZ_l from g, the gradient of the layer's output H_l (dyhat or dH_l)."""
    act = s.activations[l - 1]
    if act == "linear":
        return g
    if act == "softmax":
        return h * (g - c(f"inner{l}", (g * h).sum(axis=1, keepdims=True)))
    maps = np.ndim(h) > 2  # a conv layer's dZ line prints dH (.) f'(Z), no f' values
    if act == "sigmoid":  # (document/worked/ndmaps.py): it enters unrounded
        d = h * (1 - h if maps else c(f"1-H{l}", 1 - h))
    elif act == "tanh":
        d = 1 - h * h
    else:  # relu, leaky relu: 1 where Z > 0, else 0 or alpha
        alpha = float(c(f"alpha{l}", s.alphas[l - 1])) if act == "leaky_relu" else 0.0
        d = np.where(z > 0, 1.0, alpha)
    kept = keep(f"dact{l}", d)
    return g * (d if maps else kept)


def _backward(s: NetworkSetup, layers: list[Layer], H: list[Array], Z: list[Array], dZ: Array,
              P: dict[str, Array], per_sample: bool, keep: Callable[[str, Any], Array],
              c: Callable[[str, Any], Array]) -> dict[str, Array]:
    """From the output layer down; `dZ` is dL/dZ_l of a layer with its own Z, else dL/d(its
    output); an rnn below gets dL/d(its output) and keeps its own per-step dH, dZ."""
    L, m = s.depth, H[0].shape[0]
    scale = 1.0 if s.reduction == "sum" else 1.0 / m
    grads: dict[str, Array] = {}
    for l in range(L, 0, -1):
        lay = layers[l - 1]
        if s.delta == "error" and own_z(lay):  # the error signal as printed: -dZ, its digits
            keep(f"delta{l}", -dZ)
        grads.update(lay.worked_backward(H[l - 1], dZ, P, l, m, scale, s.l2, per_sample,
                                         s.units, keep, c))
        per_sample = per_sample and not getattr(lay, "couples", False)  # none below batchnorm
        if l > 1:
            below = layers[l - 2]
            dH = lay.worked_back(dZ, P, l, H[l - 1], keep, c)
            if not getattr(below, "inside", False):
                dH = keep(f"dH{l - 1}", dH)
            dZ = (keep(f"dZ{l - 1}", _through(s, l - 1, Z[l - 2], H[l - 1], dH, keep, c))
                  if own_z(below) else dH)
    return grads


def _update(s: NetworkSetup, grads: dict[str, Array], P: dict[str, Array],
            keep: Callable[[str, Any], Array], c: Callable[[str, Any], Array], t: int) -> None:
    o = s.optimizer
    eta = c("lr", s.lr)
    for name, g in grads.items():
        if name in s.freeze:
            continue
        if o["name"] == "sgd":  # W - eta g, or W - Delta when the step is asked (a line of its own)
            step = keep(f"{name}_step", eta * g)
            asked = f"{name}_step" in (s.marking.ask or ())
            keep(f"{name}_new", P[name] - (step if asked else eta * g))
            continue
        if o["name"] == "momentum":
            old = _old(s, name, "v", "beta", c)
            if o.get("form") == "heavy_ball":  # p + v, or p + beta v - eta g (Nesterov)
                v = keep(f"{name}_v", old - eta * g)
                ahead = c("beta", o["beta"]) * v - eta * g if o.get("nesterov") else v
                keep(f"{name}_step", -ahead)
                keep(f"{name}_new", P[name] + ahead)
                continue
            step = eta * keep(f"{name}_v", old + c("1-beta", one_minus(o["beta"])) * g)
        elif o["name"] == "rmsprop":
            sq = keep(f"{name}_s", _old(s, name, "s", "beta", c)
                      + c("1-beta", one_minus(o["beta"])) * g * g)
            step = eta * g / (np.sqrt(sq) + c("eps", o["eps"]))
        else:
            mm = keep(f"{name}_m", _old(s, name, "m", "beta1", c)
                      + c("1-beta1", one_minus(o["beta1"])) * g)
            vv = keep(f"{name}_v", _old(s, name, "v", "beta2", c)
                      + c("1-beta2", one_minus(o["beta2"])) * g * g)
            mh = keep(f"{name}_mhat", mm / c("1-beta1^t", one_minus(o["beta1"], t)))
            vh = keep(f"{name}_vhat", vv / c("1-beta2^t", one_minus(o["beta2"], t)))
            step = eta * mh / (np.sqrt(vh) + c("eps", o["eps"]))
        keep(f"{name}_new", P[name] - keep(f"{name}_step", step))


def _old(s: NetworkSetup, name: str, state: str, beta: str,
         c: Callable[[str, Any], Array]) -> Array | float:
    """beta times the state before the step, as its line prints it (train.state); 0 if not
    given."""
    v0 = s.state.get(name, {}).get(state)
    return 0.0 if v0 is None else c(beta, s.optimizer[beta]) * c(f"{name}_{state}0", v0)


class _Constants(ast.NodeTransformer):
    """Each number written in a formula, as the substituted line prints it."""

    def __init__(self, step: str, c: Callable[[str, Any], Array]):
        self.step, self.c, self.n = step, c, 0

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            return node
        self.n += 1
        v = float(self.c(f"{self.step}|{self.n}", float(node.value)))
        return ast.copy_location(ast.Constant(value=v), node)


def expression_values(s: ExpressionSetup, r: Rounder) -> dict[str, Array]:
    """Each compute step from the given values, the earlier steps and its own numbers as its
    substituted line prints them; f(argument) from the argument's printed value when the key
    prints it on a line of its own."""
    ln = _Line(r)
    env = {k: ln.c(k, v) for k, v in s.given.items()}
    budget = s.budgets.compute_entries
    for st in s.steps:
        tree = _Constants(st.name, ln.c).visit(copy.deepcopy(st.tree))
        arg = shown_argument(tree)
        where = f"{s.id}.{st.name}"
        if arg is not None:
            body = tree.body
            assert isinstance(body, ast.Call)
            inner = ln.c(f"{st.name}|arg", evaluate(ast.Expression(body=arg), env, where, budget))
            call = ast.Call(func=body.func, args=[ast.Name(id="@arg", ctx=ast.Load()),
                                                  *body.args[1:]], keywords=[])
            v = evaluate(ast.Expression(body=call), {**env, "@arg": inner}, where, budget)
        else:
            v = evaluate(tree, env, where, budget)
        env[st.name] = ln.keep(st.name, v)
    return ln.out
