"""The batch normalisation layer's worked lines (issue 25), as a student writes them.

Forward, over the batch's samples (the rows of X = H_{l-1}): the mean mu, the biased variance
sigma^2 (divided by m), the standard deviation sqrt(sigma^2 + eps), one normalised entry in full
and the whole xhat, one output entry in full and the whole H = gamma (.) xhat + beta.
Backward: dgamma and dbeta (sums over the samples, with the mean's 1/m), and dX in its closed
form dX = (m dxhat - sum_n dxhat - xhat (.) sum_n (dxhat (.) xhat)) / (m sqrt(sigma^2 + eps)),
with dxhat = dH (.) gamma and the two sums each a line, one entry in full, then the whole.

Plain arrays (engine/layers/batchnorm.py's shapes: X, H, dH [m, features]; gamma, beta
[features]), display names and digits; `keys` (layer l: mu{l}, var{l}, xhat{l}, H{l}, dgamma{l},
dbeta{l}, dH{l-1}) name the graded results. Wrapped as WorkedLayer functions of (Ctx, l) once
the layer is registered."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ....engine.layers import batchnorm as BN
from ....render.numbers import fmt
from ...steps import Piece, Step, Val
from .conv import joint, mean_scale, nearest, samples_sum, unit


@dataclass(frozen=True)
class Names:
    x: str = "X"        # the input H_{l-1}, one row per sample
    xr: str = "x"       # one sample's row of it
    h: str = "H"
    mu: str = r"\mu"
    var: str = r"\sigma^{2}"
    xhat: str = r"\hat{X}"
    xhr: str = r"\hat{x}"
    gamma: str = r"\gamma"
    beta: str = r"\beta"
    dh: str = "dH"
    dhr: str = "dh"
    dx: str = "dX"
    l: int | None = None  # the layer, for the JSON names

    @classmethod
    def layer(cls, l: int) -> Names:
        x = "X" if l == 1 else f"H_{{{l - 1}}}"
        return cls(x=x, xr="x" if l == 1 else f"h_{{{l - 1}}}", h=f"H_{{{l}}}",
                   mu=rf"\mu_{{{l}}}", var=rf"\sigma^{{2}}_{{{l}}}", xhat=rf"\hat{{X}}_{{{l}}}",
                   xhr=rf"\hat{{x}}_{{{l}}}", gamma=rf"\gamma_{{{l}}}", beta=rf"\beta_{{{l}}}",
                   dh=f"dH_{{{l}}}", dhr=f"dh_{{{l}}}",
                   dx="dX" if l == 1 else f"dH_{{{l - 1}}}", l=l)

    def key(self, base: str) -> str:
        """The JSON name of a value (mu -> mu3), '' without a layer."""
        if self.l is None:
            return ""
        return f"{base}{self.l - 1}" if base == "dH" else f"{base}{self.l}"


def row(name: str, n: int | str) -> str:
    """Sample n's row: x^{(n)}, or h_{1}^{(n)} for a name with a subscript."""
    return f"{name}^{{({n + 1 if isinstance(n, int) else n})}}"


def ent(name: str, n: int, j: int) -> str:
    """Entry (n, j): sample n, feature j: x^{(n)}_{j}, (h_{1})^{(n)}_{j}."""
    base = rf"\left({name}\right)" if "_" in name else name
    return f"{base}^{{({n + 1})}}_{{{j + 1}}}"


def feat(name: str, j: int) -> str:
    """Feature j of a per-feature value: mu_{j}, (mu_{1})_{j}."""
    return (rf"\left({name}\right)_{{{j + 1}}}" if "_" in name or "^" in name
            else f"{name}_{{{j + 1}}}")


def eps_tex(eps: float, d: int) -> str:
    return fmt(eps, d)


def formula(names: Names = Names()) -> str:
    """H_l = gamma_l (.) (H_{l-1} - mu_l) / sqrt(sigma^2_l + eps) + beta_l, for the
    conventions sentence."""
    return (rf"{names.h} = {names.gamma} \odot \frac{{{names.x} - {names.mu}}}"
            rf"{{\sqrt{{{names.var} + \epsilon}}}} + {names.beta}")


def stats(x: np.ndarray, eps: float) -> tuple[np.ndarray, ...]:
    """mu and the biased variance (exact where the inputs allow, the float nearest), the
    standard deviation sqrt(var + eps) and xhat. ValueError (engine/layers/batchnorm.py's
    message) for an input that is not [m, features], or a constant feature with eps 0."""
    F = np.shape(x)[1] if np.ndim(x) == 2 else 0
    BN.forward(np.asarray(x, dtype=float), np.ones(F), np.zeros(F), eps)  # its checks
    m = x.shape[0]
    mu, var = nearest(lambda a: (a.sum(axis=0) * mean_scale(a, m, True),
                                 ((a - a.sum(axis=0) * mean_scale(a, m, True)) ** 2).sum(axis=0)
                                 * mean_scale(a, m, True)), x)
    std = np.sqrt(var + eps)
    return mu, var, std, (x - mu) / std


