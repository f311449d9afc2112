"""The rounded-chain key: every worked value computed from the previous values rounded half-up
to the digits the document prints, as a student with a calculator following the instructions
gets them; and, for each value, the tolerance that accepts both keys and any rounding path a
careful student could take.

The rule: every number a worked line substitutes enters that line as printed. engine/worked.py
computes the worked step line by line, passing each such number (given values, printed
constants, earlier results, printed intermediates) through a *rounder*; a path decides, number
by number, whether the student carried the printed number or the full one. `full` rounds
nothing (the full-precision key, carrying the solution's own values), `chain` rounds
everything, `printed` recomputes each value from the full key's numbers as its line prints
them (a student checking the key line by line). The tolerance of a value is the range it takes
over these paths, PATHS random ones (a fixed seed) and its first-order reach over all paths
(`first_order_reach`), widened by half a unit in the last digit the value is printed with (the
student's own final rounding) and by SLACK for float noise; entry by entry, as `low` and
`high`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from ..spec.cost import CHAIN_PATHS as PATHS
from ..spec.setups import NetworkSetup
from .printed import Decimals, cancellation_digits, given_digits, shown_array
from .worked import Rounder, expression_values, network_values

Array = np.ndarray
SLACK = 1e-9  # relative


def unit(a: Any, digits: int) -> Array:
    """Half a unit in the last printed digit of each entry (0 for 0)."""
    arr = np.abs(np.asarray(a, dtype=float))
    if isinstance(digits, Decimals):  # decimal places: the same unit for every entry
        return np.where((arr > 0) & np.isfinite(arr), 0.5 * 10.0 ** -int(digits), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = np.floor(np.log10(np.where((arr > 0) & np.isfinite(arr), arr, 1.0)))
    return np.where((arr > 0) & np.isfinite(arr), 0.5 * 10.0 ** (e - digits + 1), 0.0)


def along(s: Any, sol: Any, r: Rounder) -> dict[str, Array]:
    if isinstance(s, NetworkSetup):
        batch = ({k: v for k, v in sol.batch.grads.items()} if sol.batch is not None else None)
        out = network_values(s, sol.Xb, sol.Yb, batch, r, per_sample=bool(sol.step.per_sample))
        return later_steps(s, sol, r, out)
    return expression_values(s, r)


def later_steps(s: NetworkSetup, sol: Any, r: Rounder, first: dict[str, Array]
                ) -> dict[str, Array]:
    """`first` and the later worked steps (worked_steps: k) along the same path: step t starts
    from the parameters and optimiser state step t - 1 gave on this path (on the chain, as
    printed: a student carries the rounded W_new into the next step), its values named
    `steps[t-1].<name>` as the JSON's steps list holds them."""
    out, prev, params, state = dict(first), first, dict(s.params), dict(s.state)
    for i, w in enumerate(sol.later, start=1):
        params = {k: prev.get(f"{k}_new", v) for k, v in params.items()}
        state = {k: {st: prev[f"{k}_{st}"] for st in w.state.get(k, {}) if f"{k}_{st}" in prev}
                 for k in params}
        pre = f"steps[{i}]."

        def ri(name: str, v: Array, pre: str = pre) -> Array:
            return r("@" + pre + name[1:] if name.startswith("@") else pre + name, v)
        si = replace(s, params=params, state={k: v for k, v in state.items() if v},
                     worked_samples=None)
        prev = network_values(si, w.Xb, w.Yb, None, ri, per_sample=bool(w.step.per_sample),
                              t=w.t)
        out.update({pre + k: v for k, v in prev.items()})
    return out


def digits_of(s: Any, name: str) -> int:
    """The digits a value of the key is printed with; other printed numbers ('@...') have the
    problem's digits. A later worked step's value (`steps[i].W1_new`) has its own digits_for
    entry if it is asked, else the first step's value's."""
    if name.startswith("@"):  # epsilon prints as given (printed.given_digits)
        return given_digits(s.digits) if name.rpartition(".")[2] in ("@eps", "eps") else s.digits
    base = name.partition("].")[2] if name.startswith("steps[") else name
    return s.digits_for.get(name, s.digits_for.get(base, s.digits))


def printed_digits(s: Any, seen: dict[str, Array]) -> Callable[[str], int]:
    """The digits each number is printed with on the line that uses it. dZ's rows in the bias
    gradient's line get the digits that show a nearly cancelling sum (from the full values,
    as the document decides)."""
    extra = {}
    for name, v in seen.items():
        if name.endswith("|db"):
            extra[name] = cancellation_digits(v, v.sum(axis=0) / v.shape[0],
                                              digits_of(s, name[1:-3]))

    def digits(name: str) -> int:
        return extra[name] if name in extra else digits_of(s, name)
    return digits


