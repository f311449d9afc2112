"""The dense layer's worked lines: Z_l = H_{l-1} W_l + b_l (forward), the per-sample and
averaged dW_l and db_l (or dtheta_l), and dH_{l-1} = dZ_l W_l^T (backward), every product with
its numbers. Where a matrix is too large to print whole, one entry is written out in full
(z_11 = x_11 w_11 + ... + b_1 = 6) so the rule can still be followed with a calculator."""

from __future__ import annotations

from ....engine.printed import cancellation_digits, db_as_rows, dw_as_sum, per_sample_shown
from ....render.numbers import fmt
from ...steps import Piece, Step, Val
from ..base import Ctx, products, sum_pieces


def product(c: Ctx, l: int) -> str:
    """H_{l-1} W_l + b_l in symbols (W H + b in the columns layout; - theta for a threshold,
    the weight of a constant -1 input; no b without bias)."""
    sign = "-" if c.threshold(l) else "+"
    return c.prod(c.inp(l), c.n(f"W{l}")) + (
        f" {sign} {c.n(c.bias(l))}" if c.has_bias(l) else "")


def formula(c: Ctx, l: int) -> str:
    """Z_l = H_{l-1} W_l + b_l, for the conventions sentence."""
    return f"{c.n(f'Z{l}')} = {product(c, l)}"


def forward(c: Ctx, l: int) -> list[Step]:
    s, n = c.s, c.n
    b = n(c.bias(l))
    sign = "-" if c.threshold(l) else "+"  # a threshold is the weight of a constant -1 input
    Hv, Wv = c.v(c.H(l - 1), c.hkey(l - 1)), c.v(s.params[f"W{l}"])
    subst: list[Piece] = c.times(Hv, Wv) if not c.cols else c.times(Wv, Hv)
    if c.has_bias(l):
        subst += [sign, c.v(s.params[c.bias(l)])]
    Z = c.sol.step.Z[l - 1]
    first = next(k for k in range(1, l + 1) if c.threshold(k) or k == l)
    note = (f"the threshold ${b}$ is the weight of a constant input $-1$"
            if c.threshold(l) and first == l else "")
    main = c.step(n(f"Z{l}"), product(c, l), subst, Z, key=f"Z{l}", shape=True, note=note)
    out = [main]
    if main.elided or main.subst is None:  # a large network's line without its operands
        out.append(entry_sum(c, l))
    return out


def entry_sum(c: Ctx, l: int) -> Step:
    """Entry (1, 1) of Z_l written out: the sum of products that makes it."""
    s, d = c.s, c.digits
    h, W = c.H(l - 1)[0], s.params[f"W{l}"][:, 0]
    terms = products(list(zip(h.tolist(), W.tolist(), strict=True)), c.dig(c.hkey(l - 1)), d)
    if c.has_bias(l):  # a threshold: the product with the -1 input, -theta
        b0 = float(s.params[c.bias(l)][0, 0])
        terms.append(fmt(-b0 if c.threshold(l) else b0, d))
    i, j = c.entry(0, 0)
    return c.step(rf"\left({c.n(f'Z{l}')}\right)_{{{i}{j}}}", None, sum_pieces(terms),
                  float(c.sol.step.Z[l - 1][0, 0]), asked=False, like=f"Z{l}")


def grads(c: Ctx, l: int) -> list[Step]:
    s, n, sol, m = c.s, c.n, c.sol, c.m
    W, Hp = n(f"W{l}"), c.inp(l)
    hp = c.inp(l, row=True)
    steps: list[Step] = []
    ps = sol.step.per_sample.get(f"W{l}")
    dZ = sol.step.dZ[l - 1]
    Hprev = c.H(l - 1)
    dh, dd = c.dig(c.hkey(l - 1)), c.dig(f"dZ{l}")
    shown = per_sample_shown(s.units, m, ps is not None)
    if shown and ps is not None:  # one power for every sample's dW (they are summed below)
        c.decide(f"dW{l}_per_sample", *[c.show(ps[i]) for i in range(shown)])
    dzk, hk = f"dZ{l}", c.hkey(l - 1)
    for i in range(shown):
        h, dz = Hprev[i:i + 1], dZ[i:i + 1]  # 1 x n (rows)
        if not c.cols:
            f = rf"{hp}^{{({i + 1})T}} {n.row('dZ', i + 1, l)}"
            sub: list[Piece] = c.times(c.row(h.T, hk, dh), c.row(dz, dzk, dd))
        else:
            f = rf"{n.row('dZ', i + 1, l)} {hp}^{{({i + 1})T}}"
            sub = c.times(c.row(dz.T, dzk, dd), c.row(h, hk, dh))
        assert ps is not None
        steps.append(c.step(rf"\frac{{\partial L_{{{i + 1}}}}}{{\partial {W}}}", f, sub, ps[i],
                            key=f"dW{l}_per_sample"))
    pre = c.mean()
    lead = pre + " " if pre else ""
    dZn = n(f"dZ{l}")
    f = lead + (rf"{Hp}^{{T}} {dZn}" if not c.cols else rf"{dZn} {Hp}^{{T}}")
    if s.l2:
        f += rf" + \frac{{\lambda}}{{{m}}} {W}"
    if dw_as_sum(s.units, l, m, ps is not None, s.l2):  # the per-sample matrices added up
        assert ps is not None
        sub = [pre + r"\left("] if pre else []
        for i in range(m):
            sub.append(c.v(ps[i], f"dW{l}_per_sample"))
            if i < m - 1:
                sub.append("+")
        if pre:
            sub.append(r"\right)")
    else:  # too many numbers for one line, or an L2 term: H^T dZ
        HTv, dZv = Val(c.show(Hprev).T, dh), c.v(dZ, f"dZ{l}")
        sub = [pre] if pre else []
        sub += c.times(HTv, dZv) if not c.cols else c.times(dZv, HTv)
        if s.l2:  # the L2 term, with the weights it scales
            sub += [rf"+ \frac{{{fmt(s.l2, c.digits)}}}{{{m}}}", c.v(s.params[f"W{l}"])]
    note = ""
    if l == c.L:
        note = ("the gradient of the batch loss " + (
            "is the one sample's gradient" if m == 1 else
            f"averages the {m} samples' gradients" if s.reduction == "mean" else
            f"adds up the {m} samples' gradients"))
        if s.l2:
            note += r", plus the L2 term $\frac{\lambda}{m} W$"
    main = c.step(f"d{W}", f, sub, sol.step.grads[f"W{l}"], key=f"dW{l}", note=note)
    steps.append(main)
    if main.elided or main.subst is None:  # a large network's line without its operands
        steps.append(grad_entry(c, l))
    if c.has_bias(l):
        steps += bias_per_sample(c, l)
        steps.append(bias_grad(c, l))
    return steps


