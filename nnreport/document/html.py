"""The same documents as HTML: one self-contained page per document kind, read from the same
ProblemDocs (worked steps, values, tables, figures) the .tex is made of, never re-derived.

Prose and generated sentences are LaTeX text; they are walked with pylatexenc and written as
HTML (text escaped; \\textbf, \\emph, \\texttt, lists kept). Every formula is collected as
LaTeX with a marker in its place; the compile stage renders them all with KaTeX in one run and
puts them in (compile/html.py), so a formula that cannot be rendered is a build error.
"""

from __future__ import annotations

import html
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

import jinja2
from markupsafe import Markup
from pylatexenc.latex2text import LatexNodes2Text
from pylatexenc.latexwalker import (
    LatexCharsNode,
    LatexCommentNode,
    LatexEnvironmentNode,
    LatexGroupNode,
    LatexMacroNode,
    LatexMathNode,
    LatexWalker,
)

from .content import Eqs, Figure, ProblemDoc, Table, Values
from .lines import blank_row, piece_tex, points_tag, rows, shape_tag, show_points
from .tables import full_value
from .tex import (
    KIND_LABEL,
    code_listings,
    fit_notation,
    front_matter,
    notation,
    problem_docs,
    strings_of,
)

_TEXT = LatexNodes2Text(math_mode="verbatim")
_TAGS = {"textbf": "strong", "emph": "em", "textit": "em", "texttt": "code", "textsc": "span"}
_SPACES = {",": " ", ";": " ", " ": " ", "quad": "\u2003", "qquad": "\u2003\u2003", "\\": "<br>"}


@dataclass
class Page:
    """A page being written: the HTML with a marker where each formula goes."""

    nonce: str = field(default_factory=lambda: secrets.token_hex(6))
    formulas: list[tuple[str, bool]] = field(default_factory=list)

    def math(self, tex: str, display: bool = False) -> Markup:
        self.formulas.append((tex, display))
        return Markup(f"\u27e6{self.nonce}:{len(self.formulas) - 1}\u27e7")

    def pattern(self) -> re.Pattern[str]:
        return re.compile(f"\u27e6{self.nonce}:(\\d+)\u27e7")

    # ---- LaTeX text -> HTML ------------------------------------------------------------------

    def text(self, latex: str) -> Markup:
        """Inline LaTeX text (no paragraphs) as HTML."""
        nodes = LatexWalker(latex, tolerant_parsing=False).get_latex_nodes()[0]
        return Markup("".join(self._nodes(nodes)))

    def prose(self, latex: str) -> Markup:
        """LaTeX text with blank lines between paragraphs and itemize/enumerate lists."""
        out = []
        for chunk in _paragraphs(latex.strip()):
            body = self.text(chunk)
            block = chunk.lstrip().startswith(("\\begin{itemize}", "\\begin{enumerate}", "\\["))
            out.append(str(body) if block else f"<p>{body}</p>")
        return Markup("\n".join(out))

    def _nodes(self, nodes: list[Any] | None) -> list[str]:
        return [self._node(n) for n in (nodes or [])]

    def _node(self, n: Any) -> str:
        if isinstance(n, LatexCharsNode):
            return html.escape(_TEXT.nodelist_to_text([n]))
        if isinstance(n, LatexMathNode):
            inner = "".join(c.latex_verbatim() for c in n.nodelist)
            return str(self.math(inner.strip(), n.displaytype == "display"))
        if isinstance(n, LatexGroupNode):
            return "".join(self._nodes(n.nodelist))
        if isinstance(n, LatexCommentNode):
            return ""
        if isinstance(n, LatexEnvironmentNode) and n.environmentname in ("itemize", "enumerate"):
            tag = "ul" if n.environmentname == "itemize" else "ol"
            items: list[list[str]] = []
            for c in n.nodelist:
                if isinstance(c, LatexMacroNode) and c.macroname == "item":
                    items.append([])
                elif items:
                    items[-1].append(self._node(c))
            lis = "".join(f"<li>{''.join(i).strip()}</li>" for i in items)
            return f"<{tag}>{lis}</{tag}>"
        if isinstance(n, LatexMacroNode):
            name = n.macroname
            args = [a for a in (n.nodeargd.argnlist if n.nodeargd else []) if a is not None]
            if name in _TAGS and args:
                inner = "".join(self._node(a) for a in args)
                return f"<{_TAGS[name]}>{inner}</{_TAGS[name]}>"
            if name in _SPACES:
                return _SPACES[name]
            if name in ("label", "item"):
                return ""
        return html.escape(_TEXT.nodelist_to_text([n]))

    # ---- worked steps, values, tables ---------------------------------------------------------

    def steps(self, eqs: Eqs, questions: bool) -> Markup:
        questions = questions and not eqs.whole  # given values as maps: shown whole
        out = []
        for st in eqs.steps:
            if questions and not (st.asked and st.result is not None):
                continue
            note = f'<p class="note">{self.text(st.note)}</p>' if st.note and not questions else ""
            if questions:
                body = blank_row(st).split(r" \tag*")[0].replace("&=", "=", 1)
                tags = points_tag(st)
            else:
                # the tags go beside the step; the row that carries them need not be the last
                # (a "rounded chain" row follows it)
                lines = [line.split(r" \tag*")[0] for line in rows(st)]
                body = r"\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}"
                tags = r" \quad ".join(t for t in (shape_tag(st), points_tag(st)) if t)
            side = f'<span class="tag">{self.math(tags)}</span>' if tags else ""
            out.append(f'{note}<div class="step">{self.math(body, True)}{side}</div>')
        return Markup("\n".join(out))

    def values(self, v: Values, questions: bool) -> Markup:
        out = []
        for name, val in v.pairs:
            whole = full_value(val) if questions else None
            if questions and whole is None:
                out.append(self.data_table(name, val.array, val.digits))
                continue
            tex = whole.tex if whole is not None else piece_tex(val).tex
            out.append(f'<div class="value">{self.math(f"{name} = {tex}", True)}</div>')
        return Markup('<div class="values">' + "\n".join(out) + "</div>")

    def data_table(self, name: str, a: Any, digits: int) -> str:
        from ..render.numbers import fmt

        a = a.reshape(1, -1) if a.ndim < 2 else a
        head = "".join(f"<th>{j + 1}</th>" for j in range(a.shape[1]))
        body = "".join("<tr><th>" + str(i + 1) + "</th>" + "".join(
            f"<td>{self.math(fmt(float(x), digits))}</td>" for x in row) + "</tr>"
            for i, row in enumerate(a))
        return (f'<table class="data"><caption>The given {self.math(name)}, every entry.'
                f"</caption><thead><tr><th>row</th>{head}</tr></thead><tbody>{body}</tbody></table>")

    def table(self, t: Table) -> Markup:
        align = {"l": "left", "c": "center", "r": "right"}

        def row(cells: list[str], tag: str = "td") -> str:
            return "<tr>" + "".join(f'<{tag} style="text-align:{align[a]}">{self.text(c)}</{tag}>'
                                    for c, a in zip(cells, t.align, strict=False)) + "</tr>"

        foot = f"<tfoot>{row(t.total)}</tfoot>" if t.total else ""
        head = f"<p>{self.text(t.heading)}</p>" if t.heading else ""
        return Markup(f"{head}<table><thead>{row(t.header, 'th')}</thead><tbody>"
                      + "".join(row(r) for r in t.rows) + f"</tbody>{foot}</table>")


