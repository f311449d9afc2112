"""Feature maps to LaTeX: a stack [C, h, w] (one sample's channels, or one filter's kernels) as
small matrices side by side, each labelled underneath ("channel 1"), with entries marked:

- a shaded window (`window`): the entries one output entry is made of, \\colorbox{lightgray};
- a boxed entry (`chosen`): max pooling's chosen maximum, \\boxed.

Both come from packages the key's preamble already loads (xcolor, amsmath) and KaTeX renders
them too, so the HTML page shows the same marks. Every number is written by the printing rule
of render/numbers.py (`fmt_entries`): one power of ten, when the entries call for one, is
decided for the whole stack so the maps read alike. A large map is elided to its corners as
render/matrices.py elides a matrix, except that the rows and columns of a marked window are
kept, so the window can still be seen (a dots row or column marks every gap).

`maps` returns the maps as pieces of one side of a Step with spacing between them; the line
breaker (document/lines.py) wraps a side wider than the page between pieces, so a wide stack
continues on further rows of maps. `wrap` packs them into rows of a width budget for a
display of its own. Widths are estimated as render/matrices.py estimates them (in em)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .matrices import COLSEP_EM, DELIM_EM, MAX_COLS, MAX_ROWS, WIDTH_SAFETY, Tex, text_width
from .numbers import common_exponent, fmt_entries

SHADE = "lightgray"  # xcolor's and CSS's light grey: 75% white behind black digits
MARK_EM = 0.6  # what a \colorbox's or \boxed's padding and rules add to an entry's width
GAP = r"\quad"  # between two maps of a stack
GAP_EM = 1.0

Window = tuple[int, int, int, int]  # top row, left column, height, width (0-based)


def window_mask(shape: tuple[int, int], window: Window | None) -> np.ndarray:
    """The entries of a rectangular window as a boolean mask of a map's shape."""
    mask = np.zeros(shape, dtype=bool)
    if window is not None:
        r, c, h, w = window
        mask[r:r + h, c:c + w] = True
    return mask


def _kept(n: int, limit: int, must: Sequence[int]) -> list[int]:
    """The rows (columns) a map shows: all when they fit; else the first limit - 2 and the
    last one, as render/matrices.py elides; a marked window (`must`) past those is kept too,
    with fewer first ones (at least one), so the map grows by little more than the window;
    a mark of `limit` rows or more is not kept (the map would not shrink)."""
    if n <= limit:
        return list(range(n))
    head = limit - 2
    if len(set(must)) >= limit:  # a mark over most of the map (the entries a kernel entry
        must = []  # meets): elided as any map, the shown entries that are marked shaded
    if any(i >= head and i != n - 1 for i in must):
        head = max(1, head - len(set(must)))
    return sorted(set(range(head)) | {n - 1} | set(must))


def cell(text: str, shaded: bool = False, boxed: bool = False) -> str:
    """One entry as printed, shaded and/or boxed."""
    if boxed:
        text = rf"\boxed{{{text}}}"
    if shaded:
        text = rf"\colorbox{{{SHADE}}}{{${text}$}}"
    return text


def decide(values: Sequence[np.ndarray], digits: int, factor: bool | int = True,
           max_rows: int = MAX_ROWS, max_cols: int = MAX_COLS) -> int | None:
    """The power of ten shared by a stack of maps (None: none), from the entries they show."""
    if not isinstance(factor, bool):
        return factor or None
    if not factor:
        return None
    entries: list[float] = []
    for a in values:
        m = np.asarray(a, dtype=float)
        rows, cols = _kept(m.shape[0], max_rows, []), _kept(m.shape[1], max_cols, [])
        entries += [float(x) for x in m[np.ix_(rows, cols)].ravel()]
    if not entries or not all(np.isfinite(entries)):
        return None
    return common_exponent(entries, digits)


