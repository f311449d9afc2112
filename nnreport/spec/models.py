"""The spec as validated pydantic models (shape only; cross-field checks live in resolve.py).

docs/spec.md documents every field and convention; keep the two in step.
The building blocks are in fields.py, the network's models in network_models.py, the data's in
data_models.py; a problem and the spec are here.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from .data_models import Data, Split
from .fields import CONSTRAINTS as CONSTRAINTS
from .fields import (
    FIGURE_KINDS,
    RUN_NAME,
    SHOW_STEPS,
    SYMBOL_FAMILIES,
    Digits,
    Strict,
    Value,
    one_of,
)
from .fields import Fill as Fill
from .fields import suggest as suggest
from .network_models import Loss, Network, Regularization, Train
from .texsafe import NAME_HINT, name_ok


class Section(Strict):
    title: str
    text: str = ""


class Experiment(Strict):
    """A named variation of its problem, trained from the same initial weights: any of these
    settings, merged into the problem's own (e.g. train: {optimizer: sgd})."""

    name: Annotated[str, Field(min_length=1, max_length=40, pattern=RUN_NAME)]
    train: dict[str, Any] | None = None
    regularization: dict[str, Any] | None = None
    network: dict[str, Any] | None = None
    loss: Any = None


Points = Annotated[float, Field(gt=0, le=1000)] | dict[str, Annotated[float, Field(ge=0, le=1000)]]
Space = Annotated[str, Field(pattern=r"^(auto|0|[0-9]{1,2}(\.[0-9]{1,2})?(cm|mm|in|em|pt))$")]


