"""Steps -> rows of an align* environment, broken to stay inside the margins.

One step is `lhs &= formula = substitution = result`; right-hand sides are packed greedily,
and a side too wide for a row of its own is broken between its pieces, continuation rows
indented. Rows of one step are joined with `\\\\*` (no page break inside a step); steps are
separated with a breakable `\\\\[0.8ex]`, so a page breaks only between steps.
"""

from __future__ import annotations

import math
import re

import numpy as np

from ..render.matrices import MAX_ROWS, WIDTH_SAFETY, Tex, text_width, value
from .steps import Piece, Step, Val

LINE_BUDGET_EM = 40.0  # usable width of an align* line at 11pt on A4 with 2 cm margins (43.8em)


def piece_tex(p: Piece, factor: bool | int | None = None) -> Tex:
    """`factor`: a power decided for several matrices together; None: the value's own."""
    if isinstance(p, Tex):
        return p
    if isinstance(p, Val):
        return value(p.array, p.digits, factor=p.factor if factor is None else factor,
                     max_rows=p.rows or MAX_ROWS)
    return Tex(p, text_width(p) * WIDTH_SAFETY)


_SUM = ("+", "-")
_SPACE = ("", r"\,", r"\;", r"\ ")


def _matrix_val(p: Piece) -> bool:
    return isinstance(p, Val) and p.array.size > 1 and bool(np.all(np.isfinite(p.array)))


def _shared_factors(pieces: list[Piece]) -> tuple[dict[int, bool | int], dict[int, int]]:
    """Powers of ten decided for matrices together (issue 22.4): the terms of a sum share one
    10^k (or none), never three different ones; in a product of matrices written side by
    side, the factors move to its front as one 10^k. Returns each matrix's factor argument
    and, for a product, the power to print before its first matrix."""
    from ..render.numbers import common_exponent

    factor: dict[int, bool | int] = {}
    front: dict[int, int] = {}
    k = 0
    while k < len(pieces):
        if not _matrix_val(pieces[k]):
            k += 1
            continue
        sep = {str(x).strip() for x in pieces[k + 1:k + 2] if isinstance(x, str)}
        group, j = [k], k
        kind = "sum" if sep & set(_SUM) else "product" if sep & set(_SPACE) else ""
        while kind and j + 2 < len(pieces) and isinstance(pieces[j + 1], str) and \
                (str(pieces[j + 1]).strip() in (_SUM if kind == "sum" else _SPACE)) and \
                _matrix_val(pieces[j + 2]):
            j += 2
            group.append(j)
        if len(group) > 1:
            vals = [pieces[i] for i in group]
            own = {_own(v) for v in vals}  # type: ignore[arg-type]
            if kind == "sum":
                shared = common_exponent([float(x) for v in vals for x in v.array.ravel()],  # type: ignore[union-attr]
                                         vals[0].digits)  # type: ignore[union-attr]
                if len(own) == 1 and "auto" not in own:  # terms of one quantity: its power
                    shared = own.pop()  # type: ignore[assignment]
                for i in group:
                    factor[i] = shared if shared is not None else False
            else:
                powers: list[int | None] = []
                for v in vals:
                    o = _own(v)  # type: ignore[arg-type]
                    powers.append(common_exponent([float(x) for x in v.array.ravel()], v.digits)  # type: ignore[union-attr]
                                  if o == "auto" else o if isinstance(o, int) else None)
                for i in group:
                    factor[i] = False
                if any(p is not None for p in powers):
                    front[group[0]] = sum(p or 0 for p in powers)
                    for i, p in zip(group, powers, strict=True):
                        factor[i] = p if p is not None else False
        k = j + 1
    return factor, front


def _own(v: Val) -> str | int | None:
    """A value's power decided for its quantity (None: no factor), or 'auto' when its
    entries decide."""
    return "auto" if v.factor is True else (None if v.factor is False else int(v.factor))


def applied(template: str, v: Val) -> Tex:
    """A function applied to a value, f([Z]), as one piece (the format string has one {})."""
    t = piece_tex(v)
    empty = template.format("")
    return Tex(template.format(t.tex), t.width + text_width(empty) + 0.6)


