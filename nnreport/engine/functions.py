"""Activations and losses: values and exact derivatives, written to never overflow.

Everything here works on row-layout arrays (samples x units); the layout of a problem is
only a matter of display and is handled by the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Array = np.ndarray


def sigmoid(z: Array) -> Array:
    # exp(-log(1 + e^{-z})) is exact and never overflows, for any |z|.
    return np.exp(-np.logaddexp(0.0, -z))


def softmax(z: Array) -> Array:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(z: Array) -> Array:
    s = z - z.max(axis=-1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=-1, keepdims=True))


@dataclass(frozen=True)
class Activation:
    """f(z) and the vector-Jacobian product g -> dL/dz given g = dL/da."""

    name: str
    forward: Callable[[Array, float], Array]
    deriv: Callable[[Array, Array, float], Array] | None  # elementwise f'(z), from (z, a, alpha)
    latex: str  # how the document names it, e.g. \sigma
    elementwise: bool = True

    def __call__(self, z: Array, alpha: float = 0.01) -> Array:
        return self.forward(z, alpha)

    def backward(self, z: Array, a: Array, g: Array, alpha: float = 0.01) -> Array:
        if self.elementwise:
            assert self.deriv is not None
            return g * self.deriv(z, a, alpha)
        # softmax: J^T g = a * (g - <g, a>) per sample
        return a * (g - (g * a).sum(axis=-1, keepdims=True))


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation(
        "sigmoid", lambda z, _: sigmoid(z), lambda z, a, _: a * (1 - a), r"\sigma"
    ),
    "relu": Activation(
        "relu",
        lambda z, _: np.maximum(z, 0.0),
        lambda z, a, _: (z > 0).astype(float),
        r"\operatorname{ReLU}",
    ),
    "leaky_relu": Activation(
        "leaky_relu",
        lambda z, al: np.where(z > 0, z, al * z),
        lambda z, a, al: np.where(z > 0, 1.0, al),
        r"\operatorname{LeakyReLU}",
    ),
    "tanh": Activation("tanh", lambda z, _: np.tanh(z), lambda z, a, _: 1 - a * a, r"\tanh"),
    "linear": Activation(
        "linear", lambda z, _: z.astype(float), lambda z, a, _: np.ones_like(z), r"\operatorname{id}"
    ),
    "softmax": Activation(
        "softmax", lambda z, _: softmax(z), None, r"\operatorname{softmax}", elementwise=False
    ),
}


@dataclass(frozen=True)
class LossSpec:
    """A loss as the spec fixes it: per-sample value times `factor`, batch mean or sum."""

    name: str
    eps: float | None = None
    reduction: str = "mean"
    factor: float = 1.0


def per_sample_loss(loss: LossSpec, z: Array, yhat: Array, y: Array) -> Array:
    """Loss of each sample (shape m), from logits where that is the stable way."""
    k = y.shape[1]
    if loss.name == "mse":
        v = ((yhat - y) ** 2).mean(axis=1)
    elif loss.name == "sse":
        v = ((yhat - y) ** 2).sum(axis=1)
    elif loss.name == "bce":
        if loss.eps is None:  # from the logit: log(1+e^z) - y z, exact for any z
            v = (np.logaddexp(0.0, z) - y * z).sum(axis=1) / k
        else:
            e = loss.eps
            v = -(y * np.log(yhat + e) + (1 - y) * np.log(1 - yhat + e)).mean(axis=1)
    elif loss.name == "cce":
        if loss.eps is None:
            v = -(y * log_softmax(z)).sum(axis=1)
        else:
            v = -(y * np.log(yhat + loss.eps)).sum(axis=1)
    else:  # pragma: no cover - the spec layer refuses other names
        raise ValueError(loss.name)
    return loss.factor * v


def output_delta(loss: LossSpec, act: Activation, z: Array, yhat: Array, y: Array, alpha: float) -> Array:
    """d(loss_i)/d(z_i) for every sample: the rows of dZ_L."""
    k = y.shape[1]
    f = loss.factor
    if loss.eps is None and loss.name == "bce" and act.name == "sigmoid":
        return f * (yhat - y) / k
    if loss.eps is None and loss.name == "cce" and act.name == "softmax":
        return f * (yhat * y.sum(axis=1, keepdims=True) - y)
    if loss.name == "mse":
        g = 2 * (yhat - y) / k
    elif loss.name == "sse":
        g = 2 * (yhat - y)
    elif loss.name == "bce":
        e = loss.eps or 0.0
        g = -(y / (yhat + e) - (1 - y) / (1 - yhat + e)) / k
    else:  # cce
        e = loss.eps or 0.0
        g = -y / (yhat + e)
    return f * act.backward(z, yhat, g, alpha)
