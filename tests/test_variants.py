"""Per-student versions: reproducible draws, constraints that hold, a grader's check, rosters
with awkward names, and a failing version that does not stop the others."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import PROBLEMS
from pypdf import PdfReader

from nnreport.build import BuildOptions
from nnreport.course.batch import build_variants
from nnreport.course.versions import from_roster, numbered, solve_version
from nnreport.errors import SpecError
from nnreport.spec import loads

SPEC = PROBLEMS / "exam2_variants.yaml"


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "nnreport", *args], capture_output=True,
                          text=True, env=env)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    out = tmp_path_factory.mktemp("batch")
    r = run("build", str(SPEC), "--variants", "4", "--seed", "2026", "--jobs", "2", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert "4 versions in" in r.stdout and "0 failed" in r.stdout
    return out / "exam2_variants" / "variants"


def test_batch_layout_and_combined_key(batch):
    for k in range(1, 5):
        d = batch / f"v{k:02d}"
        for kind in ("key", "questions"):
            assert (d / f"exam2_variants-v{k:02d}-{kind}.pdf").is_file()
    combined = PdfReader(str(batch / "exam2_variants-all-keys.pdf"))
    pages = sum(len(PdfReader(str(batch / f"v{k:02d}" / f"exam2_variants-v{k:02d}-key.pdf")).pages)
                for k in range(1, 5))
    assert len(combined.pages) == pages
    text = combined.pages[0].extract_text()
    assert "Version v01" in text


def test_version_id_on_every_page(batch):
    for kind in ("key", "questions"):
        reader = PdfReader(str(batch / "v03" / f"exam2_variants-v03-{kind}.pdf"))
        assert all("Version v03" in p.extract_text() for p in reader.pages)


def test_each_versions_answers_equal_solve_json(batch):
    combined = json.loads((batch / "answers.json").read_text())
    for k in range(1, 5):
        label = f"v{k:02d}"
        r = run("solve", str(SPEC), "--json", "--variant", str(k), "-o", str(batch.parents[1]))
        solved = json.loads(r.stdout)
        assert json.loads((batch / label / "answers.json").read_text()) == solved
        assert combined[label]["problems"] == solved["problems"]


def test_answers_csv_has_every_value_of_every_version(batch):
    import csv

    rows = list(csv.DictReader((batch / "answers.csv").open()))
    combined = json.loads((batch / "answers.json").read_text())
    want = sum(np.asarray(v, dtype=float).size for ver in combined.values()
               for vals in ver["problems"].values() for v in vals.values())
    assert len(rows) == want
    z = [r for r in rows if r["version"] == "v02" and r["problem"] == "p2" and r["value"] == "Z1"]
    got = np.array([float(r["number"]) for r in z]).reshape(3, 3)
    np.testing.assert_array_equal(got, combined["v02"]["problems"]["p2"]["Z1"])


def test_different_versions_have_different_numbers(batch):
    combined = json.loads((batch / "answers.json").read_text())
    z = [json.dumps(combined[f"v{k:02d}"]["problems"]["p2"]["Z1"]) for k in range(1, 5)]
    assert len(set(z)) == 4


def test_constraints_hold_in_every_version(batch):
    """Checked here from the answers alone: |Z| <= 4 for both sigmoid layers, and every
    gradient entry nonzero, except whole rows of dW1 that belong to an all-zero input."""
    combined = json.loads((batch / "answers.json").read_text())
    for ver in combined.values():
        p = ver["problems"]["p2"]
        assert np.abs(p["Z1"]).max() <= 4 and np.abs(p["Z2"]).max() <= 4
        dW1 = np.array(p["dW1"])
        live = ~np.all(dW1 == 0, axis=1)
        assert np.all(dW1[live] != 0)
        for name in ("dW2", "db1", "db2"):
            assert np.all(np.array(p[name]) != 0), name


def test_same_seed_gives_byte_identical_tex_and_pdf(tmp_path):
    env = dict(os.environ, SOURCE_DATE_EPOCH="1700000000")
    outs = []
    for n in ("a", "b"):
        r = run("build", str(SPEC), "--variants", "2", "--seed", "99", "--jobs", "2",
                "-o", str(tmp_path / n), env=env)
        assert r.returncode == 0, r.stderr
        outs.append(tmp_path / n / "exam2_variants" / "variants")
    for f in sorted(outs[0].rglob("*")):
        if f.suffix in (".tex", ".pdf", ".json", ".csv"):
            assert f.read_bytes() == (outs[1] / f.relative_to(outs[0])).read_bytes(), f.name
    other = tmp_path / "c"
    run("build", str(SPEC), "--variants", "2", "--seed", "100", "--no-pdf", "-o", str(other))
    a = (outs[0] / "v01" / "exam2_variants-v01-key.tex").read_text()
    assert a != (other / "exam2_variants" / "variants" / "v01" / "exam2_variants-v01-key.tex").read_text()


def test_roster_names_are_typeset(tmp_path):
    roster = tmp_path / "class.csv"
    roster.write_text("name,id\nZoë O'Brien & Co_1 #5 %,s-101\nJosé Müller {x} ~ ^,s-102\n",
                      encoding="utf-8")
    r = run("build", str(SPEC), "--roster", str(roster), "--seed", "3", "--key", "-o", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    base = tmp_path / "o" / "exam2_variants" / "variants"
    text = subprocess.run(["pdftotext", str(base / "s-101" / "exam2_variants-s-101-key.pdf"), "-"],
                          capture_output=True, text=True).stdout
    assert "Zoë O’Brien & Co_1 #5 %" in text or "Zoë O'Brien & Co_1 #5 %" in text
    text2 = subprocess.run(["pdftotext", str(base / "s-102" / "exam2_variants-s-102-key.pdf"), "-"],
                           capture_output=True, text=True).stdout
    assert "José Müller {x} ~ ^" in text2
    assert [v.student for v in from_roster(roster)] == ["Zoë O'Brien & Co_1 #5 %", "José Müller {x} ~ ^"]


BUILT = ("--variants", "40", "--seed", "2026")  # the batch the versions came from


def test_check_marks_right_and_wrong(tmp_path):
    key = json.loads(run("solve", str(SPEC), "--json", "--variant", "17", *BUILT).stdout)
    p2 = key["problems"]["p2"]
    ans = tmp_path / "answers.yaml"
    rounded = {"Z1": np.round(p2["Z1"], 4).tolist(), "loss": round(p2["loss"], 4),
               "dW1": [[float(f"{x:.4g}") for x in row] for row in p2["dW1"]]}
    ans.write_text(json.dumps({"p2": rounded}))
    r = run("check", str(SPEC), str(ans), "--variant", "17", *BUILT)
    # loss is right but not asked; the asked values not given count as missing (0 points):
    # p1's XW1 and out, p2's Z1, H1, yhat, loss_per_sample, dW1
    assert r.returncode == 1, r.stdout + r.stderr
    assert "2 of 7 right" in r.stdout and "right  p2.loss" in r.stdout
    assert all(f"missing p{n}: missing" in r.stdout
               for n in ("1.XW1", "1.out", "2.H1", "2.yhat", "2.loss_per_sample"))
    wrong = dict(rounded)
    wrong["dW1"] = [row[:] for row in rounded["dW1"]]
    wrong["dW1"][1][2] *= 1.05
    ans.write_text(json.dumps({"p2": wrong}))
    r = run("check", str(SPEC), str(ans), "--variant", "17", *BUILT)
    assert r.returncode == 1
    assert "WRONG  p2.dW1: off by" in r.stdout and "right  p2.Z1" in r.stdout
    assert "1 of 7 right" in r.stdout
    # the same answers are wrong for another student's version
    r = run("check", str(SPEC), str(ans), "--variant", "18", *BUILT)
    assert r.returncode == 1 and "0 of 7 right" in r.stdout


@pytest.mark.parametrize("bad", [".nan", "-.inf", "[[1, .nan, 2]]",
                                 "[[1, 2, 3], [4, .inf, 6], [7, 8, 9]]"])
def test_check_says_a_nan_or_infinite_answer_is_not_a_number(tmp_path, bad):
    ans = tmp_path / "answers.yaml"
    ans.write_text(f"p2:\n  Z1: {bad}\n")
    r = run("check", str(SPEC), str(ans), "--variant", "17", *BUILT)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "WRONG  p2.Z1: not a finite number" in r.stdout, r.stdout
    r = run("check", str(SPEC), str(ans), "--variant", "17", *BUILT, "--json")
    verdict = json.loads(r.stdout, parse_constant=lambda c: pytest.fail(f"bare {c} in JSON"))
    assert [v["status"] for v in verdict["values"] if v["value"] == "Z1"] == ["WRONG"]
    assert {v["status"] for v in verdict["values"] if v["value"] != "Z1"} == {"missing"}


FLAKY = """
title: t
max_tries: 1
problems:
  - id: r
    data: {X: [[{random: choice, from: [-1, 1]}]], Y: [[1]]}
    network: {layers: [{units: 1, activation: relu}, {units: 1, activation: sigmoid}]}
    params: {W1: [[1]], W2: [[1]]}
    loss: bce
    constraints: [no_dead_relu]
    figures: []
