"""The course's tools read any layer type (issue 24): a network with the toy scaling layer
(tests/toylayer.py) asked on a question sheet, marked by `nnreport check` and exported to Moodle
and Canvas. The values a student would hand in are computed here by hand (Z2 = H1 (.) a2) and
by finite differences of the loss (da2), never by nnreport; the LMS exports are read with
Moodle's and Canvas's own rules (tests/lmsrules.py)."""

from __future__ import annotations

import json
import re
import zipfile

import numpy as np
import pytest
import toylayer  # noqa: F401  (registers the scaling layer)
from click.testing import CliRunner
from lmsrules import canvas_answers, canvas_grades, cloze_subquestions, quiz_page, within_tolerance
from lxml import etree
from test_layer_unit import P0, SPEC, X, finite_differences

from nnreport.build import BuildOptions, build
from nnreport.cli import cli
from nnreport.course.lms import write_single

ASKED = SPEC.replace("    figures: []\n", "    figures: []\n    ask: [Z2, da2]\n"
                     "    points: {Z2: 2, da2: 3}\n")
POINTS = {"Z2": 2.0, "da2": 3.0}
QTI = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"


def hand_values() -> dict[str, np.ndarray]:
    """Z2 = sigmoid(X W1 + b1) (.) a2, and da2 by central differences of the batch loss."""
    H1 = 1 / (1 + np.exp(-(X @ P0["W1"] + P0["b1"])))
    return {"Z2": H1 * P0["a2"], "da2": finite_differences("a2")}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("toycourse")
    spec = folder / "toy.yaml"
    spec.write_text(ASKED)
    build(spec, BuildOptions(output=folder / "b", pdf=False, formats=("pdf", "moodle", "canvas"),
                             consumers=(write_single,)))
    return spec, folder / "b" / "toy"


def test_the_question_sheet_has_a_box_for_each_asked_value_of_the_layer(built):
    _, out = built
    sheet = (out / "toy-questions.tex").read_text()
    # every worked line a blank (scaffold: full), the asked ones with their points
    boxes = re.findall(r"^\s*(.+?) &= (?:\\boxed|\\begin\{bmatrix\} \\fbox).*"
                       r"\\tag\*\{[^$]*\$(.*?)\$\}", sheet, re.M)
    graded = {lhs: tag for lhs, tag in boxes if tag != r"\text{not graded}"}
    assert graded == {"Z_{2}": r"[2\,\text{pts}]", "da_{2}": r"[3\,\text{pts}]"}
    assert [lhs for lhs, _ in boxes][-2:] == ["dZ_{2}", "da_{2}"]  # the sheet stops at da2
    z2 = re.search(r"^\s*Z_\{2\} &= \\begin\{bmatrix\}(.*?)\\end\{bmatrix\}", sheet, re.M)
    da2 = re.search(r"^\s*da_\{2\} &= \\begin\{bmatrix\}(.*?)\\end\{bmatrix\}", sheet, re.M)
    assert z2 is not None and da2 is not None
    assert z2.group(1).count(r"\fbox") == 4 and da2.group(1).count(r"\fbox") == 2  # an entry a box
    total = re.search(r"^Total & (\d+(?:\.\d+)?) \\\\", sheet, re.M)
    assert total is not None and float(total.group(1)) == sum(POINTS.values())
    for v in hand_values()["da2"].ravel():  # the answers are not on the sheet
        assert f"{v:.4g}" not in sheet


def check(spec, tmp_path, values: dict[str, np.ndarray]) -> dict:
    sub = tmp_path / "sub.yaml"
    sub.write_text(json.dumps({"toy": {k: v.tolist() for k, v in values.items()}}))
    r = CliRunner().invoke(cli, ["check", str(spec), str(sub), "--json"])
    assert r.exit_code in (0, 1), r.output
    return json.loads(r.stdout)


def test_check_marks_the_layers_values_right_and_wrong(built, tmp_path):
    spec, _ = built
    right = check(spec, tmp_path, hand_values())
    assert {v["value"]: v["status"] for v in right["values"]} == {"Z2": "right", "da2": "right"}
    assert right["points"] == right["of"] == sum(POINTS.values())
    wrong = hand_values()
    wrong["da2"] = wrong["da2"] * np.array([[1.0, 1.1]])  # one entry 10% off
    out = check(spec, tmp_path, wrong)
    assert {v["value"]: v["status"] for v in out["values"]} == {"Z2": "right", "da2": "WRONG"}
    assert out["points"] == POINTS["Z2"] and out["of"] == sum(POINTS.values())


