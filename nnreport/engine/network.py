"""Forward and backward propagation of a network, vectorised over samples.

Arrays are in the rows layout: X is (samples, features), H_l is (samples, units). Each layer's
own arithmetic (its parameters, Z from H, the gradients, per sample and averaged, on floats and
on exact rationals) is its type's module under engine/layers/; this module chains the layers,
the activations and the loss, and never asks which type a layer is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from . import exact
from .exact import EXACT_MAX_OPS, Exact
from .functions import ACTIVATIONS, LossSpec, output_delta, per_sample_loss
from .layers import Layer, configured, layer
from .layers.dense import bias as bias

Array = np.ndarray


@dataclass(frozen=True)
class Net:
    activations: tuple[str, ...]
    alphas: tuple[float, ...]
    loss: LossSpec
    l2: float = 0.0
    kinds: tuple[str, ...] = ()  # each layer's type (engine/layers/); none given: dense
    cfgs: tuple[dict[str, Any], ...] = ()  # each layer's configuration (spec/shaped.py)
    bound: tuple[Layer, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if self.cfgs and not self.bound:
            object.__setattr__(self, "bound", tuple(configured(self.kinds, self.cfgs,
                                                               self.depth)))

    @property
    def depth(self) -> int:
        return len(self.activations)

    def layer(self, l: int) -> Layer:
        """Layer l's type (1-based), bound to its configuration."""
        if self.bound:
            return self.bound[l - 1]
        return layer(self.kinds[l - 1] if self.kinds else "dense")


@dataclass
class Pass:
    """Everything one forward/backward pass over a batch produces."""

    Z: list[Array]
    H: list[Array]  # H[0] is X, H[L] is yhat
    loss_per_sample: Array
    loss: float
    dZ: list[Array] = field(default_factory=list)
    grads: dict[str, Array] = field(default_factory=dict)
    per_sample: dict[str, Array] = field(default_factory=dict)
    exact: frozenset[str] = frozenset()  # names whose value is the nearest float to the exact
    dH: dict[int, Array] = field(default_factory=dict)  # dL/dH_l of the hidden layers
    rationals: dict[str, Exact] = field(default_factory=dict)  # the exact values, by name
    values: dict[str, Array] = field(default_factory=dict)  # the layers' own (Layer.values)


def forward(net: Net, params: dict[str, Array], X: Array) -> tuple[list[Array], list[Array]]:
    Z: list[Array] = []
    H: list[Array] = [X]
    for l in range(1, net.depth + 1):
        z = net.layer(l).forward(H[-1], params, l)
        act = ACTIVATIONS[net.activations[l - 1]]
        Z.append(z)
        H.append(act(z, net.alphas[l - 1]))
    return Z, H


def l2_penalty(net: Net, params: dict[str, Array], m: int) -> float:
    if not net.l2:
        return 0.0
    sq = sum(float((params[w] ** 2).sum()) for w in decayed(net))
    return net.l2 / (2 * m) * sq


def reduce(net: Net, values: Array) -> float:
    return float(values.sum() if net.loss.reduction == "sum" else values.mean())


def loss_of(net: Net, params: dict[str, Array], X: Array, Y: Array) -> float:
    """Batch loss: reduced per-sample losses plus the L2 term."""
    Z, H = forward(net, params, X)
    ls = per_sample_loss(net.loss, Z[-1], H[-1], Y)
    return reduce(net, ls) + l2_penalty(net, params, X.shape[0])


def decayed(net: Net) -> list[str]:
    """The parameters the L2 penalty applies to (the weights), layer by layer."""
    return [w for l in range(1, net.depth + 1) for w in net.layer(l).decayed(l)]


def work(net: Net, params: dict[str, Array], m: int) -> int:
    """Multiply-adds of one forward pass over m samples."""
    return sum(net.layer(l).cost(params, l, m) for l in range(1, net.depth + 1))


def _forward(net: Net, params: dict[str, Array], X: Array,
             ex: _Exact) -> tuple[list[Array], list[Array]]:
    Z: list[Array] = []
    H: list[Array] = [X]
    for l in range(1, net.depth + 1):
        name = net.activations[l - 1]
        z = ex.affine(l, net.layer(l), net.layer(l).forward(H[-1], params, l))
        Z.append(z)
        H.append(ex.activate(l, name, net.alphas[l - 1], ACTIVATIONS[name](z, net.alphas[l - 1])))
    return Z, H


