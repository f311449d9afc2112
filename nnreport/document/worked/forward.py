"""The forward pass, layer by layer: Z_l from H_{l-1} (the layer type's worked module,
document/worked/layers/), then H_l = f(Z_l), with numbers.

A sigmoid or tanh shows one entry's arithmetic, a softmax its exponentials and row sums."""

from __future__ import annotations

import numpy as np

from ...engine.printed import softmax_shifted
from ...render import formulas as F
from ...render.numbers import fmt
from ..content import Eqs, Para, Part
from ..lines import applied
from ..steps import Step
from .base import Ctx, samples
from .layers import worked_layer


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
        steps += worked_layer(c, l).forward(c, l)
        if c.own_activation(l):  # not for a layer without Z or with its activation inside
            steps += activation(c, l)
    part.items.append(Eqs(steps))
    return part


def activation(c: Ctx, l: int) -> list[Step]:
    s, n, sol = c.s, c.n, c.sol
    act = s.activations[l - 1]
    Hn, Zn = n(f"H{l}"), n(f"Z{l}")
    key = f"H{l}" if l < s.depth else "yhat"
    Z, H = sol.step.Z[l - 1], c.H(l)
    if act == "linear":  # H = Z; its numbers once more only when H itself is asked
        if key in (s.marking.ask or ()):
            return [c.step(Hn, Zn, None, H, key=key)]
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
