"""Central finite differences, the tests' independent gradient (imports nothing from
nnreport): d f() / d a, entry by entry, a changed in place and restored."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def central(f: Callable[[], float], a: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    g = np.zeros(a.shape)
    for idx in np.ndindex(a.shape):
        keep = a[idx]
        a[idx] = keep + eps
        up = f()
        a[idx] = keep - eps
        down = f()
        a[idx] = keep
        g[idx] = (up - down) / (2 * eps)
    return g