"""


def test_one_failing_version_does_not_stop_the_others(tmp_path):
    spec = tmp_path / "flaky.yaml"
    spec.write_text(FLAKY)
    res = build_variants(spec, numbered(8), seed=1, opts=BuildOptions(output=tmp_path / "o", pdf=False),
                         jobs=2, progress=False)
    assert res.failed and res.done and len(res.failed) + len(res.done) == 8
    assert all("no draw met the constraints" in m and "no_dead_relu failed 1 times" in m
               for m in res.failed.values())
    assert res.exit_code == 2
    for label in res.done:
        assert (tmp_path / "o" / "flaky" / "variants" / label / f"flaky-{label}-key.tex").exists()


def test_unsatisfiable_constraints_are_a_clear_error(tmp_path):
    spec = tmp_path / "never.yaml"
    spec.write_text(FLAKY.replace("max_tries: 1", "max_tries: 20").replace("from: [-1, 1]", "from: [-1, -2]"))
    with pytest.raises(SpecError) as info:
        solve_version(spec, 0, numbered(1)[0])
    msg = str(info.value)
    assert "no draw met the constraints in 20 tries" in msg and "r: no_dead_relu failed 20 times" in msg
    assert "never.yaml:10:18:" in msg  # the constraints line


def test_same_draw_twice_and_bad_random_specs():
    text = "title: t\nproblems:\n  - id: e\n    given: {a: {random: uniform, low: 0, high: 1, decimals: 2, shape: [3]}}\n    compute: [{b: a}]\n"
    a = loads(text, draw=(5, 1, 0)).problems[0].given["a"]
    b = loads(text, draw=(5, 1, 0)).problems[0].given["a"]
    c = loads(text, draw=(5, 2, 0)).problems[0].given["a"]
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.all(np.round(a, 2) == a) and np.all((a >= 0) & (a <= 1))
    with pytest.raises(SpecError, match="high .* is below low"):
        loads(text.replace("low: 0, high: 1", "low: 2, high: 1"))
    with pytest.raises(SpecError, match="random value: random"):
        loads(text.replace("uniform", "gaussian"))
    with pytest.raises(SpecError, match=":4:"):
        loads(text.replace("decimals: 2", "decimal: 2"))


def test_every_version_page_says_page_k_of_n(batch):
    """A student checks no page is missing: 'Page k of N' on every page of every version."""
    for kind in ("key", "questions"):
        path = batch / "v02" / f"exam2_variants-v02-{kind}.pdf"
        reader = PdfReader(str(path))
        n = len(reader.pages)
        for k, page in enumerate(reader.pages, start=1):
            assert f"Page {k} of {n}" in page.extract_text(), (kind, k)


def test_a_wrong_page_total_is_found_and_compiled_again(tmp_path):
    """A batch prints the first version's page count in the others (one TeX pass each); when
    a version has another count, it is compiled again with its own."""
    from nnreport.build import BuildOptions, write_documents
    from nnreport.engine.solve import solve
    from nnreport.spec import load

    doc = load(SPEC)
    opts = BuildOptions(kinds=("key",), page_totals=(("key", 99),), externalize=False)
    write_documents(doc, solve(doc), tmp_path, "x", opts, None, variant="Version v01")
    reader = PdfReader(str(tmp_path / "x-key.pdf"))
    n = len(reader.pages)
    assert n != 99 and all(f"Page {k} of {n}" in p.extract_text()
                           for k, p in enumerate(reader.pages, start=1))
