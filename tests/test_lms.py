"""LMS exports of every version, parsed with lxml: Moodle XML (a category per problem, a Cloze
question per version, one NUMERICAL box per entry) and a Canvas QTI 1.2 zip (manifest, one
numerical question per entry with an explicit range); every number round-trips, every range
holds the full and the rounded-chain value, tiny values are asked in a stated power of ten."""

from __future__ import annotations

import json
import re
import zipfile

import numpy as np
import pytest
from lxml import etree

from nnreport.batch import build_variants
from nnreport.build import BuildOptions
from nnreport.variants import numbered

SPEC = """title: LMS
rounding: chain
problems:
  - id: p
    given: {a: {random: integers, low: 2, high: 9}, t: [0.00001234, 0.00002]}
    compute: [{r: sqrt(a)}, {s: r * 7}, {tiny: t * a}]
"""
QTI = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lms")
    spec = folder / "lms.yaml"
    spec.write_text(SPEC)
    build_variants(spec, numbered(3), 7, BuildOptions(output=folder / "out", pdf=False,
                                                      formats=("pdf", "moodle", "canvas")))
    variants = folder / "out" / "lms" / "variants"
    answers = json.loads((variants / "answers.json").read_text())
    return variants, answers


def test_moodle_xml_has_a_category_and_one_box_per_entry(batch):
    variants, answers = batch
    root = etree.parse(str(variants / "moodle.xml")).getroot()
    assert root.tag == "quiz"
    cats = root.findall("question[@type='category']")
    assert [c.findtext("category/text") for c in cats] == ["$course$/top/LMS/p"]
    cloze = root.findall("question[@type='cloze']")
    assert [q.findtext("name/text") for q in cloze] == ["p v01", "p v02", "p v03"]
    assert set(answers) == {"v01", "v02", "v03"}
    feedback = cloze[0].findtext("generalfeedback/text")
    assert "Worked solution" in feedback and r"\[\begin{aligned}" in feedback
    for q in cloze:
        label = q.findtext("name/text").split()[1]
        text = q.findtext("questiontext/text")
        boxes = re.findall(r"\{1:NUMERICAL:=([^:]+):([^}]+)\}", text)
        # r, s, tiny (2 entries): every asked value of the problem, entry by entry
        assert len(boxes) == 4, text
        key = answers[label]
        full, chain = key["problems"]["p"], key["chain"]["p"]
        k = int(re.search(r"tiny \(in units of 10\^(-?\d+)\)", text).group(1))
        assert k < -3 and 1 <= np.max(np.abs(full["tiny"])) * 10.0**-k < 10
        values = [full["r"], full["s"]] + list(np.ravel(full["tiny"]) * 10.0**-k)
        chains = [chain["r"], chain["s"]] + list(np.ravel(chain["tiny"]) * 10.0**-k)
        for (v, tol), want, ch in zip(boxes, values, chains, strict=True):
            assert float(v) == pytest.approx(want, rel=1e-12)      # the number round-trips
            assert abs(float(v) - ch) <= float(tol)                # the chain value is accepted


def test_canvas_zip_is_qti_with_ranges_per_entry(batch):
    variants, answers = batch
    with zipfile.ZipFile(variants / "canvas-qti.zip") as z:
        manifest = etree.fromstring(z.read("imsmanifest.xml"))
        hrefs = [f.get("href") for f in manifest.iter("{*}file")]
        assert hrefs == ["nnreport_assessment/nnreport_assessment.xml"]
        qti = etree.fromstring(z.read(hrefs[0]))
    assert qti.tag == f"{QTI}questestinterop"
    items = list(qti.iter(f"{QTI}item"))
    assert len(items) == 3 * 4
    for item in items:
        kind = [f.findtext(f"{QTI}fieldentry") for f in item.iter(f"{QTI}qtimetadatafield")
                if f.findtext(f"{QTI}fieldlabel") == "question_type"]
        assert kind == ["numerical_question"]
        eq = float(item.find(f".//{QTI}varequal").text)
        lo = float(item.find(f".//{QTI}vargte").text)
        hi = float(item.find(f".//{QTI}varlte").text)
        assert lo <= eq <= hi and hi - lo > 0
        prompt = item.find(f".//{QTI}mattext").text
        if ".tiny" in item.get("title"):
            assert "in units of 10^-" in prompt and 0.1 < abs(eq) < 10  # no 1e-5 comparisons
