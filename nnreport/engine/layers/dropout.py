"""Dropout (issue 25), inverted, with the mask given in the spec: a hand-worked problem cannot
draw random numbers, so the problem states which units are dropped (mask entry 0) and which are
kept (1), one entry per entry of the layer's input H{l-1}:

    H = H_prev * mask / (1 - p),    dH_prev = dH * mask / (1 - p).

Kept units are scaled by 1/(1 - p) in training so that nothing changes at test time (inverted
dropout, as PyTorch's). The layer has no parameters. On exact rationals 1/(1 - p) is exact
(p = 0.5 doubles, p = 0.2 multiplies by 5/4), so the exact chain continues through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import exact
from ..exact import Exact

Array = np.ndarray


def check_p(p: Any) -> float:
    """p, the probability of dropping a unit, as a float in [0, 1); ValueError otherwise."""
    if isinstance(p, bool) or not isinstance(p, int | float | np.integer | np.floating) \
            or not 0 <= p < 1:
        raise ValueError(f"dropout's p is the probability of dropping a unit, 0 or more and "
                         f"less than 1, not {p!r}")
    return float(p)


def _where(index: tuple[int, ...]) -> str:
    if len(index) == 2:
        return f"row {index[0] + 1}, column {index[1] + 1}"
    return "entry [" + ", ".join(str(i + 1) for i in index) + "]"


def check_mask(mask: Any, shape: Sequence[int], what: str = "the layer's input") -> Array:
    """The mask as a float array of 0s and 1s of `shape` (H{l-1}'s; `what` names it in the
    message); ValueError, saying which entry or which size is wrong, otherwise."""
    if isinstance(mask, list) and mask and all(isinstance(r, list) for r in mask):
        lengths = sorted({len(r) for r in mask})
        if len(lengths) > 1:
            raise ValueError(f"the dropout mask's rows have different lengths {lengths}")
    try:
        if any(isinstance(v, str | bytes) for v in np.array(mask, dtype=object).flat):
            raise TypeError
        a = np.array(mask, dtype=float)
    except (TypeError, ValueError):
        raise ValueError("the dropout mask is a table of 0s and 1s, one per entry of "
                         f"{what}") from None
    if a.shape != tuple(shape):
        raise ValueError(f"the dropout mask has shape {list(a.shape)}, expected "
                         f"{list(shape)} (the shape of {what}: one 0 or 1 per entry)")
    bad = ~((a == 0) | (a == 1))
    if bad.any():
        i = tuple(int(v) for v in np.argwhere(bad)[0])
        raise ValueError(f"the dropout mask holds {_entry(mask, i)} at {_where(i)}; a mask "
                         f"entry is 0 (the unit is dropped) or 1 (kept)")
    return a


def _entry(mask: Any, index: tuple[int, ...]) -> Any:
    """The entry as the spec wrote it (2, not 2.0), for the message."""
    v = mask
    try:
        for i in index:
            v = v[i]
    except (TypeError, IndexError, KeyError):
        v = np.asarray(mask, dtype=float)[index]
    return v


def _check(h: Any, mask: Any) -> None:
    if np.shape(h) != np.shape(mask):
        raise ValueError(f"the dropout mask has shape {list(np.shape(mask))}, but the array "
                         f"it masks is {list(np.shape(h))}")


def forward(h: Array, mask: Array, p: float) -> Array:
    """H = H_prev * mask / (1 - p)."""
    _check(h, mask)
    return h * mask / (1 - check_p(p))


def back(dh: Array, mask: Array, p: float) -> Array:
    """dH_prev = dH * mask / (1 - p): a dropped unit passes no gradient."""
    return forward(dh, mask, p)


def exact_forward(h: Exact | None, mask: Array, p: float) -> Exact | None:
    """forward on exact rationals: the mask's 0s and 1s and 1/(1 - p) as exact fractions."""
    if h is None:
        return None
    _check(h, mask)
    keep = 1 / (1 - exact.const(check_p(p)))
    r = exact.rational(mask)
    assert r is not None  # a checked mask is finite
    return np.asarray(h * r * keep, dtype=object)


def exact_back(dh: Exact | None, mask: Array, p: float) -> Exact | None:
    return exact_forward(dh, mask, p)
