"""The no_ties constraint (issues 25, 26): versions whose worked batch has no max-pool window
with two maxima and no two equal attention scores in a row. Ties are found here by explicit
loops over answers.json's values, independently of nnreport's own rule."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys

import numpy as np

CONV = """title: Conv versions
problems:
  - id: conv
    data:
      X: {random: integers, low: 0, high: 3, shape: [1, 1, 4, 4]}
      Y: [[1]]
    network:
      layers:
        - {type: conv, filters: 1, kernel: 2, activation: relu}
        - {type: pool, kind: max, size: 2, stride: 1}
        - {type: flatten}
        - {units: 1, activation: sigmoid}
    params:
      W1: {random: choice, from: [-1, 0, 1], shape: [1, 1, 2, 2]}
      b1: [0]
      W4: [[0.5], [-1], [0.5], [1]]
      b4: [[0]]
    loss: bce
%s    train: {optimizer: sgd, lr: 0.5, epochs: 1}
    ask: [H1, H2]
"""

ATT = """title: Attention versions
problems:
  - id: att
    data:
      X: {random: integers, low: -1, high: 2, shape: [1, 3, 2]}
      Y: [[1]]
    network:
      layers:
        - {type: attention, d_k: 2, d_v: 2}
        - {type: flatten}
        - {units: 1, activation: linear}
    params:
      Wq1: {random: choice, from: [-1, 0, 1], shape: [2, 2]}
      Wk1: {random: choice, from: [-1, 0, 1], shape: [2, 2]}
      Wv1: [[1, 0], [0, 1]]
      W3: [[0.5], [-1], [0.5], [1], [0], [1]]
      b3: [[0]]
    loss: mse
%s    train: {optimizer: sgd, lr: 0.1, epochs: 1}
    ask: [S1, A1]
"""


def versions(tmp_path, text, name, constrained):
    tmp_path.mkdir(parents=True, exist_ok=True)
    spec = tmp_path / f"{name}.yaml"
    spec.write_text(text % ("    constraints: [no_ties]\n" if constrained
                            else ""))
    r = subprocess.run([sys.executable, "-m", "nnreport", "build", str(spec), "-o",
                        str(tmp_path / "o"), "--variants", "8", "--seed", "3", "--no-pdf"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return json.loads((tmp_path / "o" / name / "variants" / "answers.json").read_text())


def pool_ties(H1: list) -> int:
    """2 x 2 windows, stride 1, of each map with their maximum twice."""
    a = np.asarray(H1, dtype=float)
    n = 0
    for s, c in itertools.product(range(a.shape[0]), range(a.shape[1])):
        for i, j in itertools.product(range(a.shape[2] - 1), range(a.shape[3] - 1)):
            w = [a[s, c, i + p, j + q] for p in (0, 1) for q in (0, 1)]
            n += sum(x == max(w) for x in w) > 1
    return n


def score_ties(S: list) -> int:
    n = 0
    for row in np.asarray([[np.nan if x is None else x for x in r] for s in S for r in s]):
        vals = [x for x in row if np.isfinite(x)]
        n += any(abs(x - y) < 1e-9 for x, y in itertools.combinations(vals, 2))
    return n


def test_no_ties_in_max_pool_windows(tmp_path):
    free = versions(tmp_path / "a", CONV, "conv", False)
    assert sum(pool_ties(v["problems"]["conv"]["H1"]) for v in free.values()) > 0  # ties occur
    kept = versions(tmp_path / "b", CONV, "conv", True)
    assert len(kept) == 8
    assert all(pool_ties(v["problems"]["conv"]["H1"]) == 0 for v in kept.values())


def test_no_tied_attention_scores(tmp_path):
    free = versions(tmp_path / "a", ATT, "att", False)
    assert sum(score_ties(v["problems"]["att"]["S1"]) for v in free.values()) > 0
    kept = versions(tmp_path / "b", ATT, "att", True)
    assert len(kept) == 8
    assert all(score_ties(v["problems"]["att"]["S1"]) == 0 for v in kept.values())
