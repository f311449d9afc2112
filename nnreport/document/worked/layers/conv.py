"""The convolution layer's worked lines (issue 25), as a student writes them.

Forward: the input with the window of one output entry shaded, that entry written in full
(the window times the kernel entrywise, summed, plus the bias: every product with its numbers),
then every feature map. Backward: db as dZ summed over positions (and samples, with the mean's
1/m); dW as the correlation of the padded input with dZ (one entry in full: the input entries
it meets shaded, then the whole); dX (dH_{l-1}) as the full convolution of dZ, dilated by the
stride and padded with kernel - 1 zeros, with the flipped kernel (one entry in full, then the
whole). Every number is a `Val` or is written by render/numbers.fmt, so the printing rule holds.

The functions take plain arrays (engine/layers/conv.py's shapes: X [m, C, H, W], W [F, C, kh,
kw], b [F], Z and dZ [m, F, oh, ow]), the display names (`Names`) and the digits; once the
layer is registered they are wrapped as WorkedLayer(forward, grads, back, formula) functions of
(Ctx, l), which read these arrays from the solution. The numbers are engine/layers/conv.py's.
Indices in the lines are 1-based: (Z_1)^{(n)}_{f,ij} is sample n, filter f, row i, column j.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from ....engine.layers import conv as C
from ....render.maps import maps
from ....render.numbers import fmt
from ...steps import Piece, Step, Val
from .mapparts import (
    elided,
    few,
    idx,
    joint,
    mean_of,
    mean_scale,
    nearest,
    pieces,
    power,
    samples_sum,
    sum_of,
    sym,
    term,
    unit,
)

__all__ = ["Names", "bias_grad", "formula", "forward", "input_grad", "weight_grad", "elided",
           "few", "idx", "joint", "mean_of", "mean_scale", "nearest", "pieces", "power",
           "samples_sum", "sum_of", "sym", "term", "unit"]  # the shared pieces, as before


@dataclass(frozen=True)
class Names:
    """The LaTeX of each quantity: the input, the output and the parameters, their gradients."""

    x: str = "X"
    z: str = "Z"
    w: str = "W"
    b: str = "b"
    dz: str = "dZ"
    dx: str = "dX"
    dw: str = "dW"
    db: str = "db"

    @classmethod
    def layer(cls, l: int) -> Names:
        """Layer l's names as the dense layers' lines write them: Z_{l}, H_{l-1} (X for the
        first layer), W_{l}, b_{l} and their d-names."""
        x = "X" if l == 1 else f"H_{{{l - 1}}}"
        return cls(x=x, z=f"Z_{{{l}}}", w=f"W_{{{l}}}", b=f"b_{{{l}}}", dz=f"dZ_{{{l}}}",
                   dx="dX" if l == 1 else f"dH_{{{l - 1}}}", dw=f"dW_{{{l}}}",
                   db=f"db_{{{l}}}")


def formula(names: Names = Names()) -> str:
    """Z_l = H_{l-1} * W_l + b_l for the conventions sentence (* the cross-correlation)."""
    return rf"{names.z} = {names.x} \ast {names.w} + {names.b}"


def _padded(name: str, n: int | str | None, padding: C.Size) -> str:
    return (rf"\operatorname{{pad}}\left({sym(name, n)}\right)"
            if any(C.pair(padding, "padding", 0)) else sym(name, n))


def _summed(maps_: np.ndarray, d: int, n: int) -> Piece:
    """Sample n's map with a sum sign: the sum of its entries."""
    return unit(r"\sum", Val(maps_[n], d))


def _window_product(windows: list[np.ndarray], kernels: list[np.ndarray], d: int
                    ) -> list[Piece]:
    """sum(window_c (.) kernel_c) + ... over the channels, with the matrices; each channel's
    product one unit (its pieces when too wide), the line breaking before a +."""
    out: list[Piece] = []
    for k, (win, ker) in enumerate(zip(windows, kernels, strict=True)):
        out += ([] if k == 0 else ["+"]) + joint(r"\sum\left(", Val(win, d), r"\odot",
                                                 Val(ker, d), r"\right)")
    return out


def forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, digits: int,
            names: Names = Names(), *, stride: C.Size = 1, padding: C.Size = 0,
            at: tuple[int, int, int, int] = (0, 0, 0, 0), samples: list[int] | None = None,
            key: str = "", show_input: bool = True) -> list[Step]:
    """Z's lines: sample n's input (padded) with the window of entry `at` = (n, f, i, j)
    shaded; that entry in full, sum(window (.) kernel) + b = the products = z; then each
    sample's (of `samples`, default all) feature maps, one per filter, `key` their JSON name
    (the values graded)."""
    d = digits
    n, f, i, j = at
    e = C.entry(x, w, b, n, f, i, j, stride, padding)
    kh, kw = w.shape[2], w.shape[3]
    xp = C.pad(x, padding)
    (ph, pw) = C.pair(padding, "padding", 0)
    Z = nearest(lambda x_, w_, b_: C.forward(x_, w_, b_, stride, padding), x, w, b)
    zname = sym(names.z, n, idx(f, i, j))
    steps: list[Step] = []
    if show_input:
        note = rf"the window that makes ${zname}$ shaded"
        if ph or pw:
            note += (f"; the input padded with {ph} zero{'s' if ph > 1 else ''} on every side"
                     if ph == pw else
                     f"; the input padded with {ph} zero rows and {pw} zero columns")
        steps.append(Step(_padded(names.x, n, padding), None,
                          pieces(maps(xp[n], d, window=(e.row, e.col, kh, kw))), None, note=note,
                          asked=False))
    chans = x.shape[1]
    sub_c = r"\sum_{c}" if chans > 1 else ""
    win = sym(names.x, n, (r"c,\text{window}" if chans > 1 else r"\text{window}"))
    ker = sym(names.w, None, f"{f + 1},c" if chans > 1 else f"{f + 1}")
    bias = f" + {sym(names.b, None, str(f + 1))}" if b is not None else ""
    form = rf"{sub_c}\sum\left({win} \odot {ker}\right){bias}"
    subst = _window_product(list(e.window), list(e.kernel), d)
    # the products, a padding zero's left out (it adds nothing)
    inside = np.zeros(xp.shape[2:], dtype=bool)
    inside[ph:ph + x.shape[2], pw:pw + x.shape[3]] = True
    terms = []
    for c in range(chans):
        for p in range(kh):
            for q in range(kw):
                if inside[e.row + p, e.col + q]:
                    terms.append(term(float(e.window[c, p, q]), float(e.kernel[c, p, q]), d))
    if b is not None:
        subst += ["+", Val(float(e.bias), d)]
        bt = fmt(float(e.bias), d)
        terms.append(bt)
    note = "each entry of the window times the kernel entry over it, added up" + (
        ", plus the bias" if b is not None else "") + (
        " (the padding's zeros add nothing)" if ph or pw else "")
    steps.append(Step(zname, form, subst, Val(float(Z[n, f, i, j]), d), note=note,
                      more=[sum_of(terms)], asked=False))
    sh, sw = C.pair(stride, "stride")
    moving = ("each window's sum, the window moving one entry at a time" if (sh, sw) == (1, 1)
              else f"each window's sum, the window moving {sh} entries at a time" if sh == sw
              else f"each window's sum, the window moving {sh} rows and {sw} columns at a time")
    zpow = power(Z, d)
    for s in range(x.shape[0]) if samples is None else samples:
        for g in range(w.shape[0]):
            xs = sym(names.x, s, "c") if chans > 1 else sym(names.x, s)
            if ph or pw:
                xs = rf"\operatorname{{pad}}\left({xs}\right)"
            mapf = (rf"\sum_{{c}} {xs} \ast "
                    rf"{sym(names.w, None, f'{g + 1},c' if chans > 1 else str(g + 1))}"
                    + (f" + {sym(names.b, None, str(g + 1))}" if b is not None else ""))
            if chans == 1:
                mapf = mapf.replace(r"\sum_{c} ", "")
            steps.append(Step(sym(names.z, s, str(g + 1)), mapf, None,
                              Val(Z[s, g], d, factor=zpow),
                              key=key, shape=True, at=(s, g),
                              note=(moving if s == (samples or [0])[0] and g == 0 else "")))
    return steps


