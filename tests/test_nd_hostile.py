"""Hostile values in the configured layers' keys (issues 25, 26): each is a located spec error
(exit 2, `file:line:col: what`, no traceback), and a batch whose normalised feature is constant
with eps 0 is a compute error (exit 5) that says which feature and what to do; the output
folder is never created for them."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from nnreport.cli import cli

ROOT = Path(__file__).resolve().parent.parent
CNN = yaml.safe_load((ROOT / "problems" / "cnn_exam.yaml").read_text())
SEQ = yaml.safe_load((ROOT / "problems" / "sequences_exam.yaml").read_text())

# (spec, problem, layer, key, value, words the message must hold)
CASES = [
    (CNN, 0, 0, "filters", 0, "greater than or equal to 1"),
    (CNN, 0, 0, "kernel", 0, "kernel must be a positive whole number"),
    (CNN, 0, 0, "kernel", [2, 2, 2], "kernel is one number or two"),
    (CNN, 0, 0, "stride", -1, "greater than or equal to 0"),
    (CNN, 0, 0, "padding", 10 ** 9, "less than or equal to"),
    (CNN, 0, 0, "stride", 1.5, "valid integer"),
    (CNN, 0, 0, "activation", "softmax", "a conv layer's activation is one of"),
    (CNN, 0, 0, "activation", "x;rm -rf", "unknown activation"),
    (CNN, 0, 1, "kind", "median", "pooling is max or avg"),
    (CNN, 0, 1, "size", 100, "larger than the input height"),
    (CNN, 0, 1, "stride", 0, "stride must be a positive whole number"),
    (CNN, 2, 1, "p", 1.0, "less than 1, not 1.0"),
    (CNN, 2, 1, "p", -0.5, "0 or more"),
    (CNN, 2, 1, "mask", [[2, 0, 1, 1]], "a mask entry is 0"),
    (CNN, 2, 1, "mask", [[1, 0, 1]], "expected [1, 4]"),
    (CNN, 2, 1, "mask", [[0.5, 0, 1, 1]], "a mask entry is 0"),
    (CNN, 1, 1, "eps", -1, "eps must be 0 or more"),
    (SEQ, 0, 0, "units", 10 ** 9, "less than or equal to"),
    (SEQ, 0, 0, "activation", "softmax", "a rnn layer's activation is one of"),
    (SEQ, 0, 0, "return", "first", "'last' or 'sequence'"),
    (SEQ, 1, 0, "d_k", 0, "greater than or equal to 1"),
    (SEQ, 1, 0, "d_k", 10 ** 8, "less than or equal to"),
    (SEQ, 1, 0, "heads", 2, "unknown key 'heads'"),
]


def _run(tmp_path: Path, d: dict) -> tuple[int, str, BaseException | None]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    spec = tmp_path / "h.yaml"
    spec.write_text(yaml.safe_dump(d, sort_keys=False))
    r = CliRunner().invoke(cli, ["build", str(spec), "-o", str(tmp_path / "out"), "--no-pdf"])
    return r.exit_code, r.stdout + r.stderr, r.exception


@pytest.mark.parametrize("case", range(len(CASES)))
def test_hostile_layer_value_is_a_located_error(tmp_path, case):
    base, pi, li, key, value, words = CASES[case]
    d = copy.deepcopy(base)
    p = d["problems"][pi]
    p["network"]["layers"][li][key] = value
    d["problems"] = [p]
    code, out, exc = _run(tmp_path, d)
    assert code == 2, out
    assert exc is None or isinstance(exc, SystemExit), exc
    assert "Traceback" not in out
    assert re.match(r"\S*h\.yaml:\d+:\d+: ", out), out
    assert words in out, out
    assert not (tmp_path / "out").exists()


def test_constant_feature_with_eps_zero_is_a_compute_error(tmp_path):
    d = copy.deepcopy(CNN)
    p = d["problems"][1]
    p["network"]["layers"][1]["eps"] = 0
    p["data"]["X"] = [[1, 2], [1, 2]]  # every sample alike: each feature's variance is 0
    d["problems"] = [p]
    code, out, exc = _run(tmp_path, d)
    assert code == 5, out
    assert exc is None or isinstance(exc, SystemExit), exc
    assert "feature 1 has the same value in every sample" in out and "eps > 0" in out
    p["network"]["layers"][1]["eps"] = 1e-5  # the default: builds
    code, out, _ = _run(tmp_path / "ok", d)
    assert code == 0, out
