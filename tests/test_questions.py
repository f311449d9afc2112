"""Question sheets students can answer: given data never hidden, points and totals, the three
scaffold levels, room to write, no blanks for computer work, a task for every problem."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import PROBLEMS

from nnreport.document.tex import render
from nnreport.engine.solve import solve
from nnreport.errors import SpecError
from nnreport.spec import load, loads

SHIPPED_EXAMS = ["exam2", "assignment01", "moons", "three_layer", "exam2_variants"]

NET = """
title: T
scaffold: SCAFFOLD
problems:
  - id: p
    data: {X: [[1, 2], [3, -1], [0.5, 0]], Y: [[1], [0], [1]]}
    network: {layers: [{units: 2, activation: sigmoid}, {units: 1, activation: sigmoid}]}
    params: {W1: [[0.1, 0.2], [-0.3, 0.4]], W2: [[0.5], [-0.6]]}
    loss: bce
    train: {lr: 0.5}
    EXTRA
"""


def questions(text: str) -> str:
    doc = loads(text)
    return render(doc, solve(doc), "questions")


def key(text: str) -> str:
    doc = loads(text)
    return render(doc, solve(doc), "key")


def blanks(tex: str) -> list[str]:
    """The left-hand sides of the answer lines (rows with a box or a matrix of empty cells)."""
    return re.findall(r"^\s*(.+?) &= (?:\\boxed|\\begin\{bmatrix\} \\fbox)", tex, re.M)


def points_tags(tex: str) -> list[float]:
    return [float(x) for x in re.findall(r"\[([\d.]+)\\,\\text\{pts?\}\]", tex)]


@pytest.mark.parametrize("name", SHIPPED_EXAMS)
def test_no_given_data_is_elided_on_a_question_sheet(name):
    doc = load(PROBLEMS / f"{name}.yaml")
    tex = render(doc, solve(doc), "questions")
    gathers = re.findall(r"\\begin\{gather\*\}(.*?)\\end\{gather\*\}", tex, re.S)
    assert gathers
    for g in gathers:
        assert r"\cdots" not in g and r"\vdots" not in g and r"\ddots" not in g, name


def test_wide_given_data_goes_into_a_numbered_table_with_every_entry():
    X = np.arange(1, 2 * 30 + 1, dtype=float).reshape(2, 30) / 10  # 30 samples, columns layout
    text = f"""
title: T
layout: columns
problems:
  - id: wide
    data: {{X: {X.tolist()}, Y: [{[0, 1] * 15}]}}
    network: {{layers: [{{units: 1, activation: sigmoid}}]}}
    loss: bce
