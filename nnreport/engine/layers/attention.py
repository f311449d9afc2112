"""The mathematics of single-head scaled dot-product self-attention (issue 26): the forward
pass with every intermediate value a worked step prints, and the backward pass through the
softmax in its per-row Jacobian form.

X is [samples, tokens, features]; Q = X Wq, K = X Wk ([features, d_k]), V = X Wv
([features, d_v]); S = Q K^T / sqrt(d_k), with -inf above the diagonal when causal (token i
attends to tokens j <= i); A = softmax of each row of S, shifted by the row's maximum so no
exponential overflows; H = A V [samples, tokens, d_v] (docs: /work/shared/families.md).

Backward from dH: dV = A^T dH, dA = dH V^T, and through each row's softmax
dS_i = J_i dA_i = A_i * (dA_i - sum_j dA_ij A_ij) with J_i = diag(A_i) - A_i A_i^T; then
dQ = dS K / sqrt(d_k), dK = dS^T Q / sqrt(d_k), dX = dQ Wq^T + dK Wk^T + dV Wv^T. As for the
dense layer, the gradients of activations are those of the sum of the per-sample losses and
only the parameters' gradients are multiplied by `scale` (1, or 1/m for a batch mean).

An exponential leaves the rationals, so there is no exact pass. Parameters come as a mapping
by kind ("Wq", "Wk", "Wv"). This module is not registered as a layer type yet: the `Layer`
protocol is being generalised beyond 2-D arrays (issue 24).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

Array = np.ndarray
KINDS = ("Wq", "Wk", "Wv")


@dataclass(frozen=True)
class Shapes:
    samples: int
    tokens: int
    features: int
    d_k: int
    d_v: int


def _shape(a: Any) -> tuple[int, ...]:
    return tuple(np.shape(a))


def validate(X: Any, params: Mapping[str, Any], d_k: int | None = None,
             d_v: int | None = None) -> Shapes:
    """The shapes of an attention problem, or a ValueError that says what does not fit: X must
    be [samples, tokens, features], Wq and Wk [features, d_k], Wv [features, d_v] (d_k, d_v:
    the spec's, when given)."""
    missing = [k for k in KINDS if k not in params]
    if missing:
        raise ValueError(f"attention: missing parameter(s) {', '.join(missing)}")
    unknown = sorted(set(params) - set(KINDS))
    if unknown:
        raise ValueError(f"attention: unknown parameter(s) {', '.join(unknown)}")
    xs = _shape(X)
    if len(xs) != 3:
        raise ValueError("attention: X must be [samples, tokens, features] (3-D), got shape "
                         f"{xs} ({len(xs)}-D)")
    if min(xs) < 1:
        raise ValueError("attention: X needs at least one sample, token and feature, got "
                         f"shape {xs}")
    m, n, F = xs
    for k in KINDS:
        s = _shape(params[k])
        if len(s) != 2 or min(s) < 1:
            raise ValueError(f"attention: {k} must be [features, d] (2-D, not empty), got "
                             f"shape {s}")
        if s[0] != F:
            raise ValueError(f"attention: {k} has {s[0]} rows but X has {F} features "
                             f"({k} must be [{F}, d])")
    dk, dv = _shape(params["Wq"])[1], _shape(params["Wv"])[1]
    if _shape(params["Wk"])[1] != dk:
        raise ValueError(f"attention: Wq and Wk must have the same columns (d_k): Wq has {dk},"
                         f" Wk {_shape(params['Wk'])[1]}")
    if d_k is not None and d_k != dk:
        raise ValueError(f"attention: d_k is {d_k} but Wq and Wk have {dk} columns")
    if d_v is not None and d_v != dv:
        raise ValueError(f"attention: d_v is {d_v} but Wv has {dv} columns")
    return Shapes(m, n, F, dk, dv)


def causal_mask(tokens: int) -> Array:
    """[tokens, tokens], True where token i may attend to token j: j <= i."""
    return np.tril(np.ones((tokens, tokens), dtype=bool))


def softmax_jacobian(A: Array) -> Array:
    """Each row's softmax Jacobian dA_i/dS_i = diag(A_i) - A_i A_i^T: [..., n, n] for
    A [..., n] (symmetric, so J^T dA = J dA)."""
    A = np.asarray(A, dtype=float)
    return A[..., :, None] * np.eye(A.shape[-1]) - A[..., :, None] * A[..., None, :]


@dataclass(frozen=True)
class Forward:
    """Q, K [samples, tokens, d_k], V [samples, tokens, d_v]; QK = Q K^T and S = QK / sqrt(d_k)
    (-inf where masked) [samples, tokens, tokens]; rowmax, the shift of each row; E =
    exp(S - rowmax) (0 where masked) and rowsum, each row's sum of E; A = E / rowsum;
    H = A V [samples, tokens, d_v]. mask: None, or causal_mask(tokens)."""

    Q: Array
    K: Array
    V: Array
    QK: Array
    S: Array
    rowmax: Array
    E: Array
    rowsum: Array
    A: Array
    H: Array
    mask: Array | None

    @property
    def d_k(self) -> int:
        return int(self.Q.shape[-1])


@dataclass(frozen=True)
class Backward:
    """dV [samples, tokens, d_v], dA and dS [samples, tokens, tokens], rowdot [samples,
    tokens] (sum_j dA_ij A_ij, the term each row's softmax subtracts), dQ, dK, dX
    [samples, tokens, features] and its three parts by path (dX_parts: "Q", "K", "V");
    `grads` by kind, the batch gradients (times scale); `per_sample` each sample's
    (unscaled) gradients, samples first."""

    dV: Array
    dA: Array
    rowdot: Array
    dS: Array
    dQ: Array
    dK: Array
    dX: Array
    dX_parts: dict[str, Array]
    grads: dict[str, Array]
    per_sample: dict[str, Array]


def _params(params: Mapping[str, Any]) -> dict[str, Array]:
    return {k: np.asarray(params[k], dtype=float) for k in KINDS}


def _t(a: Array) -> Array:
    """Each sample's matrix transposed."""
    return a.transpose(0, 2, 1)


def forward(X: Any, params: Mapping[str, Any], causal: bool = False) -> Forward:
    """Q, K, V, the scores, the softmax and H, in float64."""
    s = validate(X, params)
    X = np.asarray(X, dtype=float)
    P = _params(params)
    Q, K, V = X @ P["Wq"], X @ P["Wk"], X @ P["Wv"]
    QK = Q @ _t(K)
    S = QK / math.sqrt(s.d_k)
    mask = causal_mask(s.tokens) if causal else None
    if mask is not None:
        S = np.where(mask, S, -np.inf)
    rowmax = S.max(axis=-1)  # finite: every token attends to itself
    E = np.exp(S - rowmax[..., None])
    rowsum = E.sum(axis=-1)
    A = E / rowsum[..., None]
    return Forward(Q, K, V, QK, S, rowmax, E, rowsum, A, A @ V, mask)


def backward(X: Any, params: Mapping[str, Any], fwd: Forward, dH: Any,
             scale: float = 1.0) -> Backward:
    """The gradients from dL/dH [samples, tokens, d_v]."""
    s = validate(X, params)
    dH = np.asarray(dH, dtype=float)
    if dH.shape != (s.samples, s.tokens, s.d_v):
        raise ValueError(f"attention: dH must be [{s.samples}, {s.tokens}, {s.d_v}] "
                         f"(samples, tokens, d_v), got shape {dH.shape}")
    if fwd.A.shape != (s.samples, s.tokens, s.tokens) or fwd.V.shape != dH.shape:
        raise ValueError(f"attention: the forward pass (A {fwd.A.shape}, V {fwd.V.shape}) is "
                         "not of this X and Wv")
    X = np.asarray(X, dtype=float)
    P = _params(params)
    A = fwd.A
    dV = _t(A) @ dH
    dA = dH @ _t(fwd.V)
    rowdot = (dA * A).sum(axis=-1)
    dS = A * (dA - rowdot[..., None])  # 0 where masked (A is 0 there)
    r = 1 / math.sqrt(s.d_k)
    dQ = (dS @ fwd.K) * r
    dK = (_t(dS) @ fwd.Q) * r
    parts = {"Q": dQ @ P["Wq"].T, "K": dK @ P["Wk"].T, "V": dV @ P["Wv"].T}
    per_sample = {"Wq": _t(X) @ dQ, "Wk": _t(X) @ dK, "Wv": _t(X) @ dV}
    grads = {k: scale * v.sum(axis=0) for k, v in per_sample.items()}
    return Backward(dV, dA, rowdot, dS, dQ, dK, parts["Q"] + parts["K"] + parts["V"], parts,
                    grads, per_sample)
