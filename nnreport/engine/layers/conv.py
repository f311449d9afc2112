"""Convolution (issue 25): cross-correlation as PyTorch's Conv2d, in the form it is worked by hand.

X is [m, C, H, W] (samples first), W is [F, C, kh, kw], b is [F]; with Xp the input with zero
padding and (sh, sw) the stride,

    Z[n, f, i, j] = sum_{c, p, q} Xp[n, c, sh i + p, sw j + q] W[f, c, p, q] + b[f].

The backward pass is computed the way a student writes it, so that a worked line and the key
agree term by term: dX is the full convolution of dZ (dilated by the stride) with the flipped
kernel, cropped to the unpadded input; dW is the correlation of the padded input with dZ; db
sums dZ over samples and positions.

Every function works on float arrays and on exact rationals (numpy object arrays of Fraction,
engine/exact.py) alike: it uses only slices, sums and tensordot. The exact_ variants return None
when an input is None (the exact chain is broken). Shapes are checked before any arithmetic and
a wrong one raises ValueError with a message that names the sizes (the caller adds where).

This module is self-contained: it is not yet a registered `Layer` (the protocol in __init__.py
is being generalised from 2-D arrays, issue 24).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np

from ...spec.shapes import Pair, Size, _whole, out_size, pair  # noqa: F401  (shared with the spec)
from .. import exact
from ..exact import Exact

Array = np.ndarray
AXES = ("height", "width")


def output_shape(x_shape: Sequence[int], w_shape: Sequence[int], stride: Size = 1,
                 padding: Size = 0, *, floor: bool = False) -> tuple[int, int, int, int]:
    """Z's shape [m, F, out_h, out_w] from X [m, C, H, W] and W [F, C, kh, kw]."""
    if len(x_shape) != 4:
        raise ValueError(f"a convolution's input is [samples, channels, height, width], "
                         f"not of shape {tuple(x_shape)}")
    if len(w_shape) != 4:
        raise ValueError(f"a convolution's kernel W is [filters, channels, kh, kw], "
                         f"not of shape {tuple(w_shape)}")
    m, C, H, W = x_shape
    F, C2, kh, kw = w_shape
    if C != C2:
        raise ValueError(f"the input has {C} channel{'s' if C != 1 else ''} but the kernel W "
                         f"has {C2} (W is [filters, channels, kh, kw])")
    (sh, sw), (ph, pw) = pair(stride, "stride"), pair(padding, "padding", 0)
    return (m, F, out_size(H, kh, sh, ph, "height", floor=floor),
            out_size(W, kw, sw, pw, "width", floor=floor))


def _zero(a: Array) -> Any:
    return Fraction(0) if a.dtype == object else 0.0


def _dtype(*arrays: Array) -> Any:
    return object if any(a.dtype == object for a in arrays) else float


def pad_sides(x: Array, top: int, bottom: int, left: int, right: int) -> Array:
    """x [..., H, W] with zero rows above and below and zero columns left and right (exact
    zeros on exact arrays)."""
    *lead, H, W = x.shape
    out = np.full((*lead, H + top + bottom, W + left + right), _zero(x), dtype=x.dtype)
    out[..., top:top + H, left:left + W] = x
    return out


def pad(x: Array, padding: Size) -> Array:
    """Xp: x [..., H, W] with `padding` zeros on every side."""
    ph, pw = pair(padding, "padding", 0)
    return pad_sides(x, ph, ph, pw, pw)


def dilate(d: Array, stride: Size) -> Array:
    """d [..., h, w] with stride - 1 zeros between neighbouring entries: what dZ becomes in
    dX's full convolution when the forward pass moved by more than one."""
    sh, sw = pair(stride, "stride")
    *lead, h, w = d.shape
    out = np.full((*lead, (h - 1) * sh + 1, (w - 1) * sw + 1), _zero(d), dtype=d.dtype)
    out[..., ::sh, ::sw] = d
    return out


def flip(w: Array) -> Array:
    """The flipped kernel of dX's full convolution: W rotated by 180 degrees in each
    (kh, kw) plane, filters and channels swapped: [C, F, kh, kw]."""
    return np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))


