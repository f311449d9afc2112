"""LMS exports read as the LMSs read them (tests/lmsrules.py re-implements Moodle's Cloze parser,
its numerical tolerance and category path, and Canvas's QTI numeric import and grading, from
their source code). Expected ranges, units, scales and points are computed here from
answers.json and the spec's own numbers, not by nnreport:

- Moodle: one sub-question per entry, whatever the problem text holds; each box's interval
  holds the key's range and is wider by at most 1e-6 of it; weights in the ratio of the points;
  the category path has exactly four levels, "/" in the title or not;
- Canvas: each item is a range answer equal to the key's range (its bounds read back exactly),
  worth its value's points over its entries; numbers typed on the quiz page (rounded to 4
  decimals) are accepted for the full, chain and printed values and refused just outside."""

from __future__ import annotations

import html
import json
import re
import zipfile
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from lmsrules import (
    canvas_answers,
    canvas_grades,
    canvas_points,
    category_levels,
    cloze_subquestions,
    placeholders,
    quiz_page,
    split_category_path,
    tolerance_interval,
    within_tolerance,
)
from lxml import etree

from nnreport.build import BuildOptions
from nnreport.course.batch import build_variants
from nnreport.course.lms import write_single as write_lms
from nnreport.course.versions import numbered
from nnreport.engine.solve import solve
from nnreport.errors import NNReportError
from nnreport.spec import load

TITLE = "LMS / grading: {1:NUMERICAL:=42:0}"
TEXT = "Compute {1:NUMERICAL:=42:0}, $x^{1:NUMERICAL:=42:0}$ and {#1}: a ~ b # c {2:SA:x}."
SPEC = f"""title: {json.dumps(TITLE)}
problems:
  - id: p
    rounding: chain
    digits_for: {{r: 6}}
    text: {json.dumps(TEXT)}
    given: {{a: {{random: integers, low: 2, high: 9}}, t: [0.00001234, 0.00002],
            m: [[0.5, 0.00001234], [3, 0]]}}
    compute: [{{r: sqrt(a)}}, {{s: r * 7}}, {{tiny: t * a}}, {{mixed: m * r}}, {{z: a - a}}]
    points: {{r: 2, s: 1, tiny: 3, mixed: 5, z: 1}}
  - id: q
    given: {{b: {{random: integers, low: 3, high: 7}}, W: [[0.25, -1.5, 2], [0.125, 3, -0.75]],
            c: 9.99996}}
    compute: [{{u: W * b / 7}}, {{v: log(b)}}, {{w: u * v}}, {{edge: c * b / b}}]
    points: 10
"""
VALUES = {"p": ["r", "s", "tiny", "mixed", "z"], "q": ["u", "v", "w", "edge"]}
DIGITS = {("p", "r"): 6}   # else 4
POINTS = {("p", "r"): Fraction(2), ("p", "s"): Fraction(1), ("p", "tiny"): Fraction(3),
          ("p", "mixed"): Fraction(5), ("p", "z"): Fraction(1),
          **{("q", n): Fraction(10, 4) for n in VALUES["q"]}}   # points: 10, shared by 4
TOTAL = sum(POINTS.values())
SLACK = Decimal("1e-6")    # an LMS interval may be wider than the key's range by this (of it)
QTI = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"
VERSIONS = 4


def printed_unit(x: float, digits: int) -> Decimal:
    """One unit in the last digit of x printed at `digits` significant digits (its shortest
    decimal rounded half up, as docs/spec.md 'Numbers' says); 10^-digits for 0."""
    if x == 0:
        return Decimal(10) ** -digits
    with localcontext() as ctx:
        ctx.rounding = ROUND_HALF_UP
        shown = f"{abs(Decimal(repr(x))):.{digits - 1}e}"     # e.g. 1.000e+1 for 9.9996
    return Decimal(10) ** (int(shown.split("e")[1]) - digits + 1)


