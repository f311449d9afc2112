"""The configured layers' worked lines as registered WorkedLayers (issue 25): conv, pool,
flatten, batchnorm and dropout, each a function of (Ctx, l) that reads the solution's arrays
(c.sol.step, c.sol.named), the layer's configuration (c.s.layer_cfgs) and its digits, and
hands them to the type's module of plain-array lines (conv.py, pool.py, batchnorm.py,
dropout.py).

Graded values keep their JSON names (families.md): a value of N dimensions (Z1 [m, F, h, w])
is printed as maps, one Step per sample and channel, every one under the value's key; the
key is graded as one value (answers.json's nested list), its maps the printed form."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from ...steps import Step, Val
from ..base import Ctx
from . import batchnorm as BNW
from . import conv as CW
from . import dropout as DW
from . import pool as PW


def solved(c: Ctx, key: str) -> np.ndarray | None:
    """The solution's value of a JSON name (what answers.json holds and `check` grades)."""
    st, sol = c.sol.step, c.sol
    if key == "yhat":
        return st.H[c.L]
    fam, l = key.rstrip("0123456789"), key[len(key.rstrip("0123456789")):]
    if not l:
        return None
    k = int(l)
    if fam == "Z" and st.Z[k - 1] is not None:
        return st.Z[k - 1]
    if fam == "H":
        return st.H[k]
    if fam == "dZ" and st.dZ[k - 1] is not None:
        return st.dZ[k - 1]
    if fam.startswith("d") and fam[1:] + l in st.grads:
        return st.grads[fam[1:] + l]
    return sol.named.get(key)


def pinned(c: Ctx, steps: list[Step]) -> list[Step]:
    """The graded results as the solution has them: a line's result is the solution's value
    (or, for a value printed as maps, its map), so the key prints what answers.json holds; the
    plain-array lines recompute from the solution's floats, where a cancelling sum can leave
    float noise (5e-18 for 0)."""
    count: dict[str, int] = {}
    for st in steps:
        if st.key and st.result is not None and st.result.array.ndim == 2:
            count[st.key] = count.get(st.key, 0) + 1
    seen: dict[str, int] = {}
    for st in steps:
        if not st.key or st.result is None:
            continue
        a = solved(c, st.key)
        if a is None:
            continue
        a = np.asarray(a, dtype=float)
        r = st.result.array
        if a.ndim > 2 and r.ndim == 2:  # the next map, in the lines' order (sample, channel)
            maps = a.reshape(-1, *a.shape[-2:])
            i = seen.get(st.key, 0)
            seen[st.key] = i + 1
            if count[st.key] == len(maps) and maps[i].shape == r.shape:
                st.result = Val(maps[i], st.result.digits, factor=st.result.factor)
        elif a.size == r.size:
            st.result = Val(a.reshape(r.shape), st.result.digits, factor=st.result.factor)
    return steps


def cfg(c: Ctx, l: int) -> dict[str, Any]:
    return dict(c.s.layer_cfgs[l - 1])


def _x(c: Ctx, l: int) -> np.ndarray:
    return np.asarray(c.H(l - 1), dtype=float)


def _dh(c: Ctx, l: int) -> np.ndarray:
    """dH_l, the gradient arriving at layer l's output."""
    return np.asarray(c.sol.named[f"dH{l}"], dtype=float)


def _mean(c: Ctx) -> bool:
    return c.s.reduction == "mean"


def _hkey(c: Ctx, l: int) -> str:
    return "yhat" if l == c.L else f"H{l}"


# convolution

def conv_names(c: Ctx, l: int) -> CW.Names:
    n = c.n
    return CW.Names(x=n(f"H{l - 1}"), z=n(f"Z{l}"), w=n(f"W{l}"), b=n(f"b{l}"),
                    dz=n(f"dZ{l}"), dx="dX" if l == 1 else n(f"dH{l - 1}"), dw=n.d(f"W{l}"),
                    db=n.d(f"b{l}"))


def conv_formula(c: Ctx, l: int) -> str:
    return CW.formula(conv_names(c, l))


def _bias(c: Ctx, l: int) -> np.ndarray | None:
    b = c.s.params.get(f"b{l}")
    return None if b is None else np.asarray(b, dtype=float).reshape(-1)


