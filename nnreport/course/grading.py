"""Marking submitted values against the key: one student's (`nnreport check spec answers.yaml`)
or a class's (submissions.py reads them) into a grades CSV.

Every asked value counts: one not submitted is "missing" and earns 0 of its points, so a
total is always out of the exam's total. A value is right when every entry lies in the key's
accepted range: the derived range of `rounding: chain`, else one unit of the last printed
digit either side; the LMS exports accept exactly these ranges (lmsnumbers.py), so check,
Moodle and Canvas mark alike. Follow-through (engine/follow.py) recomputes a value from the
student's own earlier values. Points come from the question sheet's marking, so the sheet, the key and the grades
agree."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import csvout
from ..errors import printable
from ..jsonout import answers_of
from .submissions import shaped


@dataclass(frozen=True)
class Rules:
    rtol: float = 1e-3
    atol: float = 1e-4
    per_value: dict[str, tuple[float, float]] = field(default_factory=dict)
    follow_through: bool = False
    credit: float = 0.5
    problems: tuple[str, ...] = ()  # mark only these problems (all when empty)
    by_tolerance: bool = False  # --rtol/--atol given: |given - key| <= atol + rtol |key|
                                # instead of the key's accepted range (chain ranges stay)

    @classmethod
    def of(cls, rtol: float | None, atol: float | None, tols: tuple[str, ...] = (),
           follow_through: bool = False, credit: float = 0.5,
           problems: tuple[str, ...] = ()) -> Rules:
        """From check's options: --rtol/--atol (None: the key's ranges), --tol NAME=RTOL[,ATOL]
        (a ValueError names a malformed one)."""
        r, a = (1e-3 if rtol is None else rtol), (1e-4 if atol is None else atol)
        per_value = {}
        for t in tols:
            name, _, nums = t.partition("=")
            tr, _, ta = nums.partition(",")
            try:
                per_value[name.strip()] = (float(tr), float(ta) if ta else a)
            except ValueError:
                raise ValueError(f"'{t}': expected NAME=RTOL[,ATOL]") from None
        return cls(r, a, per_value, follow_through, credit, problems,
                   rtol is not None or atol is not None)


@dataclass(frozen=True)
class Verdict:
    problem: str
    name: str
    ok: bool
    detail: str
    abs_err: float = float("nan")
    rel_err: float = float("nan")
    follows: bool = False  # wrong against the key, right from the student's own earlier values
    missing: bool = False  # asked and not submitted


def points_of(doc: Any, solutions: dict[str, Any]) -> dict[tuple[str, str], float]:
    """What each graded value is worth, from the same marking as the question sheet."""
    from ..document.tex import problem_docs

    out: dict[tuple[str, str], float] = {}
    for p in problem_docs(doc, solutions, {}):
        for part in p.parts:
            for item in part.items:
                for st in getattr(item, "steps", []):
                    if st.points and st.key:
                        out[(p.id, st.key)] = out.get((p.id, st.key), 0.0) + st.points
    return out


def asked_values(doc: Any, key: dict[str, Any]) -> list[tuple[str, str]]:
    """(problem, value) of every asked value, in the order of the exam."""
    from .constraints import asked_names

    return [(p.id, n) for p in doc.problems for n in asked_names(p, key["problems"][p.id])]


def shown_name(name: Any) -> str:
    """A problem or value name from a submission as it may be printed (errors.printable)."""
    return printable(str(name))


def _unknown(what: str, name: str, known: list[str], where: str = "") -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else f" (names: {', '.join(known[:30])})"
    return f"no {what} '{name[:80]}'{where}{hint}"


def check_answers(answers: dict[str, Any], submitted: dict[str, Any], rules: Rules,
                  digits: dict[tuple[str, str], int], follow: Any = None,
                  asked: list[tuple[str, str]] | None = None) -> list[Verdict]:
    """Compare submitted {problem: {name: value}} with the key (the JSON contract, `answers`)
    value by value; each of `asked` not submitted is a `missing` verdict. A value is right
    when every entry lies in the key's accepted range (lmsnumbers.ranges: the chain range, or
    one unit of the last printed digit either side), the same range the LMS exports accept;
    --tol (and --rtol/--atol for values without a chain range) set a tolerance instead."""
    key = answers["problems"]
    out = []
    for pid, values in submitted.items():
        pid = shown_name(pid)
        if pid not in key:
            out.append(Verdict(pid, "*", False, _unknown("problem", pid, list(key))))
            continue
        if not isinstance(values, dict):
            out.append(Verdict(pid, "*", False, "expected name: value pairs"))
            continue
        arrays = {}
        for name, given in values.items():
            name = shown_name(name)
            if name not in key[pid]:
                out.append(Verdict(pid, name, False, _unknown("value", name, list(key[pid]),
                                                              f" in problem {pid}")))
                continue
            want = np.asarray(key[pid][name], dtype=float)
            got, why = shaped(unmasked(given, want), want.shape)
            if got is None:
                out.append(Verdict(pid, name, False, why))
                continue
            arrays[name] = got
        for name, got in arrays.items():
            out.append(_verdict(answers, pid, name, got, rules, digits.get((pid, name), 4),
                                follow, arrays))
    given = {(v.problem, v.name) for v in out}
    for pid, name in asked or []:
        if (pid, name) not in given:
            out.append(Verdict(pid, name, False, "missing", missing=True))
    return out


def accepted(answers: dict[str, Any], pid: str, name: str,
             digits: int) -> tuple[np.ndarray, np.ndarray]:
    """The key's accepted range of a value, entry by entry (low, high), as the LMS exports
    state it (lmsnumbers.ranges)."""
    from .lms_numbers import ranges

    want = np.asarray(answers["problems"][pid][name], dtype=float)
    lo, hi = np.full(want.shape, -np.inf), np.full(want.shape, np.inf)  # a masked -inf: any
    for idx, _, low, high, _ in ranges(answers, pid, name, digits):
        lo[idx], hi[idx] = float(low), float(high)
    return lo, hi


def unmasked(given: Any, want: np.ndarray) -> Any:
    """A submission of a value with masked entries (a causal score's -infinity, null in
    answers.json): those entries are no answer, whatever is given there (null) reads as 0."""
    bad = ~np.isfinite(want)
    if not bad.any():
        return given
    try:
        a = np.array(given, dtype=object)
    except ValueError:
        return given
    if a.shape != want.shape:
        return given
    a[bad] = 0.0
    return a.tolist()


def _verdict(answers: dict[str, Any], pid: str, name: str, got: np.ndarray, rules: Rules,
             digits: int, follow: Any, arrays: dict[str, np.ndarray]) -> Verdict:
    want = np.asarray(answers["problems"][pid][name], dtype=float)
    named = rules.per_value.get(f"{pid}.{name}", rules.per_value.get(name))
    r, a = named or (rules.rtol, rules.atol)
    masked = ~np.isfinite(want)  # a causal mask's -infinity: no answer, not compared
    if masked.any():
        want, got = np.where(masked, 0.0, want), np.where(masked, 0.0, got)
    err = np.abs(got - want)
    abs_err = float(err.max()) if err.size else 0.0
    rel_err = float((err / np.maximum(np.abs(want), 1e-300)).max()) if err.size else 0.0
    chained = answers.get("tolerance", {}).get(pid, {}).get(name) is not None
    if named is not None or (rules.by_tolerance and not chained):
        ok = bool(np.all(err <= a + r * np.abs(want)))
    else:  # the key's range: any rounding path (chain), or a unit of the printed digit
        lo, hi = accepted(answers, pid, name, digits)
        ok = bool(np.all((got >= lo) & (got <= hi)))
    detail = "right" if ok else f"off by {abs_err:.3g} (relative {rel_err:.3g})"
    follows = False
    if not ok and follow is not None:  # recomputed from the student's earlier values
        mine = follow(pid, name, arrays)
        if mine is not None and np.shape(mine) == got.shape:
            follows = bool(np.all(np.abs(got - mine) <= a + r * np.abs(mine)))
            if follows:
                detail += "; right from your own earlier values (follows through)"
    return Verdict(pid, name, ok, detail, abs_err, rel_err, follows)


def mark(doc: Any, solutions: dict[str, Any], submitted: dict[str, Any],
         rules: Rules) -> list[dict[str, Any]]:
    """One row per asked or submitted value: problem, value, status (right/follows/WRONG/
    missing), detail, points, of. The rows' `of` add up to the exam's total."""
    key = answers_of(doc, solutions, raw=True)
    follow = None
    if rules.follow_through:
        from ..engine.follow import recomputed

        setups = {p.id: p for p in doc.problems}

        def follow(pid: str, name: str, values: dict[str, Any]) -> Any:
            return recomputed(setups[pid], solutions[pid], values, name)

    asked_list = [(p, n) for p, n in asked_values(doc, key)
                  if not rules.problems or p in rules.problems]
    if rules.problems:
        submitted = {p: v for p, v in submitted.items() if str(p) in rules.problems}
    digits = {(p.id, n): p.digits_for.get(n, p.digits) for p in doc.problems
              for n in key["problems"][p.id]}
    verdicts = check_answers(key, submitted, rules, digits, follow, asked_list)
    worth = points_of(doc, solutions)
    asked = set(asked_list)
    rows = []
    for v in verdicts:
        full = worth.get((v.problem, v.name), 0.0)
        got = full if v.ok else rules.credit * full if v.follows else 0.0
        status = ("right" if v.ok else "follows" if v.follows else "missing" if v.missing
                  else "WRONG")
        rows.append({"problem": v.problem, "value": v.name, "status": status,
                     "detail": v.detail, "points": got, "of": full,
                     "asked": (v.problem, v.name) in asked})
    return rows


def total(rows: list[dict[str, Any]]) -> tuple[int, int, float, float]:
    """(asked values right, values asked, points, out of)."""
    asked = [r for r in rows if r["asked"]]
    return (sum(r["status"] == "right" for r in asked), len(asked),
            sum(r["points"] for r in rows), sum(r["of"] for r in rows))


def write_grades(path: Path, graded: dict[str, list[dict[str, Any]]],
                 failed: dict[str, str] | None = None, exam_total: float = 0.0) -> None:
    """grades.csv: a row per student and value and a total row per student; a submission
    that could not be marked gets one `error` row and a total of 0 of the exam's points.
    Every text cell goes through csvout (no formulas from students' files)."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csvout.writer(fh)
        w.writerow(["version", "problem", "value", "status", "points", "of", "detail"])
        for label, rows in graded.items():
            for r in rows:
                w.writerow([label, r["problem"], r["value"], r["status"], r["points"], r["of"],
                            r["detail"]])
            _, _, got, of = total(rows)
            w.writerow([label, "", "total", "", got, of, ""])
        for label, why in (failed or {}).items():
            w.writerow([label, "", "", "error", 0.0, exam_total, " ".join(why.split())])
            w.writerow([label, "", "total", "", 0.0, exam_total, ""])


@dataclass
class ClassResult:
    graded: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)   # label -> why it was not marked
    exam_total: float = 0.0


