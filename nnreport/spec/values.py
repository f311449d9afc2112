"""A spec's literal values as arrays (numbers, lists, matrices, fills), shapes and budgets
checked; shared by the network and the expression resolvers."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..budgets import DEFAULT, Budgets
from .models import Fill

Array = np.ndarray
# the states train.state can set, by optimizer (their canonical JSON names: W1_v ...)
STATES = {"momentum": ("v",), "rmsprop": ("s",), "adam": ("m", "v"), "sgd": ()}


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


def initial_state(given: dict[str, Any], optimizer: str, params: dict[str, Array],
                  layout: str, add: Callable[..., None], at: tuple[Any, ...]
                  ) -> dict[str, dict[str, Array]] | None:
    """train.state's values ({'W1_v': value}) as {param: {state: array}} in the rows layout,
    each the shape of its parameter in the problem's layout; None after a reported error."""
    out: dict[str, dict[str, Array]] = {}
    ok = True
    states = STATES[optimizer]
    for name, v in given.items():
        param, _, st = name.rpartition("_")
        where = at + ("train", "state", name)
        if param not in params or st not in states:
            ok = False
            what = (f"{optimizer} keeps no state" if not states else
                    f"{optimizer} keeps " + " and ".join(states))
            add(where, f"unknown optimiser state '{name}'",
                f"{what}; name a state as parameter_state, e.g. "
                + (", ".join(f"{p}_{s}" for p in list(params)[:2] for s in states)
                   if states else "use momentum, rmsprop or adam"), key=True)
            continue
        shown = params[param].T if layout == "columns" else params[param]
        try:
            a = value_of(v, tuple(shown.shape), name)
        except ValueError as e:
            ok = False
            add(where, str(e), f"{name} has the shape of {param} in the {layout} layout "
                f"({shown.shape[0]} x {shown.shape[1]})")
            continue
        out.setdefault(param, {})[st] = a.T if layout == "columns" else a
    return out if ok else None


def worked_steps_ok(p: Any, chain: bool, m: int, batch_size: int, add: Callable[..., None],
                    at: tuple[Any, ...]) -> bool:
    """worked_steps: k needs k optimiser steps of training and works whole batches: not with
    worked_samples (reported, located)."""
    k = p.worked_steps
    if k == 1:
        return True
    steps = p.train.epochs * -(-m // batch_size)
    where = at + ("worked_steps",)
    if k > steps:
        add(where, f"worked_steps: {k} but training takes {steps} optimiser step"
            + ("s" if steps != 1 else ""), f"raise epochs to {-(-k // -(-m // batch_size))}, "
            f"or work at most {steps} steps")
    elif p.worked_samples is not None:
        add(where, "worked_steps works whole batches; worked_samples works part of the first",
            "drop one of worked_steps and worked_samples")
    else:
        return True
    return False


def step_digits(digits_for: dict[str, Any], ask: list[str] | None) -> dict[str, Any]:
    """digits_for, and for an asked later step's value (steps[1].W1_new) the digits of its
    name (W1_new): what the key prints it with, so check and the exports accept the same."""
    out = dict(digits_for)
    for name in ask or ():
        base = name.partition("].")[2] if name.startswith("steps[") else ""
        if base in digits_for:
            out[name] = digits_for[base]
    return out
