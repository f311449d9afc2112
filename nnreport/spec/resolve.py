"""From a validated Spec to concrete problem setups: arrays, shapes checked, init drawn.

This is the contract with the engine: `NetworkSetup` and `ExpressionSetup` hold numbers in
the rows layout (samples x features, W as (in, out)); `layout` only says how to show them.

The setups themselves live in setups.py (re-exported here).
"""

from __future__ import annotations

import difflib
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..budgets import DEFAULT, Budgets
from ..errors import SpecError
from .cost import CHAIN_PATHS, NetworkCost, network_cost, over_budget
from .data import DataError, load_data
from .models import Problem, Spec, suggest
from .params import network_params
from .report import IMAGE_SHAPES, experiment_problems, placeholder_names, placeholders, split_data
from .resolve_expr import ExpressionChecks
from .setups import (
    Document,
    Marking,
    NetworkSetup,
    Setup,
    network_value_names,
    optimizer_kind,
    part_of,
    printed_extra,
    task_of,
)
from .values import (
    constraint_of,
    initial_state,
    step_digits,
    value_of,
    worked_steps_ok,
)
from .yamlio import Located

Array = np.ndarray


class _Checker(ExpressionChecks):
    def __init__(self, doc: Located, folder: Path, budgets: Budgets):
        self.doc, self.folder, self.issues = doc, folder, []
        self.budgets = budgets
        # what the problems resolved so far add up to: budgets bound the whole spec
        self.answers = 0
        self.trained = (0.0, 0)  # training work and optimiser steps
        self.flops = 0.0
        self.runs = 0  # experiment runs
        self.chained = 0  # numbers rounding: chain computes over its paths

    def answer_room(self, at: tuple[Any, ...], pid: str, count: int) -> bool:
        """Add a problem's answer count; a located issue once the spec's total passes it."""
        self.answers += count
        if self.answers <= self.budgets.answer_entries:
            return True
        self.add(at, f"problem '{pid}' brings the answers to {self.answers:,} numbers",
                 self.budgets.hint("answer_entries"))
        return False

    def chain_room(self, at: tuple[Any, ...], pid: str, count: int) -> bool:
        """rounding: chain recomputes the worked step along every rounding path."""
        self.chained += count
        if self.chained <= self.budgets.chain_entries:
            return True
        where = (at + ("rounding",) if "rounding" in self.doc.data["problems"][at[1]] else
                 ("rounding",) if "rounding" in self.doc.data else at)
        self.add(where,
                 f"rounding: chain works problem '{pid}' {CHAIN_PATHS + 2} times (its rounding "
                 f"paths), {count:,} numbers" + (f" ({self.chained:,} in the spec)"
                                                 if self.chained != count else ""),
                 self.budgets.hint("chain_entries"))
        return False

    def add(self, path: tuple[Any, ...], message: str, hint: str = "", key: bool = False) -> None:
        self.issues.append(self.doc.issue(path, message, hint, key=key))

    # ---- network problems -------------------------------------------------------------
    def network(self, p: Problem, i: int, spec: Spec) -> NetworkSetup | None:
        at = ("problems", i)
        layout = p.layout or spec.layout
        if p.data is None:
            self.add(at, f"problem '{p.id}' has a network but no data:")
            return None
        if p.loss is None:
            self.add(at, f"problem '{p.id}' has a network but no loss:", "e.g. loss: bce")
            return None
        assert p.network is not None
        try:
            X, Y = load_data(p.data, layout, self.folder, self.budgets)
        except MemoryError:  # within the budget, but not within this machine's memory
            self.add(at + ("data",), "out of memory while making the data",
                     f"lower data_entries (now {self.budgets.data_entries}) with --budget "
                     "data_entries=N, or ask for fewer samples")
            return None
        except DataError as e:
            self.add(at + ("data", e.field) if e.field else at + ("data",), str(e), e.hint)
            return None
        if not np.all(np.isfinite(X)) or not np.all(np.isfinite(Y)):
            self.add(at + ("data",), "data contains NaN or infinite values")
            return None
        X_test = Y_test = None
        test_rows: list[int] = []
        if p.split is not None:
            last = p.network.layers[-1].activation
            if round(X.shape[0] * p.split.test) < 1 or round(X.shape[0] * (1 - p.split.test)) < 1:
                self.add(at + ("split", "test"), f"a test share of {p.split.test:g} of "
                         f"{X.shape[0]} samples leaves one of the sets empty")
                return None
            X, Y, X_test, Y_test, test_rows = split_data(
                X, Y, p.split, task_of(p.loss.name, last, Y) == "classification")
        layers = p.network.layers
        units = (X.shape[1],) + tuple(layer.units for layer in layers)
        acts = tuple(layer.activation for layer in layers)
        L = len(layers)
        m = X.shape[0]
        bs = p.train.batch_size or m
        cost = network_cost(units, m, bs, p.train.epochs, self.budgets,
                            p.train.optimizer.name, p.worked_samples,
                            printed_extra(units, acts, p.loss.name, p.loss.eps,
                                          p.regularization.l2, p.delta), p.worked_steps)
        if not self.network_budgets(p, at, cost, m, (p.rounding or spec.rounding) == "chain"):
            return None
        ok = True
        if Y.shape[1] != units[-1]:
            ok = False
            self.add(at + ("network", "layers", L - 1, "units"),
                     f"the output layer has {units[-1]} units but Y has {Y.shape[1]} "
                     f"column{'s' if Y.shape[1] != 1 else ''} per sample",
                     "make the last layer's units equal the number of targets")
        loss = p.loss.name
        if loss == "bce" and acts[-1] != "sigmoid":
            ok = False
            self.add(at + ("loss",), f"bce needs a sigmoid output layer, not {acts[-1]}",
                     "use cce with softmax, or a sigmoid output")
        if loss == "cce" and acts[-1] != "softmax":
            ok = False
            self.add(at + ("loss",), f"cce needs a softmax output layer, not {acts[-1]}",
                     "use bce with sigmoid outputs, or a softmax output")
        if loss in ("bce", "cce") and (Y.min() < 0 or Y.max() > 1):
            ok = False
            self.add(at + ("data", "Y"), f"{loss} needs labels in [0, 1]; Y ranges from "
                     f"{Y.min():g} to {Y.max():g}", "one-hot encode classes, or use mse")
        # parameters: draw all in order (explicit values do not shift the stream), then override
        init = p.network.init
        params, fitted = network_params(p, units, layout, value_of, self.add, at)
        ok = ok and fitted
        valid = set(params)
        for key in p.names:
            if key not in valid | {"X", "Y"}:
                ok = False
                self.add(at + ("names", key), f"cannot name '{key}': not a parameter",
                         "names apply to " + ", ".join(sorted(valid)), key=True)
        for j, name in enumerate(p.train.freeze):
            if name not in valid:
                ok = False
                self.add(at + ("train", "freeze", j), f"cannot freeze '{name}': no such parameter",
                         "this network has " + ", ".join(sorted(valid)))
        state = initial_state(p.train.state, p.train.optimizer.name, params, layout, self.add, at)
        ok = worked_steps_ok(p, (p.rounding or spec.rounding) == "chain", m, bs, self.add, at) and ok
        if bs > m:
            ok = False
            self.add(at + ("train", "batch_size"),
                     f"batch_size {bs} is larger than the {m} samples", f"use at most {m}")
        if not ok or state is None:
            return None
        opt = p.train.optimizer
        source = "inline" if p.data.X is not None else (
            p.data.generate or p.data.load or "csv")
        setup = NetworkSetup(
            id=p.id, title=p.title, text=p.text, layout=layout, digits=p.digits or spec.digits,
            X=X, Y=Y, units=units, activations=acts,
            alphas=tuple(layer.alpha for layer in layers),
            loss=loss, eps=p.loss.eps, reduction=p.loss.reduction, factor=p.loss.factor,
            l2=p.regularization.l2, params=params, optimizer=opt.setup(),
            lr=p.train.lr, epochs=p.train.epochs, batch_size=bs,
            shuffle_seed=p.train.shuffle.seed if p.train.shuffle else None,
            freeze=frozenset(p.train.freeze), names=dict(p.names),
            show=tuple(p.show) if p.show is not None else (
                "given", "forward", "loss", "backward", "update", "training"),
            figures=tuple(p.figures) if p.figures is not None else None,
            explicit=frozenset(p.params), init=init.model_dump(), data_source=source,
            log_every=p.train.log_every, digits_for=step_digits(p.digits_for, p.ask),
            marking=self.marking(p, spec, at, *_value_names(p, layers, acts, loss)),
            constraints=tuple(constraint_of(c) for c in p.constraints),
            task=task_of(loss, acts[-1], Y),
            worked_samples=p.worked_samples,
            budgets=self.budgets, work=cost.work, per_sample=cost.per_sample,
            X_test=X_test, Y_test=Y_test, test_rows=tuple(test_rows),
            rounding=p.rounding or spec.rounding, state=state, worked_steps=p.worked_steps,
            delta=p.delta, symbols=dict(p.symbols),
            kinds=() if all(la.type == "dense" for la in layers) else
            tuple(la.type for la in layers),
            image_shape=IMAGE_SHAPES.get(p.data.load or "") if p.data.load else None,
        )
        return self.experiments(p, i, spec, setup) if p.experiments else setup

    def placeholders(self, spec: Spec, setups: list[Setup]) -> None:
        """Every {{ name }} in prose names a computed scalar: checked now, filled in later."""
        known = placeholder_names(setups)
        fields: list[tuple[tuple[Any, ...], str]] = [
            (("sections", k, "text"), sec.text) for k, sec in enumerate(spec.sections)
            if not isinstance(sec, str)]
        fields += [(("problems", k, "text"), p.text) for k, p in enumerate(spec.problems)]
        fields.append((("instructions",), spec.instructions))
        for at, text in fields:
            for _, name, _ in placeholders(text):
                if name not in known:
                    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
                    self.add(at, f"unknown placeholder '{{{{ {name} }}}}'",
                             (f"did you mean '{close[0]}'? " if close else "")
                             + "placeholders name a problem's scalar (problem_id.loss_final) or "
                             "an experiment's result (experiments.RUN.accuracy_test); "
                             "docs/spec.md, Reports")

    def experiments(self, p: Problem, i: int, spec: Spec, base: NetworkSetup) -> NetworkSetup | None:
        """Each run of each experiment group as its own setup, from the base's initial weights
        (when its shapes are the base's): runs differ only in what they name. Each run costs
        its training (counted like any problem's) and its figures and table rows: the
        experiment_runs budget bounds them, counted over the spec before anything runs."""
        count = sum(len(r) for r in p.experiments.values())
        self.runs += count
        if self.runs > self.budgets.experiment_runs:
            self.add(("problems", i, "experiments"), f"{count:,} experiment runs in "
                     f"{len(p.experiments):,} groups" + (f" ({self.runs:,} in the spec)"
                                                         if self.runs != count else ""),
                     self.budgets.hint("experiment_runs"))
            return None
        runs = []
        for group, name, k, q in experiment_problems(self.doc.data["problems"][i], p):
            at = ("problems", i, "experiments", group, k)
            if isinstance(q, ValueError):
                self.add(at, f"experiment '{name}': {q}")
                continue
            es = self.network(q, i, spec)
            if es is None:
                continue
            if all(es.params[n].shape == v.shape for n, v in base.params.items() if n in es.params) \
                    and set(es.params) == set(base.params):
                es = replace(es, params={n: v.copy() for n, v in base.params.items()})
            runs.append((group, name, es))
        names = [n for _, n, _ in runs]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            self.add(("problems", i, "experiments"), f"two experiment runs are named '{dup[0]}'",
                     "give every run its own name: placeholders name runs")
        return replace(base, experiments=tuple(runs))

    def network_budgets(self, p: Problem, at: tuple[Any, ...], cost: NetworkCost, m: int,
                        chain: bool = False) -> bool:
        """Memory and time of training (and of the rounded chain's paths), from the shapes,
        before any parameter is drawn."""
        if chain and not self.chain_room(at, p.id, cost.chain_entries):
            return False
        raw = self.doc.data["problems"][at[1]]
        train = at + (("train",) if isinstance(raw, dict) and "train" in raw else ())
        epochs = train + (("epochs",) if train != at and "epochs" in raw["train"] else ())
        over = over_budget(cost, self.budgets, m, p.train.epochs, self.trained)
        self.trained = (self.trained[0] + cost.train_work, self.trained[1] + cost.train_steps)
        for key, message, hint in over:
            self.add(at + ("network",) if key == "network" else epochs, message, hint)
        room = self.answer_room(at, p.id, cost.answers)  # every exceeded budget, in one pass
        return not over and room

    def marking(self, p: Problem, spec: Spec, at: tuple[Any, ...], names: list[str],
                printed: list[str] | None = None, why: dict[str, str] | None = None) -> Marking:
        """What the question sheet asks; unknown value names are located errors. `printed`:
        a network's names that digits_for may set (an expression problem checks its own);
        `why`: the hint for a value the key would print but for `freeze` or `show`."""
        for name in p.digits_for if printed is not None else ():
            if printed is not None and name not in printed:
                self.add(at + ("digits_for", name), f"'{name}' in digits_for is not a value "
                         f"of problem '{p.id}'", suggest(name, printed), key=True)
        for j, name in enumerate(p.ask or []):
            if name not in names:
                self.add(at + ("ask", j), f"'{name}' is not a value of problem '{p.id}' that "
                         "can be asked", (why or {}).get(name) or suggest(name, names))
        per_value = p.points if isinstance(p.points, dict) else {}
        for name in per_value:
            if name not in names:
                self.add(at + ("points", name), f"points for '{name}', which is not a value of "
                         f"problem '{p.id}'", suggest(name, names), key=True)
            elif p.ask is not None and name not in p.ask:  # it would be silently worth nothing
                self.add(at + ("points", name), f"points for '{name}', which problem '{p.id}' "
                         "does not ask", f"add it to ask: [{', '.join([*p.ask, name])}], or "
                         "leave its points out", key=True)
        space = p.space or spec.space
        return Marking(tuple(p.ask) if p.ask is not None else None, p.points,
                       p.scaffold or spec.scaffold, "0pt" if space == "0" else space)  # a length

