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
from nnreport.spec import load

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


def steps_of(tex: str) -> list[str]:
    out = []
    for body in re.findall(r"\\begin\{align\*\}(.*?)\\end\{align\*\}", tex, re.S):
        body = re.sub(r"\\shortintertext\{.*?\}\n", "", body)
        for step in re.split(r"\\\\\[0\.8ex\]", body):
            rows = [r.strip() for r in step.split(r"\\*")]
            joined = " ".join(re.sub(r"^&\\quad|^&", "", r.strip()) for r in rows)
            joined = re.sub(r"\\tag\*\{.*\}$", "", joined).replace("&", "")
            out.append(joined.strip())
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
