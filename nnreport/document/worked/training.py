"""The training run: the loss per epoch as a table, then the final parameters, predictions and
what fits the task (accuracy for classification, the final loss for regression). These are
computer work, labelled as results, not hand steps."""

from __future__ import annotations

from ...engine.layers import layers_of
from ...render.numbers import fmt
from ..content import Eqs, Para, Part, Table
from ..placeholders import percent
from ..steps import Step
from .base import Ctx
from .ndmaps import split_maps

TWO_COLUMNS = 8  # a report prints a longer loss log as two column pairs


def training(c: Ctx) -> Part:
    s, sol, n = c.s, c.sol, c.n
    part = Part("Training")
    hist = sol.history
    every = s.log_every or max(1, len(hist) // 10)
    epochs = list(range(0, len(hist), every))
    if epochs[-1] != len(hist) - 1:
        epochs.append(len(hist) - 1)
    rows = [[str(e + 1), f"${fmt(hist[e], c.digits)}$"] for e in epochs]
    head, total = ["Epoch", "Loss at the start of the epoch"], ["end", f"${fmt(sol.loss_final, c.digits)}$"]
    if c.report and len(rows) > TWO_COLUMNS:  # a report's long log: two pairs side by side
        half = (len(rows) + 1) // 2
        rows = [rows[i] + [r"\quad"] + (rows[half + i] if half + i < len(rows) else ["", ""])
                for i in range(half)]
        head, total = head + [""] + head, total + ["", "", ""]
    part.items.append(Table(head, rows, "rrcrr" if len(head) > 2 else "rr", total=total,
                            in_questions=False))
    part.items.append(Para(f"After {s.epochs} epoch{'s' if s.epochs != 1 else ''} "
                           "(computed, not worked by hand):"))
    steps: list[Step] = []
    left: list[str] = []  # a large network's tall matrices: answers.json holds them
    for l, lay in enumerate(layers_of(s.kinds, s.depth), 1):
        for key in lay.param_names(sol.final_params, l):  # as its type names them
            if key in sol.final_params:
                steps += split_maps([c.step(n(key) + r"^{\text{final}}", None, None,
                                            sol.final_params[key], key=f"{key}_final",
                                            asked=False)])  # a kernel: one line per map
    steps.append(c.step(r"\hat{Y}^{\text{final}}", None, None, sol.yhat_final, key="yhat_final",
                        asked=False))
    if c.large:
        left = [f"${st.lhs}$" for st in steps if st.result is not None and c.tall(st.result)]
        steps = [st for st in steps if st.result is None or not c.tall(st.result)]
    if sol.accuracy_final is not None:
        if c.report:  # as the report's tables print it (issue 22.10)
            steps.append(Step(r"\text{accuracy}", None, [percent(sol.accuracy_final).strip("$")],
                              None, asked=False))
        else:
            steps.append(c.step(r"\text{accuracy}", None, None, sol.accuracy_final,
                                key="accuracy_final", asked=False))
    elif s.task == "regression":
        steps.append(c.step(r"L^{\text{final}}", None, None, sol.loss_final, key="loss_final",
                            asked=False))
    if len(steps) > 1:  # the closing line stays with the values above it (issue 22.7)
        steps[-1].keep = True
    part.items.append(Eqs(steps))
    if left:
        part.items.append(Para(", ".join(left[:-1]) + (" and " if len(left) > 1 else "")
                               + left[-1] + " are too large to print usefully; answers.json "
                               "holds them in full."))
    return part
