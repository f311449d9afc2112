"""The values the key prints on lines of their own on the way to the graded ones, under their
canonical JSON names (docs/spec.md, the JSON contract; spec/setups.network_value_names lists
them): the softmax exponentials `E{l}` and their row sums `Esum{l}`, the L2 penalty
`loss_l2`, dL/dyhat `dyhat`, the activation derivatives `dact{l}` = f'(Z_l) and `dH{l}` =
dL/dH_l. Computed once here from the worked pass, for the JSON and the document alike; in
exact arithmetic where the pass is (engine/exact.py), so a dH that is 1 on paper is 1.
All in the rows layout."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ..spec.setups import DERIVATIVE_SHOWN, NetworkSetup, closed_delta
from . import exact, layers
from .functions import ACTIVATIONS
from .network import Pass
from .printed import softmax_shifted

Array = np.ndarray


def dyhat(s: NetworkSetup, p: Pass, Y: Array) -> Array:
    """d(loss_i)/d(yhat_i), elementwise: exact for a squared error on an exact output."""
    yh, k, f = p.H[-1], Y.shape[1], s.factor
    if s.loss in ("mse", "sse"):
        n = k if s.loss == "mse" else 1
        e = exact.maybe(lambda h, y: exact.const(f) * 2 * (h - y) / n,
                        p.rationals.get(f"H{s.depth}"), exact.rational(Y))
        return f * 2 * (yh - Y) / n if e is None else exact.to_float(e)
    eps = s.eps or 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        if s.loss == "bce":
            return f * (-(Y / (yh + eps)) + (1 - Y) / (1 - yh + eps)) / k
        return f * (-Y / (yh + eps))


def softmax_parts(z: Array) -> tuple[Array, Array]:
    """The exponentials (of Z shifted by each row's largest entry when it is large) and their
    row sums, as the key's softmax lines print them."""
    shift = z.max(axis=1, keepdims=True) if softmax_shifted(z) else 0.0
    e = np.exp(z - shift)
    return e, e.sum(axis=1, keepdims=True)


def decayed(s: NetworkSetup) -> list[str]:
    """The parameters the L2 penalty sums the squares of, as each layer's type says (the
    weights W1, W2 ... of dense layers)."""
    return layers.decayed(s.kinds, s.depth)


def squared_norms(s: NetworkSetup) -> list[Fraction | float]:
    """Each decayed parameter's sum of squares, exactly on the decimals as written."""
    out: list[Fraction | float] = []
    for name in decayed(s):
        w = exact.rational(s.params[name])
        out.append(Fraction((w * w).sum()) if w is not None else
                   float((s.params[name] ** 2).sum()))
    return out


def l2_term(s: NetworkSetup, m: int) -> float:
    """lambda / (2m) times the sum of the decayed parameters' squares (biases excluded)."""
    norms = squared_norms(s)
    if all(isinstance(x, Fraction) for x in norms):
        return float(exact.const(s.l2) / (2 * m) * sum(norms, Fraction(0)))
    return s.l2 / (2 * m) * float(sum(float(x) for x in norms))


def intermediates(s: NetworkSetup, p: Pass, Y: Array) -> dict[str, Array]:
    L, acts = s.depth, s.activations
    closed = closed_delta(s.loss, acts[-1], s.eps)
    out: dict[str, Array] = {}
    for l in range(1, L + 1):
        if acts[l - 1] == "softmax":
            out[f"E{l}"], out[f"Esum{l}"] = softmax_parts(p.Z[l - 1])
    if s.l2:
        out["loss_l2"] = np.asarray(l2_term(s, p.H[0].shape[0]))
    if not closed:
        out["dyhat"] = dyhat(s, p, Y)
    for l in range(L, 0, -1):
        a = acts[l - 1]
        if a in DERIVATIVE_SHOWN and (l < L or not closed):
            d = ACTIVATIONS[a].deriv
            assert d is not None
            out[f"dact{l}"] = d(p.Z[l - 1], p.H[l], s.alphas[l - 1])
        if l > 1:
            out[f"dH{l - 1}"] = p.dH[l - 1]
    return out
