"""Compile a .tex to PDF with pdflatex, run directly (no latexmk: no Perl, no rc files, no
shell) under the sandbox of sandbox.py, in a fresh private folder, as `main.tex`.

Passes: one, and a second only when the first found an undefined reference (the page total
of "Page 2 of 5"); at most three. Bounded: wall and CPU time (`tex_seconds`, default scaled to the document), bytes of any
file written (`output_bytes`), pages (`pages`, counted by a shipout hook that the document
cannot reach through the spec whitelist). The first TeX error is reported with its .tex line
and the problem it belongs to; a PDF that could act (JavaScript, launch, embedded files) is
refused (pdfcheck.py)."""

from __future__ import annotations

import re
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..budgets import DEFAULT, Budgets
from ..errors import CompileError, TexMissingError
from . import fmt, sandbox
from .pdfcheck import active_content

INSTALL_HINT = ("TeX is not installed: apt-get install texlive-latex-base texlive-latex-recommended "
                "texlive-latex-extra texlive-pictures lmodern (the .tex was written)")
MARKER = re.compile(r"^% nnreport problem: (\S+)")
JOB = "main"
MAX_PASSES = 3
# a second pass only when something the document uses was not known yet (the page total);
# figure and table numbers are written in by the document stage, so most runs need one
# an undefined reference (the page total), or longtable's column widths not yet settled (a
# data table or a grading grid: its chunks align only once the widths are in the .aux)
RERUN = re.compile(r"There were undefined references|Reference `[^']*' on page \d+ undefined"
                   r"|Package longtable Warning: (Table widths have changed|Column widths have changed)")


@dataclass
class CompileResult:
    pdf: bytes
    log: str
    overfull: list[float] = field(default_factory=list)  # pt too wide, per Overfull \hbox
    seconds: float = 0.0
    passes: int = 0

    @property
    def pages(self) -> int:
        """Pages of the PDF, as TeX's log says ("Output written on main.pdf (5 pages")."""
        m = re.search(r"Output written on \S+ \((\d+) pages?", self.log)
        return int(m.group(1)) if m else 0


def tex_available() -> bool:
    return shutil.which("pdflatex") is not None


def default_seconds(tex: str) -> float:
    """Wall-clock seconds for all passes of one document: generous for a loaded 2-core machine
    (exam keys take 1-3 s a pass), yet a loop stops in well under a minute."""
    return 30.0 + 20.0 * len(tex) / 100_000


def _problem_at(tex: str, line: int) -> str | None:
    found = None
    for i, text in enumerate(tex.splitlines(), start=1):
        if i > line:
            break
        m = MARKER.match(text)
        if m:
            found = m.group(1)
    return found


def first_error(log: str, tex: str, name: str, offset: int = 0) -> str:
    """The first error of the log as `name:line: TeX error: ...`; `offset` lines precede `tex`
    in the kept .tex (the preamble a format holds)."""
    m = re.search(r"^(?:\./)?[^\s:]*\.tex:(\d+): (.*)$", log, re.M)
    if m:
        line = int(m.group(1))
        where = _problem_at(tex, line)
        src = tex.splitlines()[line - 1].strip() if 0 < line <= len(tex.splitlines()) else ""
        msg = f"{name}:{line + offset}: TeX error: {m.group(2)}"
        if where:
            msg += f" (in problem '{where}')"
        if src:
            msg += f"\n    near: {src[:160]}"
        return msg
    m = re.search(r"^! (.*)$", log, re.M)
    if m:
        return f"{name}: TeX error: {m.group(1)}"
    return f"{name}: TeX failed without an error message (see the log)"


GUARD = (r"\newcount\nnreportpages\AddToHook{shipout/before}{\global\advance\nnreportpages 1 "
         r"\ifnum\nnreportpages>\nnreportmaxpages\relax\errmessage{nnreport: more than "
         r"\nnreportmaxpages\space pages (the pages budget)}\fi}")


