"""Evaluate a checked `compute:` expression tree over NumPy arrays (no eval, no attributes)."""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import ComputeError
from ..spec.expr import index_of, literal_number
from . import exact
from .exact import EXACT_MAX_OPS, Exact
from .functions import sigmoid, softmax

Array = np.ndarray


def _reduce(fn: Callable[..., Array]) -> Callable[..., Array]:
    def call(x: Array, axis: Array | None = None) -> Array:
        return fn(x) if axis is None else fn(x, axis=int(axis))
    return call


FUNCS: dict[str, Callable[..., Array]] = {
    "sigmoid": sigmoid,
    "relu": lambda x: np.maximum(x, 0.0),
    "tanh": np.tanh,
    "softmax": lambda x: softmax(np.atleast_1d(x)),
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "sum": _reduce(np.sum),
    "mean": _reduce(np.mean),
    "max": _reduce(np.max),
    "min": _reduce(np.min),
    "outer": np.outer,
    "transpose": np.transpose,
}


def _index(node: ast.Subscript) -> tuple[int | slice, ...]:
    return tuple(slice(None) if i is None else i for i in index_of(node))


def _size_check(shape: tuple[int, ...], name: str, max_entries: int | None) -> None:
    if max_entries is not None and math.prod(shape) > max_entries:
        raise ComputeError(f"compute '{name}': result would have {math.prod(shape):,} entries "
                           f"(the compute_entries budget is {max_entries})")


def evaluate(tree: ast.Expression, env: dict[str, Array], name: str = "",
             max_entries: int | None = None) -> Array:
    """The value of a checked tree. The spec layer has already bounded every intermediate
    value from the inferred shapes; `max_entries` re-checks broadcasts as a second line."""
    def ev(node: ast.AST) -> Array:
        if isinstance(node, ast.Constant):
            return np.asarray(float(node.value))  # type: ignore[arg-type]
        if isinstance(node, ast.Name):
            return env[node.id]
        if isinstance(node, ast.List | ast.Tuple):
            return np.array([ev(e) for e in node.elts], dtype=float)
        if isinstance(node, ast.UnaryOp):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.Subscript):  # w[0], M[:, 1]: checked against the shapes
            return np.asarray(ev(node.value)[_index(node)], dtype=float)
        if isinstance(node, ast.Attribute):  # only .T passes the checker
            return np.transpose(ev(node.value))
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            return np.asarray(FUNCS[node.func.id](*[ev(a) for a in node.args]), dtype=float)
        if isinstance(node, ast.BinOp):
            a, b = ev(node.left), ev(node.right)
            op = node.op
            if isinstance(op, ast.MatMult):
                if a.ndim == 0 or b.ndim == 0:
                    raise ComputeError(f"compute '{name}': @ needs vectors or matrices, not numbers")
                if a.shape[-1] != b.shape[0]:
                    raise ComputeError(
                        f"compute '{name}': cannot multiply shapes {list(a.shape)} @ {list(b.shape)}",
                    )
                return a @ b
            try:
                _size_check(np.broadcast_shapes(a.shape, b.shape), name, max_entries)
            except ValueError:
                raise ComputeError(f"compute '{name}': shapes {list(a.shape)} and "
                                   f"{list(b.shape)} do not fit together") from None
            if isinstance(op, ast.Add):
                return a + b
            if isinstance(op, ast.Sub):
                return a - b
            if isinstance(op, ast.Mult):
                return a * b
            if isinstance(op, ast.Div):
                return a / b
            return np.power(a, b)
        raise ComputeError(f"compute '{name}': unsupported {type(node).__name__}")

    with np.errstate(all="ignore"):
        try:
            out = ev(tree.body)
        except (ValueError, TypeError) as e:
            raise ComputeError(f"compute '{name}': {e}") from None
    return np.asarray(out, dtype=float)


_EXACT_REDUCE = {"sum": lambda a, ax: a.sum(axis=ax),
                 "mean": lambda a, ax: a.sum(axis=ax) / (a.size if ax is None else a.shape[ax]),
                 "max": lambda a, ax: a.max(axis=ax), "min": lambda a, ax: a.min(axis=ax)}


def exact_value(tree: ast.Expression, env: dict[str, Exact | None]) -> Exact | None:
    """The exact rational value of a checked tree on exact inputs (engine/exact.py), or None
    when it leaves the rationals (exp, log, sqrt, sigmoid, tanh, softmax, a fractional power,
    a division by zero) or would cost more than EXACT_MAX_OPS multiply-adds."""
    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return np.asarray(exact.const(float(node.value)), dtype=object)  # type: ignore[arg-type]
        if isinstance(node, ast.Name):
            v = env.get(node.id)
            if v is None:
                raise _Inexact
            return v
        if isinstance(node, ast.List | ast.Tuple):
            return np.array([ev(e) for e in node.elts], dtype=object)
        if isinstance(node, ast.UnaryOp):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.Subscript):
            return np.asarray(np.asarray(ev(node.value), dtype=object)[_index(node)],
                              dtype=object)
        if isinstance(node, ast.Attribute):
            return np.transpose(ev(node.value))
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            fn, args = node.func.id, [ev(a) for a in node.args]
            if fn == "relu":
                return exact.relu(np.asarray(args[0], dtype=object))
            if fn == "abs":
                return np.abs(args[0])
            if fn == "transpose":
                return np.transpose(args[0])
            if fn == "outer":
                return np.outer(args[0], args[1])
            if fn in _EXACT_REDUCE:
                axis = None if len(args) == 1 else int(literal_number(node.args[1]) or 0)
                a = np.asarray(args[0], dtype=object)
                return np.asarray(_EXACT_REDUCE[fn](a, axis if a.ndim > 1 or axis is None else None),
                                  dtype=object)
            raise _Inexact  # exp, log, sqrt, sigmoid, tanh, softmax
        if isinstance(node, ast.BinOp):
            a, b = ev(node.left), ev(node.right)
            op = node.op
            if isinstance(op, ast.MatMult):
                cost = np.asarray(a).size * (np.asarray(b).shape[-1] if np.ndim(b) == 2 else 1)
                if cost > EXACT_MAX_OPS:
                    raise _Inexact
                return np.asarray(np.matmul(a, b), dtype=object)
            if isinstance(op, ast.Add):
                return a + b
            if isinstance(op, ast.Sub):
                return a - b
            if isinstance(op, ast.Mult):
                return a * b
            if isinstance(op, ast.Div):
                return a / b
            k = exact.to_float(np.asarray(b, dtype=object)) if np.size(b) == 1 else None
            if k is None or float(k) != int(k) or abs(int(k)) > 100:
                raise _Inexact
            return a ** int(k)
        raise _Inexact

    try:
        out = ev(tree.body)
    except (_Inexact, ZeroDivisionError, OverflowError, TypeError, ValueError):
        return None
    out = np.asarray(out, dtype=object)
    return out if out.size <= EXACT_MAX_OPS else None


class _Inexact(Exception):
    """Raised inside exact_value when the exact chain breaks."""
