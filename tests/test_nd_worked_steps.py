"""`worked_steps: 2` with configured layers (issues 25, 26): the later step is worked in full
like the first, from the parameters step 1 left. A conv network's and an rnn's builds crashed
(a 4-D image and kernel, a 3-D sequence reached the matrix printer in the step's given
values); now step 2's X and starting kernel print as maps (X per sample for a sequence), and
its values are an independent reference's: two SGD steps with tests/ndref.py's loops and
central differences (nothing of nnreport's), read back from the key's "Step 2" section and
from answers.json's steps[1]; `check` marks the reference's step-2 values right."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from fdiff import central
from ndref import batch_loss, forward

from nnreport.cli import cli

ROOT = Path(__file__).resolve().parent.parent


def _problem(name: str, i: int) -> dict:
    p = yaml.safe_load((ROOT / "problems" / name).read_text())["problems"][i]
    p.pop("text", None)
    p["worked_steps"] = 2
    p["train"]["epochs"] = 2
    return p


def _reference(p: dict) -> tuple[dict[str, np.ndarray], np.ndarray, dict[str, np.ndarray]]:
    """The parameters after step 1, step 2's yhat and the parameters after step 2 (plain SGD
    on the batch)."""
    layers = p["network"]["layers"]
    X = np.array(p["data"]["X"], dtype=float)
    Y = np.array(p["data"]["Y"], dtype=float)
    P = {k: np.array(v, dtype=float) for k, v in p["params"].items()}
    L = len(layers)
    P[f"b{L}"] = P[f"b{L}"].reshape(1, -1)
    loss = p["loss"] if isinstance(p["loss"], str) else p["loss"]["name"]
    def step(P: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        g = {k: central(lambda: batch_loss(layers, P, X, Y, loss), a) for k, a in P.items()}
        return {k: P[k] - p["train"]["lr"] * g[k] for k in P}
    P1 = step(P)
    yhat2 = forward(layers, P1, X)[f"H{L}"]
    return P1, yhat2, step({k: v.copy() for k, v in P1.items()})


def _build(tmp: Path, p: dict, ask: list[str]) -> tuple[str, dict, Path, str]:
    p = dict(p, ask=ask)
    spec = tmp / "s.yaml"
    text = yaml.safe_dump({"title": "Steps", "problems": [p]}, sort_keys=False)
    spec.write_text(text)
    r = CliRunner().invoke(cli, ["build", str(spec), "-o", str(tmp / "out")])
    assert r.exit_code == 0, (r.stdout, r.stderr, r.exception)
    folder = tmp / "out" / "s"
    return (folder / "s-key.tex").read_text(), json.loads(
        (folder / "answers.json").read_text())["problems"][p["id"]], folder, text


@pytest.mark.parametrize("name,i,last", [("cnn_exam.yaml", 0, "W4"),
                                         ("sequences_exam.yaml", 0, "W2")])
def test_second_step_from_the_first_steps_parameters(tmp_path, name, i, last):
    p = _problem(name, i)
    P1, yhat2, P2 = _reference(p)
    ask = ["yhat", "steps[1].yhat", f"steps[1].{last}_new"]
    tex, ans, folder, text = _build(tmp_path, p, ask)
    step2 = tex.split(r"\subsection*{Step 2}")[1]
    assert "Step 2 (epoch 2) works sample 1, from the parameters after step 1" in step2
    # the step's given data and starting parameters print (maps or matrices), no crash
    first = P1["W1"] if "W1" in P1 else P1["Wx1"]
    np.testing.assert_allclose(ans["steps"][1]["yhat"], yhat2, rtol=1e-6)
    np.testing.assert_allclose(np.ravel(ans["steps"][1][f"{last}_new"]), P2[last].ravel(),
                               rtol=1e-6)
    line = re.search(r"\\hat\{Y\} &= .* = (-?[\d.]+) \\tag", step2)
    assert line and float(line.group(1)) == float(f"{yhat2.item():.4g}")
    # step 2 starts from step 1's kernel (the first entry printed in its given maps)
    assert f"{first.ravel()[0]:.4g}".rstrip("0").rstrip(".") in step2.split("Forward pass")[0]
    sub = folder / "sub.json"
    sub.write_text(json.dumps({p["id"]: {"yhat": ans["yhat"],
                                         "steps[1].yhat": yhat2.tolist(),
                                         f"steps[1].{last}_new": P2[last].tolist()}}))
    spec = tmp_path / "s.yaml"
    r = CliRunner().invoke(cli, ["check", str(spec), str(sub)])
    assert "WRONG" not in r.stdout and "3 of 3 right" in r.stdout, r.stdout