def test_moodle_accepts_the_layers_values_box_by_box(built):
    _, out = built
    moodle = etree.parse(str(out / "moodle.xml")).getroot()
    (q,) = moodle.findall("question[@type='cloze']")
    raw = q.findtext("questiontext/text")
    powers = {m.group(1): int(m.group(2) or 0) for m in re.finditer(
        r"<p>(\w+)(?: \(in units of 10\^(-?\d+)\))? =</p><table>", raw)}
    assert list(powers) == ["Z2", "da2"]
    _, subs = cloze_subquestions(raw)
    hand = hand_values()
    entries = [(n, x) for n in ("Z2", "da2") for x in hand[n].ravel()]
    assert len(subs) == len(entries) == 6
    for (name, x), box in zip(entries, subs, strict=True):
        alt = box["alternatives"][0]
        assert within_tolerance(alt["answer"], alt["tolerance"], x / 10.0 ** powers[name])
        assert not within_tolerance(alt["answer"], alt["tolerance"],
                                    1.01 * x / 10.0 ** powers[name])
    # each entry weighs its value's points over its entries: Z2 2/4, da2 3/2
    assert [b["weight"] for b in subs[:4]] == [subs[0]["weight"]] * 4
    assert subs[4]["weight"] == subs[5]["weight"] == 3 * subs[0]["weight"]


def test_canvas_accepts_the_layers_values_as_typed(built):
    _, out = built
    with zipfile.ZipFile(out / "canvas-qti.zip") as z:
        qti = etree.fromstring(z.read("nnreport_assessment/nnreport_assessment.xml"))
    hand = hand_values()
    seen = []
    for item in qti.iter(f"{QTI}item"):
        name, where = re.match(r"v01 toy\.(\w+)(?:\[([\d, ]+)\])?", item.get("title")).groups()
        idx = tuple(int(i) - 1 for i in where.split(",")) if where else ()
        power = re.search(r"in units of 10\^(-?\d+)", item.findtext(f".//{QTI}mattext"))
        x = float(hand[name][idx]) / 10.0 ** int(power.group(1) if power else 0)
        answers = canvas_answers(item)
        assert canvas_grades(answers, quiz_page(x))
        assert not canvas_grades(answers, quiz_page(1.01 * x))
        seen.append((name, idx))
    assert seen == [("Z2", (0, 0)), ("Z2", (0, 1)), ("Z2", (1, 0)), ("Z2", (1, 1)),
                    ("da2", (0, 0)), ("da2", (0, 1))]


SCALE_FIRST = """title: t
problems:
  - id: toy
    data:
      X: [[0.5, -1.0], [2.0, 0.25]]
      Y: [[1.0], [0.0]]
    network:
      layers:
        - {units: 2, activation: linear, type: scale, bias: false}
        - {units: 1, activation: linear}
    params:
      a1: [1.5, -0.5]
      W2: [[0.3], [W22]]
      b2: [0.1]
    loss: mse
    figures: []
"""


def test_the_nonzero_gradient_constraint_reads_the_layers_own_gradient(tmp_path):
    """A version's constraint looks at every parameter of every layer. With W2's second
    entry 0, unit 2 of the scaling layer feeds nothing: dZ1's second column is 0, so da1's
    second entry is 0, while dW2 (= H1^T dZ2, H1's columns nonzero) and db2 are not: refused
    for a1 alone. With that weight 0.2 every entry is nonzero: kept."""
    from nnreport import load
    from nnreport.course.constraints import holds

    def verdict(w22: str) -> tuple[bool, dict]:
        spec = tmp_path / "c.yaml"
        spec.write_text(SCALE_FIRST.replace("W22", w22))
        loaded = load(spec)
        (setup,) = loaded.document.problems
        sol = loaded.solve()["toy"]
        return holds("nonzero_gradient", 0.0, setup, sol), sol.step.grads

    ok, grads = verdict("0.2")
    assert ok
    refused, grads = verdict("0.0")
    assert not refused
    assert grads["a1"][0, 1] == 0 and np.all(grads["W2"] != 0) and np.all(grads["b2"] != 0)


def test_versions_are_told_apart_by_the_layers_values_too(tmp_path):
    """Without ask:, the values a version's constraints compare (distinct_versions,
    no_exact_ties) are every worked value, the scaling layer's among them."""
    from nnreport import load
    from nnreport.course.constraints import asked_names

    spec = tmp_path / "c.yaml"
    spec.write_text(SPEC)
    loaded = load(spec)
    (setup,) = loaded.document.problems
    names = asked_names(setup, loaded.solve()["toy"].values())
    assert {"Z2", "da2", "da2_per_sample", "a2_new", "dW1", "db1"} <= set(names)
