"""Pooling (issue 25): max and average pooling over windows of `size`, moving by `stride`
(default: the size), no padding, on X [m, C, H, W] channel by channel, as PyTorch's
MaxPool2d / AvgPool2d.

Max pooling routes each window's gradient to one entry: the FIRST maximum in row-major order
within the window (PyTorch's rule, and what a student marks), so a window with a tie sends it
all to its first maximum. `argmax` gives the chosen entries (the worked step marks them) and
which windows have a tie (the worked step says which one it chose). Average pooling spreads
each gradient evenly, 1/(kh kw) to every entry of the window. Overlapping windows (stride <
size) add their gradients.

Every function works on float arrays and on exact rationals (object arrays of Fraction) alike;
the exact_ variants return None when an input is None. Sizes are checked as a convolution's
(conv.out_size): a window larger than the input, or a stride that leaves rows unused, raises
ValueError unless `floor` (PyTorch's rule) is asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np

from ..exact import Exact
from .conv import Size, out_size, pair

Array = np.ndarray
KINDS = ("max", "avg")


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"pooling is max or avg, not {kind!r}")
    return kind


def output_shape(x_shape: Sequence[int], size: Size = 2, stride: Size | None = None, *,
                 floor: bool = False) -> tuple[int, int, int, int]:
    """H's shape [m, C, out_h, out_w] from X [m, C, H, W]."""
    if len(x_shape) != 4:
        raise ValueError(f"pooling's input is [samples, channels, height, width], not of "
                         f"shape {tuple(x_shape)}")
    (kh, kw) = pair(size, "pooling size")
    (sh, sw) = pair(size if stride is None else stride, "stride")
    m, C, H, W = x_shape
    what = "pooling window"
    return (m, C, out_size(H, kh, sh, 0, "height", what=what, floor=floor),
            out_size(W, kw, sw, 0, "width", what=what, floor=floor))


def _geometry(x_shape: Sequence[int], size: Size, stride: Size | None, floor: bool
              ) -> tuple[int, int, int, int, int, int]:
    _, _, oh, ow = output_shape(x_shape, size, stride, floor=floor)
    kh, kw = pair(size, "pooling size")
    sh, sw = pair(size if stride is None else stride, "stride")
    return kh, kw, sh, sw, oh, ow


def _at(x: Array, p: int, q: int, sh: int, sw: int, oh: int, ow: int) -> tuple[Any, ...]:
    """The index of the entries that window position (p, q) holds, one per output entry."""
    return (slice(None), slice(None), slice(p, p + sh * (oh - 1) + 1, sh),
            slice(q, q + sw * (ow - 1) + 1, sw))


class Chosen(NamedTuple):
    """Max pooling's chosen entries: for each output entry [m, C, out_h, out_w], the row and
    column in X of its window's first maximum, and whether the window has a tie."""

    row: Array
    col: Array
    ties: Array

    @property
    def tie(self) -> bool:
        """Whether any window has more than one maximum."""
        return bool(self.ties.any())


def argmax(x: Array, size: Size = 2, stride: Size | None = None, *, floor: bool = False
           ) -> Chosen:
    """Each window's first maximum in row-major order (a later equal entry does not replace
    it), its position in X, and the windows with a tie."""
    kh, kw, sh, sw, oh, ow = _geometry(x.shape, size, stride, floor)
    best = x[_at(x, 0, 0, sh, sw, oh, ow)]
    k = np.zeros(best.shape, dtype=int)  # the window position, p * kw + q
    for p in range(kh):
        for q in range(kw):
            v = x[_at(x, p, q, sh, sw, oh, ow)]
            better = np.asarray(v > best, dtype=bool)
            best = np.where(better, v, best)
            k = np.where(better, p * kw + q, k)
    count = sum(np.asarray(x[_at(x, p, q, sh, sw, oh, ow)] == best, dtype=int)
                for p in range(kh) for q in range(kw))
    i = np.arange(oh)[:, None]
    j = np.arange(ow)[None, :]
    return Chosen(sh * i + k // kw, sw * j + k % kw, np.asarray(count > 1))


def forward(x: Array, kind: str = "max", size: Size = 2, stride: Size | None = None, *,
            floor: bool = False) -> Array:
    """H [m, C, out_h, out_w]: each window's maximum, or its mean."""
    _check_kind(kind)
    kh, kw, sh, sw, oh, ow = _geometry(x.shape, size, stride, floor)
    parts = [x[_at(x, p, q, sh, sw, oh, ow)] for p in range(kh) for q in range(kw)]
    if kind == "max":
        out = parts[0]
        for v in parts[1:]:
            out = np.where(np.asarray(v > out, dtype=bool), v, out)
        return np.asarray(out, dtype=x.dtype)
    total = parts[0]
    for v in parts[1:]:
        total = total + v
    return total * Fraction(1, kh * kw) if x.dtype == object else total / (kh * kw)


def back(dh: Array, x: Array, kind: str = "max", size: Size = 2, stride: Size | None = None,
         *, floor: bool = False) -> Array:
    """dX [m, C, H, W] from dH: max sends each entry of dH to its window's first maximum, avg
    sends 1/(kh kw) of it to every entry of the window; overlapping windows add up."""
    _check_kind(kind)
    shape = output_shape(x.shape, size, stride, floor=floor)
    if tuple(dh.shape) != shape:
        raise ValueError(f"dH has shape {tuple(dh.shape)}, but the pooled H is {shape}")
    kh, kw, sh, sw, oh, ow = _geometry(x.shape, size, stride, floor)
    exact = x.dtype == object or dh.dtype == object
    dx = np.full(x.shape, Fraction(0) if exact else 0.0, dtype=object if exact else float)
    if kind == "max":
        chosen = argmax(x, size, stride, floor=floor)
        n, c = np.indices(shape)[:2]
        np.add.at(dx, (n, c, chosen.row, chosen.col), dh)
        return dx
    share = dh * Fraction(1, kh * kw) if exact else dh / (kh * kw)
    for p in range(kh):
        for q in range(kw):
            dx[_at(dx, p, q, sh, sw, oh, ow)] += share
    return dx


def exact_forward(x: Exact | None, kind: str = "max", size: Size = 2,
                  stride: Size | None = None, *, floor: bool = False) -> Exact | None:
    """forward on exact rationals (a maximum and a mean of rationals are rational)."""
    if x is None:
        return None
    return forward(x, kind, size, stride, floor=floor)


def exact_back(dh: Exact | None, x: Exact | None, kind: str = "max", size: Size = 2,
               stride: Size | None = None, *, floor: bool = False) -> Exact | None:
    """back on exact rationals. Max pooling needs X exact too, to decide each maximum as the
    hand calculation does; average pooling reads only X's shape (a float X will do)."""
    if dh is None or x is None:
        return None
    return back(dh, x, kind, size, stride, floor=floor)
