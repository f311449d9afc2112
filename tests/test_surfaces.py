"""The surfaces added after the spec boundary, tried as an attacker would (issue 19): the
generated NumPy script, the notebook's LaTeX, every CSV a spreadsheet opens, students'
submissions (files and CSV rows), rosters, budgets that rounding: chain and experiments once
bypassed, and batches in HTML. Each finding has its own test and a variant of it."""

from __future__ import annotations

import ast
import csv
import json
import os
import re
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from conftest import PROBLEMS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnreport.compile import tex_available

needs_tex = pytest.mark.skipif(not tex_available(), reason="TeX not installed")
VARIANTS = PROBLEMS / "exam2_variants.yaml"

SMALL_NET = """title: small
problems:
  - id: p
    data: {X: [[1, 2], [0, -1]], Y: [1, 0]}
    network:
      layers: [{units: 2, activation: relu}, {units: 1, activation: sigmoid}]
    params: {W1: [[0.5, -0.25], [0.75, 0.5]], b1: [0, 0], W2: [[1], [-2]], b2: [0.5]}
    loss: bce
    ask: [Z1, H1, yhat]
    points: {Z1: 2, H1: 2, yhat: 2}
"""


def run(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nnreport", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout)


def is_formula(cell: str) -> bool:
    """What a spreadsheet (LibreOffice Calc, Excel) runs as a formula: a cell starting with
    = + - @ (or a tab or carriage return before one) that is not a plain number."""
    try:
        float(cell)
        return False
    except ValueError:
        return cell[:1] in ("=", "+", "-", "@", "\t", "\r")


def csv_cells(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as fh:
        return [c for row in csv.reader(fh) for c in row]


# --- 1. generated code ----------------------------------------------------------------------

HOSTILE_NAMES = ['x""";__import__("os").system("touch PWNED");"""y',   # the finding
                 "x''';__import__('os').system('touch PWNED');'''y",   # the other quotes
                 "a\\\"\"\"b", "é\u2028z", "#{x}"]                      # backslash, U+2028, comment


@pytest.mark.parametrize("stem", HOSTILE_NAMES)
def test_a_spec_name_cannot_put_code_into_the_generated_script(tmp_path, stem):
    spec = tmp_path / f"{stem}.yaml"
    spec.write_text(SMALL_NET, encoding="utf-8")
    r = run("code", spec.name, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    tree = ast.parse(r.stdout)  # a whole, valid module
    consts = {n.targets[0].id: n.value.value for n in tree.body
              if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant)}
    assert consts["SPEC"] == spec.name  # the name is one string literal, exactly
    calls = {ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert not any("system" in c or "__import__" in c or "exec" in c for c in calls), calls
    out = subprocess.run([sys.executable, "-c", r.stdout], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("stem", ["-x", ".hidden", "a\x1bb", "a\nb"])
def test_code_refuses_the_file_names_build_refuses(tmp_path, stem):
    spec = tmp_path / f"{stem}.yaml"
    spec.write_text(SMALL_NET, encoding="utf-8")
    r = run("code", str(spec))
    assert r.returncode == 2 and "cannot name the output after this file" in r.stderr, r.stderr
    assert r.stdout == "" and "Traceback" not in r.stderr


@given(st.text(st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)),
               min_size=1, max_size=40))
@settings(max_examples=60, deadline=None)
def test_fuzz_any_file_name_gives_a_script_that_parses_or_is_refused(name):
    from nnreport.errors import SpecError
    from nnreport.outdir import output_name
    from nnreport.render.code import script
    from nnreport.spec import loads

    try:
        output_name(Path(name + ".yaml"))
    except SpecError:
        return
    doc = loads(SMALL_NET, "s.yaml")
    text = script(doc.problems[0], doc.spec.problems[0].data, name + ".yaml")
    tree = ast.parse(text)
    spec = [n.value.value for n in tree.body if isinstance(n, ast.Assign)
            and getattr(n.targets[0], "id", "") == "SPEC"]
    assert spec == [name + ".yaml"]


# --- 3. notebook LaTeX ----------------------------------------------------------------------

@needs_tex
@pytest.mark.parametrize("title", [r"x \input{SECRET} y", r"a } \input{SECRET} {",
                                   r"\csname input\endcsname{SECRET}"])
def test_notebook_latex_prints_the_title_and_reads_no_file(tmp_path, title):
    """nbconvert --to pdf runs the notebook's LaTeX through pdflatex (unsandboxed, any file
    readable): the title must come out as text."""
    import nnreport

    token = "TOKEN" + os.urandom(6).hex().upper()
    secret = tmp_path / "secret.tex"
    secret.write_text(token + "\n")
    spec = tmp_path / "nb.yaml"
    spec.write_text(SMALL_NET.replace("  - id: p\n", "  - id: p\n    title: "
                                      + json.dumps(title.replace("SECRET", str(secret))) + "\n"))
    solved = nnreport.load(spec)
    latex = solved._repr_latex_()
    assert r"\input" not in latex.replace(r"\textbackslash{}input", "")
    doc = tmp_path / "nb.tex"
    doc.write_text("\\documentclass{article}\\usepackage[T1]{fontenc}\\usepackage{lmodern}"
                   "\\usepackage{amsmath,amssymb,textcomp}\\begin{document}\n" + latex
                   + "\n\\end{document}\n")
    subprocess.run(["pdflatex", "-interaction=nonstopmode", "-no-shell-escape", doc.name],
                   cwd=tmp_path, capture_output=True, timeout=120)
    text = subprocess.run(["pdftotext", str(tmp_path / "nb.pdf"), "-"], capture_output=True,
                          text=True).stdout
    assert token not in text
    assert "input" in text and "\\" in text  # printed as text, not executed


# --- 4. spreadsheets ------------------------------------------------------------------------

FORMULAS = ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)", "\t=1", "=HYPERLINK(\"x\")"]


def test_csv_cells_from_outside_never_start_a_formula(tmp_path):
    from nnreport.csvout import cell

    for f in FORMULAS:
        assert not is_formula(cell(f)) and cell(f).endswith(f.lstrip("\t"))
    for x in (-0.5, -9.224e-4, 3, -7, 1e300):
        assert cell(x) == repr(x) and not is_formula(cell(x))  # numbers stay numbers


def test_roster_names_and_submission_keys_reach_no_csv_as_formulas(tmp_path):
    roster = tmp_path / "class.csv"
    with roster.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "id"])
        for k, f in enumerate(FORMULAS[:4]):
            w.writerow([f, f"s{k}"])
    out = tmp_path / "out"
    r = run("build", str(VARIANTS), "--roster", str(roster), "--no-pdf", "-o", str(out))
    assert r.returncode == 0, r.stderr
    batch = out / "exam2_variants" / "variants"
    for name in ("answers.csv", "grid.csv", "summary.csv"):
        cells = csv_cells(batch / name)
        assert not [c for c in cells if is_formula(c)], name
    assert "'=1+1" in csv_cells(batch / "grid.csv")  # shown as text, not dropped
    subs = tmp_path / "subs"
    subs.mkdir()
    key = json.loads((batch / "answers.json").read_text())["s0"]["problems"]
    (subs / "s0.yaml").write_text(json.dumps({"p1": {"=cmd|'/C calc'!A0": 1, "XW1": key["p1"]["XW1"]},
                                              "@SUM(A1)": {"x": 1}}))
    r = run("check", str(VARIANTS), str(subs), "--roster", str(roster), "-o", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    cells = csv_cells(tmp_path / "grades.csv")
    assert not [c for c in cells if is_formula(c)]
    assert "'@SUM(A1)" in cells and "'=cmd|'/C calc'!A0" in cells


# --- 5, 9, 11. submissions ----------------------------------------------------------------

def write_csv(path: Path, rows: list[list[str]], raw: bytes = b"") -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["version", "problem", "value", "index", "number"])
        w.writerows(rows)
    if raw:
        with path.open("ab") as fh:
            fh.write(raw)
    return path


