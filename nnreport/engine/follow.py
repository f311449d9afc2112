"""Follow-through marking: a value that is wrong against the key but right when recomputed
from the student's own earlier values (through the same steps as the key, engine/worked.py's
worked step) "follows through": the method is right, an earlier slip carried forward.

Only plausible earlier values are carried: the right shape, finite, and not trivial (all
zeros or all ones, which a student could write without working); anything else is replaced by
the key's value, so a gamed early answer earns no credit downstream."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..spec.setups import ExpressionSetup, NetworkSetup
from .worked import expression_values, network_values

Array = np.ndarray


def plausible(v: Any, shape: tuple[int, ...]) -> Array | None:
    try:
        a = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        return None
    if a.size != int(np.prod(shape)) or not np.all(np.isfinite(a)):
        return None
    a = a.reshape(shape)
    if a.size > 1 and (np.all(a == 0) or np.all(a == 1)):
        return None
    return a


def _rows(v: Array, layout: str) -> Array:
    if layout == "columns" and v.ndim == 3:  # per-sample matrices
        return np.swapaxes(v, 1, 2)
    return v.T if layout == "columns" and v.ndim == 2 else v


def recomputed(s: Any, sol: Any, submitted: dict[str, Any], name: str) -> Array | None:
    """`name` recomputed with every other submitted value in place of the key's (shown layout),
    or None when the problem has no such worked value."""
    layout = s.layout if isinstance(s, NetworkSetup) else "rows"  # expressions: as computed

    def carry(n: str, v: Array) -> Array:
        if n == name or n not in submitted or n.startswith("@"):  # only the key's values
            return v
        got = plausible(submitted[n], _rows(v, layout).shape)  # submitted in the shown layout
        return v if got is None else _rows(got, layout)

    if isinstance(s, NetworkSetup):
        batch = dict(sol.batch.grads) if sol.batch is not None else None
        out = network_values(s, sol.Xb, sol.Yb, batch, carry, per_sample=bool(sol.step.per_sample))
    elif isinstance(s, ExpressionSetup):
        out = expression_values(s, carry)
    else:
        return None
    v = out.get(name)
    return None if v is None else _rows(v, layout)