def side(pieces: list[Piece]) -> list[Tex]:
    """Render one right-hand side. A negative number after another factor or an operator is
    put in parentheses, so [0.9991; 0.9991] (-0.04755) never reads as a subtraction."""
    out: list[Tex] = []
    factor, front = _shared_factors(pieces)
    for i, p in enumerate(pieces):
        t = piece_tex(p, factor.get(i))
        if i in front:  # a product's powers of ten, gathered at its front: 10^k [x][dz]
            t = _unscaled(t)
            t = Tex(f"10^{{{front[i]}}} {t.tex}" if front[i] else t.tex, t.width + 1.8)
        elif i in factor and any(j in front for j in range(i)) and _in_product(i, front,
                                                                             factor):
            t = _unscaled(t)
        opened = not out or out[-1].tex.rstrip().endswith(("(", "[", "{"))
        if isinstance(p, Val) and t.tex.startswith("-") and not opened:
            if out[-1].tex.strip() in ("+", "-") and p.array.size == 1:  # a + -b: a - b
                sign = "-" if out[-1].tex.strip() == "+" else "+"
                out[-1] = Tex(sign, out[-1].width)
                t = Tex(t.tex[1:], t.width - 0.8)
            else:
                t = Tex(rf"\left({t.tex}\right)", t.width + 0.6)
        out.append(t)
    return out


def _unscaled(t: Tex) -> Tex:
    """A matrix rendered with a forced power, the power itself dropped (it moved to the
    product's front)."""
    m = re.match(r"10\^\{-?\d+\} ", t.tex)
    return Tex(t.tex[m.end():], t.width - 1.8) if m else t


def _in_product(i: int, front: dict[int, int], factor: dict[int, bool | int]) -> bool:
    """Whether matrix i belongs to a product whose powers went to its front."""
    start = max(j for j in front if j < i)
    return all(j in factor for j in range(start, i + 1, 2))


def sides(step: Step) -> list[list[Tex]]:
    out: list[list[Tex]] = []
    if step.formula:
        out.append([Tex(step.formula, text_width(step.formula))])
    if step.subst:
        out.append(side(step.subst))
    out += [side(more) for more in step.more]
    if step.result is not None:
        out.append([piece_tex(step.result)])
    return out


def shape_tag(step: Step) -> str:
    if not step.shape or step.result is None:
        return ""
    a = step.result.array
    dims = a.shape if a.ndim == 2 else (1, a.size) if a.ndim == 1 else (1, 1)
    return rf"{dims[0]} \times {dims[1]}"


def show_points(x: float) -> str:
    """3, 2.5, 1.33: points as a teacher writes them."""
    if math.isclose(x, round(x)):
        return str(int(round(x)))
    return f"{x:.2f}".rstrip("0").rstrip(".")


def points_tag(step: Step) -> str:
    if step.points is None:
        return ""
    p = show_points(step.points)
    return rf"[{p}\,\text{{{'pt' if p == '1' else 'pts'}}}]"


def _tag(*parts: str) -> str:
    body = r" \quad ".join(p for p in parts if p)
    return rf" \tag*{{\footnotesize\color{{black!70}}${body}$}}" if body else ""


OPERATORS = ("+", "-", "=", r"\cdot", r"\odot", r"\oslash", r"\times")
CONTINUE = r"&\qquad "  # a broken side's next line, indented past the '=' it continues
_CLOSE = re.compile(r"\s*(\\right)?[)\]]")
_LEFT = re.compile(r"\\left(?![a-zA-Z])")
_RIGHT = re.compile(r"\\right(?![a-zA-Z])")


def _balanced(rows: list[str]) -> list[str]:
    """Close every \\left a row leaves open with \\right. and reopen it with \\left. on the next
    row, so a bracket may span a line break (TeX needs each row balanced)."""
    out, carry = [], 0
    for r in rows:
        opened = carry + len(_LEFT.findall(r)) - len(_RIGHT.findall(r))
        body = r
        if carry:
            head, sep, tail = r.partition("&")
            lead = r"\left. " * carry
            space = re.match(r"\s*(\\q?quad\s*)?", tail).group(0)  # type: ignore[union-attr]
            body = head + sep + ((space or r"\quad ") + lead + tail[len(space):] if sep
                                 else lead + r)
        out.append(body + r" \right." * max(opened, 0))
        carry = max(opened, 0)
    return out


