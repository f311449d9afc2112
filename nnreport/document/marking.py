"""What a question sheet asks, for how many points, with how much help and how much room.

Reads the worked Steps (so the key, the question sheet, HTML and grading agree) and the
problem's Marking (spec `ask`, `points`, `scaffold`, `space`; docs/spec.md "Question sheets"):

- graded values: `ask`, or by default every worked value (scaffold full) or the main results
  (scaffold results); each carries points: 1 by default, `points: N` shares N equally,
  `points: {name: p}` sets values one by one (the rest 1);
- scaffold full: every intermediate gets a labelled blank, graded ones with their points;
  results: only the graded values; none: the problem text, the given values and room;
- computed parts (training) never become blanks;
- a problem without text states its task from what is asked.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import numpy as np

from ..spec.setups import ExpressionSetup, NetworkSetup, Setup
from .content import Eqs, Part
from .escape import escape
from .steps import Step, Val

MAIN_RESULTS = re.compile(r"^(Z\d+|H\d+|yhat|loss|dW\d+|db\d+|dtheta\d+|W\d+_new|b\d+_new|"
                          r"theta\d+_new)$")
SPACE = {"full": "1.5cm", "results": "3cm", "none": "9cm"}


def _steps(parts: list[Part]) -> list[Step]:
    return [st for part in parts for item in part.items if isinstance(item, Eqs)
            for st in item.steps]


def graded(setup: Setup, parts: list[Part]) -> list[str]:
    """The canonical names of the graded values, in the order the solution reaches them."""
    keys = list(dict.fromkeys(st.key for st in _steps(parts)
                              if st.key and st.asked and st.result is not None))
    m = setup.marking
    if m.ask is not None:
        return [k for k in keys if k in m.ask] + [k for k in m.ask if k not in keys]
    if m.scaffold == "results" and isinstance(setup, NetworkSetup):
        return [k for k in keys if MAIN_RESULTS.match(k)]
    return keys


def points_of(setup: Setup, names: list[str], lines: Counter[str]) -> dict[str, float]:
    """Points per graded value: `points: N` shares N equally among the values; a mapping sets
    values one by one; otherwise (and for values a mapping leaves out) each answer line is
    worth 1 (a per-sample value of 3 samples: 3)."""
    p = setup.marking.points
    if isinstance(p, int | float):
        return {n: p / len(names) for n in names} if names else {}
    given = p or {}
    return {n: float(given.get(n, max(lines[n], 1))) for n in names}


def apply(setup: Setup, parts: list[Part]) -> float:
    """Mark every step of the parts for the question sheet; return the problem's points."""
    m = setup.marking
    names = graded(setup, parts)
    count = Counter(st.key for st in _steps(parts) if st.key in names)
    points = points_of(setup, names, count)
    steps = _steps(parts)
    # with an ask list, the sheet stops at the last value it grades: later steps are not
    # part of the question (no blank); the ones before it are the working, marked ungraded
    last = max((k for k, st in enumerate(steps) if st.key in points), default=len(steps) - 1)
    for k, st in enumerate(steps):
        if st.key in points:
            st.points = points[st.key] / count[st.key]  # e.g. one loss per sample
            st.asked = st.result is not None
        elif m.scaffold != "full" or (m.ask is not None and k > last):
            st.asked = False
    for part in parts:
        if part.key == "training":
            part.answers_only = True  # computer work: never blanks on the question sheet
        elif part.key != "given" and _nothing_asked(part):
            part.answers_only = True  # nothing asked in it: no empty heading on the sheet
    return sum(points.values())


def _nothing_asked(part: Part) -> bool:
    """A part whose worked steps ask nothing and that shows nothing else on the sheet."""
    eqs = [item for item in part.items if isinstance(item, Eqs)]
    shown = [item for item in part.items if getattr(item, "in_questions", False)]
    return bool(eqs) and not shown and not any(st.asked and st.result is not None
                                                for item in eqs for st in item.steps)


