"""The network's part of a problem: its layers (units, activation, bias, type), the initial
weights' draw, the loss, the optimiser and training, L2 regularisation."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from . import shaped as _shaped  # noqa: F401  (registers the configured types)
from .fields import (
    ACTIVATION_NAMES,
    LOSS_NAMES,
    MOMENTUM_FORMS,
    OPTIMIZER_NAMES,
    Seed,
    Strict,
    Value,
    one_of,
)
from .layertypes import TYPES

Size = Annotated[int, Field(ge=0, le=10_000)] | list[Annotated[int, Field(ge=0, le=10_000)]]


class Layer(Strict):
    """One layer: dense (`units`, `activation`, `alpha`, `bias`) or another registered type;
    the configured types (spec/shaped.py: conv, pool, flatten, batchnorm, dropout, rnn,
    attention) take their own keys, and the resolver refuses a key its type does not take."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False,
                              populate_by_name=True)
    units: Annotated[int, Field(ge=1, le=100_000)] | None = None  # dense, rnn: required there
    activation: str = "sigmoid"
    alpha: float = 0.01
    bias: bool | Literal["threshold"] = True  # threshold: theta on a -1 input, z = W x - theta
    type: str = "dense"  # a registered layer type (spec/layertypes.py, engine/layers/)
    # conv (filters, kernel, stride, padding), pool (kind, size, stride), batchnorm (eps),
    # dropout (p, mask), rnn (units, activation, return), attention (d_k, d_v, causal)
    filters: Annotated[int, Field(ge=1, le=10_000)] | None = None
    kernel: Size | None = None
    stride: Size | None = None
    padding: Size | None = None
    kind: str | None = None
    size: Size | None = None
    eps: float | None = None
    p: float | None = None
    mask: list[Any] | None = None
    return_: Literal["last", "sequence"] | None = Field(default=None, alias="return")
    d_k: Annotated[int, Field(ge=1, le=10_000)] | None = None
    d_v: Annotated[int, Field(ge=1, le=10_000)] | None = None
    causal: bool | None = None

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, v: Any) -> str:
        return one_of(v, tuple(TYPES), "layer type")

    @field_validator("activation", mode="before")
    @classmethod
    def _act(cls, v: Any) -> str:
        return one_of(v, ACTIVATION_NAMES, "activation")

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
        return one_of(v, ("randn", "xavier", "he", "uniform"), "init method")


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
        return one_of(v, LOSS_NAMES, "loss")


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
        return one_of(v, OPTIMIZER_NAMES, "optimizer")

    @field_validator("form", mode="before")
    @classmethod
    def _f(cls, v: Any, info: ValidationInfo) -> str:
        form = one_of(v, MOMENTUM_FORMS, "momentum form")
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

