"""A spec's literal values as arrays (numbers, lists, matrices, fills), shapes and budgets
checked; shared by the network and the expression resolvers."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..budgets import DEFAULT, Budgets
from .models import Fill

Array = np.ndarray


def value_of(v: Any, shape: tuple[int, ...] | None, what: str,
           budgets: Budgets = DEFAULT) -> Array:
    """A spec value (number, list, matrix or fill) as an array; checks `shape` if given."""
    if isinstance(v, Fill):
        if v.shape is None and shape is None:
            raise ValueError(f"{what}: {{fill: {v.fill}}} needs shape: [rows, cols] here")
        want = tuple(v.shape) if v.shape is not None else shape
        assert want is not None
        if len(want) > 2:
            raise ValueError(f"{what}: shape {list(want)} has more than two dimensions")
        if shape is None and math.prod(want) > budgets.compute_entries:
            raise BudgetError(f"{what}: shape {list(want)} has {math.prod(want):,} entries",
                              budgets.hint("compute_entries"))
        if shape is not None and tuple(want) != shape:
            raise ValueError(f"{what}: shape {list(want)} does not fit; expected {list(shape)}")
        return np.full(want, float(v.fill))
    if isinstance(v, list) and v and isinstance(v[0], list):
        lengths = {len(r) for r in v}
        if len(lengths) > 1:
            raise ValueError(f"{what}: rows have different lengths {sorted(lengths)}")
    a = np.array(v, dtype=float)
    if shape is not None:
        if a.ndim == 0:
            return np.full(shape, float(a))
        if a.ndim == 1 and 1 in shape and a.size == int(np.prod(shape)):
            return a.reshape(shape)
        if a.shape != shape:
            raise ValueError(f"{what} has shape {list(a.shape)}, expected {list(shape)}")
    return a


class BudgetError(ValueError):
    """A value past a budget; `hint` says which budget and how to raise it."""

    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.hint = hint


def constraint_of(c: str | dict[str, float]) -> tuple[str, float]:
    from .models import CONSTRAINTS

    if isinstance(c, dict):
        (name, value), = c.items()
        return str(name), float(value)
    return c, CONSTRAINTS[c]
