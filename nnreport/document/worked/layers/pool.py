"""The pooling layer's worked lines (issue 25), as a student writes them.

Max pooling: the input with each window's chosen entry boxed (its first maximum in row-major
order, PyTorch's rule) and the window of one output entry shaded; that entry, max of its
window = the value; then every pooled map. Backward: the gradient of that entry routed to its
window's chosen entry (every other entry of the window gets 0), then dX. Average pooling: the
entry as 1/(kh kw) times its window's sum with the numbers; backward, each entry of the window
gets 1/(kh kw) of the gradient. Overlapping windows (stride < size) add up, and the line says
which windows an entry belongs to.

Plain arrays (engine/layers/pool.py's shapes: X [m, C, H, W], H and dH [m, C, oh, ow]), the
display names and the digits; wrapped as WorkedLayer functions of (Ctx, l) once the layer is
registered. Indices are 1-based: (H_{2})^{(n)}_{c,ij}."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ....engine.layers import pool as P
from ....engine.layers.conv import Size, pair
from ....render.maps import maps
from ....render.numbers import fmt
from ...steps import Piece, Step, Val
from .conv import idx, nearest, pieces, power, sum_of, sym, unit


@dataclass(frozen=True)
class Names:
    x: str = "X"   # the input, H_{l-1}
    h: str = "H"   # the pooled output
    dx: str = "dX"
    dh: str = "dH"

    @classmethod
    def layer(cls, l: int) -> Names:
        return cls(x="X" if l == 1 else f"H_{{{l - 1}}}", h=f"H_{{{l}}}",
                   dx="dX" if l == 1 else f"dH_{{{l - 1}}}", dh=f"dH_{{{l}}}")


def _op(kind: str, size: Size) -> str:
    kh, kw = pair(size, "pooling size")
    return rf"\operatorname{{{'maxpool' if kind == 'max' else 'avgpool'}}}_{{{kh}\times{kw}}}"


def formula(names: Names = Names(), kind: str = "max", size: Size = 2) -> str:
    """H_l = maxpool_{2x2}(H_{l-1}) for the conventions sentence."""
    return rf"{names.h} = {_op(kind, size)}\left({names.x}\right)"


def _geometry(size: Size, stride: Size | None) -> tuple[int, int, int, int]:
    kh, kw = pair(size, "pooling size")
    sh, sw = pair(size if stride is None else stride, "stride")
    return kh, kw, sh, sw


def _moving(kh: int, kw: int, sh: int, sw: int) -> str:
    if (sh, sw) == (kh, kw):
        return "the windows side by side, not overlapping"
    if sh == sw:
        return f"the window moving {sh} entr{'y' if sh == 1 else 'ies'} at a time"
    return f"the window moving {sh} rows and {sw} columns at a time"


def _check_at(at: tuple[int, int, int, int], shape: tuple[int, ...]) -> None:
    for name, v, size in zip("ncij", at, shape, strict=True):
        if not 0 <= v < size:
            raise ValueError(f"the pooled H has shape {tuple(shape)}: index {name} = {v} is "
                             f"outside 0..{size - 1}")


def chosen_mask(x: np.ndarray, size: Size, stride: Size | None) -> np.ndarray:
    """X's entries some window chose (its first maximum), as a mask of X's shape."""
    ch = P.argmax(x, size, stride)
    mask = np.zeros(x.shape, dtype=bool)
    n, c = np.indices(ch.row.shape)[:2]
    mask[n, c, ch.row, ch.col] = True
    return mask


def forward(x: np.ndarray, kind: str, digits: int, names: Names = Names(), *,
            size: Size = 2, stride: Size | None = None,
            at: tuple[int, int, int, int] = (0, 0, 0, 0), samples: list[int] | None = None,
            key: str = "", show_input: bool = True) -> list[Step]:
    """The pooled maps' lines: sample n's input with the window of `at` = (n, c, i, j) shaded
    (and, for max, every window's chosen entry boxed); that entry from its window; then each
    sample's (of `samples`, default all) pooled maps, one per channel, `key` their JSON
    name."""
    d = digits
    n, c, i, j = at
    kh, kw, sh, sw = _geometry(size, stride)
    Hx = nearest(lambda x_: P.forward(x_, kind, size, stride), x)
    _check_at(at, Hx.shape)
    r0, c0 = sh * i, sw * j
    hname = sym(names.h, n, idx(c, i, j))
    win = x[n, c, r0:r0 + kh, c0:c0 + kw]
    steps: list[Step] = []
    tie = ""
    if kind == "max":
        ch = P.argmax(x, size, stride)
        if ch.ties[n, c, i, j]:
            tie = (" (a tie: the first maximum in reading order is the one chosen, and the "
                   "one the gradient goes to)")
    if show_input:
        shade = np.zeros(x.shape[1:], dtype=bool)
        shade[c, r0:r0 + kh, c0:c0 + kw] = True
        boxed = chosen_mask(x, size, stride)[n] if kind == "max" else None
        note = (rf"each window's maximum boxed; the window of ${hname}$ shaded"
                if kind == "max" else rf"the window of ${hname}$ shaded")
        steps.append(Step(sym(names.x, n), None, pieces(maps(x[n], d, windows=shade, boxed=boxed)),
                          None, note=note + f" ({_moving(kh, kw, sh, sw)})", asked=False))
    wsym = sym(names.x, n, rf"{c + 1},\text{{window}}")
    if kind == "max":
        form = rf"\max {wsym}"
        subst: list[Piece] = [unit(r"\max", Val(win, d))]
        more: list[list[Piece]] = []
        note = "the largest entry of the window" + tie
    else:
        frac = rf"\frac{{1}}{{{kh * kw}}}"
        form = rf"{frac} \sum {wsym}"
        subst = [unit(frac, r"\sum", Val(win, d))]
        more = [sum_of([fmt(float(v), d) for v in win.ravel()], frac)]
        note = f"the mean of the window's {kh * kw} entries"
    steps.append(Step(hname, form, subst, Val(float(Hx[n, c, i, j]), d), more=more,
                      note=note, asked=False))
    first = True
    hpow = power(Hx, d)
    for s in range(x.shape[0]) if samples is None else samples:
        for k in range(x.shape[1]):
            steps.append(Step(sym(names.h, s, str(k + 1)),
                              rf"{_op(kind, size)}\left({sym(names.x, s, str(k + 1))}\right)",
                              None, Val(Hx[s, k], d, factor=hpow), key=key, shape=True,
                              at=(s, k),
                              note=("every window's " + ("maximum" if kind == "max" else "mean")
                                    + ", " + _moving(kh, kw, sh, sw)) if first else ""))
            first = False
    return steps


def back(dh: np.ndarray, x: np.ndarray, kind: str, digits: int, names: Names = Names(), *,
         size: Size = 2, stride: Size | None = None,
         at: tuple[int, int, int, int] = (0, 0, 0, 0), samples: list[int] | None = None,
         key: str = "") -> list[Step]:
    """dX's lines: the gradient of output entry `at` = (n, c, i, j) sent back into its window
    (max: all of it to the chosen entry, the others 0; avg: 1/(kh kw) to each), written for
    the entry it reaches (with every window that entry belongs to); then each sample's dX,
    one channel a line, `key` its JSON name."""
    d = digits
    n, c, i, j = at
    kh, kw, sh, sw = _geometry(size, stride)
    dX = nearest(lambda g_, x_: P.back(g_, x_, kind, size, stride), dh, x)
    _check_at(at, dh.shape)
    oh, ow = dh.shape[2], dh.shape[3]
    if kind == "max":
        ch = P.argmax(x, size, stride)
        r, q = int(ch.row[n, c, i, j]), int(ch.col[n, c, i, j])
        srcs = [(a, b) for a in range(oh) for b in range(ow)
                if (ch.row[n, c, a, b], ch.col[n, c, a, b]) == (r, q)]
        note = (rf"the gradient of ${sym(names.h, n, idx(c, i, j))}$ goes to its window's "
                rf"chosen entry, row {r + 1}, column {q + 1} (boxed above); the window's other "
                "entries get 0")
        share = ""
    else:  # the entry at the window's top left, in every window that holds it
        r, q = sh * i, sw * j
        srcs = [(a, b) for a in range(oh) for b in range(ow)
                if sh * a <= r < sh * a + kh and sw * b <= q < sw * b + kw]
        share = rf"\frac{{1}}{{{kh * kw}}}"
        note = (rf"each entry of the window of ${sym(names.h, n, idx(c, i, j))}$ gets "
                rf"${share}$ of its gradient")
    if len(srcs) > 1:
        note += f"; this entry is in {len(srcs)} windows, their shares add up"
    gsyms = [sym(names.dh, n, idx(c, a, b)) for a, b in srcs]
    form = (share + " " if share else "") + (
        r"\left(" + " + ".join(gsyms) + r"\right)" if share and len(gsyms) > 1
        else " + ".join(gsyms))
    vals = [fmt(float(dh[n, c, a, b]), d) for a, b in srcs]
    subst = sum_of(vals, share) if share or len(vals) > 1 else None
    steps = [Step(sym(names.dx, n, idx(c, r, q)), form, subst, Val(float(dX[n, c, r, q]), d),
                  note=note, asked=False)]
    first = True
    xpow = power(dX, d)
    for s in range(x.shape[0]) if samples is None else samples:
        for k in range(x.shape[1]):
            steps.append(Step(sym(names.dx, s, str(k + 1)), None, None,
                              Val(dX[s, k], d, factor=xpow),
                              key=key, shape=True, at=(s, k),
                              note=(("each window's gradient at its chosen entry, 0 elsewhere"
                                     if kind == "max" else
                                     f"each window's gradient spread evenly, "
                                     f"{Fraction(1, kh * kw)} to each of its entries")
                                    if first else "")))
            first = False
    return steps
