"""Every version to the course's LMS, from the same answers as answers.json: what each
version's row holds (the answers, the given values, the statement, the points, the key's
lines as the worked solution) and the files written from the rows, Moodle XML (moodle.py) and
Canvas QTI (canvas.py).

The LMS asks the values the question sheet grades (grading.points_of), each entry worth its
value's points divided by its entries. The accepted ranges, the digits written, the powers of
ten and the weights are lms_numbers.py's. What the importers do with each field, from their
source code, is in docs/lms.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .canvas import canvas_zip
from .moodle import moodle_xml


def statements(doc: Any, solutions: dict[str, Any]) -> dict[str, str]:
    """Each problem's text with its placeholders filled, as the PDF prints them."""
    from ..document.placeholders import fill, scalars

    values = scalars(doc, solutions)
    return {p.id: fill(p.text or "", values, p.digits) for p in doc.problems}


def points_table(doc: Any, solutions: dict[str, Any]) -> dict[str, dict[str, float]]:
    """{problem: {value: points}} of the question sheet's marking (grading.points_of)."""
    from .grading import points_of

    out: dict[str, dict[str, float]] = {}
    for (pid, name), p in points_of(doc, solutions).items():
        out.setdefault(pid, {})[name] = p
    return out


def feedback_of(doc: Any, solutions: dict[str, Any]) -> dict[str, list[str]]:
    """Each problem's worked steps as LaTeX (the key's own lines, one aligned block a step)."""
    from ..document.lines import rows
    from ..document.tex import problem_docs

    out: dict[str, list[str]] = {}
    for p in problem_docs(doc, solutions, {}):
        lines = []
        for part in p.parts:
            for item in part.items:
                for st in getattr(item, "steps", []):
                    body = r" \\ ".join(r.split(r" \tag*")[0] for r in rows(st))
                    lines.append(r"\begin{aligned}" + body + r"\end{aligned}")
        out[p.id] = lines
    return out


def given_of(doc: Any) -> dict[str, list[list[Any]]]:
    """Each problem's given values as printed: [display name, value (shown layout), digits]."""
    out: dict[str, list[list[Any]]] = {}
    for s in doc.problems:
        if getattr(s, "kind", "") == "network":
            vals = [("X", s.X), ("Y", s.Y)] + [(k, v) for k, v in s.params.items()]
            show = [(n, v.T if s.layout == "columns" and v.ndim == 2 else v) for n, v in vals]
        else:
            show = list(s.given.items())
        rows = []
        for n, v in show:
            a = np.asarray(v, dtype=float)
            if a.ndim > 2:  # sequences, images: each sample's matrix (steps x features ...)
                rows += [[f"{n}[{i + 1}]", a[i].reshape(-1, a.shape[-1]).tolist(), s.digits]
                         for i in range(a.shape[0])]
            else:
                rows.append([n, a.tolist(), s.digits])
        out[s.id] = rows
    return out


def lms_exports(doc: Any, rows: list[dict[str, Any]], names: list[tuple[str, str, int]],
                stage: Path, opts: Any) -> None:
    """moodle.xml and canvas-qti.zip of every version, when asked for (lms.py)."""
    if "moodle" in opts.formats:
        (stage / "moodle.xml").write_text(moodle_xml(doc.spec.title, rows, names), encoding="utf-8")
    if "canvas" in opts.formats:
        (stage / "canvas-qti.zip").write_bytes(canvas_zip(doc.spec.title, rows, names))


def write_single(doc: Any, solutions: dict[str, Any], stage: Path, opts: Any) -> list[str]:
    """moodle.xml / canvas-qti.zip of a single build: its one version."""
    if not any(f in opts.formats for f in ("moodle", "canvas")):
        return []
    from ..jsonout import answers_of
    from .grid import asked_names

    answers = answers_of(doc, solutions, raw=True)
    row = {"label": "v01", "answers": answers, "given": given_of(doc),
           "feedback": feedback_of(doc, solutions), "points": points_table(doc, solutions),
           "text": statements(doc, solutions), "student": ""}
    lms_exports(doc, [row], asked_names(doc, answers), stage, opts)
    return [f for f in ("moodle.xml", "canvas-qti.zip") if (stage / f).exists()]