@pytest.mark.parametrize("index", ["[5000][5000]", "[100000][100000]", "[0][99999]"])
def test_a_huge_index_costs_nothing_and_is_that_values_error(tmp_path, index):
    from nnreport import Budgets
    from nnreport.course.grading import Rules, mark_class
    from nnreport.course.submissions import read_class
    from nnreport.course.versions import Keys, numbered

    spec = tmp_path / "s.yaml"
    spec.write_text(SMALL_NET)
    path = write_csv(tmp_path / "c.csv", [["v01", "p", "Z1", index, "1"],
                                          ["v01", "p", "H1", "[0][0]", "2"]])
    tracemalloc.start()
    res = mark_class(Keys(spec), read_class(path, Budgets()), numbered(1), Rules())
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50_000_000  # 1.26 GB and 74.5 GiB were asked for before
    rows = {r["value"]: r for r in res.graded["v01"]}
    assert "outside the value's shape [2, 2]" in rows["Z1"]["detail"]
    assert rows["H1"]["detail"] == "3 of 4 entries missing"


def test_a_class_with_broken_and_hostile_files_is_still_marked(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(SMALL_NET)
    X = np.array([[1, 2], [0, -1]], float)
    Z1 = X @ np.array([[0.5, -0.25], [0.75, 0.5]])
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "alice.yaml").write_text(json.dumps({"p": {"Z1": Z1.tolist()}}))
    (subs / "bob.yaml").write_text("p: {Z1: [[1, 2\n")                 # unclosed
    (subs / "carol.yaml").write_text("- not\n- a mapping\n")              # wrong shape
    (subs / "dave.json").write_text(json.dumps({"p": {"Z1": [[[[1]]]] * 3}}))
    (subs / "erin.yaml").write_text("p: {Z1: &a [*a]}\n")               # recursive alias
    (subs / "frank.yaml").symlink_to("/etc/passwd")
    (subs / "gina.yaml").write_bytes(b"p: {Z1: \xff\xfe}\n")             # not UTF-8
    r = run("check", str(spec), str(subs), "--grades", str(tmp_path / "g.csv"), timeout=60)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    rows = list(csv.DictReader((tmp_path / "g.csv").open()))
    status = {(x["version"], x["value"]): x["status"] for x in rows}
    assert status[("alice", "Z1")] == "right" and status[("alice", "H1")] == "missing"
    assert status[("dave", "Z1")] == "WRONG"   # read, but not a 2x2 matrix
    assert status[("erin", "Z1")] == "WRONG"   # the alias is read as a value, not a loop
    for who in ("bob", "carol", "frank", "gina"):
        assert status[(who, "")] == "error", who
        assert f"not marked: {who}: " in r.stderr
    totals = {x["version"]: (float(x["points"]), float(x["of"])) for x in rows
              if x["value"] == "total"}
    assert totals["alice"] == (2.0, 6.0) and totals["bob"] == (0.0, 6.0)
    assert "subs/bob.yaml:2:" in r.stderr  # located


