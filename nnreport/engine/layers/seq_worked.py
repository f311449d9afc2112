"""The sequence layers' worked lines along a rounding path (engine/worked.py, engine/chain.py):
the recurrent and the attention layer compute exactly what their key's lines substitute
(document/worked/layers/rnn.py, attention.py, sequences.py), every printed number passing
through the path's rounder as the line prints it.

The rnn is worked for the first sample step by step: z_t from x_t W_x and h_{t-1} W_h printed
(rounded) before they are added; the batch's matrices Z^<t>, H^<t>, dH^<t>, dZ^<t> are results,
so the other samples' rows come from the printed matrices without intermediate products. The
recurrence carries each step's printed h_t, dz_t (the problem's digits, as the step's lines
print them); the stacked JSON values (Z{l}, H{l}, dZ{l}, dH{l}) are kept from them. Backward
starts from G_l, the gradient that reaches the layer's output, as its line prints it; each
step's contribution X_t^T dZ_t (and H_{t-1}^T dZ_t, the column sums of dZ_t) is printed and
summed.

Attention is worked for the first sample forward (Q K^T printed before the 1/sqrt(d_k), which
the line writes as a fraction and a calculator takes as it is; each row's shifted scores,
exponentials and their sum), the other samples' Q ... A, H as results; backward for every
sample (dV, dA, each row's sum_j dA_ij A_ij, dA - that sum, dS, dS K and dS^T Q before the
1/sqrt(d_k), dQ, dK), each sample's X^T dQ ... summed for the batch; the gradient passed down
as dQ W_q^T + dK W_k^T + dV W_v^T, each product printed."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..functions import ACTIVATIONS

Array = np.ndarray
Keep = Any  # engine/layers Keep: (name, value) -> the value as the path carries it


NOISE = 1e-12  # relative to the terms' size: below it, a sum's value is its float noise


def _mm(a: Array, b: Array) -> Array:
    """a @ b, an entry whose terms cancel exactly (-0.22 (0.1) + 0.11 (0.2)) 0 as a calculator
    gives it, not the float noise 8.6e-19 (which would print and be carried)."""
    out = a @ b
    return np.where(np.abs(out) <= NOISE * (np.abs(a) @ np.abs(b)), 0.0, out)


def _add(*terms: Array) -> Array:
    """A sum of terms, exact cancellation 0 (as _mm)."""
    out = sum(terms[1:], terms[0])
    size = sum((np.abs(t) for t in terms[1:]), np.abs(terms[0]))
    return np.where(np.abs(out) <= NOISE * size, 0.0, out)


def _scale(g: Array, scale: float) -> Array:
    return g if scale == 1 else scale * g


def _l2(g: Array, P: dict[str, Array], name: str, l2: float, m: int, c: Keep) -> Array:
    """The data loss's gradient, printed on its line, plus (lambda/m) W (sequences._with_l2:
    lambda as given)."""
    if not l2:
        return g
    return c(f"d{name}|data", g) + (l2 / m) * P[name]


class RnnWorked:
    """Mixed in before Configured (class Rnn(RnnWorked, Configured, RnnType)). A bound layer
    is used for one path: worked_forward keeps its steps for worked_backward, which keeps dZ
    for worked_back."""

    cfg: dict[str, Any]
    _steps: tuple[Array, Array, list[Array], list[Array]]
    _dZ: Array

    def _tag(self, l: int, what: str, t: int | None = None) -> str:
        return f"rnn{l}.{what}" + ("" if t is None else f"<{t}>")

    def worked_forward(self, h: Array, P: dict[str, Array], l: int, keep: Keep, c: Keep
                       ) -> Array:
        act = ACTIVATIONS[self.cfg["activation"]]
        X, Wx, Wh = h, P[f"Wx{l}"], P[f"Wh{l}"]
        b = np.reshape(P[f"b{l}"], (1, -1))
        m, T, _ = X.shape
        U = Wx.shape[1]
        zero = f"h0{l}" not in P
        h0 = np.zeros((m, U)) if zero else np.repeat(np.reshape(P[f"h0{l}"], (1, U)), m, 0)
        Zs: list[Array] = []
        Hs: list[Array] = []
        hp = h0
        for t in range(1, T + 1):
            z = _add(X[:, t - 1] @ Wx, hp @ Wh, b + 0 * hp)  # the batch's Z^<t>: a result
            xw = c(self._tag(l, "xWx", t), _mm(X[0, t - 1], Wx))  # sample 1: each product
            hw = (0 * xw if zero and t == 1 else  # printed; h_0 = 0: no recurrent term
                  c(self._tag(l, "hWh", t), _mm(hp[0], Wh)))
            z[0] = _add(xw, hw, b[0])
            z = c(self._tag(l, "z", t), z)
            hp = z if self.cfg["activation"] == "linear" else c(self._tag(l, "h", t), act(z))
            Zs.append(z)
            Hs.append(hp)
        keep(f"Z{l}", np.stack(Zs, axis=1))
        H = keep(f"H{l}", np.stack(Hs, axis=1))
        self._steps = (X, h0, Zs, Hs)
        return H[:, -1] if self.cfg["return"] == "last" else H

    def _dz(self, l: int, t: int, dh: Array, z: Array, hs: Array, c: Keep) -> Array:
        """dz_t = dh_t (.) f'(z_t): sample 1's f'(z_t) printed on its own line, the batch's a
        result's factor."""
        a = self.cfg["activation"]
        if a == "linear":
            return dh
        if a == "relu":  # 1[z > 0]: exact
            return c(self._tag(l, "dz", t), dh * (z > 0))
        der = 1 - hs * hs if a == "tanh" else hs * (1 - hs)
        d0 = c(self._tag(l, "der", t), der[0])
        dz = dh * der
        dz[0] = dh[0] * d0
        return c(self._tag(l, "dz", t), dz)

    def worked_backward(self, h: Array, dz: Array, P: dict[str, Array], l: int, m: int,
                        scale: float, l2: float, per_sample: bool, units: tuple[int, ...],
                        keep: Keep, c: Keep) -> dict[str, Array]:
        X, h0, Zs, Hs = self._steps
        T, U = len(Zs), h0.shape[1]
        Wh = P[f"Wh{l}"]
        g = c(f"G{l}", dz)  # the gradient reaching the output, as its line prints it
        G = g if self.cfg["return"] == "sequence" else np.zeros((m, T, U))
        if self.cfg["return"] == "last":
            G[:, -1] = g
        dH: list[Array] = [np.empty(0)] * T
        dZ: list[Array] = [np.empty(0)] * T
        for t in range(T, 0, -1):
            if t == T:
                dh = G[:, t - 1]
            elif self.cfg["return"] == "last":  # dz_{t+1} W_h^T
                dh = c(self._tag(l, "dh", t), _mm(dZ[t], Wh.T))
            else:  # g_t + dz_{t+1} W_h^T, sample 1's product printed
                dh = _add(G[:, t - 1], dZ[t] @ Wh.T)
                dh[0] = _add(G[0, t - 1], c(self._tag(l, "dzWh", t), _mm(dZ[t][0], Wh.T)))
                dh = c(self._tag(l, "dh", t), dh)
            dH[t - 1] = dh
            dZ[t - 1] = self._dz(l, t, dh, Zs[t - 1], Hs[t - 1], c)
        keep(f"dH{l}", np.stack(dH, axis=1))
        self._dZ = keep(f"dZ{l}", np.stack(dZ, axis=1))
        prev = [h0, *Hs[:-1]]
        grads: dict[str, Array] = {}
        for kind, ins in (("Wx", [X[:, t] for t in range(T)]), ("Wh", prev)):
            terms = [c(self._tag(l, f"{kind}term", t + 1), _mm(ins[t].T, dZ[t]))
                     for t in range(T)]
            name = f"{kind}{l}"
            if per_sample:
                keep(f"d{name}_per_sample", _add(*terms)[None] if m == 1 else _add(
                    *(ins[t][:, :, None] * dZ[t][:, None, :] for t in range(T))))
            grads[name] = keep(f"d{name}", _l2(_scale(_add(*terms), scale), P, name, l2, m, c))
        # db: each step's column sums of dZ_t (one sample: its rows dz_t, as printed)
        sums = [dZ[t][0] if m == 1 else c(self._tag(l, "colsum", t + 1), _add(*dZ[t]))
                for t in range(T)]
        bshape = np.shape(P[f"b{l}"])
        if per_sample:
            keep(f"db{l}_per_sample", _add(*dZ).reshape((m, *bshape)))
        grads[f"b{l}"] = keep(f"db{l}", _scale(_add(*sums), scale).reshape(bshape))
        if f"h0{l}" in P:  # dh_0 = dz_1 W_h^T per sample, their sum
            dh0 = c(self._tag(l, "dh0"), _mm(dZ[0], Wh.T))
            hshape = np.shape(P[f"h0{l}"])
            if per_sample:
                keep(f"dh0{l}_per_sample", dh0.reshape((m, *hshape)))
            grads[f"h0{l}"] = keep(f"dh0{l}", _scale(_add(*dh0), scale).reshape(hshape))
        return grads

    def worked_back(self, dz: Array, P: dict[str, Array], l: int, h: Array, keep: Keep,
                    c: Keep) -> Array:
        return _mm(self._dZ, P[f"Wx{l}"].T)  # dx_t = dz_t W_x^T, every step's (results)


