"""Solve resolved problems: the worked first step, the training run, and named values
(the solutions themselves, and their JSON contract, are in solution.py)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..errors import ComputeError
from ..spec.setups import Document, ExpressionSetup, NetworkSetup, Setup
from . import exact
from .evaluate import Run, data_loss, set_targets
from .evaluate import evaluate as evaluate_net
from .exact import EXACT_MAX_OPS
from .expressions import evaluate, exact_value
from .functions import LossSpec, per_sample_loss
from .intermediates import intermediates
from .network import Net, Pass, forward_exact, l2_penalty, loss_of, reduce, run
from .optim import Optimizer, OptimizerSpec
from .solution import (
    ExpressionSolution,
    NetworkSolution,
    Solution,
    WorkedStep,
    in_layout,
    in_layout_each,
)

Array = np.ndarray


def make_net(s: NetworkSetup) -> Net:
    return Net(s.activations, s.alphas, LossSpec(s.loss, s.eps, s.reduction, s.factor), s.l2,
               s.kinds, s.layer_cfgs)


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
               {k: in_layout(v, s.layout) for k, v in s.params.items()},
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
            sol.chain = {k: in_layout_each(v, lay) for k, v in chain.items()}
            sol.tolerance = {k: {"low": in_layout_each(a, lay), "high": in_layout_each(b, lay)}
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
