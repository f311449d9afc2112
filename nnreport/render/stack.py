"""A network of configured layers (conv, pool, flatten, batchnorm, dropout, rnn, attention)
as a TikZ picture of what flows through it, one sample's values at each layer (issue 25): a
stack of feature maps [C, h, w] as C offset slabs, the front one ruled into its h x w cells
when they are few; a sequence [steps, features] as its steps' vectors side by side; a vector
[n] (a flattened map, a dense layer's units) as a column of boxes. Under each stage its name
and shape (`H_{1}`, 8 x 26 x 26), on the arrow between two stages the layer that makes the
second (conv 3 x 3, stride 1, ReLU).

Large values collapse so the picture stays readable and inside the text width: more than
MAX_SLABS maps draw the first ones, dots and the last; more than MAX_CELLS steps, features or
units draw the first ones, dots and the last; a map is ruled into cells only up to GRID_UP_TO
a side. A chain wider than WIDTH_CM continues on a further row (the arrow turns down and
comes back at the left), so a deep network never runs into the margin.

Lengths are centimetres; text is \\scriptsize, its width estimated as labels.label_size does.
Node names are stable so tests can read the picture back: stage i's label is `S{i}` (i = 0:
the input), the operation into stage i is `O{i}`."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .labels import LINE_CM, label_size

MAX_SLABS = 4      # more maps than this: the first MAX_SLABS - 1, dots, the last
MAX_CELLS = 6      # more steps (features, units) than this: the first 3, dots, the last
GRID_UP_TO = 8     # a map with a side longer than this is drawn without its cells
SLAB_OFFSET = 0.13  # each map behind the front one, up and to the right
CELL = 0.26        # a vector's or a sequence's box
STEP_GAP = 0.1     # between two steps of a sequence
WIDTH_CM = 15.6    # a row of the picture (the text width is 17 cm: room for the turns)
MIN_GAP = 0.9      # the least length of an arrow between two stages
LABEL_GAP = 0.12   # between a stage and its label


@dataclass(frozen=True)
class Stage:
    """One layer's output (or the input): its name (math) and feature shape, samples left
    out: (C, h, w) maps, (steps, features) a sequence, (n,) a vector."""

    name: str
    shape: tuple[int, ...]


def shape_tex(shape: tuple[int, ...]) -> str:
    return r" \times ".join(str(n) for n in shape)


def _side(n: int) -> float:
    """The drawn length of a map's side of n cells: grows with n, slower for large n (1: 0.45
    cm, 4: 1 cm, 28: 1.78 cm), so a map that shrinks from layer to layer looks smaller."""
    return min(2.0, 0.45 + 0.4 * math.log(n))


def _shown(n: int) -> list[int | None]:
    """The indices (1-based) drawn of n steps/units; None marks the dots."""
    return list(range(1, n + 1)) if n <= MAX_CELLS else [1, 2, 3, None, n]


def _size(shape: tuple[int, ...]) -> tuple[float, float]:
    """(width, height) of a stage's drawing."""
    if len(shape) == 3:
        C, h, w = shape
        depth = (min(C, MAX_SLABS) - 1 + (1 if C > MAX_SLABS else 0)) * SLAB_OFFSET
        return _side(w) + depth, _side(h) + depth
    if len(shape) == 2:
        T, F = shape
        cols = len(_shown(T))
        return cols * CELL + (cols - 1) * STEP_GAP, len(_shown(F)) * CELL
    return CELL, len(_shown(shape[0])) * CELL


def _maps(cx: float, cy: float, shape: tuple[int, ...]) -> list[str]:
    """Slabs back to front; the front one (map 1) ruled into its cells when they are few."""
    C, h, w = shape
    W, H = _size(shape)
    sw, sh = _side(w), _side(h)
    x0, y0 = cx - W / 2, cy - H / 2  # the front slab's lower left corner
    slots = list(range(C)) if C <= MAX_SLABS else [*range(MAX_SLABS - 1), MAX_SLABS]
    out = []
    for k in reversed(slots):
        x, y = x0 + k * SLAB_OFFSET, y0 + k * SLAB_OFFSET
        fill = "black!6" if k else "black!3"
        out.append(rf"  \draw[fill={fill}] ({x:.3f}, {y:.3f}) rectangle "
                   f"({x + sw:.3f}, {y + sh:.3f});")
        if k == MAX_SLABS:  # the maps left out: dots along the corner of the gap
            g = (MAX_SLABS - 1) * SLAB_OFFSET
            out += _dots(x0 + sw + g, y0 + sh + g, 1.0, 1.0, 0.45 * SLAB_OFFSET)
    if max(h, w) <= GRID_UP_TO and h * w > 1:
        lines = [((x0 + sw * j / w, y0), (x0 + sw * j / w, y0 + sh)) for j in range(1, w)] + \
                [((x0, y0 + sh * i / h), (x0 + sw, y0 + sh * i / h)) for i in range(1, h)]
        out.append(r"  \draw[black!45, thin] " + " ".join(
            f"({a:.3f}, {b:.3f}) -- ({c:.3f}, {d:.3f})" for (a, b), (c, d) in lines) + ";")
    return out


def _dots(x: float, y: float, ux: float, uy: float, step: float = 0.065) -> list[str]:
    """Three dots centred on (x, y) along the direction (ux, uy): what is left out."""
    return [rf"  \fill ({x + k * step * ux:.3f}, {y + k * step * uy:.3f}) circle (0.018);"
            for k in (-1, 0, 1)]


