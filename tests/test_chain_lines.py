"""`rounding: chain` (issue 20.2): every number a worked line prints enters the chain as
printed, so a student who redoes a line of the key from the numbers on it, and rounds the
result to the digits shown, is accepted by `check`.

The arithmetic is redone from the key's .tex alone (tests/texarith.py parses each substituted
line and evaluates it), rounded half-up here, and submitted value by value to the checker
(variants.check_answers with answers.json's ranges), for the two reported cases: the output
activation's derivative was carried unrounded although the key prints it rounded."""

from __future__ import annotations

import json
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pytest
from texarith import Unsupported, evaluate, worked_lines

from nnreport.build import answers_of
from nnreport.document.tex import render
from nnreport.engine.solve import solve
from nnreport.spec import loads
from nnreport.variants import check_answers


def half_up(x, digits: int) -> np.ndarray:
    """Half-up to `digits` significant digits on the decimal form: the student's rounding."""
    def one(v):
        d = Decimal(repr(float(v)))
        if d == 0 or not d.is_finite():
            return float(v)
        return float(d.quantize(Decimal(1).scaleb(d.adjusted() - digits + 1), rounding=ROUND_HALF_UP))
    return np.vectorize(one, otypes=[float])(np.asarray(x, dtype=float))


KEYS = [  # lhs as the key writes it -> (canonical name, per-sample index or None)
    (r"Z_\{(\d+)\}", lambda m: (f"Z{m[1]}", None)),
    (r"H_\{(\d+)\}", lambda m: (f"H{m[1]}", None)),
    (r"\\hat\{Y\}", lambda m: ("yhat", None)),
    (r"L_\{(\d+)\}", lambda m: ("loss_per_sample", int(m[1]) - 1)),
    (r"L", lambda m: ("loss", None)),
    (r"dZ_\{(\d+)\}", lambda m: (f"dZ{m[1]}", None)),
    (r"\\frac\{\\partial L_\{(\d+)\}\}\{\\partial ([Wb])_\{(\d+)\}\}",
     lambda m: (f"d{m[2]}{m[3]}_per_sample", int(m[1]) - 1)),
    (r"d([Wb])_\{(\d+)\}", lambda m: (f"d{m[1]}{m[2]}", None)),
    (r"([vsm])_\{([Wb])_\{(\d+)\}\}", lambda m: (f"{m[2]}{m[3]}_{m[1]}", None)),
    (r"\\hat ([mv])_\{([Wb])_\{(\d+)\}\}", lambda m: (f"{m[2]}{m[3]}_{m[1]}hat", None)),
    (r"\\Delta_\{([Wb])_\{(\d+)\}\}", lambda m: (f"{m[1]}{m[2]}_step", None)),
    (r"([Wb])_\{(\d+)\}\^\{\\text\{new\}\}", lambda m: (f"{m[1]}{m[2]}_new", None)),
]


def key_of(lhs: str) -> tuple[str, int | None] | None:
    for pattern, name in KEYS:
        m = re.fullmatch(pattern, lhs)
        if m:
            return name(m)
    return None


def redone(tex: str, env: dict[str, Any]) -> dict[str, tuple[str, np.ndarray]]:
    """Each value of the key recomputed from the first right-hand side that is arithmetic on
    printed numbers (its substitution), unrounded; per-sample values as lists. Also the
    substituted text, for messages."""
    out: dict[str, tuple[str, np.ndarray]] = {}
    per: dict[str, dict[int, np.ndarray]] = {}
    for lhs, sides in worked_lines(tex):
        key = key_of(lhs)
        if key is None or len(sides) < 2:
            continue
        line_env = {**env, "alpha": env.get("alphas", {}).get(lhs, 0.01)}  # LReLU's alpha
        for side in sides[:-1]:
            try:
                v = evaluate(side, line_env)
            except Unsupported:
                continue
            name, i = key
            if i is None:
                out[name] = (side, v)
            else:
                per.setdefault(name, {})[i] = v
            break
        else:  # no side could be redone: only a matrix too large to print whole excuses that
            elided = any(dots in side for side in sides for dots in (r"\cdots", r"\vdots"))
            assert elided, f"line {lhs} not understood: {sides}"
    for name, rows in per.items():
        if sorted(rows) == list(range(len(rows))):
            out[name] = ("per sample", np.array([rows[i] for i in range(len(rows))]))
    return out


