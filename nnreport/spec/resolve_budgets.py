"""The budgets a spec's problems add up to (docs/spec.md, "Budgets"): answers, the rounded
chain's paths, training work and steps, counted from the resolved shapes before anything is
drawn or run; a located issue names the budget exceeded and `--budget NAME=N` (a mixin of
resolve._Checker, which holds the document, the issues and the running totals)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .cost import CHAIN_PATHS, NetworkCost, over_budget
from .models import Problem


class BudgetChecks:
    """The spec's running totals against its budgets; `_Checker` supplies add and the
    totals (answers, chained, trained)."""

    if TYPE_CHECKING:  # supplied by resolve._Checker
        doc: Any
        budgets: Any
        answers: int
        chained: int
        trained: tuple[float, int]

        def add(self, path: tuple[Any, ...], message: str, hint: str = "",
                key: bool = False) -> None: ...

    def answer_room(self, at: tuple[Any, ...], pid: str, count: int) -> bool:
        """Add a problem's answer count; a located issue once the spec's total passes it."""
        self.answers += count
        if self.answers <= self.budgets.answer_entries:
            return True
        self.add(at, f"problem '{pid}' brings the answers to {self.answers:,} numbers",
                 self.budgets.hint("answer_entries"))
        return False

    def chain_room(self, at: tuple[Any, ...], pid: str, count: int) -> bool:
        """rounding: chain recomputes the worked step along every rounding path."""
        self.chained += count
        if self.chained <= self.budgets.chain_entries:
            return True
        where = (at + ("rounding",) if "rounding" in self.doc.data["problems"][at[1]] else
                 ("rounding",) if "rounding" in self.doc.data else at)
        self.add(where,
                 f"rounding: chain works problem '{pid}' {CHAIN_PATHS + 2} times (its rounding "
                 f"paths), {count:,} numbers" + (f" ({self.chained:,} in the spec)"
                                                 if self.chained != count else ""),
                 self.budgets.hint("chain_entries"))
        return False

    def network_budgets(self, p: Problem, at: tuple[Any, ...], cost: NetworkCost, m: int,
                        chain: bool = False) -> bool:
        """Memory and time of training (and of the rounded chain's paths), from the shapes,
        before any parameter is drawn."""
        if chain and not self.chain_room(at, p.id, cost.chain_entries):
            return False
        raw = self.doc.data["problems"][at[1]]
        train = at + (("train",) if isinstance(raw, dict) and "train" in raw else ())
        epochs = train + (("epochs",) if train != at and "epochs" in raw["train"] else ())
        over = over_budget(cost, self.budgets, m, p.train.epochs, self.trained)
        self.trained = (self.trained[0] + cost.train_work, self.trained[1] + cost.train_steps)
        for key, message, hint in over:
            self.add(at + ("network",) if key == "network" else epochs, message, hint)
        room = self.answer_room(at, p.id, cost.answers)  # every exceeded budget, in one pass
        return not over and room
