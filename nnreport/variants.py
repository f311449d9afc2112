"""Per-student versions of one spec: draws decided by (seed, version, attempt), constraints
checked by rejection sampling, and the grader's `check` of submitted answers.

A version is reproducible from the base seed and its number alone: version k tries the
draws (seed, k, 0), (seed, k, 1), ... and keeps the first whose problems meet every
constraint, or fails after `max_tries` with a count of what went wrong.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .budgets import DEFAULT, Budgets
from .constraints import Fingerprint, failures, fingerprints, needs_history
from .engine.solve import solve
from .errors import ComputeError, Issue, SpecError, check_input_file
from .spec import finish
from .spec.cost import TRY_WORK
from .spec.setups import Document, NetworkSetup
from .spec.texsafe import text_flaws
from .spec.variants import has_random
from .spec.yamlio import Located, load_file


@dataclass(frozen=True)
class Version:
    index: int          # decides the draws, with the base seed
    label: str          # printed on every page and used in file names: v07, or the roster id
    student: str = ""


def numbered(count: int) -> list[Version]:
    width = max(2, len(str(count)))
    return [Version(k, f"v{k + 1:0{width}d}") for k in range(count)]


MAX_LABEL = 40   # a roster id names a folder and files: short enough for any file system
MAX_ROSTER = 10_000


def from_roster(path: Path) -> list[Version]:
    """One version per row of a CSV with a `name` column (and optionally `id`)."""
    check_input_file(path, "roster", 5_000_000)
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise SpecError([Issue(str(path), None, None, f"cannot read the roster: {e}",
                               "a CSV file in UTF-8 with a header row, e.g. name,id")]) from None
    if len(rows) > MAX_ROSTER:
        raise SpecError([Issue(str(path), None, None,
                               f"the roster has {len(rows)} rows; at most {MAX_ROSTER}")])
    if not rows or "name" not in rows[0]:
        raise SpecError([Issue(str(path), 1, 1, "a roster needs a header row with a 'name' column",
                               "e.g. name,id")])
    out = []
    seen: set[str] = set()
    width = max(2, len(str(len(rows))))
    issues = []
    for k, row in enumerate(rows):
        raw = (row.get("id") or "").strip()
        name = (row.get("name") or "").strip()
        # the label names a folder and files and is printed on every page: ASCII letters,
        # digits, - and _, never a leading '-'
        label = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "_"
                        for ch in raw).lstrip("-") or f"s{k + 1:0{width}d}"
        if len(label) > MAX_LABEL:
            issues.append(Issue(str(path), k + 2, 1, f"the id in this row is longer than "
                                f"{MAX_LABEL} characters", "ids name folders and files: "
                                "use short ids such as student numbers"))
        elif label in seen:
            issues.append(Issue(str(path), k + 2, 1, f"duplicate id '{raw}' in the roster"))
        for flaw in text_flaws(name)[:3]:  # the name is printed in every page header
            issues.append(Issue(str(path), k + 2, 1, f"name: {flaw.message}", flaw.hint))
        seen.add(label)
        out.append(Version(k, label, name))
    if issues:
        raise SpecError(issues[:50])
    return out


def _constraints_at(located: Located) -> tuple[Any, ...]:
    problems = located.data.get("problems", []) if isinstance(located.data, dict) else []
    return next((("problems", i, "constraints") for i, p in enumerate(problems)
                 if isinstance(p, dict) and p.get("constraints")), ("problems",))


def tries_fit(doc: Document, located: Located, budgets: Budgets = DEFAULT) -> int:
    """How many draws a version may need (max_tries when a random draw can be rejected: by a
    constraint or a diverging training; else 1); a located SpecError when that many would
    pass the variant_work budget."""
    rejectable = any(isinstance(p, NetworkSetup) or p.constraints for p in doc.problems)
    tries = doc.spec.max_tries if rejectable and has_random(located.data) else 1
    per_try = doc.work + TRY_WORK
    if tries > 1 and tries * per_try > budgets.variant_work:
        where = ("max_tries",) if "max_tries" in located.data else _constraints_at(located)
        raise SpecError([located.issue(where, f"up to {tries:,} draws of about {per_try:.3g} "
                                       f"multiply-adds each ({tries * per_try:.3g} in all)",
                                       "lower max_tries; " + budgets.hint("variant_work"))])
    return tries


def solve_version(path: Path, seed: int, version: Version, budgets: Budgets = DEFAULT,
                  earlier: list[dict[str, Fingerprint]] | None = None
                  ) -> tuple[Document, dict[str, Any], int]:
    """Draw, solve and check one version; returns (document, solutions, attempts used).
    The YAML is read once; each attempt draws, validates and resolves it again. With
    `distinct_versions`, `earlier` are the asked answers of versions 0..k-1 (worked out here
    when not given, so a version solved on its own is the version of the batch)."""
    located = load_file(path, budgets)
    doc = finish(located, (seed, version.index, 0), budgets)
    if earlier is None and needs_history(doc):
        earlier = history(located, seed, version.index, budgets)
    return _draw(located, doc, seed, version, budgets, earlier or [])


def history(located: Located, seed: int, upto: int,
            budgets: Budgets = DEFAULT) -> list[dict[str, Fingerprint]]:
    """The asked answers of versions 0..upto-1, each drawn given the ones before it."""
    out: list[dict[str, Fingerprint]] = []
    for k in range(upto):
        doc = finish(located, (seed, k, 0), budgets)
        doc, sols, _ = _draw(located, doc, seed, Version(k, f"v{k + 1}"), budgets, out)
        out.append(fingerprints(doc, sols))
    return out


def _draw(located: Located, doc: Document, seed: int, version: Version, budgets: Budgets,
          earlier: list[dict[str, Fingerprint]]) -> tuple[Document, dict[str, Any], int]:
    tries = tries_fit(doc, located, budgets)
    random = tries > 1  # without random values a second draw is the same draw
    reasons: Counter[str] = Counter()
    for attempt in range(tries):
        if attempt:
            doc = finish(located, (seed, version.index, attempt), budgets)
        try:
            solutions = solve(doc)
        except ComputeError:
            reasons["training diverged"] += 1
            continue
        failed = failures(doc, solutions, earlier)
        if not failed:
            return doc, solutions, attempt + 1
        reasons.update(failed)
        if not random:
            break
    where = _constraints_at(located)
    summary = ", ".join(f"{r} failed {n} times" for r, n in reasons.most_common())
    raise SpecError([located.issue(where, f"version {version.label}: no draw met the constraints "
                                   f"in {sum(reasons.values())} tries ({summary})",
                                   "widen the random ranges or relax the constraints")])


# --- the grader's check -----------------------------------------------------------------

@dataclass(frozen=True)
class Verdict:
    problem: str
    name: str
    ok: bool
    detail: str
    abs_err: float = float("nan")
    rel_err: float = float("nan")
    follows: bool = False  # wrong against the key, right from the student's own earlier values


def check_answers(key: dict[str, dict[str, Any]], submitted: dict[str, Any], rtol: float,
                  atol: float, per_value: dict[str, tuple[float, float]] | None = None,
                  tolerance: dict[str, dict[str, Any]] | None = None,
                  follow: Any = None) -> list[Verdict]:
    """Compare submitted {problem: {name: value}} with the key, value by value.
    A value is right when |given - key| <= atol + rtol * |key| in every entry; with
    `rounding: chain`, when it lies in the value's derived range (answers.json's
    `tolerance`: low and high, entry by entry) unless --tol names the value."""
    out = []
    for pid, values in submitted.items():
        if pid not in key:
            out.append(Verdict(pid, "*", False, f"no problem '{pid}' in this exam"))
            continue
        if not isinstance(values, dict):
            out.append(Verdict(pid, "*", False, "expected name: value pairs"))
            continue
        for name, given in values.items():
            if name not in key[pid]:
                out.append(Verdict(pid, name, False, f"no value '{name}' in problem {pid}"))
                continue
            r, a = (per_value or {}).get(f"{pid}.{name}", (per_value or {}).get(name, (rtol, atol)))
            want = np.asarray(key[pid][name], dtype=float)
            try:
                got = np.asarray(given, dtype=float)
            except (TypeError, ValueError):
                out.append(Verdict(pid, name, False, "not a number or a matrix of numbers"))
                continue
            if not np.all(np.isfinite(got)):
                out.append(Verdict(pid, name, False, "not a finite number (NaN or infinity)"))
                continue
            if got.size == want.size and got.shape != want.shape and got.size == 1:
                got = got.reshape(want.shape)
            if got.shape != want.shape:
                out.append(Verdict(pid, name, False, f"shape {list(got.shape)}, expected {list(want.shape)}"))
                continue
            err = np.abs(got - want)
            abs_err = float(err.max()) if err.size else 0.0
            rel_err = float((err / np.maximum(np.abs(want), 1e-300)).max()) if err.size else 0.0
            derived = (tolerance or {}).get(pid, {}).get(name)
            named = f"{pid}.{name}" in (per_value or {}) or name in (per_value or {})
            if derived is not None and not named:  # the range any rounding path reaches
                ok = bool(np.all((got >= np.asarray(derived["low"], dtype=float))
                                 & (got <= np.asarray(derived["high"], dtype=float))))
            else:
                ok = bool(np.all(err <= a + r * np.abs(want)))
            detail = "right" if ok else f"off by {abs_err:.3g} (relative {rel_err:.3g})"
            follows = False
            if not ok and follow is not None:  # recomputed from the student's earlier values
                mine = follow(pid, name, values)
                if mine is not None and np.shape(mine) == got.shape:
                    follows = bool(np.all(np.abs(got - mine) <= a + r * np.abs(mine)))
                    if follows:
                        detail += "; right from your own earlier values (follows through)"
            out.append(Verdict(pid, name, ok, detail, abs_err, rel_err, follows))
    return out