def bias_grad(dz: np.ndarray, digits: int, names: Names = Names(), *, mean: bool = True,
              key: str = "", per_sample_key: str = "") -> list[Step]:
    """db_f = (1/m) sum_n sum_{i,j} dZ[n, f, i, j]: each filter's sum (each sample's map
    summed, then the samples), then db, `key` its JSON name. `per_sample_key` (a JSON name,
    such as db1_per_sample): each sample's db first, a line each (the first samples of a
    large batch)."""
    d, m, F = digits, dz.shape[0], dz.shape[1]
    pre = mean_of(m, mean)
    db = nearest(lambda d_: d_.sum(axis=(0, 2, 3)) * mean_scale(d_, m, bool(pre)), dz)
    per = nearest(lambda d_: d_.sum(axis=(2, 3)), dz)  # each sample's map summed
    steps = []
    if per_sample_key:
        for n in (n for n in few(m) if n is not None):
            steps.append(Step(rf"\frac{{\partial L_{{{n + 1}}}}}{{\partial {names.b}}}",
                              rf"\sum_{{i,j}} {sym(names.dz, n, 'f,ij')}", None,
                              Val(per[n], d), key=per_sample_key, at=(n,),
                              note=("each sample's gradient: its $dZ$ map summed, filter by "
                                    "filter") if n == 0 else ""))
    for f in range(F):
        lhs = sym(names.db, None, str(f + 1)) if F > 1 else names.db
        form = (pre + " " if pre else "") + (r"\sum_{n}" if m > 1 else "") + \
            rf"\sum_{{i,j}} {sym(names.dz, 'n' if m > 1 else 0, f'{f + 1},ij')}"
        sums = [fmt(float(per[n, f]), d) for n in range(m)]
        sub: list[Piece] | None = samples_sum(m, partial(_summed, dz[:, f], d), pre)
        more = [sum_of(sums, pre)] if m > 1 else []
        if elided(dz):  # a large map: its entries cannot be added up from the corners shown,
            sub, more = (more[0] if more else None), []  # each map's sum is written instead
        steps.append(Step(lhs, form, sub, Val(float(db[f]), d), more=more,
                          key="" if F > 1 else key, asked=F == 1,
                          note=f"${names.dz}$'s entries added up, over positions" + (
                              " and samples" if m > 1 else "") + (
                              f", divided by $m = {m}$" if pre else "") + (
                              " (each sample's map summed first)" if m > 1 and elided(dz)
                              else "") if f == 0 else ""))
    if F > 1:
        steps.append(Step(names.db, None, None, Val(db, d), key=key, shape=True))
    return steps


def _strided(xp: np.ndarray, p: int, q: int, sh: int, sw: int, oh: int, ow: int) -> np.ndarray:
    """The positions of the padded input that kernel entry (p, q) meets, as a mask."""
    mask = np.zeros(xp.shape, dtype=bool)
    mask[p:p + sh * (oh - 1) + 1:sh, q:q + sw * (ow - 1) + 1:sw] = True
    return mask


