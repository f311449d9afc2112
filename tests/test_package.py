"""nnreport as a package: the wheel carries everything read at run time, installs into a fresh
venv, and builds a spec from a folder far from the checkout; `init` writes a starter that
builds; `--version` answers."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import PROBLEMS

import nnreport

ROOT = Path(__file__).resolve().parents[1]


def run(argv, cwd, timeout=600, env=None):
    r = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    return r


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    src = tmp_path_factory.mktemp("src")
    # build from a copy of the tracked files, as a fresh clone would (no egg-info, no output/)
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for f in filter(None, files):
        dst = src / f
        dst.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / f).is_file():
            dst.write_bytes((ROOT / f).read_bytes())
    r = run([sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(src)], src)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    (whl,) = out.glob("nnreport-*.whl")
    return whl


def test_the_wheel_carries_templates_and_the_starter(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    templates = {Path(n).name for n in names if n.startswith("nnreport/templates/")}
    assert templates == {p.name for p in (ROOT / "nnreport" / "templates").glob("*.j2")}
    assert "nnreport/starter/problem.yaml" in names
    for f in ("katex.min.js", "render.js", "katex.min.css", "LICENSE", "fonts/KaTeX_Main-Regular.woff2"):
        assert f"nnreport/vendor/katex/{f}" in names
    assert not any(n.startswith(("tests/", "problems/", "bench/")) for n in names)


def test_installed_wheel_builds_outside_the_checkout(wheel, tmp_path):
    venv = tmp_path / "venv"
    assert run([sys.executable, "-m", "venv", str(venv)], tmp_path).returncode == 0
    r = run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], tmp_path, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    work = tmp_path / "course"
    work.mkdir()
    (work / "exam2.yaml").write_text((PROBLEMS / "exam2.yaml").read_text())
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    exe = str(venv / "bin" / "nnreport")
    r = run([exe, "--version"], work, env=env)
    assert r.returncode == 0 and nnreport.__version__ in r.stdout
    # the installed copy, not the checkout, is what runs
    r = run([str(venv / "bin" / "python"), "-c", "import nnreport; print(nnreport.__file__)"],
            work, env=env)
    assert str(venv) in r.stdout and str(ROOT) not in r.stdout
    r = run([exe, "build", "exam2.yaml", "--format", "pdf", "--format", "html"], work, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    for kind in ("key", "questions"):
        assert (work / "output" / "exam2" / f"exam2-{kind}.pdf").stat().st_size > 10_000
        page = (work / "output" / "exam2" / f"exam2-{kind}.html").read_text()
        assert page.count('class="katex"') > 20 and "KaTeX_Main" in page
    r = run([exe, "init", "mine.yaml"], work, env=env)
    assert r.returncode == 0, r.stderr
    r = run([exe, "build", "mine.yaml", "-o", "out"], work, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (work / "out" / "mine" / "mine-key.pdf").is_file()


def test_init_writes_a_starter_that_builds_and_never_overwrites(tmp_path):
    exe = [sys.executable, "-m", "nnreport"]
    r = run(exe + ["init"], tmp_path)
    assert r.returncode == 0 and (tmp_path / "problem.yaml").is_file()
    text = (tmp_path / "problem.yaml").read_text()
    assert text.count("\n#") + text.count("  #") > 10  # it is commented
    (tmp_path / "problem.yaml").write_text("mine")
    r = run(exe + ["init"], tmp_path)
    assert r.returncode == 6 and "exists" in r.stderr
    assert (tmp_path / "problem.yaml").read_text() == "mine"  # untouched
    for bad in ("../up.yaml", "a/b.yaml", "notes.txt", "-x.yaml", ".hidden.yaml"):
        r = run(exe + ["init", "--", bad], tmp_path)
        assert r.returncode == 2 and "Traceback" not in r.stderr, (bad, r.stderr)
    assert not (tmp_path.parent / "up.yaml").exists()
    r = run(exe + ["init", "--force"], tmp_path)
    assert r.returncode == 0
    # both problems of the starter solve; the network one has the asked values
    answers = nnreport.load(tmp_path / "problem.yaml").answers()
    assert set(answers["problems"]) == {"warmup", "net"}
    assert {"Z1", "H1", "yhat", "dW1"} <= set(answers["problems"]["net"])
    r = run(exe + ["build", "problem.yaml", "--key"], tmp_path)
    assert r.returncode == 0, r.stderr
