"""The layer types with a configuration and N-d feature shapes (issues 25 and 26): conv, pool,
flatten, batchnorm, dropout, rnn, attention (/work/shared/families.md; docs/spec.md).

What the spec knows of each before the engine runs (a `ShapedType`, spec/shapes.py): the keys
it takes, its configuration (`config`, from the validated layer), its output feature shape
from its input's (`out_shape`, the samples axis excluded), its parameters' shapes and how each
starts (`params`), the multiply-adds of one sample's forward pass (`work`) and the numbers of
its own JSON values (`answers`), for the budgets. A shape that does not fit raises
`ShapeFault(key, message, hint)`, which the resolver reports at that key of the layer
(file:line:col); `infer` (spec/shapes.py) runs a network's layers over X's feature shape.
engine/layers/ subclasses these types with their arithmetic (engine/layers/cnn.py, norm.py,
seq.py) and registers them; they are registered here too, as the spec must read without the
engine.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .layertypes import TYPES
from .shapes import (  # noqa: F401  (re-exported: the spec's and the engine's one place)
    SHAPED,
    Cfg,
    Layers,
    Pair,
    Shape,
    ShapedType,
    ShapeFault,
    Size,
    _dims,
    _pairs,
    _whole,
    _window,
    infer,
    out_size,
    pair,
    shaped,
)

CONV_ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh", "linear")
RNN_ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")


class ConvType(ShapedType):
    name = "conv"
    chain = True  # rounding: chain works its lines (engine/layers/*_worked.py)
    keys = ("filters", "kernel", "stride", "padding", "activation")
    has_z = True
    activation = "relu"
    activations = CONV_ACTIVATIONS

    def kinds(self) -> tuple[str, ...]:
        return ("W", "b")

    def config(self, la: Any) -> Cfg:
        if la.filters is None:
            raise ShapeFault("type", "a conv layer needs filters: (how many kernels)",
                             "e.g. {type: conv, filters: 2, kernel: 3}")
        if la.kernel is None:
            raise ShapeFault("type", "a conv layer needs kernel: (its size, k or [kh, kw])",
                             "e.g. {type: conv, filters: 2, kernel: 3}")
        return {**super().config(la), "filters": la.filters,
                "kernel": _pairs(la, "kernel", 1), "stride": _pairs(la, "stride", 1),
                "padding": _pairs(la, "padding", 0, 0)}

    def out_shape(self, in_shape: Shape, cfg: Cfg) -> Shape:
        if len(in_shape) != 3:
            raise ShapeFault("type", f"a conv layer takes [samples, channels, height, width] "
                             f"(or X [samples, height, width], one channel), but its input "
                             f"is {_dims(in_shape)}",
                             "give X as images, or put the conv layer first")
        oh, ow = _window(in_shape, cfg["kernel"], cfg["stride"], cfg["padding"], "kernel",
                         "kernel")
        return cfg["filters"], oh, ow

    def params(self, in_shape: Shape, cfg: Cfg) -> dict[str, tuple[Shape, str, int, int]]:
        (kh, kw), C, F = cfg["kernel"], in_shape[0], cfg["filters"]
        return {"W": ((F, C, kh, kw), "draw", C * kh * kw, F * kh * kw),
                "b": ((F,), "zeros", 0, 0)}

    def work(self, in_shape: Shape, cfg: Cfg) -> int:
        kh, kw = cfg["kernel"]
        return int(np.prod(self.out_shape(in_shape, cfg))) * in_shape[0] * kh * kw


class PoolType(ShapedType):
    name = "pool"
    chain = True  # rounding: chain works its lines (engine/layers/*_worked.py)
    keys = ("kind", "size", "stride")

    def config(self, la: Any) -> Cfg:
        kind = la.kind if la.kind is not None else "max"
        if kind not in ("max", "avg"):
            raise ShapeFault("kind", f"pooling is max or avg, not {kind!r}", "kind: max")
        size = _pairs(la, "size", 2)
        return {"kind": kind, "size": size, "stride": _pairs(la, "stride", size)}

    def out_shape(self, in_shape: Shape, cfg: Cfg) -> Shape:
        if len(in_shape) != 3:
            raise ShapeFault("type", "a pool layer takes [samples, channels, height, width], "
                             f"but its input is {_dims(in_shape)}",
                             "pool after a conv layer")
        oh, ow = _window(in_shape, cfg["size"], cfg["stride"], (0, 0), "pooling window",
                         "size")
        return in_shape[0], oh, ow


class FlattenType(ShapedType):
    name = "flatten"
    chain = True  # rounding: chain works its lines (engine/layers/*_worked.py)

    def config(self, la: Any) -> Cfg:
        return {}

    def out_shape(self, in_shape: Shape, cfg: Cfg) -> Shape:
        if len(in_shape) not in (2, 3):
            raise ShapeFault("type", f"flatten takes [samples, channels, height, width] or "
                             f"[samples, steps, features], but its input is {_dims(in_shape)}: "
                             "already flat", "leave the flatten out")
        return (math.prod(in_shape),)


class BatchNormType(ShapedType):
    name = "batchnorm"
    chain = True  # rounding: chain works its lines (engine/layers/*_worked.py)
    keys = ("eps",)
    couples = True
    named = ("mu", "var", "xhat")

    def kinds(self) -> tuple[str, ...]:
        return ("gamma", "beta")

    def config(self, la: Any) -> Cfg:
        eps = 1e-5 if la.eps is None else la.eps
        if not eps >= 0:
            raise ShapeFault("eps", f"eps must be 0 or more, not {eps!r}", "eps: 1e-5")
        return {"eps": float(eps)}

    def out_shape(self, in_shape: Shape, cfg: Cfg) -> Shape:
        if len(in_shape) != 1:
            raise ShapeFault("type", f"batchnorm follows a dense layer: its input is [samples, "
                             f"features], not {_dims(in_shape)}", "put it after a dense layer "
                             "(or after a flatten)")
        return in_shape

    def params(self, in_shape: Shape, cfg: Cfg) -> dict[str, tuple[Shape, str, int, int]]:
        return {"gamma": (in_shape, "ones", 0, 0), "beta": (in_shape, "zeros", 0, 0)}

    def work(self, in_shape: Shape, cfg: Cfg) -> int:
        return 4 * int(np.prod(in_shape))

    def answers(self, in_shape: Shape, cfg: Cfg) -> int:
        return 3 * int(np.prod(in_shape))  # mu, var (an estimate per sample), xhat


class DropoutType(ShapedType):
    name = "dropout"
    chain = True  # rounding: chain works its lines (engine/layers/*_worked.py)
    keys = ("p", "mask")

    def config(self, la: Any) -> Cfg:
        p = 0.5 if la.p is None else la.p
        if not 0 <= p < 1:
            raise ShapeFault("p", f"dropout's p is the probability of dropping a unit, 0 or "
                             f"more and less than 1, not {p!r}", "e.g. p: 0.5")
        if la.mask is None:
            raise ShapeFault("type", "a dropout layer needs mask: (0 drops a unit, 1 keeps it, "
                             "one per entry of its input): a worked problem draws no random "
                             "numbers", "e.g. {type: dropout, p: 0.5, mask: [[1, 0], [0, 1]]}")
        return {"p": float(p), "mask": la.mask}

    def out_shape(self, in_shape: Shape, cfg: Cfg) -> Shape:
        return in_shape

    def finish(self, in_shape: Shape, cfg: Cfg, batch: int) -> Cfg:
        return {**cfg, "mask": self.check_mask(in_shape, cfg, batch)}

    def check_mask(self, in_shape: Shape, cfg: Cfg, rows: int) -> Any:
        """The mask as an array of 0s and 1s [rows (a batch's samples), *in_shape]."""
        want = (rows, *in_shape)
        raw = cfg["mask"]
        try:
            a = np.array(raw, dtype=float)
        except (TypeError, ValueError):
            raise ShapeFault("mask", "the dropout mask is a table of 0s and 1s of one shape, "
                             f"{list(want)} here (a batch's samples x the input's entries)",
                             "one list of 0s and 1s per sample") from None
        if a.shape != want:
            raise ShapeFault("mask", f"the dropout mask has shape {list(a.shape)}, expected "
                             f"{list(want)} (the shape of the layer's input for a batch of "
                             f"{rows} samples: one 0 or 1 per entry)",
                             "one row per sample of a batch")
        bad = ~((a == 0) | (a == 1))
        if bad.any():
            i = tuple(int(v) + 1 for v in np.argwhere(bad)[0])
            raise ShapeFault("mask", f"the dropout mask holds {a[tuple(j - 1 for j in i)]:g} "
                             f"at entry {list(i)}; a mask entry is 0 (the unit is dropped) or "
                             "1 (kept)", "write 0 or 1 there")
        return a


class RnnType(ShapedType):
    name = "rnn"
    keys = ("units", "activation", "return")
    has_z = True
    activation = "tanh"
    activations = RNN_ACTIVATIONS
    inside = True
    chain = True  # rounding: chain works its lines (engine/layers/seq_worked.py)

    def kinds(self) -> tuple[str, ...]:
        return ("Wx", "Wh", "b")

    def last_step(self, in_shape: Shape, cfg: Cfg) -> int | None:
        return int(in_shape[0]) if cfg.get("return", "last") == "last" else None

    def optional(self) -> tuple[str, ...]:
        return ("h0",)

    def config(self, la: Any) -> Cfg:
        if la.units is None:
            raise ShapeFault("type", "an rnn layer needs units: (its state's width)",
                             "e.g. {type: rnn, units: 2}")
        return {**super().config(la), "units": la.units, "return": la.return_ or "last"}

    def out_shape(self, in_shape: Shape, cfg: Cfg) -> Shape:
        if len(in_shape) != 2:
            raise ShapeFault("type", "an rnn layer takes [samples, steps, features], but its "
                             f"input is {_dims(in_shape)}",
                             "give X as sequences, [samples, steps, features]")
        U = cfg["units"]
        return (U,) if cfg["return"] == "last" else (in_shape[0], U)

    def params(self, in_shape: Shape, cfg: Cfg) -> dict[str, tuple[Shape, str, int, int]]:
        F, U = in_shape[1], cfg["units"]
        return {"Wx": ((F, U), "draw", F, U), "Wh": ((U, U), "draw", U, U),
                "b": ((U,), "zeros", 0, 0), "h0": ((U,), "zeros", 0, 0)}

    def work(self, in_shape: Shape, cfg: Cfg) -> int:
        T, F = in_shape
        return T * (F + cfg["units"]) * cfg["units"]

    def answers(self, in_shape: Shape, cfg: Cfg) -> int:
        return 4 * in_shape[0] * cfg["units"]  # Z, H, dZ, dH of every step

    def chain_names(self, in_shape: Shape, cfg: Cfg) -> int:
        # a dozen a step (its products, z, h, dh, f', dz, contributions), each reach pass
        # a Python loop over the steps: measured ~2.5 times a dense number, so 30 a step
        return 30 * in_shape[0]


class AttentionType(ShapedType):
    name = "attention"
    keys = ("d_k", "d_v", "causal")
    named = ("Q", "K", "V", "S", "A")
    chain = True  # rounding: chain works its lines (engine/layers/seq_worked.py)

    def kinds(self) -> tuple[str, ...]:
        return ("Wq", "Wk", "Wv")

    def config(self, la: Any) -> Cfg:
        return {"d_k": 2 if la.d_k is None else la.d_k, "d_v": 2 if la.d_v is None else la.d_v,
                "causal": bool(la.causal)}

    def out_shape(self, in_shape: Shape, cfg: Cfg) -> Shape:
        if len(in_shape) != 2:
            raise ShapeFault("type", "an attention layer takes [samples, tokens, features], "
                             f"but its input is {_dims(in_shape)}",
                             "give X as sequences, [samples, tokens, features]")
        return in_shape[0], cfg["d_v"]

    def params(self, in_shape: Shape, cfg: Cfg) -> dict[str, tuple[Shape, str, int, int]]:
        F, dk, dv = in_shape[1], cfg["d_k"], cfg["d_v"]
        return {"Wq": ((F, dk), "draw", F, dk), "Wk": ((F, dk), "draw", F, dk),
                "Wv": ((F, dv), "draw", F, dv)}

    def work(self, in_shape: Shape, cfg: Cfg) -> int:
        T, F = in_shape
        return T * F * (2 * cfg["d_k"] + cfg["d_v"]) + T * T * (cfg["d_k"] + cfg["d_v"])

    def answers(self, in_shape: Shape, cfg: Cfg) -> int:
        T = in_shape[0]
        return T * (2 * cfg["d_k"] + cfg["d_v"]) + 2 * T * T  # Q, K, V; S, A

    def chain_names(self, in_shape: Shape, cfg: Cfg) -> int:
        return 16  # Q K^T, each row's shift, e and sum; dV, dA ... dK; the three products


SHAPED.update({t.name: t for t in (
    ConvType(), PoolType(), FlattenType(), BatchNormType(), DropoutType(), RnnType(),
    AttentionType())})
for _t in SHAPED.values():
    TYPES[_t.name] = _t  # a LayerType: shapes, count, fit
