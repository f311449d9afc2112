"""A `compute:` expression as LaTeX: once with symbols (the formula) and once with every
name replaced by its value (the substitution)."""

from __future__ import annotations

import ast

import numpy as np

from .formulas import symbol
from .matrices import Tex, text_width, value
from .numbers import fmt

_PREC = {ast.Add: 1, ast.Sub: 1, ast.Mult: 2, ast.Div: 2, ast.MatMult: 2, ast.Pow: 4}
_FUNC = {
    "sigmoid": r"\sigma", "relu": r"\operatorname{ReLU}", "tanh": r"\tanh",
    "softmax": r"\operatorname{softmax}", "exp": r"\exp", "log": r"\log", "sqrt": "",
    "abs": "", "sum": r"\sum", "mean": r"\operatorname{mean}", "max": r"\max", "min": r"\min",
    "outer": r"\operatorname{outer}", "transpose": "",
}


def _prec(node: ast.AST) -> int:
    if isinstance(node, ast.BinOp):
        return _PREC[type(node.op)]
    if isinstance(node, ast.UnaryOp):
        return 3
    return 5


def to_latex(tree: ast.Expression, env: dict[str, np.ndarray], digits: int = 4,
             substitute: bool = False, names: dict[str, str] | None = None) -> Tex:
    names = names or {}

    def is_scalar(node: ast.AST) -> bool:
        if isinstance(node, ast.Constant):
            return True
        if isinstance(node, ast.Name):
            return np.asarray(env.get(node.id, 0.0)).size == 1
        if isinstance(node, ast.UnaryOp):
            return is_scalar(node.operand)
        return False

    def wrap(node: ast.AST, limit: int) -> Tex:
        t = go(node)
        if _prec(node) < limit:
            return Tex(rf"\left({t.tex}\right)", t.width + 1.0)
        return t

    def go(node: ast.AST) -> Tex:
        if isinstance(node, ast.Constant):
            s = fmt(float(node.value), digits)  # type: ignore[arg-type]
            return Tex(s, text_width(s))
        if isinstance(node, ast.Name):
            if substitute:
                return value(env[node.id], digits)
            s = symbol(names.get(node.id, node.id))
            return Tex(s, text_width(s))
        if isinstance(node, ast.List | ast.Tuple):
            return value(np.asarray(eval_literal(node)), digits)
        if isinstance(node, ast.UnaryOp):
            operand = wrap(node.operand, 3)
            sign = "-" if isinstance(node.op, ast.USub) else "+"
            return Tex(sign + operand.tex, operand.width + 0.8)
        if isinstance(node, ast.Attribute):
            inner = wrap(node.value, 5)
            return Tex(rf"{{{inner.tex}}}^{{T}}", inner.width + 0.6)
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            fn = node.func.id
            args = [go(a) for a in node.args]
            if fn == "sqrt":
                return Tex(rf"\sqrt{{{args[0].tex}}}", args[0].width + 1.0)
            if fn == "abs":
                return Tex(rf"\left|{args[0].tex}\right|", args[0].width + 0.6)
            if fn == "transpose":
                return Tex(rf"\left({args[0].tex}\right)^{{T}}", args[0].width + 1.6)
            joined = ", ".join(a.tex for a in args)
            w = sum(a.width for a in args) + 1.0 + text_width(_FUNC[fn]) / 2
            return Tex(rf"{_FUNC[fn]}\left({joined}\right)", w)
        if isinstance(node, ast.BinOp):
            p = _PREC[type(node.op)]
            op = node.op
            if isinstance(op, ast.Div):
                a, b = go(node.left), go(node.right)
                return Tex(rf"\frac{{{a.tex}}}{{{b.tex}}}", max(a.width, b.width) + 0.4)
            if isinstance(op, ast.Pow):
                a, b = wrap(node.left, 5), go(node.right)
                return Tex(rf"{{{a.tex}}}^{{{b.tex}}}", a.width + 0.7 * b.width)
            a = wrap(node.left, p)
            if (isinstance(op, ast.MatMult) and substitute and isinstance(node.right, ast.Name)
                    and np.ndim(env[node.right.id]) == 1):
                b = value(np.asarray(env[node.right.id]).reshape(-1, 1), digits)  # v in M v: a column
            else:
                b = wrap(node.right, p + (1 if isinstance(op, ast.Sub) else 0))
            if isinstance(op, ast.Add):
                sym = " + "
            elif isinstance(op, ast.Sub):
                sym = " - "
            elif isinstance(op, ast.MatMult):
                sym = r" \, " if substitute else " "
            else:
                sym = r" \cdot " if is_scalar(node.left) or is_scalar(node.right) else r" \odot "
            return Tex(a.tex + sym + b.tex, a.width + b.width + 1.2)
        raise TypeError(type(node).__name__)  # pragma: no cover - parse() refuses the rest

    return go(tree.body)


def eval_literal(node: ast.AST) -> object:
    return ast.literal_eval(node)

