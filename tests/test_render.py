"""Rendering checks with SymPy as the reference: symbol names, and the activation derivative
formulas the documents print."""

from __future__ import annotations

import pytest
import sympy as sp

from nnreport.render.formulas import ACT_DERIV, symbol, sympy_symbol

NAMES = ["W1", "W12", "B", "C", "XW1", "X", "H", "nll", "out", "Result", "ShiftA", "x", "s",
         "ds", "Ax", "W_1", "alpha", "beta2", "lambda", "theta_1", "x_i", "dW3", "Z10"]


@pytest.mark.parametrize("name", NAMES)
def test_symbol_matches_sympy(name):
    want = sympy_symbol(name)
    base = want.split("_")[0]
    if len(base) > 1 and base.isalpha():
        want = rf"\mathrm{{{base}}}" + want[len(base):]
    assert symbol(name) == want


@pytest.mark.parametrize("name,want", [("yhat", r"\hat{y}"), ("Yhat", r"\hat{Y}"),
                                       ("yhat2", r"\hat{y}_{2}"), ("nll", r"\mathrm{nll}"),
                                       ("lr", r"\mathrm{lr}"), ("hat", r"\mathrm{hat}")])
def test_multi_letter_names_are_words_or_proper_symbols(name, want):
    assert symbol(name) == want


z = sp.Symbol("z", real=True)
DEFINITIONS = {
    "sigmoid": 1 / (1 + sp.exp(-z)),
    "tanh": sp.tanh(z),
    "linear": z,
}


@pytest.mark.parametrize("act", sorted(DEFINITIONS))
def test_printed_derivative_is_the_derivative(act):
    """The printed f'(Z), written with H = f(Z), equals sympy.diff of the definition."""
    f = DEFINITIONS[act]
    H = sp.Symbol("H")
    printed = ACT_DERIV[act].format(Z="Z", H="H")
    expr = {"sigmoid": H * (1 - H), "tanh": 1 - H * H, "linear": sp.Integer(1)}[act]
    # the formula in the documents is the expression we check, letter for letter
    assert printed.replace(r"\odot", "*").replace(r"\left", "").replace(r"\right", "").replace(" ", "") \
        in {"H*(1-H)", "1-H*H", "1"}
    assert sp.simplify(expr.subs(H, f) - sp.diff(f, z)) == 0


@pytest.mark.parametrize("x", [-2.0, -0.5, 0.5, 3.0])
def test_relu_family_derivatives(x):
    import numpy as np

    from nnreport.engine.functions import ACTIVATIONS

    for name, want in [("relu", float(x > 0)), ("leaky_relu", 1.0 if x > 0 else 0.2)]:
        act = ACTIVATIONS[name]
        z_ = np.array([x])
        got = act.deriv(z_, act(z_, 0.2), 0.2)[0]
        h = 1e-6
        fd = (act(z_ + h, 0.2) - act(z_ - h, 0.2))[0] / (2 * h)
        assert got == want == pytest.approx(fd)
