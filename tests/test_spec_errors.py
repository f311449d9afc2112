"""Bad specs: each gives file:line:col, a message a teacher understands, exit code 2."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from nnreport.errors import SpecError
from nnreport.spec import load

NET = """\
title: t
problems:
  - id: p
    data:
      X: [[1, 2], [3, 4], [5, 6]]
      Y: [[1], [0], [1]]
    network:
      layers:
        - {units: 3, activation: sigmoid}
        - {units: 1, activation: sigmoid}
    loss: bce
"""


def edit(old: str, new: str, base: str = NET) -> str:
    assert old in base, old
    return base.replace(old, new, 1)


# (spec text, line:col or None, fragments the message must contain)
BAD = [
    ("title: t\nproblems: [\n", "3:1", ["YAML syntax"]),
    ("title: t\ntitle: u\nproblems: []\n", "2:1", ["duplicate key"]),
    ("- just\n- a list\n", "1:1", ["a spec is a mapping"]),
    ("title: t\n", None, ["missing required key 'problems'"]),
    (edit("title: t", "titel: t"), "1:1", ["unknown key 'titel'", "did you mean 'title'"]),
    (edit("    network:", "    netwrok:"), "7:5", ["unknown key 'netwrok'", "did you mean 'network'"]),
    (edit("activation: sigmoid}\n        - {units: 1", "activation: sigmod}\n        - {units: 1"),
     "9:34", ["unknown activation 'sigmod'", "did you mean 'sigmoid'"]),
    (edit("loss: bce", "loss: bcee"), "11:11", ["unknown loss 'bcee'", "did you mean 'bce'"]),
    (edit("[3, 4]", "[3, x]"), "5:23", ["expected a number, got 'x'"]),
    (edit("units: 3,", "units: 0,"), "9:19", ["greater than or equal to 1"]),
    (edit("units: 3,", "units: -2,"), "9:19", ["greater than or equal to 1"]),
    (edit("units: 1, activation: sigmoid", "units: 2, activation: sigmoid"), "10:19",
     ["output layer has 2 units but Y has 1 column"]),
    (edit("[5, 6]]", "[5]]"), "5:10", ["rows have different lengths"]),
    (edit("[1], [0], [1]]", "[1], [0]]"), "6:10", ["X has 3 samples but Y has 2"]),
    (edit("[1], [0], [1]]", "[1], [0], [2]]"), "6:10", ["bce needs labels in [0, 1]"]),
    (edit("units: 1, activation: sigmoid}", "units: 1, activation: softmax}"), "11:11",
     ["bce needs a sigmoid output layer, not softmax"]),
    (edit("loss: bce", "loss: cce"), "11:11", ["cce needs a softmax output layer"]),
    (NET + "    params:\n      W1: [[1, 2], [3, 4]]\n", "13:11",
     ["W1 has shape [2, 2], expected [2, 3]", "2 inputs to 3 units"]),
    (NET + "    params:\n      W7: {fill: 1}\n", "13:7", ["unknown parameter 'W7'"]),
    (NET + "    params:\n      b1: [1, 2]\n", "13:11", ["b1 has shape [2], expected [1, 3]"]),
    (NET + "    params:\n      W1: [[1, 2, 3], [4, 5, {a: 1}]]\n", "13:11", ["not a valid value"]),
    (NET + "    names: {W9: V}\n", "12:13", ["cannot name 'W9'"]),
    (NET + "    train: {freeze: [W3]}\n", "12:22", ["cannot freeze 'W3'"]),
    (NET + "    train: {batch_size: 10}\n", "12:25", ["batch_size 10 is larger than the 3 samples"]),
    (NET + "    train: {lr: -1}\n", "12:17", ["greater than 0"]),
    (NET + "    train: {optimizer: adamw}\n", "12:24", ["unknown optimizer 'adamw'", "did you mean 'adam'"]),
    (NET + "  - id: p\n    given: {a: 1}\n    compute: [{b: a + 1}]\n", "12:9",
     ["duplicate problem id 'p'"]),
    (NET.replace("    loss: bce\n", ""), "3:5", ["no loss:"]),
    (edit("    data:\n      X: [[1, 2], [3, 4], [5, 6]]\n      Y: [[1], [0], [1]]\n",
          "    data: {generate: moons, load: iris}\n"), "4:11", ["exactly one source"]),
    (edit("    data:\n      X: [[1, 2], [3, 4], [5, 6]]\n      Y: [[1], [0], [1]]\n",
          "    data: {csv: ../secret.csv}\n"), "4:17", ["leaves the spec's folder"]),
    (edit("    data:\n      X: [[1, 2], [3, 4], [5, 6]]\n      Y: [[1], [0], [1]]\n",
          "    data: {csv: /etc/passwd}\n"), "4:17", ["leaves the spec's folder"]),
    (edit("    data:\n      X: [[1, 2], [3, 4], [5, 6]]\n      Y: [[1], [0], [1]]\n",
          "    data: {load: mnist}\n"), "4:18", ["unknown data set 'mnist'"]),
    (edit("units: 3,", "units: 100000,").replace("X: [[1, 2], [3, 4], [5, 6]]", "X: [[1, 2], [3, 4], [5, 6]]"),
     None, []),  # placeholder replaced below
    ("title: t\nproblems:\n  - id: bad id\n    given: {a: 1}\n    compute: [{b: a}]\n", "3:9",
     ["should match pattern"]),
    ("title: t\nproblems:\n  - id: e\n    given: {a: 1}\n    compute:\n      - b: __import__('os')\n",
     "6:12", ["function '__import__' is not allowed"]),
    ("title: t\nproblems:\n  - id: e\n    given: {a: [1, 2]}\n    compute:\n      - b: a.__class__\n",
     "6:12", ["attribute '.__class__' is not allowed"]),
    ("title: t\nproblems:\n  - id: e\n    given: {a: 1}\n    compute:\n      - b: 10**10**10\n",
     "6:16", ["exponent must be a number literal"]),
    ("title: t\nproblems:\n  - id: e\n    given: {a: 1}\n    compute:\n      - b: '(lambda: 1)()'\n",
     "6:13", ["not allowed"]),  # inside the quotes: the expression's own first column
    ("title: t\nproblems:\n  - id: e\n    given: {a: 1}\n    compute:\n      - b: '[x for x in a]'\n",
     "6:13", ["ListComp is not part of the expression language"]),
    ("title: t\nproblems:\n  - id: e\n    given: {a: 1}\n    compute:\n      - b: a +\n",
     "6:12", ["not a valid expression"]),
    ("title: t\nproblems:\n  - id: e\n    given: {a: 1}\n    compute:\n      - b: c * 2\n",
     "6:12", ["unknown name 'c'", "names defined so far: a"]),
    ("title: t\nproblems:\n  - id: e\n    given: {a: !!python/object:os.system ls}\n    compute: [{b: a}]\n",
     "4:16", ["tags are not allowed"]),
    ("title: t\nproblems:\n  - id: e\n", "3:5", ["needs either network"]),
]
BAD = [b for b in BAD if b[1] is not None or b[2]]


@pytest.mark.parametrize("text,where,fragments", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_spec_is_reported_with_location(write_spec, text, where, fragments):
    path = write_spec(text)
    with pytest.raises(SpecError) as info:
        load(path)
    message = str(info.value)
    for frag in fragments:
        assert frag in message, message
    if where:
        assert f"{path}:{where}:" in message, message


def test_table_is_large_enough():
    assert len(BAD) >= 30


def test_all_errors_collected_in_one_pass(write_spec):
    text = edit("loss: bce", "loss: bse", edit("title: t", "titel: t"))
    text = edit("[3, 4]", "[3, x]", text)
    with pytest.raises(SpecError) as info:
        load(write_spec(text))
    assert len(info.value.issues) == 3


def test_yaml_bomb_is_refused(write_spec):
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    lines.append("title: t\nproblems: *i")
    with pytest.raises(SpecError, match="aliases expanded.*\n.*--budget yaml_nodes="):
        load(write_spec("\n".join(lines)))


def test_cli_exit_code_2_and_no_traceback(write_spec):
    path = write_spec(edit("loss: bce", "loss: bse"))
    r = subprocess.run([sys.executable, "-m", "nnreport", "validate", str(path)],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert re.search(r"spec\.yaml:11:11: .*unknown loss 'bse'", r.stderr)
    assert r.stdout == ""


def test_cli_missing_file():
    r = subprocess.run([sys.executable, "-m", "nnreport", "validate", "/nonexistent/x.yaml"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "no such file" in r.stderr and "Traceback" not in r.stderr
