"""The shapes of the configured layer types (spec/shaped.py: conv, pool, flatten, batchnorm,
dropout, rnn, attention): what a type is to the spec (`ShapedType`: its keys, configuration,
output feature shape, parameters' shapes, work), the window arithmetic a convolution and a
pooling share (`pair`, `out_size`: engine/layers/conv.py uses them too), and `infer`, which
runs a network's layers over X's feature shape.

A shape that does not fit raises `ShapeFault(key, message, hint)`, which the resolver reports
at that key of the layer (file:line:col). A network's `units` stay each layer's flattened
width (the product of its feature shape), so the cost formulas and the dense layers read as
before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .layertypes import TYPES, Fault

Pair = tuple[int, int]
Size = int | Sequence[int]
Shape = tuple[int, ...]
Cfg = dict[str, Any]
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
    chain = False  # `rounding: chain` takes it: its engine worked_* are written (engine/worked.py)
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

    def last_step(self, in_shape: Shape, cfg: Cfg) -> int | None:
        """T when the layer passes on only its last step's state (an rnn's `return: last`:
        the next layer reads h_T, not the H{l} of every step); else None."""
        return None

    def work(self, in_shape: Shape, cfg: Cfg) -> int:
        return int(np.prod(in_shape))

    def finish(self, in_shape: Shape, cfg: Cfg, batch: int) -> Cfg:
        """The configuration once the input's shape and a batch's samples are known (a
        dropout mask checked against them); raises ShapeFault."""
        return cfg

    def answers(self, in_shape: Shape, cfg: Cfg) -> int:
        """Numbers of one sample in the JSON's values of its own (an rnn's every step,
        attention's Q, K, V, S, A ...), beyond Z, H, dZ, dH of its flattened width."""
        return 0

    def chain_names(self, in_shape: Shape, cfg: Cfg) -> int:
        """Numbers `rounding: chain` rounds under names of their own beyond the network's
        (an rnn's every step's lines): the first-order reach moves each once more
        (engine/chain.py), so the chain_entries budget counts them (spec/cost.py)."""
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


SHAPED: dict[str, ShapedType] = {}  # filled by spec/shaped.py


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
        self.chain_names = 0  # names the rounded chain rounds of the layers' own lines


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
                cfg = t.finish(shape, cfg, batch)
                out.activations.append(cfg["activation"] if t.has_z and not t.inside
                                       else "linear")
                out.work += t.work(shape, cfg)
                out.answers += t.answers(shape, cfg)
                out.chain_names += t.chain_names(shape, cfg)
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
