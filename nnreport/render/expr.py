"""A `compute:` expression as LaTeX: once with symbols (the formula) and once with every
name replaced by its value (the substitution).

Notation (docs/spec.md): `@` is juxtaposition (A x), with a \\cdot between names of several
letters; `*` is \\cdot when one side is a number and \\odot (elementwise) otherwise; sums,
means, maxima and minima along an axis are colsum/rowsum, colmean/rowmean, ...; `outer(a, b)`
is a b^T. A 1-D value that multiplies a matrix from the right (the v in M v) is a column, and
so is everything computed elementwise from it (M v + b, relu(M v + b)) and every later use of
a name that holds such a value (`columns`).
"""

from __future__ import annotations

import ast
from collections.abc import Callable

import numpy as np

from ..spec.expr import index_of, literal_number
from .formulas import symbol
from .matrices import Tex, text_width, value
from .numbers import fmt

_PREC = {ast.Add: 1, ast.Sub: 1, ast.Mult: 2, ast.Div: 2, ast.MatMult: 2, ast.Pow: 4}
_FUNC = {
    "sigmoid": r"\sigma", "relu": r"\operatorname{ReLU}", "tanh": r"\tanh",
    "softmax": r"\operatorname{softmax}", "exp": r"\exp", "log": r"\log", "sqrt": "",
    "abs": "", "sum": r"\operatorname{sum}", "mean": r"\operatorname{mean}", "max": r"\max",
    "min": r"\min", "outer": "", "transpose": "",
}
_AXIS = {"sum": ("colsum", "rowsum"), "mean": ("colmean", "rowmean"),
         "max": ("colmax", "rowmax"), "min": ("colmin", "rowmin")}
ELEMENTWISE = {"sigmoid", "relu", "tanh", "softmax", "exp", "log", "sqrt", "abs"}

Evaluate = Callable[[ast.AST], np.ndarray]


def _prec(node: ast.AST) -> int:
    if isinstance(node, ast.BinOp):
        return _PREC[type(node.op)]
    if isinstance(node, ast.UnaryOp):
        return 3
    return 5


def is_column(node: ast.AST, ev: Evaluate, columns: set[str]) -> bool:
    """Whether the 1-D value of `node` is shown as a column (see the module docstring)."""
    if np.ndim(ev(node)) != 1:
        return False
    if isinstance(node, ast.Name):
        return node.id in columns
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.MatMult):
            return np.ndim(ev(node.left)) == 2
        return is_column(node.left, ev, columns) or is_column(node.right, ev, columns)
    if isinstance(node, ast.UnaryOp):
        return is_column(node.operand, ev, columns)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ELEMENTWISE:
        return is_column(node.args[0], ev, columns)
    return False


def _multi_letter(node: ast.AST, names: dict[str, str]) -> bool:
    if isinstance(node, ast.Name):
        shown = names.get(node.id, node.id)
        return len(shown.rstrip("0123456789").rstrip("_")) > 1
    return False


