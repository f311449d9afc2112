"""The recurrent layer's worked lines (issue 26): the forward pass unrolled over the steps and
backpropagation through time, as a student writes them.

    z_t = x_t W_x + h_{t-1} W_h + b,   h_t = f(z_t)                        t = 1 .. T
    dh_t = g_t + dz_{t+1} W_h^T,       dz_t = dh_t (.) f'(z_t)             t = T .. 1
    dW_x = s sum_t X_t^T dZ_t,  dW_h = s sum_t H_{t-1}^T dZ_t,  db = s sum_t 1^T dZ_t

(g_t: the gradient that reaches h_t from the layer's output -- only g_T for `return: last`;
s: the batch loss's scale, 1/m for a mean). One sample is worked in full, every product with
its numbers; the batch's matrices Z_t, H_t, dH_t, dZ_t follow as results, and each step's
contribution to a parameter's gradient is a batch product X_t^T dZ_t whose sum over t is
written out before the result.

These are functions of plain arrays (X [samples, steps, features], the parameters by kind as
engine/layers/rnn.py takes them), names and digits, returning Steps; the values come from the
engine module (its Forward and Backward, computed here when not given). They are not
registered as a layer type: wrapping them as a WorkedLayer of (Ctx, l) waits for the layer
protocol's sequences (issue 24).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from ....engine import exact
from ....engine.layers import rnn as engine
from ....render import formulas as F
from ....render.numbers import fmt
from ...lines import applied
from ...steps import Piece, Step, Val

ACT_DERIV = {  # f'(z_t) with the step's output h_t where courses write it that way
    "tanh": r"\left(1 - {h} \odot {h}\right)",
    "sigmoid": r"{h} \odot \left(1 - {h}\right)",
    "relu": r"\mathbf{{1}}\left[{z} > 0\right]",
    "linear": "",
}


@dataclass(frozen=True)
class Names:
    """The symbols of the layer: one sample's row vectors (x, h, z) and the batch's matrices
    (X, H, Z), both subscripted with the step; the parameters."""

    x: str = "x"
    h: str = "h"
    z: str = "z"
    X: str = "X"
    H: str = "H"
    Z: str = "Z"
    Wx: str = "W_{x}"
    Wh: str = "W_{h}"
    b: str = "b"
    g: str = "g"  # the gradient reaching h_t from the layer's output
    G: str = "G"  # the same for the batch
    h0: str = "h_{0}"    # the initial state as a parameter (h_{0,1}: `params:` gives h01)
    dh0: str = r"\frac{\partial L}{\partial h_{0}}"  # its gradient (in a key: dh_{0,1},
    #                                                  as the update line names it)


def scale_tex(scale: float, m: int, digits: int = 4) -> str:
    """The batch loss's factor before a sum over samples: '' for 1, \\frac{1}{m} for a mean (a
    simple fraction as a fraction), else the number."""
    if scale == 1:
        return ""
    q = Fraction(scale).limit_denominator(10 * max(m, 1) + 100)
    if math.isclose(float(q), scale, rel_tol=1e-12):
        if q.numerator == 1:
            return rf"\frac{{1}}{{{q.denominator}}}"
        return rf"\frac{{{q.numerator}}}{{{q.denominator}}}"
    return fmt(scale, digits) + r" \cdot"


def times(a: Val, b: Val) -> list[Piece]:
    """A product as a line prints it: matrices side by side, a single number with a dot."""
    dot = a.array.size == 1 or b.array.size == 1
    return [a, r"\cdot" if dot else r"\,", b]


def summed(terms: list[Val], pre: str) -> list[Piece]:
    """pre ([t1] + [t2] + ...) as pieces a long line may break between."""
    out: list[Piece] = [pre + r"\left("] if pre else []
    for k, t in enumerate(terms):
        out += [t] + (["+"] if k < len(terms) - 1 else [])
    return out + ([r"\right)"] if pre else [])


def _sub(base: str, t: int | str, sample: int | None = None) -> str:
    """x_{t}, or x^{(i)}_{t} for sample i of a batch; a name with a '#' puts the step there
    (X^{<#>} gives X^{<t>}: the batch's matrices beside the layers' X, Z_l, H_l)."""
    if "#" in base:
        return base.replace("#", str(t))
    sup = f"^{{({sample + 1})}}" if sample is not None else ""
    return f"{base}{sup}_{{{t}}}"


NOISE = 1e-13  # relative to a matrix's largest entry: below it, an entry is a cancellation's noise


def shown(a: Any) -> np.ndarray:
    """A computed matrix as it is shown: an entry under NOISE times the largest entry is the
    float noise of an exact cancellation (0.4 (-0.3) + 0.3 (0.4) = 6.661e-18) and shows 0; a
    problem's values never span thirteen orders of magnitude."""
    a = np.array(a, dtype=float)
    finite = np.isfinite(a)
    if finite.any():
        top = float(np.abs(a[finite]).max())
        a[finite & (np.abs(a) < NOISE * top)] = 0.0
    return a


def _row(a: np.ndarray, digits: int) -> Val:
    return Val(shown(a).reshape(-1), digits)


def _mat(a: np.ndarray, digits: int) -> Val:
    a = shown(a)
    return Val(a if a.ndim == 2 else a.reshape(1, -1), digits)


def product(a: Any, b: Any) -> np.ndarray:
    """a @ b of the values as they read (their shortest decimals) in exact arithmetic, to the
    nearest float, as the engine's exact pass gives a step's value: 1 (-0.3) + 0.5 (0.4) is
    -0.1, not -0.09999999999999998 (which prints -0.1000), and 0.4 (-0.3) + 0.3 (0.4) is 0,
    not 6.661e-18."""
    ea, eb = exact.rational(a), exact.rational(b)
    if ea is None or eb is None or ea.size * np.shape(eb)[-1] > exact.EXACT_MAX_OPS:
        return shown(np.asarray(a, dtype=float) @ np.asarray(b, dtype=float))
    return exact.to_float(ea @ eb)


def recurrent(g: Any, dz: Any, WhT: Any) -> np.ndarray:
    """dh_t = g_t + dz_{t+1} W_h^T of the values as they read, exactly, to the nearest float."""
    eg, edz, ew = (exact.rational(v) for v in (g, dz, WhT))
    if eg is None or edz is None or ew is None:
        return np.asarray(g, dtype=float) + np.asarray(dz, dtype=float) @ WhT
    return exact.to_float(eg + edz @ ew)


def affine(x: Any, Wx: Any, h: Any, Wh: Any, b: Any) -> np.ndarray:
    """x W_x + h W_h + b of the values as they read, exactly, to the nearest float (z_t as the
    line's numbers give it; z_1 = x_1 W_x + b is -0.2, not -0.20000000000000004)."""
    ex, ewx, eh, ewh, eb = (exact.rational(v) for v in (x, Wx, h, Wh, b))
    if ex is None or ewx is None or eh is None or ewh is None or eb is None:
        return np.asarray(x, dtype=float) @ Wx + np.asarray(h, dtype=float) @ Wh + b
    return exact.to_float(ex @ ewx + eh @ ewh + eb)


def _passes(X: Any, params: Mapping[str, Any], act: str, fwd: engine.Forward | None,
            ) -> tuple[np.ndarray, dict[str, np.ndarray], engine.Forward]:
    X = np.asarray(X, dtype=float)
    P = {k: np.asarray(v, dtype=float) for k, v in params.items() if v is not None}
    return X, P, fwd if fwd is not None else engine.forward(X, P, act)


def upstream(grad: Any, shape: tuple[int, int, int], ret: str) -> np.ndarray:
    """g [samples, steps, U]: the output's gradient as it reaches each h_t (zero but at T for
    `return: last`)."""
    g = np.asarray(grad, dtype=float)
    if ret == "sequence":
        return g.reshape(shape)
    out = np.zeros(shape)
    out[:, -1] = g.reshape(shape[0], shape[2])
    return out


def formula(act: str = "tanh", names: Names = Names()) -> str:
    """h_t = f(x_t W_x + h_{t-1} W_h + b), for the conventions sentence."""
    n = names
    z = rf"{_sub(n.x, 't')} {n.Wx} + {_sub(n.h, 't-1')} {n.Wh} + {n.b}"
    return rf"{_sub(n.h, 't')} = {F.apply(act, z)}"


def conventions(act: str = "tanh", names: Names = Names(), ret: str = "last",
                h0: bool = False) -> str:
    """The conventions sentence of a recurrent layer (LaTeX text with inline math)."""
    n = names
    start = (f"the parameter ${_sub(n.h, 0)}$" if h0 else f"${_sub(n.h, 0)} = 0$")
    out = (f"the layer's output is ${_sub(n.h, 'T')}$" if ret == "last" else
           f"the layer's output is every ${_sub(n.h, 't')}$")
    return (f"${formula(act, names)}$ for $t = 1, \\dots, T$, from {start}, with the same "
            f"weights ${n.Wx}$, ${n.Wh}$ and ${n.b}$ at every step; {out}; the gradients are "
            "backpropagated through time over the whole sequence.")


def forward(X: Any, params: Mapping[str, Any], fwd: engine.Forward | None = None, *,
            act: str = "tanh", digits: int = 4, sample: int = 0,
            names: Names = Names()) -> list[Step]:
    """The forward pass unrolled: for t = 1..T, z_t = x_t W_x + h_{t-1} W_h + b with the
    numbers (and the two products' values), then h_t = f(z_t), for sample `sample` in full;
    for a batch, then each step's Z_t and H_t as results (one row per sample)."""
    X, P, fw = _passes(X, params, act, fwd)
    n, d = names, digits
    m, T, _ = X.shape
    i = sample if m > 1 else None
    Wx, Wh, b = P["Wx"], P["Wh"], P["b"].reshape(-1)
    steps: list[Step] = []
    zero = "h0" not in P
    who = f"sample {sample + 1} of the batch, " if m > 1 else ""
    if zero:
        steps.append(Step(_sub(n.h, 0, i), None, None, _row(fw.h0[sample], d), asked=False,
                          note=f"{who}step by step; the state starts at zero"))
    else:
        steps.append(Step(_sub(n.h, 0, i), n.h0, None, _row(fw.h0[sample], d),
                          asked=False, note=f"{who}step by step; the initial state is the "
                          f"parameter ${n.h0}$"))
    for t in range(1, T + 1):
        x, hp = X[sample, t - 1], fw.h0[sample] if t == 1 else fw.H[sample, t - 2]
        z, h = fw.Z[sample, t - 1], fw.H[sample, t - 1]
        xs, hs = _sub(n.x, t, i), _sub(n.h, t - 1, i)
        xv, hv = _row(x, d), _row(hp, d)
        Wxv, Whv, bv = _mat(Wx, d), _mat(Wh, d), _row(b, d)
        if zero and t == 1:  # h_0 W_h = 0: the recurrent term vanishes
            f = rf"{xs} {n.Wx} + {n.b}"
            sub = times(xv, Wxv) + ["+", bv]
            more: list[list[Piece]] = [[_row(product(x, Wx), d), "+", bv]]
            note = f"$t = 1$: ${_sub(n.h, 0, i)} = 0$, so the recurrent term vanishes"
        else:
            f = rf"{xs} {n.Wx} + {hs} {n.Wh} + {n.b}"
            sub = times(xv, Wxv) + ["+"] + times(hv, Whv) + ["+", bv]
            more = [[_row(product(x, Wx), d), "+", _row(product(hp, Wh), d), "+", bv]]
            note = f"$t = {t}$"
        z = affine(x, Wx, hp, Wh, b)  # the engine's z_t, exactly as the numbers give it
        steps.append(Step(_sub(n.z, t, i), f, sub, _row(z, d), note=note, more=more))
        steps.append(_activation(act, _sub(n.h, t, i), _sub(n.z, t, i), z, h, d))
    if m > 1:
        for t in range(1, T + 1):
            f = rf"{_sub(n.X, t)} {n.Wx} + {_sub(n.H, t - 1)} {n.Wh} + {n.b}"
            note = (f"the whole batch, one row per sample (row {sample + 1} is the sample "
                    "above)" if t == 1 else "")
            Hp = fw.h0 if t == 1 else fw.H[:, t - 2]
            Zt = affine(X[:, t - 1], Wx, Hp, Wh, b)
            steps.append(Step(_sub(n.Z, t), f, None, _mat(Zt, d), shape=t == 1,
                              note=note))
            steps.append(Step(_sub(n.H, t), F.apply(act, _sub(n.Z, t)), None,
                              _mat(fw.H[:, t - 1], d)))
    return steps


def _activation(act: str, lhs: str, zs: str, z: np.ndarray, h: np.ndarray, d: int) -> Step:
    if act == "linear":
        return Step(lhs, zs, None, _row(h, d), asked=False)
    return Step(lhs, F.apply(act, zs), [applied(F.ACT_APPLY[act], _row(z, d))], _row(h, d))


def _derivative(act: str, dh: Val, z: np.ndarray, h: np.ndarray, d: int
                ) -> tuple[list[Piece], list[Piece]]:
    """dh (.) f'(z) with the numbers: with h (or z) put in, then with f'(z)'s values."""
    hv, zv = _row(h, d), _row(z, d)
    if act == "tanh":
        first: list[Piece] = [dh, r"\odot \left(1 -", hv, r"\odot", hv, r"\right)"]
        der = 1 - h * h
    elif act == "sigmoid":
        first = [dh, r"\odot", hv, r"\odot \left(1 -", hv, r"\right)"]
        der = h * (1 - h)
    else:  # relu: 0 at the kink, as the engine's
        first = [dh, r"\odot \mathbf{1}\left[", zv, r"> 0\right]"]
        der = (z > 0).astype(float)
    return first, [dh, r"\odot", _row(der, d)]


def bptt(X: Any, params: Mapping[str, Any], grad: Any, fwd: engine.Forward | None = None,
         bwd: engine.Backward | None = None, *, act: str = "tanh", ret: str = "last",
         digits: int = 4, sample: int = 0, names: Names = Names()) -> list[Step]:
    """Backpropagation through time for sample `sample`, t = T..1: dh_t (the output's gradient
    g_t plus dz_{t+1} W_h^T, with the numbers) and dz_t = dh_t (.) f'(z_t) (with h_t's numbers,
    then f'(z_t)'s); dh_0 when h_0 is a parameter; for a batch, then each step's dH_t and dZ_t
    as results. `grad`: the output's gradient as engine.backward takes it."""
    X, P, fw = _passes(X, params, act, fwd)
    bw = bwd if bwd is not None else engine.backward(X, P, fw, grad, ret, act)
    n, d = names, digits
    m, T, _ = X.shape
    U = P["Wx"].shape[1]
    i = sample if m > 1 else None
    g = upstream(grad, (m, T, U), ret)
    Wh = P["Wh"]
    WhT = _mat(Wh.T, d)
    dh_, dz_ = "d" + n.h, "d" + n.z
    steps: list[Step] = []
    who = f"sample {sample + 1}, " if m > 1 else ""
    for t in range(T, 0, -1):
        dh, dz = bw.dH[sample, t - 1], bw.dZ[sample, t - 1]
        gs = _sub(n.g, t, i)
        if t == T:
            note = (f"{who}backwards from the last step: ${gs}$ is the gradient of the loss "
                    f"with respect to ${_sub(n.h, t, i)}$ through the layer's output")
            steps.append(Step(_sub(dh_, t, i), gs, None, _row(dh, d), note=note))
        else:
            dzn = _sub(dz_, t + 1, i)
            prod = times(_row(bw.dZ[sample, t], d), WhT)
            if ret == "last":
                note = (f"$t = {t}$: ${_sub(n.h, t, i)}$ reaches the loss only through "
                        f"${_sub(n.z, t + 1, i)}$" if t == T - 1 else f"$t = {t}$")
                dh = recurrent(g[sample, t - 1], bw.dZ[sample, t], Wh.T)
                steps.append(Step(_sub(dh_, t, i), rf"{dzn} {n.Wh}^{{T}}", prod, _row(dh, d),
                                  note=note))
            else:
                gv = _row(g[sample, t - 1], d)
                dh = recurrent(g[sample, t - 1], bw.dZ[sample, t], Wh.T)
                more: list[list[Piece]] = [[gv, "+", _row(product(bw.dZ[sample, t], Wh.T), d)]]
                steps.append(Step(_sub(dh_, t, i), rf"{gs} + {dzn} {n.Wh}^{{T}}",
                                  [gv, "+", *prod], _row(dh, d), more=more,
                                  note=f"$t = {t}$: from the output and from step {t + 1}"))
        dhv = _row(dh, d)
        zs, hs = _sub(n.z, t, i), _sub(n.h, t, i)
        if act == "linear":
            steps.append(Step(_sub(dz_, t, i), _sub(dh_, t, i), None, _row(dz, d)))
            continue
        f = rf"{_sub(dh_, t, i)} \odot " + ACT_DERIV[act].format(h=hs, z=zs)
        first, second = _derivative(act, dhv, fw.Z[sample, t - 1], fw.H[sample, t - 1], d)
        steps.append(Step(_sub(dz_, t, i), f, first, _row(dz, d), more=[second]))
    if "h0" in P:
        steps.append(Step(_sub(dh_, 0, i), rf"{_sub(dz_, 1, i)} {n.Wh}^{{T}}",
                          times(_row(bw.dZ[sample, 0], d), WhT), _row(bw.dh0[sample], d),
                          note="the initial state is a parameter: its gradient"))
    if m > 1:
        dH_, dZ_ = "d" + n.H, "d" + n.Z
        for t in range(T, 0, -1):
            if t == T:
                f = _sub(n.G, t)
            elif ret == "last":
                f = rf"{_sub(dZ_, t + 1)} {n.Wh}^{{T}}"
            else:
                f = rf"{_sub(n.G, t)} + {_sub(dZ_, t + 1)} {n.Wh}^{{T}}"
            note = "the whole batch, one row per sample" if t == T else ""
            dHt = bw.dH[:, t - 1] if t == T else recurrent(g[:, t - 1], bw.dZ[:, t], Wh.T)
            steps.append(Step(_sub(dH_, t), f, None, _mat(dHt, d), note=note))
            df = ACT_DERIV[act].format(h=_sub(n.H, t), z=_sub(n.Z, t))
            steps.append(Step(_sub(dZ_, t), rf"{_sub(dH_, t)} \odot {df}" if df else
                              _sub(dH_, t), None, _mat(bw.dZ[:, t - 1], d)))
    return steps


def grads(X: Any, params: Mapping[str, Any], grad: Any, fwd: engine.Forward | None = None,
          bwd: engine.Backward | None = None, *, act: str = "tanh", ret: str = "last",
          scale: float = 1.0, digits: int = 4, names: Names = Names(),
          layer: int | None = None) -> list[Step]:
    """The parameters' gradients: each step's contribution over the batch (X_t^T dZ_t,
    H_{t-1}^T dZ_t) with its numbers, then the sum over t written out, times `scale` (1/m for
    a mean batch loss) = the result; db as the sum of each step's column sums of dZ_t; dh_0
    (a parameter) as the sum of the samples' dh_0. With `layer` l, the batch gradients carry
    their JSON names (dWx{l}, dWh{l}, db{l}, dh0{l}) as keys."""

    def key(kind: str) -> str:
        return f"d{kind}{layer}" if layer is not None else ""

    X, P, fw = _passes(X, params, act, fwd)
    bw = bwd if bwd is not None else engine.backward(X, P, fw, grad, ret, act, scale)
    n, d = names, digits
    m, T, _ = X.shape
    pre = scale_tex(scale, m, d)
    lead = pre + " " if pre else ""
    # a batch's matrices X_t, H_t, dZ_t; one sample's rows x_t, h_t, dz_t
    Xn, Hn, dZ_ = (n.X, n.H, "d" + n.Z) if m > 1 else (n.x, n.h, "d" + n.z)
    steps: list[Step] = []
    if m == 1:
        mean = ""
    elif scale == 1:
        mean = f"; the batch loss adds up the {m} samples' losses, so the products add them up"
    else:
        mean = (f"; the batch loss is the mean over the {m} samples: the products add the "
                f"samples up and the sum is multiplied by ${pre}$")
    # dW_x: x_t feeds z_t through W_x at every step
    terms = []
    for t in range(1, T + 1):
        Xt, dZt = X[:, t - 1], bw.dZ[:, t - 1]
        c = product(Xt.T, dZt)
        terms.append(_mat(c, d))
        steps.append(Step(rf"{_sub(Xn, t)}^{{T}} {_sub(dZ_, t)}", None,
                          times(_mat(Xt.T, d), _mat(dZt, d)), _mat(c, d), asked=False,
                          note=(f"each step's contribution to $d{n.Wx}$, the weights shared by "
                                f"all steps" + mean) if t == 1 else ""))
    steps.append(Step("d" + n.Wx, rf"{lead}\sum_{{t=1}}^{{{T}}} {_sub(Xn, 't')}^{{T}} "
                      rf"{_sub(dZ_, 't')}", summed(terms, pre), _mat(bw.grads["Wx"], d),
                      shape=True, key=key("Wx")))
    # dW_h: h_{t-1} feeds z_t through W_h
    terms = []
    for t in range(1, T + 1):
        Hp = fw.h0 if t == 1 else fw.H[:, t - 2]
        dZt = bw.dZ[:, t - 1]
        c = product(Hp.T, dZt)
        terms.append(_mat(c, d))
        lhs = rf"{_sub(Hn, t - 1)}^{{T}} {_sub(dZ_, t)}"
        if t == 1 and "h0" not in P:
            steps.append(Step(lhs, None, None, _mat(c, d), asked=False,
                              note=f"each step's contribution to $d{n.Wh}$; "
                                   f"${_sub(Hn, 0)} = 0$ contributes nothing"))
            continue
        steps.append(Step(lhs, None, times(_mat(Hp.T, d), _mat(dZt, d)), _mat(c, d),
                          asked=False, note=f"each step's contribution to $d{n.Wh}$"
                          if t == 1 else ""))
    steps.append(Step("d" + n.Wh, rf"{lead}\sum_{{t=1}}^{{{T}}} {_sub(Hn, 't-1')}^{{T}} "
                      rf"{_sub(dZ_, 't')}", summed(terms, pre), _mat(bw.grads["Wh"], d),
                      shape=True, key=key("Wh")))
    # db: each step's column sums of dZ_t
    one = r"\mathbf{1}^{T}"
    terms = [_row(bw.dZ[:, t - 1].sum(axis=0), d) for t in range(1, T + 1)]
    f = (rf"{lead}\sum_{{t=1}}^{{{T}}} {one} {_sub(dZ_, 't')}" if m > 1 else
         rf"{lead}\sum_{{t=1}}^{{{T}}} {_sub(dZ_, 't')}")
    note = "each step's column sums of $dZ_t$ (one entry per unit), added up" if m > 1 else ""
    steps.append(Step("d" + n.b, f, summed(terms, pre), _row(bw.grads["b"], d), note=note,
                      key=key("b")))
    if "h0" in P:
        dh0 = [_row(bw.dh0[k], d) for k in range(m)]
        f = (rf"{lead}\sum_{{i=1}}^{{{m}}} d{n.h}^{{(i)}}_{{0}}" if m > 1 else
             f"{lead}d{n.h}_{{0}}")
        sub0: list[Piece] | None = None
        if m > 1:
            sub0 = summed(dh0, pre)
        elif pre:
            sub0 = [pre, dh0[0]]
        steps.append(Step(n.dh0, f, sub0,
                          _row(bw.grads["h0"], d), key=key("h0"),
                          note="the initial state's gradient, a parameter's"))
    return steps


def back(X: Any, params: Mapping[str, Any], grad: Any, fwd: engine.Forward | None = None,
         bwd: engine.Backward | None = None, *, act: str = "tanh", ret: str = "last",
         digits: int = 4, sample: int = 0, names: Names = Names()) -> list[Step]:
    """The gradient passed to the layer below: dx_t = dz_t W_x^T for sample `sample` with the
    numbers, each step; for a batch, dX_t as results."""
    X, P, fw = _passes(X, params, act, fwd)
    bw = bwd if bwd is not None else engine.backward(X, P, fw, grad, ret, act)
    n, d = names, digits
    m, T, _ = X.shape
    i = sample if m > 1 else None
    WxT = _mat(P["Wx"].T, d)
    steps = [Step(_sub("d" + n.x, t, i), rf"{_sub('d' + n.z, t, i)} {n.Wx}^{{T}}",
                  times(_row(bw.dZ[sample, t - 1], d), WxT), _row(bw.dX[sample, t - 1], d),
                  asked=False, note="the gradient passed to the layer below, each step"
                  if t == 1 else "") for t in range(1, T + 1)]
    if m > 1:
        steps += [Step(_sub("d" + n.X, t), rf"{_sub('d' + n.Z, t)} {n.Wx}^{{T}}", None,
                       _mat(bw.dX[:, t - 1], d), asked=False) for t in range(1, T + 1)]
    return steps