def weight_grad(x: np.ndarray, dz: np.ndarray, w_shape: tuple[int, ...], digits: int,
                names: Names = Names(), *, stride: C.Size = 1, padding: C.Size = 0,
                at: tuple[int, int, int, int] = (0, 0, 0, 0), mean: bool = True,
                key: str = "", show_input: bool = True, l2: float = 0.0,
                w: np.ndarray | None = None, per_sample_key: str = "") -> list[Step]:
    """dW's lines: the input entries that kernel entry `at` = (f, c, p, q) meets shaded in
    each sample's (padded) channel c; that entry in full, (1/m) sum_n sum(X_slice (.) dZ_f) =
    the products = its value; then dW, one kernel (filter f, channel c) a line, `key` their
    JSON name. The correlation of the padded input with dZ, dZ's entries `stride` apart. With
    an L2 penalty `l2` (lambda) and the weights `w`, dW also has (lambda / m) W, as a dense
    layer's. `per_sample_key` (dW1_per_sample): each sample's dW (no 1/m, no L2), one kernel
    a line, before the batch's (the first samples of a large batch)."""
    if l2 and w is None:
        raise ValueError("an L2 term needs the weights w")
    d = digits
    m, F, oh, ow = dz.shape
    f, c, p, q = at
    sh, sw = C.pair(stride, "stride")
    ph, pw = C.pair(padding, "padding", 0)
    xp = C.pad(x, padding)
    pre = mean_of(m, mean)
    wl2 = np.zeros(w_shape) if w is None else w
    dW = nearest(lambda x_, d_, w_, l_: C.grads(x_, d_, w_, stride, padding,
                                                mean_scale(d_, m, bool(pre)))[0]
                 + (l_ / m * w_ if l2 else 0), x, dz, wl2, np.asarray(l2))
    ename = sym(names.dw, None, idx(f, c, p, q))
    steps: list[Step] = []
    mask = _strided(xp[0, 0], p, q, sh, sw, oh, ow)
    if show_input:
        shown = [n for n in few(m) if n is not None][:3]
        stack = xp[shown, c]
        steps.append(Step(
            sym(_padded(names.x, None, padding), None, str(c + 1)) if x.shape[1] > 1
            else _padded(names.x, None, padding),  # (H_1)_c, never H_1_c
            None, pieces(maps(stack, d, labels=[f"sample {n + 1}" for n in shown],
                       windows=np.broadcast_to(mask, stack.shape))), None, asked=False,
            note=rf"the input entries that ${sym(names.w, None, idx(f, c, p, q))}$ meets "
                 rf"(shaded): they multiply $dZ$ in ${ename}$"))
    if per_sample_key:
        ps = nearest(lambda x_, d_: C.per_sample(x_, d_, np.zeros(w_shape), stride, padding)[0],
                     x, dz)
        ppow = power(ps, d)
        for n in (n for n in few(m) if n is not None):
            for g in range(w_shape[0]):
                for k in range(w_shape[1]):
                    xk = _padded(names.x, n, padding) + (
                        f"_{{{k + 1}}}" if w_shape[1] > 1 else "")
                    steps.append(Step(
                        rf"\frac{{\partial L_{{{n + 1}}}}}"
                        rf"{{\partial {sym(names.w, None, f'{g + 1},{k + 1}')}}}",
                        rf"{xk} \ast {sym(names.dz, n, str(g + 1))}", None,
                        Val(ps[n, g, k], d, factor=ppow), key=per_sample_key, shape=True,
                        at=(n, g, k),
                        note="each sample's gradient: its input correlated with its $dZ$"
                        if (n, g, k) == (0, 0, 0) else ""))
    sl = [xp[n, c][mask].reshape(oh, ow) for n in range(m)]
    inside = np.zeros(xp.shape[2:], dtype=bool)
    inside[ph:ph + x.shape[2], pw:pw + x.shape[3]] = True
    ins = inside[mask].reshape(oh, ow)
    xs = sym(names.x, "n" if m > 1 else 0, f"{c + 1},[{p + 1}{q + 1}]")
    dzs = sym(names.dz, "n" if m > 1 else 0, str(f + 1))
    form = ((pre + " " if pre else "") + (r"\sum_{n}" if m > 1 else "")
            + rf"\sum\left({xs} \odot {dzs}\right)")
    sub: list[Piece] | None = samples_sum(
        m, lambda n: joint(r"\sum\left(", Val(sl[n], d), r"\odot", Val(dz[n, f], d),
                           r"\right)"), pre)
    if elided(dz):  # a large map's corners say little: the products written out show it
        sub = None
    terms: list[str] = []
    for n in range(m):
        terms += [term(float(a), float(g), d) for a, g, k in
                  zip(sl[n].ravel(), dz[n, f].ravel(), ins.ravel(), strict=True) if k]
    more = sum_of(terms, pre)
    lam = rf" + \frac{{\lambda}}{{{m}}} {sym(names.w, None, idx(f, c, p, q))}" if l2 else ""
    if l2:
        assert w is not None
        wv = fmt(float(w[f, c, p, q]), d)
        pen = rf"+ \frac{{{fmt(l2, d)}}}{{{m}}} \cdot " + (rf"\left({wv}\right)"
                                                         if wv.startswith("-") else wv)
        if sub is not None:
            sub.append(pen)
        more.append(pen)
    steps.append(Step(ename, form + lam, sub, Val(float(dW[f, c, p, q]), d),
                      more=[more], asked=False,
                      note="the input entries the kernel entry met, times the gradient at "
                           "each output they made" + (", over the samples" if m > 1 else "")
                           + (r", plus the L2 term $\frac{\lambda}{m} W$" if l2 else "")))
    xpad = _padded(names.x, "n" if m > 1 else 0, padding)
    wpow = power(dW, d)
    for g in range(w_shape[0]):
        for k in range(w_shape[1]):
            xk = xpad + (f"_{{{k + 1}}}" if w_shape[1] > 1 else "")
            form_w = ((pre + " " if pre else "") + (r"\sum_{n} " if m > 1 else "")
                      + rf"{xk} \ast {sym(names.dz, 'n' if m > 1 else 0, str(g + 1))}"
                      + (rf" + \frac{{\lambda}}{{{m}}} {sym(names.w, None, f'{g + 1},{k + 1}')}"
                         if l2 else ""))
            steps.append(Step(sym(names.dw, None, f"{g + 1},{k + 1}"), form_w, None,
                              Val(dW[g, k], d, factor=wpow), key=key, shape=True, at=(g, k),
                              note=("the correlation of the input with $dZ$" + (
                                  f", $dZ$'s entries {sh} apart (the stride)"
                                  if (sh, sw) != (1, 1) else ""))
                              if (g, k) == (0, 0) else ""))
    return steps


