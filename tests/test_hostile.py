"""Hostile specs: TeX reads no file outside its build folder, runs no command, cannot hang;
an interrupted build changes nothing; expressions cannot escape or blow up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from conftest import interactive

from nnreport.errors import SpecError
from nnreport.spec import loads


def run(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "nnreport", *args], capture_output=True,
                          text=True, timeout=timeout)


def spec_with_text(tmp_path: Path, text: str, name="h.yaml") -> Path:
    p = tmp_path / name
    p.write_text("title: T\nproblems:\n  - id: evil\n    text: '" + text.replace("'", "''")
                 + "'\n    given: {a: 1}\n    compute: [{b: a + 1}]\n")
    return p


@pytest.fixture
def secret(tmp_path_factory):
    d = tmp_path_factory.mktemp("elsewhere")
    token = "SECRET" + uuid.uuid4().hex[:12].upper()
    f = d / "secret.tex"
    f.write_text(token + "\n")
    return f, token


def _all_output_text(folder: Path) -> str:
    chunks = []
    for pdf in folder.rglob("*.pdf"):
        chunks.append(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True,
                                     text=True).stdout)
    for tex in folder.rglob("*.tex"):
        chunks.append(tex.read_text())
    return "\n".join(chunks)


# (attack in a problem's text, the macro the spec error must name)
ATTACKS = [
    ("Leak: $\\input{SECRET}$", "\\input"),
    ("Leak: $\\include{SECRET}$", "\\include"),
    ("Leak: $\\newread\\r \\openin\\r=SECRET \\read\\r to\\x \\x$", "\\newread"),
    ("Leak: $\\csname input\\endcsname{SECRET}$", "\\csname"),
    ("Leak: $\\catcode`\\%=12 \\input{SECRET}$", "\\catcode"),
    ("Leak: $\\lowercase{\\input{SECRET}}$", "\\lowercase"),
    ("Leak: $\\immediate\\pdfobj stream file {SECRET}\\pdfrefobj\\pdflastobj$", "\\immediate"),
    ("Leak: $\\text{\\input{SECRET}}$", "\\input"),
]


def _tex_document(math: str) -> str:
    """A document with `math` passed to TeX as written: the layer under validation."""
    return ("\\documentclass{article}\n\\begin{document}\nLeak: $" + math
            + "$\n\\end{document}\n")


def _spec_refused(r: subprocess.CompletedProcess, macro: str) -> None:
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert "h.yaml:4:" in r.stderr and f"{macro} is not allowed in math" in r.stderr


@pytest.mark.parametrize("attack,macro", ATTACKS)
def test_prose_that_would_read_a_file_is_a_spec_error(tmp_path, secret, attack, macro):
    path, token = secret
    spec = spec_with_text(tmp_path, attack.replace("SECRET", str(path)))
    out = tmp_path / "out"
    r = run("build", str(spec), "-o", str(out))
    _spec_refused(r, macro)
    assert not out.exists() or token not in _all_output_text(out)


@pytest.mark.parametrize("attack,macro", ATTACKS)
def test_tex_itself_cannot_read_a_file_outside_its_folder(tmp_path, secret, attack, macro):
    """Defence in depth: the same math handed straight to the compile stage."""
    from nnreport.compile import compile_tex
    from nnreport.errors import CompileError

    path, token = secret
    math = attack.removeprefix("Leak: $").removesuffix("$").replace("SECRET", str(path))
    try:
        pdf = compile_tex(_tex_document(math), "attack", timeout=60).pdf
    except CompileError as e:
        assert token not in str(e)
        return
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True).stdout
    assert token.encode() not in pdf and token.encode() not in text


def test_relative_paths_reach_nothing_either(tmp_path, secret):
    path, token = secret
    rel = os.path.relpath(path, tmp_path)
    spec = spec_with_text(tmp_path, f"Leak: $\\input{{{rel}}}$")
    r = run("build", str(spec), "-o", str(tmp_path / "out"))
    _spec_refused(r, "\\input")
    assert token not in r.stderr


@pytest.mark.parametrize("cmd,macro", [("\\write18{touch MARK}", "\\write"),
                                       ("\\immediate\\write18{touch MARK}", "\\immediate"),
                                       ("\\directlua{os.execute('touch MARK')}", "\\directlua")])
def test_tex_runs_no_command(tmp_path, cmd, macro):
    from nnreport.compile import compile_tex
    from nnreport.errors import CompileError

    mark = tmp_path / f"pwned-{uuid.uuid4().hex}"
    spec = spec_with_text(tmp_path, f"Run: ${cmd.replace('MARK', str(mark))}$")
    _spec_refused(run("build", str(spec), "-o", str(tmp_path / "out")), macro)
    try:  # and TeX itself, given the command as written
        compile_tex(_tex_document(cmd.replace("MARK", str(mark))), "attack", timeout=60)
    except CompileError:
        pass
    time.sleep(0.2)
    assert not mark.exists()


def test_tex_cannot_write_outside_its_folder(tmp_path):
    from nnreport.compile import compile_tex
    from nnreport.errors import CompileError

    target = tmp_path / f"written-{uuid.uuid4().hex}.txt"
    math = (f"\\newwrite\\w \\immediate\\openout\\w={target} "
            "\\immediate\\write\\w{x} \\immediate\\closeout\\w")
    spec = spec_with_text(tmp_path, f"${math}$")
    _spec_refused(run("build", str(spec), "-o", str(tmp_path / "out")), "\\newwrite")
    try:
        compile_tex(_tex_document(math), "attack", timeout=60)
    except CompileError:
        pass
    assert not target.exists()


def test_infinite_macro_loop_is_refused_and_times_out_in_tex(tmp_path):
    from nnreport.compile import compile_tex
    from nnreport.errors import CompileError

    spec = spec_with_text(tmp_path, "Loop: $\\def\\x{\\x}\\x$")
    _spec_refused(run("build", str(spec), "-o", str(tmp_path / "out"), timeout=60), "\\def")
    with pytest.raises(CompileError, match="did not finish within 5 s"):
        compile_tex(_tex_document("\\def\\x{\\x}\\x"), "loop", timeout=5)


def test_exponential_macro_is_refused_and_a_tex_error(tmp_path):
    from nnreport.compile import compile_tex
    from nnreport.errors import CompileError

    spec = spec_with_text(tmp_path, "Boom: $\\def\\a{\\a\\a}\\a$")
    _spec_refused(run("build", str(spec), "-o", str(tmp_path / "out"), timeout=60), "\\def")
    with pytest.raises(CompileError):
        compile_tex(_tex_document("\\def\\a{\\a\\a}\\a"), "boom", timeout=20)


def test_latexmkrc_in_the_spec_folder_is_ignored(tmp_path):
    mark = tmp_path / f"rc-ran-{uuid.uuid4().hex}"
    (tmp_path / "latexmkrc").write_text(f'system("touch {mark}");\n')
    (tmp_path / ".latexmkrc").write_text(f'system("touch {mark}");\n')
    spec = spec_with_text(tmp_path, "Fine.")
    r = subprocess.run([sys.executable, "-m", "nnreport", "build", str(spec), "-o", "out"],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert not mark.exists()


def test_titles_are_escaped_not_executed(tmp_path, secret):
    path, token = secret
    p = tmp_path / "t.yaml"
    p.write_text(f"title: '\\input{{{path}}} $\\input{{{path}}}$'\ncourse: '\\def\\x{{\\x}}\\x'\n"
                 "problems:\n  - id: e\n    given: {a: 1}\n    compute: [{b: a}]\n")
    r = run("build", str(p), "-o", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    text = _all_output_text(tmp_path / "out")
    assert token not in text and "\\input{" + str(path) in text  # printed, not read


def test_interrupted_build_changes_nothing(tmp_path):
    spec = tmp_path / "slow.yaml"
    quick = """
