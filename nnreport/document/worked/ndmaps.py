"""The activation lines of a layer whose Z is a stack of maps (a conv layer's Z_l [m, F, h,
w]): H_l = f(Z_l) and dZ_l = dH_l (.) f'(Z_l), one Step per sample and map, every one under
the value's JSON name (the key graded as one value; its maps its printed form)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...render import formulas as F
from ..steps import Step, Val
from .base import Ctx
from .layers.conv import power, sym


def each_map(c: Ctx, a: np.ndarray, lhs: str, formula: str, key: str, note: str = ""
             ) -> list[Step]:
    """One Step per sample n and map f: lhs^{(n)}_{f} = formula(...) = the map."""
    d = c.dig(key)
    a = np.asarray(a, dtype=float)
    k = power(a, d)
    return [Step(sym(lhs, n, str(f + 1)), formula.replace("#", f"^{{({n + 1})}}_{{{f + 1}}}"),
                 None, Val(a[n, f], d, factor=k), key=key, shape=True,
                 note=note if (n, f) == (0, 0) else "", at=(n, f))
            for n in range(a.shape[0]) for f in range(a.shape[1])]


def activation(c: Ctx, l: int) -> list[Step]:
    act = c.s.activations[l - 1]
    Zn, Hn = c.n(f"Z{l}"), c.n(f"H{l}")
    key = f"H{l}" if l < c.L else "yhat"
    inner = rf"\left({Zn}\right)#"
    return each_map(c, c.H(l), Hn, F.apply(act, inner) if act != "linear" else inner, key,
                    note="the activation applied to each entry of each map")


def delta(c: Ctx, l: int, deriv_name: str) -> list[Step]:
    act = c.s.activations[l - 1]
    dHn, Zn = c.n(f"dH{l}"), c.n(f"Z{l}")
    dz = c.sol.step.dZ[l - 1]
    if act == "linear":
        return each_map(c, dz, c.n(f"dZ{l}"), rf"\left({dHn}\right)#", f"dZ{l}")
    form = rf"\left({dHn}\right)# \odot {deriv_name}\left(\left({Zn}\right)#\right)"
    note = ("each entry of $" + dHn + "$ times the activation's derivative at $" + Zn + "$"
            + (r" (1 where $Z > 0$, else 0)" if act == "relu" else ""))
    return each_map(c, dz, c.n(f"dZ{l}"), form, f"dZ{l}", note=note)


def split_maps(steps: list[Step]) -> list[Step]:
    """Steps whose values have more than two dimensions (a conv kernel W [F, C, kh, kw] and
    its update) as one Step per map: every value of that shape sliced at (f, c), the left side
    indexed (W_1^new)_{f,c}; other steps as they are. The key stays the value's (its maps
    are its printed form)."""
    out: list[Step] = []
    for st in steps:
        vals = [p for p in [*(st.subst or []), st.result] if isinstance(p, Val)]
        big = [v for v in vals if v.array.ndim > 2]
        if not big:
            out.append(st)
            continue
        shape = big[0].array.shape
        powers = {id(v): power(v.array, v.digits) for v in big}
        for n, at in enumerate(np.ndindex(*shape[:-2])):
            sub = ",".join(str(i + 1) for i in at)
            subst = None if st.subst is None else [_cut(p, at, shape, powers) for p in st.subst]
            res = _cut(st.result, at, shape, powers)
            out.append(Step(rf"\left({st.lhs}\right)_{{{sub}}}", st.formula, subst,
                            res if isinstance(res, Val) else None, key=st.key,
                            shape=st.shape, note=st.note if n == 0 else "", asked=st.asked,
                            at=(*st.at, *at)))
    return out


def _cut(p: Any, at: tuple[int, ...], shape: tuple[int, ...], powers: dict[int, bool | int]
         ) -> Any:
    """Map `at` of a value of that shape (with its quantity's power of ten); else p."""
    if isinstance(p, Val) and p.array.shape == shape:
        return Val(p.array[at], p.digits, factor=powers[id(p)])
    return p
