"""Given data in full, for the question sheet: a matrix whole when it fits the page, else a
numbered data table (longtable: split across pages, header repeated). The key may elide."""

from __future__ import annotations

from typing import Any

from ..render.matrices import COLSEP_EM, WIDTH_SAFETY, Tex, text_width, value
from ..render.numbers import fmt
from .steps import Val

FULL_WIDTH_EM = 40.0
FULL_ROWS = 24       # taller than this and a matrix reads better as a table
TABLE_COLS = 10      # columns of one table; wider data is split into several tables
TABLE_WIDTH_EM = 43.0  # a table's row (numbers, column gaps) within the text width


def full_value(v: Val) -> Tex | None:
    """The whole matrix (no dots), or None when it does not fit on the page."""
    a = v.array
    if a.ndim == 2 and a.shape[0] > FULL_ROWS:
        return None
    rows, cols = (a.shape if a.ndim == 2 else (1, max(a.size, 1)))
    t = value(a, v.digits, max_rows=max(rows, 1), max_cols=max(cols, 1), max_width=10_000)
    return t if t.width <= FULL_WIDTH_EM else None


def table_label(owner: Any, name: str) -> str:
    """A stable label: the owner's (a problem id) and the name's letters and digits."""
    return f"tab:{getattr(owner, 'label', '')}-" + "".join(ch for ch in name if ch.isalnum())


def data_table(v: Val, name: str, label: str) -> str:
    """A longtable of every entry, rows numbered, columns numbered, at `v.digits`."""
    a = v.array
    a = a.reshape(1, -1) if a.ndim < 2 else a
    per = TABLE_COLS  # fewer columns a table when its numbers are wide (-0.06388)
    col = max([text_width(fmt(float(x), v.digits)) for x in a.ravel()] + [1.0]) * WIDTH_SAFETY
    while per > 1 and (per + 1) * (col + COLSEP_EM) > TABLE_WIDTH_EM:
        per -= 1
    chunks = [list(range(j, min(j + per, a.shape[1]))) for j in range(0, a.shape[1], per)]
    out = []
    for k, cols in enumerate(chunks):
        part = f" (columns {cols[0] + 1}--{cols[-1] + 1})" if len(chunks) > 1 else ""
        head = " & ".join([r"\textbf{row}"] + [rf"\textbf{{{j + 1}}}" for j in cols]) + r" \\"
        body = "\n".join(" & ".join([str(i + 1)] + [f"${fmt(float(a[i, j]), v.digits)}$" for j in cols])
                         + r" \\" for i in range(a.shape[0]))
        lab = rf"\label{{{label}}}" if k == 0 else ""
        out.append(
            "\\begin{longtable}{r" + "r" * len(cols) + "}\n"
            f"\\caption{{The given ${name}$, every entry{part}.}}{lab}\\\\\n\\toprule\n{head}\n\\midrule\n"
            "\\endfirsthead\n"
            f"\\multicolumn{{{len(cols) + 1}}}{{l}}{{\\small ${name}$, continued}}\\\\\n\\toprule\n"
            f"{head}\n\\midrule\n\\endhead\n{body}\n\\bottomrule\n\\end{{longtable}}")
    return "\n".join(out)


