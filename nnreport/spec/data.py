"""Where a problem's X and Y come from: inline, scikit-learn generators and bundled data
sets, or a CSV file inside the spec's folder. Returns rows-layout float arrays.

Sizes are checked before the data is made: generated data from n_samples x (features +
label columns) against `data_entries`, a CSV's size (stat) against `data_bytes` before it
is opened; CSV rows are streamed and reading stops at n_samples."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from ..budgets import DEFAULT, Budgets
from .data_models import Data

Array = np.ndarray


class DataError(ValueError):
    """A data problem; `field` names the offending key under data:."""

    def __init__(self, message: str, field: str = "", hint: str = ""):
        super().__init__(message)
        self.field = field
        self.hint = hint


def _one_hot(y: Array) -> Array:
    classes = np.unique(y)
    return (y[:, None] == classes[None, :]).astype(float)


def _labels(y: Array, one_hot: bool | None) -> Array:
    y = np.asarray(y)
    n_classes = len(np.unique(y))
    if one_hot or (one_hot is None and n_classes > 2):
        return _one_hot(y)
    return y.astype(float).reshape(-1, 1)


def _entries_fit(n: int, columns: int, budgets: Budgets, field: str = "n_samples") -> None:
    if n * columns > budgets.data_entries:
        raise DataError(f"{n:,} samples x {columns:,} columns (features and labels) make "
                        f"{n * columns:,} entries", field, budgets.hint("data_entries"))


def _generate(d: Data, budgets: Budgets) -> tuple[Array, Array]:
    n = d.n_samples or 100
    features = 2 if d.generate in ("moons", "circles") else d.n_features or 2
    classes = 1 if d.generate == "random" else (d.n_classes or (3 if d.generate == "blobs" else 2))
    _entries_fit(n, features + classes, budgets)
    try:
        return _make(d, n)
    except ValueError as e:  # scikit-learn's own parameter checks (a located error, not a crash)
        raise DataError(f"generate: {d.generate}: {e}", "generate") from None


def _make(d: Data, n: int) -> tuple[Array, Array]:
    from sklearn import datasets as ds

    seed = d.seed
    if d.generate == "moons":
        X, y = ds.make_moons(n_samples=n, noise=d.noise, random_state=seed)
    elif d.generate == "circles":
        X, y = ds.make_circles(n_samples=n, noise=d.noise, factor=d.factor or 0.8, random_state=seed)
    elif d.generate == "blobs":
        X, y = ds.make_blobs(n_samples=n, n_features=d.n_features or 2,
                             centers=d.n_classes or 3, random_state=seed)
    elif d.generate == "classification":
        f = d.n_features or 2
        X, y = ds.make_classification(n_samples=n, n_features=f, n_informative=min(f, 2),
                                      n_redundant=0, n_classes=d.n_classes or 2,
                                      n_clusters_per_class=1, random_state=seed)
    else:  # random: X ~ U[0,1), binary labels, one RandomState stream (X first, then Y)
        rs = np.random.RandomState(seed)
        X = rs.rand(n, d.n_features or 2)
        return X, rs.randint(0, 2, size=(n, 1)).astype(float)
    return X.astype(float), _labels(y, d.one_hot)


def _load(d: Data, budgets: Budgets) -> tuple[Array, Array]:
    from sklearn import datasets as ds

    loader = {"iris": ds.load_iris, "digits": ds.load_digits, "wine": ds.load_wine,
              "breast_cancer": ds.load_breast_cancer}[d.load or ""]
    X, y = loader(return_X_y=True)  # at most 1797 x 64: bundled with scikit-learn
    if d.n_samples:
        X, y = X[: d.n_samples], y[: d.n_samples]
    _entries_fit(X.shape[0], X.shape[1] + len(np.unique(y)), budgets, "load")
    return X.astype(float), _labels(y, d.one_hot)


def _header(header: list[str], d: Data) -> tuple[list[int], list[int]]:
    """Column numbers of the features and the targets, with every header problem named."""
    if not header or any(not h.strip() for h in header):
        raise DataError(f"csv file '{d.csv}': the first row must name every column", "csv",
                        f"found {header!r}")
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise DataError(f"csv file '{d.csv}': column {dup[0]!r} appears twice in the header", "csv")
    targets = [d.target] if isinstance(d.target, str) else (
        [header[-1]] if d.target is None else list(d.target))
    if not targets:
        raise DataError("target: names no column", "target")
    for t in targets:
        if t not in header:
            raise DataError(f"target column '{t}' is not in the csv header", "target",
                            "columns: " + ", ".join(header))
    feats = d.features if d.features is not None else [h for h in header if h not in targets]
    if not feats:
        raise DataError(f"csv file '{d.csv}': no feature columns", "features")
    for f in feats:
        if f not in header:
            raise DataError(f"feature column '{f}' is not in the csv header", "features",
                            "columns: " + ", ".join(header))
    return [header.index(f) for f in feats], [header.index(t) for t in targets]


def _csv(d: Data, folder: Path, budgets: Budgets) -> tuple[Array, Array]:
    rel = Path(d.csv or "")
    if rel.is_absolute() or ".." in rel.parts:
        raise DataError(f"csv path '{d.csv}' leaves the spec's folder", "csv",
                        "give a path relative to the spec file, inside its folder")
    path = (folder / rel).resolve()
    if not path.is_relative_to(folder.resolve()):
        raise DataError(f"csv path '{d.csv}' leaves the spec's folder", "csv",
                        "symbolic links out of the folder are not followed")
    if not path.exists():
        raise DataError(f"csv file '{d.csv}' not found next to the spec", "csv")
    if not path.is_file():  # a folder, a FIFO (would block the read) or a device
        raise DataError(f"csv path '{d.csv}' is not a regular file", "csv",
                        "point to a .csv file; folders, pipes and devices are not read")
    size = path.stat().st_size
    if size > budgets.data_bytes:
        raise DataError(f"csv file '{d.csv}' is {size:,} bytes", "csv", budgets.hint("data_bytes"))
    rows: list[list[float]] = []
    line = 1
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader, [])
            feats, targets = _header(header, d)
            for line, r in enumerate(reader, start=2):  # stop at n_samples: no need to read on
                if not r:
                    continue
                if len(r) != len(header):
                    raise DataError(f"csv file '{d.csv}', line {line}: {len(r)} fields, but "
                                    f"the header names {len(header)}", "csv")
                try:
                    rows.append([float(v) for v in r])
                except ValueError as e:
                    raise DataError(f"csv file '{d.csv}', line {line}: not a number ({e})",
                                    "csv") from None
                _entries_fit(len(rows), len(header), budgets, "csv")
                if d.n_samples and len(rows) == d.n_samples:
                    break
    except UnicodeDecodeError as e:
        raise DataError(f"csv file '{d.csv}' is not UTF-8 text (byte {e.object[e.start]:#04x} "
                        f"after line {line})", "csv", "save it as UTF-8") from None
    except csv.Error as e:
        raise DataError(f"csv file '{d.csv}', line {line + 1}: {e}", "csv") from None
    except OSError as e:
        raise DataError(f"csv file '{d.csv}' cannot be read: {e.strerror}", "csv") from None
    if not rows:
        raise DataError(f"csv file '{d.csv}' has no data rows", "csv")
    table = np.array(rows, dtype=float)
    X, Y = table[:, feats], table[:, targets]
    if d.one_hot:
        Y = _one_hot(Y[:, 0])
    return X, Y


def _matrix(rows: list[list[float]], what: str) -> Array:
    lengths = {len(r) for r in rows}
    if len(lengths) > 1:
        raise DataError(f"{what}: rows have different lengths {sorted(lengths)}", what)
    a = np.array(rows, dtype=float)
    if a.size == 0:
        raise DataError(f"{what} is empty", what)
    return a


def _tensor(rows: Any) -> Array:
    """X [samples, steps, features], [samples, height, width] or [samples, C, H, W]."""
    try:
        a = np.array(rows, dtype=float)
    except ValueError:
        raise DataError("X: its samples (or their rows) have different sizes", "X",
                        "every sample has the same shape") from None
    if a.size == 0:
        raise DataError("X is empty", "X")
    return a


def load_data(d: Data, layout: str, folder: Path,
              budgets: Budgets = DEFAULT) -> tuple[Array, Array]:
    """X (samples, features) and Y (samples, outputs), whatever the problem's layout."""
    if d.X is not None and d.X and isinstance(d.X[0], list) and d.X[0] and \
            isinstance(d.X[0][0], list):  # images or sequences: samples first, any layout
        X = _tensor(d.X)
        Y = _matrix(d.Y, "Y") if d.Y and isinstance(d.Y[0], list) else \
            np.array(d.Y, dtype=float).reshape(-1, 1)
        if layout == "columns":
            raise DataError("X of images or sequences has its samples first whatever the "
                            "layout; Y too", "X", "use layout: rows for this problem")
    elif d.X is not None:
        X = _matrix(d.X, "X")  # type: ignore[arg-type]
        if d.Y and not isinstance(d.Y[0], list):
            Y = np.array(d.Y, dtype=float).reshape(-1, 1)
            if layout == "columns":
                Y = Y.reshape(1, -1)
        else:
            Y = _matrix(d.Y or [], "Y")  # type: ignore[arg-type]
        if layout == "columns":
            X, Y = X.T, Y.T
    elif d.generate:
        X, Y = _generate(d, budgets)
    elif d.load:
        X, Y = _load(d, budgets)
    else:
        X, Y = _csv(d, folder, budgets)
    if d.normalize == "standard":
        sd = X.std(axis=0)
        X = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    elif d.normalize == "minmax":
        lo, hi = X.min(axis=0), X.max(axis=0)
        X = (X - lo) / np.where(hi > lo, hi - lo, 1.0)
    if X.shape[0] != Y.shape[0]:
        raise DataError(f"X has {X.shape[0]} samples but Y has {Y.shape[0]}", "Y",
                        "in the rows layout samples are rows; in columns, columns")
    if X.shape[0] == 0:
        raise DataError("the data set is empty", "X")
    return X, Y
