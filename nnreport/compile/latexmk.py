"""Run latexmk on a .tex in a fresh directory with TeX's file access locked down.

- `-norc`: no latexmkrc (it is Perl, and a spec's folder could hold one);
- pdflatex with `-no-shell-escape`, and `openin_any=p`, `openout_any=p` so TeX reads and
  writes nothing outside the build directory (no /etc/passwd in the PDF);
- a timeout that kills the whole process group (an infinite macro loop cannot hang a build);
- a fresh temporary directory, so nothing but the .tex and its figures is visible.
The first TeX error is reported with its .tex line and the problem it belongs to.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import CompileError, TexMissingError

INSTALL_HINT = ("TeX is not installed: apt-get install texlive-latex-base texlive-latex-recommended "
                "texlive-latex-extra texlive-pictures latexmk lmodern (the .tex was written)")
MARKER = re.compile(r"^% nnreport problem: (\S+)")


@dataclass
class CompileResult:
    pdf: bytes
    log: str
    overfull: list[float] = field(default_factory=list)  # pt too wide, per Overfull \hbox
    seconds: float = 0.0


def tex_available() -> bool:
    return shutil.which("latexmk") is not None and shutil.which("pdflatex") is not None


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "SOURCE_DATE_EPOCH")}
    env.update(openin_any="p", openout_any="p", shell_escape="f", max_print_line="1000",
               HOME=str(home), TEXMFOUTPUT=str(home), FORCE_SOURCE_DATE="1")
    return env


def _problem_at(tex: str, line: int) -> str | None:
    found = None
    for i, text in enumerate(tex.splitlines(), start=1):
        if i > line:
            break
        m = MARKER.match(text)
        if m:
            found = m.group(1)
    return found


def first_error(log: str, tex: str, name: str) -> str:
    m = re.search(r"^(?:\./)?[^\s:]*\.tex:(\d+): (.*)$", log, re.M)
    if m:
        line = int(m.group(1))
        where = _problem_at(tex, line)
        src = tex.splitlines()[line - 1].strip() if 0 < line <= len(tex.splitlines()) else ""
        msg = f"{name}:{line}: TeX error: {m.group(2)}"
        if where:
            msg += f" (in problem '{where}')"
        if src:
            msg += f"\n    near: {src[:160]}"
        return msg
    m = re.search(r"^! (.*)$", log, re.M)
    if m:
        return f"{name}: TeX error: {m.group(1)}"
    return f"{name}: TeX failed without an error message (see the log)"


def compile_tex(tex: str, name: str = "main", files: dict[str, Path] | None = None,
                timeout: float = 120.0) -> CompileResult:
    """Compile LaTeX source; `files` are copied beside it (figures). Raises CompileError."""
    if not tex_available():
        raise TexMissingError(INSTALL_HINT)
    import time

    with tempfile.TemporaryDirectory(prefix="nnreport-tex-") as tmp:
        work = Path(tmp)
        (work / f"{name}.tex").write_text(tex, encoding="utf-8")
        for rel, src in (files or {}).items():
            dst = work / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
        cmd = ["latexmk", "-norc", "-pdf", "-silent",
               "-pdflatex=pdflatex -no-shell-escape -interaction=nonstopmode -halt-on-error "
               "-file-line-error %O %S", f"{name}.tex"]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=work, env=_env(work), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise CompileError(f"{name}.tex: TeX did not finish within {timeout:g} s "
                               "(a macro that never stops?)") from None
        except BaseException:  # Ctrl-C: TeX runs in its own session, so stop it too
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
        seconds = time.perf_counter() - t0
        log_path = work / f"{name}.log"
        log = log_path.read_text(encoding="latin-1") if log_path.exists() else out.decode("latin-1")
        pdf = work / f"{name}.pdf"
        if proc.returncode != 0 or not pdf.exists():
            err = CompileError(first_error(log, tex, f"{name}.tex"))
            err.log = log  # type: ignore[attr-defined]
            raise err
        overfull = [float(x) for x in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
        return CompileResult(pdf.read_bytes(), log, overfull, seconds)
