"""The parts a report adds after training: Evaluation (train beside test metrics, per-class
accuracy; the confusion matrix, example test images or the fit go in as figures) and
Experiments (per group, a results table under the overlaid loss curves)."""

from __future__ import annotations

import numpy as np

from ...render.numbers import fmt
from ..content import Para, Part, Table
from ..escape import escape
from ..placeholders import percent
from .base import Ctx


def _pct(x: float | None) -> str:
    return "--" if x is None or not np.isfinite(x) else percent(x)


def _num(x: float | None, digits: int) -> str:
    return "--" if x is None or not np.isfinite(x) else f"${fmt(x, digits)}$"


def evaluation(c: Ctx) -> Part:
    s, sol, d = c.s, c.sol, c.digits
    part = Part("Evaluation")
    assert sol.test is not None and s.X_test is not None
    m, mt = s.X.shape[0], s.X_test.shape[0]
    l2 = bool(s.l2) or any(getattr(es, "l2", 0) for _, _, es in s.experiments)
    part.items.append(Para(
        f"The data were split before training: {m} samples to train on and {mt} held out "
        f"for testing ({'stratified by class, ' if s.task == 'classification' else ''}"
        "never seen by the optimiser)."
        + (" The test loss is the data term alone (no L2 penalty)." if l2 else "")))
    rows = [["loss", _num(sol.loss_final, d), _num(sol.test.loss, d)]]
    if sol.test.accuracy is not None:
        rows.append(["accuracy", _pct(sol.accuracy_final), _pct(sol.test.accuracy)])
    part.items.append(Table(["", f"train ({m})", f"test ({mt})"], rows, "lrr"))
    if sol.test.per_class is not None and sol.test.confusion is not None:
        k = len(sol.test.per_class)
        counts = sol.test.confusion.sum(axis=1)
        part.items.append(Table(
            ["class"] + [str(j) for j in range(k)],
            [["test samples"] + [str(int(n)) for n in counts],
             ["accuracy"] + [_pct(a) if counts[j] else "--"
                             for j, a in enumerate(sol.test.per_class)]],
            "l" + "r" * k))
    return part


def experiments(c: Ctx) -> Part:
    sol, d = c.sol, c.digits
    part = Part("Experiments")
    groups: dict[str, list] = {}
    for r in sol.runs:
        groups.setdefault(r.group, []).append(r)
    part.items.append(Para(
        "Each run below changes only what its name says and starts from the same initial "
        "weights as the problem above; the target loss of a group is the final training loss "
        "of its worst run, and the epochs column counts the epochs each run needed to reach it."))
    test = any(r.loss_test is not None for r in sol.runs)
    acc = any(r.accuracy_train is not None for r in sol.runs)
    for k, (group, runs) in enumerate(groups.items()):
        header = ["run", "final loss"] + (["test loss"] if test else []) + \
            (["train acc.", "test acc."] if acc and test else ["accuracy"] if acc else []) + \
            [r"$\lVert W \rVert$", "epochs"]  # no run time: a report is reproducible
        rows = []
        for r in runs:
            row = [escape(r.name), _num(r.loss_final, d)]
            if test:
                row.append(_num(r.loss_test, d))
            if acc:
                row.append(_pct(r.accuracy_train))
                if test:
                    row.append(_pct(r.accuracy_test))
            row += [_num(r.weight_norm, d), str(r.epochs_to_target)]  # the prose's digits
            rows.append(row)
        t = Table(header, rows, "l" + "r" * (len(header) - 1),
                  heading=rf"\textbf{{{escape(group)}.}} Target loss "
                  f"${fmt(runs[0].target_loss, d)}$.")
        t.label = f"runs-{k}"
        part.items.append(t)
    return part