def test_a_csv_with_bad_rows_marks_every_readable_value(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(SMALL_NET)
    X = np.array([[1, 2], [0, -1]], float)
    Z1 = X @ np.array([[0.5, -0.25], [0.75, 0.5]])
    rows = [["v01", "p", "Z1", f"[{i}][{j}]", repr(float(v))] for (i, j), v in np.ndenumerate(Z1)]
    rows += [["v01", "p", "H1", "[0]", "1"], ["v01", "p", "H1", "[0][1]", "2"],   # mixed
             ["v01", "p", "yhat", "[0][0]", "0,5"],                                  # comma
             ["", "p", "Z1", "[0][0]", "1"]]                                         # no version
    path = write_csv(tmp_path / "c.csv", rows, raw=b"v01,p,Z1,[1][1],\xff\n")
    r = run("check", str(spec), str(path), timeout=60)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    got = {(x["version"], x["value"]): x for x in csv.DictReader((tmp_path / "grades.csv").open())}
    assert got[("v01", "H1")]["detail"] == "indices of different lengths (1 and 2 numbers)"
    assert "is not a number" in got[("v01", "yhat")]["detail"]
    assert "c.csv:10: bytes that are not UTF-8" in got[("v01", "Z1")]["detail"]
    assert "c.csv:9: no readable version" in r.stderr


def test_a_flat_list_is_taken_for_a_column_and_names_get_a_suggestion(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(SMALL_NET)
    sig = 1 / (1 + np.exp(-(np.maximum(np.array([[2, 0.75], [-0.75, -0.5]]), 0)
                            @ np.array([[1], [-2]]) + 0.5)))
    (tmp_path / "a.yaml").write_text(json.dumps({"p": {"yhat": sig.ravel().tolist(),
                                                       "H": [[1]]}}))
    r = run("check", str(spec), str(tmp_path / "a.yaml"), "--json")
    values = {v["value"]: v for v in json.loads(r.stdout)["values"]}
    assert values["yhat"]["status"] == "right"  # [a, b] for a 2x1 value, as specs take it
    assert "did you mean 'H1'" in values["H"]["detail"]


# --- 7. which versions exist ----------------------------------------------------------------

def test_a_version_never_built_is_an_error_not_a_solve(tmp_path):
    out = tmp_path / "out"
    assert run("build", str(VARIANTS), "--variants", "3", "--seed", "4", "--no-pdf",
               "-o", str(out)).returncode == 0
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "v1000.yaml").write_text("p2: {Z1: 1}\n")
    (subs / "v99999.yaml").write_text("p2: {Z1: 1}\n")
    t0 = time.perf_counter()
    r = run("check", str(VARIANTS), str(subs), "-o", str(out))
    assert time.perf_counter() - t0 < 30  # 62 s and ~1.7 h before (every earlier version)
    assert r.returncode == 2
    assert "no version 'v1000' was built" in r.stderr and "v99999" in r.stderr
    r = run("check", str(VARIANTS), str(subs / "v1000.yaml"), "--variant", "4", "-o", str(out))
    assert r.returncode == 2 and "no version '4' was built" in r.stderr
    r = run("check", str(VARIANTS), str(subs / "v1000.yaml"), "--variant", "2", "-o", str(out),
            "--seed", "5")
    assert r.returncode == 2 and "built with --seed 4" in r.stderr
    r = run("check", str(VARIANTS), str(subs / "v1000.yaml"), "--variant", "2")  # no batch here
    assert r.returncode == 2 and "--variants N" in r.stderr


def test_a_class_is_marked_with_one_solve_per_version(tmp_path, monkeypatch):
    """distinct_versions: version k depends on versions 1..k-1; a class of 6 costs 6 solves."""
    from nnreport import Budgets
    from nnreport.course import versions as variants
    from nnreport.course.grading import Rules, mark_class
    from nnreport.course.submissions import Submission

    calls = []
    real = variants.solve
    monkeypatch.setattr(variants, "solve", lambda doc: calls.append(1) or real(doc))
    keys = variants.Keys(VARIANTS, 2026, Budgets())
    subs = [Submission(f"v{k:02d}", {"p1": {"XW1": [0, 0, 0]}}) for k in (6, 1, 4, 2, 5, 3)]
    res = mark_class(keys, subs, variants.numbered(6), Rules())
    assert sorted(res.graded) == [f"v{k:02d}" for k in range(1, 7)]
    tries = len(calls)
    alone = []  # each version on its own, as solve_version draws it
    monkeypatch.setattr(variants, "solve", lambda doc: alone.append(1) or real(doc))
    variants.solve_version(VARIANTS, 2026, variants.Version(5, "v06"))
    assert tries <= len(alone)  # the whole class costs no more than version 6 alone


# --- 6, 8. budgets --------------------------------------------------------------------------

def test_rounding_chain_on_a_big_network_is_refused_before_work(tmp_path):
    spec = tmp_path / "big.yaml"
    spec.write_text("title: big\nrounding: chain\nproblems:\n  - id: p\n"
                    "    data: {load: digits, n_samples: 300, normalize: minmax}\n"
                    "    network: {layers: [{units: 256, activation: relu}, "
                    "{units: 10, activation: softmax}], init: {method: he, seed: 1}}\n"
                    "    loss: cce\n    train: {optimizer: adam, lr: 0.01, epochs: 1}\n")
    t0 = time.perf_counter()
    r = run("validate", str(spec))
    assert time.perf_counter() - t0 < 20
    assert r.returncode == 2 and "--budget chain_entries=N" in r.stderr, r.stderr
    assert f"{spec}:2:" in r.stderr  # at rounding: chain
    r = run("validate", str(spec), "--budget", "chain_entries=1e10")
    assert r.returncode == 0, r.stderr


def test_rounding_chain_counts_compute_steps_once_per_path(tmp_path):
    spec = tmp_path / "e.yaml"
    body = ("problems:\n  - id: e\n    given: {A: {random: uniform, low: 0, high: 1, "
            "shape: [300, 300]}}\n    compute: [{B: A @ A @ A @ A}]\n")
    spec.write_text("title: e\n" + body)
    assert run("validate", str(spec)).returncode == 0  # 1.1e8 multiply-adds: fine once
    spec.write_text("title: e\nrounding: chain\n" + body)
    r = run("validate", str(spec))
    assert r.returncode == 2 and "--budget compute_flops=N" in r.stderr, r.stderr


def test_experiments_are_bounded_before_anything_runs(tmp_path):
    groups = "\n".join(f"      G{g}: [" + ", ".join(f"{{name: r{g}x{k}}}" for k in range(8)) + "]"
                       for g in range(300))
    spec = tmp_path / "x.yaml"
    spec.write_text("title: x\ndocument: report\nproblems:\n  - id: p\n"
                    "    data: {X: [[0, 1], [1, 0]], Y: [1, 0]}\n"
                    "    network: {layers: [{units: 1, activation: sigmoid}]}\n"
                    "    loss: bce\n    train: {epochs: 1}\n    experiments:\n" + groups + "\n")
    t0 = time.perf_counter()
    r = run("validate", str(spec))
    assert time.perf_counter() - t0 < 20
    assert r.returncode == 2 and "2,400 experiment runs in 300 groups" in r.stderr, r.stderr
    assert "--budget experiment_runs=N" in r.stderr and f"{spec}:10:" in r.stderr  # its groups


# --- 10, 12. batches ------------------------------------------------------------------------

@needs_tex
def test_tex_specials_in_a_roster_name_keep_the_batch_and_its_grid(tmp_path):
    roster = tmp_path / "class.csv"
    roster.write_text('name,id\n"Ann $x$ Lee",a1\n"B # % & ~ ^ \\ { } _ $",b2\n',
                      encoding="utf-8")
    out = tmp_path / "out"
    r = run("build", str(VARIANTS), "--roster", str(roster), "--key", "-o", str(out))
    assert r.returncode == 0, r.stderr
    grid = out / "exam2_variants" / "variants" / "grid.pdf"
    text = subprocess.run(["pdftotext", str(grid), "-"], capture_output=True, text=True).stdout
    assert "Ann $x$ Lee" in text and "B # % & ~ ^ \\ { } _ $" in text


def test_a_failed_grid_keeps_the_batch(tmp_path, monkeypatch):
    from nnreport.build import BuildOptions
    from nnreport.course import batch
    from nnreport.course.versions import numbered

    if not tex_available():
        pytest.skip("TeX not installed")
    monkeypatch.setattr(batch, "grid_tex", lambda *a: "\\documentclass{article}\\begin{document}"
                        "\\undefinedmacro\\end{document}")
    res = batch.build_variants(VARIANTS, numbered(2), 1, BuildOptions(
        output=tmp_path / "o", pdf=True, kinds=("key",)), jobs=1, progress=False)
    assert res.done == ["v01", "v02"] and list(res.failed) == ["grid.pdf"]
    assert res.exit_code == 4 and "Undefined control sequence" in res.failed["grid.pdf"]
    folder = tmp_path / "o" / "exam2_variants" / "variants"
    assert (folder / "v02" / "exam2_variants-v02-key.pdf").is_file()
    assert (folder / "grid.log").is_file() and not (folder / "grid.pdf").exists()


@needs_tex
@pytest.mark.parametrize("how", [("--variants", "2"), ("--roster", "ROSTER")])
def test_html_batches_build_every_version(tmp_path, how):
    roster = tmp_path / "class.csv"
    roster.write_text("name,id\nAda,a1\nBo,b2\n")
    out = tmp_path / "out"
    r = run("build", str(VARIANTS), how[0], how[1].replace("ROSTER", str(roster)),
            "--format", "html", "-o", str(out))
    assert r.returncode == 0, r.stderr
    folder = out / "exam2_variants" / "variants"
    pages = sorted(folder.glob("*/exam2_variants-*-key.html"))
    assert len(pages) == 2
    for page in pages:
        text = page.read_text()
        assert "<svg" in text and "katex" in text  # the diagram and the math are there


# --- 11. tracebacks -------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["ok.csv\\0", "ok.csv\\x07", "\\t"])
def test_a_csv_path_with_control_characters_is_a_located_error(tmp_path, path):
    spec = tmp_path / "s.yaml"
    spec.write_text(f'title: t\nproblems:\n  - id: p\n    data: {{csv: "{path}"}}\n'
                    "    network: {layers: [{units: 1}]}\n    loss: mse\n")
    r = run("validate", str(spec))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"{spec}:4:" in r.stderr and "csv path" in r.stderr


@pytest.mark.parametrize("depth", [21, 200, 2000 // 8])
def test_math_nested_too_deep_is_refused_for_every_output(tmp_path, depth):
    import nnreport
    from nnreport.errors import SpecError

    text = "$" + "\\sqrt{" * depth + "x" + "}" * depth + "$"
    spec = tmp_path / "s.yaml"
    spec.write_text("title: t\nproblems:\n  - id: p\n    text: '" + text + "'\n"
                    "    given: {a: 1}\n    compute: [{b: a * 2}]\n")
    r = run("build", str(spec), "--format", "html", "-o", str(tmp_path / "o"))
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "nested more than 20 deep" in r.stderr
    with pytest.raises(SpecError, match="nested more than 20 deep"):  # the notebook's way
        nnreport.problem(X=[[1.0]], Y=[[1.0]], layers=[(1, "sigmoid")], text=text)


def test_math_nested_twenty_deep_still_builds(tmp_path):
    text = "$" + "\\sqrt{" * 20 + "x" + "}" * 20 + "$"
    spec = tmp_path / "s.yaml"
    spec.write_text("title: t\nproblems:\n  - id: p\n    text: '" + text + "'\n"
                    "    given: {a: 1}\n    compute: [{b: a * 2}]\n")
    r = run("build", str(spec), "--format", "html", "-o", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr


# --- fuzz: submissions ----------------------------------------------------------------------

VALUE = st.recursive(st.one_of(st.floats(allow_nan=True), st.integers(-10**30, 10**30),
                               st.text(max_size=5), st.booleans(), st.none()),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                         st.text(max_size=5), inner, max_size=3), max_leaves=20)
NAMES = st.sampled_from(["Z1", "H1", "yhat", "dW1", "zz", "", "=1+1"]) | st.text(max_size=8)


@given(st.dictionaries(st.sampled_from(["p", "q", "@x"]) | st.text(max_size=4),
                       st.dictionaries(NAMES, VALUE, max_size=4) | VALUE, max_size=3))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fuzz_any_submission_is_marked_without_an_exception(submitted):
    from nnreport.course.grading import Rules, mark, total
    from nnreport.engine.solve import solve

    doc = _fuzz_doc()
    rows = mark(doc, solve(doc), submitted, Rules(follow_through=True))
    right, n, got, of = total(rows)
    assert of == 6.0 and 0 <= got <= of and n == 3  # always out of the exam's 6 points
    assert {r["value"] for r in rows if r["status"] == "missing"} <= {"Z1", "H1", "yhat"}


@given(st.lists(st.lists(st.text(max_size=12) | st.sampled_from(
    ["v01", "p", "Z1", "[0][0]", "[0]", "[1][1]", "1e309", "nan", "-0"]), min_size=0,
    max_size=7), max_size=12))
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
def test_fuzz_any_submissions_csv_is_read_or_refused(tmp_path, rows):
    from nnreport import Budgets
    from nnreport.course.grading import Rules, mark_class
    from nnreport.course.submissions import read_class
    from nnreport.course.versions import Keys, numbered
    from nnreport.errors import SpecError

    path = tmp_path / "c.csv"
    with path.open("w", newline="", encoding="utf-8", errors="surrogatepass") as fh:
        w = csv.writer(fh)
        w.writerow(["version", "problem", "value", "index", "number"])
        w.writerows(rows)
    try:
        subs = read_class(path, Budgets())
    except SpecError:
        return
    spec = tmp_path / "s.yaml"
    spec.write_text(SMALL_NET)
    res = mark_class(Keys(spec), subs, numbered(1), Rules())
    for rows_ in res.graded.values():
        assert sum(r["of"] for r in rows_) == 6.0


_DOC = []


def _fuzz_doc():
    from nnreport.spec import loads

    if not _DOC:
        _DOC.append(loads(SMALL_NET, "s.yaml"))
    return _DOC[0]


GROUPED = """title: x
document: report
problems:
  - id: p
    data: {X: [[0, 1], [1, 0]], Y: [1, 0]}
    network: {layers: [{units: 1, activation: sigmoid}]}
    loss: bce
    train: {epochs: 1}
    experiments:
      GROUP:
        - {name: a_1}
        - {name: b, train: {lr: 0.5}}
"""


@pytest.mark.parametrize("group", [r"'G \input{/etc/hostname}'", "'$x$'", "'50%'", "'a}b'"])
def test_an_experiment_group_name_cannot_carry_tex(tmp_path, group):
    """Group names went into captions and headings unescaped (found while fixing issue 22)."""
    spec = tmp_path / "g.yaml"
    spec.write_text(GROUPED.replace("GROUP", group))
    r = run("validate", str(spec))
    assert r.returncode == 2 and f"{spec}:" in r.stderr and "Traceback" not in r.stderr


@needs_tex
def test_an_experiment_group_name_with_an_underscore_is_printed(tmp_path):
    spec = tmp_path / "g.yaml"
    spec.write_text(GROUPED.replace("GROUP", "Rate_1 (x=0.5)"))
    r = run("build", str(spec), "-o", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    text = subprocess.run(["pdftotext", str(tmp_path / "o" / "g" / "g-report.pdf"), "-"],
                          capture_output=True, text=True).stdout
    assert "Rate_1 (x=0.5): loss per epoch" in text and "a_1" in text


# --- found by the audit of every string field ----------------------------------------------

@pytest.mark.parametrize("where", ['ask: ["\\e]2;PWNED\\a"]', 'points: {"\\e[31mred": 1}',
                                   'digits_for: {"\\e]2;T\\a": 3}'])
def test_terminal_escape_sequences_never_reach_the_terminal(tmp_path, where):
    """A name in a spec (or a file name) holding ESC/BEL would retitle or recolour the
    instructor's terminal: every message writes control characters as \\x1b, \\x07."""
    spec = tmp_path / "s.yaml"
    spec.write_text(f"title: t\nproblems:\n  - id: e\n    given: {{a: 1}}\n"
                    f"    compute: [{{b: a + 1}}]\n    {where}\n")
    r = run("validate", str(spec))
    assert r.returncode == 2 and "\x1b" not in r.stderr and "\x07" not in r.stderr
    assert "\\x1b" in r.stderr


def test_a_control_character_in_a_file_name_is_escaped_in_messages(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "v\x1b]2;X\x07.yaml").write_text("p: {Z1: 1}\n")
    r = run("check", str(VARIANTS), str(subs), "--variants", "2")
    assert "\x1b" not in r.stderr + r.stdout and "\\x1b" in r.stderr
    cells = csv_cells(tmp_path / "grades.csv")
    assert not [c for c in cells if "\x1b" in c or "\x07" in c]


@pytest.mark.parametrize("text", [" =1+1", "\u00a0=1+1", "  @SUM(A1)", "\u202f-2+3"])
def test_a_formula_after_leading_spaces_is_neutralised(text):
    from nnreport.csvout import cell

    assert cell(text).startswith("'")


@pytest.mark.parametrize("value", ["[true, false]", '[[1, "2"], [3, 4]]', "[[1, 2], [3, {a: 1}]]",
                                   '"1e3"', "true"])
def test_a_submitted_value_must_be_numbers(tmp_path, value):
    spec = tmp_path / "s.yaml"
    spec.write_text(SMALL_NET)
    (tmp_path / "a.yaml").write_text(f"p: {{Z1: {value}}}\n")
    r = run("check", str(spec), str(tmp_path / "a.yaml"), "--json")
    z1 = [v for v in json.loads(r.stdout)["values"] if v["value"] == "Z1"]
    assert z1[0]["status"] == "WRONG" and "not a number" in z1[0]["detail"]


def test_moodle_text_outside_formulas_is_not_math(tmp_path):
    """A \\( typed in a problem's text (not a formula: the PDF prints it as text) would be read
    by the LMS's MathJax, \\href{javascript:...} included: it is marked for MathJax to skip;
    escaped dollars stay text and placeholders are filled as in the PDF."""
    from lxml import etree

    spec = tmp_path / "m.yaml"
    spec.write_text('title: m\nproblems:\n  - id: e\n    text: "A \\\\(\\\\href{javascript:alert(1)}{x}'
                    '\\\\) costs \\\\$5 and \\\\$6; b is {{ e.b }} and $x^2$."\n'
                    "    given: {a: 1}\n    compute: [{b: a + 1}]\n")
    r = run("build", str(spec), "--format", "moodle", "--no-pdf", "-o", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    root = etree.parse(str(tmp_path / "o" / "m" / "moodle.xml")).getroot()
    text = root.find("question[@type='cloze']").findtext("questiontext/text")
    outside = re.sub(r'<span class="tex2jax_ignore mathjax_ignore">.*?</span>', "", text)
    assert "href" not in outside and "\\(x^2\\)" in outside
    assert "$5 and $6" in text.replace("\\$", "$") and "\\(2\\)" in outside  # {{ e.b }} filled


def test_a_submission_nested_or_large_is_refused_before_it_is_built(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(SMALL_NET)
    (tmp_path / "deep.yaml").write_text("p: {Z1: " + "[" * 5000 + "]" * 5000 + "}\n")
    big = "p:\n" + "".join("  " * (i + 1) + "a:\n" for i in range(3000))
    (tmp_path / "big.yaml").write_text(big)
    r = run("check", str(spec), str(tmp_path / "deep.yaml"))
    assert r.returncode == 2 and "nested deeper than 64 levels" in r.stderr
    r = run("check", str(spec), str(tmp_path / "big.yaml"))
    assert r.returncode == 2 and f"the submission is {len(big):,} bytes" in r.stderr
    assert "Traceback" not in r.stderr
