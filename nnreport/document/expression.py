"""The worked solution of an expression problem: given values, then each compute step as
formula = substitution = result."""

from __future__ import annotations

import ast

import numpy as np

from ..engine.solve import ExpressionSolution
from ..render.expr import to_latex
from ..render.formulas import symbol
from ..render.matrices import Tex, value
from .content import Eqs, Line, Part, Values


def expression_parts(sol: ExpressionSolution) -> list[Part]:
    s = sol.setup
    d = s.digits
    given = Part("Given", [Values([(symbol(s.names.get(k, k)), value(v, d))
                                   for k, v in s.given.items()])])
    env = dict(s.given)
    lines = []
    for st in s.steps:
        result = sol.results[st.name]
        formula = to_latex(st.tree, env, d, names=s.names)
        subst = to_latex(st.tree, env, d, substitute=True)
        steps: list[list[Tex]] = [[formula]]
        if subst.tex != formula.tex:
            steps.append([subst])
        body = st.tree.body
        if (isinstance(body, ast.BinOp) and isinstance(body.op, ast.MatMult)
                and isinstance(body.right, ast.Name) and np.ndim(env[body.right.id]) == 1
                and np.ndim(result) == 1):
            res = value(np.asarray(result).reshape(-1, 1), s.digits_for.get(st.name, d))  # M v: column
        else:
            res = value(result, s.digits_for.get(st.name, d))
        steps.append([res])
        arr = np.asarray(result)
        blank = value(np.zeros(arr.shape if arr.ndim else (1, 1)), blank=True) if arr.size > 1 else \
            Tex(r"\boxed{\rule{0pt}{1.2em}\hspace{4em}}", 4.5)
        lines.append(Line(symbol(s.names.get(st.name, st.name)), steps, blank))
        env[st.name] = result
    return [given, Part("Solution", [Eqs(lines)], questions_title="Answers")]
