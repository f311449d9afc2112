"""CSV files for spreadsheets (grades.csv, answers.csv, summary.csv, grid.csv): one writer,
so that one rule keeps formulas out of every cell that came from outside.

A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` as a formula (and some read
a leading tab or carriage return the same way), so a student's answer key named
`=HYPERLINK(...)` or a roster name `@SUM(...)` would run when the instructor opens the file.
As OWASP recommends ("CSV Injection"), a text cell that starts with one of those characters
is written with a single quote in front (`'=HYPERLINK(...)`), which spreadsheets show as
text; the csv module quotes cells holding commas, quotes or line breaks. Numbers nnreport
computed are written as numbers (the shortest decimal that reads back as the same float,
`-0.5` stays `-0.5`): only cells given as `str` are text.
"""

from __future__ import annotations

import csv
import math
import numbers
from typing import IO, Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class Number(str):
    """Text nnreport wrote for a number (a printed value, 1.234E-4): written as it is."""


def cell(value: Any) -> str:
    """One cell as written: numbers as numbers, text neutralised."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value)) if math.isfinite(value) else ""
    if isinstance(value, Number):
        return str(value)
    text = "" if value is None else str(value)
    # leading spaces (a non-breaking one too) are trimmed by some spreadsheets on import
    return "'" + text if text.lstrip(" \u00a0\u2007\u202f\n").startswith(FORMULA_START) else text


class Writer:
    """csv.writer whose rows pass through `cell`."""

    def __init__(self, fh: IO[str]) -> None:
        self._w = csv.writer(fh)

    def writerow(self, row: list[Any]) -> None:
        self._w.writerow([cell(v) for v in row])


def writer(fh: IO[str]) -> Writer:
    return Writer(fh)
