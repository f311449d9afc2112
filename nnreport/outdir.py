"""The output folder: names that cannot escape it, staging, atomic swaps, clean I/O errors.

A spec's file name is data from whoever wrote it. Its stem names the output folder and files,
so it must not be able to leave the output folder (`...yaml` has the stem `..`), be read as an
option (`-pdflatex=...`), or hide (a leading dot). Every build writes into a private staging
folder inside the output folder and swaps its results into place under a lock only when
everything succeeded; a failed, interrupted or racing build never destroys the previous output.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import tempfile
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import Issue, OutputError, SpecError

MAX_NAME = 100


def output_name(spec_path: Path) -> str:
    """The spec's stem, or a SpecError saying why it cannot name an output folder."""
    stem = spec_path.name[: -len(spec_path.suffix)] if spec_path.suffix else spec_path.name
    why = ""
    if stem in ("", ".", ".."):
        why = "it is empty, '.' or '..', which would write outside the output folder"
    elif stem.startswith("-"):
        why = "it starts with '-', which a program could read as an option"
    elif stem.startswith("."):
        why = "it starts with '.', which would make a hidden folder"
    elif len(stem) > MAX_NAME:
        why = f"it is longer than {MAX_NAME} characters"
    elif any(unicodedata.category(ch)[0] == "C" for ch in stem):
        why = "it contains control or invisible characters"
    if why:
        raise SpecError([Issue(str(spec_path), None, None,
                               f"cannot name the output after this file: {why}",
                               "rename the spec file (letters, digits, '-', '_'), "
                               "e.g. exam2.yaml")])
    return stem


def output_names(paths: list[Path]) -> list[str]:
    """Every spec's output name; two specs with the same name in one build are an error."""
    issues: list[Issue] = []
    names: list[str] = []
    seen: dict[str, Path] = {}
    for p in paths:
        try:
            name = output_name(p)
        except SpecError as e:
            issues += e.issues
            continue
        if name in seen:
            issues.append(Issue(str(p), None, None,
                                f"'{seen[name]}' and this file would both write output/{name}/",
                                "build them in separate runs with different -o folders, "
                                "or rename one"))
        seen.setdefault(name, p)
        names.append(name)
    if issues:
        raise SpecError(issues)
    return names


def io_error(e: OSError, what: str = "the output") -> OutputError:
    """A clean message for an OSError while writing output (exit code 6)."""
    where = e.filename if e.filename is not None else what
    reason = e.strerror or str(e)
    if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        hint = "the disk is full (or a file-size limit was reached); the previous output was kept"
    elif e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = "choose a folder you can write with -o"
    else:
        hint = "choose another output folder with -o"
    return OutputError(f"{where}: cannot write {what}: {reason}\n    hint: {hint}")


def make_output_dir(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not folder.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(folder))
    except OSError as e:
        raise io_error(e, "the output folder") from None


@contextmanager
def staging(output: Path, name: str) -> Iterator[Path]:
    """A private folder inside `output` for one build, removed on every way out."""
    make_output_dir(output)
    try:
        stage = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=output))
    except OSError as e:
        raise io_error(e, "the output folder") from None
    try:
        yield stage
    except OSError as e:
        raise io_error(e) from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on `folder` (created if needed) while swapping results into it,
    so two builds of the same spec never interleave their moves."""
    make_output_dir(folder)
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def move_into_place(stage: Path, final: Path) -> None:
    """Every file of `stage` replaces its namesake under `final` (one rename each)."""
    with locked(final):
        for item in sorted(stage.rglob("*")):
            if item.is_file():
                dst = final / item.relative_to(stage)
                dst.parent.mkdir(parents=True, exist_ok=True)
                item.replace(dst)


def swap_folder(stage: Path, final: Path) -> None:
    """`stage` becomes `final` as a whole; the previous `final` is removed only afterwards."""
    with locked(final.parent):
        old = None
        if final.exists():
            old = final.with_name(f".old-{final.name}-{uuid.uuid4().hex}")
            final.rename(old)
        stage.rename(final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
