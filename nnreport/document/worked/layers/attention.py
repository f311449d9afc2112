"""The attention layer's worked lines (issue 26): single-head scaled dot-product
self-attention, forward and backward, as a student writes them for one sample.

    Q = X W_q,  K = X W_k,  V = X W_v,  S = Q K^T / sqrt(d_k) (+ M, the causal mask)
    A_i = e^{S_i - max_j S_ij} / sum_j e^{S_ij - max_j S_ij}     (row by row)
    H = A V
    dV = A^T dH,  dA = dH V^T,  dS_i = A_i (.) (dA_i - sum_j dA_ij A_ij)   (row by row)
    dQ = dS K / sqrt(d_k),  dK = dS^T Q / sqrt(d_k)
    dW_q = s sum_i X^(i)T dQ^(i), and the same for W_k (dK) and W_v (dV)

One sample is worked in full (its X is tokens x features), every product with its numbers,
the softmax with each row's exponentials and their sum, its backward with each row's sum;
the weights' gradients add the samples' products up, times `scale` (1/m for a mean batch
loss). Masked scores (causal) print as -infinity, their exponentials and weights as 0.

Functions of plain arrays (X [samples, tokens, features], the parameters by kind as
engine/layers/attention.py takes them), names and digits, returning Steps; the values are the
engine's (its Forward and Backward, computed here when not given). Not registered as a layer
type: wrapping them as a WorkedLayer of (Ctx, l) waits for the layer protocol (issue 24).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ....engine.layers import attention as engine
from ....render.numbers import fmt
from ...lines import applied
from ...steps import Piece, Step, Val
from .rnn import product, scale_tex, shown, summed, times


@dataclass(frozen=True)
class Names:
    X: str = "X"
    Q: str = "Q"
    K: str = "K"
    V: str = "V"
    S: str = "S"
    A: str = "A"
    H: str = "H"
    E: str = "e"  # a row's exponentials
    M: str = "M"  # the causal mask
    Wq: str = "W_{q}"
    Wk: str = "W_{k}"
    Wv: str = "W_{v}"


def _mat(a: np.ndarray, d: int) -> Val:
    a = shown(a)
    return Val(a if a.ndim == 2 else a.reshape(1, -1), d)


def _row(a: np.ndarray, d: int) -> Val:
    return Val(shown(a).reshape(-1), d)


def _root(d_k: int) -> str:
    return rf"\sqrt{{{d_k}}}"


def _passes(X: Any, params: Mapping[str, Any], causal: bool, fwd: engine.Forward | None
            ) -> tuple[np.ndarray, dict[str, np.ndarray], engine.Forward]:
    X = np.asarray(X, dtype=float)
    P = {k: np.asarray(params[k], dtype=float) for k in engine.KINDS}
    return X, P, fwd if fwd is not None else engine.forward(X, P, causal)


def qkv(X: np.ndarray, P: Mapping[str, np.ndarray], i: int) -> tuple[np.ndarray, ...]:
    """Sample i's Q, K, V as the lines show them: X W of the values as they read, exactly, to
    the nearest float (1 (-0.3) + 0.5 (0.4) is -0.1; the engine's float -0.09999999999999998
    would print -0.1000)."""
    return tuple(product(X[i], P[k]) for k in engine.KINDS)


def formula(causal: bool = False, names: Names = Names()) -> str:
    """H = softmax(Q K^T / sqrt(d_k)) V with Q = X W_q ..., for the conventions sentence."""
    n = names
    mask = f" + {n.M}" if causal else ""
    return (rf"{n.H} = \operatorname{{softmax}}\left(\frac{{{n.Q} {n.K}^{{T}}}}"
            rf"{{\sqrt{{d_k}}}}{mask}\right) {n.V},\quad {n.Q} = {n.X} {n.Wq},\ "
            rf"{n.K} = {n.X} {n.Wk},\ {n.V} = {n.X} {n.Wv}")


def conventions(causal: bool = False, names: Names = Names()) -> str:
    """The conventions sentence of an attention layer (LaTeX text with inline math)."""
    mask = (r"; causal: token $i$ attends to tokens $j \le i$ only ($M_{ij} = -\infty$ "
            r"for $j > i$, else 0)" if causal else "")
    return (f"${formula(causal, names)}$, each sample's tokens the rows of ${names.X}$; the "
            "softmax is taken along each row, shifted by the row's largest score" + mask + ".")


def forward(X: Any, params: Mapping[str, Any], fwd: engine.Forward | None = None, *,
            causal: bool = False, digits: int = 4, sample: int = 0,
            names: Names = Names()) -> list[Step]:
    """Sample `sample` in full: Q, K, V with the numbers; Q K^T; S (with the mask added when
    causal); each row's largest score (in its note), exponentials, their sum and weights A_i;
    A; H = A V."""
    X, P, fw = _passes(X, params, causal, fwd)
    n, d, i = names, digits, sample
    m, T, _ = X.shape
    x = X[i]
    Xv = _mat(x, d)
    steps: list[Step] = []
    who = (f"sample {i + 1} of the batch: ${n.X}$ holds its {T} tokens, one per row"
           if m > 1 else f"${n.X}$ holds the {T} tokens, one per row")
    shown_qkv = qkv(X, P, i)
    Qs, Ks, Vs = shown_qkv
    for k, (name, W) in enumerate(((n.Q, n.Wq), (n.K, n.Wk), (n.V, n.Wv))):
        kind = "W" + "qkv"[k]
        val = shown_qkv[k]
        steps.append(Step(name, f"{n.X} {W}", times(Xv, _mat(P[kind], d)), _mat(val, d),
                          shape=True, note=who if k == 0 else ""))
    dk = fw.d_k
    QK = product(Qs, Ks.T)
    steps.append(Step(rf"{n.Q} {n.K}^{{T}}", None,
                      times(_mat(Qs, d), _mat(Ks.T, d)), _mat(QK, d), asked=False))
    frac = rf"\frac{{1}}{{{_root(dk)}}}"
    f = rf"\frac{{{n.Q} {n.K}^{{T}}}}{{\sqrt{{d_k}}}}"
    sub: list[Piece] = [frac, _mat(QK, d)]
    note = rf"the scores, scaled by $\sqrt{{d_k}} = {_root(dk)}$"
    if fw.mask is not None:
        f += f" + {n.M}"
        sub += ["+", _mat(np.where(fw.mask, 0.0, -np.inf), d)]
        note += (rf"; causal: the mask ${n.M}$ sets the scores of later tokens ($j > i$) to "
                 r"$-\infty$")
    steps.append(Step(n.S, f, sub, _mat(fw.S[i], d), shape=True, note=note))
    for r in range(T):
        steps += softmax_row(fw, i, r, d, names)
    steps.append(Step(n.A, rf"\operatorname{{softmax}}\left({n.S}\right)", None,
                      _mat(fw.A[i], d), shape=True,
                      note="the rows above, stacked: each row adds up to 1"))
    steps.append(Step(n.H, f"{n.A} {n.V}", times(_mat(fw.A[i], d), _mat(Vs, d)),
                      _mat(product(fw.A[i], Vs), d), shape=True))
    return steps


def softmax_row(fw: engine.Forward, i: int, r: int, d: int, names: Names = Names()
                ) -> list[Step]:
    """Row r of sample i's softmax: its exponentials shifted by the row's largest score, their
    sum, and the weights."""
    n = names
    k = r + 1
    s, mx, e, tot = fw.S[i, r], float(fw.rowmax[i, r]), fw.E[i, r], float(fw.rowsum[i, r])
    shifted = s - mx  # -inf stays -inf
    top = fmt(mx, d)
    note = (rf"row {k} (token {k}): the largest score is $\max_j {n.S}_{{{k}j}} = {top}$")
    if fw.mask is not None and k < len(s):
        note += r"; the masked scores' exponentials are $e^{-\infty} = 0$"
    sub: list[Piece] = [r"\exp\left(", _row(s, d), ("+ " + top[1:] if top.startswith("-")
                                                    else "- " + top) + r"\right)"]
    if mx == 0:
        sub = [applied(r"\exp\left({}\right)", _row(s, d))]
    more: list[list[Piece]] = (
        [[applied(r"\exp\left({}\right)", _row(shifted, d))]] if mx != 0 else [])
    en = f"{n.E}_{{{k}}}"
    steps = [Step(en, rf"e^{{{n.S}_{{{k}}} - \max_j {n.S}_{{{k}j}}}}", sub, _row(e, d),
                  note=note, more=more, asked=False)]
    terms = [fmt(float(v), d) for v, keep in zip(e, _kept(fw, r, len(e)), strict=True) if keep]
    steps.append(Step(rf"\textstyle\sum_{{j}} {n.E}_{{{k}j}}", None,
                      [terms[0], *("+ " + t for t in terms[1:])] if len(terms) > 1 else None,
                      Val(tot, d), asked=False, keep=True))
    steps.append(Step(f"{n.A}_{{{k}}}", rf"\frac{{{en}}}{{\sum_{{j}} {n.E}_{{{k}j}}}}",
                      [rf"\frac{{1}}{{{fmt(tot, d)}}}", _row(e, d)], _row(fw.A[i, r], d),
                      keep=True))
    return steps


def _kept(fw: engine.Forward, r: int, n: int) -> list[bool]:
    """The entries of row r that are not masked."""
    return [True] * n if fw.mask is None else [bool(v) for v in fw.mask[r]]


def backward(X: Any, params: Mapping[str, Any], dH: Any, fwd: engine.Forward | None = None,
             bwd: engine.Backward | None = None, *, causal: bool = False, digits: int = 4,
             sample: int = 0, names: Names = Names()) -> list[Step]:
    """Sample `sample` from its dH: dV = A^T dH, dA = dH V^T with the numbers; each row of dS
    in the Jacobian form with its sum sum_j dA_ij A_ij; dS; dQ = dS K / sqrt(d_k) and
    dK = dS^T Q / sqrt(d_k) with the numbers."""
    X, P, fw = _passes(X, params, causal, fwd)
    bw = bwd if bwd is not None else engine.backward(X, P, fw, dH, 1.0)
    n, d, i = names, digits, sample
    m, T, _ = X.shape
    dHi = np.asarray(dH, dtype=float)[i]
    A = fw.A[i]
    Qs, Ks, V = qkv(X, P, i)
    dA = product(dHi, V.T)
    dA_, dS_ = "d" + n.A, "d" + n.S
    who = f"sample {i + 1}: " if m > 1 else ""
    steps = [Step("d" + n.V, rf"{n.A}^{{T}} d{n.H}", times(_mat(A.T, d), _mat(dHi, d)),
                  _mat(product(A.T, dHi), d), note=who + f"backwards from $d{n.H}$, the gradient of the "
                  f"loss with respect to the layer's output ${n.H}$"),
             Step(dA_, rf"d{n.H} {n.V}^{{T}}", times(_mat(dHi, d), _mat(V.T, d)),
                  _mat(dA, d), asked=False)]
    for r in range(T):
        k = r + 1
        keep = _kept(fw, r, T)
        pairs = [(float(dA[r, j]), float(A[r, j])) for j in range(T) if keep[j]]
        terms = []
        for a, b in pairs:
            bb = fmt(b, d)
            terms.append(f"{fmt(a, d)} \\cdot " + (rf"\left({bb}\right)" if bb.startswith("-")
                                                   else bb))
        pieces: list[Piece] = [terms[0]]
        pieces += [("- " + t[1:]) if t.startswith("-") else "+ " + t for t in terms[1:]]
        dot = float(bw.rowdot[i, r])
        note = (rf"row {k} through its softmax: ${dS_}_{{{k}}} = {n.A}_{{{k}}} \odot "
                rf"\left({dA_}_{{{k}}} - \sum_j {dA_}_{{{k}j}} {n.A}_{{{k}j}}\right)$")
        if fw.mask is not None and k < T:
            note += "; the masked entries have weight 0 and add nothing"
        steps.append(Step(rf"\textstyle\sum_{{j}} {dA_}_{{{k}j}} {n.A}_{{{k}j}}", None, pieces,
                          Val(dot, d), note=note, asked=False))
        shifted = dA[r] - dot
        top = fmt(dot, d)
        minus = ("+ " + top[1:]) if top.startswith("-") else "- " + top
        sub: list[Piece] = [_row(A[r], d), r"\odot \left(", _row(dA[r], d),
                            minus + r"\right)"]
        more: list[list[Piece]] = [[_row(A[r], d), r"\odot", _row(shifted, d)]]
        steps.append(Step(f"{dS_}_{{{k}}}", rf"{n.A}_{{{k}}} \odot \left({dA_}_{{{k}}} - "
                          rf"\textstyle\sum_j {dA_}_{{{k}j}} {n.A}_{{{k}j}}\right)", sub,
                          _row(bw.dS[i, r], d), more=more, keep=True))
    steps.append(Step(dS_, None, None, _mat(bw.dS[i], d), shape=True,
                      note="the rows above, stacked" + (" (0 where masked)"
                                                        if fw.mask is not None else "")))
    dk = fw.d_k
    frac = rf"\frac{{1}}{{{_root(dk)}}}"
    steps.append(Step("d" + n.Q, rf"\frac{{{dS_} {n.K}}}{{\sqrt{{d_k}}}}",
                      [frac, *times(_mat(bw.dS[i], d), _mat(Ks, d))], _mat(bw.dQ[i], d),
                      more=[[frac, _mat(product(bw.dS[i], Ks), d)]]))
    steps.append(Step("d" + n.K, rf"\frac{{{dS_}^{{T}} {n.Q}}}{{\sqrt{{d_k}}}}",
                      [frac, *times(_mat(bw.dS[i].T, d), _mat(Qs, d))], _mat(bw.dK[i], d),
                      more=[[frac, _mat(product(bw.dS[i].T, Qs), d)]]))
    return steps


MAX_SUMMED = 4  # samples whose matrices a batch gradient's sum writes out


def grads(X: Any, params: Mapping[str, Any], dH: Any, fwd: engine.Forward | None = None,
          bwd: engine.Backward | None = None, *, causal: bool = False, scale: float = 1.0,
          digits: int = 4, sample: int = 0, names: Names = Names(),
          layer: int | None = None, coupled: bool = False) -> list[Step]:
    """dW_q = X^T dQ, dW_k = X^T dK, dW_v = X^T dV for sample `sample` with the numbers; for a
    batch, the sum over the samples' matrices (written out up to MAX_SUMMED samples) times
    `scale` = the batch gradient. With `layer` l, the batch gradients carry their JSON names
    (dWq{l}, dWk{l}, dWv{l}) as keys. `coupled`: a layer above mixes the samples (batch
    normalisation), so sample i's product is its term of the sum, not dL_i/dW."""
    X, P, fw = _passes(X, params, causal, fwd)
    bw = bwd if bwd is not None else engine.backward(X, P, fw, dH, scale)
    n, d, i = names, digits, sample
    m = X.shape[0]
    pre = scale_tex(scale, m, d)
    lead = pre + " " if pre else ""
    steps: list[Step] = []
    for k, (W, dP) in enumerate(((n.Wq, n.Q), (n.Wk, n.K), (n.Wv, n.V))):
        kind = "W" + "qkv"[k]
        dPi = (bw.dQ, bw.dK, bw.dV)[k][i]
        batch = m > 1 or scale != 1  # a batch line follows: this one is sample i's
        lhs = rf"\frac{{\partial L_{{{i + 1}}}}}{{\partial {W}}}" if batch else f"d{W}"
        f: str | None = (rf"{n.X}^{{({i + 1})T}} d{dP}^{{({i + 1})}}" if m > 1 else
                         rf"{n.X}^{{T}} d{dP}")
        if coupled and m > 1:  # sample i's term of the sum: no loss of its own
            lhs, f = f or lhs, None
        note = ""
        if k == 0 and m > 1:
            note = (f"sample {i + 1}'s term of the sum below (a layer above normalises over "
                    "the batch: a sample's gradient is not its own)" if coupled else
                    f"sample {i + 1}'s gradients of the weights")
        steps.append(Step(lhs, f, times(_mat(X[i].T, d), _mat(dPi, d)),
                          _mat(bw.per_sample[kind][i], d), note=note,
                          key=f"d{kind}{layer}" if layer is not None and not batch else ""))
        if not batch:
            continue
        fsum = (rf"{lead}\sum_{{i=1}}^{{{m}}} {n.X}^{{(i)T}} d{dP}^{{(i)}}" if m > 1
                else rf"{lead}{n.X}^{{T}} d{dP}")
        sub: list[Piece] | None = None
        if 1 < m <= MAX_SUMMED:
            sub = summed([_mat(bw.per_sample[kind][s], d) for s in range(m)], pre)
        elif m == 1:
            sub = [pre, _mat(bw.per_sample[kind][0], d)]
        note = ""
        if k == 0:
            note = (f"the batch: the {m} samples' gradients added up" +
                    (f" and multiplied by ${pre}$" if pre else "") if m > 1 else
                    f"the batch loss's factor ${pre}$")
        steps.append(Step("d" + W, fsum, sub, _mat(bw.grads[kind], d), shape=True, note=note,
                          key=f"d{kind}{layer}" if layer is not None else ""))
    return steps


