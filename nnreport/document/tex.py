"""Jinja2 -> .tex. LaTeX-friendly delimiters, StrictUndefined, and a finalize that escapes
every value unless it was marked as LaTeX (`|latex`), so prose from YAML can never break
out of its text while generated math passes unchanged."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import jinja2

from ..engine.solution import ExpressionSolution, NetworkSolution
from ..render import formulas as F
from ..spec.setups import Document, NetworkSetup
from . import marking, placeholders
from .content import Part, ProblemDoc
from .escape import escape, prose
from .expression import expression_parts
from .lines import show_points
from .worked import network_parts

KIND_LABEL = {"key": "Answer key", "questions": "Questions", "report": "Report"}


class LaTeX(str):
    """A string that is already LaTeX and must not be escaped."""


def _finalize(v: Any) -> str:
    if isinstance(v, LaTeX):
        return str(v)
    if v is None:
        return ""
    return escape(str(v))


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("nnreport", "templates"),  # package data: works installed
        block_start_string="((*", block_end_string="*))",
        variable_start_string="(((", variable_end_string=")))",
        comment_start_string="((=", comment_end_string="=))",
        undefined=jinja2.StrictUndefined, finalize=_finalize,
        trim_blocks=True, lstrip_blocks=True, autoescape=False, keep_trailing_newline=True,
    )
    env.filters["latex"] = lambda s: LaTeX(s)
    return env


def problem_docs(doc: Document, solutions: dict[str, Any],
                 figures: dict[str, Any] | None = None) -> list[ProblemDoc]:
    out = []
    values = placeholders.scalars(doc, solutions)
    for setup in doc.problems:
        sol = solutions[setup.id]
        if isinstance(sol, NetworkSolution):
            parts = network_parts(sol, doc.spec.document == "report")
        else:
            assert isinstance(sol, ExpressionSolution)
            parts = expression_parts(sol)
        for key, items in (figures or {}).get(setup.id, {}).items():
            if not items:
                continue
            target = next((p for p in parts if p.key == key), None)
            if target is None:  # e.g. training not shown: figures go in a part of their own
                target = Part("Figures", key=key)
                parts.append(target)
            if key == "given":  # diagrams and data right after the table, before the values
                target.items[1:1] = items
                continue
            for item in items:  # a figure above the table it belongs to, or at the end
                at = next((k for k, t in enumerate(target.items)
                           if getattr(item, "before", "") and getattr(t, "label", "") == item.before),
                          len(target.items))
                target.items.insert(at, item)
        points = marking.apply(setup, parts)
        marking.mark_chain(sol, parts)
        text = prose(placeholders.fill(setup.text, values, setup.digits)) if setup.text else marking.task_text(
            setup, marking.graded(setup, parts), parts)
        out.append(ProblemDoc(setup.id, setup.title or setup.id, text, parts, points,
                              setup.marking.scaffold, marking.space(setup)))
    return out


def notation(doc: Document) -> str:
    """What the symbols of a network's worked solution mean, said once per document."""
    nets = [p for p in doc.problems if isinstance(p, NetworkSetup)]
    if not nets:
        return chain_note(doc).strip()
    layouts = {p.layout for p in nets}
    rows = ("rows (columns in the columns layout)" if len(layouts) > 1 else
            "rows" if layouts == {"rows"} else "columns")
    return (r"\textbf{Notation.} Subscripts number the layers ($W_1$, $Z_2$) and a superscript "
            r"$(i)$ the sample, except a loss's: $L_i$ is the loss of sample $i$ (so "
            r"$\partial L_i / \partial W$ is that sample's gradient) and $L$ the loss of the batch. "
            r"$dW$ is $\partial L / \partial W$, the gradient of the batch loss with respect to "
            rf"$W$, a matrix of $W$'s shape; the {rows} of $dZ$ are the samples' "
            r"$dz^{(i)} = \partial L_i / \partial z^{(i)}$. $\odot$ and $\oslash$ multiply and "
            + ONES + course_letters(nets) + chain_note(doc))


FAMILY_TEX = {"dtheta": r"d\theta", "theta": r"\theta", "delta": r"\delta"}


def course_letters(nets: list[NetworkSetup]) -> str:
    """With `symbols:`, which of the course's letters stand for which of the names above."""
    said = []
    for p in nets:
        if p.symbols:
            pairs = ", ".join(f"${F.symbol(v)}$ for ${FAMILY_TEX.get(k, k)}$"
                              for k, v in p.symbols.items())
            said.append((p.id, pairs))
    if not said:
        return ""
    if len(said) == len(nets) and len({x for _, x in said}) == 1:
        return f" This document writes {said[0][1]}."
    return "".join(f" Problem {escape(pid)} writes {x}." for pid, x in said)


ONES = r"divide entry by entry; $\mathbf{1}$ is a vector of ones."


