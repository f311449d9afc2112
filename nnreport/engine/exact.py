"""Exact arithmetic where a hand calculation would differ from floating point.

Specs are written in short decimals (X = [[-0.2, -1]], W = 0.5) and versions draw integers and
one-decimal numbers, so values that are exactly 0 on paper are common: in floating point they
come out as 5.55e-17, and then ReLU'(Z) is 1 instead of 0 and every later number differs from
what a student computes with a calculator.

So the worked step (and every `compute:` step) is also carried out in exact rational arithmetic
(`fractions.Fraction`) on the decimals as written (the shortest decimal of each float), for as
long as the operations keep it rational: sums, products, matrix products, ReLU and leaky ReLU,
the linear output, MSE and SSE, SGD and momentum updates. Each such value is then the float
nearest to its exact value: exact zeros are 0.0, kinks are decided exactly (relu'(0) = 0), and
the JSON holds the correctly rounded number. An exponential, a logarithm, a square root or a
division by zero ends the exact chain; what follows is ordinary float64.

Exact arithmetic costs about 4 microseconds per multiply-add, so it is used while a pass needs
at most EXACT_MAX_OPS of them; larger problems are not worked by hand.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

Array = np.ndarray
Exact = np.ndarray  # dtype=object, entries Fraction
EXACT_MAX_OPS = 20_000



def _fraction(x: float) -> Fraction:
    return Fraction(repr(float(x)))


_rational = np.frompyfunc(_fraction, 1, 1)


def rational(a: Array | float | None) -> Exact | None:
    """The decimals of `a` as exact fractions; None if any entry is NaN or infinite."""
    if a is None:
        return None
    arr = np.asarray(a, dtype=float)
    if not np.all(np.isfinite(arr)):
        return None
    return np.asarray(_rational(arr), dtype=object)


def to_float(e: Exact) -> Array:
    """The float64 nearest to each exact value (exact zeros are 0.0); a value past the float
    range is +-inf, as the float arithmetic gives it."""
    def near(x: Any) -> float:
        try:
            return float(x)
        except OverflowError:
            return math.inf if x > 0 else -math.inf

    return np.asarray([near(x) for x in np.ravel(np.asarray(e, dtype=object))],
                      dtype=float).reshape(np.shape(e))


def const(x: float) -> Fraction:
    return _fraction(x)


def maybe(fn: Any, *args: Any) -> Exact | None:
    """fn(*args) when every argument is exact, else None (the chain is broken)."""
    if any(a is None for a in args):
        return None
    try:
        return np.asarray(fn(*args), dtype=object)
    except (ZeroDivisionError, OverflowError, TypeError, ValueError):
        return None


def _sqrt(x: Fraction) -> Fraction:
    """The square root of x when it is rational (both parts perfect squares), else an error."""
    if x < 0:
        raise ValueError("negative")
    n, d = math.isqrt(x.numerator), math.isqrt(x.denominator)
    if n * n != x.numerator or d * d != x.denominator:
        raise ValueError("irrational")
    return Fraction(n, d)


def sqrt(e: Exact | None) -> Exact | None:
    """Entrywise square roots when every one is rational (sqrt(0.0025) = 0.05), else None."""
    return maybe(lambda a: np.vectorize(_sqrt, otypes=[object])(a), e)


def _pick(cond: Any, a: Any, b: Any) -> Exact:
    return np.asarray(np.where(cond, a, b), dtype=object)


def relu(z: Exact) -> Exact:
    return _pick(z > Fraction(0), z, Fraction(0))


def leaky_relu(z: Exact, alpha: float) -> Exact:
    return _pick(z > Fraction(0), z, const(alpha) * z)


def relu_grad(z: Exact, alpha: float = 0.0) -> Exact:
    """1 where z > 0, else alpha (0 for ReLU): the derivative at the kink is taken as 0."""
    return _pick(z > Fraction(0), Fraction(1), const(alpha))
