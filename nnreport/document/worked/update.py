"""The update of the worked step: the optimiser's state with its numbers, then the new value.

Symbols, defined once in the part's first paragraph: t the step count (1 here), g = dW the
gradient, v the momentum average (momentum), s the running mean of g squared (RMSprop),
m and v the running means of g and g squared with their bias-corrected m-hat, v-hat (Adam),
Delta the step that is subtracted. Every state starts at 0, so the first step shows 0 terms."""

from __future__ import annotations

from ...engine.layers import layers_of
from ...engine.printed import given_digits, one_minus
from ...render import formulas as F
from ...render.numbers import fmt
from ...spec.setups import PARAM_KINDS, NetworkSetup
from ..content import Eqs, Para, Part
from ..lines import applied
from ..steps import Piece, Step, Val
from .base import Ctx
from .ndmaps import split_maps

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


HEAVY_BALL = (r"Momentum (heavy ball) keeps a velocity $v$ (0 before the first step): "
              r"$v \leftarrow \beta v - \eta\, g$, and moves by it: $p \leftarrow p + v$.")
NESTEROV = (r"Nesterov momentum keeps a velocity $v$ (0 before the first step): "
            r"$v \leftarrow \beta v - \eta\, g$, and moves by the look-ahead step "
            r"$p \leftarrow p + \beta v - \eta\, g$ with the new $v$.")
GIVEN = "(0 before the first step)", "(before the first step as given)"


def intro(s: NetworkSetup) -> str:
    o = s.optimizer
    text = INTRO[o["name"]]
    if o.get("form") == "heavy_ball":
        text = NESTEROV if o.get("nesterov") else HEAVY_BALL
    if s.state:
        text = text.replace(*GIVEN).replace("(both 0 before the first step)", "(" + GIVEN[1][1:])
    return text


