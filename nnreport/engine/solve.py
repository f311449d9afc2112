"""Solve resolved problems: the worked first step, the training run, and named values.

`Solution.values()` is the JSON contract: canonical names, the problem's layout, full precision.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..errors import ComputeError
from ..spec.setups import Document, ExpressionSetup, NetworkSetup, Setup, param_names
from . import exact
from .evaluate import Evaluation, Run, data_loss, set_targets
from .evaluate import evaluate as evaluate_net
from .exact import EXACT_MAX_OPS
from .expressions import evaluate, exact_value
from .functions import LossSpec, per_sample_loss
from .intermediates import intermediates
from .network import Net, Pass, forward_exact, l2_penalty, loss_of, reduce, run
from .optim import Optimizer, OptimizerSpec

Array = np.ndarray


def make_net(s: NetworkSetup) -> Net:
    return Net(s.activations, s.alphas, LossSpec(s.loss, s.eps, s.reduction, s.factor), s.l2,
               s.kinds)


def _shown(a: Array, layout: str) -> Array:
    """A rows-layout matrix as the problem's layout shows it."""
    return a.T if layout == "columns" and a.ndim == 2 else a


def _shown_each(a: Array, layout: str) -> Array:
    """`_shown`, and for a stack of per-sample matrices each matrix."""
    return np.swapaxes(a, 1, 2) if layout == "columns" and a.ndim == 3 else _shown(a, layout)


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
        names = [f"{p}{l}" for p in ("W", "b") for l in range(1, self.setup.depth + 1)
                 if f"{p}{l}" in self.new_params]
        v["batches"] = self.batches
        v["loss_history"] = self.history
        v["loss_final"] = self.loss_final
        v["yhat_final"] = _shown(self.yhat_final, lay)
        for k in names:
            v[f"{k}_final"] = _shown(self.final_params[k], lay)
        if self.accuracy_final is not None:
            v["accuracy_final"] = self.accuracy_final
        if self.test is not None:
            if self.accuracy_final is not None:
                v["accuracy_train"] = self.accuracy_final
            v["test_rows"] = list(self.setup.test_rows)
            v["loss_history_test"] = self.history_test
            v.update({k: (_shown(x, lay) if k == "yhat_test" else x)
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
        v: dict[str, Any] = {}
        for l in range(1, L + 1):
            v[f"Z{l}"] = _shown(self.step.Z[l - 1], lay)
            if l < L:
                v[f"H{l}"] = _shown(self.step.H[l], lay)
        v["yhat"] = _shown(self.step.H[L], lay)
        v["loss"] = self.step.loss
        v["loss_per_sample"] = self.step.loss_per_sample
        for l in range(1, L + 1):
            v[f"dZ{l}"] = _shown(self.step.dZ[l - 1], lay)
        if self.setup.delta == "error":  # the error signal, -dL/dZ (delta: error)
            for l in range(1, L + 1):
                v[f"delta{l}"] = _shown(-self.step.dZ[l - 1], lay)
        v.update({k: _shown(x, lay) for k, x in self.named.items()})
        for k in param_names(self.step.grads, L):  # no db for a layer without bias
            v[f"d{k}"] = _shown(self.step.grads[k], lay)
        names = param_names(self.new_params, L)
        if self.batch is not None:  # the gradient the update used: over the whole first batch
            v["loss_batch"] = self.batch.loss
            for k in names:
                v[f"d{k}_batch"] = _shown(self.batch.grads[k], lay)
        for k in names:
            if k in self.step.per_sample:  # omitted past half answer_entries
                v[f"d{k}_per_sample"] = [_shown(m, lay) for m in self.step.per_sample[k]]
        for k in names:
            for state, value in self.opt_state.get(k, {}).items():
                v[f"{k}_{state}"] = _shown(value, lay)
        for k in names:
            v[f"{k}_new"] = _shown(self.new_params[k], lay)
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


def accuracy(yhat: Array, Y: Array) -> float | None:
    """Share of samples classified right, when Y holds class labels (binary or one-hot)."""
    if not np.all((Y == 0) | (Y == 1)):
        return None
    if Y.shape[1] == 1:
        return float(((yhat >= 0.5) == (Y == 1)).mean())
    if not np.all(Y.sum(axis=1) == 1):
        return None
    return float((yhat.argmax(axis=1) == Y.argmax(axis=1)).mean())


def _batches(m: int, size: int, order: Array | None) -> list[Any]:
    """Index batches in order; plain slices when there is no shuffle (no copies of X)."""
    if order is None:
        return [slice(i, min(i + size, m)) for i in range(0, m, size)]
    return [order[i:i + size] for i in range(0, m, size)]


def solve_network(s: NetworkSetup) -> NetworkSolution:
    sol = train_network(s)
    if s.experiments:
        sol.runs = [experiment_run(g, name, es) for g, name, es in s.experiments]
        set_targets(sol.runs)
    return sol


def experiment_run(group: str, name: str, s: NetworkSetup) -> Run:
    """Train one experiment run and summarise it (its own worked step is not needed)."""
    start = time.perf_counter()
    sol = train_network(s)
    seconds = time.perf_counter() - start
    norm = float(np.sqrt(sum(float((w ** 2).sum()) for k, w in sol.final_params.items()
                             if k.startswith("W"))))
    settings = {"units": list(s.units), "activations": list(s.activations), "loss": s.loss,
                "l2": s.l2, "lr": s.lr, "optimizer": dict(s.optimizer), "epochs": s.epochs,
                "batch_size": s.batch_size}
    return Run(group, name, sol.history, sol.history_test, sol.loss_final,
               sol.test.loss if sol.test else None, sol.accuracy_final,
               sol.test.accuracy if sol.test else None, norm, seconds, settings,
               {k: _shown(v, s.layout) for k, v in s.params.items()},
               final=sol.final_params, setup=s)


def train_network(s: NetworkSetup) -> NetworkSolution:
    net = make_net(s)
    X, Y = s.X, s.Y
    m = X.shape[0]
    opt = Optimizer.starting(OptimizerSpec(**s.optimizer), s.lr, s.state)
    rs = np.random.RandomState(s.shuffle_seed) if s.shuffle_seed is not None else None
    params = {k: v.copy() for k, v in s.params.items()}
    history: list[float] = []
    history_test: list[float] = []
    first: tuple[Array, Array, Pass, dict[str, Array], Pass | None] | None = None
    trace: dict[str, dict[str, Array]] = {}
    batches: list[list[int]] = []
    later: list[WorkedStep] = []
    t = 0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        for epoch in range(1, s.epochs + 1):
            order = rs.permutation(m) if rs is not None else None
            epoch_batches = _batches(m, s.batch_size, order)
            if epoch == 1:
                batches = [np.arange(m)[idx].tolist() for idx in epoch_batches]
            start_loss: float | None = None
            start_params = params
            for j, idx in enumerate(epoch_batches):
                Xb, Yb = X[idx], Y[idx]
                is_first = first is None
                t += 1
                more = 1 < t <= s.worked_steps  # a later worked step (worked_steps: k)
                k = s.worked_samples or Xb.shape[0]
                worked = is_first and k < Xb.shape[0]  # the worked step: the batch's first k
                p = run(net, params, Xb, Yb, per_sample=(is_first or more) and s.per_sample
                        and not worked, exact=is_first or more)
                if worked:
                    pw = run(net, params, Xb[:k], Yb[:k], per_sample=s.per_sample, exact=True)
                if j == 0 and Xb.shape[0] == m and rs is None:
                    start_loss = p.loss  # full batch, same params: no second forward pass
                elif j == 0:
                    start_loss = loss_of(net, params, X, Y)
                if more:
                    w = WorkedStep(t, epoch, np.arange(m)[idx].tolist(), Xb, Yb, p, params,
                                   opt.state_of(), {}, {})
                params = opt.step(params, p.grads, set(s.freeze),
                                  trace if is_first else w.opt_state if more else None,
                                  p.rationals if is_first or more else None)
                if more:
                    w.new_params = params
                    later.append(w)
                if is_first:
                    first = (Xb[:k], Yb[:k], pw, params, p) if worked else (Xb, Yb, p, params, None)
            assert start_loss is not None
            history.append(start_loss)
            if s.X_test is not None and s.Y_test is not None:
                history_test.append(data_loss(net, start_params, s.X_test, s.Y_test))
            bad = [k for k, v in params.items() if not np.all(np.isfinite(v))]
            if not np.isfinite(start_loss) or bad:
                what = f"loss {start_loss:g}" if not np.isfinite(start_loss) else f"{bad[0]} has NaN/inf"
                raise ComputeError(
                    f"problem '{s.id}': training diverged in epoch {epoch} ({what})\n"
                    f"    hint: lower the learning rate (lr: {s.lr:g}) or scale the inputs")
        Z, H = forward_exact(net, params, X)  # one pass: the final loss and predictions
        final_loss = reduce(net, per_sample_loss(net.loss, Z[-1], H[-1], Y)) + l2_penalty(net, params, m)
        if not np.isfinite(final_loss) or not np.all(np.isfinite(H[-1])):
            raise ComputeError(
                f"problem '{s.id}': training diverged in epoch {s.epochs} (loss {final_loss:g} "
                f"after the last update)\n    hint: lower the learning rate (lr: {s.lr:g}) or "
                "scale the inputs")
    assert first is not None
    Xb, Yb, p, new, whole = first
    return NetworkSolution(
        setup=s, Xb=Xb, Yb=Yb, step=p, new_params=new, history=history, final_params=params,
        batch=whole, named=intermediates(s, p, Yb),
        yhat_final=H[-1], loss_final=final_loss,
        accuracy_final=accuracy(H[-1], Y) if s.task == "classification" else None,
        opt_state=trace, batches=batches, history_test=history_test, later=later,
        test=evaluate_net(net, params, s.X_test, s.Y_test, s.task == "classification")
        if s.X_test is not None and s.Y_test is not None else None,
    )


def solve_expression(s: ExpressionSetup) -> ExpressionSolution:
    """Each step in float64 and, alongside, in exact rationals while it stays rational; an
    exact step's value is the float nearest to its exact value (0.1 + 0.2 - 0.3 is 0)."""
    env = dict(s.given)
    small = sum(v.size for v in s.given.values()) <= EXACT_MAX_OPS
    exact_env = {k: exact.rational(v) if small else None for k, v in s.given.items()}
    out = ExpressionSolution(s)
    for st in s.steps:
        val = evaluate(st.tree, env, f"{s.id}.{st.name}", s.budgets.compute_entries)
        e = exact_value(st.tree, exact_env) if small else None
        if e is not None and e.shape == np.shape(val):
            val = exact.to_float(e)
        exact_env[st.name] = e
        env[st.name] = val
        out.results[st.name] = val
    return out


def solve_problem(s: Setup) -> Solution:
    try:
        sol = solve_network(s) if isinstance(s, NetworkSetup) else solve_expression(s)
        if s.rounding == "chain":
            from .chain import chain_and_tolerance

            chain, tol = chain_and_tolerance(s, sol)
            lay = s.layout if isinstance(s, NetworkSetup) else "rows"  # expressions: as computed
            sol.chain = {k: _shown_each(v, lay) for k, v in chain.items()}
            sol.tolerance = {k: {"low": _shown_each(a, lay), "high": _shown_each(b, lay)}
                             for k, (a, b) in tol.items()}
        return sol
    except MemoryError:
        names = ("data_entries", "answer_entries") if isinstance(s, NetworkSetup) else (
            "compute_entries", "answer_entries")
        raise ComputeError(
            f"problem '{s.id}': out of memory while solving, within the budgets\n    hint: "
            f"this machine has less memory than the budgets allow; lower {' or '.join(names)} "
            f"(now {getattr(s.budgets, names[0])} and {getattr(s.budgets, names[1])}) "
            "with --budget NAME=N, or make the problem smaller") from None


def solve(doc: Document) -> dict[str, Solution]:
    return {p.id: solve_problem(p) for p in doc.problems}


def to_jsonable(v: Any) -> Any:
    """Plain lists and floats for strict JSON: NaN and +-inf (log(0) in a compute step, say),
    which JSON cannot hold, become None (null); docs/spec.md says so."""
    if isinstance(v, np.ndarray):
        if v.dtype.kind == "f" and not np.all(np.isfinite(v)):
            return np.where(np.isfinite(v), v.astype(object), None).tolist()  # type: ignore[call-overload]
        return v.tolist()
    if isinstance(v, list):
        return [to_jsonable(x) for x in v]
    if isinstance(v, np.floating | np.integer):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v
