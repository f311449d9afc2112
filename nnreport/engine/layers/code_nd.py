"""The configured layer types' lines in `nnreport code`'s NumPy script (render/code.py): conv,
pool, flatten, batchnorm, dropout, rnn and attention, each a `LayerCode` (engine/layers/code.py)
whose lines call a small helper function of its type, written once into a script that uses
the type (the helpers' text: engine/layers/code_helpers.py).

Every string written here is fixed text or a number: a layer's configuration reaches the
script as ints, floats and booleans (a stride as (1, 1), eps as 1e-05, causal as False), an
activation or a pooling kind only as a key of this module's own tables (an unknown one
writes nothing: the script is refused at the layer's type:), a parameter by its canonical
name (W1, gamma2: a fixed kind and the layer's number)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np

from . import code_helpers as h
from .code import LayerCode


def literal(a: Any) -> str:
    """An N-d array as a NumPy literal, one sample (first index) to a line group, nested
    lists aligned: `np.array([...])` for a vector."""
    a = np.asarray(a, dtype=float)
    if a.ndim == 1:
        return "np.array(" + _nested(a, 9) + ")"
    return "np.array([\n    " + ",\n    ".join(_nested(x, 4) for x in a) + "])"


def _nested(a: np.ndarray, column: int) -> str:
    """a as nested lists whose '[' stands at `column`; inner lists one to a line below it."""
    if a.ndim == 1:
        return "[" + ", ".join(repr(float(x)) for x in a) + "]"
    gap = ",\n" + " " * (column + 1)
    return "[" + gap.join(_nested(x, column + 1) for x in a) + "]"


def _ints(v: Any) -> str:
    """A (height, width) pair of ints as a tuple literal."""
    a, b = (v, v) if isinstance(v, int | np.integer) else tuple(v)
    return f"({int(a)}, {int(b)})"


def _decay(name: str, l2: float) -> str:
    return f" + {float(l2)!r} / m * params['{name}']" if l2 else ""


def _p(name: str) -> str:
    return f"params['{name}']"


def conv(l: int, cfg: dict[str, Any], params: Collection[str], scale: str, l2: float
         ) -> LayerCode:
    geo = f"{_ints(cfg['stride'])}, {_ints(cfg['padding'])}"
    b = _p(f"b{l}") if f"b{l}" in params else "0.0"
    grads = [f"grads['W{l}'] = {scale} * dW{_decay(f'W{l}', l2)}"]
    if f"b{l}" in params:
        grads.append(f"grads['b{l}'] = {scale} * db")
    return LayerCode(f"conv_forward(H[-1], {_p(f'W{l}')}, {b}, {geo})", grads, "dX",
                     (f"dX, dW, db = conv_backward(H[{l - 1}], {_p(f'W{l}')}, dZ, {geo})",),
                     (h.CONV,))


POOLS = {"max": ("max_pool", h.MAX_POOL), "avg": ("avg_pool", h.AVG_POOL)}


def pool(l: int, cfg: dict[str, Any]) -> LayerCode | None:
    kind = next((k for k in POOLS if k == cfg.get("kind")), None)
    if kind is None:
        return None
    name, helper = POOLS[kind]
    geo = f"{_ints(cfg['size'])}, {_ints(cfg['stride'])}"
    return LayerCode(f"{name}_forward(H[-1], {geo})", [],
                     f"{name}_backward(H[{l - 1}], dZ, {geo})", (), (helper,))


def flatten(l: int) -> LayerCode:
    return LayerCode("H[-1].reshape(len(H[-1]), -1)", [], f"dZ.reshape(H[{l - 1}].shape)")


def batchnorm(l: int, cfg: dict[str, Any], scale: str) -> LayerCode:
    eps = repr(float(cfg["eps"]))
    g, b = _p(f"gamma{l}"), _p(f"beta{l}")
    return LayerCode(f"batchnorm_forward(H[-1], {g}, {b}, {eps})",
                     [f"grads['gamma{l}'] = {scale} * dgamma",
                      f"grads['beta{l}'] = {scale} * dbeta"], "dX",
                     (f"dX, dgamma, dbeta = batchnorm_backward(H[{l - 1}], {g}, dZ, {eps})",),
                     (h.BATCHNORM,))


def dropout(l: int, cfg: dict[str, Any]) -> LayerCode:
    p = repr(float(cfg["p"]))
    return LayerCode(f"dropout(H[-1], mask{l}, {p})", [], f"dropout(dZ, mask{l}, {p})", (),
                     (h.DROPOUT,),
                     (f"# layer {l}'s dropout mask: a batch's rows (0 drops a unit, 1 keeps it)",
                      f"mask{l} = {literal(cfg['mask'])}"))


def rnn(l: int, cfg: dict[str, Any], params: Collection[str], scale: str, l2: float
        ) -> LayerCode | None:
    act = next((k for k in h.RNN_ACTIVATIONS if k == cfg.get("activation")), None)
    ret = next((k for k in ("last", "sequence") if k == cfg.get("return")), None)
    if act is None or ret is None:
        return None
    h0 = _p(f"h0{l}") if f"h0{l}" in params else "None"
    args = f"{_p(f'Wx{l}')}, {_p(f'Wh{l}')}, {_p(f'b{l}')}, {h0}, {act!r}"
    last = "[:, -1]" if ret == "last" else ""  # the next layer sees h_T, or every h_t
    grads = [f"grads['Wx{l}'] = {scale} * dWx{_decay(f'Wx{l}', l2)}",
             f"grads['Wh{l}'] = {scale} * dWh{_decay(f'Wh{l}', l2)}",
             f"grads['b{l}'] = {scale} * db"]
    if f"h0{l}" in params:
        grads.append(f"grads['h0{l}'] = {scale} * dh0")
    return LayerCode(f"rnn_forward(H[-1], {args})[1]{last}", grads, "dX",
                     (f"Wx, Wh, b, h0 = {_p(f'Wx{l}')}, {_p(f'Wh{l}')}, {_p(f'b{l}')}, {h0}",
                      f"dX, dWx, dWh, db, dh0 = rnn_backward(H[{l - 1}], Wx, Wh, b, h0, "
                      f"{act!r}, dZ)"),
                     (h.RNN,))


def attention(l: int, cfg: dict[str, Any], scale: str, l2: float) -> LayerCode:
    causal = "True" if cfg.get("causal") else "False"
    W = [_p(f"{k}{l}") for k in ("Wq", "Wk", "Wv")]
    grads = [f"grads['{k}{l}'] = {scale} * d{k}{_decay(f'{k}{l}', l2)}"
             for k in ("Wq", "Wk", "Wv")]
    return LayerCode(f"attention_forward(H[-1], {', '.join(W)}, {causal})", grads, "dX",
                     (f"Wq, Wk, Wv = {', '.join(W)}",
                      f"dX, dWq, dWk, dWv = attention_backward(H[{l - 1}], Wq, Wk, Wv, "
                      f"{causal}, dZ)"),
                     (h.ATTENTION,))
