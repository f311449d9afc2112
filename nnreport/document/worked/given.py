"""The Given part: the architecture table, the conventions that change numbers, and every
given value."""

from __future__ import annotations

import re

import numpy as np

from ...engine.intermediates import decayed
from ...render import formulas as F
from ...render.maps import maps
from ...render.numbers import fmt
from ...spec.setups import PARAM_KINDS
from ..content import Eqs, Para, Part, Table, Values
from ..escape import escape
from ..steps import Step, Val
from .base import Ctx, samples
from .layers import worked_layer
from .layers.conv import power, sym

OPTIMIZER_NAME = {"sgd": "gradient descent", "momentum": "momentum", "adam": "Adam",
                  "rmsprop": "RMSprop"}


def given(c: Ctx) -> Part:
    s, n = c.s, c.n
    part = Part("Given")
    part.items.append(architecture_table(c))
    part.items.append(Para(conventions(c)))
    if c.m < s.X.shape[0]:  # the hand work needs only the worked samples: given in full
        part.items.append(Para(
            f"The worked step uses {samples(c.sol.batches[0][:c.m])} of the data "
            f"({escape(s.data_source)}, {s.X.shape[0]} samples in all), given below; the whole "
            "data set is used only by the computed parts."))
        pairs = [("X", c.v(c.sol.Xb)), ("Y", c.v(c.sol.Yb))]
    else:
        pairs = [("X", c.v(s.X)), ("Y", c.v(s.Y))]
    for l in range(1, s.depth + 1):
        for p in PARAM_KINDS:
            k = f"{p}{l}"
            if k in s.params:
                pairs.append((n(k), c.v(s.params[k])))
        for k in own_params(c, l):  # another layer type's parameters
            pairs.append((n(k), c.v(s.params[k])))
    for k in s.params:  # train.state: the optimiser state before the step
        pairs += [(rf"{st}^{{\text{{old}}}}_{{{n(k)}}}", c.v(v))
                  for st, v in s.state.get(k, {}).items()]
    part.items += value_items(c, pairs, s.id)
    return part


def value_items(c: Ctx, pairs: list[tuple[str, Val]], label: str, in_questions: bool = True
                ) -> list[Values | Eqs]:
    """Given values as the Given part prints them: matrices packed in rows; a 3-D X (a batch
    of sequences) one sample's steps x features matrix at a time; images and kernels (4-D) as
    maps side by side (`given_maps`). `in_questions`: also on the question sheet."""
    out: list[tuple[str, Val]] = []
    for k, v in pairs:
        if k == "X" and v.array.ndim == 3:
            X = np.asarray(v.value, dtype=float)
            out += [("X" if len(X) == 1 else rf"X^{{({i + 1})}}", c.v(X[i]))
                    for i in range(len(X))]
        else:
            out.append((k, v))
    flat = [(k, v) for k, v in out if v.array.ndim <= 2]
    items: list[Values | Eqs] = [Values(flat, label=label, in_questions=in_questions)]
    if len(flat) < len(out):  # images, kernels: maps side by side
        items.append(Eqs([st for k, v in out if v.array.ndim > 2 for st in given_maps(k, v)],
                         whole=in_questions))
    return items


def given_maps(name: str, v: Val) -> list[Step]:
    """A given value of three or more dimensions (X [m, C, h, w], W [F, C, kh, kw]) as maps:
    one line per sample (filter), its channels side by side."""
    a = v.array
    stacks = a.reshape(-1, *a.shape[-3:]) if a.ndim > 3 else a[None]
    k = power(a, v.digits)
    word = "filter" if name.startswith("W") else "sample"
    return [Step(name if a.ndim == 3 else sym(name, i) if word == "sample"
                 else sym(name, None, str(i + 1)),  # filter i: (W_1)_i, as the lines write it
                 None, list(maps(st, v.digits, factor=k,
                                 labels=None if st.shape[0] > 1 else [""])), None, asked=False)
            for i, st in enumerate(stacks)]


def times(shape: tuple[int, ...]) -> str:
    """A shape as written: 2 \\times 1 \\times 3 \\times 3."""
    return r" \times ".join(str(x) for x in shape)


