"""The dropout layer's worked lines (issue 25): inverted dropout with the mask the problem
gives, H_l = H_{l-1} (.) M / (1 - p) forward and dH_{l-1} = dH_l (.) M / (1 - p) backward (the
same mask: a dropped unit passes no gradient), each with its numbers. A 4-D input (after a
convolution) is worked map by map, one (sample, channel) a line.

Plain arrays (engine/layers/dropout.py's: the mask of 0s and 1s of the input's shape, p the
probability of dropping), display names and digits; wrapped as WorkedLayer functions of
(Ctx, l) once the layer is registered. The layer has no parameters (no grads lines)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ....engine.layers import dropout as D
from ....render.numbers import fmt
from ...steps import Piece, Step, Val
from .conv import nearest, power, sym


@dataclass(frozen=True)
class Names:
    x: str = "X"    # H_{l-1}
    h: str = "H"
    mask: str = "M"
    dx: str = "dX"
    dh: str = "dH"

    @classmethod
    def layer(cls, l: int) -> Names:
        return cls(x="X" if l == 1 else f"H_{{{l - 1}}}", h=f"H_{{{l}}}", mask=f"M_{{{l}}}",
                   dx="dX" if l == 1 else f"dH_{{{l - 1}}}", dh=f"dH_{{{l}}}")


def scale_tex(p: float, d: int) -> str:
    """1 / (1 - p) as written: \\frac{1}{1 - 0.5}."""
    return rf"\frac{{1}}{{1 - {fmt(p, d)}}}"


def formula(names: Names = Names()) -> str:
    """H_l = H_{l-1} (.) M_l / (1 - p) for the conventions sentence."""
    return rf"{names.h} = \frac{{1}}{{1 - p}}\, {names.x} \odot {names.mask}"


def _lines(a: np.ndarray, mask: np.ndarray, p: float, digits: int, src: str, dst: str,
           mname: str, key: str, note: str) -> list[Step]:
    d = digits
    D.check_p(p)
    out = nearest(lambda a_, m_, p_: a_ * m_ / (1 - p_), a, mask, np.asarray(p))
    frac = scale_tex(p, d)
    if a.ndim <= 2:
        sub: list[Piece] = [frac, Val(a, d), r"\odot", Val(mask, d)]
        return [Step(dst, rf"\frac{{1}}{{1 - p}}\, {src} \odot {mname}", sub, Val(out, d),
                     key=key, shape=True, note=note)]
    steps = []
    k = power(out, d)
    for n in range(a.shape[0]):
        for c in range(a.shape[1]):
            sub = [frac, Val(a[n, c], d), r"\odot", Val(mask[n, c], d)]
            steps.append(Step(sym(dst, n, str(c + 1)),
                              rf"\frac{{1}}{{1 - p}}\, {sym(src, n, str(c + 1))} \odot "
                              rf"{sym(mname, n, str(c + 1))}", sub,
                              Val(out[n, c], d, factor=k), key=key, shape=True, at=(n, c),
                              note=note if (n, c) == (0, 0) else ""))
    return steps


def forward(h: np.ndarray, mask: np.ndarray, p: float, digits: int, names: Names = Names(),
            *, key: str = "") -> list[Step]:
    """H_l: the kept units (mask 1) scaled by 1/(1 - p), the dropped ones (mask 0) 0."""
    m = D.check_mask(np.asarray(mask).tolist(), np.shape(h))
    return _lines(h, m, p, digits, names.x, names.h, names.mask, key,
                  f"the units with mask 0 dropped, the kept ones scaled by $1/(1 - p)$ "
                  f"$= {fmt(1 / (1 - p), digits)}$ (inverted dropout: nothing changes at "
                  f"test time)")


def back(dh: np.ndarray, mask: np.ndarray, p: float, digits: int, names: Names = Names(),
         *, key: str = "") -> list[Step]:
    """dH_{l-1}: the same mask and scale; a dropped unit passes no gradient."""
    m = D.check_mask(np.asarray(mask).tolist(), np.shape(dh))
    return _lines(dh, m, p, digits, names.dh, names.dx, names.mask, key,
                  "the same mask and scale: a dropped unit passes no gradient")