def update(c: Ctx) -> Part:
    s = c.s
    part = Part("Update")
    if intro(s) and c.t == 1:  # later worked steps: said once, in the first
        part.items.append(Para(intro(s)))
    if c.t == 1 and any(c.threshold(l) for l in range(1, s.depth + 1)):  # bias: threshold
        th = F.symbol(s.symbols["theta"]) if "theta" in s.symbols else r"\theta"  # symbols:
        dth = F.symbol(s.symbols["dtheta"]) if "dtheta" in s.symbols else "d" + th
        part.items.append(Para(
            r"A threshold is updated like a weight, on its input $-1$: "
            rf"${th} - \eta\, {dth} = {th} + \eta\, "
            + (r"\frac{1}{m} " if s.reduction == "mean" else "") + rf"\sum_i {c.n.row('dZ', 'i', 'l')}$ "
            rf"(with $g = {dth}$ in the optimiser's rule)."))
    steps: list[Step] = []
    for l, lay in enumerate(layers_of(s.kinds, s.depth), 1):
        for key in lay.param_names(s.params, l):  # as its type names them: W, then b or theta
            if key in s.freeze:
                name = c.n(key)
                steps.append(Step(name + r"^{\text{new}}", name, None, None, asked=False,
                                  note=f"${name}$ is frozen: it is never updated"))
                continue
            steps += split_maps(param_update(c, key))
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
            s.delta == "error" and sol.batch is None and not (s.l2 and key[0] == "W") and \
            key.rstrip("0123456789") in PARAM_KINDS:  # another type's: the gradient form
        return [error_signal_update(c, key)]
    if o["name"] == "sgd" and f"{key}_step" not in (s.marking.ask or ()):
        return [c.step(lhs_new, rf"{name} - \eta\, {g}",
                       [c.v(W), f"- {eta} \\cdot", c.v(grad, gk)], new, key=f"{key}_new")]
    if o["name"] == "sgd":  # the step asked for: on a line of its own, then W - Delta
        steps.append(c.step(rf"\Delta_{{{name}}}", rf"\eta\, {g}", [f"{eta} \\cdot", c.v(grad, gk)],
                            state["step"], key=f"{key}_step"))
    elif o["name"] == "momentum":
        beta = fmt(o["beta"], d)
        old_v, old_f = prior(c, key, "v", name)
        if o.get("form") == "heavy_ball":
            steps.append(c.step(rf"v_{{{name}}}", rf"\beta{old_f} - \eta\, {g}",
                                [*joined(f"{beta} \\cdot", old_v, f"- {eta} \\cdot"), c.v(grad, gk)],
                                state["v"], key=f"{key}_v"))
            vk = c.v(state["v"], f"{key}_v")
            if o.get("nesterov"):
                return steps + [c.step(
                    lhs_new, rf"{name} + \beta\, v_{{{name}}} - \eta\, {g}",
                    [c.v(W), f"+ {beta} \\cdot", vk, f"- {eta} \\cdot", c.v(grad, gk)], new,
                    key=f"{key}_new")]
            return steps + [c.step(lhs_new, rf"{name} + v_{{{name}}}", [c.v(W), "+", vk], new,
                                   key=f"{key}_new")]
        rest = fmt(one_minus(o["beta"]), d)
        steps.append(c.step(rf"v_{{{name}}}", rf"\beta{old_f} + (1 - \beta)\, {g}",
                            [*joined(f"{beta} \\cdot", old_v, f"+ {rest} \\cdot"), c.v(grad, gk)],
                            state["v"], key=f"{key}_v"))
        steps.append(c.step(rf"\Delta_{{{name}}}", rf"\eta\, v_{{{name}}}",
                            [f"{eta} \\cdot", c.v(state["v"], f"{key}_v")], state["step"],
                            key=f"{key}_step"))
    elif o["name"] == "rmsprop":
        rest = fmt(one_minus(o["beta"]), d)
        lead, fl = _lead(c, key, "s", name, "beta")
        steps.append(c.step(rf"s_{{{name}}}", rf"{fl}(1 - \beta)\, {g} \odot {g}",
                            [*lead, f"{rest} \\cdot", c.v(grad, gk), r"\odot", c.v(grad, gk)],
                            state["s"], key=f"{key}_s"))
        eps = fmt(o["eps"], given_digits(d))
        steps.append(c.step(rf"\Delta_{{{name}}}",
                            rf"\eta\, {g} \oslash \left(\sqrt{{s_{{{name}}}}} + \varepsilon\right)",
                            _quotient(c, eta, c.v(grad, gk), c.v(state["s"], f"{key}_s"), eps),
                            state["step"],
                            key=f"{key}_step"))
    else:  # adam
        b1, b2, eps = o["beta1"], o["beta2"], fmt(o["eps"], given_digits(d))
        t = c.t
        lead, fl = _lead(c, key, "m", name, "beta1")
        steps.append(c.step(rf"m_{{{name}}}", rf"{fl}(1 - \beta_1)\, {g}",
                            [*lead, f"{fmt(one_minus(b1), d)} \\cdot", c.v(grad, gk)], state["m"],
                            key=f"{key}_m"))
        lead, fl = _lead(c, key, "v", name, "beta2")
        steps.append(c.step(rf"v_{{{name}}}", rf"{fl}(1 - \beta_2)\, {g} \odot {g}",
                            [*lead, f"{fmt(one_minus(b2), d)} \\cdot", c.v(grad, gk), r"\odot",
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
    pre = c.mean() + " " if c.mean() else ""
    if kind == "W":
        Hp = c.inp(l)
        dn = c.n(f"delta{l}")
        prod = rf"{Hp}^{{T}} {dn}" if not c.cols else rf"{dn} {Hp}^{{T}}"
    else:
        prod = (rf"\sum_{{i}} {c.n.row('delta', 'i', l)}" if c.m > 1
                else c.n.row("delta", 1, l))
    sign = "-" if kind == "theta" else "+"
    grad = c.grads_used()[key]
    shown = grad if kind == "theta" else -grad  # (1/m) H^T delta = -dW; (1/m) sum delta = dtheta
    return c.step(name + r"^{\text{new}}", rf"{name} {sign} \eta\, {pre}{prod}",
                  [c.v(s.params[key]), f"{sign} {eta} \\cdot", c.v(shown, f"d{key}")],
                  sol.new_params[key], key=f"{key}_new")


def _quotient(c: Ctx, eta: str, top: Val, under_root: Val, eps: str) -> list[Piece]:
    """eta * top / (sqrt(under_root) + eps), elementwise, with the matrices in."""
    if under_root.array.ndim > 2:  # maps: split per map later (split_maps), so not set yet
        return [f"{eta} \\cdot", top, r"\oslash \left(\left(", under_root,
                r"\right)^{\circ \frac{1}{2}}", f"+ {eps}" + r"\right)"]
    root = applied(r"\sqrt{{{}}}", under_root)
    return [f"{eta} \\cdot", top, r"\oslash \left(", root, f"+ {eps}" + r"\right)"]


def prior(c: Ctx, key: str, state: str, name: str) -> tuple[list[Piece], str]:
    """The state `state` of `key` before the step: its value as a line substitutes it and its
    symbol in the formula: 0 (`\\cdot 0`) unless train.state gave it."""
    v0 = c.s.state.get(key, {}).get(state)
    if v0 is None:
        return [], r" \cdot 0"
    sym = {"m": "m", "v": "v", "s": "s"}[state]
    return [c.v(v0)], rf"\, {sym}^{{\text{{old}}}}_{{{name}}}"


def joined(before: str, old: list[Piece], after: str) -> list[Piece]:
    """`before old after` as pieces; `before 0 after` in one piece when there is no old."""
    return [before, *old, after] if old else [f"{before} 0 {after}"]


def _lead(c: Ctx, key: str, state: str, name: str, beta: str) -> tuple[list[Piece], str]:
    """RMSprop's and Adam's `beta s +` before the gradient term, when train.state gives the
    state before the step (nothing when it starts at 0, as the key has always written it)."""
    old, sym = prior(c, key, state, name)
    if not old:
        return [], ""
    b = {"beta": r"\beta", "beta1": r"\beta_1", "beta2": r"\beta_2"}[beta]
    return [f"{fmt(c.s.optimizer[beta], c.digits)} \\cdot", *old, "+"], f"{b}{sym} + "
