"""Benchmarks, printed as ratios (run: make bench). Not a test: numbers vary by machine.

1. `nnreport solve problems/exam2.yaml`: wall time of the command.
2. One epoch of a 784-128-10 network (seed 003's sizes), Adam, batch 128, 10,000 random
   samples: nnreport's engine against the same work written in the seeds' NumPy style.
3. `nnreport build problems/exam2.yaml` against latexmk on its own .tex files alone.
4. Per-student versions built in parallel.
0. Budgets: each shipped problem's estimated work against its budget and its real solve time,
   and the time and memory to reject a 5 MB YAML list (run alone: python bench/run.py budgets).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def timed(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def cli(*args):
    subprocess.run([sys.executable, "-m", "nnreport", *args], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)


def seeds_style_epoch(X, Y, seed=42, lr=0.01, batch=128):
    """The seeds' way: dict parameters, np.dot, a Python loop over batches, Adam as seed 003."""
    np.random.seed(seed)
    p = {"W1": np.random.randn(784, 128) * 0.01, "b1": np.zeros((1, 128)),
         "W2": np.random.randn(128, 10) * 0.01, "b2": np.zeros((1, 10))}
    v = {k: np.zeros_like(a) for k, a in p.items()}
    s = {k: np.zeros_like(a) for k, a in p.items()}
    t = 0
    for i in range(0, X.shape[0], batch):
        x, y = X[i:i + batch], Y[i:i + batch]
        m = x.shape[0]
        z1 = np.dot(x, p["W1"]) + p["b1"]
        a1 = np.maximum(0, z1)
        z2 = np.dot(a1, p["W2"]) + p["b2"]
        e = np.exp(z2 - z2.max(axis=1, keepdims=True))
        a2 = e / e.sum(axis=1, keepdims=True)
        dz2 = a2 - y
        g = {"W2": np.dot(a1.T, dz2) / m, "b2": dz2.sum(axis=0, keepdims=True) / m}
        dz1 = np.dot(dz2, p["W2"].T) * (z1 > 0)
        g["W1"] = np.dot(x.T, dz1) / m
        g["b1"] = dz1.sum(axis=0, keepdims=True) / m
        t += 1
        for k in p:
            v[k] = 0.9 * v[k] + 0.1 * g[k]
            s[k] = 0.999 * s[k] + 0.001 * g[k] ** 2
            vh, sh = v[k] / (1 - 0.9**t), s[k] / (1 - 0.999**t)
            p[k] = p[k] - lr * vh / (np.sqrt(sh) + 1e-8)
    return p


REJECT = """
import resource, sys, time
from nnreport.budgets import Budgets
from nnreport.errors import SpecError
from nnreport.spec import load
t0 = time.perf_counter()
try:
    load(sys.argv[1], budgets=Budgets(spec_bytes=10_000_000))
except SpecError as e:
    print(f"{time.perf_counter() - t0:.2f} s, peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB: "
          + str(e).splitlines()[0].split(": ", 1)[1])
"""


def budgets_section() -> None:
    print("== 0. budgets: estimated work (multiply-adds, Python overhead included) vs real ==")
    from nnreport.budgets import Budgets
    from nnreport.engine.solve import solve_problem
    from nnreport.spec import load
    from nnreport.spec.cost import network_cost
    from nnreport.spec.setups import NetworkSetup

    b = Budgets()
    for spec in sorted((ROOT / "problems").glob("*.yaml")):
        for s in load(spec).problems:
            t = timed(lambda s=s: solve_problem(s), repeat=3)
            extra = ""
            if isinstance(s, NetworkSetup):
                c = network_cost(s.units, s.X.shape[0], s.batch_size, s.epochs, b)
                extra = (f"train_work {c.train_work:.2g} ({c.train_work / b.train_work:.0e} of "
                         f"budget), steps {c.train_steps} ({c.train_steps / b.train_steps:.0e})")
            print(f"{spec.stem}/{s.id}: estimate {s.work:.3g} -> {t * 1e3:.1f} ms "
                  f"({s.work / max(t, 1e-9):.2g} a second)  {extra}")
    with tempfile.TemporaryDirectory() as d:
        big = Path(d) / "list.yaml"
        big.write_text("title: t\nproblems:\n  - id: p\n    given: {a: ["
                       + ", ".join(["1"] * 1_700_000) + "]}\n")
        r = subprocess.run([sys.executable, "-c", REJECT, str(big)], cwd=ROOT,
                           capture_output=True, text=True)
        print(f"reject a {big.stat().st_size / 1e6:.1f} MB YAML list (spec_bytes raised to 1e7): "
              f"{r.stdout.strip() or r.stderr.strip()[-300:]}")
    print()