BIASES = ("b", "beta")  # a configured layer's parameters listed under Bias (the rest: Weights)


def architecture_table(c: Ctx) -> Table:
    s, n = c.s, c.n
    def width(l: int) -> str:  # a configured network's N-d shapes as they are: 3 x 2
        sh = s.shapes[l] if s.shapes else ()
        return f"${times(sh)}$" if len(sh) > 1 else str(s.units[l])

    rows = [["Input", "", width(0), "", "", ""]]
    total = 0
    for l in range(1, s.depth + 1):
        fi, fo = s.units[l - 1], s.units[l]
        name = "Output" if l == s.depth else f"Hidden {l}"
        if s.kinds and s.kinds[l - 1] != "dense":  # another layer type: its own parameters
            t = c.layer_type(l)  # all of its own (conv's W, b; an rnn's h0 when given)
            kinds = ((*t.kinds(), *t.optional()) if t is not None else  # a registered type
                     tuple(k[:-len(str(l))] for k in s.params if k.endswith(str(l))
                           and k[:-len(str(l))].isalpha()))
            shapes = {f"{k}{l}": s.params[f"{k}{l}"].shape for k in kinds
                      if f"{k}{l}" in s.params}
            count = sum(int(np.prod(sh)) for sh in shapes.values())
            total += count
            own = c.cfg(l).get("activation")  # an rnn's acts inside it
            act = (F.ACT_NAME[s.activations[l - 1]] if c.has_z(l)
                   else F.ACT_NAME.get(own, own) if own else
                   f"{c.cfg(l)['kind']} pool" if s.kinds[l - 1] == "pool" else s.kinds[l - 1])
            listed = [(k[:-len(str(l))], f"${n(k)}$: ${times(sh if not c.cols else sh[::-1])}$")
                      for k, sh in shapes.items()]
            rows.append([name, act, width(l), ", ".join(
                txt for k, txt in listed if k not in BIASES) or "none",
                ", ".join(txt for k, txt in listed if k in BIASES) or "none", str(count)])
            continue
        wshape = (fi, fo) if not c.cols else (fo, fi)
        bshape = (1, fo) if not c.cols else (fo, 1)
        count = fi * fo + (fo if c.has_bias(l) else 0)
        total += count
        bias = f"${n(c.bias(l))}$: ${bshape[0]} \\times {bshape[1]}$" if c.has_bias(l) else "none"
        rows.append([name, F.ACT_NAME[s.activations[l - 1]], str(fo),
                     f"${n(f'W{l}')}$: ${wshape[0]} \\times {wshape[1]}$", bias, str(count)])
    return Table(["Layer", "Activation", "Units", "Weights", "Bias", "Parameters"], rows,
                 "llrllr", total=["Total", "", "", "", "", str(total)])


def own_params(c: Ctx, l: int) -> list[str]:
    """Layer l's parameters when its type is not dense (a2 of a scaling layer ...)."""
    if not c.s.kinds or c.s.kinds[l - 1] == "dense":
        return []
    return [k for k in c.s.params if (k.rstrip("0123456789") not in PARAM_KINDS
            and k[len(k.rstrip("0123456789")):] == str(l)) or k == f"h0{l}"]


def l2_convention(c: Ctx) -> str:
    """The L2 penalty: over W_l when every layer is dense, else over the parameters each
    layer's type decays, by name."""
    s = c.s
    if not s.kinds:
        return ("L2 regularisation $\\frac{\\lambda}{2m}\\sum_l \\lVert W_l \\rVert^2$ with "
                f"$\\lambda = {fmt(s.l2)}$ (biases excluded)")
    names = " + ".join(rf"\lVert {c.n(w)} \rVert^2" for w in decayed(s))
    return (f"L2 regularisation $\\frac{{\\lambda}}{{2m}}\\left({names or '0'}\\right)$ with "
            f"$\\lambda = {fmt(s.l2)}$ (no other parameter)")


