"""The backward pass: dZ of the output layer, then for each layer from the top down the
per-sample and averaged dW, db, and dZ of the layer below, every product with its numbers.

d-notation: dW is the gradient of the batch loss L with respect to W (a matrix of W's shape);
dz^{(i)} is row i of dZ (column i in the columns layout), the delta of sample i."""

from __future__ import annotations

import numpy as np

from ...engine.printed import (
    cancellation_digits,
    db_as_rows,
    dw_as_sum,
    one_minus,
    per_sample_shown,
    targets_add_up,
)
from ...render import formulas as F
from ...render.numbers import fmt
from ..content import Eqs, Part
from ..steps import Piece, Step, Val
from .base import Ctx, products, sum_pieces

DERIV_NAME = {"sigmoid": r"\sigma'", "tanh": r"\tanh'", "relu": r"\operatorname{ReLU}'",
              "leaky_relu": r"\operatorname{LReLU}'_{\alpha}", "linear": "1"}


def backward(c: Ctx) -> Part:
    part = Part("Backward pass")
    steps = output_delta(c)
    for l in range(c.L, 0, -1):
        steps += layer_grads(c, l)
        if l > 1:
            steps += hidden_delta(c, l - 1)
    if c.sol.batch is not None:  # what the update uses: the whole batch's gradient
        grads = list(c.sol.batch.grads.items())
        if c.large:  # computed, not worked: a tall one is left to answers.json
            grads = [(key, g) for key, g in grads if not c.tall(c.v(g))]
        for k, (key, g) in enumerate(grads):
            name = c.n.d(key)
            steps.append(c.step(name + r"^{\text{batch}}", None, None, g, key=f"d{key}_batch",
                                asked=False,
                                note=(f"the gradients over the whole batch of {c.whole} samples "
                                      "(computed), which the update uses") if k == 0 else ""))
    if c.s.delta == "error":
        steps = with_error_signals(c, steps)
    part.items.append(Eqs(steps))
    return part


def with_error_signals(c: Ctx, steps: list[Step]) -> list[Step]:
    """`delta: error`: after each dZ_l, the course's error signal delta_l = -dZ_l."""
    out: list[Step] = []
    first = True
    for st in steps:
        out.append(st)
        if st.key.startswith("dZ") and st.key[2:].isdigit():
            l = int(st.key[2:])
            dz = c.sol.step.dZ[l - 1]
            note = (r"the error signal $\delta = -\partial L / \partial Z$; the update adds "
                    r"$\eta$ times it times the layer's input" if first else "")
            sub: list[Piece] = ([r"-\left(", c.v(dz, st.key), r"\right)"] if dz.size == 1
                                else ["-", c.v(dz, st.key)])
            out.append(c.step(c.n(f"delta{l}"), "-" + c.n(f"dZ{l}"), sub, -dz, key=f"delta{l}",
                              note=note))
            first = False
    return out


