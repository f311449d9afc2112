"""The training run: the loss per epoch as a table, then the final parameters, predictions and
what fits the task (accuracy for classification, the final loss for regression). These are
computer work, labelled as results, not hand steps."""

from __future__ import annotations

from ...render.numbers import fmt
from ...spec.setups import PARAM_KINDS
from ..content import Eqs, Para, Part, Table
from ..steps import Step
from .base import Ctx


def training(c: Ctx) -> Part:
    s, sol, n = c.s, c.sol, c.n
    part = Part("Training")
    hist = sol.history
    every = s.log_every or max(1, len(hist) // 10)
    epochs = list(range(0, len(hist), every))
    if epochs[-1] != len(hist) - 1:
        epochs.append(len(hist) - 1)
    part.items.append(Table(["Epoch", "Loss at the start of the epoch"],
                            [[str(e + 1), f"${fmt(hist[e], c.digits)}$"] for e in epochs], "rr",
                            total=["end", f"${fmt(sol.loss_final, c.digits)}$"],
                            in_questions=False))
    part.items.append(Para(f"After {s.epochs} epoch{'s' if s.epochs != 1 else ''} "
                           "(computed, not worked by hand):"))
    steps: list[Step] = []
    for l in range(1, s.depth + 1):
        for p in PARAM_KINDS:
            key = f"{p}{l}"
            if key in sol.final_params:
                steps.append(c.step(n(key) + r"^{\text{final}}", None, None, sol.final_params[key],
                                    key=f"{key}_final", asked=False))
    steps.append(c.step(r"\hat{Y}^{\text{final}}", None, None, sol.yhat_final, key="yhat_final",
                        asked=False))
    if sol.accuracy_final is not None:
        steps.append(c.step(r"\text{accuracy}", None, None, sol.accuracy_final,
                            key="accuracy_final", asked=False))
    elif s.task == "regression":
        steps.append(c.step(r"L^{\text{final}}", None, None, sol.loss_final, key="loss_final",
                            asked=False))
    part.items.append(Eqs(steps))
    return part