class AttentionWorked:
    """Mixed in before Configured (class Attention(AttentionWorked, Configured,
    AttentionType)); like RnnWorked, a bound layer is used for one path."""

    cfg: dict[str, Any]
    _fw: tuple[Array, Array, Array, Array, Array]
    _bw: tuple[Array, Array, Array]

    def worked_forward(self, h: Array, P: dict[str, Array], l: int, keep: Keep, c: Keep
                       ) -> Array:
        X = h
        Q, K, V = (keep(f"{k}{l}", _mm(X, P[f"W{k.lower()}{l}"])) for k in "QKV")
        r = 1 / math.sqrt(Q.shape[-1])  # the line's 1/sqrt(d_k), a fraction
        S = _mm(Q, K.transpose(0, 2, 1)) * r  # the other samples' scores: results
        S[0] = c(f"att{l}.QK", _mm(Q[0], K[0].T)) * r  # sample 1: Q K^T printed first
        T = S.shape[-1]
        mask = np.tril(np.ones((T, T), dtype=bool)) if self.cfg.get("causal") else None
        if mask is not None:
            S = np.where(mask, S, -np.inf)
        S = keep(f"S{l}", S)
        with np.errstate(invalid="ignore"):
            E = np.exp(S - S.max(axis=-1, keepdims=True))  # the other samples' weights
            A = E / E.sum(axis=-1, keepdims=True)
            top = S[0].max(axis=-1, keepdims=True)  # sample 1 row by row: the row's largest
            e = c(f"att{l}.e", np.exp(c(f"att{l}.S-max", S[0] - top)))  # score, printed
            A[0] = e / c(f"att{l}.esum", e.sum(axis=-1, keepdims=True))
        A = keep(f"A{l}", A)
        self._fw = (X, Q, K, V, A)
        return _mm(A, V)

    def worked_backward(self, h: Array, dz: Array, P: dict[str, Array], l: int, m: int,
                        scale: float, l2: float, per_sample: bool, units: tuple[int, ...],
                        keep: Keep, c: Keep) -> dict[str, Array]:
        X, Q, K, V, A = self._fw
        r = 1 / math.sqrt(Q.shape[-1])
        dV = c(f"att{l}.dV", _mm(A.transpose(0, 2, 1), dz))   # every sample in full
        dA = c(f"att{l}.dA", _mm(dz, V.transpose(0, 2, 1)))
        dot = c(f"att{l}.dAA", _mm(dA[..., None, :], A[..., :, None])[..., 0])  # each row's
        dS = c(f"att{l}.dS", A * c(f"att{l}.dA-dAA", _add(dA, -dot + 0 * dA)))  # sum
        dQ = c(f"att{l}.dQ", c(f"att{l}.dSK", _mm(dS, K)) * r)
        dK = c(f"att{l}.dK", c(f"att{l}.dSQ", _mm(dS.transpose(0, 2, 1), Q)) * r)
        self._bw = (dQ, dK, dV)
        batch = m > 1 or scale != 1  # else sample 1's line is the gradient
        grads: dict[str, Array] = {}
        for kind, d in (("Wq", dQ), ("Wk", dK), ("Wv", dV)):
            name = f"{kind}{l}"
            each = _mm(X.transpose(0, 2, 1), d)  # each sample's X^T dQ, printed
            if per_sample:
                each = keep(f"d{name}_per_sample", each)
            elif batch:
                each = c(f"att{l}.d{kind}_i", each)
            g = _scale(_add(*each), scale) if batch else each[0]
            grads[name] = keep(f"d{name}", _l2(g, P, name, l2, m, c))
        return grads

    def worked_back(self, dz: Array, P: dict[str, Array], l: int, h: Array, keep: Keep,
                    c: Keep) -> Array:
        dQ, dK, dV = self._bw
        return _add(*(c(f"att{l}.d{k}W", _mm(d, P[f"W{k.lower()}{l}"].T))
                      for k, d in (("Q", dQ), ("K", dK), ("V", dV))))
