"""The mathematics of a vanilla recurrent layer (issue 26): forward over the steps and
backpropagation through time over the full length.

X is [samples, steps, features]; h_t = act(x_t Wx + h_{t-1} Wh + b) with Wx [features, U],
Wh [U, U], b [U] (or [1, U], the rows layout of a bias), and h_0 zero or the parameter h0 [U]
(docs: /work/shared/families.md). The layer passes on h_T ([samples, U], `return: last`) or
every h_t ([samples, steps, U], `return: sequence`).

Parameters come as a mapping by kind ("Wx", "Wh", "b", and "h0" when the initial state is a
parameter), so a missing h0 (zero state) is told apart from a broken exact chain (h0: None).
The same loops run on float64 and on exact rationals (object arrays of Fraction,
engine/exact.py): the exact pass exists for the activations that keep values rational
(relu, linear) and is None otherwise or once an input is None.

Like the dense layer, dZ, dH and dX are gradients of the sum of the per-sample losses (the
upstream gradient as given), and only the parameters' gradients are multiplied by `scale`
(1, or 1/m for a batch mean). This module is not registered as a layer type yet: the `Layer`
protocol is being generalised beyond 2-D arrays (issue 24).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from .. import exact
from ..functions import ACTIVATIONS

Array = np.ndarray
Fn = Callable[[Array], Array]
Deriv = Callable[[Array, Array], Array]  # f'(z) from (z, f(z))

ACTIVATION_NAMES = ("tanh", "relu", "sigmoid", "linear")
RATIONAL = ("relu", "linear")  # the activations that keep an exact pass exact
RETURNS = ("last", "sequence")
KINDS = ("Wx", "Wh", "b", "h0")


@dataclass(frozen=True)
class Shapes:
    samples: int
    steps: int
    features: int
    units: int


def _shape(a: Any) -> tuple[int, ...]:
    return tuple(np.shape(a))


def _vector(name: str, a: Any, units: int) -> None:
    if _shape(a) not in ((units,), (1, units)):
        raise ValueError(f"rnn: {name} must be [{units}] (units), got shape {_shape(a)}")


def validate(X: Any, params: Mapping[str, Any], activation: str | None = None,
             ret: str | None = None) -> Shapes:
    """The shapes of an RNN problem, or a ValueError that says what does not fit: X must be
    [samples, steps, features], Wx [features, U], Wh [U, U], b and h0 [U] (or [1, U])."""
    missing = [k for k in ("Wx", "Wh", "b") if k not in params]
    if missing:
        raise ValueError(f"rnn: missing parameter(s) {', '.join(missing)}")
    unknown = sorted(set(params) - set(KINDS))
    if unknown:
        raise ValueError(f"rnn: unknown parameter(s) {', '.join(unknown)}")
    xs = _shape(X)
    if len(xs) != 3:
        raise ValueError("rnn: X must be [samples, steps, features] (3-D), got shape "
                         f"{xs} ({len(xs)}-D)")
    if min(xs) < 1:
        raise ValueError(f"rnn: X needs at least one sample, step and feature, got shape {xs}")
    m, T, F = xs
    wx = _shape(params["Wx"])
    if len(wx) != 2:
        raise ValueError(f"rnn: Wx must be [features, units] (2-D), got shape {wx}")
    if wx[0] != F:
        raise ValueError(f"rnn: Wx has {wx[0]} rows but X has {F} features "
                         f"(Wx must be [{F}, units])")
    U = wx[1]
    if U < 1:
        raise ValueError("rnn: Wx must have at least one unit (column)")
    if _shape(params["Wh"]) != (U, U):
        raise ValueError(f"rnn: Wh must be [{U}, {U}] (units x units, as Wx has {U} units), "
                         f"got shape {_shape(params['Wh'])}")
    _vector("b", params["b"], U)
    if params.get("h0") is not None:
        _vector("h0", params["h0"], U)
    if activation is not None and activation not in ACTIVATION_NAMES:
        raise ValueError(f"rnn: activation must be one of {', '.join(ACTIVATION_NAMES)}, "
                         f"got {activation!r}")
    if ret is not None and ret not in RETURNS:
        raise ValueError(f"rnn: return must be last or sequence, got {ret!r}")
    return Shapes(m, T, F, U)


@dataclass(frozen=True)
class Forward:
    """Z and H [samples, steps, U] (step t at index t - 1); h0 [samples, U], the state each
    sample starts from."""

    Z: Array
    H: Array
    h0: Array

    def output(self, ret: str = "last") -> Array:
        """What the next layer sees: h_T [samples, U] (`last`) or H (`sequence`)."""
        if ret not in RETURNS:
            raise ValueError(f"rnn: return must be last or sequence, got {ret!r}")
        return self.H[:, -1] if ret == "last" else self.H


@dataclass(frozen=True)
class Backward:
    """Backpropagation through time.

    dZ, dH [samples, steps, U]: dH[:, t] is the total gradient flowing into h_t (from the
    output and from h_{t+1}); dX [samples, steps, features]; dh0 [samples, U] each sample's
    gradient of its initial state. `grads`, by kind ("Wx", "Wh", "b", and "h0" when it is a
    parameter): the batch gradients (times scale), each shaped like its parameter. `steps`:
    each step's scaled contribution to them (step first: grads[k] == steps[k].sum(0)).
    `per_sample`: each sample's (unscaled) gradients, samples first."""

    dZ: Array
    dH: Array
    dX: Array
    dh0: Array
    grads: dict[str, Array]
    steps: dict[str, Array]
    per_sample: dict[str, Array]


