"""Marking submitted values: one student's (`nnreport check spec answers.yaml`) or a class's
(a folder of <version>.yaml files, or a CSV with one row per student, value and entry) into a
grades CSV. The verdicts come from variants.check_answers; points from the question sheet's
marking; follow-through from engine/follow.py."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .build import answers_of


@dataclass(frozen=True)
class Rules:
    rtol: float = 1e-3
    atol: float = 1e-4
    per_value: dict[str, tuple[float, float]] = field(default_factory=dict)
    follow_through: bool = False
    credit: float = 0.5


def points_of(doc: Any, solutions: dict[str, Any]) -> dict[tuple[str, str], float]:
    """What each graded value is worth, from the same marking as the question sheet."""
    from .document.tex import problem_docs

    out: dict[tuple[str, str], float] = {}
    for p in problem_docs(doc, solutions, {}):
        for part in p.parts:
            for item in part.items:
                for st in getattr(item, "steps", []):
                    if st.points and st.key:
                        out[(p.id, st.key)] = out.get((p.id, st.key), 0.0) + st.points
    return out


def mark(doc: Any, solutions: dict[str, Any], submitted: dict[str, Any],
         rules: Rules) -> list[dict[str, Any]]:
    """One row per submitted value: problem, value, status (right/follows/WRONG), detail,
    points, of."""
    from .variants import check_answers

    key = answers_of(doc, solutions, raw=True)
    follow = None
    if rules.follow_through:
        from .engine.follow import recomputed

        setups = {p.id: p for p in doc.problems}

        def follow(pid: str, name: str, values: dict[str, Any]) -> Any:
            return recomputed(setups[pid], solutions[pid], values, name)

    verdicts = check_answers(key["problems"], submitted, rules.rtol, rules.atol,
                             rules.per_value, key.get("tolerance"), follow)
    worth = points_of(doc, solutions)
    rows = []
    for v in verdicts:
        full = worth.get((v.problem, v.name), 0.0)
        got = full if v.ok else rules.credit * full if v.follows else 0.0
        rows.append({"problem": v.problem, "value": v.name,
                     "status": "right" if v.ok else "follows" if v.follows else "WRONG",
                     "detail": v.detail, "points": got, "of": full})
    return rows


def read_class(path: Path, budgets: Any) -> dict[str, dict[str, Any]]:
    """{version label or student id: {problem: {name: value}}} from a folder of <label>.yaml
    (or .json) files, or from a CSV with columns version (or id), problem, value, index,
    number — the layout of answers.csv, so a spreadsheet of typed-in answers works."""
    from .errors import Issue, SpecError, check_input_file
    from .spec.yamlio import load_file

    if path.is_dir():
        out = {}
        for f in sorted(path.iterdir()):
            if f.suffix.lower() in (".yaml", ".yml", ".json") and f.is_file():
                out[f.stem] = load_file(f, budgets).data
        return out
    check_input_file(path, "submissions CSV", budgets.data_bytes, budgets.hint("data_bytes"))
    cells: dict[str, dict[str, dict[str, dict[tuple[int, ...], float]]]] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        who = "version" if "version" in (reader.fieldnames or []) else "id"
        for line, row in enumerate(reader, start=2):
            try:
                idx = tuple(int(i) for i in re.findall(r"\[(\d+)\]", row.get("index") or ""))
                number = float(row["number"])
                label, pid, name = row[who].strip(), row["problem"].strip(), row["value"].strip()
            except (KeyError, TypeError, ValueError, AttributeError):
                raise SpecError([Issue(str(path), line, None, "expected columns version (or id),"
                                       " problem, value, index, number with a number",
                                       "the layout of answers.csv")]) from None
            cells.setdefault(label, {}).setdefault(pid, {}).setdefault(name, {})[idx] = number
    out = {}
    for label, problems in cells.items():
        out[label] = {}
        for pid, values in problems.items():
            out[label][pid] = {}
            for name, entries in values.items():
                if list(entries) == [()]:
                    out[label][pid][name] = entries[()]
                    continue
                shape = tuple(max(i[k] for i in entries) + 1 for k in range(len(next(iter(entries)))))
                a = np.full(shape, np.nan)
                for i, v in entries.items():
                    a[i] = v
                out[label][pid][name] = a.tolist()
    return out


def write_grades(path: Path, graded: dict[str, list[dict[str, Any]]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["version", "problem", "value", "status", "points", "of", "detail"])
        for label, rows in graded.items():
            for r in rows:
                w.writerow([label, r["problem"], r["value"], r["status"], r["points"], r["of"],
                            r["detail"]])
            w.writerow([label, "", "total", "", sum(r["points"] for r in rows),
                        sum(r["of"] for r in rows), ""])