def mark_class(keys: Any, submissions: list[Any], versions: list[Any] | None,
               rules: Rules) -> ClassResult:
    """Every readable submission marked against its version's key (variants.Keys: each
    version solved once); a submission that cannot be read, or names no version that was
    built, is reported in `failed` and the others are still marked."""
    from ..errors import NNReportError
    from .versions import Version, version_named

    out = ClassResult()
    for sub in submissions:
        label = printable(sub.label) or "(no version)"
        if sub.errors:
            out.failed[label] = printable("; ".join(sub.errors), keep="\n")
            continue
        who = Version(0, sub.label) if versions is None else version_named(sub.label, versions)
        if who is None:
            out.failed[label] = (f"{printable(sub.where)}: no version '{label}' was built "
                                 "(the file name or version column names the version or "
                                 "roster id)")
            continue
        try:
            doc, solutions = keys.get(who)
        except NNReportError as e:
            out.failed[label] = str(e)
            continue
        out.graded[label] = mark(doc, solutions, sub.values, rules)
        out.exam_total = out.exam_total or total(out.graded[label])[3]
    if not out.exam_total and out.failed:
        doc, solutions = keys.get(versions[0] if versions else Version(0, "v01"))
        out.exam_total = sum(points_of(doc, solutions).values())
    return out
