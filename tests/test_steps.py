"""Formula = numbers substituted = result, on every line of every shipped key.

Checked on the structure of the generated .tex (not on its wording): each align* step is
split at its top-level '=' signs; a step whose first right-hand side is a formula and that
ends in a value must have a right-hand side with numbers in between, unless one of its
matrices is too large to print whole (elided with dots)."""

from __future__ import annotations

import re

import pytest
from conftest import PROBLEMS

from nnreport.document.tex import render
from nnreport.engine.solve import solve
from nnreport.spec import load, loads

SHIPPED = ["exam2", "assignment01", "moons", "three_layer", "problemset3", "exam2_variants"]


def top_level_split(text: str, sep: str = "=") -> list[str]:
    """Split at `sep` outside braces and \\left ... \\right pairs."""
    parts, depth, cur, i = [], 0, [], 0
    while i < len(text):
        if text.startswith(r"\left", i) and not text[i + 5:i + 6].isalpha():
            depth += 1
        elif text.startswith(r"\right", i) and not text[i + 6:i + 7].isalpha():
            depth -= 1
        ch = text[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
        i += 1
    parts.append("".join(cur).strip())
    return parts


def is_numeric(part: str) -> bool:
    """Numbers in it: a matrix, a decimal, a power of ten, e to a number, or an integer."""
    return bool(r"\begin{bmatrix}" in part or re.search(r"\d\.\d", part)
                or re.fullmatch(r"-?\d+(\s*\\times\s*10\^\{-?\d+\})?", part.strip())
                or re.search(r"\\times 10\^|e\^\{-?\(?-?\d", part))


def steps_of(tex: str, cells: bool = False) -> list[str]:
    """Each align* step as one line; `cells` keeps the column separators of its matrices
    (only the alignment points are dropped)."""
    out = []
    for body in re.findall(r"\\begin\{align\*\}(.*?)\\end\{align\*\}", tex, re.S):
        body = re.sub(r"\\shortintertext\{.*?\}\n", "", body)
        for step in re.split(r"\\\\\[0\.8ex\]", body):
            rows = [r.strip() for r in step.split(r"\\*")]
            rows = [re.sub(r"^&\\quad|^&", "", r) for r in rows]
            rows[0] = rows[0].replace("&=", "=", 1)
            joined = re.sub(r"\\tag\*\{.*\}$", "", " ".join(rows))
            out.append((joined if cells else joined.replace("&", "")).strip())
    return out


@pytest.mark.parametrize("name", SHIPPED)
def test_no_formula_jumps_to_its_result(name):
    doc = load(PROBLEMS / f"{name}.yaml")
    kind = "report" if doc.spec.document == "report" else "key"
    tex = render(doc, solve(doc), kind)
    checked = 0
    for step in steps_of(tex):
        parts = top_level_split(step)
        rhs = parts[1:]
        if len(rhs) < 2 or is_numeric(rhs[0]) or not is_numeric(rhs[-1]):
            continue  # a definition, a result alone, or a calculator line
        checked += 1
        if any(dots in step for dots in (r"\cdots", r"\vdots")):
            continue  # an elided matrix: its entry line is shown separately
        assert any(is_numeric(p) for p in rhs[1:-1]), f"{name}: no numbers between\n{step[:300]}"
    assert checked >= 5


def test_the_check_catches_a_jump():
    """The structural check fails on a step written formula = result."""
    step = r"dZ_{2} = \hat{Y} - Y = \begin{bmatrix} 0.95 \end{bmatrix}"
    rhs = top_level_split(step)[1:]
    assert not is_numeric(rhs[0]) and is_numeric(rhs[-1])
    assert not any(is_numeric(p) for p in rhs[1:-1])


@pytest.mark.parametrize("name", SHIPPED)
def test_every_step_with_a_formula_and_value_has_a_substitution(name):
    """The same promise on the step data that every output format reads."""
    from nnreport.document.content import Eqs
    from nnreport.document.tex import problem_docs

    doc = load(PROBLEMS / f"{name}.yaml")
    for p in problem_docs(doc, solve(doc)):
        for part in p.parts:
            for item in part.items:
                if not isinstance(item, Eqs):
                    continue
                for st in item.steps:
                    if st.formula and st.result is not None and not st.elided:
                        assert st.subst or st.more, (name, st.lhs, st.formula)


CANCELS = """
title: t
problems:
  - id: p
    data: {X: [[1], [2]], Y: [0, 1]}
    network: {layers: [{units: 1, activation: sigmoid}]}
    params: {W1: [[0.000001]], b1: [0]}
    loss: bce
"""


def _sum_steps(tex: str):
    """(m, printed terms, printed result) of every bias-gradient step written sample by sample:
    `\\frac{1}{m} \\sum ... = \\frac{1}{m}\\left( t1 + t2 - t3 \\right) = result`."""
    from texnumbers import parse_matrix

    for step in steps_of(tex, cells=True):
        parts = top_level_split(step)
        if len(parts) != 4 or r"\sum_{i=1}" not in parts[1]:
            continue
        m = re.match(r"\\frac\{1\}\{(\d+)\}\\left\((.*)\\right\)$", parts[2].strip(), re.S)
        if not m or r"\cdots" in parts[2]:
            continue
        body = re.sub(r"\\right\.|\\left\.|\\quad", " ", m.group(2))
        terms, depth, cur, sign = [], 0, "", ""
        for tok in re.split(r"(\\begin\{\w+\}|\\end\{\w+\}|\s[+-]\s)", body):
            depth += tok.startswith(r"\begin") - tok.startswith(r"\end")
            if depth == 0 and re.fullmatch(r"\s[+-]\s", tok):
                terms.append((sign, cur.strip()))
                cur, sign = "", tok.strip()
            else:
                cur += tok
        terms.append((sign, cur.strip()))
        terms = [(sg, t) for sg, t in terms if t]
        if not terms or any("begin" in t and not t.endswith(r"\end{bmatrix}") for _, t in terms):
            continue
        yield int(m.group(1)), [(sg == "-", parse_matrix(t)) for sg, t in terms], \
            parse_matrix(parts[3])


@pytest.mark.parametrize("name", SHIPPED + ["cancels"])
def test_the_printed_terms_of_a_sum_give_its_printed_result(name):
    """A sum that nearly cancels shows its terms with enough digits that they add up to the
    result (0.5000 + 0.5000 - 0.5000 - 0.5000 = -1.444e-7 was printed before): the terms'
    rounding may move the total by at most half of it, and the printed terms, added exactly,
    agree with the printed result within the rounding of both."""
    from decimal import Decimal

    from nnreport.spec import loads

    doc = loads(CANCELS) if name == "cancels" else load(PROBLEMS / f"{name}.yaml")
    kind = "report" if doc.spec.document == "report" else "key"
    seen = 0
    for m, terms, result in _sum_steps(render(doc, solve(doc), kind)):
        for cell, r in result.cells.items():
            shown = [(neg, t.cells[cell] if t.shape == result.shape else t.cells[(0, 0)])
                     for neg, t in terms]
            total = sum((-n.value if neg else n.value for neg, n in shown), Decimal(0)) / m
            shown = [n for _, n in shown]
            slack = sum((Decimal(5).scaleb(n.last - 1) for n in shown if n.value != 0),
                        Decimal(0)) / m  # a printed 0 is exact (number rules)
            assert slack <= abs(r.value) / 2 or r.value == 0, (name, [n.text for n in shown], r.text)
            assert abs(total - r.value) <= slack + Decimal(5).scaleb(r.last - 1), \
                (name, [n.text for n in shown], r.text)
            seen += 1
    if name in ("cancels", "three_layer", "exam2"):
        assert seen, f"no sample-by-sample sum found in {name}"


DIGITS_FOR = """
title: t
digits: 3
problems:
  - id: p
    data: {X: [[0.37, 1.21], [1.9, -0.44]], Y: [0.3, 0.9]}
    network:
      layers: [{units: 2, activation: sigmoid}, {units: 1, activation: sigmoid}]
    params: {W1: [[0.113, -0.732], [0.518, 0.271]], b1: [0.05, -0.1], W2: [[0.9], [-1.3]], b2: [0.2]}
    loss: mse
    digits_for: {H1: 6, Z2: 6, dZ2: 6, dW2: 6}
    train: {optimizer: momentum}
"""


def test_a_value_prints_with_its_own_digits_wherever_it_is_substituted():
    """digits_for gives H1, Z2, dZ2 and dW2 6 digits: so do the lines that use them (Z2's
    line shows H1, yhat's shows Z2, the per-sample dW2 and dH1 lines show dZ2, the momentum
    line shows dW2), not only their own result; the rounded chain carries them with 6."""
    from texnumbers import parse_matrix

    doc = loads(DIGITS_FOR)
    tex = render(doc, solve(doc), "key")
    by_lhs = {top_level_split(s)[0]: top_level_split(s) for s in steps_of(tex, cells=True)}

    def digits_shown(side: str) -> set[int]:
        mats = re.findall(r"\\begin\{bmatrix\}.*?\\end\{bmatrix\}", side) or [side]
        return {n.sig for m in mats for n in parse_matrix(m).cells.values() if n.sig}

    assert digits_shown(by_lhs["Z_{2}"][2].split(r"\,")[0]) == {6}                # H1
    assert digits_shown(by_lhs[r"\hat{Y}"][2]) == {6}                              # Z2
    # h (2 x 1) times one output's dz (a single number): a product dot between them
    assert digits_shown(by_lhs[r"\frac{\partial L_{1}}{\partial W_{2}}"][2].split(r"\cdot")[1]) == {6}
    assert digits_shown(by_lhs["dH_{1}"][2].split(r"\,")[0]) == {6}               # dZ2
    assert digits_shown(by_lhs["v_{W_{2}}"][2]) == {6}                             # dW2
    assert digits_shown(by_lhs["Z_{1}"][2]) <= {1, 2, 3}                           # the rest: 3
