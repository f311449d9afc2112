"""What the documents print, decided here once for the document and the rounded chain.

The number rule's value (docs/spec.md, 'Numbers'): a printed number is its true value, the
float's shortest decimal, rounded half away from zero to `digits` significant digits (an exact
shorter decimal as it is; digits before the point never rounded away; within TIE_NOISE of a
tie counts as the tie). render/numbers.py writes `shown_decimal` as LaTeX; engine/chain.py
carries it as the value a student reads off the key. The layout decisions below say which
numbers a worked line substitutes, so that the rounded chain uses exactly those.
"""

from __future__ import annotations

import ast
import functools
import math
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

import numpy as np

from ..spec.digits import Decimals
from ..spec.setups import closed_delta as closed_delta  # one rule for the spec and the key
from .exact import const

SCI_SMALL = Decimal("1e-3")
SCI_LARGE = Decimal("1e5")
TIE_NOISE = Decimal("1e-12")
_NUDGE = 1 + TIE_NOISE
CTX = Context(prec=80, rounding=ROUND_HALF_UP)  # exact for any float's repr and the nudge

PER_SAMPLE_SHOWN = 6       # per-sample matrices written out; the rest are in answers.json
PER_SAMPLE_MAX_UNITS = 10  # wider networks: per-sample gradients only in answers.json
SUM_MAX_NUMBERS = 60       # dW as the sum of its per-sample matrices up to this many numbers
ROWS_MAX_NUMBERS = 24      # db as the sum of dZ's rows up to this many numbers
SOFTMAX_SHIFT = 50         # a softmax whose largest input passes this is shifted first


def unit_of(x: float, digits: int) -> float:
    """One unit in the last printed digit of x (10^-digits for 0, or for decimal places)."""
    if isinstance(digits, Decimals):
        return 10.0 ** -int(digits)
    if x == 0 or not math.isfinite(x):
        return 10.0 ** -int(digits)
    d = shown_decimal(true_decimal(x), digits)
    return 10.0 ** (d.adjusted() - int(digits) + 1) if d != 0 else 10.0 ** -int(digits)


def given_digits(digits: int) -> int:
    """The digits a constant of the spec (an optimiser's epsilon) prints with: as written,
    whatever the places (10^-8, not 0.0000 at four places, which would make its line read
    x / (0 + 0))."""
    return 15 if isinstance(digits, Decimals) else digits


def true_decimal(x: float) -> Decimal:
    """The value the reader is shown: the shortest decimal that reads back as x."""
    return Decimal(repr(float(x)))


def sig(d: Decimal) -> int:
    """Significant digits of an exact decimal (224.0 -> 3, 0.0050 -> 1)."""
    return len(d.normalize(CTX).as_tuple().digits)


def quantize(d: Decimal, exp: int) -> Decimal:
    """d rounded half away from zero to a multiple of 10**exp; within TIE_NOISE of a tie
    counts as the tie. Nudging |d| up by that much only moves values that sit just below a
    half-unit boundary, which is exactly the noise of a computed tie."""
    nudged = CTX.multiply(d, _NUDGE)
    return nudged.quantize(Decimal(1).scaleb(exp), rounding=ROUND_HALF_UP, context=CTX)


def round_sig(d: Decimal, digits: int) -> tuple[Decimal, int]:
    """d (nonzero) rounded to `digits` significant digits, and its decimal exponent
    (9.9996 -> 10.00, exponent 1)."""
    e = d.adjusted()
    r = quantize(d, e - digits + 1)
    if r.adjusted() > e:
        e = r.adjusted()
        r = quantize(d, e - digits + 1)
    return r, e


def shown_decimal(d: Decimal, digits: int) -> Decimal:
    """The exact decimal a finite d prints as, with the trailing zeros of its rounding."""
    if isinstance(digits, Decimals):  # a fixed number of places; a shorter exact d as it is
        short = d.normalize(CTX)
        exponent = int(short.as_tuple().exponent)  # finite d: an int
        if d == 0 or -exponent <= digits:
            return short if exponent <= 0 else short.quantize(Decimal(1))
        return quantize(d, -int(digits))
    if d == 0 or sig(d) <= digits:
        return d
    r, e = round_sig(d, digits)
    if SCI_SMALL <= abs(r) < SCI_LARGE and e >= digits:  # 224, not 220
        r = quantize(d, 0)
    return r


def shown(x: float, digits: int) -> float:
    """x as the document prints it with `digits` significant digits, as a float."""
    x = float(x)
    if x == 0 or not math.isfinite(x):
        return x
    return float(shown_decimal(true_decimal(x), digits))


