"""Failures the generated configured-layer specs (tests/test_nd_spec_generated.py) found,
minimised, as regular tests."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from nnreport.cli import cli


def build(tmp_path, problem: dict) -> str:
    path = tmp_path / "s.yaml"
    path.write_text(json.dumps({"title": "t", "problems": [problem]}))
    r = CliRunner().invoke(cli, ["build", str(path), "-o", str(tmp_path / "o"), "--no-pdf"])
    assert r.exit_code == 0 and r.exception is None or isinstance(r.exception, SystemExit), (
        r.stderr, r.exception)
    assert r.exit_code == 0, r.stderr
    return (tmp_path / "o" / "s" / "s-key.tex").read_text()


CONV_TWO_STEPS = {
    "id": "p", "data": {"X": [[[1, 0, 2], [0, 1, 1], [2, 1, 0]], [[0, 1, 0], [1, 0, 2], [1, 1, 1]]],
                        "Y": [[1], [0]]},
    "network": {"layers": [{"type": "conv", "filters": 2, "kernel": 2, "activation": "relu"},
                           {"type": "flatten"}, {"units": 1, "activation": "sigmoid"}]},
    "params": {"W1": [[[[1, -1], [0, 1]]], [[[0.5, 0], [1, -0.5]]]], "b1": [0, 0.1],
               "W3": [[0.5], [-1], [0.5], [0], [1], [0], [-0.5], [0.5]], "b3": [0]},
    "loss": "bce", "train": {"optimizer": "sgd", "lr": 0.5, "epochs": 2}}


@pytest.mark.parametrize("train", [{"epochs": 2}, {"epochs": 1, "batch_size": 1}])
def test_a_conv_kernels_final_value_prints_one_map_per_line(tmp_path, train):
    """Found: a conv network trained more than one step crashed in the training part
    (ValueError: too many values to unpack, a traceback, exit 1) printing W1_final
    [F, C, kh, kw] as one matrix. Now one line per map, as W1_new."""
    p = json.loads(json.dumps(CONV_TWO_STEPS))
    p["train"].update(train)
    tex = build(tmp_path, p)
    assert r"\left(W_{1}^{\text{final}}\right)_{1,1} &= \begin{bmatrix}" in tex
    assert r"\left(W_{1}^{\text{final}}\right)_{2,1} &= \begin{bmatrix}" in tex
    assert r"W_{1}^{\text{final}} &=" not in tex
