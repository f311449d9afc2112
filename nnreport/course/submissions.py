"""Students' submissions, read as untrusted input: one file (`check spec answers.yaml`), a
folder of <version>.yaml files, or a CSV laid out as answers.csv (version or id, problem,
value, index, number; one row per entry).

Every submission is bounded before anything is allocated: a file by the spec_bytes and
yaml_nodes budgets (YAML, JSON) or data_bytes (CSV); an entry's index by the shape of the
key's value it names (an index outside it is that value's error, so `[5000][5000]` costs
nothing). A file or row that cannot be read is that student's error, located
(file:line), and every other student is still marked; only a CSV without the columns
needed is refused as a whole.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import Issue, NNReportError, SpecError, check_input_file

MAX_FILES = 10_000      # submissions in one folder: a roster's size
MAX_INDEX = 100_000     # largest index in a CSV row (a key value is far smaller)
SUFFIXES = (".yaml", ".yml", ".json")


class Sparse(dict[tuple[int, ...], float]):
    """A value typed in entry by entry (one CSV row each): {index: number}."""


class Unreadable(str):
    """A value one of whose CSV rows could not be read: why, located."""


@dataclass
class Submission:
    label: str                       # the version or roster id the file or rows name
    values: dict[str, Any] = field(default_factory=dict)   # {problem: {name: value}}
    errors: list[str] = field(default_factory=list)        # located, one line each
    where: str = ""                  # the file (and line) it came from


def read_one(path: Path, budgets: Any) -> Any:
    """One student's YAML/JSON submission: {problem: {name: value}} (a SpecError if unreadable)."""
    from ..spec.yamlio import load_file

    data = load_file(path, budgets, "submission").data
    if not isinstance(data, dict):
        raise SpecError([Issue(str(path), 1, 1, "expected {problem id: {value name: number "
                               "or matrix}}", "e.g. p2: {Z1: [[1, 2], [3, 4]]}")])
    return data


def read_class(path: Path, budgets: Any) -> list[Submission]:
    """Every submission in a folder of <label>.yaml (.yml, .json) files or in one CSV."""
    if path.is_dir():
        return _folder(path, budgets)
    return _csv(path, budgets)


def _folder(path: Path, budgets: Any) -> list[Submission]:
    try:
        names = sorted(p for p in path.iterdir() if p.suffix.lower() in SUFFIXES)
    except OSError as e:
        raise SpecError([Issue(str(path), None, None, f"cannot list the folder: {e.strerror}")]) \
            from None
    if len(names) > MAX_FILES:
        raise SpecError([Issue(str(path), None, None, f"{len(names):,} submission files; at "
                               f"most {MAX_FILES:,}", "mark the class in parts")])
    out = []
    for f in names:
        sub = Submission(f.stem, where=str(f))
        if f.is_symlink():  # a link could point anywhere on the machine: not followed
            sub.errors.append(f"{f}: a symbolic link; submissions are read only as files")
        else:
            try:
                sub.values = read_one(f, budgets)
            except NNReportError as e:
                sub.errors.append(str(e))
        out.append(sub)
    return out


INDEX = re.compile(r"(?:\[\d{1,6}\])*", re.ASCII)


def _csv(path: Path, budgets: Any) -> list[Submission]:
    check_input_file(path, "submissions CSV", budgets.data_bytes, budgets.hint("data_bytes"))
    # undecodable bytes stay as surrogates: only the rows that hold them are refused
    text = path.read_bytes().decode("utf-8", errors="surrogateescape").removeprefix("\ufeff")
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        head = [h.strip() for h in reader.fieldnames or []]
    except csv.Error as e:
        raise SpecError([Issue(str(path), 1, 1, f"not a CSV file: {e}")]) from None
    who = "version" if "version" in head else "id" if "id" in head else None
    missing = [c for c in ("problem", "value", "number") if c not in head]
    if who is None or missing:
        raise SpecError([Issue(str(path), 1, 1, "the header needs the columns version (or id), "
                               "problem, value, index, number; missing: "
                               + ", ".join((["version"] if who is None else []) + missing),
                               "the layout of answers.csv")])
    reader.fieldnames = head
    subs: dict[str, Submission] = {}
    orphans: list[str] = []
    try:
        for row in reader:
            line = reader.line_num
            label = str(row.get(who) or "").strip()
            if not label or _undecodable(label) or len(label) > 100:
                orphans.append(f"{path}:{line}: no readable {who} in this row; the row is "
                               "left out")
                continue
            sub = subs.setdefault(label, Submission(label, where=f"{path}:{line}"))
            why = _row_error(row)
            pid, name = (str(row.get(c) or "").strip() for c in ("problem", "value"))
            if why and (not pid or not name or _undecodable(pid + name)):
                sub.errors.append(f"{path}:{line}: {why}")  # no value to charge it to
                continue
            value = sub.values.setdefault(pid, {}).setdefault(name, Sparse())
            if not isinstance(value, Sparse):
                continue  # this value already has an unreadable row
            idx = tuple(int(i) for i in re.findall(r"\d+", row.get("index") or ""))
            if not why and idx in value:
                why = f"{pid}.{name}{row.get('index') or ''} is given twice"
            if why:  # the value is wrong, the student's other values are still marked
                sub.values[pid][name] = Unreadable(f"{path}:{line}: {why}")
                continue
            value[idx] = float(row["number"])
    except csv.Error as e:
        raise SpecError([Issue(str(path), reader.line_num, 1, f"not a CSV file: {e}")]) from None
    out = list(subs.values())
    if orphans:
        out.append(Submission("", errors=orphans[:20] + ([f"... and {len(orphans) - 20} more"]
                                                          if len(orphans) > 20 else [])))
    return out