def first_order_reach(s: Any, sol: Any, digits: Callable[[str], int]
                      ) -> tuple[dict[str, Array], dict[str, Array], dict[str, Array]]:
    """Each value over all paths, to first order: (its value with nothing rounded, how far down
    and how far up paths can move it). Carrying a number rounded adds its rounding error; that
    error is fixed for a number no earlier rounding moves (a given, a constant: 2 prints as 2,
    error 0) and otherwise ranges over the errors of the values the earlier numbers can move it
    to (any within half a unit once they cross a rounding boundary). So, in the order the
    worked step uses them, each number in turn is moved by its largest error, its smallest,
    and a fixed mix of the two and its opposite (a sum of entries of both signs cancels the
    first two), everything else in full; the largest change this makes to a later number,
    either way, is added to that number's reach. (Random paths alone missed extremes that need
    several choices at once: one fresh path in 15 had a value outside 48 paths' range.)"""
    plain: dict[str, Array] = {}
    again: set[str] = set()  # numbers a path passes more than once (a constant on every line)

    def record(n: str, v: Array) -> Array:
        if n in plain:
            again.add(n)
        plain[n] = v
        return v
    along(s, sol, record)
    order = list(plain)
    down = {k: np.zeros_like(v) for k, v in plain.items()}
    up = {k: np.zeros_like(v) for k, v in plain.items()}
    rs = np.random.RandomState(7)
    for i, name in enumerate(order):
        v0 = plain[name]
        d = digits(name)
        lo, hi = v0 + down[name], v0 + up[name]
        g = shown_array(lo, d)
        same = g == shown_array(hi, d)
        with np.errstate(invalid="ignore"):  # a causal mask's -inf: no error, not NaN
            err_lo = np.where(same & np.isfinite(v0), g - hi, -unit(v0, d))
            err_hi = np.where(same & np.isfinite(v0), g - lo, unit(v0, d))
        mixed = rs.rand(*np.shape(v0)) < 0.5
        moves = []
        for delta in (err_lo, err_hi, np.where(mixed, err_lo, err_hi),
                      np.where(mixed, err_hi, err_lo)):
            if not np.any(delta):
                continue
            moved: dict[str, Array] = {}

            def nudged(n: str, v: Array, name: str = name, delta: Array = delta,
                       moved: dict[str, Array] = moved) -> Array:
                moved[n] = v
                return v + delta if n == name else v
            along(s, sol, nudged)
            moves.append(moved)
        if not moves:
            continue
        later = order[i:] + [k for k in again if order.index(k) < i]  # earlier numbers stay
        for k in later:  # the largest move either way, added to the reach
            v = plain[k]
            with np.errstate(invalid="ignore"):
                ds = np.stack([m.get(k, v) - v for m in moves])
                ds = np.where(np.isfinite(ds), ds, 0.0)
            down[k] = down[k] + np.minimum(ds.min(axis=0), 0.0)
            up[k] = up[k] + np.maximum(ds.max(axis=0), 0.0)
    return plain, down, up


def chain_and_tolerance(s: Any, sol: Any
                        ) -> tuple[dict[str, Array], dict[str, tuple[Array, Array]]]:
    """The chain key and each value's accepted range (low, high; entry by entry), rows
    layout."""
    seen: dict[str, Array] = {}
    key = sol.values()
    for i, st in enumerate(key.get("steps", [])[1:], start=1):  # worked_steps: steps[i].<name>
        key.update({f"steps[{i}].{n}": v for n, v in st.items()})
    columns = isinstance(s, NetworkSetup) and s.layout == "columns"

    def full(name: str, v: Array) -> Array:
        """The full path, carrying the solution's own values (its exact arithmetic, its float
        noise where a sum cancels), so the key is in range and the numbers the document
        derives from them (dyhat, dH ...) are the ones it prints."""
        if name in key and not name.startswith("@"):
            mine = np.asarray(key[name], dtype=float)
            if columns and mine.ndim >= 2:
                mine = np.swapaxes(mine, -1, -2)
            v = mine if mine.shape == v.shape else v
        seen[name] = v
        return v

    base = along(s, sol, full)
    digits = printed_digits(s, seen)

    def chain(name: str, v: Array) -> Array:
        return shown_array(v, digits(name))

    got: dict[str, Array] = {}

    def printed(name: str, v: Array) -> Array:
        got[name] = v
        return shown_array(seen[name], digits(name))

    ch = along(s, sol, chain)
    along(s, sol, printed)
    plain, down, up = first_order_reach(s, sol, digits)
    paths = [ch, got, {k: plain[k] for k in base}, {k: plain[k] + down[k] for k in base},
             {k: plain[k] + up[k] for k in base}]
    rs = np.random.RandomState(20261122)
    for _ in range(PATHS):
        picks: dict[str, bool] = {}

        def some(name: str, v: Array, picks: dict[str, bool] = picks) -> Array:
            if picks.setdefault(name, bool(rs.rand() < 0.5)):
                return shown_array(v, digits(name))
            return v
        paths.append(along(s, sol, some))
    lo = {k: base[k].copy() for k in base}
    hi = {k: base[k].copy() for k in base}
    for path in paths:
        for k in base:
            p = np.where(np.isfinite(path[k]), path[k], base[k])  # a path that breaks: no range
            lo[k] = np.fmin(lo[k], p)
            hi[k] = np.fmax(hi[k], p)
    tol = {}
    for k in base:  # plus float noise: a path's value + half a unit may be a tie that rounds up
        half = np.maximum(unit(lo[k], digits(k)), unit(hi[k], digits(k)))
        noise = SLACK * np.maximum(np.abs(lo[k]), np.abs(hi[k]))
        with np.errstate(invalid="ignore"):  # -inf (a causal mask): no range (null)
            tol[k] = (lo[k] - half - noise, hi[k] + half + noise)
    return ch, tol
