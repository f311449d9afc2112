"""What a document holds, independent of how the template lays it out.

A problem is a list of Parts (Given, Forward pass, ...); a part is a list of items: prose,
equations, raw LaTeX (tables) and figures. An equation Line knows its successive right-hand
sides (formula, substitution, result) and breaks itself across lines to stay in the margins.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..render.matrices import Tex, text_width

LINE_BUDGET_EM = 40.0  # usable width of an align* line at 11pt on A4 with 2 cm margins (43.8em)


@dataclass
class Line:
    lhs: str
    steps: list[list[Tex]]      # each right-hand side, as breakable pieces
    blank: Tex | None = None    # the empty answer box for the question sheet
    tag: str = ""               # small note at the right (shape)

    def rows(self, budget: float = LINE_BUDGET_EM) -> list[str]:
        """The align* rows: whole steps packed greedily ('lhs &= a = b'); a step too wide
        for a row of its own is broken between its pieces, continuation rows indented."""
        lhs_w = text_width(self.lhs) + 1.0
        out: list[str] = []
        cur: list[str] = []
        width = lhs_w
        for step in self.steps:
            w = sum(p.width for p in step) + 1.2
            if cur and width + w > budget:
                out.append(self._lead(len(out)) + " = ".join(cur))
                cur, width = [], lhs_w
            if width + w <= budget or len(step) == 1:
                cur.append(" ".join(p.tex for p in step))
                width += w
                continue
            chunk: list[str] = []
            cw, first = width, True
            for piece in step:
                if chunk and cw + piece.width > budget:
                    out.append((self._lead(len(out)) if first else r"&\quad ") + " ".join(chunk))
                    first, chunk, cw = False, [], lhs_w + 2.0
                chunk.append(piece.tex)
                cw += piece.width
            out.append((self._lead(len(out)) if first else r"&\quad ") + " ".join(chunk))
            cur, width = [], lhs_w
        if cur:
            out.append(self._lead(len(out)) + " = ".join(cur))
        if self.tag:
            out[-1] += rf" \tag*{{\footnotesize\color{{gray}}${self.tag}$}}"
        return out

    def _lead(self, k: int) -> str:
        return f"{self.lhs} &= " if k == 0 else "&= "

    def blank_row(self) -> str:
        return f"{self.lhs} &= {self.blank.tex if self.blank else ''}"


@dataclass
class Para:
    text: str  # already LaTeX
    kind: str = "para"


@dataclass
class Eqs:
    lines: list[Line]
    asked: bool = True
    kind: str = "eqs"


@dataclass
class Values:
    """Given values 'name = matrix', packed several to a row in a gather*."""

    pairs: list[tuple[str, Tex]]
    kind: str = "values"

    def rows(self, budget: float = LINE_BUDGET_EM) -> list[str]:
        out: list[list[str]] = [[]]
        width = 0.0
        for name, tex in self.pairs:
            w = tex.width + text_width(name) + 3.0
            if out[-1] and width + w > budget:
                out.append([])
                width = 0.0
            out[-1].append(f"{name} = {tex.tex}")
            width += w
        return [r" \qquad ".join(r) for r in out if r]


@dataclass
class Raw:
    tex: str
    in_questions: bool = True
    kind: str = "raw"


@dataclass
class Figure:
    path: str      # relative to the .tex
    caption: str
    width: str = r"0.7\linewidth"
    in_questions: bool = True
    kind: str = "figure"


Item = Para | Eqs | Values | Raw | Figure


@dataclass
class Part:
    title: str
    items: list[Item] = field(default_factory=list)
    answers_only: bool = False  # left out of the question sheet entirely
    key: str = ""               # given, forward, loss, backward, update, training
    questions_title: str = ""   # heading on the question sheet, when it differs


@dataclass
class ProblemDoc:
    id: str
    title: str
    statement: str  # LaTeX (escaped prose)
    parts: list[Part] = field(default_factory=list)
