"""The spec as validated pydantic models (shape only; cross-field checks live in check.py).

docs/spec.md documents every field and convention; keep the two in step.
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    WrapValidator,
    field_validator,
    model_validator,
)

from .digits import Decimals
from .layertypes import PARAMS
from .texsafe import NAME_HINT, name_ok

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
               "distinct_versions": 0.0}


def suggest(word: str, choices: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.5)
    return f"did you mean '{close[0]}'?" if close else "choose one of: " + ", ".join(choices)


def _one_of(value: Any, choices: tuple[str, ...], what: str) -> str:
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


class Fill(Strict):
    fill: float
    shape: list[Annotated[int, Field(ge=1, le=100_000)]] | None = None


Value = float | list[float] | Matrix | Fill


class Layer(Strict):
    units: Annotated[int, Field(ge=1, le=100_000)]
    activation: str = "sigmoid"
    alpha: float = 0.01
    bias: bool | Literal["threshold"] = True  # threshold: theta on a -1 input, z = W x - theta
    type: str = "dense"  # a registered layer type (spec/layertypes.py, engine/layers/)

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, v: Any) -> str:
        return _one_of(v, tuple(PARAMS), "layer type")

    @field_validator("activation", mode="before")
    @classmethod
    def _act(cls, v: Any) -> str:
        return _one_of(v, ACTIVATION_NAMES, "activation")

    @field_validator("bias", mode="before")
    @classmethod
    def _bias(cls, v: Any) -> Any:
        if isinstance(v, bool):
            return v
        if isinstance(v, str) and v.strip().lower() == "threshold":
            return "threshold"
        raise ValueError(f"bias {v!r}: write true (a bias b, z = W x + b), false (none) or "
                         "threshold (a threshold theta on a -1 input, z = W x - theta)")


class Init(Strict):
    method: str = "randn"
    seed: Seed = 0
    scale: float = 0.01

    @field_validator("method", mode="before")
    @classmethod
    def _m(cls, v: Any) -> str:
        return _one_of(v, ("randn", "xavier", "he", "uniform"), "init method")


class Network(Strict):
    layers: Annotated[list[Layer], Field(min_length=1, max_length=50)]
    init: Init = Init()


class Loss(Strict):
    name: str
    eps: float | None = Field(default=None, ge=0, le=0.1)
    reduction: Literal["mean", "sum"] = "mean"
    factor: float = Field(default=1.0, gt=0)

    @field_validator("name", mode="before")
    @classmethod
    def _n(cls, v: Any) -> str:
        return _one_of(v, LOSS_NAMES, "loss")


class Optimizer(Strict):
    name: str = "sgd"
    beta: float = Field(default=0.9, ge=0, lt=1)
    beta1: float = Field(default=0.9, ge=0, lt=1)
    beta2: float = Field(default=0.999, ge=0, lt=1)
    eps: float = Field(default=1e-8, ge=0)  # 0, as hand examples write it: then a zero
                                            # gradient entry is a division by zero (exit 5)

    form: str = "average"   # momentum: average v = beta v + (1-beta) g, p -= lr v;
                            # heavy_ball v = beta v - lr g, p += v (docs/spec.md)
    nesterov: bool = False  # heavy_ball only: p += beta v - lr g (PyTorch's nesterov)

    @field_validator("name", mode="before")
    @classmethod
    def _n(cls, v: Any) -> str:
        return _one_of(v, OPTIMIZER_NAMES, "optimizer")

    @field_validator("form", mode="before")
    @classmethod
    def _f(cls, v: Any, info: ValidationInfo) -> str:
        form = _one_of(v, MOMENTUM_FORMS, "momentum form")
        if form != "average" and info.data.get("name") != "momentum":
            raise ValueError(f"form: {form} is a form of momentum, not of "
                             f"{info.data.get('name')}; use name: momentum, or drop form")
        return form

    @field_validator("nesterov")
    @classmethod
    def _nest(cls, v: bool, info: ValidationInfo) -> bool:
        if v and (info.data.get("name") != "momentum" or info.data.get("form") != "heavy_ball"):
            raise ValueError("nesterov: true needs name: momentum with form: heavy_ball "
                             "(v = beta v - lr g, p += beta v - lr g); the average form has "
                             "no Nesterov variant here")
        return v

    def setup(self) -> dict[str, Any]:
        """The resolved optimizer: every field, but form and nesterov only when not their
        defaults (an experiment's settings in the JSON stay as they were)."""
        d = self.model_dump()
        if d["form"] == "average":
            del d["form"]
        if not d["nesterov"]:
            del d["nesterov"]
        return d


class Shuffle(Strict):
    seed: Seed = 0


class Train(Strict):
    optimizer: Optimizer = Optimizer()
    lr: float = Field(default=0.1, gt=0)
    epochs: Annotated[int, Field(ge=1)] = 1  # bounded by the train_work and train_steps budgets
    batch_size: Annotated[int, Field(ge=1)] | None = None
    shuffle: Shuffle | None = None
    freeze: list[str] = []
    log_every: Annotated[int, Field(ge=1)] | None = None
    state: dict[str, Value] = {}  # the optimiser state before the first step: W1_v: ...

    @field_validator("optimizer", mode="before")
    @classmethod
    def _opt(cls, v: Any) -> Any:
        return {"name": v} if isinstance(v, str) else v


class Regularization(Strict):
    l2: float = Field(default=0.0, ge=0)


class Data(Strict):
    X: Matrix | None = None
    Y: Matrix | list[float] | None = None
    generate: str | None = None
    load: str | None = None
    csv: str | None = None
    target: str | list[str] | None = None
    n_samples: Annotated[int, Field(ge=1)] | None = None  # bounded by the data_entries budget
    n_features: Annotated[int, Field(ge=1, le=10_000)] | None = None
    n_classes: Annotated[int, Field(ge=2, le=1000)] | None = None
    noise: float | None = Field(default=None, ge=0)
    factor: float | None = None
    seed: Seed | None = None
    one_hot: bool | None = None
    features: list[str] | None = None
    normalize: Literal["none", "standard", "minmax"] = "none"

    @field_validator("generate", mode="before")
    @classmethod
    def _g(cls, v: Any) -> Any:
        return None if v is None else _one_of(
            v, ("moons", "circles", "blobs", "classification", "random"), "generator")

    @field_validator("csv")
    @classmethod
    def _c(cls, v: str | None) -> str | None:
        if v is not None and (not v.strip() or any(ord(ch) < 32 or ord(ch) == 127 for ch in v)
                              or len(v) > 255):
            raise ValueError("a csv path is a file name relative to the spec (at most 255 "
                             "characters, no control characters such as a null byte)")
        return v

    @field_validator("load", mode="before")
    @classmethod
    def _l(cls, v: Any) -> Any:
        return None if v is None else _one_of(
            v, ("iris", "digits", "wine", "breast_cancer"), "data set")

    @model_validator(mode="after")
    def _exactly_one(self) -> Data:
        sources = [k for k in ("X", "generate", "load", "csv") if getattr(self, k) is not None]
        if len(sources) != 1:
            raise ValueError(
                "data needs exactly one source: inline X (with Y), generate, load or csv; "
                f"found {', '.join(sources) or 'none'}")
        if self.X is not None and self.Y is None:
            raise ValueError("inline data needs Y as well as X")
        if self.csv is None and (self.target is not None or self.features is not None):
            raise ValueError("target: and features: choose columns of a csv: file")
        return self

    @field_validator("factor")
    @classmethod
    def _factor(cls, v: float | None, info: ValidationInfo) -> float | None:
        if v is not None and not 0 <= v < 1:
            raise ValueError(f"factor {v:g}: the inner circle's radius is at least 0 and "
                             "below 1 (the outer one's)")
        return v

    @field_validator("n_classes")
    @classmethod
    def _classes(cls, v: int | None, info: ValidationInfo) -> int | None:
        f = info.data.get("n_features") or 2
        if v is not None and info.data.get("generate") == "classification" and v > 2 ** min(f, 2):
            # scikit-learn puts each class on a corner of a hypercube of informative features
            raise ValueError(f"generate: classification makes at most {2 ** min(f, 2)} classes "
                             f"from {f} feature{'s' if f > 1 else ''}, not {v}")
        return v


class Section(Strict):
    title: str
    text: str = ""


class Split(Strict):
    """A held-out test set: `test` is its share of the samples (stratified for classes)."""

    test: Annotated[float, Field(gt=0, le=0.9)]
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 0
    stratify: bool = True


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
        return _one_of(v, ("gradient", "error"), "delta (the key's error signal)")

    @field_validator("show", mode="before")
    @classmethod
    def _show(cls, v: Any) -> Any:
        return v if not isinstance(v, list) else [_one_of(x, SHOW_STEPS, "step to show") for x in v]

    @field_validator("figures", mode="before")
    @classmethod
    def _fig(cls, v: Any) -> Any:
        return v if not isinstance(v, list) else [_one_of(x, FIGURE_KINDS, "figure") for x in v]

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
                name = _one_of(name, tuple(CONSTRAINTS), "constraint")  # no_dead_relu
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
