"""Constraints that keep every version of a randomised exam meaningful and equally fair
(docs/spec.md, "Random values and per-student versions").

Per draw: no_saturation, no_dead_relu, nonzero_gradient (the worked step), mixed_labels
(every class in the worked batch), nonzero_features (no all-zero input column), no_exact_ties
(no asked value within `limit` of a unit in its last shown digit from a rounding boundary, so
hand rounding cannot flip it), no_ties (no max-pool window with two maxima, no two equal
attention scores in a row: the worked batch's layers say, each by its type's `ties`). Across versions: distinct_versions (no two versions with the
same asked answers at the shown digits), decided in version order so that a version can be
rebuilt, solved and checked on its own.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..engine.layers import configured, layers_of
from ..engine.solution import NetworkSolution
from ..render.numbers import fmt
from ..spec.setups import Document, NetworkSetup, Setup, network_value_names, optimizer_kind

Fingerprint = tuple[tuple[str, str], ...]


def asked_names(setup: Setup, available: Any) -> list[str]:
    """The asked values' names: the problem's `ask:` list, else every worked value (of the
    names `available` in its answers)."""
    if setup.marking.ask is not None:
        names = list(setup.marking.ask)
    elif isinstance(setup, NetworkSetup):
        names = network_value_names(setup.depth, tuple(
            "threshold" if f"theta{l}" in setup.params else f"b{l}" in setup.params
            for l in range(1, setup.depth + 1)),
                                    optimizer_kind(setup.optimizer), frozen=setup.freeze,
                                    show=setup.show, delta=setup.delta, kinds=setup.kinds,
                                    given=frozenset(setup.params))
    else:
        names = [st.name for st in setup.steps]
    return [n for n in names if n in available]


def asked(setup: Setup, solution: Any) -> dict[str, np.ndarray]:
    """The asked values of a solved problem."""
    values = solution.values()
    return {n: np.asarray(values[n], dtype=float) for n in asked_names(setup, values)}


def fingerprint(setup: Setup, solution: Any) -> Fingerprint:
    """The asked answers as a student writes them (at the shown digits)."""
    out = []
    for name, a in asked(setup, solution).items():
        d = setup.digits_for.get(name, setup.digits)
        out.append((name, " ".join(fmt(float(x), d) for x in a.ravel())))
    return tuple(out)


def tie_distance(x: float, digits: int) -> float:
    """How far x is from a rounding boundary at `digits` significant digits, in units of the
    last shown digit (0.5 is as far as can be; 0 is a tie)."""
    if x == 0 or not math.isfinite(x):
        return 0.5
    last = math.floor(math.log10(abs(x))) - digits + 1
    r = abs(x) / 10.0 ** last
    frac = r - math.floor(r)
    return abs(frac - 0.5) if frac else 0.5  # an exact shorter decimal rounds nowhere


def holds(name: str, limit: float, s: Setup, sol: Any) -> bool:
    if name == "no_exact_ties":
        return all(tie_distance(float(x), s.digits_for.get(n, s.digits)) >= limit
                   for n, a in asked(s, sol).items() for x in a.ravel())
    if not isinstance(s, NetworkSetup):
        return True
    assert isinstance(sol, NetworkSolution)
    st = sol.step
    if name == "no_saturation":  # sigmoid/tanh inputs stay within +-limit
        return all(np.abs(st.Z[l]).max() <= limit for l, a in enumerate(s.activations)
                   if a in ("sigmoid", "tanh"))
    if name == "no_dead_relu":  # every ReLU unit is active for at least one sample
        return all(np.all((st.Z[l] > 0).any(axis=0)) for l, a in enumerate(s.activations[:-1])
                   if a in ("relu", "leaky_relu"))
    if name == "mixed_labels":  # every class of the task present in the worked batch
        Y = sol.Yb
        if Y.shape[1] == 1:
            return bool(np.any(Y == 0) and np.any(Y == 1))
        return bool(np.all(Y.max(axis=0) > 0))
    if name == "nonzero_features":  # no input column that is all zeros
        return bool(np.all(np.abs(s.X).max(axis=0) > 0))
    if name == "distinct_versions":  # decided across versions, not per draw
        return True
    if name == "no_ties":  # no layer with a tie its rule must break (a max-pool window's two
        # maxima, two equal attention scores): each configured type says (engine/layers/)
        bound = configured(s.kinds, s.layer_cfgs, s.depth)
        checks = [(l, getattr(lay, "ties", None)) for l, lay in enumerate(bound, 1)]
        return not any(tie(st.H[l - 1], s.params, l) for l, tie in checks if tie is not None)
    # nonzero_gradient: every gradient entry that can be nonzero is nonzero (each parameter of
    # each layer, as its type names them; a weight's rows of an all-zero input are left out)
    for l, lay in enumerate(layers_of(s.kinds, s.depth), 1):
        live_inputs = np.abs(st.H[l - 1]).max(axis=0) > 0  # an all-zero input feeds no gradient
        for name in lay.param_names(s.params, l):
            g = st.grads[name]
            if name == f"W{l}" and g.ndim == 2 and live_inputs.shape == g.shape[:1]:
                g = g[live_inputs]  # a dense weight's rows (a conv kernel keeps every entry)
            if np.any(np.abs(g) < 1e-12):
                return False
    return True


def failures(doc: Document, solutions: dict[str, Any],
             earlier: list[dict[str, Fingerprint]] | None = None) -> list[str]:
    """The constraints this draw breaks, e.g. ['p3: no_dead_relu'] (empty: accepted);
    `earlier` holds the asked answers of the versions before this one."""
    failed = []
    for setup in doc.problems:
        for name, limit in getattr(setup, "constraints", ()):
            sol = solutions[setup.id]
            if name == "distinct_versions":
                fp = fingerprint(setup, sol)
                if any(e.get(setup.id) == fp for e in earlier or []):
                    failed.append(f"{setup.id}: {name}")
            elif not holds(name, limit, setup, sol):
                failed.append(f"{setup.id}: {name}")
    return failed


def needs_history(doc: Document) -> bool:
    return any(name == "distinct_versions" for p in doc.problems
               for name, _ in getattr(p, "constraints", ()))


def fingerprints(doc: Document, solutions: dict[str, Any]) -> dict[str, Fingerprint]:
    return {p.id: fingerprint(p, solutions[p.id]) for p in doc.problems
            if any(n == "distinct_versions" for n, _ in getattr(p, "constraints", ()))}
