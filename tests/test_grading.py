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
