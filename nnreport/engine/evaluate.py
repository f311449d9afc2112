"""Evaluation of a trained network on held-out data, and the summary of an experiment run.

Test losses are the data term only (no L2 penalty), so runs with different lambda compare;
the training loss history keeps the penalty the optimiser minimised (docs/spec.md, Reports).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .network import Net, forward, loss_of

Array = np.ndarray


def data_loss(net: Net, params: dict[str, Array], X: Array, Y: Array) -> float:
    return loss_of(replace(net, l2=0.0), params, X, Y)


def classes(Y: Array) -> Array:
    return Y.argmax(axis=1) if Y.shape[1] > 1 else (Y[:, 0] >= 0.5).astype(int)


def predicted(yhat: Array) -> Array:
    return yhat.argmax(axis=1) if yhat.shape[1] > 1 else (yhat[:, 0] >= 0.5).astype(int)


def confusion(yhat: Array, Y: Array) -> Array:
    """Counts: row = true class, column = predicted class."""
    k = max(Y.shape[1], 2)
    out = np.zeros((k, k), dtype=int)
    np.add.at(out, (classes(Y), predicted(yhat)), 1)
    return out


@dataclass
class Evaluation:
    yhat: Array
    loss: float
    accuracy: float | None = None
    confusion: Array | None = None
    per_class: Array | None = None  # accuracy within each true class (NaN if absent)

    def values(self, suffix: str = "_test") -> dict[str, Any]:
        v: dict[str, Any] = {f"loss{suffix}": self.loss, f"yhat{suffix}": self.yhat}
        if self.accuracy is not None:
            v[f"accuracy{suffix}"] = self.accuracy
            v[f"confusion{suffix}"] = self.confusion
            v[f"per_class_accuracy{suffix}"] = self.per_class
        return v


def evaluate(net: Net, params: dict[str, Array], X: Array, Y: Array,
             classification: bool) -> Evaluation:
    _, H = forward(net, params, X)
    yhat = H[-1]
    ev = Evaluation(yhat, data_loss(net, params, X, Y))
    if classification:
        c = confusion(yhat, Y)
        ev.confusion = c
        ev.accuracy = float(np.trace(c) / max(c.sum(), 1))
        with np.errstate(invalid="ignore", divide="ignore"):
            ev.per_class = np.diag(c) / c.sum(axis=1)
    return ev


@dataclass
class Run:
    """One experiment run, summarised for tables, figures and placeholders."""

    group: str
    name: str
    history: list[float]
    history_test: list[float]
    loss_final: float
    loss_test: float | None
    accuracy_train: float | None
    accuracy_test: float | None
    weight_norm: float
    seconds: float
    settings: dict[str, Any] = field(default_factory=dict)
    initial: dict[str, Array] = field(default_factory=dict)
    epochs_to_target: int | None = None  # first epoch starting at or below the group's target
    target_loss: float | None = None     # the worst final training loss of the group
    final: dict[str, Array] = field(default_factory=dict)  # trained parameters (rows layout)
    setup: Any = None                                       # the run's own NetworkSetup

    def values(self) -> dict[str, Any]:
        return {"loss_final": self.loss_final, "loss_test": self.loss_test,
                "accuracy_train": self.accuracy_train, "accuracy_test": self.accuracy_test,
                "weight_norm": self.weight_norm, "epochs_to_target": self.epochs_to_target,
                "target_loss": self.target_loss, "loss_history": self.history,
                "loss_history_test": self.history_test, "settings": self.settings,
                "initial": self.initial}


def set_targets(runs: list[Run]) -> None:
    """Within each group, the epochs each run needed to reach the loss the worst run ends at."""
    for group in {r.group for r in runs}:
        mine = [r for r in runs if r.group == group]
        target = max(r.loss_final for r in mine)
        for r in mine:
            r.target_loss = target
            hist = r.history + [r.loss_final]
            r.epochs_to_target = next((e for e, h in enumerate(hist) if h <= target), len(hist))