def forward_exact(net: Net, params: dict[str, Array], X: Array) -> tuple[list[Array], list[Array]]:
    """`forward`, with Z decided on exact arithmetic of the decimals when the pass is small."""
    return _forward(net, params, X, _Exact(work(net, params, X.shape[0]) <= EXACT_MAX_OPS,
                                           params, X))


def run(net: Net, params: dict[str, Array], X: Array, Y: Array, per_sample: bool = False,
        exact: bool = False) -> Pass:
    """Forward pass, loss, and gradients of the batch loss (and of each sample's loss).

    With `exact`, every value that exact rational arithmetic on the given decimals can reach
    (engine/exact.py) is the float nearest to its exact value, so kinks and zeros are decided
    as a hand calculation decides them."""
    m = X.shape[0]
    L = net.depth
    ex = _Exact(exact and work(net, params, m) <= EXACT_MAX_OPS, params, X)
    Z, H = _forward(net, params, X, ex)
    ls = ex.loss(net.loss, per_sample_loss(net.loss, Z[-1], H[-1], Y), Y)
    p = Pass(Z=Z, H=H, loss_per_sample=ls, loss=ex.batch_loss(net, params, ls, m))
    dZ: list[Array] = [np.empty(0)] * L
    dZ[L - 1] = ex.output_delta(net, Y, output_delta(
        net.loss, ACTIVATIONS[net.activations[-1]], Z[-1], H[-1], Y, net.alphas[-1]))
    for l in range(L - 1, 0, -1):  # hidden layers, from the top down
        top = net.layer(l + 1)
        g = p.dH[l] = ex.back(l, top, top.back(dZ[l], params, l + 1, h=H[l]))
        act = ACTIVATIONS[net.activations[l - 1]]
        dZ[l - 1] = ex.through(l, net.activations[l - 1], net.alphas[l - 1],
                               act.backward(Z[l - 1], H[l], g, net.alphas[l - 1]))
    p.dZ = dZ
    scale = 1.0 if net.loss.reduction == "sum" else 1.0 / m
    coupled = 0  # the highest layer whose output mixes the samples (batchnorm)
    for l in range(1, L + 1):
        coupled = l if net.layer(l).couples else coupled
    for l in range(1, L + 1):
        lay = net.layer(l)
        grads = lay.grads(H[l - 1], dZ[l - 1], params, l, scale, net.l2, m)
        p.grads.update(ex.gradients(l, lay, net, m, grads))
        if net.cfgs:
            p.values.update(lay.values(H[l - 1], dZ[l - 1], params, l))
        if per_sample and l >= coupled:  # below a batchnorm a sample's gradient is not its own
            ps = lay.per_sample(H[l - 1], dZ[l - 1], params, l)
            p.per_sample.update({k: ex.per_sample(l, lay, k, v) for k, v in ps.items()})
    p.exact = ex.exact_names()
    p.rationals = ex.rationals()
    return p


