"""What a report problem adds to a network problem: a held-out test set (`split`), named
experiments (variations trained from the same initial weights), and placeholders in prose
(`{{ digits.loss_final }}`) that name computed values, checked here before anything runs."""

from __future__ import annotations

import copy
import re
from typing import Any

import numpy as np

from .data_models import Split
from .models import Problem

Array = np.ndarray

# the scalar values a placeholder may name, per problem, and per experiment run
PROBLEM_SCALARS = ("loss", "loss_final", "accuracy_final", "accuracy_train", "accuracy_test",
                   "loss_test", "loss_batch")
RUN_METRICS = ("loss_final", "loss_test", "accuracy_train", "accuracy_test", "weight_norm",
               "epochs_to_target", "target_loss")
PLACEHOLDER = re.compile(r"\{\{\s*([^{}|]*?)\s*(?:\|\s*(percent)\s*)?\}\}")
IMAGE_SHAPES = {"digits": (8, 8)}


def stratify_labels(Y: Array, split: Split, classification: bool) -> Array | None:
    """The class labels a split is stratified by, or None (regression, stratify: false, or
    a class too small: a stratified split needs two samples a class and every class in
    both sets)."""
    if not (classification and split.stratify):
        return None
    labels = Y.argmax(axis=1) if Y.shape[1] > 1 else Y[:, 0].astype(int)
    counts = np.bincount(labels)
    classes = int((counts > 0).sum())
    n_test = int(np.ceil(split.test * Y.shape[0]))
    if counts[counts > 0].min() < 2 or min(n_test, Y.shape[0] - n_test) < classes:
        return None
    return labels


def split_data(X: Array, Y: Array, split: Split, classification: bool
               ) -> tuple[Array, Array, Array, Array, list[int]]:
    """Train and test rows: a seeded shuffle, stratified by class when asked and possible
    (every class with at least two samples), the test set `split.test` of the samples."""
    from sklearn.model_selection import train_test_split

    labels = stratify_labels(Y, split, classification)
    rows = np.arange(X.shape[0])
    train, test = train_test_split(rows, test_size=split.test, random_state=split.seed,
                                   stratify=labels)
    train, test = np.sort(train), np.sort(test)
    return X[train], Y[train], X[test], Y[test], test.tolist()


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = _merge(base.get(k), v) if k in base else v
        return out
    return over


def plain(node: Any) -> Any:
    """A YAML node (ruamel's mappings and sequences) as plain dicts and lists."""
    if isinstance(node, dict):
        return {str(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    return node


def experiment_problems(raw: dict[str, Any], p: Problem
                        ) -> list[tuple[str, str, int, Problem | ValueError]]:
    """(group, run name, index, the merged problem or why it is invalid) for every run."""
    from pydantic import ValidationError

    base = copy.deepcopy(plain(raw))
    base.pop("experiments", None)
    for key in ("ask", "points", "constraints"):
        base.pop(key, None)
    out: list[tuple[str, str, int, Problem | ValueError]] = []
    for group, runs in p.experiments.items():
        for k, run in enumerate(runs):
            over = {f: getattr(run, f) for f in ("train", "regularization", "network", "loss")
                    if getattr(run, f) is not None}
            merged = _merge(base, over)
            merged["id"] = f"{p.id}-x{k}"
            try:
                out.append((group, run.name, k, Problem.model_validate(merged)))
            except ValidationError as e:
                err = e.errors()[0]
                where = ".".join(str(x) for x in err["loc"])
                out.append((group, run.name, k, ValueError(f"{where}: {err['msg']}")))
    return out


def placeholder_names(problems: list[Any]) -> dict[str, str]:
    """Every name a placeholder may use -> what it is (for messages)."""
    names: dict[str, str] = {}
    for s in problems:
        if getattr(s, "kind", "") != "network":
            for step in getattr(s, "steps", ()):
                names[f"{s.id}.{step.name}"] = "a computed value"
            continue
        for v in PROBLEM_SCALARS:
            if v.endswith("_test") and s.X_test is None:
                continue
            if v == "loss_batch" and not s.worked_samples:
                continue
            if v.startswith("accuracy") and s.task != "classification":
                continue
            names[f"{s.id}.{v}"] = "a value of the problem"
        for _group, run, es in s.experiments:
            for metric in RUN_METRICS:
                if metric.startswith("accuracy") and es.task != "classification":
                    continue
                if metric == "loss_test" and es.X_test is None:
                    continue
                names[f"experiments.{run}.{metric}"] = "an experiment's result"
    return names


def placeholders(text: str) -> list[tuple[int, str, str | None]]:
    """(offset, name, format) of each placeholder in a text."""
    return [(m.start(), m.group(1), m.group(2)) for m in PLACEHOLDER.finditer(text)]