def output_delta(c: Ctx) -> list[Step]:
    s, sol, n = c.s, c.sol, c.n
    L, k = c.L, s.Y.shape[1]
    act = s.activations[-1]
    yh = n(f"H{L}")
    dZ = sol.step.dZ[-1]
    closed = F.output_delta_formula(s.loss, act, s.eps, k, s.factor)
    if closed:
        scale = closed.split(r"\left(")[0] if r"\left(" in closed else ""
        subst: list[Piece] = [scale + r"\left("] if scale else []
        subst += [c.v(sol.step.H[-1], "yhat")]
        summed = s.loss == "cce" and not targets_add_up(sol.Yb)
        if summed:  # Yhat (.) (Y 1) - Y: each row of Y adds up to other than 1
            subst += [r"\odot", c.v(np.broadcast_to(sol.Yb.sum(axis=1, keepdims=True),
                                                    sol.Yb.shape))]
            closed = closed.replace(r"\hat{Y} - Y", r"\hat{Y} \odot \left(Y\mathbf{1}\right) - Y")
        subst += ["-", c.v(sol.Yb)]
        subst += [r"\right)"] if scale else []
        if act == "sigmoid":
            why = ("sigmoid with binary cross-entropy: $\\sigma'(z) = \\hat y(1-\\hat y)$ cancels "
                   "the denominator of the loss's derivative, so $dZ = \\hat Y - Y$")
            if k > 1:
                why += f", averaged over the {k} outputs"
        elif act == "softmax":
            why = ("softmax with categorical cross-entropy: the softmax Jacobian and the loss's "
                   "derivative combine to $dZ = \\hat Y - Y$" if not summed else
                   "softmax with categorical cross-entropy: the softmax Jacobian and the loss's "
                   "derivative combine to $dZ = \\hat Y \\odot (Y\\mathbf{1}) - Y$, each row "
                   "of $\\hat Y$ times its targets' sum (not 1 here)")
        else:
            why = ("linear output with squared error: the 2 comes from the square"
                   + (f", the $\\frac{{1}}{{{k}}}$ from the mean over the {k} outputs"
                      if s.loss == "mse" and k > 1 else ""))
        if s.factor != 1:
            why += f", times the loss factor {fmt(s.factor)}"
        return [c.step(c.n(f"dZ{L}"), closed.replace(r"\hat{Y}", yh), subst, dZ, key=f"dZ{L}",
                       note=why)]
    # the general chain: dL/dYhat, then through the output activation
    formula, subst = loss_gradient(c)
    dyh = sol.named["dyhat"]
    steps = [c.step(r"d\hat{Y}", formula, subst, dyh, key="dyhat", asked=False,
                    note="the derivative of each sample's loss with respect to its prediction, "
                         "elementwise")]
    if s.loss in ("bce", "cce"):
        steps.append(gradient_entry(c, dyh))
    if act == "softmax":
        dz = r"\hat{Y} \odot \left(d\hat{Y} - \left(d\hat{Y} \odot \hat{Y}\right)\mathbf{1}\right)"
        inner = (dyh * sol.step.H[-1]).sum(axis=1, keepdims=True)
        sub: list[Piece] = [c.v(sol.step.H[-1], "yhat"), r"\odot \left(", c.v(dyh, "dyhat"), "-",
                            c.v(np.broadcast_to(inner, dyh.shape)), r"\right)"]
        steps.append(c.step(c.n(f"dZ{L}"), dz, sub, dZ, key=f"dZ{L}",
                            note="through the softmax: its Jacobian applied to each sample's row"))
        return steps
    if act == "linear":  # dZ is dyhat: a renaming, its value once
        steps.append(c.step(c.n(f"dZ{L}"), r"d\hat{Y}", None, dZ, key=f"dZ{L}"))
        return steps
    steps.append(derivative_step(c, L))
    steps.append(c.step(c.n(f"dZ{L}"), rf"d\hat{{Y}} \odot {DERIV_NAME[act]}\left({n(f'Z{L}')}\right)",
                        [c.v(dyh, "dyhat"), r"\odot", c.v(act_deriv(c, L), f"dact{L}")], dZ,
                        key=f"dZ{L}"))
    return steps


def loss_gradient(c: Ctx) -> tuple[str, list[Piece]]:
    """dL_i/dYhat in symbols and with the matrices put in; division is elementwise."""
    s, sol, d = c.s, c.sol, c.digits
    k = s.Y.shape[1]
    pre = s.factor / (k if s.loss in ("mse", "bce") else 1)
    Yh, Y = c.v(sol.step.H[-1], "yhat"), c.v(sol.Yb)
    if s.loss in ("mse", "sse"):
        two = fmt(2 * pre, d)
        return (rf"{two}\left(\hat{{Y}} - Y\right)",
                [two + r"\left(", Yh, "-", Y, r"\right)"])
    e = r" + \varepsilon" if s.eps is not None else ""
    scale = "" if pre == 1 else fmt(pre, d) + r" \cdot "
    if s.loss == "bce":
        formula = (rf"{scale}\left(-Y \oslash \left(\hat{{Y}}{e}\right) + \left(1 - Y\right) "
                   rf"\oslash \left(1 - \hat{{Y}}{e}\right)\right)")
        return formula, [scale + r"\left(-", Y, r"\oslash \left(", Yh, e + r"\right) + \left(1 -",
                         Y, r"\right) \oslash \left(1 -", Yh, e + r"\right)\right)"]
    formula = rf"-{scale}Y \oslash \left(\hat{{Y}}{e}\right)"
    return formula, ["-" + scale, Y, r"\oslash \left(", Yh, e + r"\right)"]


def gradient_entry(c: Ctx, dyh: np.ndarray) -> Step:
    """Entry (1, 1) of dL/dYhat with its arithmetic (a calculator line)."""
    s, sol, d = c.s, c.sol, c.digits
    k = s.Y.shape[1]
    pre = s.factor / (k if s.loss == "bce" else 1)
    y, p = float(sol.Yb[0, 0]), fmt(float(sol.step.H[-1][0, 0]), c.dig("yhat"))
    e = r" + \varepsilon" if s.eps is not None else ""
    scale = "" if pre == 1 else fmt(pre, d) + r" \cdot "
    if s.loss == "bce":
        entry = (rf"{scale}\left(-\frac{{{fmt(y, d)}}}{{{p}{e}}} + "
                 rf"\frac{{{fmt(one_minus(y), d)}}}{{1 - {p}{e}}}\right)")
    else:
        entry = rf"-{scale}\frac{{{fmt(y, d)}}}{{{p}{e}}}"
    i, j = c.entry(0, 0)
    return c.step(rf"\left(d\hat{{Y}}\right)_{{{i}{j}}}", None, [entry], float(dyh[0, 0]),
                  asked=False, like="dyhat")