def _value_names(p: Problem, layers: Any, acts: tuple[str, ...], loss: str
                 ) -> tuple[list[str], list[str], dict[str, str]]:
    """A network problem's names that can be asked, those digits_for may set, and why a
    value the network has is not among them (frozen, or its part not shown)."""
    show = tuple(p.show) if p.show is not None else None
    assert p.loss is not None  # a network problem's loss is checked before

    def names(computed: bool, frozen: tuple[str, ...] = (), shown: tuple[str, ...] | None = None
              ) -> list[str]:
        return network_value_names(len(layers), tuple(layer.bias for layer in layers),
                                   optimizer_kind(p.train.optimizer.setup()), acts, loss,
                                   p.loss.eps if p.loss else None,
                                   p.regularization.l2, working=True, computed=computed,
                                   frozen=frozen, show=shown, delta=p.delta,
                                   kinds=tuple(layer.type for layer in layers))

    asked = names(False, tuple(p.train.freeze), show)
    asked += [f"steps[{i}].{n}" for i in range(1, p.worked_steps) for n in asked]  # later steps
    why = {}
    for name in set(names(False)) - set(asked):
        param = name.split("_")[0]
        why[name] = (f"{param} is frozen (train: freeze): it is never updated"
                     if param in p.train.freeze else
                     f"the {part_of(name)} part, which prints it, is not in show: {list(show or ())}")
    return asked, names(True), why  # digits_for may name any value the network has


def resolve(spec: Spec, doc: Located, budgets: Budgets = DEFAULT) -> Document:
    folder = Path(doc.file).resolve().parent
    ch = _Checker(doc, folder, budgets)
    seen: dict[str, int] = {}
    out: list[Setup] = []
    for i, p in enumerate(spec.problems):
        at = ("problems", i)
        if p.id in seen:
            ch.add(at + ("id",), f"duplicate problem id '{p.id}'",
                   f"problem {seen[p.id] + 1} already uses it")
            continue
        seen[p.id] = i
        is_net, is_expr = p.network is not None, bool(p.compute)
        if is_net == is_expr:
            ch.add(at, f"problem '{p.id}' needs either network: (with data: and loss:) or "
                   "compute: (with given:), not " + ("both" if is_net else "neither"))
            continue
        setup = ch.network(p, i, spec) if is_net else ch.expression(p, i, spec)
        if setup is not None:
            out.append(setup)
    if not ch.issues:
        ch.placeholders(spec, out)
    if ch.issues:
        raise SpecError(ch.issues)
    return Document(spec=spec, file=doc.file, problems=tuple(out))