def _slice(xp: Array, p: int, q: int, sh: int, sw: int, oh: int, ow: int) -> Array:
    """The entries of Xp that kernel position (p, q) meets, one per output position."""
    return xp[:, :, p:p + sh * (oh - 1) + 1:sh, q:q + sw * (ow - 1) + 1:sw]


def _correlate(xp: Array, w: Array, sh: int, sw: int, oh: int, ow: int) -> Array:
    """sum_{c, p, q} xp[n, c, sh i + p, sw j + q] w[f, c, p, q], no padding, no bias."""
    dt = _dtype(xp, w)
    z = np.full((xp.shape[0], w.shape[0], oh, ow), Fraction(0) if dt is object else 0.0,
                dtype=dt)
    for p in range(w.shape[2]):
        for q in range(w.shape[3]):
            part = np.tensordot(_slice(xp, p, q, sh, sw, oh, ow), w[:, :, p, q], axes=([1], [1]))
            z = z + part.transpose(0, 3, 1, 2)
    return z


def forward(x: Array, w: Array, b: Array | None = None, stride: Size = 1, padding: Size = 0,
            *, floor: bool = False) -> Array:
    """Z [m, F, out_h, out_w]; b None for a convolution without bias."""
    m, F, oh, ow = output_shape(x.shape, w.shape, stride, padding, floor=floor)
    sh, sw = pair(stride, "stride")
    z = _correlate(pad(x, padding), w, sh, sw, oh, ow)
    if b is not None:
        if np.shape(b) != (F,):
            raise ValueError(f"the bias b has shape {np.shape(b)}, not ({F},): one per filter")
        z = z + np.asarray(b)[None, :, None, None]
    return z


def _check_dz(dz: Array, x_shape: Sequence[int], w_shape: Sequence[int], stride: Size,
              padding: Size, floor: bool) -> tuple[int, int, int, int]:
    shape = output_shape(x_shape, w_shape, stride, padding, floor=floor)
    if tuple(dz.shape) != shape:
        raise ValueError(f"dZ has shape {tuple(dz.shape)}, but Z is {shape}")
    return shape


def back(dz: Array, w: Array, x_shape: Sequence[int], stride: Size = 1, padding: Size = 0,
         *, floor: bool = False) -> Array:
    """dX [m, C, H, W] from dZ: dZ dilated by the stride, padded with kh - 1 (kw - 1) zeros on
    each side (plus the rows a stride left unused, when `floor`), correlated with the flipped
    kernel; the padding's rows and columns are then cut off."""
    m, F, oh, ow = _check_dz(dz, x_shape, w.shape, stride, padding, floor)
    (sh, sw), (ph, pw) = pair(stride, "stride"), pair(padding, "padding", 0)
    H, W = x_shape[2], x_shape[3]
    kh, kw = w.shape[2], w.shape[3]
    eh, ew = H + 2 * ph - ((oh - 1) * sh + kh), W + 2 * pw - ((ow - 1) * sw + kw)
    full = pad_sides(dilate(dz, (sh, sw)), kh - 1, kh - 1 + eh, kw - 1, kw - 1 + ew)
    dxp = _correlate(full, flip(w), 1, 1, H + 2 * ph, W + 2 * pw)
    return dxp[:, :, ph:ph + H, pw:pw + W]


def _dw(x: Array, dz: Array, kh: int, kw: int, stride: Size, padding: Size,
        per_sample: bool) -> Array:
    sh, sw = pair(stride, "stride")
    xp = pad(x, padding)
    oh, ow = dz.shape[2], dz.shape[3]
    m, F, C = x.shape[0], dz.shape[1], x.shape[1]
    dt = _dtype(x, dz)
    out = np.empty((m, F, C, kh, kw) if per_sample else (F, C, kh, kw), dtype=dt)
    for p in range(kh):
        for q in range(kw):
            xs = _slice(xp, p, q, sh, sw, oh, ow)
            if per_sample:
                out[..., p, q] = (dz[:, :, None] * xs[:, None]).sum(axis=(3, 4))
            else:
                out[..., p, q] = np.tensordot(dz, xs, axes=([0, 2, 3], [0, 2, 3]))
    return out


