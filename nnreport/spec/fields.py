"""What every spec model is built from: the names a field may take (activations, losses,
optimisers, steps, figures, the symbol families, constraints with their defaults), `suggest`
for an unknown one, the `Strict` base (no unknown keys, no NaN), and the value types (Seed,
Digits, Matrix, Fill, Value). docs/spec.md documents them."""

from __future__ import annotations

import difflib
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, WrapValidator

from .digits import Decimals

ACTIVATION_NAMES = ("sigmoid", "relu", "leaky_relu", "tanh", "linear", "softmax")
LOSS_NAMES = ("mse", "sse", "bce", "cce")
OPTIMIZER_NAMES = ("sgd", "momentum", "adam", "rmsprop")
MOMENTUM_FORMS = ("average", "heavy_ball")
SHOW_STEPS = ("given", "forward", "loss", "backward", "update", "training")
FIGURE_KINDS = ("network", "loss_curve", "activations", "decision_boundary", "data")
SYMBOL_FAMILIES = ("Z", "H", "W", "b", "theta", "dZ", "dH", "dW", "db", "dtheta",
                   "delta")  # what `symbols:` can rename in the key (Z renames Z1, Z2, ...)
CONSTRAINTS = {"no_saturation": 4.0, "no_dead_relu": 0.0, "nonzero_gradient": 0.0,
               "mixed_labels": 0.0, "nonzero_features": 0.0, "no_exact_ties": 0.05,
               "distinct_versions": 0.0, "no_ties": 0.0}


def suggest(word: str, choices: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.5)
    return f"did you mean '{close[0]}'?" if close else "choose one of: " + ", ".join(choices)


def one_of(value: Any, choices: tuple[str, ...], what: str) -> str:
    v = str(value).strip().lower()
    if v not in choices:
        raise ValueError(f"unknown {what} '{value}'; {suggest(v, choices)}")
    return v


Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]


def _digits(v: Any, handler: Any) -> Any:
    """`digits: 4` (significant digits) or `digits: {decimals: 4}` (places after the point)."""
    if isinstance(v, dict):
        if set(v) != {"decimals"}:
            raise ValueError("digits is a number of significant digits (4) or {decimals: 4}")
        return Decimals(handler(v["decimals"]))
    return handler(v)


Digits = Annotated[Annotated[int, Field(ge=1, le=12)], WrapValidator(_digits)]
# experiment groups and runs: safe in TeX once _ is escaped; not starting with _, which a
# plot's legend would hide
RUN_NAME = r"^[A-Za-z0-9 .,=+()-][A-Za-z0-9 _.,=+()-]*$"


class Strict(BaseModel):
    # NaN and inf (`.nan`, `.inf`, `1e400`) are refused wherever a number goes: strict JSON
    # cannot hold them and no worked solution needs them
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


Matrix = list[list[float]]
Tensor3 = list[list[list[float]]]  # X [samples, steps, features], images [samples, h, w]
Tensor4 = list[list[list[list[float]]]]  # X [samples, C, H, W]; a conv kernel W [F, C, kh, kw]


def _depth(v: Any) -> str:
    """How deep the first entries of a nested list go: the one table type it is checked as
    (so a wrong entry of a matrix is one error, not one per table type)."""
    d = 0
    while isinstance(v, list) and v:
        v, d = v[0], d + 1
    return str(min(max(d, 2), 4))


Table = Annotated[Annotated[Matrix, Tag("2")] | Annotated[Tensor3, Tag("3")]
                  | Annotated[Tensor4, Tag("4")], Discriminator(_depth)]


class Fill(Strict):
    fill: float
    shape: list[Annotated[int, Field(ge=1, le=100_000)]] | None = None


Value = float | list[float] | Matrix | Tensor3 | Tensor4 | Fill
