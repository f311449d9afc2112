"""Reports: a held-out test set (sizes, stratification, metrics recomputed by hand),
experiments that start from identical weights and differ only in what they name, placeholders
in prose (resolved, located when unknown), the report's own heading structure."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import load_digits

import nnreport
from nnreport.build import BuildOptions, build
from nnreport.compile import tex_available
from nnreport.errors import SpecError

REPORT = """title: R
document: report
sections:
  - title: Conclusion
    text: Adam reached {{{{ experiments.Adam.accuracy_test | percent }}}}; loss {{{{ d.loss_final }}}}.{extra}
  - results
problems:
  - id: d
    data: {{load: digits, normalize: minmax, n_samples: 300}}
    network:
      layers: [{{units: 8, activation: relu}}, {{units: 10, activation: softmax}}]
      init: {{method: he, seed: 3}}
    loss: cce
    worked_samples: 2
    split: {{test: 0.2, seed: 5}}
    train: {{optimizer: adam, lr: 0.02, epochs: 6, batch_size: 64}}
    experiments:
      Optimisers:
        - {{name: SGD, train: {{optimizer: sgd, lr: 0.5}}}}
        - {{name: Adam}}
      Width:
        - {{name: L2, regularization: {{l2: 0.5}}}}
        - {{name: wide, network: {{layers: [{{units: 16, activation: relu}}, {{units: 10, activation: softmax}}]}}}}