def feature_map(a: np.ndarray, digits: int, *, label: str = "",
                shaded: np.ndarray | None = None, boxed: np.ndarray | None = None,
                scale: int | None = None, max_rows: int = MAX_ROWS,
                max_cols: int = MAX_COLS) -> Tex:
    """One map [h, w] as a bmatrix, `label` (text) set small underneath; `shaded` and `boxed`
    are boolean masks of the map's shape; `scale` a power of ten already decided (printed in
    front, each entry divided by it exactly)."""
    m = np.asarray(a, dtype=float)
    if m.ndim != 2:
        raise ValueError(f"a feature map is [height, width], not of shape {m.shape}")
    sh = np.zeros(m.shape, bool) if shaded is None else np.asarray(shaded, bool)
    bx = np.zeros(m.shape, bool) if boxed is None else np.asarray(boxed, bool)
    marked_r, marked_c = np.nonzero(sh)
    rows = _kept(m.shape[0], max_rows, marked_r.tolist())
    cols = _kept(m.shape[1], max_cols, marked_c.tolist())
    _, texts = fmt_entries(m[np.ix_(rows, cols)].ravel().tolist(), digits,
                           False if scale is None else scale)
    cells: list[list[str]] = []
    widths = [0.0] * len(cols)
    for a_, i in enumerate(rows):
        row = []
        for b_, j in enumerate(cols):
            t = texts[a_ * len(cols) + b_]
            mark = MARK_EM if (sh[i, j] or bx[i, j]) else 0.0
            widths[b_] = max(widths[b_], text_width(t) + mark * (sh[i, j] + bx[i, j]))
            row.append(cell(t, bool(sh[i, j]), bool(bx[i, j])))
        cells.append(row)
    # the dots where rows or columns are left out, one at every gap
    gaps_c = [k for k in range(1, len(cols)) if cols[k] != cols[k - 1] + 1]
    for g in reversed(gaps_c):
        for row in cells:
            row.insert(g, r"\cdots")
        widths.insert(g, 1.0)
    gaps_r = [k for k in range(1, len(rows)) if rows[k] != rows[k - 1] + 1]
    for g in reversed(gaps_r):
        dots = [r"\ddots" if c == r"\cdots" else r"\vdots" for c in cells[0]]
        cells.insert(g, dots)
    if sh.any() or bx.any():  # every row as tall as a marked one, so the rows stay even
        strut = rf"\vphantom{{{cell('0', True, True)}}}" if (sh & bx).any() else \
            rf"\vphantom{{{cell('0', boxed=True) if bx.any() else cell('0', shaded=True)}}}"
        for row in cells:  # the strut after a leading minus, which it would make binary
            if row[0] not in (r"\vdots", r"\ddots"):
                row[0] = row[0] + strut if row[0].startswith("-") else strut + row[0]
    body = r" \\ ".join(" & ".join(row) for row in cells)
    tex = rf"\begin{{bmatrix}} {body} \end{{bmatrix}}"
    width = (sum(widths) + COLSEP_EM * len(widths)) * WIDTH_SAFETY + DELIM_EM
    if gaps_r or gaps_c:
        tex += rf"_{{{m.shape[0]} \times {m.shape[1]}}}"
        width += 0.7 * 0.5 * len(f"{m.shape[0]}x{m.shape[1]}") + 1.0
    if scale is not None:
        tex = f"10^{{{scale}}} {tex}"
        width += 1.8
    if label:
        tex = rf"\underset{{\text{{{label}}}}}{{{tex}}}"
        width = max(width, 0.7 * 0.5 * len(label) + 0.5)
    return Tex(tex, width)


def maps(stack: np.ndarray, digits: int, *, labels: Sequence[str] | None = None,
         word: str = "channel", window: Window | None = None,
         windows: np.ndarray | None = None, boxed: np.ndarray | None = None,
         factor: bool | int = True, max_rows: int = MAX_ROWS,
         max_cols: int = MAX_COLS) -> list[Tex]:
    """A stack [C, h, w] as maps side by side, pieces of one side of a Step (a gap between
    maps, where a line may break). `labels` name the maps (default: `word` 1, 2, ...);
    `window` shades the same rectangle in every map, `windows` [C, h, w] shades any entries
    (a strided window, one channel only); `boxed` [C, h, w] boxes entries (the chosen
    maxima). A 2-D array is one map."""
    s = np.asarray(stack, dtype=float)
    if s.ndim == 2:
        s = s[None]
    if s.ndim != 3:
        raise ValueError(f"a stack of feature maps is [channels, height, width], not {s.shape}")
    C = s.shape[0]
    names = list(labels) if labels is not None else \
        [f"{word} {k + 1}" for k in range(C)] if C > 1 else [""]
    if len(names) != C:
        raise ValueError(f"{len(names)} labels for {C} maps")
    shade = np.zeros(s.shape, bool)
    if window is not None:
        shade[:] = window_mask(s.shape[1:], window)
    if windows is not None:
        shade |= np.asarray(windows, bool).reshape(s.shape)
    box = np.zeros(s.shape, bool) if boxed is None else np.asarray(boxed, bool).reshape(s.shape)
    scale = decide(list(s), digits, factor, max_rows, max_cols)
    out: list[Tex] = []
    for k in range(C):
        if k:
            out.append(Tex(GAP, GAP_EM))
        out.append(feature_map(s[k], digits, label=names[k], shaded=shade[k], boxed=box[k],
                               scale=scale, max_rows=max_rows, max_cols=max_cols))
    return out


def wrap(pieces: Sequence[Tex], budget: float) -> list[list[Tex]]:
    """The maps packed greedily into rows no wider than `budget` em (a map wider than the
    budget alone on its row); the gaps at a row's ends dropped."""
    rows: list[list[Tex]] = [[]]
    width = 0.0
    for p in pieces:
        t = p
        if t.tex == GAP:
            if rows[-1]:
                rows[-1].append(t)
                width += t.width
            continue
        if rows[-1] and width + t.width > budget:
            while rows[-1] and rows[-1][-1].tex == GAP:
                rows[-1].pop()
            rows.append([])
            width = 0.0
        rows[-1].append(t)
        width += t.width
    return [r for r in rows if r]


def display(pieces: Sequence[Tex], budget: float) -> str:
    """A stack of maps as the body of a gather* (rows of maps separated by \\\\)."""
    return r" \\[1ex] ".join(" ".join(t.tex for t in row) for row in wrap(pieces, budget))
