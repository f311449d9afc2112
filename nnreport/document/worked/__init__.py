"""The worked solution of a network problem, one module per part: given, forward, loss,
backward, update, training. Each builds Steps (document/steps.py) from the solved problem;
lines.py renders them. Values are shown in the problem's layout with its display names."""

from __future__ import annotations

from collections.abc import Callable

from ...engine.solution import NetworkSolution
from ..content import Part
from .backward import backward
from .base import Ctx
from .forward import forward
from .given import given
from .later import later_parts
from .layers import refuse_unworked
from .loss import loss
from .report import evaluation, experiments
from .training import training
from .update import update

BUILDERS: dict[str, Callable[[Ctx], Part]] = {
    "given": given, "forward": forward, "loss": loss, "backward": backward, "update": update,
    "training": training}


def network_parts(sol: NetworkSolution, report: bool = False) -> list[Part]:
    refuse_unworked([sol.setup])  # a type whose worked lines are not written: located, exit 2
    c = Ctx(sol, report)
    s = sol.setup
    parts = []
    for name, build in BUILDERS.items():
        if name not in s.show:
            continue
        if name == "training" and s.epochs == 1 and s.batch_size == s.X.shape[0]:
            continue  # one step of one batch: the update above is the whole training
        part = build(c)
        part.key = name
        parts.append(part)
    if sol.later:  # worked_steps: steps 2..k, before the training run
        at = next((k for k, p in enumerate(parts) if p.key == "training"), len(parts))
        parts[at:at] = later_parts(sol, BUILDERS)
    if sol.test is not None:
        parts.append(evaluation(c))
        parts[-1].key = "evaluation"
    if sol.runs:
        parts.append(experiments(c))
        parts[-1].key = "experiments"
    for p in parts[-2:]:
        if p.key in ("evaluation", "experiments"):
            p.answers_only = True  # computer work: never blanks on a question sheet
    return parts
