"""The `compute:` expression language: numbers, names, + - * / @ **, unary minus, `.T`,
calls of whitelisted functions, and indexing a name by whole-number literals or `:`
(`w[0]`, `M[1, 2]`, `M[:, 0]`; 0-based). Parsed with `ast` and checked node by node; never
`eval`.

`parse()` raises ExprError (message, column) for anything outside the language, so the spec
layer can report it at file:line:col. Evaluation lives in the engine.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass

FUNCTIONS = (
    "sigmoid", "relu", "tanh", "softmax", "exp", "log", "sqrt", "abs",
    "sum", "mean", "max", "min", "outer", "transpose",
)
MAX_LENGTH = 1000
MAX_DEPTH = 32
MAX_EXPONENT = 100

_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.MatMult, ast.Pow)


class ExprError(ValueError):
    def __init__(self, message: str, col: int = 0, hint: str = ""):
        super().__init__(message)
        self.col = col
        self.hint = hint


def literal_number(node: ast.AST) -> float | None:
    """A number written as a literal, signs included (-1, +0, -(-1)); None otherwise."""
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return float(node.value)  # type: ignore[arg-type]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = literal_number(node.operand)
        if inner is not None:
            return -inner if isinstance(node.op, ast.USub) else inner
    return None


def index_of(node: ast.Subscript) -> tuple[int | None, ...]:
    """The index of `w[0]`, `M[1, 2]`, `M[:, 0]`: whole-number literals, None for `:`; an
    ExprError for anything else (a computed index, a step, a negative number)."""
    col = getattr(node, "col_offset", 0)
    parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    out: list[int | None] = []
    for part in parts:
        if isinstance(part, ast.Slice):
            if part.lower is not None or part.upper is not None or part.step is not None:
                raise ExprError("an index is a whole number from 0, or : for a whole row or "
                                "column", col, "e.g. M[:, 0]")
            out.append(None)
            continue
        k = literal_number(part)
        if k is None or not math.isfinite(k) or k != int(k) or k < 0 or k > 10**9:
            raise ExprError("an index is a whole number from 0, or : for a whole row or column",
                            col, "indices count from 0: w[0] is the first entry")
        out.append(int(k))
    return tuple(out)


def _check(node: ast.AST, names: set[str], depth: int) -> None:
    col = getattr(node, "col_offset", 0)
    if depth > MAX_DEPTH:
        raise ExprError(f"expression nested deeper than {MAX_DEPTH} levels", col)
    d = depth + 1
    if isinstance(node, ast.Constant):
        if type(node.value) not in (int, float):
            raise ExprError(f"only numbers are allowed as constants, not {node.value!r}", col)
        if not abs(node.value) < 1e300:  # type: ignore[arg-type]
            raise ExprError("a number this large is not allowed (at most 1e300)", col)
    elif isinstance(node, ast.Name):
        if node.id not in names:
            known = ", ".join(sorted(names)) or "none"
            raise ExprError(f"unknown name '{node.id}'", col, f"names defined so far: {known}")
    elif isinstance(node, ast.BinOp):
        if not isinstance(node.op, _BINOPS):
            raise ExprError(f"operator {type(node.op).__name__} is not allowed", col,
                            "use + - * / @ **")
        if isinstance(node.op, ast.Pow):
            n = literal_number(node.right)
            if n is None or abs(n) > MAX_EXPONENT:
                raise ExprError(
                    "an exponent must be a number literal of size at most "
                    f"{MAX_EXPONENT}", getattr(node.right, "col_offset", col))
        _check(node.left, names, d)
        _check(node.right, names, d)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.USub | ast.UAdd):
            raise ExprError("only unary minus is allowed", col)
        _check(node.operand, names, d)
    elif isinstance(node, ast.Attribute):
        if node.attr != "T":
            raise ExprError(f"attribute '.{node.attr}' is not allowed", col,
                            "only .T (transpose) is")
        _check(node.value, names, d)
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            what = node.func.id if isinstance(node.func, ast.Name) else "this"
            raise ExprError(f"function '{what}' is not allowed", col,
                            "allowed: " + ", ".join(FUNCTIONS))
        if node.keywords or not node.args or len(node.args) > 2:
            raise ExprError(f"{node.func.id}() takes one or two positional arguments", col)
        for a in node.args:
            _check(a, names, d)
    elif isinstance(node, ast.List | ast.Tuple):
        for e in node.elts:
            _check(e, names, d)
    elif isinstance(node, ast.Subscript):
        if not isinstance(node.value, ast.Name):
            raise ExprError("only a name can be indexed", col, "e.g. w[0], M[1, 2], M[:, 0]")
        _check(node.value, names, d)
        index_of(node)
    else:
        raise ExprError(f"{type(node).__name__} is not part of the expression language", col,
                        "numbers, names, + - * / @ **, .T and function calls only")


def parse(src: str, names: set[str] | frozenset[str]) -> ast.Expression:
    """Parse and check one expression; raise ExprError if it leaves the language."""
    if not isinstance(src, str):
        src = str(src)
    if len(src) > MAX_LENGTH:
        raise ExprError(f"expression longer than {MAX_LENGTH} characters")
    if src.count("(") + src.count("[") > MAX_DEPTH * 4:
        raise ExprError("too many brackets")
    try:
        tree = ast.parse(src.strip(), mode="eval")
    except SyntaxError as e:
        raise ExprError(f"not a valid expression: {e.msg}", max((e.offset or 1) - 1, 0)) from None
    except (RecursionError, MemoryError, ValueError):
        raise ExprError("expression too complex") from None
    _check(tree.body, set(names), 0)
    return tree


_ELEMENTWISE = {"sigmoid", "relu", "tanh", "softmax", "exp", "log", "sqrt", "abs"}
_REDUCTIONS = {"sum", "mean", "max", "min"}


@dataclass
class Cost:
    """What evaluating expressions will take, added up by `infer_shape`: multiply-adds, and
    the largest value (in entries) any step of them makes, intermediate values included."""

    flops: float = 0.0
    largest: int = 0
    max_entries: int | None = None  # refuse (ExprError at the node) any value larger than this
    hint: str = ""


def infer_shape(tree: ast.Expression, shapes: dict[str, tuple[int, ...]],
                cost: Cost | None = None) -> tuple[int, ...]:
    """The shape a checked expression will have, from the shapes of its names alone, so that
    operands that do not fit are a spec error naming both (before anything is computed).
    With `cost`, also count its multiply-adds and refuse values past `cost.max_entries`."""
    cost = cost if cost is not None else Cost()

    def src(node: ast.AST) -> str:
        return ast.unparse(node)

    def go(node: ast.AST) -> tuple[int, ...]:
        shape = shape_of(node)
        col = getattr(node, "col_offset", 0)
        n = _size(shape)
        if len(shape) > 2:
            raise ExprError(f"{src(node)} would have {len(shape)} dimensions; values are "
                            "numbers, vectors or matrices", col)
        if cost.max_entries is not None and n > cost.max_entries:
            raise ExprError(f"{src(node)} would have {n:,} entries (shape {list(shape)})",
                            col, cost.hint)
        cost.largest = max(cost.largest, n)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            cost.flops += n * sums.pop()
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") in _REDUCTIONS:
            cost.flops += reduced.pop()
        elif not isinstance(node, ast.Constant | ast.Name):
            cost.flops += n
        return shape

    sums: list[int] = []     # the summed-over size of the matrix product just inferred
    reduced: list[int] = []  # the entries of the reduction's argument just inferred

    def shape_of(node: ast.AST) -> tuple[int, ...]:
        col = getattr(node, "col_offset", 0)
        if isinstance(node, ast.Constant):
            return ()
        if isinstance(node, ast.Name):
            return shapes[node.id]
        if isinstance(node, ast.List | ast.Tuple):
            inner = {go(e) for e in node.elts}
            if len(inner) > 1:
                raise ExprError("list entries have different shapes", col)
            return (len(node.elts),) + (inner.pop() if inner else ())
        if isinstance(node, ast.UnaryOp):
            return go(node.operand)
        if isinstance(node, ast.Subscript):
            base, index = go(node.value), index_of(node)
            if len(index) > len(base):
                raise ExprError(f"{src(node)}: {len(index)} indices for a value of shape "
                                f"{list(base)}", col)
            for k, (i, n) in enumerate(zip(index, base, strict=False)):
                if i is not None and i >= n:
                    raise ExprError(f"{src(node)}: index {i} is past the {n} entries of "
                                    f"dimension {k + 1} (shape {list(base)}; indices count "
                                    "from 0)", col)
            return tuple(n for i, n in zip(index, base, strict=False) if i is None) \
                + base[len(index):]
        if isinstance(node, ast.Attribute):
            return tuple(reversed(go(node.value)))
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            fn, args = node.func.id, [go(a) for a in node.args]
            if fn in _ELEMENTWISE or fn == "transpose":
                if len(args) != 1:
                    raise ExprError(f"{fn}() takes one argument", col)
                return args[0] if fn in _ELEMENTWISE else tuple(reversed(args[0]))
            if fn == "outer":
                if len(args) != 2:
                    raise ExprError("outer() takes two arguments", col)
                return (_size(args[0]), _size(args[1]))
            # sum, mean, max, min: everything, or along a literal axis
            reduced.append(_size(args[0]))
            if fn in ("max", "min") and _size(args[0]) == 0:
                raise ExprError(f"{fn}() of an empty value", col)
            if len(args) == 1:
                return ()
            axis = literal_number(node.args[1])
            if (axis is None or not math.isfinite(axis) or int(axis) != axis
                    or not -len(args[0]) <= int(axis) < len(args[0])):
                raise ExprError(f"{fn}(): the axis must be a whole number below the "
                                f"{len(args[0])} dimensions of shape {list(args[0])}", col)
            k = int(axis) % len(args[0])
            return args[0][:k] + args[0][k + 1:]
        if isinstance(node, ast.BinOp):
            a, b = go(node.left), go(node.right)
            if isinstance(node.op, ast.MatMult):
                out = _matmul(a, b, f"{src(node.left)} @ {src(node.right)}", col)
                sums.append(a[-1])
                return out
            try:
                return _broadcast(a, b)
            except ValueError:
                raise ExprError(f"{src(node.left)} (shape {list(a)}) and {src(node.right)} "
                                f"(shape {list(b)}) do not fit together element by element", col,
                                "shapes must match, or one side must be a number or a single row or column that repeats") from None
        raise ExprError(f"{type(node).__name__} is not part of the expression language", col)

    return go(tree.body)


def _size(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _broadcast(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    out = []
    for x, y in zip(reversed((1,) * (len(b) - len(a)) + a), reversed((1,) * (len(a) - len(b)) + b), strict=True):
        if x != y and 1 not in (x, y):
            raise ValueError
        out.append(max(x, y))
    return tuple(reversed(out))


def _matmul(a: tuple[int, ...], b: tuple[int, ...], what: str, col: int) -> tuple[int, ...]:
    if not a or not b:
        raise ExprError(f"{what}: @ needs vectors or matrices, not numbers", col, "use * for numbers")
    inner_a, inner_b = a[-1], b[0] if len(b) == 1 else b[-2]
    if len(a) > 2 or len(b) > 2 or inner_a != inner_b:
        raise ExprError(f"{what}: shapes {list(a)} and {list(b)} do not chain", col,
                        f"the left operand's last size ({inner_a}) must equal the right "
                        f"operand's first ({inner_b}); .T transposes")
    return a[:-1] + b[1:]