def key_range(key: dict, pid: str, name: str, idx: tuple[int, ...]) -> tuple[Decimal, Decimal]:
    """The accepted range of one entry: answers.json's chain tolerance (a zero widened by its
    unit), else the full value -+ one printed unit."""
    x = float(np.asarray(key["problems"][pid][name])[idx])
    u = printed_unit(x, DIGITS.get((pid, name), 4))
    tol = key.get("tolerance", {}).get(pid, {}).get(name)
    if tol is None:
        return Decimal(repr(x)) - u, Decimal(repr(x)) + u
    lo = Decimal(repr(float(np.asarray(tol["low"])[idx])))
    hi = Decimal(repr(float(np.asarray(tol["high"])[idx])))
    return (lo - u, hi + u) if x == 0 else (lo, hi)


def entries(key: dict, pid: str) -> list[tuple[str, tuple[int, ...]]]:
    return [(n, idx) for n in VALUES[pid]
            for idx in np.ndindex(np.shape(key["problems"][pid][n]))]


def unit_power(label: str | None) -> int:
    return int(label) if label else 0


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lms")
    spec = folder / "lms.yaml"
    spec.write_text(SPEC)
    build_variants(spec, numbered(VERSIONS), 7, BuildOptions(
        output=folder / "out", pdf=False, formats=("pdf", "moodle", "canvas")))
    variants = folder / "out" / "lms" / "variants"
    answers = json.loads((variants / "answers.json").read_text())
    moodle = etree.parse(str(variants / "moodle.xml")).getroot()
    with zipfile.ZipFile(variants / "canvas-qti.zip") as z:
        manifest = etree.fromstring(z.read("imsmanifest.xml"))
        hrefs = [f.get("href") for f in manifest.iter("{*}file")]
        assert hrefs == ["nnreport_assessment/nnreport_assessment.xml"]
        qti = etree.fromstring(z.read(hrefs[0]))
    return answers, moodle, qti


def _questions(moodle):
    """(version, problem, question text as stored by Moodle, sub-questions, unit powers)."""
    for q in moodle.findall("question[@type='cloze']"):
        pid, label = q.findtext("name/text").split()
        raw = q.findtext("questiontext/text")
        powers = {m.group(1): unit_power(m.group(2)) for m in re.finditer(
            r"<p>(\w+)(?: \(in units of 10\^(-?\d+)\))? =</p><table>", raw)}
        stored, subs = cloze_subquestions(raw)
        yield label, pid, stored, subs, powers


def test_the_spec_exercises_what_the_exports_must_get_right(batch):
    answers, _, _ = batch
    asymmetric = zero = tiny_beside_large = False
    for key in answers.values():
        t = key["tolerance"]["p"]
        for name in VALUES["p"]:
            v = np.ravel(key["problems"]["p"][name])
            lo, hi = np.ravel(t[name]["low"]), np.ravel(t[name]["high"])
            asymmetric |= bool(np.any(np.abs((hi - v) - (v - lo)) > 1e-3 * (hi - lo)))
            zero |= bool(np.any(v == 0))
        mixed = np.abs(np.ravel(key["problems"]["p"]["mixed"]))
        tiny_beside_large |= bool(mixed.max() >= 0.5 and 0 < mixed[mixed > 0].min() < 1e-4)
    assert asymmetric and zero and tiny_beside_large


def test_moodle_has_one_subquestion_per_entry_and_hostile_text_stays_text(batch):
    answers, moodle, _ = batch
    cats = [c.findtext("category/text") for c in moodle.findall("question[@type='category']")]
    assert [split_category_path(c) for c in cats] == [["$course$", "top", TITLE, p]
                                                      for p in ("p", "q")]
    assert [category_levels(c) for c in cats] == [["top", TITLE, p] for p in ("p", "q")]
    seen = []
    for label, pid, stored, subs, _ in _questions(moodle):
        seen.append((pid, label))
        assert len(subs) == len(entries(answers[label], pid))
        assert placeholders(stored) == list(range(1, len(subs) + 1))
        for s in subs:
            assert s["numerical"] and len(s["alternatives"]) == 1
            assert s["alternatives"][0]["fraction"] == 1.0
        if pid == "p":   # the student sees the problem text as written
            shown = html.unescape(re.sub(r"<[^>]+>", "", re.sub(r"\{#\d+\}", "", stored)))
            assert "Compute {1:NUMERICAL:=42:0}, \\(x^{1:NUMERICAL:=42:0}\\) and {#1}" in shown
            # text outside the formulas is marked for MathJax to skip (a \( in text is text)
            assert re.search(r'<span class="tex2jax_ignore mathjax_ignore">Compute ', stored)
    assert seen == [(p, f"v{i:02d}") for p in ("p", "q") for i in range(1, VERSIONS + 1)]
    feedback = moodle.find("question[@type='cloze']").findtext("generalfeedback/text")
    assert "Worked solution" in feedback and cloze_subquestions(feedback)[1] == []
    assert r"\[\begin&#123;aligned&#125;" in feedback   # MathJax reads the entities as braces