def grads(x: Array, dz: Array, w: Array, stride: Size = 1, padding: Size = 0,
          scale: Any = 1.0, l2: float = 0.0, m: int = 1, *, floor: bool = False
          ) -> tuple[Array, Array]:
    """(dW [F, C, kh, kw], db [F]) of the batch: scale (1 or 1/m) times the correlation of the
    padded input with dZ, and times dZ summed over samples and positions; with an L2 penalty,
    dW also has (l2 / m) W, as a dense layer's."""
    _check_dz(dz, x.shape, w.shape, stride, padding, floor)
    dW = _dw(x, dz, w.shape[2], w.shape[3], stride, padding, False) * scale
    if l2:
        dW = dW + (exact.const(l2) if dW.dtype == object else l2) / m * w
    return dW, dz.sum(axis=(0, 2, 3)) * scale


def per_sample(x: Array, dz: Array, w: Array, stride: Size = 1, padding: Size = 0, *,
               floor: bool = False) -> tuple[Array, Array]:
    """Each sample's (dW [m, F, C, kh, kw], db [m, F]), samples first, unscaled."""
    _check_dz(dz, x.shape, w.shape, stride, padding, floor)
    return _dw(x, dz, w.shape[2], w.shape[3], stride, padding, True), dz.sum(axis=(2, 3))


# exact rationals: the same arithmetic on object arrays of Fraction
def exact_forward(x: Exact | None, w: Exact | None, b: Exact | None, stride: Size = 1,
                  padding: Size = 0, *, floor: bool = False) -> Exact | None:
    """forward on exact rationals (a convolution without bias: pass b as zeros)."""
    if x is None or w is None or b is None:
        return None
    return forward(x, w, b, stride, padding, floor=floor)


def exact_back(dz: Exact | None, w: Exact | None, x_shape: Sequence[int], stride: Size = 1,
               padding: Size = 0, *, floor: bool = False) -> Exact | None:
    if dz is None or w is None:
        return None
    return back(dz, w, x_shape, stride, padding, floor=floor)


def exact_grads(x: Exact | None, dz: Exact | None, w: Exact | None, stride: Size = 1,
                padding: Size = 0, red: Any = Fraction(1), l2: float = 0.0, m: int = 1, *,
                floor: bool = False) -> tuple[Exact | None, Exact | None]:
    """grads on exact rationals (red: Fraction(1) or Fraction(1, m)); (None, None) when the
    chain is broken (db needs only dZ)."""
    if dz is None:
        return None, None
    db = dz.sum(axis=(0, 2, 3)) * red
    if x is None or w is None:
        return None, db
    return grads(x, dz, w, stride, padding, red, l2, m, floor=floor)[0], db


def exact_per_sample(x: Exact | None, dz: Exact | None, w_shape: Sequence[int],
                     stride: Size = 1, padding: Size = 0, *, floor: bool = False
                     ) -> tuple[Exact | None, Exact | None]:
    if dz is None:
        return None, None
    db = dz.sum(axis=(2, 3))
    if x is None:
        return None, db
    _check_dz(dz, x.shape, w_shape, stride, padding, floor)
    return _dw(x, dz, w_shape[2], w_shape[3], stride, padding, True), db


class Entry(NamedTuple):
    """What one worked line of Z[n, f, i, j] multiplies: Z = sum(window * kernel) + bias."""

    window: Array  # [C, kh, kw], from the padded input (padding's zeros included)
    kernel: Array  # W[f]: [C, kh, kw]
    bias: Any  # b[f], or None
    row: int  # the window's top-left corner in the padded input (row - padding in X)
    col: int


def entry(x: Array, w: Array, b: Array | None, n: int, f: int, i: int, j: int,
          stride: Size = 1, padding: Size = 0, *, floor: bool = False) -> Entry:
    """The input window and kernel that output entry (n, f, i, j) is the sum of products of."""
    shape = output_shape(x.shape, w.shape, stride, padding, floor=floor)
    for name, v, size in zip("nfij", (n, f, i, j), shape, strict=True):
        if not 0 <= v < size:
            raise ValueError(f"Z has shape {shape}: index {name} = {v} is outside 0..{size - 1}")
    sh, sw = pair(stride, "stride")
    kh, kw = w.shape[2], w.shape[3]
    r, c = sh * i, sw * j
    window = pad(x[n:n + 1], padding)[0, :, r:r + kh, c:c + kw]
    return Entry(window, w[f], None if b is None else b[f], r, c)