def _column(x: float, cy: float, n: int) -> list[str]:
    """n boxes one above the other centred on (x, cy), dots for the ones left out."""
    shown = _shown(n)
    top = cy + len(shown) * CELL / 2
    out = []
    for k, j in enumerate(shown):
        y = top - (k + 0.5) * CELL
        if j is None:
            out += _dots(x, y, 0.0, 1.0)
        else:
            out.append(rf"  \draw[fill=black!4] ({x - CELL / 2:.3f}, {y - CELL / 2:.3f}) "
                       f"rectangle ({x + CELL / 2:.3f}, {y + CELL / 2:.3f});")
    return out


def _draw(cx: float, cy: float, shape: tuple[int, ...]) -> list[str]:
    if len(shape) == 3:
        return _maps(cx, cy, shape)
    if len(shape) == 2:  # a sequence: one column (vector) per step
        T, F = shape
        W, _ = _size(shape)
        out = []
        for k, t in enumerate(_shown(T)):
            x = cx - W / 2 + CELL / 2 + k * (CELL + STEP_GAP)
            if t is None:
                out += _dots(x, cy, 1.0, 0.0)
            else:
                out += _column(x, cy, F)
        return out
    return _column(cx, cy, shape[0])


def _text_size(lines: list[str]) -> tuple[float, float]:
    """(width, height) of lines of math at \\scriptsize, one under the other."""
    if not lines:
        return 0.0, 0.0
    return max(label_size(t)[0] for t in lines), len(lines) * (LINE_CM + 0.04)


def _label(stage: Stage) -> list[str]:
    return [stage.name, shape_tex(stage.shape)]


@dataclass
class _Row:
    items: list[int]  # stage indices
    xs: list[float]   # their centres
    right: float      # the right edge of its last stage


def _rows(stages: list[Stage], ops: list[list[str]]) -> list[_Row]:
    """Stages placed left to right, each as close to the one before as its arrow's text
    (between the drawings) and the two labels (under them) allow; a stage that would pass
    WIDTH_CM starts a new row (its arrow comes in from the left edge)."""
    rows: list[_Row] = []
    row: _Row | None = None
    draw_right = label_right = 0.0
    for i, st in enumerate(stages):
        dw, lw = _size(st.shape)[0], _text_size(_label(st))[0]
        gap = 0.0 if i == 0 else max(MIN_GAP, _text_size(ops[i - 1])[0] + 0.15)
        cx = max(draw_right + gap + dw / 2, label_right + 0.3 + lw / 2) if i else max(dw, lw) / 2
        if row is not None and cx + max(dw, lw) / 2 > WIDTH_CM:
            rows.append(row)
            row = None
            cx = max(0.2 + gap + dw / 2, lw / 2)  # the turn's vertical runs at x = 0.1
        if row is None:
            row = _Row([], [], 0.0)
        row.items.append(i)
        row.xs.append(cx)
        draw_right = row.right = cx + dw / 2
        label_right = cx + lw / 2
    assert row is not None
    rows.append(row)
    return rows


def tikz_stack(stages: list[Stage], ops: list[list[str]]) -> str:
    """TikZ source. `stages` the input and every layer's output; `ops[i]` the lines (math)
    written on the arrow into stage i + 1 (conv 2 x 2, stride 1, ReLU)."""
    assert len(ops) == len(stages) - 1
    rows = _rows(stages, ops)
    lines = [r"\begin{tikzpicture}[x=1cm, y=1cm, >=stealth, line width=0.5pt]"]
    label_h = _text_size(["X", "1"])[1]
    y = 0.0
    prev: tuple[_Row, float, float] | None = None  # the row above, its centre, its bottom
    for row in rows:
        half = max(_size(stages[i].shape)[1] / 2 for i in row.items)
        above = max([half] + [0.1 + _text_size(ops[i - 1])[1] for i in row.items if i])
        if prev is not None:
            y = prev[2] - 0.35 - above
        for i, cx in zip(row.items, row.xs, strict=True):
            st = stages[i]
            w = _size(st.shape)[0]
            lines += _draw(cx, y, st.shape)
            name, shape = _label(st)
            lines.append(rf"  \node[font=\scriptsize, align=center, anchor=north, inner sep=1pt] "
                         rf"(S{i}) at ({cx:.3f}, {y - half - LABEL_GAP:.3f}) "
                         rf"{{$\vphantom{{\hat{{Y}}}}{name}$\\ ${shape}$}};")
            if i == 0:
                continue
            k = row.items.index(i)
            if k:  # from the stage before in this row
                start = row.xs[k - 1] + _size(stages[i - 1].shape)[0] / 2 + 0.08
                lines.append(rf"  \draw[->] ({start:.3f}, {y:.3f}) -- "
                             f"({cx - w / 2 - 0.08:.3f}, {y:.3f});")
            else:  # from the end of the row above: right, down, back left, in
                assert prev is not None
                up, uy, bottom = prev
                turn = bottom - 0.18
                start = 0.1
                lines.append(rf"  \draw[->] ({up.right + 0.08:.3f}, {uy:.3f}) -- "
                             f"({up.right + 0.3:.3f}, {uy:.3f}) -- ({up.right + 0.3:.3f}, "
                             f"{turn:.3f}) -- (0.1, {turn:.3f}) -- (0.1, {y:.3f}) -- "
                             f"({cx - w / 2 - 0.08:.3f}, {y:.3f});")
            mid = (start + cx - w / 2) / 2
            text = r"\\ ".join(f"${t}$" for t in ops[i - 1])
            lines.append(rf"  \node[font=\scriptsize, align=center, anchor=south, "
                         rf"inner sep=1pt] (O{i}) at ({mid:.3f}, {y + 0.06:.3f}) {{{text}}};")
        prev = (row, y, y - half - LABEL_GAP - label_h)
    lines.append(r"\end{tikzpicture}")
    return "\n".join(lines)