class Problem(Strict):
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$", max_length=64)]
    title: str = ""
    text: str = ""
    layout: Literal["rows", "columns"] | None = None
    digits: Digits | None = None
    digits_for: dict[str, Digits] = {}  # per value, canonical names
    # network problems
    data: Data | None = None
    network: Network | None = None
    params: dict[str, Value] = {}
    names: dict[str, str] = {}
    symbols: dict[str, str] = {}  # the course's letters for a family: {Z: net, H: o, dZ: Err}
    loss: Loss | None = None
    regularization: Regularization = Regularization()
    train: Train = Train()
    show: list[str] | None = None
    figures: list[str] | None = None
    constraints: list[str | dict[str, float]] = []
    worked_samples: Annotated[int, Field(ge=1, le=50)] | None = None  # worked step on the first k
    worked_steps: Annotated[int, Field(ge=1, le=10)] = 1  # the first k optimiser steps worked
    split: Split | None = None            # a held-out test set (reports)
    rounding: Literal["full", "chain"] | None = None  # what the key expects (default: the spec's)
    delta: Literal["gradient", "error"] = "gradient"  # error: the key shows delta = -dL/dZ
    experiments: dict[Annotated[str, Field(min_length=1, max_length=40,  # a group's name, as
                                           pattern=RUN_NAME)],  # a run's
                      Annotated[list[Experiment], Field(min_length=1, max_length=8)]] = {}
    # the question sheet: what is asked, for how many points, with how much help and room
    ask: list[str] | None = None          # canonical names (Z1, dW1, ...); default: every step
    points: Points | None = None          # the problem's total, or {name: points}
    scaffold: Literal["full", "results", "none"] | None = None
    space: Space | None = None            # working room after each part: auto, 3cm, 0
    # expression problems
    given: dict[str, Value] = {}
    compute: list[dict[str, str | float]] = []

    @field_validator("loss", mode="before")
    @classmethod
    def _loss(cls, v: Any) -> Any:
        return {"name": v} if isinstance(v, str) else v

    @field_validator("delta", mode="before")
    @classmethod
    def _delta(cls, v: Any) -> str:  # the error-signal convention: delta = -dL/dZ
        return one_of(v, ("gradient", "error"), "delta (the key's error signal)")

    @field_validator("show", mode="before")
    @classmethod
    def _show(cls, v: Any) -> Any:
        return v if not isinstance(v, list) else [one_of(x, SHOW_STEPS, "step to show") for x in v]

    @field_validator("figures", mode="before")
    @classmethod
    def _fig(cls, v: Any) -> Any:
        return v if not isinstance(v, list) else [one_of(x, FIGURE_KINDS, "figure") for x in v]

    @field_validator("constraints", mode="before")
    @classmethod
    def _constraints(cls, v: Any) -> Any:
        if not isinstance(v, list):
            return v
        out = []
        for c in v:
            if isinstance(c, dict) and len(c) != 1:
                raise ValueError(f"a constraint with a value is one 'name: value' pair, not "
                                 f"{len(c)}: write each as its own list entry")
            name = next(iter(c)) if isinstance(c, dict) else c
            if isinstance(c, dict) and not (isinstance(c[name], int | float)
                                            and -1e300 < c[name] < 1e300):
                raise ValueError(f"{name}: {c[name]!r} is not a finite number")
            if isinstance(name, str):  # kept as its canonical name: ' No_Dead_Relu ' is
                name = one_of(name, tuple(CONSTRAINTS), "constraint")  # no_dead_relu
                c = {name: c[next(iter(c))]} if isinstance(c, dict) else name
            out.append(c)
        return out

    @field_validator("names")
    @classmethod
    def _names(cls, v: dict[str, str]) -> dict[str, str]:
        for k, name in v.items():
            if len(name) > 16 or not name_ok(name):  # x__ or A_ would be x^{} and A_{} in TeX
                raise ValueError(f"display name {name!r} for {k}: use {NAME_HINT}, "
                                 "at most 16 characters")
        return v

    @field_validator("symbols")
    @classmethod
    def _symbols(cls, v: dict[str, str]) -> dict[str, str]:
        for k, name in v.items():
            if k not in SYMBOL_FAMILIES:
                raise ValueError(f"symbols: cannot rename '{k}'; {suggest(k, SYMBOL_FAMILIES)} "
                                 "(a family of the key's names: Z renames Z1, Z2, ...)")
            if len(name) > 16 or not name_ok(name):
                raise ValueError(f"symbol {name!r} for {k}: use {NAME_HINT}, "
                                 "at most 16 characters")
        shown = {f: v.get(f, f) for f in SYMBOL_FAMILIES}  # what the key writes for each family
        for g in ("W", "b", "theta"):  # a gradient family not given: d before its parameter's
            shown["d" + g] = v.get("d" + g, "d" + shown[g])
        taken = {"X": "the inputs", "Y": "the targets", "L": "the loss"}
        for f, name in shown.items():
            if name in taken:  # the defaults differ, so one of the two is given
                raise ValueError(f"symbols: {name!r} would name both {taken[name]} and {f} "
                                 "(the key could not tell them apart); choose another symbol")
            taken.setdefault(name, f)
        return v

    @model_validator(mode="after")
    def _symbols_need_a_network(self) -> Problem:
        if self.symbols and self.network is None:
            raise ValueError("symbols: renames a network problem's families (Z, H, dZ, W, ...); "
                             "an expression problem's steps are named as written (or by names:)")
        return self

    @property
    def kind(self) -> str:
        return "network" if self.network is not None else "expression"


class Spec(Strict):
    title: str
    course: str = ""
    author: str = ""
    date: str = ""
    instructions: str = ""
    layout: Literal["rows", "columns"] = "rows"
    document: Literal["exam", "report"] = "exam"
    digits: Digits = 4
    sections: list[Section | Literal["results"]] = []
    max_tries: Annotated[int, Field(ge=1)] = 200  # draws per variant; bounded by variant_work
    scaffold: Literal["full", "results", "none"] = "full"   # question sheets; problems override
    space: Space = "auto"
    name_line: bool = True                 # a name and ID line on the question sheet
    appendix: list[Literal["code"]] = []   # reports: the NumPy script of each network problem
    rounding: Literal["full", "chain"] = "full"  # chain: intermediates rounded to digits first
    problems: Annotated[list[Problem], Field(min_length=1, max_length=200)]
