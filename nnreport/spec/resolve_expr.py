"""Expression problems: given values and compute steps resolved into an ExpressionSetup,
each name, shape and budget checked with its position (a mixin of resolve._Checker, which
holds the document, the issues and the budgets)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import Issue
from . import expr as exprlang
from .cost import CHAIN_PATHS, STEP_WORK
from .models import Problem, Spec, suggest
from .setups import ExpressionSetup, Marking, Step
from .values import BudgetError, constraint_of, value_of

Array = np.ndarray


class ExpressionChecks:
    """The expression half of the resolver; `_Checker` supplies add, marking, the rooms."""

    if TYPE_CHECKING:  # supplied by resolve._Checker
        doc: Any
        issues: list[Issue]
        budgets: Any
        flops: float

        def add(self, path: tuple[Any, ...], message: str, hint: str = "",
                key: bool = False) -> None: ...

        def answer_room(self, at: tuple[Any, ...], pid: str, count: int) -> bool: ...

        def chain_room(self, at: tuple[Any, ...], pid: str, count: int) -> bool: ...

        def marking(self, p: Problem, spec: Spec, at: tuple[Any, ...], names: list[str],
                    printed: list[str] | None = None,
                    why: dict[str, str] | None = None) -> Marking: ...

    def expression_constraints(self, p: Problem, at: tuple[Any, ...]) -> tuple[tuple[str, float], ...]:
        out = tuple(constraint_of(c) for c in p.constraints)
        for j, (name, _) in enumerate(out):
            if name not in ("no_exact_ties", "distinct_versions"):
                self.add(at + ("constraints", j), f"'{name}' is a constraint on networks",
                         "expression problems take no_exact_ties and distinct_versions")
        return out

    # ---- expression problems ----------------------------------------------------------
    def expression(self, p: Problem, i: int, spec: Spec) -> ExpressionSetup | None:
        at = ("problems", i)
        given: dict[str, Array] = {}
        ok = True
        for name, v in p.given.items():
            if not name.isidentifier() or name in exprlang.FUNCTIONS:
                ok = False
                self.add(at + ("given", name), f"'{name}' cannot be a name",
                         "use letters, digits and _, not a function name")
                continue
            try:
                given[name] = value_of(v, None, name, self.budgets)
            except BudgetError as e:
                ok = False
                self.add(at + ("given", name), str(e), e.hint)
            except ValueError as e:
                ok = False
                self.add(at + ("given", name), str(e))
        names = set(given)
        shapes = {k: tuple(v.shape) for k, v in given.items()}
        b = self.budgets
        cost = exprlang.Cost(flops=self.flops, max_entries=b.compute_entries,
                             hint=b.hint("compute_entries"))
        answers = 0
        steps = []
        for j, item in enumerate(p.compute):
            if len(item) != 1:
                ok = False
                self.add(at + ("compute", j), "each compute step is one 'name: expression'")
                continue
            (name, src), = item.items()
            if not name.isidentifier() or name in exprlang.FUNCTIONS or name in names:
                ok = False
                what = "is already defined" if name in names else "cannot be a name"
                self.add(at + ("compute", j, name), f"'{name}' {what}")
                continue
            try:
                tree = exprlang.parse(str(src), names)
                shapes[name] = exprlang.infer_shape(tree, shapes, cost)
                if cost.flops > b.compute_flops and ok:
                    raise exprlang.ExprError(
                        f"the compute steps up to here take about {cost.flops:.3g} "
                        "multiply-adds", 0, b.hint("compute_flops"))
            except exprlang.ExprError as e:
                ok = False
                line, col = self.doc.where(at + ("compute", j, name))
                self.issues.append(Issue(self.doc.file, line, (col or 1) + e.col,
                                         f"compute '{name}': {e}", e.hint))
                continue
            answers += math.prod(shapes[name])
            steps.append(Step(name, str(src), tree))
            names.add(name)
        for field in ("names", "digits_for"):  # a misspelt name was silently ignored
            for key in getattr(p, field):
                if key not in names and ok:
                    ok = False
                    self.add(at + (field, key), f"'{key}' in {field} is not a given or "
                             f"computed value of problem '{p.id}'",
                             suggest(key, sorted(names)), key=True)
        spent, self.flops = self.flops, cost.flops
        if not ok or not self.answer_room(at + ("compute",), p.id, answers):
            return None
        if (p.rounding or spec.rounding) == "chain":
            # every path evaluates the steps again: their work counts once per path
            self.flops += (CHAIN_PATHS + 1) * (cost.flops - spent)
            if self.flops > b.compute_flops:
                self.add(at + ("compute",), f"rounding: chain evaluates the compute steps "
                         f"{CHAIN_PATHS + 2} times (its rounding paths), about "
                         f"{(CHAIN_PATHS + 2) * (cost.flops - spent):.3g} multiply-adds",
                         b.hint("compute_flops"))
                return None
            if not self.chain_room(at, p.id, (CHAIN_PATHS + 2) * answers):
                return None
        return ExpressionSetup(id=p.id, title=p.title, text=p.text,
                               layout=p.layout or spec.layout, digits=p.digits or spec.digits,
                               given=given, steps=tuple(steps), names=dict(p.names),
                               digits_for=dict(p.digits_for), budgets=b,
                               marking=self.marking(p, spec, at, [st.name for st in steps]),
                               constraints=self.expression_constraints(p, at),
                               rounding=p.rounding or spec.rounding,
                               work=cost.flops - spent + STEP_WORK * len(steps))