def _undecodable(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def _row_error(row: dict[str, Any]) -> str:
    cells = [str(v) for v in row.values() if isinstance(v, str)]
    if any(_undecodable(c) for c in cells):
        return "bytes that are not UTF-8 text (save the CSV as UTF-8)"
    if None in row or any(not isinstance(v, str) for v in row.values()):
        return "a row with more or fewer cells than the header"
    if not row["problem"].strip() or not row["value"].strip():
        return "the problem or value cell is empty"
    if len(row["problem"]) > 100 or len(row["value"]) > 100:
        return "a problem or value name longer than 100 characters"
    index = (row.get("index") or "").strip()
    if not INDEX.fullmatch(index):
        return f"index {index[:30]!r} is not of the form [0][1] (at most {MAX_INDEX:,} each)"
    if any(int(i) > MAX_INDEX for i in re.findall(r"\d+", index)):
        return f"an index past {MAX_INDEX:,}"
    try:
        float(row["number"])
    except ValueError:
        return (f"{row['number'].strip()[:30]!r} is not a number (write 0.5, -1.25e-3; a "
                "decimal point, not a comma)")
    return ""


def shaped(given: Any, shape: tuple[int, ...]) -> tuple[np.ndarray | None, str]:
    """A submitted value in the key's shape, or (None, why not). A flat list (or CSV indices
    [i]) is taken for a row or column vector, as specs take them; nothing is allocated
    beyond the key's own size."""
    size = int(np.prod(shape))
    vector = sum(n > 1 for n in shape) <= 1
    if isinstance(given, Unreadable):
        return None, str(given)
    if isinstance(given, Sparse):
        return _from_entries(given, shape, size, vector)
    if not _numbers_only(given):
        return None, "not a number or a matrix of numbers"
    try:
        got = np.asarray(given, dtype=float)
    except (TypeError, ValueError, OverflowError):
        return None, "not a number or a matrix of numbers (rows of equal length)"
    if not np.all(np.isfinite(got)):
        return None, "not a finite number (NaN or infinity)"
    if got.size == size and got.shape != shape and (got.size == 1 or (vector and got.ndim == 1)):
        got = got.reshape(shape)
    if got.shape != shape:
        return None, f"shape {list(got.shape)}, expected {list(shape)}"
    return got, ""


def _numbers_only(v: Any, depth: int = 0) -> bool:
    """A number, or lists of them: no true/false, text or mappings at any depth."""
    if isinstance(v, list | tuple):
        return depth < 32 and all(_numbers_only(x, depth + 1) for x in v)
    return isinstance(v, int | float) and not isinstance(v, bool)


def _from_entries(given: Sparse, shape: tuple[int, ...], size: int,
                  vector: bool) -> tuple[np.ndarray | None, str]:
    lengths = sorted({len(i) for i in given})
    if len(lengths) > 1:
        return None, f"indices of different lengths ({' and '.join(map(str, lengths))} numbers)"
    n = lengths[0] if lengths else 0
    grid = shape
    if n != len(shape):
        if n == 1 and vector:
            grid = (size,)
        elif n == 0 and size == 1:
            grid = ()
        else:
            return None, f"indices of {n} numbers; this value is {list(shape)}"
    for i in given:
        if any(k >= s for k, s in zip(i, grid, strict=True)):
            return None, ("index " + "".join(f"[{k}]" for k in i) + f" outside the value's "
                          f"shape {list(shape)}")
    if len(given) < size:
        return None, f"{size - len(given)} of {size} entries missing"
    a = np.empty(grid)
    for i, v in given.items():
        a[i] = v
    if not np.all(np.isfinite(a)):
        return None, "not a finite number (NaN or infinity)"
    return a.reshape(shape), ""