def inline(formula: str) -> str:
    """A layer's formula in running text: each of its equations its own $...$, so the line can
    break between them (attention's H = ..., Q = X W_q, K = ..., V = ... ran 7pt past the
    margin as one formula)."""
    return "$" + "$, $".join(re.split(r",\\quad\s*|,\\\s*", formula)) + "$"


def conventions(c: Ctx) -> str:
    s = c.s
    b = "" if all(c.has_bias(l) for l in range(1, s.depth + 1)) else " (no $b$ where a layer has none)"
    thresholds = [c.n(c.bias(l)) for l in range(1, s.depth + 1) if c.threshold(l)]
    if thresholds:  # bias: threshold: Z = X W - theta, theta the weight of a -1 input
        th = F.symbol(s.symbols["theta"]) if "theta" in s.symbols else r"\theta"  # symbols:
        b += (" (" + ", ".join(f"${t}$" for t in thresholds) + ": thresholds, each the weight "
              "of a constant input $-1$, so $Z = " + ("X W" if not c.cols else "W X")
              + rf" - {th}$ and ${th} = -b$)")
    if not s.kinds:  # every layer dense: one formula says it
        lay = (r"rows layout: $X$ is samples $\times$ features and $Z = X W + b$" + b
               if not c.cols else
               r"columns layout: $X$ is features $\times$ samples and $Z = W X + b$" + b)
    else:  # each layer's own, as its type writes it
        image = s.kinds[0] == "conv"  # images; else a 3-D X is a sequence
        dims = {4: r"samples $\times$ channels $\times$ height $\times$ width",
                3: r"samples $\times$ height $\times$ width" if image else
                r"samples $\times$ steps $\times$ features"}.get(s.X.ndim, "")
        lay = ((f"rows layout: $X$ is {dims}" if dims else
                r"rows layout: $X$ is samples $\times$ features" if not c.cols else
                r"columns layout: $X$ is features $\times$ samples") + ", "
               + ", ".join(inline(worked_layer(c, l).formula(c, l))
                           for l in range(1, s.depth + 1))
               + b.replace(" (no $b$ where a layer has none)", ""))
    red = "averaged over" if s.reduction == "mean" else "summed over"
    loss = F.LOSS_NAME[s.loss] + (f" with $\\varepsilon = {fmt(s.eps)}$ inside the logarithm"
                                  if s.eps is not None else "")
    if s.factor != 1:
        loss += f", times ${fmt(s.factor)}$"
    bits = [lay, f"loss: {loss}, {red} the samples of a batch"]
    if s.l2:
        bits.append(l2_convention(c))
    o = s.optimizer
    opt = OPTIMIZER_NAME[o["name"]]
    if o["name"] == "momentum":
        kind = "Nesterov " if o.get("nesterov") else "heavy-ball " if o.get("form") else ""
        opt = kind + opt + f" ($\\beta = {fmt(o['beta'])}$)"
    elif o["name"] == "rmsprop":
        opt += f" ($\\beta = {fmt(o['beta'])}$, $\\varepsilon = {fmt(o['eps'])}$)"
    elif o["name"] == "adam":
        opt += (f" ($\\beta_1 = {fmt(o['beta1'])}$, $\\beta_2 = {fmt(o['beta2'])}$, "
                f"$\\varepsilon = {fmt(o['eps'])}$)")
    bits.append(f"{opt} with learning rate $\\eta = {fmt(s.lr)}$")
    m = s.X.shape[0]
    if s.batch_size < m:
        if s.shuffle_seed is not None:
            bits.append(f"batches of {s.batch_size} of the {m} samples, in a new random order "
                        f"every epoch (shuffle seed {s.shuffle_seed})")
        else:
            bits.append(f"batches of {s.batch_size} of the {m} samples, in order")
    if s.epochs > 1:
        bits.append(f"{s.epochs} epochs")
    if s.freeze:
        bits.append("frozen (never updated): " + ", ".join(f"${c.n(k)}$" for k in sorted(s.freeze)))
    if s.data_source != "inline":
        bits.append(f"data: {escape(s.data_source)} ({m} samples)")
    return "Conventions: " + "; ".join(bits) + "."
