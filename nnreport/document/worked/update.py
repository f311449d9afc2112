"""The update of the worked step: the optimiser's state with its numbers, then the new value.

Symbols, defined once in the part's first paragraph: t the step count (1 here), g = dW the
gradient, v the momentum average (momentum), s the running mean of g squared (RMSprop),
m and v the running means of g and g squared with their bias-corrected m-hat, v-hat (Adam),
Delta the step that is subtracted. Every state starts at 0, so the first step shows 0 terms."""

from __future__ import annotations

from ...engine.printed import one_minus
from ...render.numbers import fmt
from ...spec.setups import PARAM_KINDS
from ..content import Eqs, Para, Part
from ..lines import applied
from ..steps import Piece, Step, Val
from .base import Ctx

INTRO = {
    "sgd": "",
    "momentum": (r"Momentum keeps $v$, a running average of the gradient $g$ (0 before the first "
                 r"step): $v \leftarrow \beta v + (1 - \beta) g$, and steps by $\Delta = \eta v$."),
    "rmsprop": (r"RMSprop keeps $s$, a running mean of the squared gradient (0 before the first "
                r"step): $s \leftarrow \beta s + (1 - \beta)\, g \odot g$, and steps by "
                r"$\Delta = \eta\, g \oslash (\sqrt{s} + \varepsilon)$, elementwise."),
    "adam": (r"Adam keeps $m$ and $v$, running means of the gradient $g$ and of $g \odot g$ "
             r"(both 0 before the first step), corrects their bias towards 0 with "
             r"$\hat m = m / (1 - \beta_1^t)$ and $\hat v = v / (1 - \beta_2^t)$, and steps by "
             r"$\Delta = \eta\, \hat m \oslash (\sqrt{\hat v} + \varepsilon)$, elementwise; "
             r"$t = 1$ in the worked step."),
}


def update(c: Ctx) -> Part:
    s = c.s
    part = Part("Update")
    opt = s.optimizer["name"]
    if INTRO[opt]:
        part.items.append(Para(INTRO[opt]))
    if any(c.threshold(l) for l in range(1, s.depth + 1)):  # bias: threshold
        part.items.append(Para(
            r"A threshold is updated like a weight, on its input $-1$: "
            r"$\theta - \eta\, d\theta = \theta + \eta\, "
            + (r"\frac{1}{m} " if s.reduction == "mean" else "") + rf"\sum_i {c.n.row('dZ', 'i', 'l')}$ "
            r"(with $g = d\theta$ in the optimiser's rule)."))
    steps: list[Step] = []
    for l in range(1, s.depth + 1):
        for p in PARAM_KINDS:
            key = f"{p}{l}"
            if key not in s.params:
                continue
            if key in s.freeze:
                name = c.n(key)
                steps.append(Step(name + r"^{\text{new}}", name, None, None, asked=False,
                                  note=f"${name}$ is frozen: it is never updated"))
                continue
            steps += param_update(c, key)
    part.items.append(Eqs(steps))
    return part