class _Exact:
    """The exact shadow of one pass: for each value, its exact rational (or None once an
    exponential or a logarithm has broken the chain). Each method takes the float result and
    returns the float nearest to the exact one when there is an exact one."""

    def __init__(self, on: bool, params: dict[str, Array], X: Array):
        self.on = on
        self.P = {k: exact.rational(v) for k, v in params.items()} if on else {}
        self.H: dict[int, Exact | None] = {0: exact.rational(X) if on else None}
        self.Z: dict[int, Exact | None] = {}
        self.dZ: dict[int, Exact | None] = {}
        self.dH: dict[int, Exact | None] = {}
        self.grads: dict[str, Exact | None] = {}
        self.names: set[str] = set()
        self.yhat_minus_y: Exact | None = None
        self.ls: Exact | None = None

    def _set(self, name: str, e: Exact | None, fallback: Array) -> Array:
        if e is None:
            return fallback
        self.names.add(name)
        return exact.to_float(e)

    def affine(self, l: int, lay: Layer, z: Array) -> Array:
        e = lay.exact_forward(self.H.get(l - 1), self.P, l) if self.on else None
        self.Z[l] = e
        return self._set(f"Z{l}", e, z)

    def activate(self, l: int, name: str, alpha: float, h: Array) -> Array:
        z = self.Z.get(l)
        e = None
        if z is not None:
            e = z if name == "linear" else exact.relu(z) if name == "relu" else                 exact.leaky_relu(z, alpha) if name == "leaky_relu" else None
        self.H[l] = e
        return self._set(f"H{l}", e, h)

    def loss(self, loss: LossSpec, ls: Array, Y: Array) -> Array:
        L = len(self.Z)
        yhat = self.H.get(L)
        if yhat is None or loss.name not in ("mse", "sse"):
            return ls
        self.yhat_minus_y = exact.maybe(lambda a, b: a - b, yhat, exact.rational(Y))
        f = exact.const(loss.factor)
        k = Y.shape[1]
        self.ls = exact.maybe(lambda d: (d * d).sum(axis=1) * f / (k if loss.name == "mse" else 1),
                              self.yhat_minus_y)
        return self._set("loss_per_sample", self.ls, ls)

    def batch_loss(self, net: Net, params: dict[str, Array], ls: Array, m: int) -> float:
        value = reduce(net, ls) + l2_penalty(net, params, m)
        names = decayed(net)
        Ws = [w for n in names if (w := self.P.get(n)) is not None]
        if self.ls is None or (net.l2 and len(Ws) < len(names)):
            return value
        total = self.ls.sum() * (1 if net.loss.reduction == "sum" else Fraction(1, m))
        if net.l2:
            total += exact.const(net.l2) / (2 * m) * sum((w * w).sum() for w in Ws)
        self.names.add("loss")
        return float(total)

    def output_delta(self, net: Net, Y: Array, dz: Array) -> Array:
        L = net.depth
        act = net.activations[-1]
        e = None
        if self.yhat_minus_y is not None and act in ("linear", "relu", "leaky_relu"):
            k = Y.shape[1]
            c = 2 * exact.const(net.loss.factor) / (k if net.loss.name == "mse" else 1)
            e = self.yhat_minus_y * c
            zL = self.Z[L]
            if act != "linear" and zL is not None:
                e = e * exact.relu_grad(zL, net.alphas[-1] if act == "leaky_relu" else 0.0)
        self.dZ[L] = e
        return self._set(f"dZ{L}", e, dz)

    def back(self, l: int, top: Layer, g: Array) -> Array:
        """dH_l, from dZ_{l+1} through layer l + 1."""
        e = top.exact_back(self.dZ.get(l + 1), self.P, l + 1, h=self.H.get(l)) \
            if self.on else None
        self.dH[l] = e
        return self._set(f"dH{l}", e, g)

    def through(self, l: int, name: str, alpha: float, dz: Array) -> Array:
        e = None
        g, z = self.dH.get(l), self.Z.get(l)
        if g is not None and name == "linear":
            e = g
        elif g is not None and z is not None and name in ("relu", "leaky_relu"):
            e = g * exact.relu_grad(z, alpha if name == "leaky_relu" else 0.0)
        # (without an exact dH the float dz is still right at the kinks: Z itself is exact)
        self.dZ[l] = e
        return self._set(f"dZ{l}", e, dz)

    def gradients(self, l: int, lay: Layer, net: Net, m: int, grads: dict[str, Array]
              ) -> dict[str, Array]:
        """Layer l's batch gradients (dW_l, db_l or dtheta_l ...), each the float nearest to
        its exact value when there is one."""
        red = Fraction(1) if net.loss.reduction == "sum" else Fraction(1, m)
        es = (lay.exact_grads(self.H.get(l - 1), self.dZ.get(l), self.P, l, list(grads), red,
                              net.l2, m) if self.on else {})
        out = {}
        for name, g in grads.items():
            e = es.get(name)
            self.grads[f"d{name}"] = e
            out[name] = self._set(f"d{name}", e, g)
        return out

    def per_sample(self, l: int, lay: Layer, name: str, ps: Array) -> Array:
        """Each sample's gradient of `name`, exactly when the layer can reach it."""
        e = (lay.exact_per_sample(self.H.get(l - 1), self.dZ.get(l), self.P, l, name)
             if self.on else None)
        return ps if e is None else exact.to_float(e)

    def exact_names(self) -> frozenset[str]:
        return frozenset(self.names)

    def rationals(self) -> dict[str, Exact]:
        """The exact values reached, by name (X as H0): later exact steps start from them."""
        out: dict[str, Exact] = {}
        for prefix, table in (("Z", self.Z), ("H", self.H), ("dZ", self.dZ), ("dH", self.dH)):
            out.update({f"{prefix}{l}": e for l, e in table.items() if e is not None})
        out.update({k: e for k, e in self.grads.items() if e is not None})
        return out
