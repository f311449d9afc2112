"""The compile stage on its own, fed raw hostile LaTeX (as if the spec whitelist had a hole):
each layer of nnreport/compile/sandbox.py is tested by itself.

- names never reach a command line; TeX reads and writes nothing outside its folder by name;
- with bubblewrap, files outside the TeX installation are invisible even to pdfTeX's own
  primitives (\\pdfobj file, \\pdfximage), which ignore openin_any;
- a PDF that could act (JavaScript, launch) is refused;
- loops, page floods and file floods hit their budgets; OS limits sit on the TeX process;
- no TeX process survives nnreport, however nnreport ends."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest
from conftest import interactive

from nnreport.budgets import Budgets
from nnreport.compile import compile_tex, sandbox, tex_available
from nnreport.compile.pdfcheck import active_content
from nnreport.errors import CompileError

pytestmark = pytest.mark.skipif(not tex_available(), reason="TeX not installed")
HAS_BWRAP = sandbox.bwrap_works()



def doc(body: str) -> str:
    return "\\documentclass{article}\n\\begin{document}\nBody.\n" + body + "\n\\end{document}\n"


@pytest.fixture
def secret(tmp_path_factory):
    d = tmp_path_factory.mktemp("elsewhere")
    token = "SECRET" + uuid.uuid4().hex[:12].upper()
    f = d / "secret.txt"
    f.write_text(token + "\n")
    return f, token


@pytest.fixture(params=["bubblewrap", "fallback"])
def mode(request, monkeypatch):
    if request.param == "bubblewrap" and not HAS_BWRAP:
        pytest.skip("bubblewrap does not work on this machine")
    if request.param == "fallback":
        monkeypatch.setattr(sandbox, "bwrap_works", lambda: False)
    return request.param


def pdf_bytes_all(pdf: bytes) -> bytes:
    """Every stream of the PDF, decompressed, and its raw bytes: where a leak would be."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    chunks = [pdf]
    for num in range(1, len(reader.xref_objStm) + 2000):
        try:
            obj = reader.get_object(num)
        except Exception:  # noqa: BLE001 - not every number is an object
            continue
        data = getattr(obj, "get_data", None)
        if data is not None:
            try:
                chunks.append(data())
            except Exception:  # noqa: BLE001
                pass
    return b"\n".join(chunks)