"""
    tex = questions(text)
    assert r"\begin{longtable}" in tex and r"\caption{The given $X$" in tex
    assert r"(Table~1)" in tex and r"\label{tab:wide-X}" in tex  # numbered in Python: one pass
    for v in X.ravel():  # every entry printed in the table
        assert f"${v:g}$" in tex
    assert r"\cdots" not in "".join(re.findall(r"\\begin\{gather\*\}(.*?)\\end\{gather\*\}", tex, re.S))
    k = key(text)
    assert r"\cdots" in k  # the key may still elide


def test_points_per_value_per_problem_and_totals():
    text = NET.replace("SCAFFOLD", "full").replace(
        "EXTRA", "ask: [Z1, H1, yhat, loss, dW1]\n    points: {Z1: 2, dW1: 4}")
    q = questions(text)
    tags = points_tags(q)
    # Z1 2, H1 1, yhat 1, loss 1, dW1 4 (the other blanks are scaffolding, without points)
    assert sorted(tags) == [1, 1, 1, 2, 4]
    assert "[9 points]" in q and re.search(r"Total & 9 \\\\", q)
    assert re.search(r"Name: & \\hrulefill & ID: & \\hrulefill", q)
    k = key(text)
    assert sorted(points_tags(k)) == [1, 1, 1, 2, 4]  # the key shows them beside the answers


def test_points_as_a_problem_total_are_shared_equally():
    text = NET.replace("SCAFFOLD", "results").replace("EXTRA", "ask: [Z1, yhat, loss, dW1]\n    points: 10")
    tags = points_tags(questions(text))
    assert tags == [2.5, 2.5, 2.5, 2.5] and "[10 points]" in questions(text)


def test_per_sample_values_default_to_one_point_a_sample():
    text = NET.replace("SCAFFOLD", "results").replace("EXTRA", "ask: [loss_per_sample]")
    q = questions(text)
    assert points_tags(q) == [1, 1, 1] and "[3 points]" in q


def test_scaffold_full_results_none():
    full = blanks(questions(NET.replace("SCAFFOLD", "full").replace("EXTRA", "ask: [Z1, dW1]")))
    results = blanks(questions(NET.replace("SCAFFOLD", "results").replace("EXTRA", "ask: [Z1, dW1]")))
    none_tex = questions(NET.replace("SCAFFOLD", "none").replace("EXTRA", "ask: [Z1, dW1]"))
    assert "Z_{1}" in full and "dW_{1}" in full and "dZ_{2}" in full and len(full) > 8
    assert results == ["Z_{1}", "dW_{1}"]
    assert blanks(none_tex) == [] and r"\subsection*{Working}" in none_tex
    assert r"\subsection*{Forward pass}" not in none_tex and r"\subsection*{Given}" in none_tex
    assert "[2 points]" in none_tex  # still graded: the student writes the values in the space


def test_working_space_follows_the_setting():
    assert r"\vspace{3cm}" in questions(NET.replace("SCAFFOLD", "results").replace("EXTRA", ""))
    assert r"\vspace{2.5cm}" in questions(NET.replace("SCAFFOLD", "full").replace("EXTRA", "space: 2.5cm"))
    with pytest.raises(SpecError, match="space"):
        loads(NET.replace("SCAFFOLD", "full").replace("EXTRA", "space: '\\\\vspace{1cm}'"))


def test_asking_for_a_value_that_does_not_exist_is_a_located_error():
    with pytest.raises(SpecError) as info:
        loads(NET.replace("SCAFFOLD", "full").replace("EXTRA", "ask: [Z1, dW3]"))
    msg = str(info.value)
    assert "'dW3' is not a value of problem 'p'" in msg and ":11:" in msg
    assert "did you mean" in msg


def test_computer_work_is_never_a_blank():
    doc = load(PROBLEMS / "moons.yaml")
    q = render(doc, solve(doc), "questions")
    assert "final" not in " ".join(blanks(q)) and "Training" not in q
    assert r"\subsection*{Forward pass}" in q


def test_a_problem_without_text_states_its_task():
    q = questions(NET.replace("SCAFFOLD", "results").replace("EXTRA", "ask: [Z1, yhat, dW1]"))
    statement = q.split(r"\section*{Problem 1:")[1].split(r"\subsection*")[0]
    assert "Compute $Z_{1}$, $\\hat{Y}$ and $dW_{1}$" in statement
    assert "2-2-1 network" in statement


BOX = re.compile(r"\\(?:boxed|fbox)\{\\rule\{0pt\}\{([\d.]+)em\}\\hspace\{([\d.]+)em\}")
EM_CM = 11 / 72.27 * 2.54  # 1 em at 11 pt, in cm


def test_answer_boxes_are_wide_enough_for_the_digits_and_for_handwriting():
    q = questions(NET.replace("SCAFFOLD", "results").replace("EXTRA", "ask: [loss]\n    digits: 6"))
    (height, width), = BOX.findall(q)
    assert float(width) >= 0.9 * (6 + 4)  # six digits, a point, a sign, handwritten
    q = questions(NET.replace("SCAFFOLD", "full").replace("EXTRA", ""))
    for height, width in BOX.findall(q):  # every entry at least ~1.9 cm x 5.7 mm
        assert float(width) * EM_CM >= 1.9 and float(height) * EM_CM >= 0.55


def test_answer_boxes_depend_on_the_question_not_the_answer():
    """Two problems with the same shapes and digits and very different numbers (a loss of
    0.0003 against one of 40; matrices of 0.5 against 123.5) get the same boxes."""
    small = NET.replace("SCAFFOLD", "full").replace("EXTRA", "")
    large = small.replace("W1: [[0.1, 0.2], [-0.3, 0.4]]", "W1: [[30, -20], [-30.5, 40]]") \
        .replace("Y: [[1], [0], [1]]", "Y: [[0], [1], [0]]")
    a, b = questions(small), questions(large)
    assert a != b and BOX.findall(a) == BOX.findall(b) and BOX.findall(a)


def test_a_sheet_stops_at_its_last_asked_value_and_marks_the_working_ungraded():
    """exam2 p2 asks Z1 ... dW1: no boxes for dZ2's successors after dW1 (the updates), no
    empty Update heading; the working before dW1 (L, dZ2, dW2 ...) says it is not graded."""
    from nnreport.spec import load

    doc = load(PROBLEMS / "exam2.yaml")
    q = render(doc, solve(doc), "questions")
    p2 = q.split("% nnreport problem: p2")[1].split("% nnreport problem: p3")[0]
    assert r"\subsection*{Update}" not in p2 and "W_{1}^{\\text{new}}" not in p2
    rows = [line for line in p2.splitlines() if " &= " in line and BOX.search(line)]
    graded = [line for line in rows if "\\text{pt" in line]
    working = [line for line in rows if "not graded" in line]
    assert len(graded) + len(working) == len(rows) and working and graded
    assert all("dW_{2}" not in line or "not graded" in line for line in rows)


def test_every_version_gets_the_same_boxes():
    from nnreport.course.versions import Version, solve_version

    sheets = []
    for k in range(3):
        doc, sols, _ = solve_version(PROBLEMS / "exam2_variants.yaml", 2026, Version(k, f"v{k}"))
        sheets.append(BOX.findall(render(doc, sols, "questions")))
    assert sheets[0] and sheets[0] == sheets[1] == sheets[2]


def test_a_one_problem_key_has_the_points_table_its_sheet_has():
    doc = loads(NET.replace("SCAFFOLD", "full").replace("EXTRA", "points: 12"))
    for kind in ("key", "questions"):
        tex = render(doc, solve(doc), kind)
        assert "Problem & Points" in tex and "Total & 12" in tex, kind
