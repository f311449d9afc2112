"""Grading that is right for every student (issue 20): every asked value counts toward the
total the question sheet prints, roster ids name versions in solve and check, the grading
grid reads as numbers (CSV) and lines up (PDF), and points for a value not asked are an error.
The LMS side (ranges, points, Cloze) is in test_lms.py."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import PROBLEMS

from nnreport.compile import tex_available

VARIANTS = PROBLEMS / "exam2_variants.yaml"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nnreport", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=600)


def sheet_points(tex: str) -> tuple[dict[int, float], float]:
    """The points table of a question sheet: {problem number: points}, and its total."""
    per = {int(n): float(p) for n, p in re.findall(r"^(\d+)\. .* & (\d+(?:\.\d+)?) points? \\\\",
                                                   tex, re.M)}
    total = float(re.search(r"^Total & (\d+(?:\.\d+)?) \\\\", tex, re.M).group(1))
    return per, total


@pytest.fixture(scope="module")
def exam2_sheet(tmp_path_factory):
    out = tmp_path_factory.mktemp("sheet")
    assert run("build", str(PROBLEMS / "exam2.yaml"), "--questions", "--no-pdf",
               "-o", str(out)).returncode == 0
    return sheet_points((out / "exam2" / "exam2-questions.tex").read_text())


def test_an_empty_submission_scores_zero_of_the_sheets_total(tmp_path, exam2_sheet):
    per, total = exam2_sheet
    assert sum(per.values()) == total
    (tmp_path / "a.yaml").write_text("{}\n")
    r = run("check", str(PROBLEMS / "exam2.yaml"), str(tmp_path / "a.yaml"), "--json")
    out = json.loads(r.stdout)
    assert r.returncode == 1 and out["points"] == 0 and out["of"] == total
    assert {v["status"] for v in out["values"]} == {"missing"}
    r = run("check", str(PROBLEMS / "exam2.yaml"), str(tmp_path / "a.yaml"), "--json",
            "--problem", "p2")
    assert json.loads(r.stdout)["of"] == per[2]


def test_a_partial_submission_is_out_of_the_total_in_class_mode_too(tmp_path, exam2_sheet):
    _, total = exam2_sheet
    key = json.loads(run("solve", str(PROBLEMS / "exam2.yaml"), "--json").stdout)["problems"]
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "v01.yaml").write_text(json.dumps({"p2": {"Z1": key["p2"]["Z1"]}}))
    r = run("check", str(PROBLEMS / "exam2.yaml"), str(subs))
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader((tmp_path / "grades.csv").open()))
    totals = [x for x in rows if x["value"] == "total"]
    assert [(float(x["points"]), float(x["of"])) for x in totals] == [(2.0, total)]
    assert sum(float(x["of"]) for x in rows if x["value"] not in ("total", "")) == total


@pytest.fixture(scope="module")
def roster_batch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("roster")
    roster = folder / "class.csv"
    roster.write_text("name,id\nAda Lovelace,s-101\nAlan Turing,s-102\nGrace Hopper,s-103\n")
    out = folder / "out"
    r = run("build", str(VARIANTS), "--roster", str(roster), "--seed", "7", "--no-pdf",
            "-o", str(out))
    assert r.returncode == 0, r.stderr
    return folder, roster, out, out / "exam2_variants" / "variants"


def test_roster_ids_name_versions_in_solve_and_check(roster_batch):
    folder, roster, out, batch = roster_batch
    built = json.loads((batch / "answers.json").read_text())
    for sid in ("s-101", "s-103"):
        r = run("solve", str(VARIANTS), "--json", "--variant", sid, "-o", str(out))
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["problems"] == built[sid]["problems"]
        r = run("solve", str(VARIANTS), "--json", "--variant", sid, "--roster", str(roster),
                "--seed", "7")  # no batch needed when the roster and seed are given
        assert json.loads(r.stdout)["problems"] == built[sid]["problems"]
    r = run("solve", str(VARIANTS), "--variant", "s-999", "-o", str(out))
    assert r.returncode == 2 and "no version 's-999' was built" in r.stderr
    # a class named by roster ids, no --variant needed
    subs = folder / "subs"
    subs.mkdir()
    for sid in ("s-101", "s-102"):
        (subs / f"{sid}.yaml").write_text(json.dumps({"p1": {"XW1": built[sid]["problems"]["p1"]["XW1"]}}))
    r = run("check", str(VARIANTS), str(subs), "--roster", str(roster), "--seed", "7")
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader((folder / "grades.csv").open()))
    assert {(x["version"], x["status"]) for x in rows if x["value"] == "XW1"} == {
        ("s-101", "right"), ("s-102", "right")}
    r = run("check", str(VARIANTS), str(subs / "s-101.yaml"), "--variant", "s-102",
            "-o", str(out))
    assert "WRONG  p1.XW1" in r.stdout  # another student's numbers


def test_grid_csv_is_one_plain_number_per_entry(roster_batch):
    _, _, _, batch = roster_batch
    built = json.loads((batch / "answers.json").read_text())
    rows = list(csv.DictReader((batch / "grid.csv").open()))
    assert [r["version"] for r in rows] == ["s-101", "s-102", "s-103"]
    for r in rows:
        dW1 = np.asarray(built[r["version"]]["problems"]["p2"]["dW1"])
        for (i, j), v in np.ndenumerate(dW1):
            cell = r[f"p2.dW1[{i}][{j}]"]
            assert re.fullmatch(r"-?\d+(\.\d+)?(E-?\d+)?", cell), cell
            assert abs(float(cell) - v) <= 0.5 * 10 ** (np.floor(np.log10(abs(v))) - 3) * 1.0001


@pytest.mark.skipif(not tex_available(), reason="TeX not installed")
def test_grid_pdf_lines_up_every_entry_across_students(tmp_path):
    out = tmp_path / "out"
    r = run("build", str(VARIANTS), "--variants", "6", "--seed", "3", "--key", "-o", str(out))
    assert r.returncode == 0, r.stderr
    batch = out / "exam2_variants" / "variants"
    built = json.loads((batch / "answers.json").read_text())
    bbox = subprocess.run(["pdftotext", "-bbox", str(batch / "grid.pdf"), "-"],
                          capture_output=True, text=True).stdout
    words = [(float(m[0]), float(m[1]), float(m[2]), m[3].replace("\u2212", "-")) for m in
             re.findall(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)<',
                        bbox)]

    def right_edge(text: str) -> list[tuple[float, float]]:
        return [(x1, y) for x0, y, x1, w in words if w == text]

    # Z1's last column: each version's three entries end at one x, the same for every version
    edges = []
    for label, v in built.items():
        col = [row[-1] for row in v["problems"]["p2"]["Z1"]]
        for x in col:
            text = f"{x:g}"
            found = right_edge(text)
            assert found, (label, text)
            edges.append(found)
    # every entry of that column has a word ending at one common x (within a tenth of a point)
    common = set.intersection(*[{round(x1, 1) for x1, _ in e} for e in edges])
    assert common, edges


def test_points_for_a_value_not_asked_are_a_located_error(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("title: t\nproblems:\n  - id: p\n    given: {a: 2}\n"
                    "    compute: [{b: a * 3}, {c: b + 1}]\n    ask: [c]\n"
                    "    points: {c: 2, b: 1}\n")
    r = run("validate", str(spec))
    assert r.returncode == 2 and f"{spec}:7:" in r.stderr
    assert "points for 'b', which problem 'p' does not ask" in r.stderr
    assert "ask: [c, b]" in r.stderr


# --- a class marked alike by check, Moodle and Canvas ---------------------------------------

def test_a_class_is_marked_alike_by_check_moodle_and_canvas(tmp_path):
    """Four students (every value as printed; the rounded chain; one entry three units off and
    a value missing; entries just inside and just outside a range) marked by `check`, by
    Moodle's Cloze rules and by Canvas's numeric rules (tests/lmsrules.py, read from their
    code): the same values right, and each problem's share of the points the same."""
    import zipfile
    from decimal import ROUND_HALF_UP, Decimal, localcontext

    from lmsrules import canvas_answers, canvas_grades, canvas_points, quiz_page, within_tolerance
    from lxml import etree
    from test_lms import DIGITS, SPEC, VALUES, _items, _questions, entries, key_range, printed_unit

    spec = tmp_path / "lms.yaml"
    spec.write_text(SPEC)
    out = tmp_path / "out"
    r = run("build", str(spec), "--variants", "4", "--seed", "7", "--no-pdf", "--format",
            "moodle", "--format", "canvas", "-o", str(out))
    assert r.returncode == 0, r.stderr
    batch = out / "lms" / "variants"
    answers = json.loads((batch / "answers.json").read_text())

    def printed(x: float, pid: str, name: str) -> Decimal:
        u = printed_unit(x, DIGITS.get((pid, name), 4))
        with localcontext() as ctx:
            ctx.rounding = ROUND_HALF_UP
            return Decimal(repr(x)).quantize(u) if x else Decimal(0)

    typed: dict[tuple[str, str, str, tuple[int, ...]], Decimal | None] = {}
    for label, key in answers.items():
        for pid in VALUES:
            for name, idx in entries(key, pid):
                x = float(np.asarray(key["problems"][pid][name])[idx])
                v = printed(x, pid, name)
                if label == "v02" and pid in key.get("chain", {}):
                    v = Decimal(repr(float(np.asarray(key["chain"][pid][name])[idx])))
                if label == "v03" and (pid, name, idx) == ("p", "mixed", (0, 0)):
                    v = v + 3 * printed_unit(x, 4)
                if label == "v03" and (pid, name) == ("q", "v"):
                    v = None  # not handed in
                lo, hi = key_range(key, pid, name, idx)
                if label == "v04" and (pid, name, idx) == ("q", "u", (0, 1)):
                    v = hi  # the range's own edge: accepted
                if label == "v04" and (pid, name, idx) == ("q", "u", (1, 2)):
                    # one printed unit past it: a number written to the printed digits (a
                    # number nearer the edge than Canvas's 4 typed decimals is not one a
                    # student writes; docs/lms.md)
                    v = printed(float(hi), pid, name) + printed_unit(float(hi), 4)
                typed[(label, pid, name, idx)] = v
    subs = tmp_path / "subs"
    subs.mkdir()
    for label, key in answers.items():
        sub: dict[str, dict[str, object]] = {}
        for pid in VALUES:
            for name in VALUES[pid]:
                shape = np.shape(key["problems"][pid][name])
                vals = [typed[(label, pid, name, idx)] for idx in np.ndindex(shape)]
                if any(v is None for v in vals):
                    continue
                a = np.array([float(v) for v in vals]).reshape(shape)
                sub.setdefault(pid, {})[name] = a.tolist() if shape else float(a)
        (subs / f"{label}.yaml").write_text(json.dumps(sub))
    r = run("check", str(spec), str(subs), "-o", str(out))
    assert r.returncode == 0, r.stderr
    graded = {(x["version"], x["problem"], x["value"]): x
              for x in csv.DictReader((tmp_path / "grades.csv").open())}

    def right(label: str, pid: str, name: str) -> bool:
        return graded[(label, pid, name)]["status"] == "right"

    expected_wrong = {("v03", "p", "mixed"), ("v03", "q", "v"), ("v04", "q", "u")}
    assert {(lab, p, n) for lab in answers for p in VALUES for n in VALUES[p]
            if not right(lab, p, n)} == expected_wrong

    moodle = etree.parse(str(batch / "moodle.xml")).getroot()
    for label, pid, _, subq, powers in _questions(moodle):
        key = answers[label]
        order = entries(key, pid)
        assert len(subq) == len(order)
        ok: dict[str, bool] = {}
        score = total = 0.0
        for (name, idx), box in zip(order, subq, strict=True):
            v = typed[(label, pid, name, idx)]
            alt = box["alternatives"][0]
            hit = v is not None and within_tolerance(
                alt["answer"], alt["tolerance"], float(v.scaleb(-powers.get(name, 0))))
            ok[name] = ok.get(name, True) and hit
            total += box["weight"]
            score += box["weight"] * hit
        assert {n: ok[n] for n in VALUES[pid]} == {n: right(label, pid, n) for n in VALUES[pid]}
        points = sum(float(graded[(label, pid, n)]["points"]) for n in VALUES[pid])
        of = sum(float(graded[(label, pid, n)]["of"]) for n in VALUES[pid])
        # Moodle scores entry by entry: equal to check's where each value is all or nothing
        whole = {n for n in VALUES[pid] if ok[n]}
        w_whole = sum(box["weight"] for (n, _), box in zip(order, subq, strict=True)
                      if n in whole)
        assert w_whole / total == pytest.approx(points / of, rel=1e-9)

    with zipfile.ZipFile(batch / "canvas-qti.zip") as z:
        qti = etree.fromstring(z.read("nnreport_assessment/nnreport_assessment.xml"))
    canvas_ok: dict[tuple[str, str, str], bool] = {}
    canvas_pts: dict[tuple[str, str, str], float] = {}
    for label, pid, name, idx, k, item in _items(qti):
        v = typed[(label, pid, name, idx)]
        hit = v is not None and canvas_grades(canvas_answers(item), quiz_page(float(v.scaleb(-k))))
        canvas_ok[(label, pid, name)] = canvas_ok.get((label, pid, name), True) and hit
        canvas_pts[(label, pid, name)] = canvas_pts.get((label, pid, name), 0.0) + canvas_points(item)
    for (label, pid, name), hit in canvas_ok.items():
        assert hit == right(label, pid, name), (label, pid, name)
        assert canvas_pts[(label, pid, name)] == pytest.approx(
            float(graded[(label, pid, name)]["of"]), rel=1e-12)
