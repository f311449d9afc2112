"""The worked solution of a network problem: every step as formula = numbers = result.

Reads a solved problem and produces content (Parts of Lines); knows nothing of TeX runs.
All values are shown in the problem's layout (rows: samples are rows; columns: samples are
columns), with the spec's display names.
"""

from __future__ import annotations

import numpy as np
from pylatex import NoEscape, Tabular

from ..engine.solve import NetworkSolution
from ..render import formulas as F
from ..render.matrices import Tex, text_width, value
from ..render.numbers import fmt
from .content import LINE_BUDGET_EM, Eqs, Line, Para, Part, Raw, Values
from .escape import escape

PER_SAMPLE_SHOWN = 6  # per-sample matrices written out; the rest are in answers.json
PER_SAMPLE_MAX_UNITS = 10  # wider networks: per-sample gradients only in answers.json


def T(s: str) -> Tex:
    return Tex(s, text_width(s))


def paren(t: Tex) -> Tex:
    """A negative number after an operator goes in parentheses: 0 - 0.5 (-0.85)."""
    return Tex(rf"\left({t.tex}\right)", t.width + 0.6) if t.tex.startswith("-") else t


class Namer:
    """Display names: W1 -> W_{1}, b1 -> B (from names:), H_L -> \\hat{Y}."""

    def __init__(self, names: dict[str, str], depth: int):
        self.names, self.L = names, depth

    def __call__(self, key: str) -> str:
        if key in self.names:
            return F.symbol(self.names[key])
        if key == f"H{self.L}":
            return r"\hat{Y}"
        if key == "H0":
            return "X"
        if key[0] in "WbZH" and key[1:].isdigit():
            return f"{key[0]}_{{{key[1:]}}}"
        return F.symbol(key)

    def d(self, key: str) -> str:
        """Gradient name: dW_{1}, dB ..."""
        return "d" + self(key) if key != f"H{self.L}" else r"d\hat{Y}"


