"""The layer types with a configuration and N-d feature shapes (issues 25 and 26): conv, pool,
flatten, batchnorm, dropout, rnn, attention (/work/shared/families.md; docs/spec.md).

What the spec knows of each before the engine runs: the keys it takes, its configuration
(`config`, from the validated layer), its output feature shape from its input's (`out_shape`,
the samples axis excluded), its parameters' shapes and how each starts (`params`), and the
multiply-adds of one sample's forward pass (`work`, for the budgets). A shape that does not fit
raises `Fault(key, message, hint)`, which the resolver reports at that key of the layer
(file:line:col). engine/layers/ subclasses these types with their arithmetic
(engine/layers/cnn.py, norm.py, seq.py) and registers them; they are registered here too, as
the spec must read without the engine.

`infer` runs a network's layers over X's feature shape: each layer's feature shape and
configuration, or the faults. A network's `units` stay each layer's flattened width (the
product of its feature shape), so the cost formulas and the dense layers read as before.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .layertypes import TYPES, Fault

Pair = tuple[int, int]
Size = int | Sequence[int]
Shape = tuple[int, ...]
Cfg = dict[str, Any]
CONV_ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh", "linear")
RNN_ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")
DENSE_KEYS = ("units", "activation", "alpha", "bias")


class ShapeFault(ValueError):
    """A layer's shape or configuration does not fit: at its `key`, a message and a hint."""

    def __init__(self, key: str, message: str, hint: str = ""):
        super().__init__(message)
        self.key, self.hint = key, hint


