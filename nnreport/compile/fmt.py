"""A precompiled preamble: the packages every nnreport document loads, dumped once into a TeX
format, so each run starts with them loaded (about 0.2 s of the 0.8 s a version's key takes).

The document stage marks where its fixed preamble ends (PREAMBLE_END); everything before the
mark is the same for every document of a template, so its format is cached by a hash of that
text and of the TeX installation, in the user's cache folder (NNREPORT_CACHE, else
$XDG_CACHE_HOME/nnreport, else ~/.cache/nnreport). The format is built from nnreport's own
templates only, never from a spec, in the same sandbox as every TeX run. If the cache cannot
be written, documents are compiled whole, as before.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

from . import sandbox

PREAMBLE_END = "%% nnreport: end of the fixed preamble\n"
NAME = "nnfmt"
COPY_MARGIN = 64_000_000  # bytes left free after copying a format beside a document


def cache_dir() -> Path | None:
    """Where formats are kept, or None when no writable cache folder can be had."""
    base = os.environ.get("NNREPORT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "nnreport")
    path = Path(base) / "formats"
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=path, delete=True)
        probe.close()
    except OSError:
        return None
    return path


@lru_cache(maxsize=1)
def _tex_identity() -> str:
    """What a format depends on besides its text: the engine and its base format."""
    try:
        version = subprocess.run(["pdflatex", "--version"], capture_output=True, text=True,
                                 timeout=20, stdin=subprocess.DEVNULL).stdout
        base = subprocess.run(["kpsewhich", "-engine=pdftex", "pdflatex.fmt"], capture_output=True,
                              text=True, timeout=20, stdin=subprocess.DEVNULL).stdout.strip()
        stamp = str(os.stat(base).st_mtime_ns) if base else ""
    except (OSError, subprocess.SubprocessError):
        return ""
    return version + base + stamp


def split(tex: str) -> tuple[str, str] | None:
    """(fixed preamble, the rest) when the document marks its fixed preamble."""
    head, sep, rest = tex.partition(PREAMBLE_END)
    return (head, rest) if sep else None


def ensure(preamble: str, guard: str) -> Path | None:
    """The cached format of `preamble` (built now if missing), or None when it cannot be."""
    try:
        return _ensure(preamble, guard)
    except OSError:  # a full or read-only cache: compile whole documents instead
        return None


def _ensure(preamble: str, guard: str) -> Path | None:
    folder = cache_dir()
    identity = _tex_identity()
    if folder is None or not identity:
        return None
    key = hashlib.sha256((preamble + guard + identity).encode()).hexdigest()[:20]
    target = folder / f"{NAME}-{key}.fmt"
    if target.is_file():
        return target
    with tempfile.TemporaryDirectory(prefix="build-", dir=folder) as tmp:
        work = Path(tmp).resolve()
        (work / "preamble.tex").write_text(preamble + guard + "\n\\dump\n", encoding="utf-8")
        out = sandbox.run(["pdflatex", "-ini", "-interaction=nonstopmode", "-halt-on-error",
                           f"-jobname={NAME}", "&pdflatex", "preamble.tex"], work,
                          sandbox.Limits(seconds=120, cpu_seconds=120, file_bytes=200_000_000))
        made = work / f"{NAME}.fmt"
        if out.returncode != 0 or not made.is_file():
            return None
        os.replace(made, target)  # atomic: a concurrent build of the same format is harmless
    return target


def place(fmt: Path, work: Path) -> bool:
    """The format beside main.tex, where TeX looks first (a hard link when it can be); False
    when it cannot be put there (another file system with little room): compile without it."""
    dst = work / f"{NAME}.fmt"
    try:
        os.link(fmt, dst)
        return True
    except OSError:
        pass
    try:
        # a copy only with ample room: a format is several MB, and a copy that fills a small
        # disk for a moment would fail the other document's TeX writing beside it
        if shutil.disk_usage(work).free < 4 * fmt.stat().st_size + COPY_MARGIN:
            return False
        shutil.copyfile(fmt, dst)
        return True
    except OSError:
        dst.unlink(missing_ok=True)
        return False
