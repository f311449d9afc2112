"""What the engine receives: concrete problem setups (arrays in the rows layout, samples x
features, W as (in, out)) and the resolved document that holds them. resolve.py makes them
from a validated spec; every later stage reads them."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..budgets import DEFAULT, Budgets
from .layertypes import TYPES
from .models import Spec

Array = np.ndarray


@dataclass(frozen=True)
class Marking:
    """How a problem is asked on the question sheet (docs/spec.md, "Question sheets")."""

    ask: tuple[str, ...] | None = None            # None: every worked value
    points: float | dict[str, float] | None = None  # problem total, or per value; default 1 each
    scaffold: str = "full"                        # full, results, none
    space: str = "auto"                           # room after each part: auto or a TeX length


@dataclass(frozen=True)
class NetworkSetup:
    id: str
    title: str
    text: str
    layout: str
    digits: int
    X: Array
    Y: Array
    units: tuple[int, ...]  # input width first
    activations: tuple[str, ...]
    alphas: tuple[float, ...]
    loss: str
    eps: float | None
    reduction: str
    factor: float
    l2: float
    params: dict[str, Array]  # initial values, rows layout
    optimizer: dict[str, Any]
    lr: float
    epochs: int
    batch_size: int
    shuffle_seed: int | None
    freeze: frozenset[str]
    names: dict[str, str]
    show: tuple[str, ...]
    figures: tuple[str, ...] | None
    explicit: frozenset[str]  # parameters given in the spec rather than drawn
    init: dict[str, Any] = field(default_factory=dict)
    data_source: str = "inline"
    log_every: int | None = None
    digits_for: dict[str, int] = field(default_factory=dict)
    constraints: tuple[tuple[str, float], ...] = ()
    task: str = "classification"  # or "regression": decides accuracy, plots, wording
    worked_samples: int | None = None  # the worked step: the first k samples of the first batch
    marking: Marking = field(default_factory=lambda: Marking())
    budgets: Budgets = DEFAULT
    work: float = 0.0        # estimated multiply-adds of solving it (spec/cost.py)
    per_sample: bool = True  # per-sample gradients fit in half the answer_entries budget
    X_test: Array | None = None  # the held-out test set (split), rows layout
    Y_test: Array | None = None
    test_rows: tuple[int, ...] = ()  # 0-based rows of the loaded data that went to the test set
    image_shape: tuple[int, int] | None = None  # the samples are images of this shape (digits)
    experiments: tuple[tuple[str, str, NetworkSetup], ...] = ()  # (group, run name, setup)
    rounding: str = "full"  # or "chain": the key also gives the rounded-chain values
    state: dict[str, dict[str, Array]] = field(default_factory=dict)  # train.state, rows layout
    worked_steps: int = 1  # the first k optimiser steps worked in the key
    delta: str = "gradient"  # or "error": the key also shows delta_l = -dZ_l (JSON delta{l})
    symbols: dict[str, str] = field(default_factory=dict)  # the course's letters: {Z: net}
    kind: str = "network"
    kinds: tuple[str, ...] = ()  # each layer's type (engine/layers/); empty: every one dense
    # configured layers (spec/shaped.py; empty for a network of dense layers): each layer's
    # configuration, and each feature shape (X's first, samples excluded; units[l] is the
    # product of shapes[l]); `unworked`: each configured layer's type with the located
    # refusal a build gives while its worked lines are not written
    layer_cfgs: tuple[dict[str, Any], ...] = ()
    shapes: tuple[tuple[int, ...], ...] = ()
    unworked: tuple[tuple[str, Any], ...] = ()

    @property
    def depth(self) -> int:
        return len(self.activations)


@dataclass(frozen=True)
class Step:
    name: str
    source: str
    tree: ast.Expression


@dataclass(frozen=True)
class ExpressionSetup:
    id: str
    title: str
    text: str
    layout: str
    digits: int
    given: dict[str, Array]
    steps: tuple[Step, ...]
    names: dict[str, str]
    digits_for: dict[str, int] = field(default_factory=dict)
    budgets: Budgets = DEFAULT
    work: float = 0.0  # estimated multiply-adds of all its steps
    marking: Marking = field(default_factory=lambda: Marking())
    constraints: tuple[tuple[str, float], ...] = ()
    rounding: str = "full"  # or "chain": the key also gives the rounded-chain values
    kind: str = "expression"


Setup = NetworkSetup | ExpressionSetup


def closed_delta(loss: str, act: str, eps: float | None) -> bool:
    """dZ of the output layer in closed form (dZ = Yhat - Y, 2(Yhat - Y)): no dyhat line and
    no derivative line for the output in the key (render/formulas.output_delta_formula)."""
    return (eps is None and (loss, act) in (("bce", "sigmoid"), ("cce", "softmax"))) or \
        (act == "linear" and loss in ("mse", "sse"))


DERIVATIVE_SHOWN = ("sigmoid", "tanh", "relu", "leaky_relu")  # f'(Z) on a line of its own
PARAM_KINDS = ("W", "b", "theta")  # weights, biases (z = h W + b), thresholds (z = h W - theta)


def printed_extra(units: tuple[int, ...], activations: tuple[str, ...], loss: str,
                  eps: float | None, l2: float, delta: str = "gradient") -> tuple[int, int]:
    """(numbers per worked sample, numbers once) of the values the key prints on the way to
    the graded ones (network_value_names' `working` extras: E, Esum, dyhat, dact, dH, loss_l2;
    and the error signals delta{l} of `delta: error`), for the answer budget."""
    L, closed = len(activations), closed_delta(loss, activations[-1], eps)
    per = sum(units[l] + 1 for l in range(1, L + 1) if activations[l - 1] == "softmax")
    per += 0 if closed else units[-1]
    per += sum(units[l] for l in range(1, L + 1)
               if activations[l - 1] in DERIVATIVE_SHOWN and (l < L or not closed))
    per += sum(units[l] for l in range(1, L))
    per += sum(units[1:]) if delta == "error" else 0
    return per, 1 if l2 else 0


def bias_name(params: Any, l: int) -> str | None:
    """The name of layer l's bias among `params` (anything with `in`): b{l}, or theta{l} for
    a threshold (`bias: threshold`, theta = -b), or None for a layer without one."""
    return f"b{l}" if f"b{l}" in params else f"theta{l}" if f"theta{l}" in params else None


def param_names(params: Any, depth: int) -> list[str]:
    """The parameters among `params` in the key's order: W1..WL, then the biases, then any
    other layer type's parameters in their layers' order."""
    dense = [f"W{l}" for l in range(1, depth + 1) if f"W{l}" in params] + [
        b for l in range(1, depth + 1) if (b := bias_name(params, l))]
    return dense + [n for n in params if n not in dense]


def network_value_names(depth: int, biases: tuple[bool | str, ...], optimizer: str,
                        activations: tuple[str, ...] = (), loss: str = "",
                        eps: float | None = None, l2: float = 0.0,
                        working: bool = False, computed: bool = False,
                        frozen: frozenset[str] | tuple[str, ...] = (),
                        show: tuple[str, ...] | None = None,
                        delta: str = "gradient", kinds: tuple[str, ...] = (),
                        given: frozenset[str] = frozenset()) -> list[str]:
    """The worked-step values a question can ask for (`ask`, `points`, `digits_for`), by
    canonical JSON name, in the order the key reaches them: the one list of names.
    `optimizer`: its name, or `heavy_ball` for momentum in that form (`optimizer_kind`).

    Without `working`: the values graded by default (every worked value, as `ask` omitted
    means). With it, also the values the key prints on lines of their own on the way to them
    (docs/spec.md, the JSON contract): SGD's step `W1_step`, the softmax exponentials `E{l}`
    and their row sums `Esum{l}`, the L2 penalty `loss_l2`, dL/dyhat `dyhat`, the activation
    derivatives `dact{l}` (f'(Z_l)) and `dH{l}` (dL/dH_l), which can be asked like any
    value (the resolver's list). `given`: the parameters `params:` gives, for a type's
    parameters that exist only when given (an rnn's h0{l})."""
    L = depth
    kinds = kinds or ("dense",) * L  # each layer's type: W's, biases, then other types'
    # a configured layer without an activation of its own has no Z, dZ (spec/shaped.py)
    own = [l for l in range(1, L + 1) if getattr(TYPES[kinds[l - 1]], "has_z", True)]
    names = [f"Z{l}" for l in own] + [f"H{l}" for l in range(1, L)] + [
        f"{n}{l}" for l in range(1, L + 1) for n in getattr(TYPES[kinds[l - 1]], "named", ())
    ] + ["yhat", "loss_per_sample", "loss"] + [f"dZ{l}" for l in own]
    names += [f"delta{l}" for l in own] if delta == "error" else []
    params = [f"W{l}" for l in range(1, L + 1) if kinds[l - 1] == "dense"] + [
        f"{'theta' if biases[l - 1] == 'threshold' else 'b'}{l}" for l in range(1, L + 1)
        if biases[l - 1] and kinds[l - 1] == "dense"] + [
        f"{k}{l}" for l in range(1, L + 1) if kinds[l - 1] != "dense"
        for k in TYPES[kinds[l - 1]].shapes(1, 1, biases[l - 1])] + [
        f"{k}{l}" for l in range(1, L + 1) if kinds[l - 1] != "dense"
        for k in getattr(TYPES[kinds[l - 1]], "optional", lambda: ())()
        if f"{k}{l}" in given]
    names += [f"d{p}" for p in params] + [f"d{p}_per_sample" for p in params]
    states = {"sgd": [], "momentum": ["v", "step"], "rmsprop": ["s", "step"],
              "adam": ["m", "v", "mhat", "vhat", "step"],
              "heavy_ball": ["v"]}[optimizer]  # its key adds v: no step line
    moved = [p for p in params if p not in frozen]
    names += [f"{p}_{st}" for p in moved for st in states] + [f"{p}_new" for p in moved]
    if not working:
        return names
    acts = activations or ("",) * L
    names += [f"{p}_step" for p in moved if optimizer == "sgd"]
    names += [n for l in range(1, L + 1) if acts[l - 1] == "softmax" for n in (f"E{l}", f"Esum{l}")]
    names += ["loss_l2"] if l2 else []
    closed = closed_delta(loss, acts[-1], eps) if activations else True
    names += [] if closed else ["dyhat"]
    names += [f"dact{l}" for l in range(1, L + 1)
              if acts[l - 1] in DERIVATIVE_SHOWN and (l < L or not closed)]
    names += [f"dH{l}" for l in range(1, L)]
    if computed:
        names += ["loss_batch"] + [f"d{p}_batch" for p in params]
        names += ["loss_final", "yhat_final", "accuracy_final"] + [f"{p}_final" for p in params]
    return names if show is None else [n for n in names if part_of(n) in show]


def optimizer_kind(optimizer: dict[str, Any]) -> str:
    """The optimizer's name, or heavy_ball for momentum in the heavy-ball form: what decides
    the names of its state (network_value_names)."""
    return "heavy_ball" if optimizer.get("form") == "heavy_ball" else optimizer["name"]


def part_of(name: str) -> str:
    """The part of a network problem's key (docs/spec.md, `show:`) that prints a value."""
    if re.fullmatch(r"(Z|H|E|Esum|mu|var|xhat|Q|K|V|S|A)\d+|yhat", name):
        return "forward"
    if name.startswith("loss") and name != "loss_final":
        return "loss"
    if re.fullmatch(r"(W|b|theta|gamma|beta|Wx|Wh|h0|Wq|Wk|Wv)\d+_(v|s|m|mhat|vhat|step|new)",
                    name):
        return "update"
    if name.endswith("_final"):
        return "training"
    return "backward"  # dyhat, dact, dZ, dH, dW, db, dtheta, per sample and batch


@dataclass(frozen=True)
class Document:
    """A whole resolved spec: metadata plus its problems, in order."""

    spec: Spec
    file: str
    problems: tuple[Setup, ...]

    @property
    def work(self) -> float:
        """Estimated multiply-adds of solving every problem once."""
        return sum(p.work for p in self.problems)


def task_of(loss: str, output: str, Y: Array) -> str:
    """Classification when the targets are 0/1 labels and the problem treats them as classes:
    a cross-entropy loss, a sigmoid or softmax output, or one-hot rows (seed 003's linear output
    trained with MSE on one-hot digits); anything else is regression."""
    labels = bool(np.all((Y == 0) | (Y == 1)))
    one_hot = labels and Y.shape[1] > 1 and bool(np.all(Y.sum(axis=1) == 1))
    if labels and (loss in ("bce", "cce") or output in ("sigmoid", "softmax") or one_hot):
        return "classification"
    return "regression"
