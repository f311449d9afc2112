"""The worked solution of an expression problem: given values, then each compute step as
formula = substitution = (the function's argument evaluated) = result.

A scalar sigmoid or tanh also shows its arithmetic (sigma(6) = 1 / (1 + e^{-6})), a softmax of
a vector its exponentials over their sum, so every line can be followed with a calculator."""

from __future__ import annotations

import ast
import re

import numpy as np

from ..engine.expressions import evaluate
from ..engine.printed import shown_argument
from ..engine.solution import ExpressionSolution
from ..render.expr import is_column, to_latex
from ..render.formulas import symbol
from ..render.matrices import Tex, text_width
from ..render.numbers import fmt
from .content import Eqs, Part, Values
from .lines import piece_tex
from .steps import Piece, Step, Val


def _plain(tex: str) -> str:
    """A formula with its formatting stripped, to see whether it only repeats the name."""
    return re.sub(r"\\(mathit|mathrm|operatorname)|[{}\s_]", "", tex)


def _arith(fn: str, v: np.ndarray, d: int) -> str | None:
    """The arithmetic of fn at a known value, or None when there is nothing to show."""
    if v.size == 1 and fn in ("sigmoid", "tanh"):
        zs = fmt(float(v.ravel()[0]), d)
        neg = rf"\left({zs}\right)" if zs.startswith("-") else zs
        if fn == "sigmoid":
            return rf"\frac{{1}}{{1 + e^{{-{neg}}}}}"
        return rf"\frac{{e^{{{zs}}} - e^{{-{neg}}}}}{{e^{{{zs}}} + e^{{-{neg}}}}}"
    if fn == "softmax" and v.ndim == 1 and 1 < v.size <= 6:
        exps = [rf"e^{{{fmt(float(x), d)}}}" for x in v]
        return (r"\frac{\left[" + r" \;\; ".join(exps) + r"\right]}{" + " + ".join(exps) + "}")
    return None


def product_name(name: str, tree: ast.Expression) -> str | None:
    """A step named for the product it computes (XW1 = X @ W1, HW = H @ W) is written as that
    product, in italics like the formula beside it (X W_{1}), not as the upright word XW
    (issue 22.8); None for any other name."""
    factors: list[str] = []

    def walk(node: ast.AST) -> bool:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult | ast.Mult):
            return walk(node.left) and walk(node.right)
        if isinstance(node, ast.Name):
            factors.append(node.id)
            return True
        return False

    if walk(tree.body) and len(factors) > 1 and "".join(factors) == name:
        return " ".join(symbol(f) for f in factors)
    return None


def expression_parts(sol: ExpressionSolution) -> list[Part]:
    s = sol.setup
    d = s.digits
    given = Part("Given", [Values([(symbol(s.names.get(k, k)), Val(v, d))
                                   for k, v in s.given.items()], label=s.id)])
    env = dict(s.given)
    steps_digits = {st.name: s.digits_for.get(st.name, d) for st in s.steps}  # as in the chain
    columns: set[str] = set()
    steps: list[Step] = []
    for st in s.steps:
        result = np.asarray(sol.results[st.name])
        cache: dict[int, np.ndarray] = {}

        def ev(node: ast.AST, env: dict[str, np.ndarray] = env,
               cache: dict[int, np.ndarray] = cache) -> np.ndarray:
            if id(node) not in cache:
                cache[id(node)] = evaluate(ast.Expression(body=node), env)  # type: ignore[arg-type]
            return cache[id(node)]

        formula = to_latex(st.tree, env, d, names=s.names, columns=columns, ev=ev)
        subst = to_latex(st.tree, env, d, substitute=True, columns=columns, ev=ev,
                         name_digits=steps_digits)
        lhs = s.names[st.name] if st.name in s.names else None
        lhs = symbol(lhs) if lhs is not None else product_name(st.name, st.tree) or symbol(st.name)
        more: list[list[Piece]] = []
        body = st.tree.body
        if isinstance(body, ast.Call) and isinstance(body.func, ast.Name) and body.args:
            arg = body.args[0]
            fn = body.func.id
            if shown_argument(st.tree) is not None:  # the argument's value, on a line of its own
                inner = Tex(fmt(float(ev(arg).ravel()[0]), d), 0.0) if ev(arg).size == 1 else \
                    piece_tex(Val(ev(arg), d, is_column(arg, ev, columns)))
                head = subst.tex.split(r"\left(")[0]
                tex = (rf"\sqrt{{{inner.tex}}}" if fn == "sqrt" else  # sqrt{7}, |7|: no \left(
                       rf"\left|{inner.tex}\right|" if fn == "abs" else
                       head + rf"\left({inner.tex}\right)")
                wrap = 1.5 if fn in ("sqrt", "abs") else text_width(head) + 1
                more.append([Tex(tex, inner.width + wrap)])
            arith = _arith(fn, np.asarray(ev(arg)),
                           steps_digits.get(arg.id, d) if isinstance(arg, ast.Name) else d)
            if arith:
                more.append([arith])
        col = is_column(body, ev, columns)
        if col:
            columns.add(st.name)
        digits = s.digits_for.get(st.name, d)
        shown_formula = formula.tex if _plain(formula.tex) != _plain(lhs) else None
        if subst.tex == formula.tex:  # no names in it: the expression is its own substitution
            shown_formula = None
        val = Val(result, digits, col)
        printed = piece_tex(val).tex
        # a side that prints as the result itself (a step that only renames: db = ddot = 0.1966)
        # is said once
        more = [m for m in more if not (len(m) == 1 and piece_tex(m[0]).tex == printed)]
        shown_subst: list[Piece] | None = None if subst.tex == printed and not more else [subst]
        steps.append(Step(lhs, shown_formula, shown_subst, val, key=st.name, more=more))
        env[st.name] = result
    return [given, Part("Solution", [Eqs(steps)], questions_title="Answers")]
