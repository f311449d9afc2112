"""Flatten (issue 25): the bridge from a convolution's [m, C, h, w] (or a sequence layer's
[m, t, d]) to a dense layer's rows, [m, C*h*w] in row-major order as torch.flatten(x, 1): the
column of entry (c, i, j) is (c h + i) w + j. Its backward pass is the reshape back, so dH of
the layer below is dH of the flat layer, entry for entry.

The functions only move entries, so they work on floats and exact rationals alike; `index`
and `position` translate between a column and the entry it holds (a worked line says where
a number came from).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..exact import Exact

Array = np.ndarray


def _check(shape: Sequence[int]) -> None:
    if len(shape) not in (3, 4):
        raise ValueError(f"flatten takes [samples, channels, height, width] or [samples, "
                         f"steps, features], not an array of shape {tuple(shape)}")


def output_shape(shape: Sequence[int]) -> tuple[int, int]:
    """[m, C*h*w] (or [m, t*d])."""
    _check(shape)
    return int(shape[0]), int(np.prod(shape[1:]))


def forward(x: Array) -> Array:
    """x [m, C, h, w] -> [m, C*h*w], row-major (C, h, w); [m, t, d] -> [m, t*d]."""
    _check(x.shape)
    return x.reshape(output_shape(x.shape))


def back(dh: Array, shape: Sequence[int]) -> Array:
    """dX of the input's shape from dH [m, C*h*w]: the flat gradient put back in place."""
    want = output_shape(shape)
    if tuple(dh.shape) != want:
        raise ValueError(f"dH has shape {tuple(dh.shape)}, but the flattened H is {want}")
    return dh.reshape(tuple(shape))


def exact_forward(x: Exact | None) -> Exact | None:
    return None if x is None else forward(x)


def exact_back(dh: Exact | None, shape: Sequence[int]) -> Exact | None:
    return None if dh is None else back(dh, shape)


def index(shape: Sequence[int], *where: int) -> int:
    """The flat column of entry (c, i, j) (or (t, d)) of one sample of an input of `shape`."""
    _check(shape)
    return int(np.ravel_multi_index(tuple(where), tuple(shape[1:])))


def position(shape: Sequence[int], column: int) -> tuple[int, ...]:
    """The entry (c, i, j) (or (t, d)) that flat column `column` holds."""
    _check(shape)
    return tuple(int(v) for v in np.unravel_index(column, tuple(shape[1:])))
