"""Turn pydantic's validation errors into located, teacher-readable issues."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import Issue, SpecError
from .models import Spec, suggest
from .yamlio import Located

_VALUE_HELP = "a number, a list of numbers, a matrix (a list of rows) or {fill: v, shape: [rows, cols]}"


def _unwrap(tp: Any, step: Any) -> Any:
    """The type reached from `tp` by indexing with `step` (a key or a list index)."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0], step)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            got = _unwrap(arg, step)
            if got is not None:
                return got
        return None
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        f = next((f for n, f in tp.model_fields.items() if step in (n, f.alias)), None) \
            if isinstance(step, str) else None
        return f.annotation if f else None
    if origin is list and isinstance(step, int):
        return typing.get_args(tp)[0]
    if origin is dict and isinstance(step, str):
        return typing.get_args(tp)[1]
    return None


def _model_at(path: tuple[Any, ...]) -> type[BaseModel] | None:
    tp: Any = Spec
    for step in path:
        tp = _unwrap(tp, step)
        if tp is None:
            return None
    while typing.get_origin(tp) in (typing.Annotated, typing.Union, types.UnionType):
        models = [a for a in typing.get_args(tp) if isinstance(a, type) and issubclass(a, BaseModel)]
        tp = models[0] if models else typing.get_args(tp)[0]
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _keys(model: type[BaseModel]) -> list[str]:
    """The keys a model takes as a spec writes them (a field's alias: a layer's `return`)."""
    return [f.alias or name for name, f in model.model_fields.items()]


def _clean(loc: tuple[Any, ...], data: Any) -> tuple[Any, ...]:
    """Keep only the loc steps that index into the data (drop union-member tags)."""
    out: list[Any] = []
    cur = data
    for step in loc:
        if isinstance(cur, dict) and isinstance(step, str) and step in cur:
            cur = cur[step]
            out.append(step)
        elif isinstance(cur, list) and isinstance(step, int) and 0 <= step < len(cur):
            cur = cur[step]
            out.append(step)
        elif isinstance(cur, dict) and isinstance(step, str) and step not in cur and not out[-1:] == [step]:
            # a missing required field or an extra key: keep it as the last step
            if step.isidentifier():
                out.append(step)
            break
    return tuple(out)


def _describe(path: tuple[Any, ...]) -> str:
    return ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in path).replace(".[", "[")


def to_issues(err: ValidationError, doc: Located) -> list[Issue]:
    grouped: dict[tuple[Any, ...], list[Any]] = {}
    for e in err.errors():
        path = _clean(tuple(e["loc"]), doc.data)
        grouped.setdefault(path, []).append(e)
    issues: list[Issue] = []
    # a misspelt required key shows up twice (missing + unknown): keep only the unknown one
    suggested = set()
    for path, errs in grouped.items():
        if errs[0]["type"] == "extra_forbidden":
            model = _model_at(path[:-1])
            if model:
                for name in _keys(model):
                    if suggest(path[-1], [name]).startswith("did you mean"):
                        suggested.add(path[:-1] + (name,))
    for path, errs in grouped.items():
        if errs[0]["type"] == "missing" and path in suggested:
            continue
        first = errs[0]
        field = _describe(path) or "spec"
        if first["type"] == "extra_forbidden":
            model = _model_at(path[:-1])
            allowed = _keys(model) if model else []
            hint = suggest(path[-1], allowed) if allowed else ""
            issues.append(doc.issue(path, f"unknown key '{path[-1]}' in {_describe(path[:-1]) or 'the spec'}", hint, key=True))
        elif first["type"] == "missing":
            issues.append(doc.issue(path[:-1], f"missing required key '{path[-1]}'"
                                    f" in {_describe(path[:-1]) or 'the spec'}"))
        elif len(errs) > 1 and path and path[-2:-1] in (("params",), ("given",)):
            issues.append(doc.issue(path, f"{field}: not a valid value", f"expected {_VALUE_HELP}"))
        else:
            msgs = []
            for e in errs:
                m = str(e["msg"]).removeprefix("Value error, ")
                if e["type"] in ("float_parsing", "float_type", "int_parsing", "int_type"):
                    m = f"expected a number, got {e.get('input')!r}"
                if m not in msgs:
                    msgs.append(m)
            issues.append(doc.issue(path, f"{field}: " + "; or ".join(msgs[:3])))
    return issues


def validate(doc: Located) -> Spec:
    if not isinstance(doc.data, dict):
        raise SpecError([doc.issue((), "a spec is a mapping with title: and problems:",
                                   "see docs/spec.md for an example")])
    try:
        return Spec.model_validate(doc.data)
    except ValidationError as e:
        raise SpecError(to_issues(e, doc)) from None
