"""`nnreport code`: the standalone NumPy script of a network problem, run as a separate
program, prints the same loss history and final loss as `solve --json` (to 1e-10), for every
shipped network problem and for problems that use every optimiser, loss, reduction, factor,
L2, shuffling, frozen parameters and both layouts."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import PROBLEMS

CASES = [("exam2", "p2"), ("exam2", "p3"), ("moons", None), ("three_layer", None),
         ("assignment01", None), ("problemset3", None)]

VARIED = """title: code
layout: {layout}
problems:
  - id: v
    data: {{generate: {gen}, n_samples: 40, noise: 0.1, seed: 4{extra_data}}}
    network:
      layers: [{{units: 5, activation: {hidden}, alpha: 0.05}}, {{units: {out}, activation: {last}}}]
      init: {{method: {init}, seed: 9, scale: 0.3}}
    loss: {loss}
    regularization: {{l2: {l2}}}
    train: {{optimizer: {opt}, lr: 0.05, epochs: 25, batch_size: 16{shuffle}{freeze}}}
"""


def run_both(spec, problem=None):
    argv = [sys.executable, "-m", "nnreport"]
    pick = ["--problem", problem] if problem else []
    r = subprocess.run(argv + ["code", str(spec), *pick], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "nnreport" not in r.stdout.split('"""', 2)[2].replace("nnreport's", "")  # standalone
    run = subprocess.run([sys.executable, "-c", r.stdout], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.splitlines()
    history = [float(x.split()[-1]) for x in lines if x.startswith("epoch")]
    final = float(next(x for x in lines if x.startswith("final")).split()[-1])
    j = subprocess.run(argv + ["solve", str(spec), "--json"], capture_output=True, text=True)
    values = json.loads(j.stdout)["problems"]
    v = values[problem] if problem else next(x for x in values.values() if "loss_history" in x)
    return history, final, v


@pytest.mark.parametrize("name,problem", CASES)
def test_shipped_problem_scripts_reproduce_the_loss_history(name, problem):
    history, final, v = run_both(PROBLEMS / f"{name}.yaml", problem)
    assert len(history) == len(v["loss_history"])
    assert np.allclose(history, v["loss_history"], rtol=0, atol=1e-10)
    assert final == pytest.approx(v["loss_final"], abs=1e-10)


@pytest.mark.parametrize("opt,loss,last,out,gen,layout,extra", [
    ("sgd", "bce", "sigmoid", 1, "moons", "rows", {}),
    ("momentum", "{name: bce, eps: 1e-7, reduction: sum}", "sigmoid", 1, "circles", "columns", {}),
    ("rmsprop", "cce", "softmax", 3, "blobs", "rows", {"shuffle": True}),
    ("adam", "{name: cce, eps: 1e-9, factor: 0.5}", "softmax", 3, "blobs", "columns", {"l2": 0.2}),
    ("adam", "mse", "linear", 2, "moons", "rows", {"one_hot": True, "freeze": True, "init": "he"}),
    ("sgd", "sse", "tanh", 1, "moons", "columns", {"hidden": "leaky_relu", "init": "uniform"}),
])
def test_varied_problem_scripts_reproduce_the_loss_history(tmp_path, opt, loss, last, out, gen,
                                                          layout, extra):
    spec = tmp_path / "v.yaml"
    spec.write_text(VARIED.format(
        layout=layout, gen=gen, extra_data=", one_hot: true" if extra.get("one_hot") else "",
        hidden=extra.get("hidden", "relu"), out=out, last=last, init=extra.get("init", "xavier"),
        loss=loss, l2=extra.get("l2", 0), opt=opt,
        shuffle=", shuffle: {seed: 3}" if extra.get("shuffle") else "",
        freeze=", freeze: [b1]" if extra.get("freeze") else ""))
    history, final, v = run_both(spec)
    assert len(history) == 25
    assert np.allclose(history, v["loss_history"], rtol=0, atol=1e-10)
    assert final == pytest.approx(v["loss_final"], abs=1e-10)
