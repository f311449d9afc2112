"""The loss: each sample's loss with its numbers, the L2 penalty, and the batch loss."""

from __future__ import annotations

import numpy as np

from ...engine.intermediates import decayed, squared_norms
from ...engine.printed import PER_SAMPLE_SHOWN, one_minus
from ...render import formulas as F
from ...render.numbers import fmt
from ..content import Eqs, Part
from ..steps import Piece, Step
from .base import Ctx, sum_pieces

MAX_OUTPUT_TERMS = 4  # terms of a per-sample sum over outputs written out


def loss(c: Ctx) -> Part:
    s, sol = c.s, c.sol
    k = s.Y.shape[1]
    part = Part("Loss")
    per = F.loss_formula(s.loss, s.eps, k, s.factor, yhat=r"\hat{y}_i", y="y_i") if k == 1 else \
        F.loss_formula(s.loss, s.eps, k, s.factor, yhat=r"\hat{y}", y="y")
    steps = [Step("L_i", per, None, None, asked=False)]
    Yb, yh = sol.Yb, sol.step.H[-1]
    ls = sol.step.loss_per_sample
    if c.m <= PER_SAMPLE_SHOWN:
        for i in range(c.m):
            steps.append(c.step(f"L_{{{i + 1}}}", None, sample_subst(c, Yb[i], yh[i]),
                                float(ls[i]), key="loss_per_sample"))
    else:
        steps.append(c.step(r"\mathbf{L}", None, None, ls.reshape(-1, 1), key="loss_per_sample",
                            asked=False))
    data = sum_formula(c, "L_i")
    penalty = 0.0
    if s.l2:
        penalty_step, penalty = l2_step(c)
        steps.append(penalty_step)
    shown = ([fmt(float(x), c.dig("loss_per_sample")) for x in ls] if c.m <= PER_SAMPLE_SHOWN
             else None)
    if shown:
        terms = " + ".join(shown).replace("+ -", "- ")
        body = rf"\frac{{1}}{{{c.m}}}\left({terms}\right)" if s.reduction == "mean" else terms
    else:
        total = fmt(float(ls.sum()), c.digits)
        body = rf"\frac{{{total}}}{{{c.m}}}" if s.reduction == "mean" else total
    if c.m == 1 and shown:  # a batch of one: L is L_1 (the sum and the 1/1 say nothing)
        formula, subst = "L_{1}", shown[0]
    else:
        formula, subst = data, body
    if s.l2:
        formula += " + R"
        subst += f" + {fmt(penalty, c.dig('loss_l2'))}"
    steps.append(c.step("L", formula, [subst] if s.l2 or c.m > 1 else None, sol.step.loss,
                        key="loss"))
    if sol.batch is not None:
        steps.append(c.step(r"L^{\text{batch}}", None, None, sol.batch.loss, key="loss_batch",
                            asked=False, note=f"the same loss over the whole batch of {c.whole} "
                                              "samples (computed)"))
    part.items.append(Eqs(steps))
    return part


def sum_formula(c: Ctx, term: str) -> str:
    m = c.m
    return (rf"\frac{{1}}{{{m}}} \sum_{{i=1}}^{{{m}}} {term}" if c.s.reduction == "mean"
            else rf"\sum_{{i=1}}^{{{m}}} {term}")


def l2_step(c: Ctx) -> tuple[Step, float]:
    """R = lambda / (2m) (||W_1||^2 + ...), each squared norm with its value."""
    s, m = c.s, c.m
    norms = [float(x) for x in squared_norms(s)]  # exact: 0.1^2 + 0.2^2 is 0.05
    value = float(c.sol.named["loss_l2"])
    names = " + ".join(rf"\lVert {c.n(w)} \rVert^2" for w in decayed(s))
    nums = " + ".join(fmt(x, c.digits) for x in norms)
    subst = rf"\frac{{{fmt(s.l2, c.digits)}}}{{2 \cdot {m}}}\left({nums}\right)"
    step = c.step("R", rf"\frac{{\lambda}}{{2m}}\left({names}\right)", [subst], value,
                  note=r"the L2 penalty: $\lambda/(2m)$ times the sum of the squared weights "
                       "(biases excluded)", key="loss_l2", asked=False)
    return step, value


def _neg(x: str) -> str:
    return rf"\left({x}\right)" if x.startswith("-") else x


def sample_subst(c: Ctx, y: np.ndarray, yh: np.ndarray) -> list[Piece]:
    """One sample's loss with its numbers in the formula of L_i, as pieces a long sum over
    the outputs can break between."""
    s, d, dh = c.s, c.digits, c.dig("yhat")
    k = len(y)
    e = r" + \varepsilon" if s.eps is not None else ""
    pre = "" if s.factor == 1 else f"{fmt(s.factor, d)} \\cdot "
    idx = list(range(k)) if k <= MAX_OUTPUT_TERMS else list(range(MAX_OUTPUT_TERMS - 1)) + [k - 1]

    def terms_of(terms: list[str]) -> list[str]:
        return terms[:-1] + [r"\cdots", terms[-1]] if k > MAX_OUTPUT_TERMS else terms

    if s.loss == "bce":
        terms = []
        for j in idx:
            yy, p = fmt(float(y[j]), d), fmt(float(yh[j]), dh)
            terms.append(rf"{yy} \log\left({p}{e}\right) + {fmt(one_minus(float(y[j])), d)} "
                         rf"\log\left(1 - {p}{e}\right)")
        if k == 1:
            return [pre + rf"-\left[{terms[0]}\right]"]
        return sum_pieces(terms_of([rf"\left[{t}\right]" for t in terms]),
                          pre + rf"-\frac{{1}}{{{k}}}")
    if s.loss == "cce":
        nz = [j for j in range(k) if y[j] != 0] or [0]
        terms = [(rf"{fmt(float(y[j]), d)} \cdot " if y[j] != 1 else "")
                 + rf"\log\left({fmt(float(yh[j]), dh)}{e}\right)" for j in nz]
        return [pre + "-" + terms[0]] if len(terms) == 1 else sum_pieces(terms, pre + "-")
    sq = [rf"\left({fmt(float(yh[j]), dh)} - {_neg(fmt(float(y[j]), d))}\right)^2" for j in idx]
    if k == 1:
        return [pre + sq[0]]
    scale = rf"\frac{{1}}{{{k}}}" if s.loss == "mse" else ""
    return sum_pieces(terms_of(sq), pre + scale)