def test_moodle_intervals_are_the_key_ranges(batch):
    answers, moodle, _ = batch
    for label, pid, _, subs, powers in _questions(moodle):
        key = answers[label]
        for (name, idx), s in zip(entries(key, pid), subs, strict=True):
            top = max(abs(Decimal(repr(float(x)))) for x in np.ravel(key["problems"][pid][name]))
            k = top.adjusted() if top != 0 and not Decimal("0.01") <= top < 100_000 else 0
            assert powers[name] == k
            lo, hi = (b.scaleb(-k) for b in key_range(key, pid, name, idx))
            alt = s["alternatives"][0]
            a, t = Decimal(alt["answer"]), Decimal(alt["tolerance"])
            assert a - t <= lo and a + t >= hi and 2 * t - (hi - lo) <= SLACK * (hi - lo)
            assert len(t.normalize().as_tuple().digits) <= 7   # no 9.999999999999999e-05
            low, high = tolerance_interval(alt["answer"], alt["tolerance"])
            edge = float(SLACK * (hi - lo)) + 4e-14 * max(abs(float(a)), float(t))
            assert low <= float(lo) and high >= float(hi)
            assert float(lo) - low <= edge and high - float(hi) <= edge
            full = float(np.asarray(key["problems"][pid][name])[idx])
            shown = [full] + ([float(np.asarray(key["chain"][pid][name])[idx])]
                              if pid in key.get("chain", {}) else [])
            for x in shown:
                assert within_tolerance(alt["answer"], alt["tolerance"],
                                        float(Decimal(repr(x)).scaleb(-k)))
            outside = 2 * float(SLACK * (hi - lo)) + 1e-12 * abs(float(hi))
            assert not within_tolerance(alt["answer"], alt["tolerance"], float(hi) + outside)
            assert not within_tolerance(alt["answer"], alt["tolerance"], float(lo) - outside)


def test_moodle_weights_are_in_the_ratio_of_the_points(batch):
    answers, moodle, _ = batch
    marks = {}
    for label, pid, _, subs, _ in _questions(moodle):
        names = [n for n, _ in entries(answers[label], pid)]
        share = {n: POINTS[(pid, n)] / names.count(n) for n in names}   # each entry's points
        weights = [s["weight"] for s in subs]
        assert all(isinstance(w, int) and w > 0 for w in weights)
        ratio = Fraction(weights[0]) / share[names[0]]
        assert all(Fraction(w) / share[n] == ratio for w, n in zip(weights, names, strict=True))
        marks.setdefault(pid, set()).add((sum(weights), ratio))
    # one ratio for the whole exam: each question's default mark (the sum) is its points' share
    assert len({r for m in marks.values() for _, r in m}) == 1
    p, q = (next(iter(marks[x])) for x in ("p", "q"))
    assert Fraction(p[0], q[0]) == sum(POINTS[k] for k in POINTS if k[0] == "p") \
        / sum(POINTS[k] for k in POINTS if k[0] == "q")
    assert max(w for m in marks.values() for w, _ in m) <= 10_000 * 20


