"""Prose from YAML to LaTeX: text is escaped (pylatexenc), `$...$` math passes through, and a
little Markdown is understood: blank-line paragraphs, '- ' bullets, **bold**, *italic*, `code`.

Math passing through is by design (teachers write formulas); the compile stage is the
sandbox that makes that safe.
"""

from __future__ import annotations

import re

from pylatexenc.latexencode import unicode_to_latex

_MATH = re.compile(r"(\$\$.+?\$\$|(?<!\\)\$.+?(?<!\\)\$)", re.S)
_INLINE = [
    (re.compile(r"\*\*(.+?)\*\*"), r"\\textbf{\1}"),
    (re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])"), r"\\emph{\1}"),
    (re.compile(r"`([^`]+)`"), r"\\texttt{\1}"),
]


def escape(text: str) -> str:
    """Plain text, every special character escaped."""
    return unicode_to_latex(str(text), non_ascii_only=False, unknown_char_warning=False)


def _inline(text: str) -> str:
    out = []
    for k, chunk in enumerate(_MATH.split(text)):
        if k % 2 == 1:
            out.append(chunk)
            continue
        # mark Markdown spans with private-use characters, escape, then put LaTeX in
        marks: list[str] = []

        def keep(m: re.Match[str], cmd: str, marks: list[str] = marks) -> str:
            marks.append(cmd.replace(r"\1", escape(m.group(1))).replace("\\\\", "\\"))
            return f"\ue000{len(marks) - 1}\ue001"

        for pat, cmd in _INLINE:
            chunk = pat.sub(lambda m, c=cmd: keep(m, c), chunk)
        esc = escape(chunk.replace("$", "\ue002"))
        esc = esc.replace("\ue002", r"\$")
        def put(m: re.Match[str], marks: list[str] = marks) -> str:
            return marks[int(m.group(1))]

        esc = re.sub("\ue000(\\d+)\ue001", put, esc)
        out.append(esc)
    return "".join(out)


def prose(text: str) -> str:
    """Paragraphs and bullet lists of escaped text with math kept. A bullet item may run on
    over several lines; a paragraph ends at a blank line."""
    out = []
    for block in re.split(r"\n\s*\n", str(text).strip()):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if lines and lines[0].startswith(("- ", "* ")):
            items: list[str] = []
            for line in lines:
                if line.startswith(("- ", "* ")):
                    items.append(line[2:])
                else:
                    items[-1] += " " + line
            body = "\n".join(r"  \item " + _inline(item) for item in items)
            out.append("\\begin{itemize}\n" + body + "\n\\end{itemize}")
        else:
            out.append(_inline(" ".join(lines)))
    return "\n\n".join(out)
