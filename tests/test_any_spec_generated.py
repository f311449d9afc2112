"""Any spec that validates builds, and every number the key prints is right and has a name
(issue 21), as a property over the whole documented grammar (tests/specgen.py draws it).

Each drawn spec is built with the real command line (`nnreport build`: both PDFs; for every
fourth spec the HTML pages too) and:

- the exit code is 0; a spec refused with a located error (exit 2) or a documented compute
  stop (exit 5: training diverged, Adam/RMSprop eps 0 on an entry without gradient) is
  allowed but counted, and at most a fifth may be refused (else the strategy is wrong);
- every line of the key that prints a number has a canonical JSON name, and its result, every
  given value and every rounded-chain row is the JSON value correctly rounded
  (tests/keycheck.py);
- every row of the key and the question sheet has balanced braces, \\left/\\right and
  environments;
- no float noise on an exact value: where docs/spec.md promises exact arithmetic, the JSON
  value is the float nearest to the exact value that tests/exactref.py computes in fractions
  on its own (so an exact -13.8 is printed -13.8, never -13.80).

Examples: 46 in the default run, the same every time (about a minute on 2 cores); 800 fresh
ones with --runslow.
Every failure found becomes a regular test in tests/test_any_spec.py."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from html import unescape
from pathlib import Path
from typing import Any

import exactref
import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from keycheck import check_given, check_key, delimiter_problems, problems_of
from specgen import document

from nnreport.compile import tex_available

pytestmark = pytest.mark.skipif(not tex_available(), reason="TeX not installed")

FAST = {"network": 22, "expression": 24}  # examples in the default run (~60 s on 2 cores)
SLOW = {"network": 400, "expression": 400}
ALLOWED_STOPS = ("training diverged", "divides by zero")


def build(spec: dict[str, Any], html: bool) -> tuple[subprocess.CompletedProcess, Path, Path]:
    folder = Path(tempfile.mkdtemp(prefix="anyspec-"))
    path = folder / "s.yaml"
    path.write_text(json.dumps(spec, indent=1))
    formats = ["--format", "pdf", "--format", "html"] if html else []
    r = subprocess.run([sys.executable, "-m", "nnreport", "build", str(path), "-o",
                        str(folder / "out"), *formats], capture_output=True, text=True,
                       timeout=900)
    return r, path, folder / "out" / "s"


def exact_problems(spec: dict[str, Any], answers: dict[str, Any]) -> int:
    """The JSON value of everything exactly computable is the float nearest to it."""
    n = 0
    for p in spec["problems"]:
        want = answers["problems"][p["id"]]
        layout = spec.get("layout", "rows")
        ref = exactref.network(p, layout) if "network" in p else exactref.expression(p)
        cols = "network" in p and p.get("layout", layout) == "columns"
        for name, e in ref.items():
            if name not in want:
                continue
            got_a = np.asarray(want[name], dtype=float)
            exact = [exactref.nearest(x) for x in e] if isinstance(e, list) else exactref.nearest(e)
            exact_a = np.asarray(exact, dtype=float)
            if cols and exact_a.ndim >= 2:  # the JSON is in the problem's layout
                exact_a = np.swapaxes(exact_a, -1, -2)
            exact_a = exact_a.reshape(got_a.shape)
            assert np.array_equal(got_a, exact_a), (
                f"{p['id']}.{name}: JSON {got_a.ravel()[:6]} but exactly {exact_a.ravel()[:6]}")
            n += got_a.size
    return n


def one(spec: dict[str, Any], html: bool, stats: Counter) -> None:
    r, path, out = build(spec, html)
    try:
        checked(spec, html, stats, r, path, out)
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


def checked(spec: dict[str, Any], html: bool, stats: Counter, r: subprocess.CompletedProcess,
            path: Path, out: Path) -> None:
    stats["specs"] += 1
    assert "Traceback" not in r.stderr, r.stderr[-3000:]
    if r.returncode == 2:
        assert re.search(rf"{re.escape(str(path))}:\d+:\d+: ", r.stderr), r.stderr
        stats["refused (exit 2)"] += 1
        return
    if r.returncode == 5 and any(s in r.stderr for s in ALLOWED_STOPS):
        stats["stopped (exit 5)"] += 1
        return
    assert r.returncode == 0, f"exit {r.returncode}\n{r.stderr[-3000:]}\n{json.dumps(spec)}"
    key = (out / "s-key.tex").read_text()
    answers = json.loads((out / "answers.json").read_text())
    stats["entries checked"] += check_key(key, spec, answers)
    questions = problems_of((out / "s-questions.tex").read_text())
    for p in spec["problems"]:  # the question sheet gives the same numbers
        stats["entries checked"] += check_given(questions[p["id"]], p, p.get(
            "digits", spec.get("digits", 4)), spec.get("layout", "rows"))
    for kind in ("key", "questions"):
        bad = delimiter_problems((out / f"s-{kind}.tex").read_text())
        assert not bad, f"{kind}: unbalanced {bad[0]}"
    stats["exact entries"] += exact_problems(spec, answers)
    if html:  # the page's math, read back from KaTeX's TeX annotations
        for kind in ("key", "questions"):
            page = (out / f"s-{kind}.html").read_text()
            assert "katex-error" not in page and page.count('class="katex"') > 0
            formulas = [unescape(f) for f in re.findall(
                r'<annotation encoding="application/x-tex">(.*?)</annotation>', page, re.S)]
            bad = [f for f in formulas if delimiter_problems(rf"\begin{{gather*}}{f}\end{{gather*}}")]
            assert not bad, f"{kind}.html: unbalanced {bad[0][:200]}"
        stats["html"] += 1
    stats["built"] += 1


def run_property(kind: str, examples: int, fixed: bool) -> Counter:
    """`fixed`: the same examples every run (the default run); else fresh ones each time."""
    stats: Counter = Counter()

    # the default run reports its failing example as drawn: shrinking a build-per-example
    # property took over five minutes; --runslow shrinks
    phases = (Phase.explicit, Phase.generate) if fixed else tuple(Phase)
    @settings(max_examples=examples, deadline=None, database=None, derandomize=fixed,
              suppress_health_check=list(HealthCheck), phases=phases)
    @given(document(kind), st.integers(0, 3))
    def prop(spec: dict[str, Any], k: int) -> None:
        one(spec, html=k == 0, stats=stats)

    prop()
    refused = stats["refused (exit 2)"] + stats["stopped (exit 5)"]
    assert refused <= stats["specs"] // 5, f"too many refusals, the strategy is wrong: {stats}"
    return stats


@pytest.mark.parametrize("kind", ["network", "expression"])
def test_any_generated_spec_builds_and_its_key_is_right(kind):
    stats = run_property(kind, FAST[kind], fixed=True)
    print(kind, dict(stats))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["network", "expression"])
def test_many_generated_specs_build_and_their_keys_are_right(kind):
    stats = run_property(kind, SLOW[kind], fixed=False)
    print(kind, dict(stats))
