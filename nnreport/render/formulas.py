"""The symbolic side: symbol names, activation and loss formulas, as LaTeX.

Symbol names go through SymPy's printer (W1 -> W_{1}, dZ2 -> dZ_{2}, user names such as B).
Matrix formulas are assembled here rather than by SymPy's MatAdd, which rejects the
broadcast bias row (X W + b with b of shape 1 x n) and reorders terms (-eta dW + W).
tests/test_render.py checks each derivative below against sympy.diff of its activation.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ..engine.printed import closed_delta

_PLAIN = re.compile(r"([A-Za-z]+?)(\d*)")
_GREEKISH = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota",
             "kappa", "lambda", "mu", "nu", "xi", "omicron", "pi", "rho", "sigma", "tau",
             "upsilon", "phi", "chi", "psi", "omega", "lamda", "hbar", "ell", "nabla"}


def sympy_symbol(name: str) -> str:
    """SymPy's LaTeX for a Symbol name (the reference; importing SymPy costs ~0.6 s)."""
    import sympy as sp

    return sp.latex(sp.Symbol(name))


@lru_cache(maxsize=512)
def symbol(name: str) -> str:
    """LaTeX for a display name: trailing digits become a subscript, Greek names letters, a
    name ending in 'hat' a hat (yhat -> \\hat{y}), and a multi-letter name one upright word
    (\\mathrm{nll}, not the product n l l of italic letters).

    Names of letters then digits (W1, B, XW1) are written directly, exactly as SymPy writes
    them (tests/test_render.py compares the two); anything else goes through SymPy."""
    m = _PLAIN.fullmatch(name)
    if m and m.group(1).lower() not in _GREEKISH and not any(
            g in name.lower() for g in _GREEKISH if len(g) > 2):
        letters, digits = m.groups()
        tex = letters + (f"_{{{digits}}}" if digits else "")
    else:  # SymPy writes a name ending in scr as \mathscr, which needs a package: \mathcal
        tex = sympy_symbol(name).replace(r"\mathscr{", r"\mathcal{")
    base = tex.split("_")[0]
    if len(base) > 3 and base.isalpha() and base.endswith("hat"):
        inner = base[:-3]
        inner = inner if len(inner) == 1 else rf"\mathrm{{{inner}}}"
        tex = rf"\hat{{{inner}}}" + tex[len(base):]
    elif len(base) > 1 and base.isalpha():
        tex = rf"\mathrm{{{base}}}" + tex[len(base):]
    return tex


# activation -> (application to an argument, derivative given Z and H names)
ACT_APPLY = {
    "sigmoid": r"\sigma\left({}\right)",
    "relu": r"\operatorname{{ReLU}}\left({}\right)",
    "leaky_relu": r"\operatorname{{LReLU}}_{{\alpha}}\left({}\right)",
    "tanh": r"\tanh\left({}\right)",
    "linear": r"{}",
    "softmax": r"\operatorname{{softmax}}\left({}\right)",
}

# f'(Z) written with the layer's output H = f(Z) where that is how courses write it
ACT_DERIV = {
    "sigmoid": r"{H} \odot \left(1 - {H}\right)",
    "relu": r"\mathbf{{1}}\left[{Z} > 0\right]",
    "leaky_relu": r"\left(\mathbf{{1}}\left[{Z} > 0\right] + \alpha\, \mathbf{{1}}\left[{Z} \le 0\right]\right)",
    "tanh": r"1 - {H} \odot {H}",
    "linear": r"1",
}

ACT_NAME = {"sigmoid": "sigmoid", "relu": "ReLU", "leaky_relu": "leaky ReLU", "tanh": "tanh",
            "linear": "linear", "softmax": "softmax"}

LOSS_NAME = {"mse": "mean squared error", "sse": "sum of squared errors",
             "bce": "binary cross-entropy", "cce": "categorical cross-entropy"}


def apply(act: str, arg: str) -> str:
    return ACT_APPLY[act].format(arg)


def derivative(act: str, Z: str, H: str) -> str:
    return ACT_DERIV[act].format(Z=Z, H=H)


def loss_formula(loss: str, eps: float | None, k: int, factor: float, yhat: str = r"\hat{y}",
                 y: str = "y") -> str:
    """Per-sample loss L_i in terms of one sample's prediction and target (k outputs)."""
    e = r" + \varepsilon" if eps is not None else ""
    mean = rf"\frac{{1}}{{{k}}} \sum_{{j=1}}^{{{k}}}" if k > 1 else ""
    sub = "_{j}" if k > 1 else ""
    if loss == "mse":
        body = rf"{mean} \left({yhat}{sub} - {y}{sub}\right)^2"
    elif loss == "sse":
        body = rf"\sum_{{j=1}}^{{{k}}} \left({yhat}{sub} - {y}{sub}\right)^2" if k > 1 else \
            rf"\left({yhat} - {y}\right)^2"
    elif loss == "bce":
        body = (rf"-{mean} \left[{y}{sub} \log\left({yhat}{sub}{e}\right) + \left(1 - {y}{sub}\right)"
                rf" \log\left(1 - {yhat}{sub}{e}\right)\right]")
    else:
        body = rf"-\sum_{{j=1}}^{{{k}}} {y}_{{ij}} \log\left({yhat}_{{ij}}{e}\right)"
    if factor != 1:
        from .numbers import fmt

        body = rf"{fmt(factor)} \cdot {body}" if loss in ("mse", "sse") else rf"{fmt(factor)} \cdot \left({body}\right)"
    return body.strip()


def output_delta_formula(loss: str, act: str, eps: float | None, k: int, factor: float) -> str | None:
    """dZ_L in closed form where there is one (the seeds' `dZ2 = yhat - y`), else None."""
    if not closed_delta(loss, act, eps):  # the rounded chain decides the same way
        return None
    f = "" if factor == 1 else rf"{factor:g}\,"
    if eps is None and ((loss == "bce" and act == "sigmoid") or (loss == "cce" and act == "softmax")):
        top = f"{factor:g}" if factor != 1 else "1"  # no thin space inside the fraction
        scale = rf"\frac{{{top}}}{{{k}}}" if (loss == "bce" and k > 1) else f
        return rf"{scale}\left(\hat{{Y}} - Y\right)" if scale else r"\hat{Y} - Y"
    if act == "linear" and loss in ("mse", "sse"):
        c = 2 * factor / (k if loss == "mse" else 1)
        return r"\hat{Y} - Y" if c == 1 else rf"{c:g}\left(\hat{{Y}} - Y\right)"
    return None


def loss_gradient_formula(loss: str, eps: float | None, k: int, factor: float) -> str:
    """dL_i/dyhat elementwise, as a matrix expression."""
    e = r" + \varepsilon" if eps is not None else ""
    pre = factor / (k if loss in ("mse", "bce") else 1)
    c = "" if pre == 1 else (rf"\frac{{1}}{{{k}}}" if factor == 1 else rf"{pre:g}")
    if loss in ("mse", "sse"):
        two = 2 * pre
        return rf"{two:g}\left(\hat{{Y}} - Y\right)"
    if loss == "bce":
        return (rf"{c}\left(-\frac{{Y}}{{\hat{{Y}}{e}}} + \frac{{1 - Y}}{{1 - \hat{{Y}}{e}}}\right)")
    return rf"-{c}\frac{{Y}}{{\hat{{Y}}{e}}}"