def input_grad(dz: np.ndarray, w: np.ndarray, x_shape: tuple[int, ...], digits: int,
               names: Names = Names(), *, stride: C.Size = 1, padding: C.Size = 0,
               at: tuple[int, int, int, int] = (0, 0, 0, 0), samples: list[int] | None = None,
               key: str = "", show_input: bool = True) -> list[Step]:
    """dX's lines: sample n's dZ dilated by the stride and padded with kh - 1 (kw - 1) zeros,
    the window of entry `at` = (n, c, i, j) shaded; the flipped kernels of channel c; that
    entry in full (sum over filters of window (.) flipped kernel = the products = its value);
    then each sample's dX, one channel a line, `key` its JSON name."""
    d = digits
    n, c, i, j = at
    m, F, oh, ow = dz.shape
    kh, kw = w.shape[2], w.shape[3]
    sh, sw = C.pair(stride, "stride")
    ph, pw = C.pair(padding, "padding", 0)
    dX = nearest(lambda d_, w_: C.back(d_, w_, x_shape, stride, padding), dz, w)
    H, W = x_shape[2], x_shape[3]
    eh, ew = H + 2 * ph - ((oh - 1) * sh + kh), W + 2 * pw - ((ow - 1) * sw + kw)
    full = C.pad_sides(C.dilate(dz, (sh, sw)), kh - 1, kh - 1 + eh, kw - 1, kw - 1 + ew)
    real = C.pad_sides(C.dilate(np.ones(dz.shape), (sh, sw)), kh - 1, kh - 1 + eh, kw - 1,
                       kw - 1 + ew)[0, 0] > 0  # where dZ's own entries are
    flipped = C.flip(w)  # [C, F, kh, kw]
    r0, c0 = i + ph, j + pw
    ename = sym(names.dx, n, idx(c, i, j))
    tilde = rf"\widetilde{{{names.dz}}}"
    steps: list[Step] = []
    if show_input:
        how = []
        if sh > 1 or sw > 1:
            gap = f"{sh - 1}" if sh == sw else f"{sh - 1} (rows), {sw - 1} (columns)"
            how.append(f"dilated by the stride ({gap} zero{'' if gap == '1' else 's'} "
                       "between entries)")
        if kh == kw and kh > 1:
            how.append(f"padded with {kh - 1} zero{'s' if kh != 2 else ''} on every side "
                       "(kernel size - 1)")
        elif kh > 1 or kw > 1:
            how.append(f"padded with {kh - 1} zero rows and {kw - 1} zero columns on each side "
                       "(kernel size - 1)")
        steps.append(Step(sym(tilde, n), None,
                          pieces(maps(full[n], d, word="filter", window=(r0, c0, kh, kw))), None,
                          asked=False,
                          note=f"${names.dz}$ " + (" and ".join(how) or "as it is (a 1 by 1 "
                                                   "kernel needs no padding)")
                               + rf"; the window of ${ename}$ shaded"))
        steps.append(Step(rf"\operatorname{{rot}}_{{180}}\left({names.w}\right)_{{\cdot,{c + 1}}}",
                          None, pieces(maps(flipped[c], d, word="filter")), None, asked=False,
                          note="the kernels of channel " + str(c + 1)
                               + " rotated by 180 degrees (flipped in both directions)"))
    win = full[n, :, r0:r0 + kh, c0:c0 + kw]
    ok = real[r0:r0 + kh, c0:c0 + kw]
    sub_f = r"\sum_{f}" if F > 1 else ""
    wsub = r"f,\text{window}" if F > 1 else r"\text{window}"
    form = (rf"{sub_f}\sum\left({sym(tilde, n, wsub)}"
            rf" \odot \operatorname{{rot}}_{{180}}\left({names.w}\right)_{{"
            + ("f," if F > 1 else "1,") + f"{c + 1}}}" + r"\right)")
    subst = _window_product(list(win), list(flipped[c]), d)
    terms = [term(float(win[f, p, q]), float(flipped[c, f, p, q]), d)
             for f in range(F) for p in range(kh) for q in range(kw) if ok[p, q]]
    steps.append(Step(ename, form, subst, Val(float(dX[n, c, i, j]), d),
                      more=[sum_of(terms)], asked=False,
                      note="the gradient at each output this input entry helped make, times "
                           "the kernel entry that joined them" + (
                               " (the inserted zeros add nothing)" if (sh > 1 or sw > 1) else
                               " (the padding's zeros add nothing)")))
    crop = " cropped by the padding" if ph or pw else ""
    xpow = power(dX, d)
    for s in range(m) if samples is None else samples:
        for k in range(x_shape[1]):
            form_s = ((r"\sum_{f} " if F > 1 else "") + sym(tilde, s, "f" if F > 1 else "")
                      + rf" \ast \operatorname{{rot}}_{{180}}\left({names.w}\right)_{{"
                      + ("f," if F > 1 else "1,") + f"{k + 1}}}")
            steps.append(Step(sym(names.dx, s, str(k + 1)), form_s, None,
                              Val(dX[s, k], d, factor=xpow),
                              key=key, shape=True, at=(s, k),
                              note=("the full convolution" + crop) if (s, k) == (
                                  (samples or [0])[0], 0) else ""))
    return steps