def to_latex(tree: ast.Expression, env: dict[str, np.ndarray], digits: int = 4,
             substitute: bool = False, names: dict[str, str] | None = None,
             columns: set[str] | None = None, ev: Evaluate | None = None,
             name_digits: dict[str, int] | None = None) -> Tex:
    """`ev(node)` gives a subexpression's value (for shapes); `columns` are the names whose
    1-D values are columns; `name_digits` the digits a substituted name is printed with
    (its digits_for), `digits` otherwise."""
    names = names or {}
    name_digits = name_digits or {}
    columns = columns or set()

    def default_ev(node: ast.AST) -> np.ndarray:
        if isinstance(node, ast.Name):
            return np.asarray(env[node.id])
        if isinstance(node, ast.Constant):
            return np.asarray(node.value)
        return np.zeros(2)  # shape unknown: treated as a vector

    evaluate = ev or default_ev

    def is_scalar(node: ast.AST) -> bool:
        try:
            return bool(np.asarray(evaluate(node)).size == 1)
        except Exception:  # noqa: BLE001 - a shape question only
            return False

    def wrap(node: ast.AST, limit: int, col: bool = False, signed: bool = False) -> Tex:
        """`node` as an operand; `signed`: a negative number put in there reads as a
        subtraction (2 · -1 + -3), so it gets parentheses: 2 · (-1) + (-3)."""
        t = go(node, col)
        if _prec(node) < limit or (signed and substitute and t.tex.startswith("-")
                                   and not t.tex.startswith(r"-\left")):
            return Tex(rf"\left({t.tex}\right)", t.width + 1.0)
        return t

    def _matrix_of(node: ast.List | ast.Tuple, col: bool) -> Tex:
        nested = all(isinstance(e, ast.List | ast.Tuple) for e in node.elts)
        rows = ([list(e.elts) for e in node.elts if isinstance(e, ast.List | ast.Tuple)]
                if nested else [[e] for e in node.elts] if col else [list(node.elts)])
        cells = [[go(e) for e in row] for row in rows]
        tex = r" \\ ".join(" & ".join(c.tex for c in row) for row in cells)
        width = max(sum(c.width + 1.0 for c in row) for row in cells) + 2.0
        return Tex(r"\begin{bmatrix}" + tex + r"\end{bmatrix}", width)

    def fixed(node: ast.AST) -> str:
        """The way a 1-D value's own notation writes it whatever the context: M v a column,
        v K and colsum(M) rows; '' for anything that can be written either way."""
        if np.ndim(evaluate(node)) != 1:
            return ""
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            return "col" if np.ndim(evaluate(node.left)) == 2 else "row"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id in _AXIS and len(node.args) == 2 and \
                int(literal_number(node.args[1]) or 0) % 2 == 0:
            return "row"  # colsum(M): one entry per column, a row
        return ""

    def go(node: ast.AST, col: bool = False) -> Tex:
        """`node` written as a column when `col` and its value is 1-D (a row written by its
        notation, v K, is transposed: (v K)^T)."""
        if col and fixed(node) == "row":
            t = _go(node, False)
            return Tex(rf"\left({t.tex}\right)^{{T}}", t.width + 1.6)
        return _go(node, col)

    def _go(node: ast.AST, col: bool = False) -> Tex:
        if isinstance(node, ast.Constant):
            s = fmt(float(node.value), digits)  # type: ignore[arg-type]
            return Tex(s, text_width(s))
        if isinstance(node, ast.Name):
            if substitute:
                v = np.asarray(env[node.id])
                if v.ndim == 1 and (col or node.id in columns):
                    v = v.reshape(-1, 1)
                return value(v, name_digits.get(node.id, digits))
            s = symbol(names.get(node.id, node.id))
            return Tex(s, text_width(s))
        if isinstance(node, ast.List | ast.Tuple):
            try:
                v = np.asarray(ast.literal_eval(node), dtype=float)
            except ValueError:  # entries that are expressions: each written as a formula
                return _matrix_of(node, col)
            return value(v.reshape(-1, 1) if col and v.ndim == 1 else v, digits)
        if isinstance(node, ast.UnaryOp):
            operand = wrap(node.operand, 3, col, signed=True)
            sign = "-" if isinstance(node.op, ast.USub) else "+"
            return Tex(sign + operand.tex, operand.width + 0.8)
        if isinstance(node, ast.Subscript):  # w[0], M[:, 1]: 0-based, as written
            assert isinstance(node.value, ast.Name)
            index = index_of(node)
            if substitute:
                v = np.asarray(env[node.value.id])[tuple(slice(None) if i is None else i
                                                         for i in index)]
                v = v.reshape(-1, 1) if v.ndim == 1 and col else v
                return value(v, name_digits.get(node.value.id, digits))
            s = symbol(names.get(node.value.id, node.value.id)) + "[" + r",\,".join(
                ":" if i is None else str(i) for i in index) + "]"
            return Tex(s, text_width(s))
        if isinstance(node, ast.Attribute):  # a 1-D value's transpose is itself: a column
            flip = np.ndim(evaluate(node.value)) == 1 and not col  # ^T then reads as it is
            inner = wrap(node.value, 5, flip)
            return Tex(rf"{{{inner.tex}}}^{{T}}", inner.width + 0.6)
        if isinstance(node, ast.Call):
            return call(node, col)
        if isinstance(node, ast.BinOp):
            return binop(node, col)
        raise TypeError(type(node).__name__)  # pragma: no cover - parse() refuses the rest

    def call(node: ast.Call, col: bool) -> Tex:
        assert isinstance(node.func, ast.Name)
        fn = node.func.id
        inner_col = col and fn in ELEMENTWISE
        if fn == "outer":  # a b^T: a column times a row
            return outer(node.args[0], node.args[1])
        args = [go(a, inner_col) for a in node.args[:1]]
        if fn == "sqrt":
            return Tex(rf"\sqrt{{{args[0].tex}}}", args[0].width + 1.0)
        if fn == "abs":
            return Tex(rf"\left|{args[0].tex}\right|", args[0].width + 0.6)
        if fn == "transpose":  # as .T: a 1-D value is written the other way round
            t = go(node.args[0], np.ndim(evaluate(node.args[0])) == 1 and not col)
            return Tex(rf"\left({t.tex}\right)^{{T}}", t.width + 1.6)
        name = _FUNC[fn]
        if fn in _AXIS and len(node.args) == 2:
            axis = int(literal_number(node.args[1]) or 0) % max(np.ndim(evaluate(node.args[0])), 1)
            if np.ndim(evaluate(node.args[0])) == 2:
                name = rf"\operatorname{{{_AXIS[fn][axis]}}}"
        w = args[0].width + 1.0 + text_width(name) / 2
        return Tex(rf"{name}\left({args[0].tex}\right)", w)

    def outer(left: ast.AST, right: ast.AST) -> Tex:
        """a b^T. NumPy flattens a matrix first (vec(M)); a substituted b that is a name or a
        literal prints as the row it is, anything else (K w, a column name) as a column with
        its transpose, so the line reads as the product it computes."""
        def vec(node: ast.AST, row: bool) -> Tex:
            if np.ndim(evaluate(node)) == 0:  # a sum or product in brackets: (v - w) (v + w)^T
                return wrap(node, 3)
            if np.ndim(evaluate(node)) == 2:
                if substitute:
                    v = np.asarray(evaluate(node)).ravel()
                    d = name_digits.get(node.id, digits) if isinstance(node, ast.Name) else digits
                    return value(v if row else v.reshape(-1, 1), d)
                t = go(node)
                return Tex(rf"\operatorname{{vec}}\left({t.tex}\right)", t.width + 3.0)
            if not row:
                return wrap(node, 3, True)
            if fixed(node) == "row" or (substitute and (
                    isinstance(node, ast.List | ast.Tuple | ast.Constant | ast.Subscript)
                    or (isinstance(node, ast.Name) and node.id not in columns))):
                return wrap(node, 3)  # the row itself
            t = go(node, True)
            if isinstance(node, ast.Name | ast.Constant) and not substitute:
                return Tex(rf"{{{t.tex}}}^{{T}}", t.width + 0.6)
            return Tex(rf"\left({t.tex}\right)^{{T}}", t.width + 1.6)

        a, b = vec(left, False), vec(right, True)
        scalar = np.size(evaluate(left)) == 1 or np.size(evaluate(right)) == 1
        sym = r" \cdot " if scalar else r" \, "
        return Tex(a.tex + sym + b.tex, a.width + b.width + 0.4)

    def binop(node: ast.BinOp, col: bool) -> Tex:
        p = _PREC[type(node.op)]
        op = node.op
        if isinstance(op, ast.Div):
            a, b = go(node.left, col), go(node.right, col)
            return Tex(rf"\frac{{{a.tex}}}{{{b.tex}}}", max(a.width, b.width) + 0.4)
        if isinstance(op, ast.Pow):
            a, b = wrap(node.left, 5, col), go(node.right)
            return Tex(rf"{{{a.tex}}}^{{{b.tex}}}", a.width + 0.7 * b.width)
        def mixed(operand: ast.AST, other: type) -> bool:
            """An elementwise product beside a matrix product (or the reverse): A (B (.) C)
            would read as (A B) (.) C without its parentheses."""
            return (isinstance(operand, ast.BinOp) and isinstance(operand.op, other)
                    and not is_scalar(operand.left) and not is_scalar(operand.right))

        if isinstance(op, ast.MatMult):
            a = wrap(node.left, p + mixed(node.left, ast.Mult))
            if np.ndim(evaluate(node.left)) == 1 and (fixed(node.left) == "col" or
                                                      is_column(node.left, evaluate, columns)):
                t = go(node.left, True)  # a column on the left of a product: its transpose
                a = Tex(rf"\left({t.tex}\right)^{{T}}", t.width + 1.6)
            b = wrap(node.right, p + mixed(node.right, ast.Mult),
                     np.ndim(evaluate(node.right)) == 1)  # v in M v: a column
            if substitute:  # a single number beside another value: a product dot, never 1 12
                sym = r" \cdot " if is_scalar(node.left) or is_scalar(node.right) else r" \, "
            elif _multi_letter(node.left, names) or _multi_letter(node.right, names):
                sym = r" \cdot "  # Resources Allocation would read as one product of letters
            else:
                sym = " "
            return Tex(a.tex + sym + b.tex, a.width + b.width + 1.2)
        sub_col = col or is_column(node, evaluate, columns)
        elementwise = isinstance(op, ast.Mult) and not (is_scalar(node.left) or is_scalar(node.right))
        a = wrap(node.left, p + (elementwise and mixed(node.left, ast.MatMult)), sub_col,
                 signed=not isinstance(op, ast.Add | ast.Sub))
        b = wrap(node.right, p + (1 if isinstance(op, ast.Sub) else 0)
                 + (elementwise and mixed(node.right, ast.MatMult)), sub_col, signed=True)
        if isinstance(op, ast.Add):
            sym = " + "
        elif isinstance(op, ast.Sub):
            sym = " - "
        else:
            sym = r" \cdot " if is_scalar(node.left) or is_scalar(node.right) else r" \odot "
        return Tex(a.tex + sym + b.tex, a.width + b.width + 1.2)

    return go(tree.body, is_column(tree.body, evaluate, columns))