def _float_act(name: str) -> tuple[Fn, Deriv]:
    act = ACTIVATIONS[name]
    deriv = act.deriv
    assert deriv is not None
    return (lambda z: act.forward(z, 0.0)), (lambda z, a: deriv(z, a, 0.0))


def _ones(z: Array) -> Array:
    return np.full(z.shape, Fraction(1), dtype=object)


_EXACT_ACTS: dict[str, tuple[Fn, Deriv]] = {
    "relu": (exact.relu, lambda z, a: exact.relu_grad(z)),
    "linear": (lambda z: z, lambda z, a: _ones(z)),
}


def _start(P: Mapping[str, Array], m: int, U: int, zero: Any, dtype: Any) -> Array:
    """h_0 for every sample: the parameter h0 repeated, or zeros."""
    if "h0" in P:
        return np.repeat(np.reshape(P["h0"], (1, U)), m, axis=0)
    return np.full((m, U), zero, dtype=dtype)


def _forward(X: Array, P: Mapping[str, Array], f: Fn, zero: Any) -> Forward:
    m, T, _ = X.shape
    U = P["Wx"].shape[1]
    h0 = _start(P, m, U, zero, X.dtype)
    b = np.reshape(P["b"], (1, U))
    Z = np.empty((m, T, U), dtype=X.dtype)
    H = np.empty((m, T, U), dtype=X.dtype)
    h = h0
    for t in range(T):
        Z[:, t] = X[:, t] @ P["Wx"] + h @ P["Wh"] + b
        H[:, t] = h = f(Z[:, t])
    return Forward(Z, H, h0)


def _upstream(grad: Array, s: Shapes, ret: str, zero: Any, dtype: Any) -> Array:
    """The gradient of the output as one from outside the layer into each h_t."""
    want = (s.samples, s.units) if ret == "last" else (s.samples, s.steps, s.units)
    if grad.shape != want:
        raise ValueError(f"rnn: the output's gradient must be {list(want)} for return: "
                         f"{ret}, got shape {grad.shape}")
    if ret == "sequence":
        return grad.copy()
    g = np.full((s.samples, s.steps, s.units), zero, dtype=dtype)
    g[:, -1] = grad
    return g


