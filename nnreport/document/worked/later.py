"""The later worked steps (`worked_steps: k`): steps 2..k, each worked in full like the first
(its batch, forward pass, loss, backward pass, optimiser state and update), from the
parameters and optimiser state the step before left. Their values are printed, and asked only
when `ask:` names them: each line is named `steps[i].<name>` (i = t - 1), as the JSON's
`steps` list holds it, and marking.py treats the lines as it treats the first step's."""

from __future__ import annotations

from collections.abc import Callable

from ...engine.solution import NetworkSolution, later_solution
from ..content import Eqs, Para, Part
from .base import Ctx, samples
from .given import value_items


def later_parts(sol: NetworkSolution, builders: dict[str, Callable[[Ctx], Part]]) -> list[Part]:
    out: list[Part] = []
    for w in sol.later:
        c = Ctx(later_solution(sol, w))
        c.t = w.t
        s, n = c.s, c.n
        start = [(n(k), c.v(v)) for k, v in w.params.items()]
        start += [(rf"{st}^{{\text{{old}}}}_{{{n(k)}}}", c.v(v))
                  for k in w.params for st, v in w.state.get(k, {}).items()]
        e = w.epoch
        where = (f"batch {1 + (w.t - 1) % len(sol.batches)} of epoch {e}"
                 if len(sol.batches) > 1 else f"epoch {e}")
        parts = [Part(f"Step {w.t}", [
            Para(f"Step {w.t} ({where}) works {samples(w.rows)}, from the parameters"
                 + (" and the optimiser state" if w.state else "")
                 + f" after step {w.t - 1}"
                 + (" (the state marked old)" if w.state else "") + ":"),
            *value_items(c, [("X", c.v(w.Xb)), ("Y", c.v(w.Yb))], f"{s.id}-step{w.t}"),
            *value_items(c, start, f"{s.id}-step{w.t}", in_questions=False)])]
        for name in ("forward", "loss", "backward", "update"):
            if name in s.show:
                part = builders[name](c)
                part.title = f"Step {w.t}: {part.title}"
                parts.append(part)
        ask = s.marking.ask or ()
        later = [a for a in ask if a.startswith("steps[") and int(a[6:a.index("]")]) >= w.t - 1]
        for part in parts:
            part.key = f"step{w.t}"
            for item in part.items:
                for st in item.steps if isinstance(item, Eqs) else ():
                    st.asked = st.asked and bool(later)  # asked: marking.py decides as for
                    st.key = f"steps[{w.t - 1}].{st.key}" if st.key else ""  # step 1's
        parts[0].answers_only = not later  # the sheet: only up to the last asked step
        out += parts
    return out