def _rows_sum(a: np.ndarray, d: int, pre: str, each: Any = None) -> list[Piece]:
    """pre (row_1 + row_2 + ...): a matrix's rows added up, each row one unit (`each`
    formats a row's unit from its Val)."""
    return samples_sum(a.shape[0], lambda n: each(Val(a[n], d)) if each else Val(a[n], d),
                       pre)


def forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, digits: int,
            names: Names = Names(), *, eps: float = BN.EPS,
            at: tuple[int, int] = (0, 0)) -> list[Step]:
    """mu, sigma^2, the standard deviation, xhat (entry `at` = (n, j) in full, then all) and
    H (the same entry in full, then all), each with its numbers."""
    d, m = digits, x.shape[0]
    n, j = at
    BN.check(x, gamma, beta, eps)
    mu, var, std, xhat = stats(x, eps)
    H = gamma * xhat + beta
    pre = rf"\frac{{1}}{{{m}}}"
    k = names.key
    steps = [
        Step(names.mu, rf"{pre} \sum_{{n=1}}^{{{m}}} {row(names.xr, 'n')}",
             _rows_sum(x, d, pre), Val(mu, d), key=k("mu"),
             note="the mean of each feature over the batch's samples (the rows)"),
    ]
    dev = nearest(lambda a, b: a - b, x, mu)
    subst = samples_sum(m, lambda i: joint(r"\left(", Val(x[i], d), "-", Val(mu, d),
                                           r"\right)^{2}"), pre)
    more = _rows_sum(dev, d, pre, lambda v: unit(v, "^{2}"))
    steps.append(Step(names.var, rf"{pre} \sum_{{n=1}}^{{{m}}} \left({row(names.xr, 'n')} - "
                      rf"{names.mu}\right)^{{2}}", subst, Val(var, d), key=k("var"),
                      more=[more], note=f"the variance, divided by $m = {m}$ (biased), the "
                      "squares taken entry by entry"))
    e = eps_tex(eps, d)
    steps.append(Step(rf"\sqrt{{{names.var} + \epsilon}}", None,
                      [unit(r"\sqrt{", Val(var, d), f"+ {e}", "}")], Val(std, d),
                      asked=False, note=rf"the standard deviation, with $\epsilon = {e}$"))
    xj = ent(names.xr, n, j)
    steps.append(Step(ent(names.xhr, n, j),
                      rf"\frac{{{xj} - {feat(names.mu, j)}}}{{\sqrt{{{feat(names.var, j)} + "
                      r"\epsilon}}",
                      [rf"\frac{{{_neg(fmt(float(x[n, j]), d))} - {_neg(fmt(float(mu[j]), d))}}}"
                       rf"{{\sqrt{{{fmt(float(var[j]), d)} + {e}}}}}"],
                      Val(float(xhat[n, j]), d), asked=False,
                      note="each entry less its feature's mean, divided by its standard "
                           "deviation"))
    steps.append(Step(names.xhat, rf"\left({names.x} - {names.mu}\right) \oslash "
                      rf"\sqrt{{{names.var} + \epsilon}}",
                      [*joint(r"\left(", Val(x, d), "-", Val(mu, d), r"\right)"), r"\oslash",
                       Val(std, d)], Val(xhat, d), key=k("xhat"), shape=True,
                      note=r"$\mu$ taken from every row, each column divided by its own "
                           "standard deviation"))
    steps.append(Step(ent(names.h.replace("H", "h", 1), n, j),
                      rf"{feat(names.gamma, j)} {ent(names.xhr, n, j)} + {feat(names.beta, j)}",
                      [_prod(float(gamma[j]), float(xhat[n, j]), d),
                       _plus(fmt(float(beta[j]), d))], Val(float(H[n, j]), d), asked=False))
    steps.append(Step(names.h, rf"{names.gamma} \odot {names.xhat} + {names.beta}",
                      [Val(gamma, d), r"\odot", Val(xhat, d), "+", Val(beta, d)], Val(H, d),
                      key=k("H"), shape=True,
                      note=r"scaled by $\gamma$ and shifted by $\beta$, feature by feature"))
    return steps


def _neg(t: str) -> str:
    return rf"\left({t}\right)" if t.startswith("-") else t


def _prod(a: float, b: float, d: int) -> str:
    return f"{fmt(a, d)} \\cdot {_neg(fmt(b, d))}"


def _minus(t: str) -> str:
    """'- t' as a term of a sum; a negative number t: '+ |t|'."""
    return "+ " + t[1:] if t.startswith("-") else "- " + t


def _plus(t: str) -> str:
    return "- " + t[1:] if t.startswith("-") else "+ " + t