"""


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    spec = tmp_path_factory.mktemp("r") / "r.yaml"
    spec.write_text(REPORT.format(extra=""))
    r = subprocess.run([sys.executable, "-m", "nnreport", "solve", str(spec), "--json"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return spec, json.loads(r.stdout)["problems"]["d"]


def labels_of_digits(n):
    y = load_digits().target[:n]
    return y


def test_split_sizes_and_stratification(solved):
    _, d = solved
    y = labels_of_digits(300)
    test = np.array(d["test_rows"])
    assert len(test) == 60 and len(set(test)) == 60 and test.min() >= 0 and test.max() < 300
    for c in range(10):
        share = np.sum(y[test] == c)
        assert abs(share - 0.2 * np.sum(y == c)) <= 1, c  # stratified: each class ~20%


def test_test_metrics_recomputed_by_hand(solved):
    _, d = solved
    y = labels_of_digits(300)[np.array(d["test_rows"])]
    yhat = np.array(d["yhat_test"])
    pred = yhat.argmax(axis=1)
    conf = np.zeros((10, 10), int)
    for t, p in zip(y, pred, strict=True):
        conf[t, p] += 1
    assert np.array_equal(conf, np.array(d["confusion_test"]))
    assert np.array(d["confusion_test"]).sum() == 60
    assert d["accuracy_test"] == pytest.approx(np.mean(pred == y))
    eps = 1e-12  # cross-entropy of the one-hot test labels, the data term alone
    assert d["loss_test"] == pytest.approx(-np.mean(np.log(yhat[np.arange(60), y] + eps)), rel=1e-6)
    per_class = np.array(d["per_class_accuracy_test"], dtype=float)
    for c in range(10):
        assert per_class[c] == pytest.approx(np.mean(pred[y == c] == c))
    assert len(d["loss_history_test"]) == len(d["loss_history"]) == 6


def test_experiments_share_initial_weights_and_differ_only_in_what_they_name(solved):
    spec, d = solved
    base = nnreport.load(spec).document.problems[0]
    runs = {name: r for g in d["experiments"].values() for name, r in g.items()}
    assert set(runs) == {"SGD", "Adam", "L2", "wide"}
    for name in ("SGD", "Adam", "L2"):
        for k, v in base.params.items():
            assert np.array_equal(np.array(runs[name]["initial"][k]), v), (name, k)
    # a wider layer cannot share W1's shape; it starts from the same init seed instead
    assert np.array(runs["wide"]["initial"]["W1"]).shape == (64, 16)
    ref = runs["Adam"]["settings"]
    assert ref["optimizer"]["name"] == "adam" and ref["lr"] == 0.02 and ref["l2"] == 0
    changed = {name: {k for k in ref if runs[name]["settings"][k] != ref[k]} for name in runs}
    assert changed == {"SGD": {"optimizer", "lr"}, "Adam": set(), "L2": {"l2"}, "wide": {"units"}}
    # the Adam run is the base problem itself: the same numbers
    assert runs["Adam"]["loss_final"] == pytest.approx(d["loss_final"], rel=1e-12)
    # epochs to the group's target: the worst run's final loss, reached by each
    for group in d["experiments"].values():
        target = max(r["loss_final"] for r in group.values())
        for r in group.values():
            hist = r["loss_history"] + [r["loss_final"]]
            assert r["target_loss"] == target
            assert r["epochs_to_target"] == next(e for e, h in enumerate(hist) if h <= target)


def test_placeholders_resolve_and_reports_have_their_own_headings(solved, tmp_path):
    spec, d = solved
    build(spec, BuildOptions(output=tmp_path, pdf=False))
    tex = (tmp_path / "r" / "r-report.tex").read_text()
    adam = d["experiments"]["Optimisers"]["Adam"]["accuracy_test"]
    pct = f"{100 * adam:.3g}"
    assert f"Adam reached ${pct}\\%$" in tex.replace(".0\\%", "\\%")
    assert "{{" not in tex
    assert "\\subsection{d}" in tex and "Problem 1:" not in tex
    for part in ("Evaluation", "Experiments"):
        assert f"\\subsubsection*{{{part}}}" in tex


@pytest.mark.parametrize("extra,fragment", [
    (" {{ experiments.Adma.loss_final }}", "did you mean 'experiments.Adam.loss_final'"),
    (" {{ d.no_such }}", "unknown placeholder '{{ d.no_such }}'"),
    (" {{ experiments.SGD.accuracy_tset }}", "experiments.SGD.accuracy_test"),
])
def test_an_unknown_placeholder_is_a_located_error(tmp_path, extra, fragment):
    spec = tmp_path / "r.yaml"
    spec.write_text(REPORT.format(extra=extra))
    with pytest.raises(SpecError) as info:
        nnreport.load(spec)
    issue = info.value.issues[0]
    assert issue.line == 5 and fragment in str(info.value)


def test_experiment_errors_are_located(tmp_path):
    spec = tmp_path / "r.yaml"
    spec.write_text(REPORT.format(extra="").replace("{name: SGD, train: {optimizer: sgd, lr: 0.5}}",
                                                    "{name: SGD, train: {optimizer: sgdd}}"))
    with pytest.raises(SpecError) as info:
        nnreport.load(spec)
    assert "experiment 'SGD'" in str(info.value) and "sgdd" in str(info.value)


def test_the_code_appendix_is_the_script_and_file_names_stay_out_of_it(tmp_path):
    from nnreport.render.code import script

    spec = tmp_path / "r.yaml"
    spec.write_text(REPORT.format(extra="").replace("document: report", "document: report\nappendix: [code]"))
    build(spec, BuildOptions(output=tmp_path / "o", pdf=False))
    tex = (tmp_path / "o" / "r" / "r-report.tex").read_text()
    doc = nnreport.load(spec).document
    want = script(doc.problems[0], doc.spec.problems[0].data, "r.yaml", doc.spec.problems[0].split)
    assert "\\begin{verbatim}\n" + want + "\\end{verbatim}" in tex
    # a file name with TeX in it is not printed inside the verbatim block
    odd = tmp_path / "x\\end{verbatim}y.yaml"
    odd.write_text(spec.read_text())
    build(odd, BuildOptions(output=tmp_path / "o2", pdf=False))
    (out,) = (tmp_path / "o2").glob("*/*-report.tex")
    assert out.read_text().count("\\end{verbatim}") == 1 and "SPEC = 'the spec'" in out.read_text()


def _runs(name):
    r = subprocess.run([sys.executable, "-m", "nnreport", "solve", f"problems/{name}.yaml",
                        "--json"], capture_output=True, text=True,
                       cwd=__import__("conftest").ROOT)
    assert r.returncode == 0, r.stderr
    d = next(iter(json.loads(r.stdout)["problems"].values()))
    return {n: run for g in d["experiments"].values() for n, run in g.items()}


def test_the_shipped_conclusions_state_only_what_their_numbers_show():
    # problemset3's conclusion, claim by claim
    x = _runs("problemset3")
    assert x["Adam"]["loss_final"] < min(x["SGD"]["loss_final"], x["Momentum"]["loss_final"])
    assert x["Adam"]["epochs_to_target"] < x["SGD"]["epochs_to_target"]
    assert x["Adam"]["accuracy_test"] > max(x["SGD"]["accuracy_test"], x["Momentum"]["accuracy_test"])
    assert abs(x["Momentum"]["loss_final"] - x["SGD"]["loss_final"]) < 0.1 * x["SGD"]["loss_final"]
    norms = [x[n]["weight_norm"] for n in ("No L2", "L2 0.1", "L2 1")]
    assert norms == sorted(norms, reverse=True)
    gap = {n: x[n]["accuracy_train"] - x[n]["accuracy_test"] for n in ("No L2", "L2 0.1")}
    assert x["No L2"]["accuracy_train"] > x["No L2"]["accuracy_test"] and gap["L2 0.1"] < gap["No L2"]
    assert x["L2 0.1"]["accuracy_test"] == x["No L2"]["accuracy_test"]
    assert x["L2 1"]["accuracy_train"] < x["L2 0.1"]["accuracy_train"]
    # circles_widths' answer
    c = _runs("circles_widths")
    assert c["2 units"]["accuracy_test"] < c["4 units"]["accuracy_test"] <= c["16 units"]["accuracy_test"]
    assert c["ReLU"]["epochs_to_target"] < c["tanh"]["epochs_to_target"]
    assert c["sigmoid"]["loss_final"] == max(r["loss_final"] for k, r in c.items()
                                             if k in ("tanh", "ReLU", "sigmoid"))


def test_a_regression_report_shows_the_fit_and_no_accuracy(tmp_path):
    spec = tmp_path / "reg.yaml"
    spec.write_text("""title: Regression