def _argv(pages: int, with_format: bool) -> list[str]:
    """pdflatex's command line: fixed, whatever the document. Before main.tex it defines the
    page limit and (without a format, which already has it) a page counter no document
    command can reach, with an error past the pages budget."""
    first = rf"\def\nnreportmaxpages{{{pages}}}" + ("" if with_format else GUARD) + \
        rf"\input{{{JOB}.tex}}"
    return ["pdflatex", "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error",
            "-file-line-error", f"-jobname={JOB}"] + ([f"-fmt={fmt.NAME}"] if with_format else []) \
        + [first]


def compile_tex(tex: str, name: str = "main", files: dict[str, Path] | None = None,
                timeout: float | None = None, budgets: Budgets = DEFAULT,
                workdir: Path | None = None) -> CompileResult:
    """Compile LaTeX source; `files` are copied beside it (figures). `name` is only used in
    messages: the file TeX sees is always main.tex. Raises CompileError."""
    if not tex_available():
        raise TexMissingError(INSTALL_HINT)
    total = timeout or budgets.tex_seconds or default_seconds(tex)
    label = f"{name}.tex"
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
    parts = fmt.split(tex)
    fmt_file = fmt.ensure(parts[0], GUARD) if parts else None
    with tempfile.TemporaryDirectory(prefix="nnreport-tex-", dir=workdir) as tmp:
        work = Path(tmp).resolve()
        if parts and fmt_file is not None and fmt.place(fmt_file, work):
            body, offset = parts[1], parts[0].count("\n") + 1
        else:
            fmt_file, body, offset = None, tex, 0
        (work / f"{JOB}.tex").write_text(body, encoding="utf-8")
        for rel, src in (files or {}).items():
            dst = work / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
        argv = _argv(budgets.pages, fmt_file is not None)
        t0 = time.perf_counter()
        passes = 0
        log = ""
        while passes < MAX_PASSES:
            left = total - (time.perf_counter() - t0)
            if left <= 0:
                break
            passes += 1
            limits = sandbox.Limits(seconds=left, cpu_seconds=int(left) + 5,
                                    file_bytes=budgets.output_bytes)
            out = sandbox.run(argv, work, limits)
            log_path = work / f"{JOB}.log"
            log = log_path.read_text(encoding="latin-1") if log_path.exists() else \
                out.output.decode("latin-1")
            sig = out.signal or (out.returncode - 128 if out.returncode > 128 else None)
            if out.timed_out or sig == signal.SIGXCPU:
                raise _error(f"{label}: TeX did not finish within {total:g} s (a macro that never "
                             "stops?)", log, budgets.hint("tex_seconds"))
            if sig == signal.SIGXFSZ:
                raise _error(f"{label}: TeX wrote a file larger than "
                             f"{budgets.output_bytes:,} bytes", log, budgets.hint("output_bytes"))
            if re.search(r"more than \d+ pages \(the pages budget\)\.", log):
                raise _error(f"{label}: the document has more than {budgets.pages} pages", log,
                             budgets.hint("pages"))
            if out.returncode != 0 or not (work / f"{JOB}.pdf").exists():
                raise _error(first_error(log, body, label, offset), log)
            if not RERUN.search(log):
                break
        if passes == 0 or not (work / f"{JOB}.pdf").exists():
            raise _error(f"{label}: TeX did not finish within {total:g} s", log,
                         budgets.hint("tex_seconds"))
        seconds = time.perf_counter() - t0
        pdf = (work / f"{JOB}.pdf").read_bytes()
        acting = active_content(pdf)
        if acting:
            raise _error(f"{label}: the PDF would contain active content ({', '.join(acting)}); "
                         "it was not written", log)
        overfull = [float(x) for x in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
        return CompileResult(pdf, log, overfull, seconds, passes)


def _error(message: str, log: str, hint: str = "") -> CompileError:
    err = CompileError(message + (f"\n    hint: {hint}" if hint else ""))
    err.log = log  # type: ignore[attr-defined]
    return err
