"""One exception hierarchy: every failure a user can cause ends as one of these.

The CLI maps them to exit codes (spec 2, TeX missing 3, TeX failed 4, compute 5, output
folder not writable 6; interrupted 130, or 128 + the signal) and prints `message` only: a
traceback reaching the user is a bug.
"""

from __future__ import annotations

import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path


class NNReportError(Exception):
    """Base class; `exit_code` is what the CLI returns."""

    exit_code = 1


def printable(text: str, keep: str = "") -> str:
    """Text as it may be printed to a terminal or a file: control and format characters (an
    escape sequence's ESC, BEL, a bidi override) written as \\xNN or \\uNNNN, except those in
    `keep`. A spec, a file name or a student's file can hold any of them."""
    return "".join(ch if ch in keep or unicodedata.category(ch) not in ("Cc", "Cf", "Cs")
                   else f"\\x{ord(ch):02x}" if ord(ch) < 256 else f"\\u{ord(ch):04x}"
                   for ch in str(text))


@dataclass(frozen=True)
class Issue:
    """One located spec problem: `file:line:col: message (hint)`."""

    file: str
    line: int | None
    col: int | None
    message: str
    hint: str = ""

    def __str__(self) -> str:
        where = printable(self.file)
        if self.line is not None:
            where += f":{self.line}:{self.col or 1}"
        text = f"{where}: {printable(self.message, keep=chr(10))}"
        if self.hint:
            text += f"\n    hint: {printable(self.hint, keep=chr(10))}"
        return text


class SpecError(NNReportError):
    """The spec is wrong; carries every issue found in one pass."""

    exit_code = 2

    def __init__(self, issues: list[Issue]):
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


def check_input_file(path: Path, what: str, max_bytes: int, hint: str = "") -> None:
    """Refuse, before opening it, an input (spec, roster, submissions) that is missing, not a
    regular file (a named pipe would block the read for ever, a device never ends) or larger
    than max_bytes; `hint` says how to raise that limit."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise SpecError([Issue(str(path), None, None, "no such file")]) from None
    except OSError as e:
        raise SpecError([Issue(str(path), None, None, f"cannot read the {what}: "
                               f"{e.strerror or e}")]) from None
    if not stat.S_ISREG(st.st_mode):
        raise SpecError([Issue(str(path), None, None, f"the {what} is not a regular file",
                               "folders, pipes and devices are not read")])
    if st.st_size > max_bytes:
        raise SpecError([Issue(str(path), None, None, f"the {what} is {st.st_size:,} bytes, "
                               f"more than {max_bytes:,}", hint)])


class ComputeError(NNReportError):
    """The numbers went wrong (divergence, NaN) for a valid spec."""

    exit_code = 5


class TexMissingError(NNReportError):
    """No pdflatex on this machine; the .tex was still written."""

    exit_code = 3


class CompileError(NNReportError):
    """TeX ran and failed; message names the first error and where it came from."""

    exit_code = 4


class OutputError(NNReportError):
    """The output folder cannot be written (not a folder, no permission, disk full)."""

    exit_code = 6


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, SIGTERM or SIGHUP: every cleanup path of a KeyboardInterrupt runs, and the CLI
    exits with 128 + the signal number."""

    def __init__(self, signum: int = 2):
        super().__init__(signum)
        self.signum = signum