def _items(qti):
    for item in qti.iter(f"{QTI}item"):
        label, rest = item.get("title").split(" ", 1)
        pid, name = re.match(r"(\w+)\.(\w+)", rest).groups()
        where = re.search(r"\[([\d, ]+)\]", rest)
        idx = tuple(int(i) - 1 for i in where.group(1).split(",")) if where else ()
        prompt = item.findtext(f".//{QTI}mattext")
        power = re.search(r"in units of 10\^(-?\d+)", prompt)
        yield label, pid, name, idx, unit_power(power.group(1) if power else None), item


def test_canvas_items_are_range_answers_equal_to_the_key(batch):
    answers, _, qti = batch
    items = list(_items(qti))
    assert [(x[0], x[1], x[2], x[3]) for x in items] == [
        (label, pid, n, idx) for label in answers for pid in VALUES
        for n, idx in entries(answers[label], pid)]
    for label, pid, name, idx, k, item in items:
        kind = [f.findtext(f"{QTI}fieldentry") for f in item.iter(f"{QTI}qtimetadatafield")
                if f.findtext(f"{QTI}fieldlabel") == "question_type"]
        assert kind == ["numerical_question"]
        (got,) = canvas_answers(item)
        assert got["type"] == "range_answer"
        lo, hi = (b.scaleb(-k) for b in key_range(answers[label], pid, name, idx))
        written = [Decimal(item.findtext(f".//{QTI}{t}")) for t in ("vargte", "varlte")]
        start, end = (Decimal(repr(got[t])) for t in ("start", "end"))
        assert [start, end] == written            # Canvas reads back exactly what is written
        assert start <= lo and end >= hi and (lo - start) + (end - hi) <= SLACK * (hi - lo)
        x = float(np.asarray(answers[label]["problems"][pid][name])[idx])
        u = printed_unit(x, DIGITS.get((pid, name), 4)).scaleb(-k)
        assert u >= Decimal("1e-4") and end - start >= Decimal("1e-4")   # survives toFixed(4)
        if k:   # asked in a power of ten only when needed
            assert printed_unit(x, DIGITS.get((pid, name), 4)) < Decimal("1e-4") or abs(x) >= 1e5


def test_canvas_points_are_the_value_points_over_its_entries(batch):
    answers, _, qti = batch
    per_version: dict[str, float] = {}
    for label, pid, name, _, _, item in _items(qti):
        n = int(np.size(answers[label]["problems"][pid][name]))
        assert canvas_points(item) == pytest.approx(float(POINTS[(pid, name)] / n), rel=1e-15)
        assert re.fullmatch(r"\d+(\.\d+)?", [f.findtext(f"{QTI}fieldentry") for f in item.iter(
            f"{QTI}qtimetadatafield") if f.findtext(f"{QTI}fieldlabel") == "points_possible"][0])
        per_version[label] = per_version.get(label, 0.0) + canvas_points(item)
    assert per_version == pytest.approx({label: float(TOTAL) for label in answers}, rel=1e-12)


def test_canvas_accepts_the_key_as_typed_and_refuses_just_outside(batch):
    answers, _, qti = batch
    for label, pid, name, idx, k, item in _items(qti):
        key = answers[label]
        got = canvas_answers(item)
        full = float(np.asarray(key["problems"][pid][name])[idx])
        digits = DIGITS.get((pid, name), 4)
        u = printed_unit(full, digits)
        with localcontext() as ctx:
            ctx.rounding = ROUND_HALF_UP
            printed = Decimal(repr(full)).quantize(u) if full else Decimal(0)
        values = [full, float(printed)]
        if pid in key.get("chain", {}):
            values.append(float(np.asarray(key["chain"][pid][name])[idx]))
        for v in values:
            scaled = Decimal(repr(v)).scaleb(-k)
            assert canvas_grades(got, str(scaled))                  # through the API
            assert canvas_grades(got, quiz_page(float(scaled)))     # typed on the quiz page
        typed = format(printed.scaleb(-k).normalize(), "f")
        assert quiz_page(float(printed.scaleb(-k))) == (typed if printed else "0")  # unrounded
        start, end = Decimal(repr(got[0]["start"])), Decimal(repr(got[0]["end"]))
        step = max((end - start) * Decimal("1e-9"), Decimal("1e-15"))
        assert not canvas_grades(got, str(end + step)) and not canvas_grades(got, str(start - step))
        assert not canvas_grades(got, quiz_page(float(end) + 1e-4))
        assert not canvas_grades(got, quiz_page(float(start) - 1e-4))


