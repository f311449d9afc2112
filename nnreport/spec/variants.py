"""Random values in a spec: `{random: integers|uniform|choice, ...}` anywhere a value goes.

A variant's random generator decides every draw, in document order, so the same seed always
gives the same exam. Draws replace the random mappings in the plain YAML data before
validation; positions are kept, so later errors still point into the spec.

- `{random: integers, low: -2, high: 3, shape: [3, 4]}`: whole numbers, both ends included;
- `{random: uniform, low: 0, high: 1, decimals: 1, shape: [2]}`: rounded to `decimals` (1);
- `{random: choice, from: [0.5, 1, 2]}`: one of the listed values (or a matrix of them).
Without `shape` a draw is one number. Drawn entries count against the `yaml_nodes` budget as
if they had been written out, checked before drawing.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..budgets import DEFAULT, Budgets
from ..errors import SpecError
from .yamlio import Located

INT_BOUND = 2.0**53  # integers draws stay exact in a float


class RandomValue(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)

    random: Literal["integers", "uniform", "choice"]
    low: float | None = None
    high: float | None = None
    decimals: Annotated[int, Field(ge=0, le=6)] = 1
    choices: list[float] | None = Field(default=None, alias="from")
    shape: list[Annotated[int, Field(ge=1, le=10_000)]] | None = None


def is_random(node: Any) -> bool:
    return isinstance(node, dict) and "random" in node


def has_random(data: Any) -> bool:
    if is_random(data):
        return True
    if isinstance(data, dict):
        return any(has_random(v) for v in data.values())
    if isinstance(data, list):
        return any(has_random(v) for v in data)
    return False


def _draw(r: RandomValue, rng: np.random.Generator) -> Any:
    shape = tuple(r.shape) if r.shape else ()
    if r.random == "choice":
        if not r.choices:
            raise ValueError("choice needs from: [values]")
        out = rng.choice(np.array(r.choices, dtype=float), size=shape or None)
    else:
        if r.low is None or r.high is None:
            raise ValueError(f"{r.random} needs low: and high:")
        if r.high < r.low:
            raise ValueError(f"high ({r.high:g}) is below low ({r.low:g})")
        if r.random == "integers":
            if max(abs(r.low), abs(r.high)) > INT_BOUND:
                raise ValueError(f"integers are drawn between -2**53 and 2**53, not {r.low:g} to {r.high:g}")
            if math.ceil(r.low) > math.floor(r.high):
                raise ValueError(f"no whole number lies between {r.low:g} and {r.high:g}")
            out = rng.integers(int(np.ceil(r.low)), int(np.floor(r.high)) + 1, size=shape or None)
        else:
            if not math.isfinite(r.high - r.low):
                raise ValueError(f"the range {r.low:g} to {r.high:g} is too wide to draw from")
            out = np.round(rng.uniform(r.low, r.high, size=shape or None), r.decimals)
    a = np.asarray(out, dtype=float)
    return float(a) if a.ndim == 0 else a.tolist()


def instantiate(doc: Located, rng: np.random.Generator, budgets: Budgets = DEFAULT) -> Located:
    """A copy of doc with every random mapping replaced by a draw (document order)."""
    issues = []
    nodes = doc.nodes

    def walk(node: Any, path: tuple[Any, ...]) -> Any:
        nonlocal nodes
        if is_random(node):
            try:
                r = RandomValue.model_validate(node)
                nodes += math.prod(r.shape or ())
                if nodes > budgets.yaml_nodes:
                    issues.append(doc.issue(path, f"random value: drawing shape {r.shape} takes the "
                                            f"spec past {budgets.yaml_nodes:,} values",
                                            budgets.hint("yaml_nodes")))
                    return 0.0
                return _draw(r, rng)
            except ValidationError as e:
                first = e.errors()[0]
                where = path + tuple(x for x in first["loc"] if isinstance(x, str) and x in node)
                msg = str(first["msg"]).removeprefix("Value error, ")
                issues.append(doc.issue(where, f"random value: {'.'.join(map(str, first['loc']))}: {msg}",
                                        "e.g. {random: integers, low: -2, high: 3, shape: [3, 4]}"))
            except (ValueError, OverflowError) as e:
                issues.append(doc.issue(path, f"random value: {e}"))
            return 0.0
        if isinstance(node, dict):
            return {k: walk(v, path + (k,)) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, path + (i,)) for i, v in enumerate(node)]
        return node

    data = walk(doc.data, ())
    if issues:
        raise SpecError(issues)
    return Located(doc.file, data, doc.values, doc.keys, nodes)
