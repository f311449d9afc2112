"""The loss: each sample's loss with its numbers, the L2 penalty, and the batch loss."""

from __future__ import annotations

import numpy as np

from ...render import formulas as F
from ...render.numbers import fmt
from ..content import Eqs, Part
from ..steps import Step
from .base import PER_SAMPLE_SHOWN, Ctx, one_minus

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
            steps.append(c.step(f"L_{{{i + 1}}}", None, [sample_subst(c, Yb[i], yh[i])],
                                float(ls[i]), key="loss_per_sample"))
    else:
        steps.append(c.step(r"\mathbf{L}", None, None, ls.reshape(-1, 1), key="loss_per_sample",
                            asked=False))
    data = sum_formula(c, "L_i")
    penalty = 0.0
    if s.l2:
        penalty_step, penalty = l2_step(c)
        steps.append(penalty_step)
    shown = [fmt(float(x), c.digits) for x in ls] if c.m <= PER_SAMPLE_SHOWN else None
    if shown:
        terms = " + ".join(shown).replace("+ -", "- ")
        body = rf"\frac{{1}}{{{c.m}}}\left({terms}\right)" if s.reduction == "mean" else terms
    else:
        total = fmt(float(ls.sum()), c.digits)
        body = rf"\frac{{{total}}}{{{c.m}}}" if s.reduction == "mean" else total
    formula, subst = data, body
    if s.l2:
        formula += " + R"
        subst += f" + {fmt(penalty, c.digits)}"
    steps.append(c.step("L", formula, [subst], sol.step.loss, key="loss"))
    part.items.append(Eqs(steps))
    return part


def sum_formula(c: Ctx, term: str) -> str:
    m = c.m
    return (rf"\frac{{1}}{{{m}}} \sum_{{i=1}}^{{{m}}} {term}" if c.s.reduction == "mean"
            else rf"\sum_{{i=1}}^{{{m}}} {term}")


def l2_step(c: Ctx) -> tuple[Step, float]:
    """R = lambda / (2m) (||W_1||^2 + ...), each squared norm with its value."""
    s, m = c.s, c.m
    norms = [float((s.params[f"W{l}"] ** 2).sum()) for l in range(1, s.depth + 1)]
    value = s.l2 / (2 * m) * sum(norms)
    names = " + ".join(rf"\lVert {c.n(f'W{l}')} \rVert^2" for l in range(1, s.depth + 1))
    nums = " + ".join(fmt(x, c.digits) for x in norms)
    subst = rf"\frac{{{fmt(s.l2)}}}{{2 \cdot {m}}}\left({nums}\right)"
    step = c.step("R", rf"\frac{{\lambda}}{{2m}}\left({names}\right)", [subst], value,
                  note=r"the L2 penalty: $\lambda/(2m)$ times the sum of the squared weights "
                       "(biases excluded)", asked=False)
    return step, value


def _pair(a: float, b: float, d: int) -> tuple[str, str]:
    return fmt(a, d), fmt(b, d)


def sample_subst(c: Ctx, y: np.ndarray, yh: np.ndarray) -> str:
    """One sample's loss with its numbers in the formula of L_i."""
    s, d = c.s, c.digits
    k = len(y)
    e = r" + \varepsilon" if s.eps is not None else ""
    pre = "" if s.factor == 1 else f"{fmt(s.factor)} \\cdot "
    idx = list(range(k)) if k <= MAX_OUTPUT_TERMS else list(range(MAX_OUTPUT_TERMS - 1)) + [k - 1]

    def join(terms: list[str]) -> str:
        if k > MAX_OUTPUT_TERMS:
            terms = terms[:-1] + [r"\cdots", terms[-1]]
        return " + ".join(terms)

    if s.loss == "bce":
        terms = []
        for j in idx:
            yy, p = _pair(float(y[j]), float(yh[j]), d)
            terms.append(rf"{yy} \log\left({p}{e}\right) + {fmt(one_minus(float(y[j])), d)} "
                         rf"\log\left(1 - {p}{e}\right)")
        inner = join([rf"\left[{t}\right]" for t in terms]) if k > 1 else terms[0]
        scale = rf"\frac{{1}}{{{k}}}" if k > 1 else ""
        return pre + rf"-{scale}\left[{inner}\right]" if k == 1 else pre + rf"-{scale}\left({inner}\right)"
    if s.loss == "cce":
        nz = [j for j in range(k) if y[j] != 0] or [0]
        terms = [(rf"{fmt(float(y[j]), d)} \cdot " if y[j] != 1 else "")
                 + rf"\log\left({fmt(float(yh[j]), d)}{e}\right)" for j in nz]
        return pre + "-" + (r"\left(" + " + ".join(terms) + r"\right)" if len(terms) > 1 else terms[0])
    sq = [rf"\left({fmt(float(yh[j]), d)} - {fmt(float(y[j]), d)}\right)^2" for j in idx]
    if k == 1:
        return pre + sq[0]
    scale = rf"\frac{{1}}{{{k}}}" if s.loss == "mse" else ""
    return pre + rf"{scale}\left({join(sq)}\right)"
