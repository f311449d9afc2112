"""Versions that are equally fair: each new constraint holds in every version of a seeded batch
(checked here independently of nnreport's own check), an impossible one is a located error,
a version solved alone is the version of the batch, and the batch's summary and grading grid
agree with its answers.json."""

from __future__ import annotations

import csv
import json
import math
import re
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest

from nnreport.build import BuildOptions
from nnreport.course.batch import build_variants
from nnreport.course.versions import Version, numbered, solve_version
from nnreport.errors import SpecError

SPEC = """
title: Fair
problems:
  - id: p
    data:
      X: {random: integers, low: -1, high: 1, shape: [3, 2]}
      Y: {random: choice, from: [0, 1], shape: [3, 1]}
    network: {layers: [{units: 2, activation: sigmoid}, {units: 1, activation: sigmoid}]}
    params:
      W1: {random: uniform, low: -1, high: 1, decimals: 1, shape: [2, 2]}
      W2: {random: uniform, low: -1, high: 1, decimals: 1, shape: [2, 1]}
    loss: bce
    ask: [H1, yhat, dW1]
    constraints: [mixed_labels, nonzero_features, {no_exact_ties: 0.05}, distinct_versions]
"""


def shown(x: float, digits: int = 4) -> str:
    """Half-up rounding to `digits` significant digits, independently of nnreport."""
    if x == 0:
        return "0"
    d = Decimal(repr(x))
    q = Decimal(1).scaleb(d.adjusted() - digits + 1)
    return str(d.quantize(q, rounding=ROUND_HALF_UP))


def tie(x: float, digits: int = 4) -> float:
    d = abs(Decimal(repr(x)))
    if d == 0:
        return 0.5
    units = d.scaleb(-(d.adjusted() - digits + 1))
    frac = units - int(units)
    return 0.5 if frac == 0 else abs(float(frac) - 0.5)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fair")
    spec = folder / "fair.yaml"
    spec.write_text(SPEC)
    res = build_variants(spec, numbered(6), seed=11, opts=BuildOptions(output=folder / "o", pdf=False),
                         jobs=2, progress=False)
    assert not res.failed, res.failed
    return spec, res.folder


def test_every_constraint_holds_in_every_version(batch):
    spec, folder = batch
    answers = json.loads((folder / "answers.json").read_text())
    printed = set()
    for k in range(6):
        doc, _, _ = solve_version(spec, 11, Version(k, f"v{k + 1:02d}"))
        s = doc.problems[0]
        assert set(np.unique(s.Y)) == {0.0, 1.0}                 # mixed_labels
        assert np.all(np.abs(s.X).max(axis=0) > 0)               # nonzero_features
        values = answers[f"v{k + 1:02d}"]["problems"]["p"]
        for name in ("H1", "yhat", "dW1"):
            for x in np.ravel(values[name]):
                assert tie(float(x)) >= 0.05, (k, name, x)        # no_exact_ties
        printed.add(tuple(shown(float(x)) for name in ("H1", "yhat", "dW1")
                          for x in np.ravel(values[name])))
    assert len(printed) == 6                                      # distinct_versions


def test_a_version_solved_alone_is_the_version_of_the_batch(batch):
    spec, folder = batch
    answers = json.loads((folder / "answers.json").read_text())
    for k in (0, 4, 5):
        _, sols, _ = solve_version(spec, 11, Version(k, "x"))
        np.testing.assert_array_equal(sols["p"].values()["dW1"],
                                      np.asarray(answers[f"v{k + 1:02d}"]["problems"]["p"]["dW1"]))


@pytest.mark.parametrize("constraint,data", [
    ("mixed_labels", "{X: {random: integers, low: 1, high: 2, shape: [3, 2]}, Y: [[0], [0], [0]]}"),
    ("nonzero_features", "{X: {random: integers, low: 0, high: 0, shape: [3, 2]}, Y: [[0], [1], [0]]}"),
])
def test_an_impossible_constraint_is_a_located_error(tmp_path, constraint, data):
    text = f"""title: T
max_tries: 20
problems:
  - id: p
    data: {data}
    network: {{layers: [{{units: 1, activation: sigmoid}}]}}
    loss: bce
    constraints: [{constraint}]
"""
    spec = tmp_path / "s.yaml"
    spec.write_text(text)
    with pytest.raises(SpecError) as info:
        solve_version(spec, 0, Version(0, "v01"))
    msg = str(info.value)
    assert f"{spec}:8:" in msg and f"p: {constraint} failed 20 times" in msg


def test_distinct_versions_cannot_be_met_by_a_spec_without_randomness(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("title: T\nproblems:\n  - id: e\n    given: {a: {random: choice, from: [1]}}\n"
                    "    compute: [{b: a * 2}]\n    constraints: [distinct_versions]\n")
    solve_version(spec, 0, Version(0, "v01"))  # the first version is fine
    with pytest.raises(SpecError, match="distinct_versions failed"):
        solve_version(spec, 0, Version(1, "v02"))


def test_summary_and_grid_agree_with_the_answers(batch):
    _, folder = batch
    answers = json.loads((folder / "answers.json").read_text())
    rows = list(csv.DictReader((folder / "summary.csv").open()))
    assert {r["value"] for r in rows} == {"H1", "yhat", "dW1"}
    for r in rows:
        idx = tuple(int(i) for i in r["index"].strip("[]").split("][")) if r["index"] else ()
        col = [float(np.asarray(answers[v]["problems"][r["problem"]][r["value"]])[idx])
               for v in answers]
        assert math.isclose(float(r["min"]), min(col)) and math.isclose(float(r["max"]), max(col))
        assert math.isclose(float(r["median"]), float(np.median(col)))
        assert int(r["versions"]) == 6
    grid = list(csv.DictReader((folder / "grid.csv").open()))
    assert [g["version"] for g in grid] == list(answers)
    for g in grid:  # one column per entry, each a plain number a spreadsheet reads
        yhat = np.asarray(answers[g["version"]]["problems"]["p"]["yhat"])
        for idx in np.ndindex(yhat.shape):
            cell = g["p.yhat" + "".join(f"[{i}]" for i in idx)]
            assert float(cell) == float(shown(float(yhat[idx]))), (cell, yhat[idx])
        assert all(re.fullmatch(r"-?\d+(\.\d+)?(E-?\d+)?", v) for k, v in g.items()
                   if k.startswith("p.")), g
    assert (folder / "grid.tex").read_text().count(r"\midrule") >= 6
