"""Regenerate the table of typesettable characters in nnreport/spec/texsafe.py (_TYPESET).

Every non-ASCII entry of pylatexenc's table is typeset once, followed by a letter, with the
preamble of nnreport/templates/base.tex.j2; entries on lines TeX reports an error for are dropped and
the rest typeset again until no error is left. Prints the ranges to paste into texsafe.py.

Usage: .venv/bin/python bench/typeset_chars.py   (needs pdflatex; about a minute)
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import textwrap
from pathlib import Path

from pylatexenc.latexencode import _uni2latexmap, unicode_to_latex

ROOT = Path(__file__).resolve().parents[1]


def failing(codes: list[int], folder: Path) -> set[int]:
    pre = (ROOT / "nnreport" / "templates" / "base.tex.j2").read_text(encoding="utf-8")
    pre = pre[pre.index("\\documentclass"):pre.index("\\pagestyle")] + "\\begin{document}\n"
    first = pre.count("\n") + 1
    body = "".join("X " + unicode_to_latex(chr(c), non_ascii_only=False,
                                           unknown_char_warning=False) + "aX\\par\n" for c in codes)
    (folder / "t.tex").write_text(pre + body + "\\end{document}\n", encoding="utf-8")
    subprocess.run(["pdflatex", "-interaction=nonstopmode", "-no-shell-escape", "t.tex"],
                   cwd=folder, capture_output=True, timeout=600)
    log = (folder / "t.log").read_text(encoding="utf-8", errors="replace")
    lines = {int(n) - first for n in re.findall(r"^l\.(\d+) ", log, re.M)}
    return {codes[i] for i in lines if 0 <= i < len(codes)}


def main() -> None:
    codes = sorted(c for c in _uni2latexmap.uni2latex if c >= 128)
    with tempfile.TemporaryDirectory() as tmp:
        while bad := failing(codes, Path(tmp)):
            codes = [c for c in codes if c not in bad]
    ranges: list[list[int]] = []
    for c in codes:
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1][1] = c
        else:
            ranges.append([c, c])
    items = [f"{a:04x}" if a == b else f"{a:04x}-{b:04x}" for a, b in ranges]
    print(textwrap.fill(" ".join(items), 92))


if __name__ == "__main__":
    main()