def student(tex: str, answers: dict, pid: str, digits: int, digits_for: dict[str, int],
            env: dict[str, Any]) -> tuple[dict[str, list], dict[str, str]]:
    """The submission of a student who redoes every line from its printed numbers."""
    sub, lines = {}, {}
    for name, (side, v) in redone(tex, env).items():
        want = np.asarray(answers["problems"][pid][name], dtype=float)
        if name.endswith("_per_sample") and len(v) < len(want):
            continue  # the key writes out the first PER_SAMPLE_SHOWN samples only
        if v.size != want.size:
            raise AssertionError(f"{name}: {v.shape} from '{side[:80]}', key {want.shape}")
        sub[name] = half_up(v.reshape(want.shape), digits_for.get(name, digits)).tolist()
        lines[name] = side
    return sub, lines


def marked(text: str, env: dict[str, Any] | None = None):
    doc = loads(text)
    sols = solve(doc)
    answers = json.loads(json.dumps(answers_of(doc, sols)))
    tex = render(doc, sols, "key")
    s = doc.problems[0]
    env = {"eps": 0.0, **(env or {})}
    sub, lines = student(tex, answers, s.id, s.digits, s.digits_for, env)
    verdicts = check_answers(answers["problems"], {s.id: sub}, 1e-9, 0.0, None,
                             answers.get("tolerance"))
    return tex, answers, sub, lines, {v.name: v for v in verdicts}


def dz_line(tex: str, l: int) -> list[str]:
    return next(sides for lhs, sides in worked_lines(tex) if lhs == f"dZ_{{{l}}}")


CASE = """title: chain
rounding: chain
digits: 3
problems:
  - id: n
    data: {{X: {X}, Y: {Y}}}
    network:
      layers: [{{units: 1, activation: {act}}}]
    params: {{W1: {W}, b1: [{b}]}}
    loss: mse
    train: {{lr: 0.5}}
"""


@pytest.mark.parametrize("act, X, Y, W, b, shown, want, chain", [
    # the key printed dZ = dyhat (.) sigma'(Z) with sample 2's factors 1.27 and 0.232 and result
    # 0.294, rounded chain 0.294, range [0.2935, 0.29499]: 1.27 x 0.232 = 0.29464 -> 0.295.
    # The chain by hand: Z = 0.2088, 0.5522 -> 0.209, 0.552; yhat = 0.552, 0.635;
    # dyhat = -0.696, 1.27; sigma' = 0.552 x 0.448 = 0.247, 0.635 x 0.365 = 0.232 -> the same
    ("sigmoid", [[0.16, -0.32], [0.74, -1.18]], [0.9, 0.0], [[0.34], [-0.17]], 0.1,
     [[-0.696, 1.27], [0.247, 0.232]], [-0.172, 0.295], [-0.172, 0.295]),
    # tanh: 1 - H (.) H printed 0.441 for sample 2; -1.9 x 0.441 = -0.8379 -> -0.838, outside
    # the old range [-0.83794, -0.8345]. The chain by hand: Z = -0.189, -0.968;
    # yhat = -0.187, -0.748; dyhat = -1.37, -1.90; 1 - 0.187^2 = 0.965, 1 - 0.748^2 = 0.440;
    # dZ = -1.32, -1.90 x 0.440 = -0.836
    ("tanh", [[-0.93, 0.48], [0.12, -1.46]], [0.5, 0.2], [[0.57], [0.71]], 0.0,
     [[-1.37, -1.9], [0.965, 0.441]], [-1.32, -0.838], [-1.32, -0.836]),
])
def test_dz_of_the_printed_factors_is_accepted(act, X, Y, W, b, shown, want, chain):
    """The general output case (mse, not the bce/sigmoid shortcut): dZ's line prints dyhat and
    the derivative rounded to 3 digits; their product, rounded, is what a student writes."""
    tex, answers, sub, lines, verdicts = marked(CASE.format(act=act, X=X, Y=Y, W=W, b=b))
    sides = dz_line(tex, 1)
    factors = [evaluate(m) for m in re.findall(r"\\begin\{bmatrix\}.*?\\end\{bmatrix\}", sides[1])]
    assert [f.ravel().tolist() for f in factors] == shown            # what the key prints
    product = half_up(factors[0] * factors[1], 3).ravel()
    assert product.tolist() == want                                   # 3-digit arithmetic by hand
    assert sub["dZ1"] == [[w] for w in want]
    assert verdicts["dZ1"].ok, verdicts["dZ1"].detail
    assert np.allclose(np.ravel(answers["chain"]["n"]["dZ1"]), chain, rtol=0, atol=1e-12)
    bad = {n: (v.detail, lines[n]) for n, v in verdicts.items() if not v.ok}
    assert not bad
