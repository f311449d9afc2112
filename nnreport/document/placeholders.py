"""`{{ problem.value }}` and `{{ experiments.RUN.metric }}` in prose, replaced by the value at
the document's digits (the number rule), `| percent` as a percentage to 3 digits. Names were
checked when the spec was loaded (spec/report.py); a value that is missing here (a run that
reached no target) prints as a dash."""

from __future__ import annotations

import math
from typing import Any

from ..render.numbers import fmt
from ..spec.report import PLACEHOLDER


def scalars(doc: Any, solutions: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for pid, sol in solutions.items():
        for name, v in sol.values().items():
            if isinstance(v, int | float) and not isinstance(v, bool):
                out[f"{pid}.{name}"] = float(v)
            elif hasattr(v, "size") and getattr(v, "size", 0) == 1:
                out[f"{pid}.{name}"] = float(v.ravel()[0])
        for run in getattr(sol, "runs", []):
            for metric, v in run.values().items():
                if isinstance(v, int | float) and not isinstance(v, bool):
                    out[f"experiments.{run.name}.{metric}"] = float(v)
    return out


def percent(x: float) -> str:
    """A share as a percentage with one decimal, as inline math: 99.0%, 99.3%, 68.0%, in
    prose and in every table column alike (rounded half up from the value's shortest
    decimal, so 0.9925 is 99.3%)."""
    from decimal import ROUND_HALF_UP, Decimal

    d = (Decimal(repr(float(x))) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"${d}\\%$"


def fill(text: str, values: dict[str, float], digits: int) -> str:
    """The text with each placeholder replaced by its value as inline math."""
    def one(m: Any) -> str:
        v = values.get(m.group(1))
        if v is None or not math.isfinite(v):
            return "--"
        if m.group(2) == "percent":
            return percent(v)
        return f"${fmt(v, digits)}$"
    return PLACEHOLDER.sub(one, text)