document: report
problems:
  - id: r
    data: {generate: random, n_samples: 60, n_features: 2, seed: 1}
    network:
      layers: [{units: 4, activation: tanh}, {units: 1, activation: linear}]
      init: {method: xavier, seed: 2}
    loss: mse
    split: {test: 0.25, seed: 0}
    train: {optimizer: adam, lr: 0.05, epochs: 20, batch_size: 15}
""".replace("Y: ", "Y: "))
    build(spec, BuildOptions(output=tmp_path / "o", pdf=False))
    tex = (tmp_path / "o" / "reg" / "reg-report.tex").read_text()
    d = nnreport.load(spec).answers()["problems"]["r"]
    assert "loss_test" in d and "accuracy_test" not in d
    assert "predicted against true values" in tex and "Confusion" not in tex
    assert list((tmp_path / "o" / "reg" / "figures").glob("fit-*.pdf"))


@pytest.mark.skipif(not tex_available(), reason="TeX not installed")
def test_the_code_appendix_copies_out_of_the_pdf_into_a_script_that_runs(tmp_path):
    """Straight quotes (upquote) and the text as pdftotext -layout reads it from the PDF:
    saved to a file, it runs and prints the final loss solve --json gives."""
    spec = tmp_path / "c.yaml"
    spec.write_text("title: C\ndocument: report\nappendix: [code]\nsections: [results]\n"
                    "problems:\n  - id: n\n    data: {X: [[0, 1], [1, 0], [1, 1]], Y: [1, 0, 1]}\n"
                    "    network: {layers: [{units: 2, activation: tanh}, {units: 1, "
                    "activation: sigmoid}], init: {method: randn, seed: 2, scale: 0.5}}\n"
                    "    loss: bce\n    train: {optimizer: momentum, lr: 0.5, epochs: 3}\n")
    build(spec, BuildOptions(output=tmp_path / "o"))
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "o" / "c" / "c-report.pdf"),
                           "-"], capture_output=True, text=True).stdout
    start = text.index('"""Written by')
    code = text[start:text.index("print(f'final loss", start)]
    assert "\u2019" not in code and "\u2018" not in code  # no typographic quotes in code
    code = code + "print(f'final loss {loss(params, X, Y)!r}')\n"
    # a page break inside the listing: the running head and foot are not code
    lines = [ln for ln in code.splitlines()
             if not re.fullmatch(r"\f?\s*(\d+|Page \d+ of \d+|.*\u2014 Report)\s*", ln)]
    indent = min(len(ln) - len(ln.lstrip()) for ln in lines if ln.strip())
    script = "\n".join(ln[indent:] for ln in lines) + "\n"
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr + script
    final = float(run.stdout.strip().splitlines()[-1].split()[-1])
    solved = nnreport.load(spec).answers()["problems"]["n"]["loss_final"]
    assert abs(final - solved) < 1e-10


def test_a_report_is_reproducible_and_its_numbers_read_alike(tmp_path):
    """Two builds give the same .tex (no run time in a table); every percentage has one
    decimal, in tables and prose alike; the weight norm is printed at the prose's digits;
    a report without L2 says nothing about an L2 penalty."""
    spec = tmp_path / "r.yaml"
    spec.write_text(REPORT.format(extra=" Norm {{ experiments.SGD.weight_norm }}."))
    texs = []
    for k in range(2):
        build(spec, BuildOptions(output=tmp_path / f"o{k}", pdf=False))
        texs.append((tmp_path / f"o{k}" / "r" / "r-report.tex").read_text())
    assert texs[0] == texs[1]
    tex = texs[0]
    pcts = re.findall(r"\$([\d.]+)\\%\$", tex)
    assert pcts and all(re.fullmatch(r"\d+\.\d", p) for p in pcts), pcts
    assert " ms" not in tex and "time" not in tex.split(r"\lVert W \rVert")[1][:40]
    runs = _runs_of(spec)
    norm = runs["SGD"]["weight_norm"]
    shown = f"{norm:.4g}"
    assert f"Norm ${shown}$" in tex and f"${shown}$" in tex.split("Optimisers.")[1]
    assert "L2 penalty" in tex  # the Width group has an L2 run
    plain = REPORT.format(extra="").split("      Width:")[0]
    spec.write_text(plain)
    build(spec, BuildOptions(output=tmp_path / "o3", pdf=False))
    assert "L2 penalty" not in (tmp_path / "o3" / "r" / "r-report.tex").read_text()


def _runs_of(spec):
    r = subprocess.run([sys.executable, "-m", "nnreport", "solve", str(spec), "--json"],
                       capture_output=True, text=True)
    d = json.loads(r.stdout)["problems"]["d"]
    return {n: run for g in d["experiments"].values() for n, run in g.items()}