def back(X: Any, params: Mapping[str, Any], dH: Any, fwd: engine.Forward | None = None,
         bwd: engine.Backward | None = None, *, causal: bool = False, digits: int = 4,
         sample: int = 0, names: Names = Names()) -> list[Step]:
    """dX = dQ W_q^T + dK W_k^T + dV W_v^T for sample `sample`, with the numbers and each
    path's product."""
    X, P, fw = _passes(X, params, causal, fwd)
    bw = bwd if bwd is not None else engine.backward(X, P, fw, dH, 1.0)
    n, d, i = names, digits, sample
    steps: list[Step] = []
    parts: list[Piece] = []
    for k, (dP, W) in enumerate(((n.Q, "Wq"), (n.K, "Wk"), (n.V, "Wv"))):
        dPi = (bw.dQ, bw.dK, bw.dV)[k][i]
        Wn = (n.Wq, n.Wk, n.Wv)[k]
        prod = product(dPi, P[W].T)
        steps.append(Step(rf"d{dP} {Wn}^{{T}}", None, times(_mat(dPi, d), _mat(P[W].T, d)),
                          _mat(prod, d), asked=False,
                          note=f"the gradient passed to the layer below: ${n.X}$ feeds "
                               f"${n.Q}$, ${n.K}$ and ${n.V}$, one product each" if k == 0
                          else ""))
        parts += ([] if k == 0 else ["+"]) + [_mat(prod, d)]
    f = (rf"d{n.Q} {n.Wq}^{{T}} + d{n.K} {n.Wk}^{{T}} + d{n.V} {n.Wv}^{{T}}")
    steps.append(Step("d" + n.X, f, parts, _mat(bw.dX[i], d), asked=False, keep=True))
    return steps