def main() -> None:
    budgets_section()
    if sys.argv[1:] == ["budgets"]:
        return
    print("== 1. solve exam2 ==")
    t_solve = timed(lambda: cli("solve", "problems/exam2.yaml"))
    print(f"nnreport solve problems/exam2.yaml: {t_solve:.2f} s (wall, incl. interpreter start)")

    print("\n== 2. one epoch, 784-128-10, Adam, batch 128, 10,000 samples ==")
    from nnreport.engine.solve import solve_network
    from nnreport.spec.setups import NetworkSetup

    rs = np.random.RandomState(0)
    X = rs.rand(10_000, 784)
    Y = np.eye(10)[rs.randint(0, 10, 10_000)]
    init = np.random.RandomState(42)
    params = {"W1": init.randn(784, 128) * 0.01, "b1": np.zeros((1, 128)),
              "W2": init.randn(128, 10) * 0.01, "b2": np.zeros((1, 10))}
    setup = NetworkSetup(
        id="bench", title="", text="", layout="rows", digits=4, X=X, Y=Y, units=(784, 128, 10),
        activations=("relu", "softmax"), alphas=(0.01, 0.01), loss="cce", eps=None,
        reduction="mean", factor=1.0, l2=0.0, params=params,
        optimizer={"name": "adam", "beta": 0.9, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
        lr=0.01, epochs=1, batch_size=128, shuffle_seed=None, freeze=frozenset(), names={},
        show=(), figures=None, explicit=frozenset())
    ours = solve_network(setup)
    theirs = seeds_style_epoch(X, Y)
    diff = max(float(np.abs(ours.final_params[k] - theirs[k]).max()) for k in theirs)
    t_ours = timed(lambda: solve_network(setup))
    t_theirs = timed(lambda: seeds_style_epoch(X, Y))
    print(f"nnreport engine: {t_ours:.3f} s   seeds' NumPy style: {t_theirs:.3f} s   "
          f"ratio {t_ours / t_theirs:.2f}   (same final weights within {diff:.1e})")
    print("  (nnreport also computes the loss history and the worked step's forward/backward)")

    print("\n== 3. build exam2 (figures cached) against latexmk alone on its two .tex ==")
    if shutil.which("latexmk") is None:
        print("latexmk missing: skipped")
        return
    out = Path(tempfile.mkdtemp())
    cli("build", "problems/exam2.yaml", "-o", str(out))  # warm-up: figures and format cached
    texs = sorted((out / "exam2").glob("*.tex"))

    def latexmk_only():
        """The reference: latexmk on the same .tex files, one after the other, fresh dir."""
        with tempfile.TemporaryDirectory() as d:
            shutil.copytree(out / "exam2" / "figures", Path(d) / "figures")
            for tex in texs:
                shutil.copy(tex, d)
                subprocess.run(["latexmk", "-norc", "-pdf", "-silent", "-interaction=nonstopmode",
                                tex.name], cwd=d, check=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)

    # interleaved, so that both see the same machine load (2 shared cores are noisy)
    builds, alone = [], []
    for _ in range(5):
        builds.append(timed(lambda: cli("build", "problems/exam2.yaml", "-o", str(out)), repeat=1))
        alone.append(timed(latexmk_only, repeat=1))
    t_build, t_tex = statistics.median(builds), statistics.median(alone)
    print(f"nnreport build: {t_build:.2f} s   latexmk on its {len(texs)} .tex alone: {t_tex:.2f} s   "
          f"ratio {t_build / t_tex:.2f} (goal <= 0.8; the build includes Python start, solving, "
          "rendering, both PDFs side by side)")
    shutil.rmtree(out, ignore_errors=True)

    print("\n== 3b. reports and HTML (figures cached after a first build) ==")
    out = Path(tempfile.mkdtemp())
    for spec, fmt in (("problemset3", "pdf"), ("circles_widths", "pdf"), ("exam2", "html")):
        argv = ("build", f"problems/{spec}.yaml", "-o", str(out), "--format", fmt)
        cold = timed(lambda argv=argv: cli(*argv), repeat=1)
        warm = timed(lambda argv=argv: cli(*argv), repeat=1)
        print(f"nnreport build {spec} --format {fmt}: {cold:.2f} s first, {warm:.2f} s again "
              f"(ratio {warm / cold:.2f}; training and experiments run each time)")
    shutil.rmtree(out, ignore_errors=True)

    n = int(os.environ.get("BENCH_VERSIONS", "200"))
    print(f"\n== 4. {n} versions of problems/exam2_variants.yaml, --jobs 2 ==")
    import resource

    out = Path(tempfile.mkdtemp())
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "nnreport", "build", "problems/exam2_variants.yaml",
                        "--variants", str(n), "--seed", "2026", "--jobs", "2", "-o", str(out)],
                       cwd=ROOT, capture_output=True, text=True, check=True)
    t_all = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(r.stdout.strip().splitlines()[-1])
    print(f"the whole command, interpreter start to last file: {t_all:.1f} s = "
          f"{60 * n / t_all:.1f} versions per minute on {os.cpu_count()} cores (goal >= 90)")
    print(f"peak memory of any one process of the batch (parent, workers, TeX): {peak:.0f} MB"
          + ("" if before == 0 else " (an earlier section's child may set this)"))
    shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