def mark_chain(sol: Any, parts: list[Part]) -> None:
    """With rounding: chain, give each step whose rounded-chain value prints differently from
    its full-precision value that chain value (the key shows both)."""
    from ..engine.printed import shown_array

    chain = getattr(sol, "chain", None) or {}
    for st in _steps(parts):
        if st.result is None or st.key not in chain:
            continue
        want = np.asarray(chain[st.key], dtype=float)
        if st.at and want.ndim > len(st.at):  # a map or a sample of an N-d value
            want = want[st.at]
        full = st.result.array
        if want.size != full.size:
            continue
        d = st.result.digits  # the same number printed "0.60" and, exactly short, "0.6": no row
        if not np.array_equal(shown_array(full, d), shown_array(want.reshape(full.shape), d)):
            st.chain = Val(want.reshape(full.shape), d, st.result.column)


def space(setup: Setup) -> str:
    """Room to write after each part of the question sheet (the whole problem for none)."""
    s = setup.marking.space
    return SPACE[setup.marking.scaffold] if s == "auto" else s


NAME_WORDS = {"yhat": r"$\hat{Y}$", "loss": "the loss $L$", "loss_per_sample": "each sample's loss"}


def _describe(name: str, lhs: dict[str, str]) -> str:
    """A value as the task sentence names it: in words where they read better, else by the
    key's own left-hand side (one rule for names: mean_ce is $\\mathrm{mean}_{ce}$ in the
    formula and in the sentence)."""
    if name.startswith("steps["):  # a later worked step's value (worked_steps)
        i, _, base = name[6:].partition("].")
        return _describe(base, {base: lhs[name]} if name in lhs else {}) + f" of step {int(i) + 1}"
    if name in NAME_WORDS:
        return NAME_WORDS[name]
    m = re.fullmatch(r"(d?)([WbZH])(\d+)(_new|_per_sample)", name)
    if m:
        d, base, l, tail = m.groups()
        if tail == "_new":  # as the key's line names it (symbols: W: w gives w_{1})
            own = lhs.get(name, f"{base}_{{{l}}}").replace(r"^{\text{new}}", "")
            return f"the updated ${own}$"
        return f"${lhs.get(f'{d}{base}{l}', f'{d}{base}_{{{l}}}')}$ for each sample"
    if name in lhs:
        return f"${lhs[name]}$"
    return rf"$\mathrm{{{name}}}$".replace("_", r"\_")


# what the generated task sentence calls a layer's activation (plain words: the sentence is
# text, and a name such as leaky_relu is not)
ACTIVATION_WORDS = {"relu": "ReLU", "leaky_relu": "leaky ReLU", "tanh": "tanh",
                    "sigmoid": "sigmoid", "linear": "linear", "softmax": "softmax"}


def task_text(setup: Setup, names: list[str], parts: list[Part] | None = None) -> str:
    """A sentence that states the task when the spec gives no text; each value named as
    the key's line names it (`parts`)."""
    lhs: dict[str, str] = {}
    for st in _steps(parts or []):
        if st.key and st.result is not None:
            lhs.setdefault(st.key, st.lhs)
    if isinstance(setup, ExpressionSetup):
        what = [_describe(n, lhs) for n in names] or ["every value"]
        return "Compute " + _join(what) + " from the given values."
    s = setup
    shape = "-".join(str(u) for u in s.units)
    acts = ", ".join(dict.fromkeys(ACTIVATION_WORDS.get(a, a) for a in s.activations[:-1]))
    last = ACTIVATION_WORDS.get(s.activations[-1], s.activations[-1])
    head = escape(f"A {shape} network ({acts or 'no'} hidden units, a {last} output) is trained "
                  f"with the {s.loss.upper()} loss.")
    shown = [_describe(n, lhs) for n in names[:8]] + (["the other values asked below"] if len(names) > 8 else [])
    return head + " Compute " + _join(shown or ["every value of the worked step"]) + "."


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