title: T
problems:
  - id: p
    data: {generate: moons, n_samples: 200, noise: 0.2, seed: 1}
    network: {layers: [{units: 8, activation: tanh}, {units: 1, activation: sigmoid}]}
    loss: bce
    train: {lr: 0.1, epochs: EPOCHS}
    figures: []
"""
    spec.write_text(quick.replace("EPOCHS", "2"))
    out = tmp_path / "out"
    assert run("build", str(spec), "-o", str(out)).returncode == 0
    before = {p: p.read_bytes() for p in (out / "slow").rglob("*") if p.is_file()}
    spec.write_text(quick.replace("EPOCHS", "400000"))  # long enough to be interrupted
    proc = subprocess.Popen([sys.executable, "-m", "nnreport", "build", str(spec), "-o", str(out),
                             "--budget", "train_steps=1e6"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=interactive)
    time.sleep(3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted; nothing in" in err
    after = {p: p.read_bytes() for p in (out / "slow").rglob("*") if p.is_file()}
    assert after == before
    assert [p.name for p in out.iterdir()] == ["slow"]  # no staging folder left behind


@pytest.mark.parametrize("expr,fragment", [
    ("a.__class__.__mro__", "attribute"),
    ("__import__('os').system('true')", "not allowed"),
    ("open('/etc/passwd')", "not allowed"),
    ("(lambda: 1)()", "not allowed"),
    ("[x for x in a]", "ListComp"),
    ("10**10**10", "exponent"),
    ("a ** b", "exponent"),
    ("(" * 200 + "a" + ")" * 200, "too many brackets"),
    ("-" * 5000 + "a", "longer than"),
    ("sum(a, axis=0)", "positional"),
    ("a if a else a", "IfExp"),
    ("a[b]", "an index is a whole number"),  # indexing takes literals only (w[0])
    ("'text'", "only numbers"),
])
def test_expressions_cannot_escape(expr, fragment):
    text = f"title: t\nproblems:\n  - id: e\n    given: {{a: [1, 2], b: 2}}\n    compute:\n      - c: {expr!r}\n"
    with pytest.raises(SpecError) as info:
        loads(text.replace("{expr!r}", repr(expr)))
    assert fragment in str(info.value)


def test_huge_given_shape_is_refused():
    with pytest.raises(SpecError, match="--budget compute_entries="):
        loads("title: t\nproblems:\n  - id: e\n    given: {a: {fill: 1, shape: [100000, 100000]}}\n"
              "    compute: [{b: a}]\n")


def test_network_over_the_parameter_budget_is_refused():
    with pytest.raises(SpecError, match="--budget answer_entries="):
        loads("title: t\nproblems:\n  - id: n\n    data: {X: [[1, 2]], Y: [[1]]}\n"
              "    network: {layers: [{units: 100000}, {units: 100000}, {units: 1}]}\n    loss: bce\n")


def test_empty_data_is_refused():
    with pytest.raises(SpecError, match="empty"):
        loads("title: t\nproblems:\n  - id: n\n    data: {X: [], Y: []}\n"
              "    network: {layers: [{units: 1}]}\n    loss: bce\n")


def test_shape_mismatch_in_compute_names_both_operands():
    with pytest.raises(SpecError) as info:
        loads("title: t\nproblems:\n  - id: e\n    given: {X: [1, 2], W: [[1, 2, 3]]}\n"
              "    compute: [{y: X @ W}]\n")
    msg = str(info.value)
    assert "X @ W" in msg and "[2]" in msg and "[1, 3]" in msg and ":5:" in msg
