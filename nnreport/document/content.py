"""What a document holds, independent of how the template lays it out.

A problem is a list of Parts (Given, Forward pass, ...); a part is a list of items: prose,
worked steps (steps.py, rendered by lines.py), given values, raw LaTeX (tables) and figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..render.matrices import Tex, text_width
from .lines import LINE_BUDGET_EM, align_body, blank_row, piece_tex
from .steps import Step, Val
from .tables import data_table, full_value, table_label


@dataclass
class Para:
    text: str  # already LaTeX
    kind: str = "para"


@dataclass
class Eqs:
    """Worked steps, one align* block; on the question sheet the asked ones become blanks."""

    steps: list[Step]
    kind: str = "eqs"
    whole: bool = False  # shown whole on the question sheet too (given values as maps)

    def body(self) -> str:
        return align_body(self.steps)

    def blanks(self) -> str:
        asked = [s for s in self.steps if s.asked and s.result is not None]
        # a short group of boxes stays on one page (no box left alone at a page's top)
        gap = " \\\\*[1.5ex]\n  " if len(asked) <= 4 else " \\\\[1.5ex]\n  "
        return gap.join(blank_row(s) for s in asked)


@dataclass
class Values:
    """Given values 'name = matrix', packed several to a row in a gather*. The key may elide a
    large matrix to its corners; the question sheet never hides given data: a matrix too wide
    or too long for the page goes into a numbered data table (tables.py) instead."""

    pairs: list[tuple[str, Val]]
    label: str = ""  # the problem id, for table labels
    kind: str = "values"
    in_questions: bool = True  # False: the key's own (a later worked step's start values)

    def rows(self, budget: float = LINE_BUDGET_EM, full: bool = False) -> list[str]:
        out: list[list[str]] = [[]]
        width = 0.0
        for name, val in self.pairs:
            tex = full_value(val) if full else piece_tex(val)
            if tex is None:  # too large to show whole: it is in a data table
                tex = Tex(rf"\text{{(Table~\ref{{{table_label(self, name)}}})}}", 6.0)
            w = tex.width + text_width(name) + 3.0
            if out[-1] and width + w > budget:
                out.append([])
                width = 0.0
            out[-1].append(f"{name} = {tex.tex}")
            width += w
        return [r" \qquad ".join(r) for r in out if r]

    def tables(self) -> str:
        """The data tables of the values too large to show whole (question sheets)."""
        return "\n".join(data_table(val, name, table_label(self, name))
                         for name, val in self.pairs if full_value(val) is None)


@dataclass
class Raw:
    tex: str
    in_questions: bool = True
    kind: str = "raw"


@dataclass
class Table:
    """A booktabs table as data: a header row, body rows and an optional total row; cells
    are LaTeX text (math in $...$). The PDF and the HTML page both render it from here."""

    header: list[str]
    rows: list[list[str]]
    align: str                       # one of l, c, r per column
    total: list[str] | None = None   # a last row after a rule
    in_questions: bool = True
    label: str = ""                  # figures with `before` = this label go just above it
    heading: str = ""                # a run-in heading kept on the table's page (LaTeX text)
    kind: str = "table"

    def latex(self) -> str:
        from pylatex import NoEscape, Tabular

        t = Tabular(self.align, booktabs=True)
        t.add_row([NoEscape(c) for c in self.header])
        t.add_hline()
        for r in self.rows:
            t.add_row([NoEscape(c) for c in r])
        if self.total is not None:
            t.add_hline()
            t.add_row([NoEscape(c) for c in self.total])
        body = "\\begin{center}\n" + t.dumps() + "\n\\end{center}"
        if not self.heading:
            return body
        # the heading and its table in one box: never a heading alone at a page's foot
        return ("\\par\\noindent\\begin{minipage}{\\linewidth}\n" + self.heading + "\n"
                + body + "\n\\end{minipage}\\par\\medskip")


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
    before: str = ""  # the label of a table in the same part to stand above
    kind: str = "figure"


Item = Para | Eqs | Values | Raw | Table | Figure


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
    points: float = 0.0         # what the graded values are worth together
    scaffold: str = "full"      # how much of the solution's structure the question sheet shows
    space: str = "1.5cm"        # room to write after each part of the question sheet

    @property
    def points_text(self) -> str:
        from .lines import show_points

        p = show_points(self.points)
        return f"{p} point" + ("" if p == "1" else "s")
