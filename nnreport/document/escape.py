"""Text and prose from YAML to LaTeX.

`escape` writes plain text character by character with pylatexenc's LaTeX for it; `prose`
renders the tree of spec/prose.py: paragraphs, bullet and numbered lists, **bold**, *italic*,
`code`, and `$...$` math as written. Both rely on validation (spec/texcheck.py), which refuses
characters TeX cannot typeset and math off the whitelist; should anything unchecked get here,
an untypesettable character becomes `?` rather than reach TeX.
"""

from __future__ import annotations

import unicodedata

from ..spec.prose import Node, parse
from ..spec.texsafe import WHITESPACE, char_tex


def escape(text: str) -> str:
    """Plain text, every special character escaped; line breaks and tabs become spaces."""
    s = unicodedata.normalize("NFC", WHITESPACE.sub(" ", str(text)))
    return "".join(char_tex(ch) or "?" for ch in s)


def _inline(nodes: tuple[Node, ...]) -> str:
    out = []
    for n in nodes:
        if n.kind == "text":
            out.append(escape(n.text))
        elif n.kind == "code":
            out.append(r"\texttt{" + escape(n.text) + "}")
        elif n.kind == "math":
            out.append("$" + n.text + "$")
        elif n.kind == "display":
            out.append(r"\[" + n.text + r"\]")
        elif n.kind == "strong":
            out.append(r"\textbf{" + _inline(n.children) + "}")
        elif n.kind == "em":
            out.append(r"\emph{" + _inline(n.children) + "}")
        elif n.kind == "break" and out and not out[-1].endswith("\n"):
            out.append("\n")  # a line break in the source, a space in TeX
        elif n.kind == "dollar":  # refused by validation; printed, never opened
            out.append(escape(n.text))
    return "".join(out)


def _blocks(nodes: tuple[Node, ...]) -> str:
    out = []
    for n in nodes:
        if n.kind == "para":
            out.append(_inline(n.children))
        elif n.kind in ("bullets", "numbers"):
            env = "itemize" if n.kind == "bullets" else "enumerate"
            start = f"[start={n.start}]" if n.kind == "numbers" and n.start != 1 else ""
            # \item{}: text starting with [ is not read as the item's label
            items = "\n".join(r"  \item{} " + _blocks(item.children) for item in n.children)
            out.append(f"\\begin{{{env}}}{start}\n{items}\n\\end{{{env}}}")
    return "\n\n".join(out)


def prose(text: str) -> str:
    """Paragraphs and lists of escaped text with math kept (see docs/spec.md, Prose)."""
    return _blocks(parse(str(text)))
