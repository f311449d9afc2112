"""The flatten layer's worked lines (issues 25, 26): H_l is H_{l-1} with each sample's values
read row-major into one row ([samples, t, d] -> [samples, t d], [samples, C, h, w] ->
[samples, C h w], as torch.flatten(x, 1)); the gradient passed down is dH_l folded back into
H_{l-1}'s shape. No parameters, no activation (JSON H{l}, dH{l-1})."""

from __future__ import annotations

import numpy as np

from ...steps import Step
from ..base import Ctx


def formula(c: Ctx, l: int) -> str:
    return rf"{c.n(f'H{l}')} = \operatorname{{flatten}}\left({c.n(f'H{l - 1}')}\right)"


def _maps(c: Ctx, l: int) -> bool:
    """A stack of maps [samples, C, h, w] before it: shaped.py writes it map by map."""
    return np.ndim(c.H(l - 1)) == 4


def forward(c: Ctx, l: int) -> list[Step]:
    if _maps(c, l):
        from .shaped import flatten_forward
        return flatten_forward(c, l)
    H = c.H(l)
    key = c.hkey(l)
    shape = r" \times ".join(str(d) for d in c.s.shapes[l - 1]) if c.s.shapes else ""
    note = (f"flatten: each sample's ${shape}$ values read row by row into one row"
            if shape else "flatten: each sample's values read row by row into one row")
    return [c.step(c.n(f"H{l}"), rf"\operatorname{{flatten}}\left({c.n(f'H{l - 1}')}\right)",
                   None, H, key=key, shape=True, note=note)]


def grads(c: Ctx, l: int) -> list[Step]:
    return []


def back(c: Ctx, l: int) -> list[Step]:
    """dH_{l-1}: dH_l's rows folded back, one matrix per sample."""
    if _maps(c, l):
        from .shaped import flatten_back
        return flatten_back(c, l)
    dH = np.asarray(c.sol.named.get(f"dH{l - 1}", c.sol.step.dZ[l - 1]), dtype=float)
    name = c.n(f"dH{l - 1}")
    out = []
    for i in range(dH.shape[0]):
        lhs = name if dH.shape[0] == 1 else rf"{name}^{{({i + 1})}}"
        note = (rf"the rows of $d{c.n(f'H{l}')}$ folded back into ${c.n(f'H{l - 1}')}$'s shape"
                if i == 0 else "")
        st = c.step(lhs, None, None, dH[i], key=f"dH{l - 1}", shape=True, note=note,
                    asked=False)
        st.at = (i,)  # sample i of the value (a rounded-chain row shows its part)
        out.append(st)
    return out