def conv_forward(c: Ctx, l: int) -> list[Step]:
    g = cfg(c, l)
    return pinned(c, CW.forward(_x(c, l), np.asarray(c.s.params[f"W{l}"], dtype=float), _bias(c, l),
                      c.dig(f"Z{l}"), conv_names(c, l), stride=g["stride"],
                      padding=g["padding"], key=f"Z{l}"))


def conv_grads(c: Ctx, l: int) -> list[Step]:
    g = cfg(c, l)
    dz = np.asarray(c.sol.step.dZ[l - 1], dtype=float)
    W = np.asarray(c.s.params[f"W{l}"], dtype=float)
    ask = c.s.marking.ask or ()
    steps = CW.weight_grad(_x(c, l), dz, W.shape, c.dig(f"dW{l}"), conv_names(c, l),
                           stride=g["stride"], padding=g["padding"], mean=_mean(c),
                           key=f"dW{l}", l2=float(c.s.l2 or 0.0), w=W,
                           per_sample_key=(f"dW{l}_per_sample"
                                           if f"dW{l}_per_sample" in ask else ""))
    if f"b{l}" in c.s.params:
        steps += CW.bias_grad(dz, c.dig(f"db{l}"), conv_names(c, l), mean=_mean(c),
                              key=f"db{l}", per_sample_key=(f"db{l}_per_sample"
                                                            if f"db{l}_per_sample" in ask
                                                            else ""))
    return pinned(c, steps)


def conv_back(c: Ctx, l: int) -> list[Step]:
    g = cfg(c, l)
    dz = np.asarray(c.sol.step.dZ[l - 1], dtype=float)
    return pinned(c, CW.input_grad(dz, np.asarray(c.s.params[f"W{l}"], dtype=float), _x(c, l).shape,
                         c.dig(f"dH{l - 1}"), conv_names(c, l), stride=g["stride"],
                         padding=g["padding"], key=f"dH{l - 1}"))


# pooling

def pool_names(c: Ctx, l: int) -> PW.Names:
    n = c.n
    return PW.Names(x=n(f"H{l - 1}"), h=n(f"H{l}"), dx="dX" if l == 1 else n(f"dH{l - 1}"),
                    dh=n(f"dH{l}"))


def pool_formula(c: Ctx, l: int) -> str:
    g = cfg(c, l)
    return PW.formula(pool_names(c, l), g["kind"], g["size"])


def pool_forward(c: Ctx, l: int) -> list[Step]:
    g = cfg(c, l)
    return pinned(c, PW.forward(_x(c, l), g["kind"], c.dig(_hkey(c, l)), pool_names(c, l),
                      size=g["size"], stride=g["stride"], key=_hkey(c, l)))


def pool_back(c: Ctx, l: int) -> list[Step]:
    g = cfg(c, l)
    return pinned(c, PW.back(_dh(c, l), _x(c, l), g["kind"], c.dig(f"dH{l - 1}"), pool_names(c, l),
                   size=g["size"], stride=g["stride"], key=f"dH{l - 1}"))


def no_grads(c: Ctx, l: int) -> list[Step]:
    return []


# flatten

def flatten_formula(c: Ctx, l: int) -> str:
    return rf"{c.n(f'H{l}')} = \operatorname{{flatten}}\left({c.n(f'H{l - 1}')}\right)"


def flatten_forward(c: Ctx, l: int) -> list[Step]:
    x = _x(c, l)
    dims = r" \cdot ".join(str(k) for k in x.shape[1:])
    note = (f"each sample's maps read row by row, channel after channel, into one row of "
            f"${dims} = {int(np.prod(x.shape[1:]))}$ entries")
    return [c.step(c.n(f"H{l}"), rf"\operatorname{{flatten}}\left({c.n(f'H{l - 1}')}\right)",
                   None, c.H(l), key=_hkey(c, l), shape=True, note=note)]


