from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true",
                     help="also run tests marked slow (peak memory at every budget's edge)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)

ROOT = Path(__file__).resolve().parents[1]
PROBLEMS = ROOT / "problems"


@pytest.fixture
def write_spec(tmp_path):
    """Write YAML text to a spec file in a fresh folder and return its path."""

    def write(text: str, name: str = "spec.yaml") -> Path:
        p = tmp_path / name
        p.write_text(text, encoding="utf-8")
        return p

    return write

def solve_json(tmp_path: Path, text: str) -> tuple[dict[str, Any], Path]:
    """`nnreport solve --json` on a spec written from `text`: the first problem's values and
    the spec's path."""
    spec = tmp_path / "s.yaml"
    spec.write_text(text)
    r = subprocess.run([sys.executable, "-m", "nnreport", "solve", str(spec), "--json"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return next(iter(json.loads(r.stdout)["problems"].values())), spec


def interactive() -> None:
    """preexec_fn: Ctrl-C as at a terminal. A shell starts background jobs (CI launched with
    `&`, some tool runners) with SIGINT ignored, and Python then installs no KeyboardInterrupt
    handler; the tests send SIGINT on purpose, so the child gets the default disposition."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
