"""The recurrent and attention layers as registered worked layers (issue 26): the lines of
rnn.py and attention.py (functions of plain arrays) called with the solved problem's arrays
(Ctx: the layer's input H_{l-1} [samples, steps, features], its parameters, its configuration,
display names and digits), and the graded values they lead to.

A 3-D value [samples, steps, units] (the rnn's Z, H, dZ, dH; attention's Q, K, V, S, A, H) is
graded as ONE value under its JSON name (Z1, Q1 ...): the key shows it one sample at a time,
each a steps x units matrix (Z_1, or Z_1^{(i)} for sample i of a batch) on a line carrying the
name, so the question sheet has a box per sample, the value's points are shared among them, and
`check` and the LMS exports compare the whole value entry by entry. A causal mask's scores
(-infinity, null in the JSON) are not answers: check and the exports leave those entries out.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ...steps import Step, Val
from ..base import Ctx
from . import attention, rnn


def short(a: Any) -> np.ndarray:
    """Values as the lines above print them: a float a few ulps from a short decimal (the
    engine's -0.19999999999999998 for x W + b = -0.2) is that decimal."""
    a = rnn.shown(a)
    out = np.array([float(f"{x:.12g}") if np.isfinite(x) else x for x in a.ravel()])
    return out.reshape(a.shape)


def _per_sample(c: Ctx, lhs: str, formula: str | None, value: Any, key: str,
                note: str = "", asked: bool = True) -> list[Step]:
    """A 3-D value one sample at a time, each line carrying the value's name."""
    a = np.asarray(value, dtype=float)
    out = []
    for i in range(a.shape[0]):
        name = lhs if a.shape[0] == 1 else rf"{lhs}^{{({i + 1})}}"
        if formula and a.shape[0] > 1:  # sample i's rows: z^{(i)}_t
            formula = re.sub(r"(\^\{\(\d+\)\})?_\{(\d+)\}", rf"^{{({i + 1})}}_{{\2}}", formula)
        out.append(Step(name, formula, None, Val(short(a[i]), c.dig(key)), key=key,
                        shape=True, note=note if i == 0 else "", asked=asked, at=(i,)))
    return out


def _stacked(base: str, T: int) -> str:
    """The steps' rows stacked: [z_1; z_2; ...; z_T]."""
    rows = [f"{base}_{{{t}}}" for t in range(1, T + 1)]
    if T > 5:
        rows = rows[:3] + [r"\vdots", rows[-1]]
    return r"\begin{bmatrix}" + r" \\ ".join(rows) + r"\end{bmatrix}"


STEP = r"{{{}^{{\langle # \rangle}}}}"  # a batch's matrix at step #


# --- the recurrent layer -------------------------------------------------------------------

def _rnn(c: Ctx, l: int) -> tuple[np.ndarray, dict[str, np.ndarray], str, str, rnn.Names]:
    cfg = c.cfg(l)
    X = np.asarray(c.H(l - 1), dtype=float)
    P = {k: np.asarray(c.s.params[f"{k}{l}"], dtype=float) for k in ("Wx", "Wh", "b", "h0")
         if f"{k}{l}" in c.s.params}
    names = rnn.Names(Wx=c.n(f"Wx{l}"), Wh=c.n(f"Wh{l}"), b=c.n(f"b{l}"),
                      h0=c.n(f"h0{l}"), dh0=c.n.d(f"h0{l}"))
    if X.shape[0] > 1:  # a batch's step matrices X^<t>, Z^<t> ...: Z_1, H_2 are layers'
        names = rnn.Names(X=STEP.format("X"), H=STEP.format("H"), Z=STEP.format("Z"),
                          G=STEP.format("G"), Wx=names.Wx, Wh=names.Wh, b=names.b,
                          h0=names.h0, dh0=names.dh0)
    return X, P, cfg.get("activation", "tanh"), cfg.get("return", "last"), names


def _upstream(c: Ctx, l: int) -> np.ndarray:
    """The gradient of the loss with respect to the layer's output (h_T, or every h_t): the
    network's dZ_l (the network applies no activation after an rnn)."""
    return np.asarray(c.sol.step.dZ[l - 1], dtype=float)


def rnn_formula(c: Ctx, l: int) -> str:
    X, P, act, ret, names = _rnn(c, l)
    return rnn.formula(act, names)


def rnn_forward(c: Ctx, l: int) -> list[Step]:
    X, P, act, ret, names = _rnn(c, l)
    steps = rnn.forward(X, P, act=act, digits=c.digits, names=names)
    v, T = c.sol.step.values, X.shape[1]
    steps += _per_sample(c, c.n(f"Z{l}"), _stacked(names.z, T), v[f"Z{l}"], f"Z{l}",
                         "the steps' pre-activations stacked, one row per step")
    steps += _per_sample(c, c.n(f"H{l}"), _stacked(names.h, T), v[f"H{l}"],
                         f"H{l}" if l < c.L else "yhat",
                         "the states stacked, one row per step" + (
                             f"; the layer passes on the last row, ${names.h}_{{{T}}}$"
                             if ret == "last" else "; the layer passes on every row"))
    return steps


def rnn_grads(c: Ctx, l: int) -> list[Step]:
    X, P, act, ret, names = _rnn(c, l)
    g = _upstream(c, l)
    m, T = X.shape[0], X.shape[1]
    scale = 1.0 / m if c.s.reduction == "mean" else 1.0
    steps = rnn.bptt(X, P, g, act=act, ret=ret, digits=c.digits, names=names)
    v = c.sol.step.values
    steps += _per_sample(c, c.n(f"dH{l}"), _stacked("d" + names.h, T), v[f"dH{l}"], f"dH{l}",
                         "the gradients of the states stacked, one row per step")
    steps += _per_sample(c, c.n(f"dZ{l}"), _stacked("d" + names.z, T), v[f"dZ{l}"], f"dZ{l}",
                         "the gradients of the pre-activations stacked, one row per step")
    out = rnn.grads(X, P, g, act=act, ret=ret, scale=scale, digits=c.digits, names=names,
                    layer=l)
    return steps + _with_l2(c, out)


def _with_l2(c: Ctx, steps: list[Step]) -> list[Step]:
    """With L2, each decayed parameter's gradient line is followed by its penalty term."""
    if not c.s.l2:
        return steps
    out = []
    for st in steps:
        key = st.key[1:] if st.key.startswith("d") else ""
        if key in c.s.params and key in (c.sol.step.grads or {}) and key[:2] in ("Wx", "Wh",
                                                                               "Wq", "Wk", "Wv"):
            st.key, st.asked = "", False
            st.lhs += r"^{\text{data}}"  # the data loss's part; the line below adds L2's
            out.append(st)
            name = c.n(key)
            out.append(c.step(c.n.d(key), rf"{st.lhs} + \frac{{\lambda}}{{{c.m}}} {name}",
                              [st.result, rf"+ \frac{{{c.s.l2:g}}}{{{c.m}}}",
                               c.v(c.s.params[key])] if st.result is not None else None,
                              c.sol.step.grads[key], key=f"d{key}",
                              note="plus the L2 term"))
        else:
            out.append(st)
    return out


def rnn_back(c: Ctx, l: int) -> list[Step]:
    X, P, act, ret, names = _rnn(c, l)
    steps = rnn.back(X, P, _upstream(c, l), act=act, ret=ret, digits=c.digits, names=names)
    dX = np.asarray(c.sol.named.get(f"dH{l - 1}", np.zeros_like(X)), dtype=float)
    if dX.shape == X.shape:
        steps += _per_sample(c, c.n(f"dH{l - 1}"), _stacked("d" + names.x, X.shape[1]), dX,
                             f"dH{l - 1}", "", asked=False)
    return steps


# --- attention -----------------------------------------------------------------------------

def _att(c: Ctx, l: int) -> tuple[np.ndarray, dict[str, np.ndarray], bool, attention.Names]:
    X = np.asarray(c.H(l - 1), dtype=float)
    P = {k: np.asarray(c.s.params[f"{k}{l}"], dtype=float) for k in ("Wq", "Wk", "Wv")}
    names = attention.Names(X=c.n(f"H{l - 1}"), H=c.n(f"H{l}"), Wq=c.n(f"Wq{l}"),
                            Wk=c.n(f"Wk{l}"), Wv=c.n(f"Wv{l}"))
    return X, P, bool(c.cfg(l).get("causal", False)), names


def attention_formula(c: Ctx, l: int) -> str:
    X, P, causal, names = _att(c, l)
    return attention.formula(causal, names)


KINDS = ("Q", "K", "V", "S", "A", "H")


def attention_forward(c: Ctx, l: int) -> list[Step]:
    X, P, causal, names = _att(c, l)
    steps = attention.forward(X, P, causal=causal, digits=c.digits, names=names)
    keys = {getattr(names, k): (f"{k}{l}" if k != "H" else c.hkey(l) or f"H{l}")
            for k in KINDS}
    for st in steps:
        if st.lhs in keys:  # sample 1's value: part (0,) of the [samples, tokens, d] value
            st.key, st.at = keys[st.lhs], (0,)
            st.result = Val(st.result.value, c.dig(st.key)) if st.result is not None else None
    m = X.shape[0]
    if m > 1:  # the other samples' values, as results
        v = c.sol.step.values
        for k in KINDS:
            key = keys[getattr(names, k)]
            a = np.asarray(v[key] if key in v else c.H(l), dtype=float)
            for i in range(1, m):
                steps.append(Step(rf"{getattr(names, k)}^{{({i + 1})}}", None, None,
                                  Val(short(a[i]), c.dig(key)), key=key, shape=True,
                                  note=f"sample {i + 1}" if k == "Q" else "", at=(i,)))
    return steps


def _att_dH(c: Ctx, l: int) -> np.ndarray:
    return np.asarray(c.sol.step.dZ[l - 1], dtype=float)


def attention_grads(c: Ctx, l: int) -> list[Step]:
    X, P, causal, names = _att(c, l)
    dH = _att_dH(c, l)
    m = X.shape[0]
    scale = 1.0 / m if c.s.reduction == "mean" else 1.0
    steps: list[Step] = []
    for i in range(m):
        steps += attention.backward(X, P, dH, causal=causal, digits=c.digits, sample=i,
                                    names=names)
    coupled = any(getattr(c.layer_type(k), "couples", False) for k in range(l + 1, c.L + 1))
    out = attention.grads(X, P, dH, causal=causal, scale=scale, digits=c.digits,
                          names=names, layer=l, coupled=coupled)
    return steps + _with_l2(c, out)


def attention_back(c: Ctx, l: int) -> list[Step]:
    X, P, causal, names = _att(c, l)
    dH = _att_dH(c, l)
    steps: list[Step] = []
    for i in range(X.shape[0]):
        part = attention.back(X, P, dH, causal=causal, digits=c.digits, sample=i, names=names)
        if X.shape[0] > 1:
            part[-1].lhs = rf"d{names.X}^{{({i + 1})}}"
        if l > 1:
            part[-1].key, part[-1].at = f"dH{l - 1}", (i,)
        steps += part
    return steps
