"""Peak memory of accepted specs sitting just under each default budget stays under 2 GB.

Each case runs the CLI in a child process under RLIMIT_AS = 4 GB (so a regression fails
instead of eating the machine) and reads the child's own peak RSS: VmHWM from /proc, since
ru_maxrss after fork + exec starts from the parent's (pytest's) peak. The sizes are
chosen from the budgets' definitions so that each spec is accepted but close to the edge.
Most take tens of seconds: they are marked slow (run them with --runslow); the quickest
always runs. Measured numbers are in the lead's report and docs/spec.md's budget table.
"""

from __future__ import annotations

import random
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from nnreport.budgets import Budgets

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="Linux /proc")

B = Budgets()
LIMIT_MB = 2048
WRAPPER = """
import atexit, runpy, sys
def peak():
    kb = [line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM")]
    sys.stderr.write("MAXRSS %s\\n" % kb[0])
atexit.register(peak)
sys.argv = ["nnreport"] + sys.argv[1:]
runpy.run_module("nnreport", run_name="__main__")
"""
HEAD = "title: Edge\nproblems:\n  - id: p\n"


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


def peak_mb(folder: Path, *args: str) -> tuple[int, float, str]:
    r = subprocess.run([sys.executable, "-c", WRAPPER, *args], cwd=folder, capture_output=True,
                       text=True, timeout=900, preexec_fn=_limit)
    lines = [x for x in r.stderr.splitlines() if x.startswith("MAXRSS ")]
    assert lines, r.stderr
    return r.returncode, int(lines[-1].split()[1]) / 1024, r.stderr


def _csv(folder: Path) -> str:
    """Two features and a label, just under data_bytes and data_entries."""
    rs = random.Random(0)
    lines, size = ["x1,x2,label"], 12
    while size < B.data_bytes - 40:
        line = f"{rs.random():.4f},{rs.random():.4f},{len(lines) % 2}"
        lines.append(line)
        size += len(line) + 1
    rows = len(lines) - 1
    assert rows * 3 <= B.data_entries
    (folder / "big.csv").write_text("\n".join(lines) + "\n")
    return (HEAD + "    data: {csv: big.csv, target: label}\n"
            "    network: {layers: [{units: 1, activation: sigmoid}]}\n    loss: bce\n")


def _nodes(folder: Path) -> str:
    n = B.yaml_nodes - 100  # the list's values, and the few around them
    text = HEAD + "    given:\n      a: [" + ", ".join(["1.5"] * n) + "]\n    compute: [{b: sum(a)}]\n"
    assert len(text) < B.spec_bytes
    return text


def _classification(folder: Path) -> str:
    # 833,333 samples x (4 features + 1 label) = 4,166,665 data entries; the network's values
    # 833,333 x (4 + 1) under data_entries; answers: 3 x 833,333 x 1 + per-sample 833,333 x 5
    # + 833,333 x 2 + ... just under answer_entries
    return (HEAD + "    data: {generate: classification, n_samples: 833333, n_features: 4, seed: 0}\n"
            "    network: {layers: [{units: 1, activation: sigmoid}]}\n    loss: bce\n")


def _answers(folder: Path) -> str:
    # a 990 x 1000 by 1000 x 1000 product (9.9e8 multiply-adds) and 9 results of 1e6 entries
    # (9e6 more): 9.99e8 multiply-adds, 9,990,000 numbers in the answers
    steps = "\n".join(f"      - b{i}: a * {i}.37" for i in range(9))
    return (HEAD + "    given: {a: {fill: 1.1234567, shape: [1000, 1000]}, "
            "c: {fill: 0.5, shape: [990, 1000]}}\n    compute:\n"
            "      - m: c @ a\n" + steps + "\n")


def _wide(folder: Path) -> str:
    # a 4000-unit layer: the diagram collapses it, the decision boundary is drawn in chunks
    return (HEAD + "    data: {generate: moons, n_samples: 200, noise: 0.1, seed: 0}\n"
            "    network: {layers: [{units: 4000, activation: tanh}, {units: 1}]}\n"
            "    loss: bce\n    train: {epochs: 5}\n")


def _steps(folder: Path) -> str:
    return (HEAD + "    data: {X: [[1, 2], [3, 4], [5, 6]], Y: [0, 1, 1]}\n"
            "    network: {layers: [{units: 3}, {units: 1}]}\n    loss: bce\n"
            f"    train: {{epochs: {B.train_steps}}}\n")


def _per_sample(folder: Path) -> str:
    # 1000 samples x 4,201 parameters = 4.2 million per-sample numbers, under half of answers
    return (HEAD + "    data: {generate: random, n_samples: 1000, n_features: 40, seed: 0}\n"
            "    network: {layers: [{units: 100, activation: relu}, {units: 1, activation: sigmoid}]}\n"
            "    loss: bce\n")


slow = pytest.mark.slow
CASES = [
    pytest.param(_wide, id="wide-network", marks=slow),
    pytest.param(_per_sample, id="per-sample-gradients"),
    pytest.param(_nodes, id="yaml_nodes", marks=slow),
    pytest.param(_classification, id="data_entries-generated", marks=slow),
    pytest.param(_csv, id="data_bytes-csv", marks=slow),
    pytest.param(_answers, id="answer_entries-compute_flops", marks=slow),
    pytest.param(_steps, id="train_steps", marks=slow),
]


@pytest.mark.parametrize("make", CASES)
def test_peak_memory_at_the_budgets_edge(tmp_path, make):
    (tmp_path / "edge.yaml").write_text(make(tmp_path))
    for args in (["solve", "edge.yaml", "--json"], ["build", "edge.yaml", "--no-pdf", "-o", "out"]):
        code, mb, err = peak_mb(tmp_path, *args)
        print(f"{make.__name__} {args[0]}: {mb:.0f} MB")
        assert code == 0, err  # accepted: it sits under every budget
        assert mb < LIMIT_MB, f"{args[0]}: {mb:.0f} MB"