def survivors(folder: Path) -> list[str]:
    """Processes working inside `folder` (where every TeX run of a test is placed)."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if cwd.startswith(str(folder)):
            out.append(pid + " " + Path(f"/proc/{pid}/comm").read_text().strip())
    return out


# --- names and commands -----------------------------------------------------------------

def test_a_document_name_never_reaches_a_command_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = f"-pdflatex=touch {tmp_path}/PWNED; false #"
    r = compile_tex(doc("Fine."), name, workdir=tmp_path)
    assert r.pdf.startswith(b"%PDF")
    assert not (tmp_path / "PWNED").exists() and not list(tmp_path.rglob("PWNED"))


@pytest.mark.parametrize("cmd", [r"\immediate\write18{touch MARK}", r"\write18{touch MARK}",
                                 r"\input{|touch MARK}"])
def test_tex_runs_no_command(tmp_path, mode, cmd):
    mark = tmp_path / f"pwned-{uuid.uuid4().hex}"
    try:
        compile_tex(doc(cmd.replace("MARK", str(mark))), "cmd", timeout=60, workdir=tmp_path)
    except CompileError:
        pass
    time.sleep(0.2)
    assert not mark.exists()


def test_tex_writes_nothing_outside_its_folder(tmp_path, mode):
    target = tmp_path / f"written-{uuid.uuid4().hex}.txt"
    try:
        compile_tex(doc(rf"\newwrite\w \immediate\openout\w={target} \immediate\write\w{{x}}"
                        r"\immediate\closeout\w"), "w", timeout=60, workdir=tmp_path / "w")
    except CompileError:
        pass
    assert not target.exists()


# --- reading files ------------------------------------------------------------------------

def test_input_of_an_outside_file_is_refused_in_both_modes(tmp_path, mode, secret):
    path, token = secret
    try:
        r = compile_tex(doc(rf"\input{{{path}}}"), "in", timeout=60, workdir=tmp_path)
        assert token.encode() not in pdf_bytes_all(r.pdf)
    except CompileError as e:
        assert token not in str(e) and token not in getattr(e, "log", "")


@pytest.mark.skipif(not HAS_BWRAP, reason="bubblewrap does not work on this machine")
@pytest.mark.parametrize("attack", [
    r"\immediate\pdfobj stream file {SECRET}\pdfrefobj\pdflastobj",
    r"\pdfximage{SECRET}",
    r"\IfFileExists{/etc/passwd}{PASSWD-VISIBLE}{}",
])
def test_pdftex_primitives_cannot_reach_outside_files_under_bubblewrap(tmp_path, secret, attack):
    path, token = secret
    try:
        r = compile_tex(doc(attack.replace("SECRET", str(path))), "obj", timeout=60,
                        workdir=tmp_path)
    except CompileError as e:  # \pdfximage of a missing file is a TeX error: fine
        assert token not in getattr(e, "log", "")
        return
    blob = pdf_bytes_all(r.pdf)
    assert token.encode() not in blob and b"PASSWD-VISIBLE" not in blob
    assert b"root:x:0:0" not in blob


@pytest.mark.skipif(not HAS_BWRAP, reason="bubblewrap does not work on this machine")
def test_bubblewrap_shows_only_the_tex_installation_and_the_build_folder(tmp_path, secret):
    path, token = secret
    work = tmp_path / "work"
    work.mkdir()
    script = f"cat {path}; ls /root /work /home 2>&1; cat /etc/passwd 2>&1; echo ok > inside.txt"
    out = sandbox.run(["sh", "-c", script], work, sandbox.Limits(20, 20, 10**6))
    text = out.output.decode()
    assert token not in text and "root:x:0:0" not in text
    assert (work / "inside.txt").read_text().strip() == "ok"  # the build folder is writable


# --- PDFs that act --------------------------------------------------------------------------

@pytest.mark.parametrize("attack,what", [
    (r"\pdfcatalog{/OpenAction << /S /JavaScript /JS (app.alert(1)) >>}", "JavaScript"),
    (r"\pdfannot width 1cm height 1cm depth 0pt {/Subtype /Link /A << /S /Launch /F (calc.exe) >>}",
     "Launch"),
    (r"\pdfannot width 1cm height 1cm depth 0pt {/Subtype /Link /A << /S /URI /URI (http://x) >>}",
     "URI"),
])
def test_a_pdf_that_would_act_is_refused(tmp_path, attack, what):
    with pytest.raises(CompileError, match=f"active content.*{what}"):
        compile_tex(doc(attack), "act", timeout=60, workdir=tmp_path)


def test_the_pdf_check_passes_a_plain_pdf_and_finds_hidden_actions():
    from pypdf import PdfWriter
    from pypdf.generic import DictionaryObject, NameObject, TextStringObject

    w = PdfWriter()
    w.add_blank_page(100, 100)
    clean = io.BytesIO()
    w.write(clean)
    assert active_content(clean.getvalue()) == []
    js = DictionaryObject({NameObject("/S"): NameObject("/JavaScript"),
                           NameObject("/JS"): TextStringObject("app.alert(1)")})
    w._root_object[NameObject("/OpenAction")] = w._add_object(js)
    bad = io.BytesIO()
    w.write(bad)
    found = active_content(bad.getvalue())
    assert "/OpenAction" in found and "/S /JavaScript" in found


# --- budgets and limits ---------------------------------------------------------------------

def test_a_loop_stops_at_the_timeout_and_leaves_no_process(tmp_path, mode):
    t0 = time.monotonic()
    with pytest.raises(CompileError, match="did not finish within 3 s") as info:
        compile_tex(doc(r"\def\x{\x}\x"), "loop", timeout=3, workdir=tmp_path)
    assert time.monotonic() - t0 < 8
    assert "tex_seconds" in str(info.value)
    assert survivors(tmp_path) == []


def test_the_default_timeout_is_scaled_to_the_document_not_two_minutes():
    from nnreport.compile.tex import default_seconds

    assert 20 <= default_seconds("x" * 30_000) <= 60       # an exam key: ~30 kB
    assert default_seconds("x" * 1_000_000) > default_seconds("x" * 30_000)


def test_a_page_flood_stops_at_the_pages_budget(tmp_path):
    with pytest.raises(CompileError, match="more than 40 pages") as info:
        compile_tex(doc(r"\def\x{\shipout\hbox{x}\x}\x"), "pages", timeout=60,
                    budgets=Budgets(pages=40), workdir=tmp_path)
    assert "--budget pages=N" in str(info.value)


def test_a_file_flood_stops_at_the_output_bytes_budget(tmp_path):
    flood = r"\def\x{\message{" + "x" * 200 + r"}\x}\x"
    with pytest.raises(CompileError, match="larger than 300,000 bytes") as info:
        compile_tex(doc(flood), "flood", timeout=60, budgets=Budgets(output_bytes=300_000),
                    workdir=tmp_path)
    assert "output_bytes" in str(info.value)
    assert all(f.stat().st_size <= 300_000 for f in tmp_path.rglob("*") if f.is_file())


def test_the_tex_process_carries_the_os_limits(tmp_path):
    """Read the limits from /proc of the running TeX: they hold even if nnreport dies."""
    work = tmp_path / "w"
    work.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        from pathlib import Path
        from nnreport.budgets import Budgets
        from nnreport.compile import compile_tex
        tex = Path({str(tmp_path / 'loop.tex')!r}).read_text()
        try:
            compile_tex(tex, "loop", timeout=20, budgets=Budgets(output_bytes=7_000_000),
                        workdir=Path({str(work)!r}))
        except Exception:
            pass
    """)])
    (tmp_path / "loop.tex").write_text(doc(r"\def\x{\x}\x"))
    try:
        limits = ""
        for _ in range(100):
            time.sleep(0.1)
            for pid in os.listdir("/proc"):
                if pid.isdigit() and Path(f"/proc/{pid}/comm").exists() and \
                        Path(f"/proc/{pid}/comm").read_text().strip() == "pdflatex":
                    try:
                        if os.readlink(f"/proc/{pid}/cwd").startswith(str(work)):
                            limits = Path(f"/proc/{pid}/limits").read_text()
                    except OSError:
                        continue
            if limits:
                break
        assert limits, "no pdflatex found"
        rows = {line[:26].strip(): line[26:].split() for line in limits.splitlines()[1:]}
        assert rows["Max file size"][0] == "7000000"
        assert int(rows["Max cpu time"][0]) <= 30
        assert int(rows["Max address space"][0]) <= 4 * 1024**3
    finally:
        proc.kill()
        proc.wait()


