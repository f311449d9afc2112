"""Where a network problem's data comes from (inline, generated, a scikit-learn data set or
a csv file) and the held-out test split."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from .fields import Matrix, Seed, Strict, Table, one_of


class Data(Strict):
    X: Table | None = None  # a matrix, or [samples, steps, features], [samples, C, H, W]
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
        return None if v is None else one_of(
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
        return None if v is None else one_of(
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


class Split(Strict):
    """A held-out test set: `test` is its share of the samples (stratified for classes)."""

    test: Annotated[float, Field(gt=0, le=0.9)]
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 0
    stratify: bool = True