def strings_of(x: Any, depth: int = 0) -> list[str]:
    """Every string held by a document's parts, steps and pieces (their TeX), for the
    Notation paragraph's choice when there is no .tex to read (the HTML page)."""
    if isinstance(x, str):
        return [x]
    if depth > 12:
        return []
    if isinstance(x, (list, tuple)):
        return [t for y in x for t in strings_of(y, depth + 1)]
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return [t for f in dataclasses.fields(x) for t in strings_of(getattr(x, f.name), depth + 1)]
    return []


def fit_notation(tex: str, body: str | None = None) -> str:
    """The Notation paragraph says what the document uses (issue 22.8): the vector of ones
    only where a line writes one (E 1, Y 1), the indicator 1[.] where ReLU' uses it, and that
    log is the natural logarithm where a line takes one. `body`: the document's TeX when
    `tex` is the paragraph alone."""
    if ONES not in tex:
        return tex
    body = tex.replace(ONES, "") if body is None else body
    said = []
    if re.search(r"\\mathbf\{1\}(?!\\left\[)", body):
        said.append(r"$\mathbf{1}$ is a vector of ones")
    if r"\mathbf{1}\left[" in body:
        said.append(r"$\mathbf{1}[\cdot]$ is 1 where its condition holds and 0 elsewhere")
    if re.search(r"\\log(?![a-zA-Z])", body):
        said.append(r"$\log$ is the natural logarithm")
    return tex.replace(ONES, "divide entry by entry" + "".join("; " + s for s in said) + ".")


def chain_note(doc: Document) -> str:
    if not any(getattr(p, "rounding", "full") == "chain" for p in doc.problems):
        return ""
    return (r" \textbf{Rounding.} This exam expects every intermediate value rounded half-up "
            r"to the digits shown before it is used; where that changes a printed value, the "
            r"key shows the \emph{rounded chain} value under the full-precision one, and both "
            r"are accepted.")


_LABEL = re.compile(r"\\(captionof\{figure\}|caption)\{|\\label\{([^}]*)\}")


def resolve_refs(tex: str) -> str:
    """Number figures and tables here and write the numbers in, so one TeX pass is enough
    (LaTeX's \\ref needs a second): every `\\label` after a figure caption takes the next
    figure number, after a (longtable) caption the next table number; each counter is set
    before its caption so LaTeX prints the same number."""
    numbers: dict[str, str] = {}
    counts = {"figure": 0, "table": 0}
    pending = ""
    for m in _LABEL.finditer(tex):
        if m.group(1):
            pending = "figure" if "figure" in m.group(1) else "table"
            counts[pending] += 1
        elif pending:
            numbers[m.group(2)] = str(counts[pending])
            pending = ""

    def ref(m: re.Match[str]) -> str:
        return numbers.get(m.group(1), "??")

    return re.sub(r"\\ref\{([^}]*)\}", ref, tex)


def code_listings(doc: Document) -> list[tuple[str, str]]:
    """(problem title, NumPy script) of each network problem, for a report's code appendix."""
    if "code" not in doc.spec.appendix or doc.spec.document != "report":
        return []
    from ..render.code import script

    out = []
    for setup in doc.problems:
        if isinstance(setup, NetworkSetup):
            raw = next(p for p in doc.spec.problems if p.id == setup.id)
            try:
                name = Path(doc.file).name  # printed verbatim: only plain file names
                name = name if re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", name) else "the spec"
                out.append((setup.title or setup.id, script(setup, raw.data, name, raw.split)))
            except ValueError:
                continue
    return out


def front_matter(doc: Document, solutions: dict[str, Any],
                 wrap: Any) -> tuple[Any, list[Any]]:
    """The instructions and the report sections with their placeholders filled, as LaTeX
    passed through wrap (the PDF marks it safe; the HTML page turns it into HTML); a section
    list always holds "results", where the problems go."""
    spec = doc.spec
    values = placeholders.scalars(doc, solutions)

    def text(t: str) -> Any:
        return wrap(prose(placeholders.fill(t, values, spec.digits)))

    sections = [s if s == "results" else {"title": s.title, "text": text(s.text)}
                for s in spec.sections] or ["results"]
    if "results" not in sections:
        sections.append("results")
    return (text(spec.instructions) if spec.instructions else ""), sections


def render(doc: Document, solutions: dict[str, Any], kind: str,
           figures: dict[str, Any] | None = None, variant: str = "",
           page_total: int | None = None) -> str:
    """The .tex source of one document: kind is key, questions or report; `page_total`, when
    known, is printed in the footer (else TeX's second pass finds it)."""
    spec = doc.spec
    env = environment()
    name = "report.tex.j2" if kind == "report" else "exam.tex.j2"
    instructions, sections = front_matter(doc, solutions, LaTeX)
    problems = problem_docs(doc, solutions, figures)
    return fit_notation(resolve_refs(env.get_template(name).render(
        title=spec.title, course=spec.course, author=spec.author, date=spec.date,
        instructions=instructions,
        kind_label=KIND_LABEL[kind], variant=variant, mode=kind, notation=LaTeX(notation(doc)),
        page_total=page_total,
        problems=problems, sections=sections, name_line=spec.name_line,
        code=code_listings(doc),
        total_points=show_points(sum(p.points for p in problems)),
    )))