def param_update(c: Ctx, key: str) -> list[Step]:
    s, sol, d = c.s, c.sol, c.digits
    o = s.optimizer
    name, g = c.n(key), c.n.d(key)
    if sol.batch is not None:
        g += r"^{\text{batch}}"
    state = sol.opt_state.get(key, {})
    grad = c.grads_used()[key]
    gk = f"d{key}_batch" if sol.batch is not None else f"d{key}"  # its digits, as printed above
    W = s.params[key]
    eta = fmt(s.lr, d)
    new = sol.new_params[key]
    lhs_new = name + r"^{\text{new}}"
    steps: list[Step] = []
    if o["name"] == "sgd" and f"{key}_step" not in (s.marking.ask or ()) and \
            s.delta == "error" and sol.batch is None and not (s.l2 and key[0] == "W"):
        return [error_signal_update(c, key)]
    if o["name"] == "sgd" and f"{key}_step" not in (s.marking.ask or ()):
        return [c.step(lhs_new, rf"{name} - \eta\, {g}",
                       [c.v(W), f"- {eta} \\cdot", c.v(grad, gk)], new, key=f"{key}_new")]
    if o["name"] == "sgd":  # the step asked for: on a line of its own, then W - Delta
        steps.append(c.step(rf"\Delta_{{{name}}}", rf"\eta\, {g}", [f"{eta} \\cdot", c.v(grad, gk)],
                            state["step"], key=f"{key}_step"))
    elif o["name"] == "momentum":
        beta = fmt(o["beta"], d)
        rest = fmt(one_minus(o["beta"]), d)
        steps.append(c.step(rf"v_{{{name}}}", rf"\beta \cdot 0 + (1 - \beta)\, {g}",
                            [f"{beta} \\cdot 0 + {rest} \\cdot", c.v(grad, gk)], state["v"],
                            key=f"{key}_v"))
        steps.append(c.step(rf"\Delta_{{{name}}}", rf"\eta\, v_{{{name}}}",
                            [f"{eta} \\cdot", c.v(state["v"], f"{key}_v")], state["step"],
                            key=f"{key}_step"))
    elif o["name"] == "rmsprop":
        rest = fmt(one_minus(o["beta"]), d)
        steps.append(c.step(rf"s_{{{name}}}", rf"(1 - \beta)\, {g} \odot {g}",
                            [f"{rest} \\cdot", c.v(grad, gk), r"\odot", c.v(grad, gk)], state["s"],
                            key=f"{key}_s"))
        eps = fmt(o["eps"], d)
        steps.append(c.step(rf"\Delta_{{{name}}}",
                            rf"\eta\, {g} \oslash \left(\sqrt{{s_{{{name}}}}} + \varepsilon\right)",
                            _quotient(c, eta, c.v(grad, gk), c.v(state["s"], f"{key}_s"), eps),
                            state["step"],
                            key=f"{key}_step"))
    else:  # adam
        b1, b2, eps = o["beta1"], o["beta2"], fmt(o["eps"], d)
        t = 1
        steps.append(c.step(rf"m_{{{name}}}", rf"(1 - \beta_1)\, {g}",
                            [f"{fmt(one_minus(b1), d)} \\cdot", c.v(grad, gk)], state["m"],
                            key=f"{key}_m"))
        steps.append(c.step(rf"v_{{{name}}}", rf"(1 - \beta_2)\, {g} \odot {g}",
                            [f"{fmt(one_minus(b2), d)} \\cdot", c.v(grad, gk), r"\odot",
                             c.v(grad, gk)],
                            state["v"], key=f"{key}_v"))
        steps.append(c.step(rf"\hat m_{{{name}}}", rf"\frac{{m_{{{name}}}}}{{1 - \beta_1^{{{t}}}}}",
                            [rf"\frac{{1}}{{{fmt(one_minus(b1, t), d)}}}",
                             c.v(state["m"], f"{key}_m")],
                            state["mhat"], key=f"{key}_mhat"))
        steps.append(c.step(rf"\hat v_{{{name}}}", rf"\frac{{v_{{{name}}}}}{{1 - \beta_2^{{{t}}}}}",
                            [rf"\frac{{1}}{{{fmt(one_minus(b2, t), d)}}}",
                             c.v(state["v"], f"{key}_v")],
                            state["vhat"], key=f"{key}_vhat"))
        steps.append(c.step(rf"\Delta_{{{name}}}", rf"\eta\, \hat m_{{{name}}} \oslash "
                            rf"\left(\sqrt{{\hat v_{{{name}}}}} + \varepsilon\right)",
                            _quotient(c, eta, c.v(state["mhat"], f"{key}_mhat"),
                                      c.v(state["vhat"], f"{key}_vhat"), eps), state["step"],
                            key=f"{key}_step"))
    steps.append(c.step(lhs_new, rf"{name} - \Delta_{{{name}}}",
                        [c.v(W), "-", c.v(state["step"], f"{key}_step")], new, key=f"{key}_new"))
    return steps


def error_signal_update(c: Ctx, key: str) -> Step:
    """`delta: error`, SGD: W + eta (1/m) H^T delta, b + eta (1/m) sum delta, theta - eta (1/m)
    sum delta (its input is -1): the gradient's negative, written with the error signal."""
    s, sol = c.s, c.sol
    kind = key.rstrip("0123456789")
    l = int(key[len(kind):])
    name, eta = c.n(key), fmt(s.lr, c.digits)
    pre = rf"\frac{{1}}{{{c.m}}} " if s.reduction == "mean" else ""
    if kind == "W":
        Hp = c.n(f"H{l - 1}")
        dn = c.n(f"delta{l}")
        prod = rf"{Hp}^{{T}} {dn}" if not c.cols else rf"{dn} {Hp}^{{T}}"
    else:
        prod = rf"\sum_{{i}} {c.n.row('delta', 'i', l)}"
    sign = "-" if kind == "theta" else "+"
    grad = c.grads_used()[key]
    shown = grad if kind == "theta" else -grad  # (1/m) H^T delta = -dW; (1/m) sum delta = dtheta
    return c.step(name + r"^{\text{new}}", rf"{name} {sign} \eta\, {pre}{prod}",
                  [c.v(s.params[key]), f"{sign} {eta} \\cdot", c.v(shown, f"d{key}")],
                  sol.new_params[key], key=f"{key}_new")


def _quotient(c: Ctx, eta: str, top: Val, under_root: Val, eps: str) -> list[Piece]:
    """eta * top / (sqrt(under_root) + eps), elementwise, with the matrices in."""
    root = applied(r"\sqrt{{{}}}", under_root)
    return [f"{eta} \\cdot", top, r"\oslash \left(", root, f"+ {eps}" + r"\right)"]