def grads(dh: np.ndarray, x: np.ndarray, digits: int, names: Names = Names(), *,
          eps: float = BN.EPS, mean: bool = True) -> list[Step]:
    """dgamma = (1/m) sum_n dh^(n) (.) xhat^(n) and dbeta = (1/m) sum_n dh^(n), the rows
    with their numbers (no 1/m for a sum loss or a batch of one)."""
    d, m = digits, x.shape[0]
    xhat = stats(x, eps)[3]
    pre = rf"\frac{{1}}{{{m}}}" if mean and m > 1 else ""
    dg = nearest(lambda a, b: (a * b).sum(axis=0) * mean_scale(a, m, bool(pre)), dh, xhat)
    dbx = nearest(lambda a: a.sum(axis=0) * mean_scale(a, m, bool(pre)), dh)
    lead = pre + " " if pre else ""
    sub = samples_sum(m, lambda n: joint(Val(dh[n], d), r"\odot", Val(xhat[n], d)), pre)
    k = names.key
    return [
        Step(f"d{names.gamma}", rf"{lead}\sum_{{n=1}}^{{{m}}} {row(names.dhr, 'n')} \odot "
             rf"{row(names.xhr, 'n')}", sub, Val(dg, d), key=k("dgamma"),
             note=r"$\gamma$ multiplies $\hat{x}$: each sample's $dh \odot \hat{x}$, added up"
                  + (", divided by $m$" if pre else "")),
        Step(f"d{names.beta}", rf"{lead}\sum_{{n=1}}^{{{m}}} {row(names.dhr, 'n')}",
             _rows_sum(dh, d, pre), Val(dbx, d), key=k("dbeta"),
             note=r"$\beta$ is added to every sample: the rows of $dH$ added up"),
    ]


def back(dh: np.ndarray, x: np.ndarray, gamma: np.ndarray, digits: int,
         names: Names = Names(), *, eps: float = BN.EPS, at: tuple[int, int] = (0, 0)
         ) -> list[Step]:
    """dX by the closed form: dxhat = dH (.) gamma; its column sums, and those of
    dxhat (.) xhat; entry `at` = (n, j) of dX in full; then dX."""
    d, m = digits, x.shape[0]
    n, j = at
    std, xhat = stats(x, eps)[2:]
    dxh = nearest(lambda a, g: a * g, dh, gamma)
    s1 = nearest(lambda a: a.sum(axis=0), dxh)
    s2 = (dxh * xhat).sum(axis=0)
    dX = BN.back(dh, x, gamma, eps)
    one = r"\mathbf{1}^{T}"
    dxn = rf"d{names.xhat}"
    k = names.key
    steps = [
        Step(dxn, rf"{names.dh} \odot {names.gamma}", [Val(dh, d), r"\odot", Val(gamma, d)],
             Val(dxh, d), asked=False, shape=True,
             note=r"the gradient reaching $\hat{X}$ (each column times its $\gamma$)"),
        Step(rf"{one} {dxn}", None, [one, Val(dxh, d)], Val(s1, d), asked=False,
             note=r"the two sums over the samples the closed form needs (column sums)"),
        Step(rf"{one} \left({dxn} \odot {names.xhat}\right)", None,
             [one + r"\left(", *joint(Val(dxh, d), r"\odot", Val(xhat, d)), r"\right)"],
             Val(s2, d), asked=False),
    ]
    top = (rf"{m} \cdot {_neg(fmt(float(dxh[n, j]), d))} {_minus(fmt(float(s1[j]), d))} "
           rf"{_minus(_neg(fmt(float(xhat[n, j]), d)))} \cdot {_neg(fmt(float(s2[j]), d))}")
    bottom = rf"{m} \cdot {fmt(float(std[j]), d)}"
    dxe = ent(names.dx, n, j).replace(r"\left(dX\right)", "dX")
    steps.append(Step(
        dxe, rf"\frac{{{m}\, {ent('d' + names.xhr, n, j)} - \left({one} {dxn}\right)_{{{j + 1}}}"
        rf" - {ent(names.xhr, n, j)} \left({one} ({dxn} \odot {names.xhat})\right)_{{{j + 1}}}}}"
        rf"{{{m} \sqrt{{{feat(names.var, j)} + \epsilon}}}}",
        [rf"\frac{{{top}}}{{{bottom}}}"], Val(float(dX[n, j]), d), asked=False,
        note=r"the closed form: $\mu$ and $\sigma^2$ depend on every sample, so each entry "
             r"of $dX$ gathers the whole column"))
    steps.append(Step(names.dx, rf"\frac{{{m}\, {dxn} - {one} {dxn} - {names.xhat} \odot "
                      rf"{one} \left({dxn} \odot {names.xhat}\right)}}"
                      rf"{{{m} \sqrt{{{names.var} + \epsilon}}}}", None, Val(dX, d),
                      key=k("dH"), shape=True))
    return steps
