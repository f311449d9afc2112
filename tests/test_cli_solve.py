"""`solve`, `solve --json` and `validate` through the real command line."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
from conftest import PROBLEMS

from nnreport.engine.solve import solve
from nnreport.errors import ComputeError
from nnreport.spec import loads


def nnreport(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "nnreport", *args], capture_output=True,
                          text=True, cwd=cwd)


def test_solve_json_contract():
    r = nnreport("solve", str(PROBLEMS / "exam2.yaml"), "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["title"] == "Exam 2"
    p2 = data["problems"]["p2"]
    for name in ["Z1", "H1", "Z2", "yhat", "loss", "loss_per_sample", "dZ1", "dZ2", "dW1", "dW2",
                 "db1", "db2", "dW1_per_sample", "db2_per_sample", "W1_new", "b2_new",
                 "loss_history", "loss_final", "yhat_final", "W1_final", "b2_final",
                 "accuracy_final"]:
        assert name in p2, name
    # display names (B, C) never leak into the canonical names
    assert "B" not in p2 and "C" not in p2
    assert np.array(p2["dW1_per_sample"]).shape == (3, 4, 3)
    assert np.array(p2["Z1"]).shape == (3, 3)       # rows layout: samples x units
    # full precision: 1 - sigma(6) is not rounded
    assert p2["H1"][0][0] == pytest.approx(1 / (1 + np.exp(-6)), rel=1e-15)
    assert data["problems"]["p1"]["XW1"] == [10.0, 10.0, 10.0]


def test_solve_json_columns_layout_shapes():
    r = nnreport("solve", str(PROBLEMS / "assignment01.yaml"), "--json")
    net = json.loads(r.stdout)["problems"]["net"]
    assert np.array(net["Z1"]).shape == (3, 5)    # columns: units x samples
    assert np.array(net["W1"] if "W1" in net else net["W1_new"]).shape == (3, 3)
    assert np.array(net["W2_new"]).shape == (1, 3)  # (out, in)
    assert np.array(net["b1_new"]).shape == (3, 1)


def test_solve_human_summary():
    r = nnreport("solve", str(PROBLEMS / "exam2.yaml"))
    assert r.returncode == 0
    assert "[p2]" in r.stdout and "yhat [3, 1]" in r.stdout


def test_python_api_matches_cli():
    import nnreport as nr

    api = nr.load(PROBLEMS / "exam2.yaml").answers()
    cli = json.loads(nnreport("solve", str(PROBLEMS / "exam2.yaml"), "--json").stdout)
    assert api == cli


def test_validate_prints_nothing_for_a_good_spec():
    r = nnreport("validate", str(PROBLEMS / "exam2.yaml"))
    assert r.returncode == 0 and r.stdout == "" and r.stderr == ""


BIG_Z = """
title: t
problems:
  - id: p
    data: {X: [[1000, -1000], [-800, 900]], Y: [[1, 0], [0, 1]]}
    network: {layers: [{units: 3, activation: sigmoid}, {units: 2, activation: LOSSACT}],
              init: {seed: 0, scale: 5}}
    loss: LOSS
"""


@pytest.mark.parametrize("act,loss", [("sigmoid", "bce"), ("softmax", "cce"), ("tanh", "mse")])
def test_no_overflow_warnings_for_large_z(act, loss):
    doc = loads(BIG_Z.replace("LOSSACT", act).replace("LOSS", loss))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        v = solve(doc)["p"].values()
    assert np.isfinite(v["loss"])
    assert np.all(np.isfinite(v["dW1"]))


def test_bce_from_logits_is_exact_where_naive_is_inf():
    doc = loads("""
title: t
problems:
  - id: p
    data: {X: [[1.0]], Y: [[0]]}
    network: {layers: [{units: 1, activation: sigmoid}]}
    params: {W1: [[800]]}
    loss: bce
""")
    v = solve(doc)["p"].values()
    # -log(1 - sigma(800)) = 800 + log(1 + e^-800) = 800 exactly in floating point
    assert v["loss"] == pytest.approx(800.0, rel=1e-15)


DIVERGES = """
title: t
problems:
  - id: p
    data: {X: [[1, 2], [3, 4]], Y: [[1000], [-2000]]}
    network: {layers: [{units: 3, activation: relu}, {units: 1, activation: linear}],
              init: {seed: 0, scale: 1}}
    loss: mse
    train: {lr: 5, epochs: 500}
"""


def test_divergence_stops_with_epoch_and_hint():
    doc = loads(DIVERGES)
    with pytest.raises(ComputeError) as info:
        solve(doc)
    msg = str(info.value)
    assert "diverged in epoch" in msg and "lower the learning rate" in msg


def test_divergence_via_cli_exit_code(write_spec):
    path = write_spec(DIVERGES)
    r = nnreport("solve", str(path))
    assert r.returncode == 5 and "diverged" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("name", sorted(p.name for p in PROBLEMS.glob("*.yaml")))
def test_solve_summary_of_every_shipped_problem(name):
    # problemset3's experiments (a dict of runs) ended the summary in a traceback
    r = nnreport("solve", str(PROBLEMS / name))
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr[-2000:]
    if name == "problemset3.yaml":
        data = json.loads(nnreport("solve", str(PROBLEMS / name), "--json").stdout)
        runs = next(v for v in data["problems"].values() if "experiments" in v)["experiments"]
        group, rows = next(iter(runs.items()))
        run, values = next(iter(rows.items()))
        line = next(x for x in r.stdout.splitlines()
                    if x.startswith(f"experiments.{group}.{run}.loss_final = "))
        assert float(line.split("= ")[1]) == pytest.approx(values["loss_final"], rel=1e-5)