def act_deriv(c: Ctx, l: int) -> np.ndarray:
    return c.sol.named[f"dact{l}"]


def derivative_step(c: Ctx, l: int) -> Step:
    """f'(Z_l) written with H_l where courses do (sigma' = H (1 - H)), with its numbers."""
    a = c.s.activations[l - 1]
    Zn, Hn = c.n(f"Z{l}"), c.n(f"H{l}")
    Z, H = c.sol.step.Z[l - 1], c.sol.step.H[l]
    lhs = rf"{DERIV_NAME[a]}\left({Zn}\right)"
    subst: list[Piece]
    hk = c.hkey(l)
    if a == "sigmoid":
        subst = [c.v(H, hk), r"\odot", c.v(1 - H)]
    elif a == "tanh":
        subst = ["1 -", c.v(H, hk), r"\odot", c.v(H, hk)]
    else:  # relu, leaky relu: the kink decided on exact arithmetic (relu'(0) = 0)
        subst = [r"\mathbf{1}\left[", c.v(Z, f"Z{l}"), r"> 0\right]"] if a == "relu" else \
            [rf"\text{{1 where }} {Zn} > 0, \text{{ else }} {fmt(c.s.alphas[l - 1], c.digits)}\!:\;"]
    return c.step(lhs, F.derivative(a, Zn, Hn), subst, act_deriv(c, l), key=f"dact{l}",
                  asked=False)


def hidden_delta(c: Ctx, l: int) -> list[Step]:
    """dH_l = dZ_{l+1} W_{l+1}^T, then dZ_l = dH_l (elementwise) f'(Z_l)."""
    s, n, sol = c.s, c.n, c.sol
    W = n(f"W{l + 1}")
    dZn, dHn, Hn = n(f"dZ{l + 1}"), n(f"dH{l}"), n(f"H{l}")
    f = f"{dZn} {W}^{{T}}" if not c.cols else f"{W}^{{T}} {dZn}"
    dH = sol.named[f"dH{l}"]
    dZv = c.v(sol.step.dZ[l], f"dZ{l + 1}")
    WTv = Val(c.show(s.params[f"W{l + 1}"].T), c.digits)
    sub: list[Piece] = c.times(dZv, WTv) if not c.cols else c.times(WTv, dZv)
    steps = [c.step(dHn, f, sub, dH, key=f"dH{l}", asked=False)]
    dHv = c.v(dH, f"dH{l}")
    a = s.activations[l - 1]
    dz = sol.step.dZ[l - 1]
    if a == "softmax":
        inner = (dH * sol.step.H[l]).sum(axis=1, keepdims=True)
        steps.append(c.step(n(f"dZ{l}"), rf"{Hn} \odot \left({dHn} - \left({dHn} "
                            rf"\odot {Hn}\right)\mathbf{{1}}\right)",
                            [c.v(sol.step.H[l], f"H{l}"), r"\odot \left(", dHv, "-",
                             c.v(np.broadcast_to(inner, dH.shape)), r"\right)"], dz, key=f"dZ{l}"))
    elif a == "linear":  # dZ is dH: a renaming, its value once
        steps.append(c.step(n(f"dZ{l}"), dHn, None, dz, key=f"dZ{l}"))
    else:
        steps.append(derivative_step(c, l))
        steps.append(c.step(n(f"dZ{l}"), rf"{dHn} \odot {DERIV_NAME[a]}\left({n(f'Z{l}')}\right)",
                            [dHv, r"\odot", c.v(act_deriv(c, l), f"dact{l}")], dz, key=f"dZ{l}"))
    return steps


def _mean(c: Ctx) -> str:
    """The mean's 1/m before a sum over the batch (none over a batch of one: 1/1 says nothing)."""
    return rf"\frac{{1}}{{{c.m}}}" if c.s.reduction == "mean" and c.m > 1 else ""


def layer_grads(c: Ctx, l: int) -> list[Step]:
    s, n, sol, m = c.s, c.n, c.sol, c.m
    W, Hp = n(f"W{l}"), n(f"H{l - 1}")
    hp = Hp.lower() if Hp != "X" else "x"
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
    pre = _mean(c)
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
    pre = _mean(c)
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
    pre = _mean(c)
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