DRIVER = """
import sys
from pathlib import Path
from nnreport.compile import compile_tex
compile_tex(Path(sys.argv[1]).read_text(), "loop", timeout=120, workdir=Path(sys.argv[2]))
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGKILL])
def test_no_tex_outlives_its_caller_however_it_ends(tmp_path, sig):
    work = tmp_path / "w"
    work.mkdir()
    (tmp_path / "loop.tex").write_text(doc(r"\def\x{\x}\x"))
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, str(tmp_path / "loop.tex"), str(work)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=interactive)
    for _ in range(100):  # until TeX is running
        time.sleep(0.1)
        if any("pdflatex" in s for s in survivors(work)):
            break
    assert any("pdflatex" in s for s in survivors(work)), "TeX did not start"
    proc.send_signal(sig)
    proc.wait(timeout=20)
    deadline = time.monotonic() + 3
    while survivors(work) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert survivors(work) == []


# --- the precompiled preamble ---------------------------------------------------------------

def fmt_doc(body: str) -> str:
    from nnreport.compile.fmt import PREAMBLE_END

    return ("\\documentclass{article}\n\\usepackage{amsmath}\n" + PREAMBLE_END
            + "\\begin{document}\n" + body + "\n\\end{document}\n")


def test_the_preamble_format_is_built_once_and_gives_the_same_document(tmp_path, monkeypatch):
    monkeypatch.setenv("NNREPORT_CACHE", str(tmp_path / "cache"))
    a = compile_tex(fmt_doc(r"Format $x^2 = 4$."), "a", workdir=tmp_path / "w")
    made = list((tmp_path / "cache" / "formats").glob("*.fmt"))
    assert len(made) == 1
    stamp = made[0].stat().st_mtime_ns
    b = compile_tex(fmt_doc(r"Format $x^2 = 4$."), "b", workdir=tmp_path / "w")
    assert made[0].stat().st_mtime_ns == stamp  # reused, not rebuilt
    monkeypatch.setenv("NNREPORT_CACHE", "/proc/no-cache-here")  # no cache: the whole document
    c = compile_tex(fmt_doc(r"Format $x^2 = 4$."), "c", workdir=tmp_path / "w")
    texts = []
    for r in (a, b, c):
        p = tmp_path / "x.pdf"
        p.write_bytes(r.pdf)
        texts.append(subprocess.run(["pdftotext", str(p), "-"], capture_output=True, text=True).stdout)
    assert texts[0] == texts[1] == texts[2] and "Format" in texts[0]


def test_with_a_format_errors_still_cite_the_line_of_the_whole_tex(tmp_path, monkeypatch):
    monkeypatch.setenv("NNREPORT_CACHE", str(tmp_path / "cache"))
    tex = fmt_doc("fine\n\n$\\left( x$")
    with pytest.raises(CompileError) as info:
        compile_tex(tex, "err", workdir=tmp_path / "w")
    line = int(re.search(r"err\.tex:(\d+):", str(info.value)).group(1))
    assert tex.splitlines()[line - 1].startswith("$\\left( x$")


def test_with_a_format_the_page_budget_still_holds(tmp_path, monkeypatch):
    monkeypatch.setenv("NNREPORT_CACHE", str(tmp_path / "cache"))
    with pytest.raises(CompileError, match="more than 30 pages"):
        compile_tex(fmt_doc(r"\def\x{\shipout\hbox{x}\x}\x"), "pages", timeout=60,
                    budgets=Budgets(pages=30), workdir=tmp_path / "w")


def test_a_format_is_not_copied_onto_a_nearly_full_disk(tmp_path):
    """Beside a document on another file system the format is copied only with ample room: a
    multi-MB copy filling a small output disk for a moment made the other document's TeX fail
    with 'No space left on device' (seen in CI). On the same file system it is a hard link."""
    import shutil as sh

    from nnreport.compile.fmt import NAME, place

    fmt = tmp_path / "x.fmt"
    fmt.write_bytes(b"\0" * 3_000_000)
    same = tmp_path / "same"
    same.mkdir()
    assert place(fmt, same) and (same / f"{NAME}.fmt").stat().st_ino == fmt.stat().st_ino
    small = tmp_path / "small"
    small.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs",
                                            str(small)], capture_output=True).returncode != 0:
        pytest.skip("no tmpfs can be mounted here")
    try:
        assert sh.disk_usage(small).free > fmt.stat().st_size  # a copy would fit, just
        assert place(fmt, small) is False
        assert list(small.iterdir()) == []
    finally:
        subprocess.run(["umount", str(small)], check=False)