def flatten_back(c: Ctx, l: int) -> list[Step]:
    """dH_{l-1}: dH_l's rows read back into maps of H_{l-1}'s shape."""
    x = _x(c, l)
    dh = np.asarray(c.sol.named[f"dH{l - 1}"], dtype=float)
    name, src = c.n(f"dH{l - 1}"), c.n(f"dH{l}")
    key, d = f"dH{l - 1}", c.dig(f"dH{l - 1}")
    if x.ndim <= 2:
        return [c.step(name, rf"\operatorname{{reshape}}\left({src}\right)", None, dh,
                       key=key, shape=True)]
    k = CW.power(dh, d)
    steps = []
    for n in range(dh.shape[0]):
        for ch in range(dh.shape[1]):
            steps.append(Step(CW.sym(name, n, str(ch + 1)),
                              rf"\operatorname{{reshape}}\left({CW.sym(src, n)}\right)_{{{ch + 1}}}",
                              None, Val(dh[n, ch], d, factor=k), key=key, shape=True,
                              at=(n, ch),
                              note=(f"each row of ${src}$ read back into the maps, row by "
                                    "row, channel after channel") if (n, ch) == (0, 0) else ""))
    return pinned(c, steps)


# batch normalisation

def bn_names(c: Ctx, l: int) -> BNW.Names:
    """Layer l's names; after an rnn that passes on its last state, the input is that state
    as the dense lines name it (Ctx.inp: h_T, a batch's H^<T>) and so is its gradient: the
    line holds dH_{l-1}[:, T-1], never the rnn's whole dH_{l-1} [samples, steps, units]."""
    names = BNW.Names.layer(l)
    x = c.inp(l)
    if l == 1 or x == c.n(f"H{l - 1}"):
        return names
    return replace(names, x=x, xr=c.inp(l, row=True), dx=f"d{x}")


def bn_formula(c: Ctx, l: int) -> str:
    return BNW.formula(bn_names(c, l))


def _eps(c: Ctx, l: int) -> float:
    return float(cfg(c, l).get("eps", 1e-5))


def bn_forward(c: Ctx, l: int) -> list[Step]:
    s = c.s
    steps = BNW.forward(_x(c, l), np.asarray(s.params[f"gamma{l}"], dtype=float).reshape(-1),
                        np.asarray(s.params[f"beta{l}"], dtype=float).reshape(-1),
                        c.dig(f"H{l}"), bn_names(c, l), eps=_eps(c, l))
    if l == c.L:
        for st in steps:
            if st.key == f"H{l}":
                st.key = "yhat"
    return pinned(c, steps)


def bn_grads(c: Ctx, l: int) -> list[Step]:
    return pinned(c, BNW.grads(_dh(c, l), _x(c, l), c.dig(f"dgamma{l}"), bn_names(c, l),
                     eps=_eps(c, l), mean=_mean(c)))


def bn_back(c: Ctx, l: int) -> list[Step]:
    return pinned(c, BNW.back(_dh(c, l), _x(c, l),
                    np.asarray(c.s.params[f"gamma{l}"], dtype=float).reshape(-1),
                    c.dig(f"dH{l - 1}"), bn_names(c, l), eps=_eps(c, l)))


# dropout

def dropout_names(c: Ctx, l: int) -> DW.Names:
    n = c.n
    return DW.Names(x=n(f"H{l - 1}"), h=n(f"H{l}"), mask=f"M_{{{l}}}",
                    dx="dX" if l == 1 else n(f"dH{l - 1}"), dh=n(f"dH{l}"))


def dropout_formula(c: Ctx, l: int) -> str:
    return DW.formula(dropout_names(c, l))


def _mask(c: Ctx, l: int) -> np.ndarray:
    return np.asarray(cfg(c, l)["mask"], dtype=float)[:c.m]


def dropout_forward(c: Ctx, l: int) -> list[Step]:
    return pinned(c, DW.forward(_x(c, l), _mask(c, l), float(cfg(c, l)["p"]), c.dig(_hkey(c, l)),
                      dropout_names(c, l), key=_hkey(c, l)))


def dropout_back(c: Ctx, l: int) -> list[Step]:
    return pinned(c, DW.back(_dh(c, l), _mask(c, l), float(cfg(c, l)["p"]), c.dig(f"dH{l - 1}"),
                   dropout_names(c, l), key=f"dH{l - 1}"))