def bias_per_sample(c: Ctx, l: int) -> list[Step]:
    """Asked for, each sample's db_l is its delta row (a threshold's dtheta_l its negative),
    on a line of its own (a renaming step, its value printed once); not asked, db_l's sum
    shows the rows."""
    key = c.bias(l)
    if f"d{key}_per_sample" not in (c.s.marking.ask or ()):
        return []
    ps = c.sol.step.per_sample.get(key)
    if ps is None:
        return []
    b, sign = c.n(key), "-" if c.threshold(l) else ""
    return [c.step(rf"\frac{{\partial L_{{{i + 1}}}}}{{\partial {b}}}",
                   sign + c.n.row("dZ", i + 1, l), None, ps[i], key=f"d{key}_per_sample")
            for i in range(per_sample_shown(c.s.units, c.m, True))]


def grad_entry(c: Ctx, l: int) -> Step:
    """Entry (1, 1) of dW_l written out: a sum over the samples of the batch."""
    s, sol = c.s, c.sol
    h, dz = c.H(l - 1)[:, 0], sol.step.dZ[l - 1][:, 0]
    pre = c.mean()
    pieces = sum_pieces(products(list(zip(h.tolist(), dz.tolist(), strict=True)),
                                 c.dig(c.hkey(l - 1)), c.dig(f"dZ{l}")), pre)
    if s.l2:  # a negative weight in parentheses: 0.1/3 . (-0.03279), never . -0.03279
        w = fmt(float(s.params[f"W{l}"][0, 0]), c.digits)
        pieces.append(rf"+ \frac{{{fmt(s.l2, c.digits)}}}{{{c.m}}} \cdot "
                      + (rf"\left({w}\right)" if w.startswith("-") else w))
    i, j = c.entry(0, 0)
    return c.step(rf"\left(d{c.n(f'W{l}')}\right)_{{{i}{j}}}", None, pieces,
                  float(sol.step.grads[f"W{l}"][0, 0]), asked=False, like=f"dW{l}")


def bias_grad(c: Ctx, l: int) -> Step:
    """db_l: the batch's deltas added up (and averaged), sample by sample or as column sums."""
    sol, m = c.sol, c.m
    key = c.bias(l)
    b = c.n(key)
    dZ = sol.step.dZ[l - 1]
    pre = c.mean()
    if c.threshold(l):  # z = h W - theta: dL/dtheta = -dL/db
        pre = "-" + pre
    f = (pre + " " if pre else "") + (rf"\sum_{{i=1}}^{{{m}}} {c.n.row('dZ', 'i', l)}" if m > 1
                                      else c.n.row("dZ", "1", l))
    if db_as_rows(m, dZ.shape[1]):  # nearly cancelling rows: the digits that show the sum
        d = cancellation_digits(dZ, dZ.sum(axis=0) / m, c.dig(f"dZ{l}"))
        rows = [c.row(c.show(dZ[i:i + 1]), f"dZ{l}", d) for i in range(m)]
        sub: list[Piece] = [pre + r"\left("] if pre else []
        for i, r in enumerate(rows):
            sub += [r] + (["+"] if i < m - 1 else [])
        sub += [r"\right)"] if pre else []
    else:
        sums = dZ.sum(axis=0, keepdims=True)
        sub = [pre] if pre else []
        sub.append(c.v(sums))
    note = "column sums of $dZ$ (one entry per unit)" if not c.cols and l == c.L and m > 1 \
        else ""
    if c.threshold(l):
        note = (note + "; " if note else "") + "minus, as the threshold's input is $-1$"
    if m == 1 and not c.threshold(l):  # a batch of one: db is the row dz^(1), printed once
        return c.step(f"d{b}", f, None, sol.step.grads[key], key=f"d{key}", note=note)
    return c.step(f"d{b}", f, sub, sol.step.grads[key], key=f"d{key}", note=note)


def back(c: Ctx, l: int) -> list[Step]:
    """dH_{l-1} = dZ_l W_l^T: the gradient this layer passes to the one below."""
    s, n, sol = c.s, c.n, c.sol
    W = n(f"W{l}")
    dZn, dHn = n(f"dZ{l}"), n(f"dH{l - 1}")
    f = f"{dZn} {W}^{{T}}" if not c.cols else f"{W}^{{T}} {dZn}"
    dH = sol.named[f"dH{l - 1}"]
    dZv = c.v(sol.step.dZ[l - 1], f"dZ{l}")
    WTv = Val(c.show(s.params[f"W{l}"].T), c.digits)
    sub: list[Piece] = c.times(dZv, WTv) if not c.cols else c.times(WTv, dZv)
    return [c.step(dHn, f, sub, dH, key=f"dH{l - 1}", asked=False)]