def rows(step: Step, budget: float = LINE_BUDGET_EM) -> list[str]:
    """The align* rows of one step: whole sides packed greedily ('lhs &= a = b'); a side too
    wide for a row of its own is broken between its pieces, continuation rows indented."""
    lhs_w = text_width(step.lhs) + 1.0
    out: list[str] = []
    cur: list[str] = []
    width = lhs_w

    def lead(k: int) -> str:
        return f"{step.lhs} &= " if k == 0 else "&= "

    for pieces in sides(step):
        w = sum(p.width for p in pieces) + 1.2
        if cur and width + w > budget:
            out.append(lead(len(out)) + " = ".join(cur))
            cur, width = [], lhs_w
        if width + w <= budget or len(pieces) == 1:
            cur.append(" ".join(p.tex for p in pieces))
            width += w
            continue
        chunk: list[Tex] = []
        cw, first = width, True
        for piece in pieces:
            # never a closing bracket alone at a line's start; a line breaks before an
            # operator or an opening bracket (the next line starts "+ ..."), as printed math does
            if chunk and cw + piece.width > budget and not _CLOSE.match(piece.tex):
                carry: list[Tex] = []
                while len(chunk) > 1 and (chunk[-1].tex.strip() in OPERATORS
                                          or chunk[-1].tex.rstrip().endswith("(")):
                    carry.insert(0, chunk.pop())
                out.append((lead(len(out)) if first else CONTINUE) + " ".join(t.tex for t in chunk))
                first, chunk = False, carry
                cw = lhs_w + 3.0 + sum(t.width for t in carry)
            chunk.append(piece)
            cw += piece.width
        out.append((lead(len(out)) if first else CONTINUE) + " ".join(t.tex for t in chunk))
        cur, width = [], lhs_w
    if cur:
        out.append(lead(len(out)) + " = ".join(cur))
    if not out:
        out.append(f"{step.lhs} &")
    out = _balanced(out)
    out[-1] += _tag(shape_tag(step), points_tag(step))
    if step.chain is not None:  # rounding: chain — the value a rounded chain of steps gives
        out.append(r"&\quad \text{rounded chain: } {" + piece_tex(step.chain).tex + "}")  # {-3.6}:
        # a sign, not a binary minus after the text
    return out


# An answer box depends only on the question (the value's shape and the digits asked for),
# never on the answer: the same in every version, and no wider for a larger number. Sized for
# handwriting: ENTRY_EM (~2.7 cm at 11 pt) for a sign, five digits and a point, less when
# many columns share a line, never under ENTRY_MIN_EM (~1.9 cm); ENTRY_HEIGHT_EM (~7 mm).
ENTRY_EM = 7.0
ENTRY_MIN_EM = 5.0
ENTRY_HEIGHT_EM = 1.8


def entry_em(columns: int, digits: int) -> float:
    """The width of one entry's box, from the number of columns and the digits asked for."""
    want = max(ENTRY_EM, 0.9 * (digits + 4))
    fit = (LINE_BUDGET_EM - 8.0) / max(columns, 1) / WIDTH_SAFETY - 1.6  # box padding, colsep
    return round(max(ENTRY_MIN_EM, min(want, fit)), 1)


def blank(step: Step) -> Tex:
    """The empty answer box of a step: a box per entry (a matrix of boxes), each sized by
    `entry_em` from the question alone."""
    if step.result is None:
        return Tex("", 0.0)
    a, d = step.result.array, step.result.digits
    shape = a.shape if a.ndim else (1, 1)
    em = entry_em(shape[-1] if len(shape) == 2 else (1 if step.result.column else shape[0]), d)
    if a.size == 1:
        return Tex(rf"\boxed{{\rule{{0pt}}{{{ENTRY_HEIGHT_EM}em}}\hspace{{{em:.1f}em}}}}",
                   em + 1.5)
    return value(np.zeros(shape), blank=True, blank_em=em)


def blank_row(step: Step) -> str:
    """A labelled box; one that earns no points says so (the working toward a graded value)."""
    return f"{step.lhs} &= {blank(step).tex}" + _tag(points_tag(step) or r"\text{not graded}")


def align_body(steps: list[Step], budget: float = LINE_BUDGET_EM) -> str:
    """The body of one align*: steps separated by breakable gaps, notes as \\intertext."""
    parts = []
    for k, st in enumerate(steps):
        head = ""
        if st.note:
            head = rf"\shortintertext{{\footnotesize\color{{black!70}} {st.note}}}" + "\n  "
        parts.append(head + " \\\\*\n  ".join(rows(st, budget)))
        if k < len(steps) - 1:  # no page break before a closing line (accuracy = 96.7%)
            parts.append(" \\\\*[0.8ex]\n  " if steps[k + 1].keep else " \\\\[0.8ex]\n  ")
    return "  " + "".join(parts)