HOSTILE = ["{1:NUMERICAL:=42:0}", "$x^{1:NUMERICAL:=42:0}$", "{#1}", "{2:SA:x}", "{", "}", "#",
           "~", "/", "//", " ", "a", "&", "&#123;", "<b>", "]]>", "\\", "%", "{1:MC:=a~b}",
           "{:SA:=x}", "$\\{1:NM:=1\\}$", "\"", "'", "top", "{#2}x"]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow,
                                 HealthCheck.function_scoped_fixture])
@given(text=st.lists(st.sampled_from(HOSTILE) | st.text(max_size=3), max_size=8).map("".join),
       title=st.lists(st.sampled_from(HOSTILE), min_size=1, max_size=6).map("".join))
def test_no_problem_text_or_title_makes_a_subquestion(tmp_path, text, title):
    spec = tmp_path / "hostile.yaml"
    spec.write_text(f"title: {json.dumps(title)}\nproblems:\n  - id: p\n    text: "
                    f"{json.dumps(text)}\n    given: {{a: [[1, 2], [3, 4]]}}\n"
                    "    compute: [{r: a * 2}, {s: r / 4}]\n", encoding="utf-8")
    try:
        doc = load(spec)
    except NNReportError:
        assume(False)
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    write_lms(doc, solve(doc), out, BuildOptions(formats=("moodle", "canvas")))
    moodle = etree.parse(str(out / "moodle.xml")).getroot()
    (q,) = moodle.findall("question[@type='cloze']")
    stored, subs = cloze_subquestions(q.findtext("questiontext/text"))
    assert [s["alternatives"][0]["tolerance"] is not None for s in subs] == [True] * 8
    assert placeholders(stored) == list(range(1, 9))
    assert cloze_subquestions(q.findtext("generalfeedback/text"))[1] == []
    want = title.strip() if title.strip() not in ("", "top") else (title.strip() + " exam").strip()
    (cat,) = [c.findtext("category/text") for c in moodle.findall("question[@type='category']")]
    assert split_category_path(cat) == ["$course$", "top", want, "p"]
    with zipfile.ZipFile(out / "canvas-qti.zip") as z:
        qti = etree.fromstring(z.read("nnreport_assessment/nnreport_assessment.xml"))
    assert qti.find(f".//{QTI}assessment").get("title") == title
    assert len(list(qti.iter(f"{QTI}item"))) == 8


def test_weights_too_large_to_be_exact_are_rounded_within_half_a_unit(tmp_path):
    """Values of 7, 11, 13, 17 and 19 entries, a point each: exact integer weights would need
    the multiplier 323323 (the largest 46189); they are rounded, the largest at 10000."""
    lengths = [7, 11, 13, 17, 19]
    given = ", ".join(f"g{n}: {list(range(1, n + 1))}" for n in lengths)
    spec = tmp_path / "weights.yaml"
    spec.write_text("title: W\nproblems:\n  - id: p\n    given: {" + given + "}\n    compute: ["
                    + ", ".join(f"{{v{n}: g{n} * 2}}" for n in lengths) + "]\n")
    doc = load(spec)
    write_lms(doc, solve(doc), tmp_path, BuildOptions(formats=("moodle",)))
    (q,) = etree.parse(str(tmp_path / "moodle.xml")).getroot().findall("question[@type='cloze']")
    _, subs = cloze_subquestions(q.findtext("questiontext/text"))
    weights = [s["weight"] for s in subs]
    exact = [Fraction(1, n) for n in lengths for _ in range(n)]
    assert max(weights) == 10_000
    scale = 10_000 / max(exact)
    errors = [abs(w - f * scale) / (f * scale) for w, f in zip(weights, exact, strict=True)]
    assert all(abs(w - f * scale) <= Fraction(1, 2) for w, f in zip(weights, exact, strict=True))
    assert max(errors) < Fraction(1, 10_000)   # measured: 8.6e-5 (5385 for 13 entries)