class Worked:
    def __init__(self, sol: NetworkSolution):
        self.sol, self.s = sol, sol.setup
        self.cols = self.s.layout == "columns"
        self.n = Namer(self.s.names, self.s.depth)
        self.digits = self.s.digits
        self.m = sol.Xb.shape[0]

    # ---- helpers --------------------------------------------------------------------
    def show(self, a: np.ndarray) -> np.ndarray:
        return a.T if self.cols and a.ndim == 2 else a

    def v(self, a: np.ndarray | float) -> Tex:
        return value(self.show(np.asarray(a, dtype=float)) if np.ndim(a) == 2 else a, self.digits)

    def line(self, lhs: str, formula: str | None, subst: list[Tex] | None,
             result: np.ndarray | float, shape: bool = False, key: str = "") -> Line:
        """formula = substitution = result; `shape` adds the result's shape at the right;
        `key` (the canonical name) picks up a per-value `digits_for` setting."""
        steps: list[list[Tex]] = []
        if formula:
            steps.append([T(formula)])
        if subst:
            steps.append(subst)
        d = self.s.digits_for.get(key, self.digits) if key else self.digits
        arr0 = np.asarray(result, dtype=float)
        res = value(self.show(arr0) if arr0.ndim == 2 else arr0, d)
        steps.append([res])
        arr = np.asarray(result, dtype=float)
        dims = self.show(arr).shape if arr.ndim == 2 else arr.shape
        blank = value(np.zeros(dims), blank=True) if arr.size > 1 else Tex(r"\boxed{\rule{0pt}{1.2em}\hspace{4em}}", 4.5)
        tag = rf"{dims[0]} \times {dims[1]}" if shape and len(dims) == 2 else ""
        return Line(lhs, steps, blank, tag)

    def H(self, l: int) -> np.ndarray:
        return self.sol.step.H[l]

    # ---- parts ----------------------------------------------------------------------
    def given(self) -> Part:
        s, n = self.s, self.n
        part = Part("Given")
        part.items.append(Raw(self.architecture_table()))
        part.items.append(Para(self.conventions()))
        pairs = [("X", self.v(s.X)), ("Y", self.v(s.Y))]
        for l in range(1, s.depth + 1):
            for p in ("W", "b"):
                k = f"{p}{l}"
                pairs.append((n(k), self.v(s.params[k])))
        part.items.append(Values(pairs))
        return part

    def architecture_table(self) -> str:
        s, n = self.s, self.n
        t = Tabular("llrllr", booktabs=True)
        t.add_row(["Layer", "Activation", "Units", "Weights", "Bias", "Parameters"])
        t.add_hline()
        t.add_row(["Input", "", s.units[0], "", "", ""])
        total = 0
        for l in range(1, s.depth + 1):
            fi, fo = s.units[l - 1], s.units[l]
            wshape = (fi, fo) if not self.cols else (fo, fi)
            bshape = (1, fo) if not self.cols else (fo, 1)
            count = fi * fo + fo
            total += count
            name = "Output" if l == s.depth else f"Hidden {l}"
            t.add_row([name, F.ACT_NAME[s.activations[l - 1]], fo,
                       NoEscape(f"${n(f'W{l}')}$: ${wshape[0]} \\times {wshape[1]}$"),
                       NoEscape(f"${n(f'b{l}')}$: ${bshape[0]} \\times {bshape[1]}$"), count])
        t.add_hline()
        t.add_row(["Total", "", "", "", "", total])
        return "\\begin{center}\n" + t.dumps() + "\n\\end{center}"

    def conventions(self) -> str:
        s = self.s
        lay = (r"rows layout: $X$ is samples $\times$ features and $Z = X W + b$"
               if not self.cols else
               r"columns layout: $X$ is features $\times$ samples and $Z = W X + b$")
        red = "averaged over" if s.reduction == "mean" else "summed over"
        loss = F.LOSS_NAME[s.loss] + (f" with $\\varepsilon = {fmt(s.eps)}$ inside the logarithm"
                                      if s.eps is not None else "")
        if s.factor != 1:
            loss += f", times ${fmt(s.factor)}$"
        opt = s.optimizer["name"]
        optname = {"sgd": "gradient descent", "momentum": "momentum", "adam": "Adam",
                   "rmsprop": "RMSprop"}[opt]
        bits = [lay, f"loss: {loss}, {red} the samples of a batch"]
        if s.l2:
            bits.append(f"L2 regularisation $\\frac{{\\lambda}}{{2m}}\\sum \\lVert W \\rVert^2$ with $\\lambda = {fmt(s.l2)}$ (biases excluded)")
        bits.append(f"{optname} with learning rate $\\eta = {fmt(s.lr)}$")
        m = s.X.shape[0]
        if s.batch_size < m:
            bits.append(f"batches of {s.batch_size} of the {m} samples, in order"
                        + (" after shuffling" if s.shuffle_seed is not None else ""))
        if s.epochs > 1:
            bits.append(f"{s.epochs} epochs")
        if s.freeze:
            bits.append("frozen (never updated): " + ", ".join(f"${self.n(k)}$" for k in sorted(s.freeze)))
        if s.data_source != "inline":
            bits.append(f"data: {escape(s.data_source)} ({m} samples)")
        return "Conventions: " + "; ".join(bits) + "."

    def forward(self) -> Part:
        s, n, sol = self.s, self.n, self.sol
        part = Part("Forward pass")
        if self.m < s.X.shape[0]:
            part.items.append(Para(f"The worked step uses the first batch: samples 1 to {self.m}."))
        lines = []
        for l in range(1, s.depth + 1):
            Hp, W, b = n(f"H{l - 1}"), n(f"W{l}"), n(f"b{l}")
            formula = f"{Hp} {W} + {b}" if not self.cols else f"{W} {Hp} + {b}"
            Hv, Wv, bv = self.v(self.H(l - 1)), self.v(s.params[f"W{l}"]), self.v(s.params[f"b{l}"])
            subst = [Hv, T(r"\,"), Wv, T("+"), bv] if not self.cols else [Wv, T(r"\,"), Hv, T("+"), bv]
            lines.append(self.line(n(f"Z{l}"), formula, subst, sol.step.Z[l - 1], shape=True, key=f"Z{l}"))
            act = s.activations[l - 1]
            if act != "linear":
                zt = self.v(sol.step.Z[l - 1])
                applied = Tex(F.apply(act, zt.tex), zt.width + text_width(F.apply(act, "")))
                # Z is shown just above; write it out again only while it fits on a line
                sub = [applied] if applied.width < LINE_BUDGET_EM - 6 else None
                lines.append(self.line(n(f"H{l}"), F.apply(act, n(f"Z{l}")), sub, self.H(l), shape=True, key=f"H{l}" if l < s.depth else "yhat"))
            else:
                lines.append(Line(n(f"H{l}"), [[T(n(f"Z{l}"))]], None))
        part.items.append(Eqs(lines))
        return part

    def loss(self) -> Part:
        s, sol = self.s, self.sol
        k = s.Y.shape[1]
        part = Part("Loss")
        per = F.loss_formula(s.loss, s.eps, k, s.factor, yhat=r"\hat{y}_i", y="y_i") if k == 1 else \
            F.loss_formula(s.loss, s.eps, k, s.factor, yhat=r"\hat{y}", y="y")
        lines = [Line("L_i", [[T(per)]])]
        Yb, yh = sol.Yb, sol.step.H[-1]
        ls = sol.step.loss_per_sample
        if self.m <= 6:
            for i in range(self.m):
                sub = self.sample_loss_subst(Yb[i], yh[i])
                lines.append(self.line(f"L_{{{i + 1}}}", None, [T(sub)] if sub else None, float(ls[i]), key="loss_per_sample"))
        lines.append(self.line(r"\mathbf{L}", None, None, ls.reshape(-1, 1), key="loss_per_sample"))
        red = rf"\frac{{1}}{{{self.m}}} \sum_{{i=1}}^{{{self.m}}} L_i" if s.reduction == "mean" else \
            rf"\sum_{{i=1}}^{{{self.m}}} L_i"
        if s.l2:
            red += rf" + \frac{{\lambda}}{{2m}} \sum_l \lVert {self.n('W1')[0]}_l \rVert^2"
        subst = None
        if self.m <= 6:
            pre = rf"\frac{{1}}{{{self.m}}}" if s.reduction == "mean" else ""
            terms = " + ".join(fmt(x, self.digits) for x in ls)
            subst = [T(pre + r"\left(" + terms + r"\right)" if pre else terms)]
            if s.l2:
                pen = sol.step.loss - (ls.mean() if s.reduction == "mean" else ls.sum())
                subst.append(T(f"+ {fmt(pen, self.digits)}"))
        lines.append(self.line("L", red, subst, sol.step.loss, key="loss"))
        part.items.append(Eqs(lines))
        return part

    def sample_loss_subst(self, y: np.ndarray, yh: np.ndarray) -> str | None:
        s, d = self.s, self.digits
        e = r" + \varepsilon" if s.eps is not None else ""
        pre = "" if s.factor == 1 else f"{fmt(s.factor)} \\cdot "
        if s.loss == "bce" and len(y) == 1:
            return (pre + rf"-\left[{fmt(y[0])} \log\left({fmt(yh[0], d)}{e}\right) + {fmt(1 - y[0])}"
                    rf" \log\left(1 - {fmt(yh[0], d)}{e}\right)\right]")
        if s.loss == "cce" and np.count_nonzero(y) == 1 and y.max() == 1:
            j = int(np.argmax(y))
            return pre + rf"-\log\left({fmt(yh[j], d)}{e}\right)"
        if s.loss in ("mse", "sse") and len(y) == 1:
            return pre + rf"\left({fmt(yh[0], d)} - {fmt(y[0])}\right)^2"
        return None

    def backward(self) -> Part:
        s, n, sol = self.s, self.n, self.sol
        L = s.depth
        k = s.Y.shape[1]
        part = Part("Backward pass")
        rowcol = "row" if not self.cols else "column"
        part.items.append(Para(
            f"Each {rowcol} of $dZ_{{l}}$ is one sample's $\\partial L_i / \\partial z_l$; the "
            "gradients of the batch loss " + ("average" if s.reduction == "mean" else "add up")
            + " the per-sample gradients" + (" and add the L2 term $\\frac{\\lambda}{m} W$" if s.l2 else "") + "."))
        lines: list[Line] = []
        act = s.activations[-1]
        closed = F.output_delta_formula(s.loss, act, s.eps, k, s.factor)
        ZL, yh = n(f"Z{L}"), n(f"H{L}")
        if closed:
            sub = [self.v(sol.step.H[-1]), T("-"), self.v(sol.Yb)] if closed == r"\hat{Y} - Y" else None
            lines.append(self.line(f"dZ_{{{L}}}", closed.replace(r"\hat{Y}", yh), sub, sol.step.dZ[-1], key=f"dZ{L}"))
        else:
            g = F.loss_gradient_formula(s.loss, s.eps, k, s.factor)
            if act == "softmax":
                dz = r"\hat{Y} \circ \left(d\hat{Y} - \left(d\hat{Y} \circ \hat{Y}\right)\mathbf{1}\right)"
            else:
                dz = rf"d\hat{{Y}} \circ {F.derivative(act, ZL, yh)}" if act != "linear" else r"d\hat{Y}"
            dyh = self.dyhat()
            lines.append(self.line(r"d\hat{Y}", g, None, dyh))
            lines.append(self.line(f"dZ_{{{L}}}", dz, None, sol.step.dZ[-1], key=f"dZ{L}"))
        for l in range(L, 0, -1):
            lines.extend(self.layer_grads(l))
            if l > 1:
                Wl = n(f"W{l}")
                f = f"dZ_{{{l}}} {Wl}^{{T}}" if not self.cols else f"{Wl}^{{T}} dZ_{{{l}}}"
                dH = sol.step.dZ[l - 1] @ s.params[f"W{l}"].T
                dZv, WTv = self.v(sol.step.dZ[l - 1]), value(self.show(s.params[f"W{l}"].T), self.digits)
                sub = [dZv, T(r"\,"), WTv] if not self.cols else [WTv, T(r"\,"), dZv]
                lines.append(self.line(f"dH_{{{l - 1}}}", f, sub, dH))
                a = s.activations[l - 2]
                if a == "softmax":
                    lines.append(self.line(f"dZ_{{{l - 1}}}", r"\text{softmax}^{\prime} \text{ applied to } dH", None, sol.step.dZ[l - 2], key=f"dZ{l - 1}"))
                else:
                    deriv = F.derivative(a, n(f"Z{l - 1}"), n(f"H{l - 1}"))
                    dv = self.act_deriv(l - 1)
                    lines.append(self.line(f"dZ_{{{l - 1}}}", f"dH_{{{l - 1}}} \\circ {deriv}" if a != "linear" else f"dH_{{{l - 1}}}",
                                           [self.v(dH), T(r"\circ"), self.v(dv)] if a != "linear" else None,
                                           sol.step.dZ[l - 2], key=f"dZ{l - 1}"))
        part.items.append(Eqs(lines))
        return part

    def dyhat(self) -> np.ndarray:
        s, sol = self.s, self.sol
        y, yh = sol.Yb, sol.step.H[-1]
        k = y.shape[1]
        if s.loss in ("mse", "sse"):
            return s.factor * 2 * (yh - y) / (k if s.loss == "mse" else 1)
        e = s.eps or 0.0
        if s.loss == "bce":
            return s.factor * (-(y / (yh + e)) + (1 - y) / (1 - yh + e)) / k
        return s.factor * (-y / (yh + e))

    def act_deriv(self, l: int) -> np.ndarray:
        from ..engine.functions import ACTIVATIONS

        act = ACTIVATIONS[self.s.activations[l - 1]]
        assert act.deriv is not None
        return act.deriv(self.sol.step.Z[l - 1], self.sol.step.H[l], self.s.alphas[l - 1])

    def layer_grads(self, l: int) -> list[Line]:
        s, n, sol, m = self.s, self.n, self.sol, self.m
        W, b, Hp = n(f"W{l}"), n(f"b{l}"), n(f"H{l - 1}")
        hp = Hp.lower() if Hp != "X" else "x"
        lines: list[Line] = []
        ps = sol.step.per_sample.get(f"W{l}")
        dZ = sol.step.dZ[l - 1]
        Hprev = self.H(l - 1)
        small = max(s.units) <= PER_SAMPLE_MAX_UNITS
        shown = min(m, PER_SAMPLE_SHOWN) if ps is not None and small else 0
        if ps is not None and not small and l == s.depth:
            lines.append(Line(r"\frac{\partial L_i}{\partial W}",
                              [[T(r"\text{per sample: in answers.json (too large to print usefully)}")]]))
        for i in range(shown):
            h = Hprev[i:i + 1]  # 1 x n (rows)
            dz = dZ[i:i + 1]
            if not self.cols:
                f = rf"{hp}^{{({i + 1})T}} dz^{{({i + 1})}}_{{{l}}}"
                sub = [value(h.T, self.digits), T(r"\,"), value(dz, self.digits)]
            else:
                f = rf"dz^{{({i + 1})}}_{{{l}}} {hp}^{{({i + 1})T}}"
                sub = [value(dz.T, self.digits), T(r"\,"), value(h, self.digits)]
            assert ps is not None
            lines.append(self.line(rf"\frac{{\partial L_{{{i + 1}}}}}{{\partial {W}}}", f, sub, ps[i], key=f"dW{l}_per_sample"))
        if m > PER_SAMPLE_SHOWN and shown:
            lines.append(Line(r"\vdots", [[T(rf"\text{{(samples {PER_SAMPLE_SHOWN + 1} to {m} in answers.json)}}")]]))
        mean = s.reduction == "mean"
        pre = rf"\frac{{1}}{{{m}}}" if mean else ""
        lead = pre + " " if pre else ""
        f = rf"{lead}{Hp}^{{T}} dZ_{{{l}}}" if not self.cols else rf"{lead}dZ_{{{l}}} {Hp}^{{T}}"
        if s.l2:
            f += rf" + \frac{{{fmt(s.l2)}}}{{{m}}} {W}"
        sub = []
        if m <= PER_SAMPLE_SHOWN and not s.l2 and shown and ps is not None:
            sub = [T(pre + r"\left(")] if pre else []
            for i in range(m):
                sub.append(paren(value(self.show(ps[i]), self.digits)) if i else value(self.show(ps[i]), self.digits))
                if i < m - 1:
                    sub.append(T("+"))
            if pre:
                sub.append(T(r"\right)"))
            if sum(p.width for p in sub) > LINE_BUDGET_EM - 4:
                sub = []  # would need a line break inside \left( ... \right): use H^T dZ
        if not sub:
            Hv, dZv = value(self.show(Hprev).T, self.digits), self.v(dZ)
            sub = [T(pre), Hv, T(r"\,"), dZv] if not self.cols else [T(pre), dZv, T(r"\,"), Hv]
            if s.l2:  # the L2 term, with the weights it scales
                sub += [T(rf"+ \frac{{{fmt(s.l2)}}}{{{m}}}"), self.v(s.params[f"W{l}"])]
        lines.append(self.line(f"d{W}", f, sub, sol.step.grads[f"W{l}"], key=f"dW{l}"))
        fb = rf"\frac{{1}}{{{m}}} \sum_{{i=1}}^{{{m}}} dz^{{(i)}}_{{{l}}}" if mean else \
            rf"\sum_{{i=1}}^{{{m}}} dz^{{(i)}}_{{{l}}}"
        lines.append(self.line(f"d{b}", fb, None, sol.step.grads[f"b{l}"], key=f"db{l}"))
        return lines

    def update(self) -> Part:
        s, n, sol = self.s, self.n, self.sol
        part = Part("Update")
        opt = s.optimizer["name"]
        lines = []
        for l in range(1, s.depth + 1):
            for p in ("W", "b"):
                key = f"{p}{l}"
                name = n(key)
                if key in s.freeze:
                    lines.append(Line(name + r"^{\text{new}}", [[T(name)], [T(r"\text{(frozen)}")]]))
                    continue
                eta = fmt(s.lr, self.digits)
                if opt == "sgd":
                    f = rf"{name} - \eta\, d{name}"
                    sub = [self.v(s.params[key]), T(f"- {eta} \\cdot"), paren(self.v(sol.step.grads[key]))]
                elif opt == "momentum":
                    f = rf"{name} - \eta\, v, \; v = (1 - \beta)\, d{name}"
                    sub = None
                elif opt == "adam":
                    f = rf"{name} - \eta \frac{{\hat m}}{{\sqrt{{\hat v}} + \epsilon}}"
                    sub = None
                else:
                    f = rf"{name} - \eta \frac{{d{name}}}{{\sqrt{{s}} + \epsilon}}"
                    sub = None
                lines.append(self.line(name + r"^{\text{new}}", f, sub, sol.new_params[key], key=f"{key}_new"))
        part.items.append(Eqs(lines))
        return part

    def training(self) -> Part:
        s, sol, n = self.s, self.sol, self.n
        part = Part("Training", answers_only=False)
        hist = sol.history
        every = s.log_every or max(1, len(hist) // 10)
        epochs = list(range(0, len(hist), every))
        if epochs[-1] != len(hist) - 1:
            epochs.append(len(hist) - 1)
        t = Tabular("rr", booktabs=True)
        t.add_row(["Epoch", NoEscape("Loss at the start of the epoch")])
        t.add_hline()
        for e in epochs:
            t.add_row([e + 1, NoEscape(f"${fmt(hist[e], self.digits)}$")])
        t.add_hline()
        t.add_row(["end", NoEscape(f"${fmt(sol.loss_final, self.digits)}$")])
        part.items.append(Raw("\\begin{center}\n" + t.dumps() + "\n\\end{center}", in_questions=False))
        lines = []
        for l in range(1, s.depth + 1):
            for p in ("W", "b"):
                key = f"{p}{l}"
                lines.append(self.line(n(key) + r"^{\text{final}}", None, None, sol.final_params[key], key=f"{key}_final"))
        lines.append(self.line(r"\hat{Y}^{\text{final}}", None, None, sol.yhat_final, key="yhat_final"))
        if sol.accuracy_final is not None:
            lines.append(self.line(r"\text{accuracy}", None, None, sol.accuracy_final, key="accuracy_final"))
        part.items.append(Eqs(lines))
        return part


def network_parts(sol: NetworkSolution) -> list[Part]:
    w = Worked(sol)
    s = sol.setup
    builders = {"given": w.given, "forward": w.forward, "loss": w.loss, "backward": w.backward,
                "update": w.update, "training": w.training}
    parts = []
    for step in ("given", "forward", "loss", "backward", "update", "training"):
        if step not in s.show:
            continue
        if step == "training" and s.epochs == 1 and s.batch_size == s.X.shape[0]:
            continue  # one step of one batch: the update above is the whole training
        part = builders[step]()
        part.key = step
        parts.append(part)
    return parts