def _backward(X: Array, P: Mapping[str, Array], fwd: Forward, grad: Array, ret: str,
              deriv: Deriv, scale: Any, zero: Any) -> Backward:
    s = validate(X, P, ret=ret)
    if fwd.Z.shape != (s.samples, s.steps, s.units):
        raise ValueError(f"rnn: the forward pass is of shape {fwd.Z.shape}, not this X's "
                         f"{(s.samples, s.steps, s.units)}")
    Wx, Wh = P["Wx"], P["Wh"]
    dH = _upstream(grad, s, ret, zero, X.dtype)
    dZ = np.empty_like(dH)
    for t in reversed(range(s.steps)):
        dZ[:, t] = dH[:, t] * deriv(fwd.Z[:, t], fwd.H[:, t])
        if t:  # h_{t-1} feeds z_t through Wh
            dH[:, t - 1] = dH[:, t - 1] + dZ[:, t] @ Wh.T
    dh0 = dZ[:, 0] @ Wh.T
    prev = np.concatenate([fwd.h0[:, None], fwd.H[:, :-1]], axis=1)  # h_{t-1} [m, T, U]
    by_step = dZ.transpose(1, 0, 2)  # [T, m, U]
    steps = {
        "Wx": (X.transpose(1, 2, 0) @ by_step) * scale,
        "Wh": (prev.transpose(1, 2, 0) @ by_step) * scale,
        "b": (dZ.sum(axis=0) * scale).reshape((s.steps, *np.shape(P["b"]))),
    }
    per_sample = {
        "Wx": X.transpose(0, 2, 1) @ dZ,
        "Wh": prev.transpose(0, 2, 1) @ dZ,
        "b": dZ.sum(axis=1).reshape((s.samples, *np.shape(P["b"]))),
    }
    grads = {k: v.sum(axis=0) for k, v in steps.items()}
    if "h0" in P:
        per_sample["h0"] = dh0.reshape((s.samples, *np.shape(P["h0"])))
        grads["h0"] = (dh0.sum(axis=0) * scale).reshape(np.shape(P["h0"]))
    return Backward(dZ, dH, dZ @ Wx.T, dh0, grads, steps, per_sample)


def _params(params: Mapping[str, Any], dtype: Any) -> dict[str, Array]:
    return {k: np.asarray(v, dtype=dtype) for k, v in params.items()
            if not (k == "h0" and v is None)}


def forward(X: Any, params: Mapping[str, Any], activation: str = "tanh") -> Forward:
    """Z and H over every step, in float64."""
    validate(X, params, activation)
    return _forward(np.asarray(X, dtype=float), _params(params, float),
                    _float_act(activation)[0], 0.0)


def backward(X: Any, params: Mapping[str, Any], fwd: Forward, grad: Any, ret: str = "last",
             activation: str = "tanh", scale: float = 1.0) -> Backward:
    """Backpropagation through time over the full length, from the gradient of the output:
    dL/dh_T [samples, U] (`last`) or dL/dH [samples, steps, U] (`sequence`)."""
    validate(X, params, activation, ret)
    return _backward(np.asarray(X, dtype=float), _params(params, float), fwd,
                     np.asarray(grad, dtype=float), ret, _float_act(activation)[1],
                     scale, 0.0)


def _exact_ready(X: Any, params: Mapping[str, Any], activation: str, *more: Any) -> bool:
    """Whether an exact pass can run: a rational activation and every input exact (an h0
    key with None is a broken chain; no h0 key is the zero state)."""
    if any(v is None for v in (X, *params.values(), *more)):
        return False
    validate(X, params, activation)
    return activation in RATIONAL


def exact_forward(X: exact.Exact | None, params: Mapping[str, Any], activation: str
                  ) -> Forward | None:
    """forward on exact rationals; None for tanh and sigmoid or when an input is None."""
    if not _exact_ready(X, params, activation):
        return None
    return _forward(np.asarray(X, dtype=object), _params(params, object),
                    _EXACT_ACTS[activation][0], Fraction(0))


def exact_backward(X: exact.Exact | None, params: Mapping[str, Any], fwd: Forward | None,
                   grad: exact.Exact | None, ret: str, activation: str,
                   scale: Any = Fraction(1)) -> Backward | None:
    """backward on exact rationals (scale: Fraction(1) or Fraction(1, m)); None when the
    activation is not rational or any input is None."""
    if isinstance(scale, float):  # 1/3 as a float is not a third
        raise TypeError("rnn: an exact pass's scale is a Fraction (Fraction(1, m)), not a float")
    if fwd is None or not _exact_ready(X, params, activation, grad):
        return None
    return _backward(np.asarray(X, dtype=object), _params(params, object), fwd,
                     np.asarray(grad, dtype=object), ret, _EXACT_ACTS[activation][1],
                     Fraction(scale), Fraction(0))
