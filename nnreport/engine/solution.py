"""What solving gives: a network problem's worked step, training and named values
(`NetworkSolution`, later worked steps as `WorkedStep`), an expression problem's results.

`values()` is the JSON contract: canonical names, the problem's layout, full precision.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..spec.setups import ExpressionSetup, NetworkSetup, param_names
from .evaluate import Evaluation, Run
from .intermediates import intermediates
from .layers import configured
from .network import Pass

Array = np.ndarray


def in_layout(a: Array, layout: str) -> Array:
    """A rows-layout matrix as the problem's layout shows it."""
    return a.T if layout == "columns" and a.ndim == 2 else a


def in_layout_each(a: Array, layout: str) -> Array:
    """`in_layout`, and for a stack of per-sample matrices each matrix."""
    return np.swapaxes(a, 1, 2) if layout == "columns" and a.ndim == 3 else in_layout(a, layout)


@dataclass
class WorkedStep:
    """A later worked step (worked_steps: k, t = 2..k): its batch, its pass, the parameters
    and optimiser state it starts from, its state and the parameters it gives."""

    t: int
    epoch: int  # 1-based
    rows: list[int]  # 0-based sample rows of its batch
    Xb: Array
    Yb: Array
    step: Pass
    params: dict[str, Array]
    state: dict[str, dict[str, Array]]
    opt_state: dict[str, dict[str, Array]]
    new_params: dict[str, Array]


@dataclass
class NetworkSolution:
    setup: NetworkSetup
    Xb: Array  # first batch, rows layout
    Yb: Array
    step: Pass
    new_params: dict[str, Array]
    history: list[float]
    final_params: dict[str, Array]
    yhat_final: Array
    loss_final: float
    accuracy_final: float | None
    opt_state: dict[str, dict[str, Array]] = field(default_factory=dict)  # worked step, per param
    batches: list[list[int]] = field(default_factory=list)  # epoch 1: 0-based sample rows
    batch: Pass | None = None  # the whole first batch, when the worked step is its first samples
    history_test: list[float] = field(default_factory=list)  # data loss on the test set
    test: Evaluation | None = None                           # the trained network on it
    runs: list[Run] = field(default_factory=list)             # experiments
    chain: dict[str, Any] = field(default_factory=dict)      # rounding: chain (engine/chain.py)
    tolerance: dict[str, Any] = field(default_factory=dict)
    named: dict[str, Array] = field(default_factory=dict)  # engine/intermediates.py
    later: list[WorkedStep] = field(default_factory=list)  # worked steps 2..k
    kind: str = "network"

    def values(self) -> dict[str, Any]:
        lay = self.setup.layout
        v = self.worked_values()
        names = param_names(self.new_params, self.setup.depth)  # every layer's, any type
        v["batches"] = self.batches
        v["loss_history"] = self.history
        v["loss_final"] = self.loss_final
        v["yhat_final"] = in_layout(self.yhat_final, lay)
        for k in names:
            v[f"{k}_final"] = in_layout(self.final_params[k], lay)
        if self.accuracy_final is not None:
            v["accuracy_final"] = self.accuracy_final
        if self.test is not None:
            if self.accuracy_final is not None:
                v["accuracy_train"] = self.accuracy_final
            v["test_rows"] = list(self.setup.test_rows)
            v["loss_history_test"] = self.history_test
            v.update({k: (in_layout(x, lay) if k == "yhat_test" else x)
                      for k, x in self.test.values().items()})
        if self.runs:
            groups: dict[str, dict[str, Any]] = {}
            for r in self.runs:
                groups.setdefault(r.group, {})[r.name] = r.values()
            v["experiments"] = groups
        if self.setup.worked_steps > 1:
            first = {"t": 1, "epoch": 1, "batch": self.batches[0], **self.worked_values()}
            v["steps"] = [first] + [{"t": w.t, "epoch": w.epoch, "batch": w.rows,
                                     **later_solution(self, w).worked_values()}
                                    for w in self.later]
            for name in self.setup.marking.ask or ():  # an asked later value, by its name
                if name.startswith("steps["):           # too (check and the LMS read it)
                    i, _, key = name[6:].partition("].")
                    v[name] = v["steps"][int(i)][key]
        return v

    def worked_values(self) -> dict[str, Any]:
        """The worked step's values (the first part of the JSON contract)."""
        L, lay = self.setup.depth, self.setup.layout
        # a layer without an activation of its own (pool, flatten, batchnorm, dropout,
        # attention) has H{l} and no Z{l}, dZ{l} (H = Z)
        own = [True] * L if not self.setup.layer_cfgs else [
            x.has_z for x in configured(self.setup.kinds, self.setup.layer_cfgs, L)]
        v: dict[str, Any] = {}
        for l in range(1, L + 1):
            if own[l - 1]:
                v[f"Z{l}"] = in_layout(self.step.Z[l - 1], lay)
            if l < L:
                v[f"H{l}"] = in_layout(self.step.H[l], lay)
        v["yhat"] = in_layout(self.step.H[L], lay)
        v["loss"] = self.step.loss
        v["loss_per_sample"] = self.step.loss_per_sample
        for l in range(1, L + 1):
            if own[l - 1]:
                v[f"dZ{l}"] = in_layout(self.step.dZ[l - 1], lay)
        if self.setup.delta == "error":  # the error signal, -dL/dZ (delta: error)
            for l in range(1, L + 1):
                if own[l - 1]:
                    v[f"delta{l}"] = in_layout(-self.step.dZ[l - 1], lay)
        v.update({k: in_layout(x, lay) for k, x in self.named.items()})
        v.update(self.step.values)  # the layers' own (mu, Q, S, an rnn's steps ...)
        for k in param_names(self.step.grads, L):  # no db for a layer without bias
            v[f"d{k}"] = in_layout(self.step.grads[k], lay)
        names = param_names(self.new_params, L)
        if self.batch is not None:  # the gradient the update used: over the whole first batch
            v["loss_batch"] = self.batch.loss
            for k in names:
                v[f"d{k}_batch"] = in_layout(self.batch.grads[k], lay)
        for k in names:
            if k in self.step.per_sample:  # omitted past half answer_entries
                v[f"d{k}_per_sample"] = [in_layout(m, lay) for m in self.step.per_sample[k]]
        for k in names:
            for state, value in self.opt_state.get(k, {}).items():
                v[f"{k}_{state}"] = in_layout(value, lay)
        for k in names:
            v[f"{k}_new"] = in_layout(self.new_params[k], lay)
        return v


def later_solution(sol: NetworkSolution, w: WorkedStep) -> NetworkSolution:
    """A later worked step as a solution of its own: the setup starts from the parameters
    and optimiser state before the step (so the key's parts and worked_values() show it)."""
    s = replace(sol.setup, params=w.params, state=w.state, worked_samples=None)
    return NetworkSolution(
        setup=s, Xb=w.Xb, Yb=w.Yb, step=w.step, new_params=w.new_params, history=[],
        final_params={}, yhat_final=w.step.H[-1], loss_final=w.step.loss, accuracy_final=None,
        opt_state=w.opt_state, batches=[w.rows], named=intermediates(s, w.step, w.Yb))


@dataclass
class ExpressionSolution:
    setup: ExpressionSetup
    results: dict[str, Array] = field(default_factory=dict)
    chain: dict[str, Any] = field(default_factory=dict)
    tolerance: dict[str, Any] = field(default_factory=dict)
    kind: str = "expression"

    def values(self) -> dict[str, Any]:
        return dict(self.results)


Solution = NetworkSolution | ExpressionSolution
