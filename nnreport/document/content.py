"""What a document holds, independent of how the template lays it out.

A problem is a list of Parts (Given, Forward pass, ...); a part is a list of items: prose,
worked steps (steps.py, rendered by lines.py), given values, raw LaTeX (tables) and figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..render.matrices import Tex, text_width
from .lines import LINE_BUDGET_EM, align_body, blank_row
from .steps import Step


@dataclass
class Para:
    text: str  # already LaTeX
    kind: str = "para"


@dataclass
class Eqs:
    """Worked steps, one align* block; on the question sheet the asked ones become blanks."""

    steps: list[Step]
    kind: str = "eqs"

    def body(self) -> str:
        return align_body(self.steps)

    def blanks(self) -> str:
        asked = [s for s in self.steps if s.asked and s.result is not None]
        return " \\\\[1.5ex]\n  ".join(blank_row(s) for s in asked)


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
    """A numbered figure kept on one page with its caption: a drawn file (`path`) or TikZ
    source (`tikz`). `intro` is the sentence that refers to it, printed just before it, so
    a figure left out of the question sheet takes its reference with it."""

    path: str      # relative to the .tex ("" for TikZ)
    caption: str   # LaTeX
    width: str = r"0.7\linewidth"
    in_questions: bool = True
    label: str = ""
    intro: str = ""
    tikz: str = ""
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
