"""The `compute:` expression language: numbers, names, + - * / @ **, unary minus, `.T`,
calls of whitelisted functions. Parsed with `ast` and checked node by node; never `eval`.

`parse()` raises ExprError (message, column) for anything outside the language, so the spec
layer can report it at file:line:col. Evaluation lives in the engine.
"""

from __future__ import annotations

import ast

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


def _literal_number(node: ast.AST) -> float | None:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return float(node.value)  # type: ignore[arg-type]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = _literal_number(node.operand)
        if inner is not None:
            return -inner if isinstance(node.op, ast.USub) else inner
    return None


def _check(node: ast.AST, names: set[str], depth: int) -> None:
    col = getattr(node, "col_offset", 0)
    if depth > MAX_DEPTH:
        raise ExprError(f"expression nested deeper than {MAX_DEPTH} levels", col)
    d = depth + 1
    if isinstance(node, ast.Constant):
        if type(node.value) not in (int, float):
            raise ExprError(f"only numbers are allowed as constants, not {node.value!r}", col)
    elif isinstance(node, ast.Name):
        if node.id not in names:
            known = ", ".join(sorted(names)) or "none"
            raise ExprError(f"unknown name '{node.id}'", col, f"names defined so far: {known}")
    elif isinstance(node, ast.BinOp):
        if not isinstance(node.op, _BINOPS):
            raise ExprError(f"operator {type(node.op).__name__} is not allowed", col,
                            "use + - * / @ **")
        if isinstance(node.op, ast.Pow):
            n = _literal_number(node.right)
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
