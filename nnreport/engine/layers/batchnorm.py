"""Batch normalisation (issue 25) after a dense layer, in training mode: each feature is
normalised with the statistics of the batch (over the samples, axis 0), the variance biased
(divided by m, as PyTorch normalises in training), then scaled and shifted:

    mu = mean_n X[n],  var = mean_n (X[n] - mu)^2,  xhat = (X - mu) / sqrt(var + eps),
    H = gamma xhat + beta                         (X, H: [m, features]; gamma, beta: [features])

The backward pass is the standard closed form a student derives once and then applies,

    dxhat = dH gamma,  dX = (m dxhat - sum_n dxhat - xhat sum_n (dxhat xhat)) / (m sqrt(var + eps)),
    dgamma = sum_n dH xhat,  dbeta = sum_n dH.

Because mu and var couple the samples, row n of dX depends on every sample's dH: dX is linear
in dH, so it is the gradient of whatever loss dH is of (`back` applies no 1/m), while the
parameters' batch gradients take `scale` (1 or 1/m) as a dense layer's do. Each sample's
dgamma, dbeta is that sample's term of the sums.

On exact rationals mu and var are exact; xhat and H only when var + eps is the square of a
rational (rare with eps = 1e-5), else None: the exact chain ends here.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np

from ...errors import ComputeError
from .. import exact
from ..exact import Exact

Array = np.ndarray
EPS = 1e-5


class BatchNorm(NamedTuple):
    """The forward pass's values, by their JSON names (mu{l}, var{l}, xhat{l}, H{l})."""

    mu: Any
    var: Any
    xhat: Any
    h: Any


def check(x: Array, gamma: Array, beta: Array | None = None, eps: float = EPS) -> None:
    """ValueError unless X is [m, features] and gamma (beta) has one entry per feature."""
    if np.ndim(x) != 2:
        raise ValueError(f"batch normalisation follows a dense layer: its input is [samples, "
                         f"features], not of shape {list(np.shape(x))}")
    features = np.shape(x)[1]
    for name, v in (("gamma", gamma), ("beta", beta)):
        if v is not None and np.shape(v) != (features,):
            raise ValueError(f"{name} has shape {list(np.shape(v))}, expected [{features}] "
                             f"(one per feature)")
    if not eps >= 0:
        raise ValueError(f"eps must be 0 or more, not {eps!r}")


class ZeroVariance(ComputeError, ValueError):
    """A feature constant over the batch with eps 0: the CLI's compute error (exit 5)."""


def _std(var: Array, eps: float) -> Array:
    std = np.sqrt(var + eps)
    if not np.all(std > 0):
        f = int(np.flatnonzero(~(std > 0))[0])
        raise ZeroVariance(f"batchnorm: feature {f + 1} has the same value in every sample: its "
                           "variance is 0 and with eps 0 the normalisation divides by zero "
                           "(give the layer eps > 0, e.g. PyTorch's 1e-5)")
    return std


def forward(x: Array, gamma: Array, beta: Array, eps: float = EPS) -> BatchNorm:
    """mu, var (biased), xhat and H of the batch."""
    check(x, gamma, beta, eps)
    mu = x.mean(axis=0)
    var = ((x - mu) ** 2).mean(axis=0)
    xhat = (x - mu) / _std(var, eps)
    return BatchNorm(mu, var, xhat, gamma * xhat + beta)


def _back(dh: Any, xhat: Any, std: Any, gamma: Any, m: int) -> Any:
    dxhat = dh * gamma
    return (m * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0)) / (m * std)


def back(dh: Array, x: Array, gamma: Array, eps: float = EPS) -> Array:
    """dX [m, features] from dH by the closed form (X's statistics recomputed)."""
    check(x, gamma, None, eps)
    if np.shape(dh) != np.shape(x):
        raise ValueError(f"dH has shape {list(np.shape(dh))}, but H is {list(np.shape(x))}")
    mu = x.mean(axis=0)
    std = _std(((x - mu) ** 2).mean(axis=0), eps)
    return _back(dh, (x - mu) / std, std, gamma, x.shape[0])


def grads(dh: Array, xhat: Array, scale: Any = 1.0) -> tuple[Array, Array]:
    """The batch's (dgamma, dbeta) [features]: scale (1 or 1/m) times sum_n dH xhat and
    sum_n dH. Works on exact rationals too (scale a Fraction)."""
    return (dh * xhat).sum(axis=0) * scale, dh.sum(axis=0) * scale


def backward(dh: Array, x: Array, gamma: Array, eps: float = EPS, scale: Any = 1.0
             ) -> tuple[Array, Array, Array]:
    """(dX, dgamma, dbeta): `back` and `grads` in one."""
    dx = back(dh, x, gamma, eps)
    xhat = forward(x, gamma, np.zeros_like(gamma), eps).xhat
    return (dx, *grads(dh, xhat, scale))


def per_sample(dh: Array, xhat: Array) -> tuple[Array, Array]:
    """Each sample's (dgamma, dbeta) [m, features], unscaled: dH[n] xhat[n] and dH[n]."""
    return dh * xhat, dh


def exact_stats(x: Exact | None) -> tuple[Exact | None, Exact | None]:
    """mu and the biased var on exact rationals."""
    if x is None:
        return None, None
    check(x, np.zeros(np.shape(x)[1]))
    r = Fraction(1, x.shape[0])
    mu = x.sum(axis=0) * r
    return mu, ((x - mu) * (x - mu)).sum(axis=0) * r


def exact_forward(x: Exact | None, gamma: Exact | None, beta: Exact | None,
                  eps: float = EPS) -> BatchNorm:
    """forward on exact rationals; xhat and H are None unless sqrt(var + eps) is rational."""
    mu, var = exact_stats(x)
    std = exact.sqrt(exact.maybe(lambda v: v + exact.const(eps), var))
    xhat = exact.maybe(lambda x, mu, s: (x - mu) / s, x, mu, std)
    return BatchNorm(mu, var, xhat, exact.maybe(lambda g, xh, b: g * xh + b, gamma, xhat, beta))


def exact_back(dh: Exact | None, x: Exact | None, gamma: Exact | None, eps: float = EPS
               ) -> Exact | None:
    """back on exact rationals, when sqrt(var + eps) is rational; else None."""
    mu, var = exact_stats(x)
    std = exact.sqrt(exact.maybe(lambda v: v + exact.const(eps), var))
    if dh is None or x is None or gamma is None or mu is None or std is None:
        return None
    return exact.maybe(lambda d, xh, s, g: _back(d, xh, s, g, x.shape[0]),
                       dh, exact.maybe(lambda x, mu, s: (x - mu) / s, x, mu, std), std, gamma)
