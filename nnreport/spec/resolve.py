"""From a validated Spec to concrete problem setups: arrays, shapes checked, init drawn.

This is the contract with the engine: `NetworkSetup` and `ExpressionSetup` hold numbers in
the rows layout (samples x features, W as (in, out)); `layout` only says how to show them.

The setups themselves live in setups.py (re-exported here); the budgets' running totals in
resolve_budgets.py, what the question sheet asks in resolve_marking.py, expression problems in
resolve_expr.py.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..budgets import DEFAULT, Budgets
from ..errors import SpecError
from .cost import network_cost
from .data import DataError, load_data
from .layertypes import TYPES
from .models import Problem, Spec
from .params import network_params, shaped_params
from .report import IMAGE_SHAPES, experiment_problems, placeholder_names, placeholders, split_data
from .resolve_budgets import BudgetChecks
from .resolve_expr import ExpressionChecks
from .resolve_marking import MarkingChecks, value_names
from .setups import (
    Document,
    NetworkSetup,
    Setup,
    printed_extra,
    task_of,
)
from .shaped import SHAPED, Layers, infer, shaped
from .values import (
    constraint_of,
    initial_state,
    step_digits,
    value_of,
    worked_steps_ok,
)
from .yamlio import Located

Array = np.ndarray


def extra_numbers(printed: tuple[int, int], nd: Layers | None) -> tuple[int, int]:
    """The numbers per worked sample and once the key prints on the way, and the configured
    layers' own JSON values per sample (an rnn's steps, attention's scores ...)."""
    return printed if nd is None else (printed[0] + nd.answers, printed[1])