def _whole(v: Any, what: str, least: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < least:
        kind = "a positive whole number" if least > 0 else "a whole number, 0 or more"
        raise ValueError(f"{what} must be {kind}, not {v!r}")
    return int(v)


def pair(v: Size, what: str, least: int = 1) -> Pair:
    """(height, width) from one whole number or two (`kernel: 3`, `kernel: [2, 3]`)."""
    if isinstance(v, Sequence) and not isinstance(v, str):
        if len(v) != 2:
            raise ValueError(f"{what} is one number or two (height, width), not {list(v)!r}")
        return _whole(v[0], f"{what} height", least), _whole(v[1], f"{what} width", least)
    n = _whole(v, what, least)
    return n, n


def out_size(n: int, k: int, stride: int = 1, pad: int = 0, axis: str = "height", *,
             what: str = "kernel", floor: bool = False) -> int:
    """The output size along one axis, (n + 2 pad - k) / stride + 1.

    Raises ValueError when the `what` (kernel, pooling window) is larger than the padded
    input, or, unless `floor`, when the stride leaves rows (columns) of the padded input that
    no window reaches: PyTorch silently drops them (floor), a hand-worked problem is more
    likely a typo. With `floor`, PyTorch's size is returned."""
    n = _whole(n, f"input {axis}", 1)
    k = _whole(k, f"{what} {axis}", 1)
    stride = _whole(stride, f"stride ({axis})", 1)
    pad = _whole(pad, f"padding ({axis})", 0)
    span = n + 2 * pad
    if k > span:
        padded = f" with padding {pad} ({n} + 2*{pad} = {span})" if pad else ""
        raise ValueError(f"the {what} {axis} {k} is larger than the input {axis} {n}{padded}; "
                         f"the {what} must fit inside the (padded) input")
    left = (span - k) % stride
    if left and not floor:
        line = "row" if axis == "height" else "column"
        raise ValueError(
            f"stride {stride} does not fit the input {axis}: a {what} of {k} moving by {stride} "
            f"over {span} {line}s{' (padding included)' if pad else ''} leaves the last {left} "
            f"{line}{'s' if left > 1 else ''} unused ({span} - {k} = {span - k} is not a "
            f"multiple of {stride})")
    return (span - k) // stride + 1


def _dims(shape: Shape) -> str:
    return "[samples, " + ", ".join(str(n) for n in shape) + "]"


class ShapedType:
    """A layer type with a configuration: see the module's docstring. `has_z`: it has a
    pre-activation Z{l} and an activation of its own (the JSON names Z{l}, dZ{l}); `couples`:
    its output mixes the samples (batch statistics), so the per-sample gradients of the layers
    below it are not per sample; `activation`: its default activation, None when it has none
    (the network treats it as linear, H = Z); `inside`: the activation acts inside the layer
    (a recurrence), so the network applies none."""

    name = ""
    keys: tuple[str, ...] = ()
    has_z = False
    couples = False
    activation: str | None = None
    activations: tuple[str, ...] = ()
    inside = False
    named: tuple[str, ...] = ()  # its own values' families in the JSON (mu, var ... Q, K ...)

    # what spec/layertypes.py asks of a type (its parameters' kinds; budgets use `params`)
    def shapes(self, units_in: int, units_out: int, bias: bool | str) -> dict[str, Any]:
        return {k: (1, 1) for k in self.kinds()}

    def kinds(self) -> tuple[str, ...]:
        return ()

    def parameter_count(self, units_in: int, units_out: int) -> int:
        return 0  # counted from `params` (spec/cost.py takes the resolver's count)

    def fit(self, units_in: int, units_out: int, bias: bool | str) -> list[Fault]:
        return []

    def config(self, la: Any) -> Cfg:
        cfg: Cfg = {}
        if self.activation is not None:
            act = la.activation if "activation" in la.model_fields_set else self.activation
            if act not in self.activations:
                raise ShapeFault("activation", f"a {self.name} layer's activation is one of "
                                 f"{', '.join(self.activations)}, not {act}",
                                 f"e.g. activation: {self.activation}")
            cfg["activation"] = act
        return cfg

    def out_shape(self, in_shape: Shape, cfg: Cfg) -> Shape:
        raise NotImplementedError

    def params(self, in_shape: Shape, cfg: Cfg) -> dict[str, tuple[Shape, str, int, int]]:
        """Each parameter's kind: (shape, how it starts: draw, zeros or ones, fan in, fan
        out), in the key's order."""
        return {}

    def optional(self) -> tuple[str, ...]:
        """Parameter kinds the layer has only when `params:` gives them (rnn's h0)."""
        return ()

    def work(self, in_shape: Shape, cfg: Cfg) -> int:
        return int(np.prod(in_shape))

    def answers(self, in_shape: Shape, cfg: Cfg) -> int:
        """Numbers of one sample in the JSON's values of its own (an rnn's every step,
        attention's Q, K, V, S, A ...), beyond Z, H, dZ, dH of its flattened width."""
        return 0


def _pairs(la: Any, key: str, default: Size, least: int = 1) -> Pair:
    v = getattr(la, key)
    try:
        return pair(default if v is None else v, key, least)
    except ValueError as e:
        raise ShapeFault(key, str(e), f"e.g. {key}: {default if isinstance(default, int) else 1}"
                         " or [height, width]") from None


def _window(in_shape: Shape, k: Pair, s: Pair, p: Pair, what: str, key: str) -> Pair:
    out = []
    for axis, n, kk, ss, pp in zip(("height", "width"), in_shape[-2:], k, s, p, strict=True):
        try:
            out.append(out_size(n, kk, ss, pp, axis, what=what))
        except ValueError as e:
            larger = "larger than" in str(e)
            raise ShapeFault(key if larger else "stride", str(e),
                             (f"a smaller {key}, more padding or a larger input" if key == "kernel"
                              else "a smaller pooling size") if larger else
                             f"choose a stride that divides {n + 2 * pp} - {kk} = "
                             f"{n + 2 * pp - kk}" + (", or pad the input" if key == "kernel"
                                                     else "")) from None
    return out[0], out[1]


class ConvType(ShapedType):
    name = "conv"
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

    def kinds(self) -> tuple[str, ...]:
        return ("Wx", "Wh", "b")

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


class AttentionType(ShapedType):
    name = "attention"
    keys = ("d_k", "d_v", "causal")
    named = ("Q", "K", "V", "S", "A")

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


SHAPED: dict[str, ShapedType] = {t.name: t for t in (
    ConvType(), PoolType(), FlattenType(), BatchNormType(), DropoutType(), RnnType(),
    AttentionType())}
for _t in SHAPED.values():
    TYPES[_t.name] = _t  # a LayerType: shapes, count, fit


def shaped(kinds: Sequence[str]) -> bool:
    """Whether a network with these layer types needs configured, N-d layers."""
    return any(k in SHAPED for k in kinds)


class Layers:
    """`infer`'s result: each layer's configuration and feature shape (the input's first),
    its activation as the network applies it, its parameters and the work per sample."""

    def __init__(self) -> None:
        self.cfgs: list[Cfg] = []
        self.shapes: list[Shape] = []
        self.activations: list[str] = []
        self.params: dict[str, tuple[Shape, str, int, int]] = {}
        self.optional: set[str] = set()
        self.work = 0
        self.answers = 0  # numbers per sample of the layers' own JSON values


def infer(layers: Sequence[Any], x_shape: Shape, batch: int
          ) -> tuple[Layers, list[tuple[int, str, str, str]]]:
    """Run the layers over X's feature shape: each layer's (0-based) index, key, message and
    hint for what does not fit; the walk stops at the first layer whose shape is unknown."""
    out, faults = Layers(), []
    shape = tuple(int(n) for n in x_shape)
    if layers and layers[0].type == "conv" and len(shape) == 2:
        shape = (1, *shape)  # X [samples, height, width]: one channel
    out.shapes.append(shape)
    for k, la in enumerate(layers):
        t = SHAPED.get(la.type)
        try:
            if t is None:  # dense, or a registered type of widths (toy scaling layer)
                given = sorted(f for f in la.model_fields_set if f not in (*DENSE_KEYS, "type"))
                if given:
                    raise ShapeFault(given[0], f"a {la.type} layer has no key "
                                     f"'{given[0].rstrip('_')}'",
                                     f"a {la.type} layer takes {', '.join(DENSE_KEYS)}")
                if la.units is None:
                    raise ShapeFault("type", f"a {la.type} layer needs units:", "e.g. units: 2")
                if len(shape) != 1:
                    raise ShapeFault("type" if "type" in la.model_fields_set else "units",
                                     f"a {la.type} layer takes [samples, features], but its "
                                     f"input is {_dims(shape)}",
                                     "put {type: flatten} before it")
                cfg: Cfg = {}
                new: Shape = (la.units,)
                out.activations.append(la.activation)
                out.work += shape[0] * la.units
                for kind, s in TYPES[la.type].shapes(shape[0], la.units, la.bias).items():
                    out.params[f"{kind}{k + 1}"] = (s, "draw" if kind == "W" else "zeros",
                                                    shape[0], la.units)
            else:
                given = sorted(f for f in la.model_fields_set
                               if f not in (*(x if x != "return" else "return_" for x in t.keys),
                                            "type"))
                if given:
                    name = given[0].rstrip("_")
                    raise ShapeFault(given[0], f"a {t.name} layer has no key '{name}'",
                                     f"a {t.name} layer takes " + (
                                         ", ".join(t.keys) if t.keys else "no other key"))
                cfg = t.config(la)
                new = t.out_shape(shape, cfg)
                if isinstance(t, DropoutType):
                    cfg["mask"] = t.check_mask(shape, cfg, batch)
                out.activations.append(cfg["activation"] if t.has_z and not t.inside
                                       else "linear")
                out.work += t.work(shape, cfg)
                out.answers += t.answers(shape, cfg)
                for kind, spec in t.params(shape, cfg).items():
                    out.params[f"{kind}{k + 1}"] = spec
                    if kind in t.optional():
                        out.optional.add(f"{kind}{k + 1}")
        except ShapeFault as f:
            faults.append((k, f.key, str(f), f.hint))
            return out, faults
        out.cfgs.append(cfg)
        out.shapes.append(new)
        shape = new
    return out, faults