def shown_array(a: Any, digits: int) -> np.ndarray:
    """`shown` of every entry. In floats where that is certainly right: the scaled value
    well away from a tie, its exponent sure, under 10**digits (no integer rule), and the
    quotient or product by an exact power of ten correctly rounded, so it is the float of
    the rounded decimal; `shown` (in Decimal) for the rest."""
    arr = np.asarray(a, dtype=float)
    if not arr.size:
        return arr
    if isinstance(digits, Decimals):  # the float path below counts significant digits
        return np.vectorize(lambda t: shown(float(t), digits), otypes=[float])(arr)
    out = arr.copy()
    x = np.abs(arr)
    ok = np.isfinite(x) & (x > 0) & (x < 1e15) & (x > 1e-280)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        e = np.floor(np.log10(np.where(ok, x, 1.0))).astype(int)
        k = digits - 1 - e                                   # x * 10**k has `digits` digits
        p = 10.0 ** np.abs(k)
        y = np.where(k >= 0, x * p, x / p)
        r = np.floor(y + 0.5)
        frac = y - np.floor(y)
        ok &= (np.abs(frac - 0.5) > 1e-6) & (y >= 10 ** (digits - 1)) & (y < 10 ** digits)
        ok &= (e < digits) & (np.abs(k) <= 22)               # 10**|k| exact in a float
        v = np.where(k >= 0, r / p, r * p)
    out[ok] = np.copysign(v, arr)[ok]
    rest = ~ok & np.isfinite(arr) & (arr != 0)
    if rest.any():
        out[rest] = [shown(float(t), digits) for t in arr[rest]]
    return out


@functools.lru_cache(maxsize=4096)  # a rounding path asks for the same few constants often
def one_minus(x: float, power: int = 1) -> float:
    """1 - x**power on the decimal as written (1 - 0.999 is 0.001, not 0.0010000000000000009)."""
    return float(1 - const(x) ** power)


# --- which numbers a worked line of a network problem substitutes ---------------------------

def per_sample_shown(units: tuple[int, ...], m: int, has_per_sample: bool) -> int:
    """How many samples' dW the backward pass writes out (0: none)."""
    return min(m, PER_SAMPLE_SHOWN) if has_per_sample and max(units) <= PER_SAMPLE_MAX_UNITS else 0


def large_network(units: tuple[int, ...]) -> bool:
    """A layer (inputs included) wider than PER_SAMPLE_MAX_UNITS: the worked lines give each
    product's result and one entry written out, not the tall matrices it multiplies, and the
    trained parameters are left to answers.json (docs/spec.md, 'Large networks')."""
    return max(units) > PER_SAMPLE_MAX_UNITS


def dw_as_sum(units: tuple[int, ...], l: int, m: int, has_per_sample: bool, l2: float) -> bool:
    """dW_l as (1/m)(the per-sample matrices added up), rather than (1/m) H^T dZ."""
    return (per_sample_shown(units, m, has_per_sample) == m and m > 1 and not l2
            and m * units[l - 1] * units[l] <= SUM_MAX_NUMBERS)


def db_as_rows(m: int, out_units: int) -> bool:
    """db_l as dZ's rows added up (each row written out), rather than its column sums."""
    return m <= PER_SAMPLE_SHOWN and out_units * m <= ROWS_MAX_NUMBERS


def cancellation_digits(terms: np.ndarray, mean: np.ndarray, d: int, most: int = 12) -> int:
    """Significant digits for the terms of a sum that nearly cancels, so that the terms as
    printed show the result: 0.5000 + 0.5000 - 0.5000 - 0.5000 = -1.444e-7 reads as an error.
    Enough that a unit in the last digit of the largest term (per column) is at most a tenth
    of the result (`mean`, the sum over the terms' rows divided by their count); d when nothing
    cancels; at most `most`."""
    if isinstance(d, Decimals):  # places, not significant digits: the terms as they are
        return d
    terms = np.abs(np.atleast_2d(terms))
    mean = np.abs(np.atleast_1d(mean).ravel())
    need = d
    for r, b in zip(mean, terms.max(axis=0).ravel(), strict=True):
        if r > 0 and b > 0 and np.isfinite(b) and np.isfinite(r):
            need = max(need, int(np.ceil(np.floor(np.log10(b)) + 2 - np.log10(r) - 1e-9)))
    return min(need, max(most, d))


def targets_add_up(Y: np.ndarray) -> bool:
    """Each target row adds up to 1 (one-hot, or a distribution): softmax with cross-entropy
    then has dZ = Yhat - Y, and otherwise Yhat (.) (Y 1) - Y, with the row sums printed."""
    return bool(np.allclose(Y.sum(axis=1), 1.0, rtol=0, atol=1e-12))


def closed_scale(loss: str, k: int, factor: float) -> float:
    """The number the closed form of dZ prints before (Yhat - Y), as printed ('{:g}')."""
    if loss == "bce":
        return float(f"{factor:g}") / k
    if loss == "cce":
        return float(f"{factor:g}")
    return float(f"{2 * factor / (k if loss == 'mse' else 1):g}")


def softmax_shifted(z: np.ndarray) -> bool:
    return bool(np.max(z) > SOFTMAX_SHIFT)


# --- expression problems ------------------------------------------------------------------

def shown_argument(tree: ast.Expression) -> ast.expr | None:
    """The argument of a step f(...) whose value the key prints on a line of its own
    (sqrt(a + b) = sqrt(7)): a call's first argument unless it is a name or a number."""
    body = tree.body
    if isinstance(body, ast.Call) and isinstance(body.func, ast.Name) and body.args:
        arg = body.args[0]
        if not isinstance(arg, ast.Name | ast.Constant) and body.func.id not in ("outer", "transpose"):
            return arg
    return None
