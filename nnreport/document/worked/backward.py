"""The backward pass: dZ of the output layer, then for each layer from the top down its
parameters' gradients and the dH it passes down (the layer type's worked module,
document/worked/layers/: per-sample and averaged dW, db for a dense layer), and dZ of the layer
below, every product with its numbers.

d-notation: dW is the gradient of the batch loss L with respect to W (a matrix of W's shape);
dz^{(i)} is row i of dZ (column i in the columns layout), the delta of sample i."""

from __future__ import annotations

import numpy as np

from ...engine.printed import (
    one_minus,
    targets_add_up,
)
from ...render import formulas as F
from ...render.numbers import fmt
from ..content import Eqs, Part
from ..steps import Piece, Step
from .base import Ctx
from .layers import worked_layer

DERIV_NAME = {"sigmoid": r"\sigma'", "tanh": r"\tanh'", "relu": r"\operatorname{ReLU}'",
              "leaky_relu": r"\operatorname{LReLU}'_{\alpha}", "linear": "1"}


def backward(c: Ctx) -> Part:
    part = Part("Backward pass")
    steps = output_delta(c)
    for l in range(c.L, 0, -1):
        steps += worked_layer(c, l).grads(c, l)
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
    """dH_l through layer l + 1 (its type's module: dZ_{l+1} W_{l+1}^T for a dense layer),
    then dZ_l = dH_l (elementwise) f'(Z_l)."""
    s, n, sol = c.s, c.n, c.sol
    dHn, Hn = n(f"dH{l}"), n(f"H{l}")
    dH = sol.named[f"dH{l}"]
    steps = worked_layer(c, l + 1).back(c, l + 1)
    if not c.own_activation(l):  # no activation of its own: layer l's lines take it from here
        if c.layer_type(l) is not None and c.layer_type(l).inside:  # its dH is every step's
            said = False
            for st in steps:  # (its own lines carry the name): this is the output's G_l
                if st.key == f"dH{l}":
                    st.key, st.asked = "", False
                    st.lhs = st.lhs.replace(dHn, f"G_{{{l}}}")
                    st.note = st.note if said else (
                        (st.note + "; " if st.note else "") + f"$G_{{{l}}}$: the gradient that "
                        f"reaches layer {l}'s output (its rows are the $g_t$ below)")
                    said = True
        return steps
    dHv = c.v(dH, f"dH{l}")
    a = s.activations[l - 1]
    dz = sol.step.dZ[l - 1]
    if np.ndim(dz) > 2:  # a stack of maps (a conv layer): a line per sample and map
        from .ndmaps import delta
        return steps + delta(c, l, DERIV_NAME[a])
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


