"""The forward pass: Z_l = H_{l-1} W_l + b_l and H_l = f(Z_l), with numbers, layer by layer.

Where a matrix is too large to print whole, one entry is written out in full (z_11 = x_11 w_11
+ ... + b_1 = 6) so the rule can still be followed with a calculator; a sigmoid or tanh shows
one entry's arithmetic, a softmax its exponentials and row sums."""

from __future__ import annotations

import numpy as np

from ...engine.printed import softmax_shifted
from ...render import formulas as F
from ...render.numbers import fmt
from ..content import Eqs, Para, Part
from ..lines import applied
from ..steps import Piece, Step
from .base import Ctx, products, samples, sum_pieces


def forward(c: Ctx) -> Part:
    s, sol = c.s, c.sol
    part = Part("Forward pass")
    if c.whole < s.X.shape[0] and sol.batches and c.t == 1:  # a later step's part says it
        part.items.append(Para(f"The worked step uses the first batch: {samples(sol.batches[0])}."))
    if c.m < c.whole:
        part.items.append(Para(
            ("The worked step is done by hand on the batch's first sample "
             if c.m == 1 else f"The worked step is done by hand on the first {c.m} samples of "
             "the batch ") + f"({samples(sol.batches[0][:c.m])}); the loss and gradient of the whole batch of "
            f"{c.whole} samples, which the update uses, are given as computed results."))
    steps: list[Step] = []
    for l in range(1, s.depth + 1):
        steps += affine(c, l)
        steps += activation(c, l)
    part.items.append(Eqs(steps))
    return part


def affine(c: Ctx, l: int) -> list[Step]:
    s, n = c.s, c.n
    Hp, W, b = n(f"H{l - 1}"), n(f"W{l}"), n(c.bias(l))
    sign = "-" if c.threshold(l) else "+"  # a threshold is the weight of a constant -1 input
    formula = c.prod(Hp, W) + (f" {sign} {b}" if c.has_bias(l) else "")
    Hv, Wv = c.v(c.H(l - 1), c.hkey(l - 1)), c.v(s.params[f"W{l}"])
    subst: list[Piece] = c.times(Hv, Wv) if not c.cols else c.times(Wv, Hv)
    if c.has_bias(l):
        subst += [sign, c.v(s.params[c.bias(l)])]
    Z = c.sol.step.Z[l - 1]
    first = next(k for k in range(1, l + 1) if c.threshold(k) or k == l)
    note = (f"the threshold ${b}$ is the weight of a constant input $-1$"
            if c.threshold(l) and first == l else "")
    main = c.step(n(f"Z{l}"), formula, subst, Z, key=f"Z{l}", shape=True, note=note)
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


def activation(c: Ctx, l: int) -> list[Step]:
    s, n, sol = c.s, c.n, c.sol
    act = s.activations[l - 1]
    Hn, Zn = n(f"H{l}"), n(f"Z{l}")
    key = f"H{l}" if l < s.depth else "yhat"
    Z, H = sol.step.Z[l - 1], c.H(l)
    if act == "linear":
        return [Step(Hn, Zn, None, None, asked=False)]
    if act == "softmax":
        return softmax(c, l)
    out = [c.step(Hn, F.apply(act, Zn), [applied(F.ACT_APPLY[act], c.v(Z, f"Z{l}"))], H,
                  key=key, shape=True)]
    if act in ("sigmoid", "tanh"):  # one entry's arithmetic, for the calculator
        zs = fmt(float(Z[0, 0]), c.dig(f"Z{l}"))
        neg = rf"\left({zs}\right)" if zs.startswith("-") else zs
        body = (rf"\frac{{1}}{{1 + e^{{-{neg}}}}}" if act == "sigmoid"
                else rf"\frac{{e^{{{zs}}} - e^{{-{neg}}}}}{{e^{{{zs}}} + e^{{-{neg}}}}}")
        i, j = c.entry(0, 0)
        out.append(c.step(rf"\left({Hn}\right)_{{{i}{j}}}", None, [body], float(H[0, 0]),
                          asked=False, like=key))
    return out


def softmax(c: Ctx, l: int) -> list[Step]:
    """The exponentials, their sum per sample, and the quotients."""
    n, sol = c.n, c.sol
    Z = sol.step.Z[l - 1]
    shift = Z.max(axis=1, keepdims=True) if softmax_shifted(Z) else np.zeros((Z.shape[0], 1))
    E, sums = sol.named[f"E{l}"], sol.named[f"Esum{l}"]
    Zn, Hn = n(f"Z{l}"), n(f"H{l}")
    key = f"H{l}" if l < c.L else "yhat"
    per = "row" if not c.cols else "column"
    note = (f"softmax: the exponential of each entry, divided by the sum of its {per} "
            "(one sample)")
    if shift.any():
        note += f"; each {per} is first shifted by its largest entry, which leaves the softmax unchanged"
        formula = rf"e^{{{Zn} - \max}}"
    else:
        formula = f"e^{{{Zn}}}"
    ek, sk = f"E{l}", f"Esum{l}"
    steps = [c.step("E", formula, [applied(r"\exp\left({}\right)", c.v(Z - shift))], E,
                    key=ek, asked=False, note=note)]
    one = r"\mathbf{1}"
    steps.append(c.step(r"\mathbf{s}", f"E {one}" if not c.cols else f"{one}^{{T}} E",
                        [c.v(E, ek), one] if not c.cols else [f"{one}^{{T}}", c.v(E, ek)], sums,
                        key=sk, asked=False))
    first = " + ".join(fmt(float(x), c.dig(ek)) for x in E[0])
    steps.append(c.step(r"s_{1}", None, [first], float(sums[0, 0]), asked=False, like=sk))
    steps.append(c.step(Hn, r"E \oslash \mathbf{s}", [c.v(E, ek), r"\oslash", c.v(sums, sk)],
                        sol.step.H[l], key=key, shape=True))
    return steps
