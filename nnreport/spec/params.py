"""A network problem's initial parameters: drawn in order from the init seed (W1, W2, ...;
biases and thresholds 0), then overridden by the spec's `params:`. A layer's bias is b{l}
(z = h W + b), theta{l} with `bias: threshold` (z = h W - theta, a weight on a -1 input), or
none with `bias: false`; params names each as the network has it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .layertypes import layer_params
from .models import Problem
from .shaped import Layers

Array = np.ndarray
Add = Callable[..., None]  # the resolver's add(path, message, hint, key=...)


def draw(method: str, rs: np.random.RandomState, shape: tuple[int, ...], scale: float,
         fan_in: int, fan_out: int) -> Array:
    if method == "randn":
        return rs.randn(*shape) * scale
    if method == "xavier":
        return rs.randn(*shape) * np.sqrt(2.0 / (fan_in + fan_out))
    if method == "he":
        return rs.randn(*shape) * np.sqrt(2.0 / fan_in)
    return rs.uniform(-scale, scale, size=shape)


def _layer_of(name: str) -> tuple[str, int]:
    kind = name.rstrip("0123456789")
    return kind, int(name[len(kind):])


def shaped_params(p: Problem, nd: Layers,
                  value: Callable[[Any, tuple[int, ...], str], Array], add: Add,
                  at: tuple[Any, ...]) -> tuple[dict[str, Array], bool]:
    """The initial parameters of a network with configured layers (spec/shaped.py), rows
    layout: each drawn in order from the init seed (weights, kernels), or zeros (biases, beta),
    or ones (gamma); rnn's h0 only when given; then overridden by `params:`, each checked
    against its inferred shape."""
    assert p.network is not None
    init = p.network.init
    rs = np.random.RandomState(init.seed)
    params: dict[str, Array] = {}
    for name, (shape, how, fi, fo) in nd.params.items():
        if name in nd.optional:
            continue
        params[name] = (draw(init.method, rs, shape, init.scale, fi, fo) if how == "draw" else
                        np.ones(shape) if how == "ones" else np.zeros(shape))
    ok = True
    for name, v in p.params.items():
        if name not in nd.params:
            add(at + ("params", name), f"unknown parameter '{name}'",
                "this network has " + ", ".join(sorted(nd.params)), key=True)
            ok = False
            continue
        shape = nd.params[name][0]
        try:
            params[name] = value(v, shape, name)
        except ValueError as e:
            ok = False
            kind, k = _layer_of(name)
            la = p.network.layers[k - 1]
            add(at + ("params", name), str(e), f"layer {k} ({la.type}) has {name} of shape "
                f"{list(shape)}" + (" [filters, channels, kh, kw]: its input has "
                                    f"{shape[1]} channel{'s' if shape[1] != 1 else ''}"
                                    if len(shape) == 4 else ""))
    return params, ok


def network_params(p: Problem, units: tuple[int, ...], layout: str,
                   value: Callable[[Any, tuple[int, ...], str], Array], add: Add,
                   at: tuple[Any, ...]) -> tuple[dict[str, Array], bool]:
    """The initial parameters in the rows layout, and whether every given one fitted."""
    assert p.network is not None
    layers = p.network.layers
    init = p.network.init
    rs = np.random.RandomState(init.seed)
    params: dict[str, Array] = {}
    ok = True
    L = len(layers)
    shapes: dict[str, tuple[int, int]] = {}  # each parameter's shape, rows layout
    for k in range(1, L + 1):
        fi, fo = units[k - 1], units[k]
        mine = layer_params(layers[k - 1].type, k, fi, fo, layers[k - 1].bias)
        shapes.update(mine)
        for j, (name, rows) in enumerate(mine.items()):  # the first drawn, the others 0
            if j:
                params[name] = np.zeros(rows)
                continue
            w = draw(init.method, rs, rows if layout == "rows" else rows[::-1], init.scale, fi, fo)
            params[name] = w if layout == "rows" else w.T
    valid = set(params)
    for name, v in p.params.items():
        if name not in valid:
            kind, k = _layer_of(name) if name[-1:].isdigit() and name[:1].isalpha() else ("", 0)
            other = {"b": f"theta{k}", "theta": f"b{k}"}.get(kind, "")
            if other in valid:
                hint = (f"layer {k} has a threshold (bias: threshold), given as {other}"
                        if kind == "b" else
                        f"layer {k} has a bias b (bias: threshold gives it a threshold theta)")
            else:
                hint = "this network has " + ", ".join(sorted(valid))
            add(at + ("params", name), f"unknown parameter '{name}'", hint, key=True)
            ok = False
            continue
        kind, k = _layer_of(name)
        fi, fo = units[k - 1], units[k]
        shape = shapes[name] if layout == "rows" else shapes[name][::-1]
        try:
            a = value(v, shape, name)
        except ValueError as e:
            ok = False
            side = "in x out" if layout == "rows" else "out x in"
            hint = (f"{name} connects {fi} inputs to {fo} units; in the {layout} layout "
                    f"a weight matrix is {side}") if kind == "W" else (
                    f"{name} has one entry per unit of layer {k} ({fo})")
            add(at + ("params", name), str(e), hint)
            continue
        params[name] = a if layout == "rows" else a.T
    return params, ok
