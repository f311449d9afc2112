"""What an instructor needs beside a batch of versions: the spread of every asked answer over
the versions (summary.csv: min, median, max per entry, as R/exams' stress test shows it) and a
grading grid (grid.csv, grid.tex/.pdf: version x asked value, each answer at its shown digits),
for graders who mark by hand. Both are made from the same answers as answers.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .. import csvout
from ..document.escape import escape
from ..render.numbers import fmt, fmt_plain
from ..spec.setups import Document
from . import constraints


def asked_names(doc: Document, answers: dict[str, Any]) -> list[tuple[str, str, int]]:
    """(problem, value, digits) of every asked value, in document order."""
    return [(p.id, n, p.digits_for.get(n, p.digits)) for p in doc.problems
            for n in constraints.asked_names(p, answers["problems"][p.id])]


def shown_rows(value: Any, digits: int) -> list[list[str]]:
    """An answer as it is printed, row by row, each entry as LaTeX math."""
    a = np.asarray(value, dtype=float)
    if a.ndim == 0 or a.size == 1:
        return [[fmt(float(a.ravel()[0]), digits)]]
    rows = a.reshape(-1, a.shape[-1]) if a.ndim >= 2 else a.reshape(1, -1)
    return [[fmt(float(x), digits) for x in r] for r in rows]


def shown(value: Any, digits: int) -> str:
    """An answer as it is printed: a number, or rows of numbers ('a b; c d')."""
    return "; ".join(" ".join(r) for r in shown_rows(value, digits))


def summary_csv(doc: Document, rows: list[dict[str, Any]], path: Path) -> None:
    """min / median / max over the versions of every entry of every asked value."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csvout.writer(fh)
        w.writerow(["problem", "value", "index", "min", "median", "max", "versions"])
        if not rows:
            return
        for pid, name, _ in asked_names(doc, rows[0]["answers"]):
            stack = np.stack([np.asarray(r["answers"]["problems"][pid][name], dtype=float)
                              for r in rows])
            for idx in np.ndindex(stack.shape[1:]):
                col = stack[(slice(None),) + idx]
                w.writerow([pid, name, "".join(f"[{i}]" for i in idx), float(col.min()),
                            float(np.median(col)), float(col.max()), len(rows)])


def grid_csv(doc: Document, rows: list[dict[str, Any]], path: Path) -> list[tuple[str, str, int]]:
    """One row per version, one column per entry of every asked value (p2.dW1[0][1]), each
    the number as printed at its digits, written as a spreadsheet reads it (1.234E-4)."""
    names = asked_names(doc, rows[0]["answers"]) if rows else []
    heads: list[str] = []
    for pid, n, _ in names:
        a = np.asarray(rows[0]["answers"]["problems"][pid][n], dtype=float)
        heads += [f"{pid}.{n}" + "".join(f"[{i}]" for i in idx) for idx in np.ndindex(a.shape)]
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csvout.writer(fh)
        w.writerow(["version", "student"] + heads)
        for r in rows:
            w.writerow([r["label"], r["student"]] + [
                csvout.Number(fmt_plain(float(x), d)) for pid, n, d in names
                for x in np.ravel(np.asarray(r["answers"]["problems"][pid][n], dtype=float))])
    return names


def grid_tex(doc: Document, rows: list[dict[str, Any]], names: list[tuple[str, str, int]]) -> str:
    """Landscape tables, one block of lines per version, one table column per matrix column
    of every asked value, so an entry lines up with the same entry of every other version
    (each entry its own cell, right-aligned); values that do not fit the page width go into
    a further table."""
    shown_of = {(r["label"], pid, n): shown_rows(r["answers"]["problems"][pid][n], d)
                for r in rows for pid, n, d in names}
    first = rows[0]["label"] if rows else ""
    ncols = {(pid, n): len(shown_of[(first, pid, n)][0]) for pid, n, _ in names} if rows else {}
    widths = {}  # characters of each value's widest table column
    for pid, n, _ in names:
        entries = [len(e) for r in rows for line in shown_of[(r["label"], pid, n)] for e in line]
        widths[(pid, n)] = max(len(f"{pid}.{n}"), ncols[(pid, n)] * (max(entries) + 2))
    chunks: list[list[tuple[str, str, int]]] = [[]]
    used = 12
    for item in names:
        w = widths[item[:2]] + 3
        if chunks[-1] and used + w > 150:  # characters at \scriptsize across A4 landscape
            chunks.append([])
            used = 12
        chunks[-1].append(item)
        used += w
    tables = []
    for chunk in chunks:
        head = " & ".join([r"\textbf{version}"] + [
            rf"\multicolumn{{{ncols[(pid, n)]}}}{{c}}{{\textbf{{{escape(pid)}.{escape(n)}}}}}"
            for pid, n, _ in chunk]) + r" \\"
        body = []
        for r in rows:
            height = max(len(shown_of[(r["label"], pid, n)]) for pid, n, _ in chunk)
            lines = []
            for k in range(height):
                who = escape(r["label"] + (f" {r['student']}" if r["student"] else "")) \
                    if k == 0 else ""
                cells = [who]
                for pid, n, _ in chunk:
                    value = shown_of[(r["label"], pid, n)]
                    # each entry its own math group: a minus is a sign, never a subtraction
                    cells += ([f"${e}$" for e in value[k]] if k < len(value)
                              else [""] * ncols[(pid, n)])
                lines.append(" & ".join(cells))
            body.append(" \\\\*\n".join(lines) + r" \\ \midrule")  # a version never splits
        spec = "l" + "".join("@{\\quad}" + "r" * ncols[(pid, n)] for pid, n, _ in chunk)
        tables.append(rf"\begin{{longtable}}{{{spec}}}\toprule {head}\midrule"
                      r"\endhead" + "\n" + "\n".join(body) + "\n\\end{longtable}")
    # the fonts of the key (T1, Latin Modern): a roster name holds any character the key
    # prints (spec/texsafe.py's table was measured with these), e.g. $ from TS1 at 7 pt
    return (r"\documentclass{article}\usepackage[T1]{fontenc}\usepackage[utf8]{inputenc}"
            r"\usepackage{lmodern}\usepackage[landscape,margin=1cm]{geometry}"
            r"\usepackage{amsmath,amssymb,booktabs,longtable}\pagestyle{plain}\begin{document}"
            rf"{{\large\bfseries {escape(doc.spec.title)} --- grading grid}}\par\medskip"
            "\n\\scriptsize\n" + "\n".join(tables) + "\n\\end{document}\n")