def _paragraphs(latex: str) -> list[str]:
    """Split at blank lines that are not inside an environment (a list item's second
    paragraph, a nested list)."""
    out: list[str] = []
    cur: list[str] = []
    depth = 0
    for piece in re.split(r"(\n\s*\n)", latex):
        if re.fullmatch(r"\n\s*\n", piece) and depth == 0:
            out.append("".join(cur))
            cur = []
            continue
        cur.append(piece)
        depth += len(re.findall(r"\\begin\{", piece)) - len(re.findall(r"\\end\{", piece))
    out.append("".join(cur))
    return [c for c in out if c.strip()]


def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("nnreport", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    return env


def _number_figures(problems: list[ProblemDoc]) -> dict[str, str]:
    numbers: dict[str, str] = {}
    for p in problems:
        for part in p.parts:
            for item in part.items:
                if isinstance(item, Figure) and item.label:
                    numbers[item.label] = str(len(numbers) + 1)
    return numbers


def render_html(doc: Any, solutions: dict[str, Any], kind: str, figures: dict[str, Any],
                images: dict[str, str], variant: str = "") -> tuple[str, Page]:
    """The page (with formula markers) and its formulas. `images` maps a figure's path to
    the data: URI of its SVG."""
    spec = doc.spec
    page = Page()
    problems = problem_docs(doc, solutions, figures)
    numbers = _number_figures(problems)

    def refs(latex: str) -> str:
        return re.sub(r"\\ref\{([^}]*)\}", lambda m: numbers.get(m.group(1), "??"), latex)

    def prose(latex: str) -> Markup:
        return page.prose(refs(latex))

    instructions, sections = front_matter(doc, solutions, prose)
    text = environment().get_template("page.html.j2").render(
        page=page, prose=prose, text=lambda s: page.text(refs(s)), numbers=numbers,
        images=images, title=spec.title, course=spec.course, author=spec.author,
        date=spec.date, instructions=instructions, kind_label=KIND_LABEL[kind], variant=variant,
        mode=kind,
        notation=prose(fit_notation(notation(doc), "\n".join(strings_of(problems)))),
        problems=problems, sections=sections,
        name_line=spec.name_line, total_points=show_points(sum(p.points for p in problems)),
        code=code_listings(doc))
    return text, page