class _Checker(ExpressionChecks, BudgetChecks, MarkingChecks):
    def __init__(self, doc: Located, folder: Path, budgets: Budgets):
        self.doc, self.folder, self.issues = doc, folder, []
        self.budgets = budgets
        # what the problems resolved so far add up to: budgets bound the whole spec
        self.answers = 0
        self.trained = (0.0, 0)  # training work and optimiser steps
        self.flops = 0.0
        self.runs = 0  # experiment runs
        self.chained = 0  # numbers rounding: chain computes over its paths

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
        L = len(layers)
        m = X.shape[0]
        bs = p.train.batch_size or m
        kinds = tuple(layer.type for layer in layers)
        nd = None
        image = IMAGE_SHAPES.get(p.data.load or "")
        if image and X.ndim == 2 and kinds[0] == "conv":  # load: digits as 8x8 images
            X = X.reshape((m, *image))
            X_test = None if X_test is None else X_test.reshape((X_test.shape[0], *image))
        if shaped(kinds) or X.ndim > 2:  # configured layers, N-d shapes (spec/shaped.py)
            nd = self.configured(p, i, spec, X, min(bs, m))
            if nd is None:
                return None
            X = X.reshape((m, *nd.shapes[0]))  # [samples, H, W] before a conv: one channel
            if X_test is not None:
                X_test = X_test.reshape((X_test.shape[0], *nd.shapes[0]))
            units = tuple(math.prod(sh) for sh in nd.shapes)
            acts = tuple(nd.activations)
        else:
            for k, la in enumerate(layers):
                if la.units is None:
                    self.add(at + ("network", "layers", k, "units"),
                             f"missing required key 'units' in problems[{i}].network."
                             f"layers[{k}]")
                    return None
            units = (X.shape[1],) + tuple(int(layer.units or 0) for layer in layers)
            acts = tuple(layer.activation for layer in layers)
        fits = self.layers_fit(layers, units, at) if nd is None else True
        cost = network_cost(units, m, bs, p.train.epochs, self.budgets,
                            p.train.optimizer.name, p.worked_samples,
                            extra_numbers(printed_extra(units, acts, p.loss.name, p.loss.eps,
                                                        p.regularization.l2, p.delta), nd),
                            p.worked_steps, kinds,
                            None if nd is None else (
                                sum(math.prod(v[0]) for n, v in nd.params.items()
                                    if n not in nd.optional), nd.work),
                            (0, 0) if nd is None else (3 * nd.answers, nd.chain_names))
        if not self.network_budgets(p, at, cost, m, (p.rounding or spec.rounding) == "chain"):
            return None
        ok = fits
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
        params, fitted = network_params(p, units, layout, value_of, self.add, at) \
            if nd is None else shaped_params(p, nd, value_of, self.add, at)
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
            marking=self.marking(p, spec, at, *value_names(p, layers, acts, loss)),
            constraints=tuple(constraint_of(c) for c in p.constraints),
            task=task_of(loss, acts[-1], Y),
            worked_samples=p.worked_samples,
            budgets=self.budgets, work=cost.work, per_sample=cost.per_sample,
            X_test=X_test, Y_test=Y_test, test_rows=tuple(test_rows),
            rounding=p.rounding or spec.rounding, state=state, worked_steps=p.worked_steps,
            delta=p.delta, symbols=dict(p.symbols),
            kinds=() if all(k == "dense" for k in kinds) else kinds,
            layer_cfgs=() if nd is None else tuple(nd.cfgs),
            shapes=() if nd is None else tuple(nd.shapes),
            unworked=() if nd is None else tuple(
                (la.type, self.doc.issue(
                    at + ("network", "layers", k, "type"),
                    f"the worked key for {la.type} layers is not written yet; nnreport solve "
                    "--json gives every value", "nnreport validate checks the spec; nnreport "
                    "solve --json prints each value by its JSON name (docs/spec.md)"))
                for k, la in enumerate(layers) if la.type in SHAPED),
            image_shape=IMAGE_SHAPES.get(p.data.load or "") if p.data.load else None,
        )
        return self.experiments(p, i, spec, setup) if p.experiments else setup

    def configured(self, p: Problem, i: int, spec: Spec, X: Array, batch: int
                   ) -> Layers | None:
        """A network with configured layers: each layer's shape inferred from X's (located
        issues for what does not fit); its output layer dense; rows layout, no rounded
        chain."""
        at = ("problems", i)
        assert p.network is not None
        layers = p.network.layers
        nd, faults = infer(layers, X.shape[1:], batch)
        for k, key, message, hint in faults:
            key = "return" if key == "return_" else key
            raw = self.doc.data["problems"][i]["network"]["layers"][k]
            where = at + ("network", "layers", k) + ((key,) if key in raw else ())
            self.add(where, f"layer {k + 1} ({layers[k].type}): {message}", hint,
                     key=key not in ("mask", "kernel", "stride", "size", "activation", "p"))
        if faults:
            return None
        last = layers[-1]
        ok = True
        if last.type in SHAPED:
            ok = False
            self.add(at + ("network", "layers", len(layers) - 1), f"layer {len(layers)} "
                     f"({last.type}): the output layer is a dense layer (its loss and yhat "
                     "are [samples, outputs])", "end with {type: flatten} and a dense layer")
        if (p.layout or spec.layout) == "columns":
            ok = False
            self.add(at + ("layout",) if p.layout else at, "a network with "
                     f"{', '.join(sorted({la.type for la in layers if la.type in SHAPED}))} "
                     "layers has its samples first (the rows layout)", "use layout: rows")
        unchained = sorted({la.type for la in layers  # a type says (its spec type's `chain`)
                            if not getattr(TYPES.get(la.type) or SHAPED.get(la.type), "chain",
                                           False)})
        if (p.rounding or spec.rounding) == "chain" and unchained:
            ok = False
            self.add(at + ("rounding",) if p.rounding else at, "rounding: chain is not "
                     f"worked for {', '.join(unchained)} layers yet",
                     "leave rounding out (full precision)")
        return nd if ok else None

    def layers_fit(self, layers: Any, units: tuple[int, ...], at: tuple[Any, ...]) -> bool:
        """Each layer's type checks its widths (a scaling layer keeps its input's): a
        located issue for each fault."""
        ok = True
        for k, la in enumerate(layers):
            for key, message, hint in TYPES[la.type].fit(units[k], units[k + 1], la.bias):
                ok = False
                self.add(at + ("network", "layers", k, key), f"layer {k + 1} ({la.type}): "
                         + message, hint)
        return ok

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
