"""Prose fields (`text:`, `instructions:`) parsed once into a small tree of nodes.

The parser is markdown-it-py's CommonMark with only paragraphs, bullet and numbered lists,
emphasis, strong emphasis, code spans and backslash escapes switched on, plus one rule of our
own for `$...$` and `$$...$$` math. Raw HTML, headings, links and the rest are not parsed, so
they stay text (and are escaped like any text). Validation (spec/texcheck.py) checks the
tree; document/escape.py renders it to LaTeX; an HTML output would render the same tree.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline

BLOCKS = ("para", "bullets", "numbers", "item")
INLINES = ("text", "code", "math", "display", "strong", "em", "break", "dollar")


@dataclass(frozen=True)
class Node:
    """One piece of prose. Blocks: para, bullets, numbers (with `start`), item. Inline: text,
    code and math/display (`text` holds the formula without its dollars), strong and em
    (with children), break (a line break inside a paragraph), dollar (a `$` that opens no
    formula: an error for validation). `at` is where math or a stray `$` starts in the
    prose string (its first character after the dollars; -1 if unknown)."""

    kind: str
    children: tuple[Node, ...] = ()
    text: str = ""
    start: int = 1
    at: int = -1


def _math_rule(state: StateInline, silent: bool) -> bool:
    """`$...$` or `$$...$$`; a backslash escapes the next character inside, so `\\$` never
    closes a formula. A `$` without its closing `$` becomes a `dollar` token."""
    src, pos, end = state.src, state.pos, state.posMax
    if src[pos] != "$":
        return False
    width = 2 if src.startswith("$$", pos) else 1
    i = pos + width
    while i < end:
        if src[i] == "\\":
            i += 2
            continue
        if src[i] == "$":
            break
        i += 1
    closed = i < end and (width == 1 or src.startswith("$$", i)) and i > pos + width
    if not silent:
        if closed:
            token = state.push("math_display" if width == 2 else "math_inline", "", 0)
            token.content = src[pos + width:i]
        else:
            token = state.push("dollar", "", 0)
            token.content = src[pos:end]
    state.pos = i + width if closed else end
    return True


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("zero").enable(["list", "emphasis", "backticks", "escape", "newline"])
    md.inline.ruler.before("escape", "math", _math_rule)
    return md


def _inline(tokens: list[Any]) -> tuple[Node, ...]:
    stack: list[tuple[str, list[Node]]] = [("", [])]
    for t in tokens:
        if t.type in ("strong_open", "em_open"):
            stack.append((t.type[:-5], []))
        elif t.type in ("strong_close", "em_close") and len(stack) > 1:
            kind, kids = stack.pop()
            stack[-1][1].append(Node(kind, tuple(kids)))
        elif t.type == "text" and t.content:
            stack[-1][1].append(Node("text", text=t.content))
        elif t.type == "code_inline":
            stack[-1][1].append(Node("code", text=t.content))
        elif t.type in ("math_inline", "math_display", "dollar"):
            kind = {"math_inline": "math", "math_display": "display"}.get(t.type, "dollar")
            stack[-1][1].append(Node(kind, text=t.content))
        elif t.type in ("softbreak", "hardbreak"):
            stack[-1][1].append(Node("break"))
    while len(stack) > 1:  # unclosed (cannot happen with balanced markdown-it output)
        kind, kids = stack.pop()
        stack[-1][1].append(Node(kind, tuple(kids)))
    return tuple(stack[0][1])


def _blocks(tokens: list[Any]) -> tuple[Node, ...]:
    stack: list[tuple[str, int, list[Node]]] = [("", 1, [])]
    for t in tokens:
        if t.type in ("bullet_list_open", "ordered_list_open", "list_item_open"):
            kind = {"bullet_list_open": "bullets", "ordered_list_open": "numbers"}.get(t.type, "item")
            start = int(t.attrs.get("start", 1)) if kind == "numbers" else 1
            stack.append((kind, start, []))
        elif t.type in ("bullet_list_close", "ordered_list_close", "list_item_close"):
            kind, start, kids = stack.pop()
            stack[-1][2].append(Node(kind, tuple(kids), start=start))
        elif t.type == "inline":
            stack[-1][2].append(Node("para", _inline(t.children or [])))
    return tuple(stack[0][2])


def _place(nodes: tuple[Node, ...], text: str, cursor: list[int]) -> tuple[Node, ...]:
    """Fill in `at` for math and stray dollars by finding them, in order, in the text."""
    out = []
    for n in nodes:
        if n.kind in ("math", "display", "dollar"):
            lead = {"math": "$", "display": "$$", "dollar": ""}[n.kind]
            found = text.find(lead + n.text.split("\n")[0], cursor[0])
            if found >= 0:
                cursor[0] = found + len(lead)
                n = Node(n.kind, text=n.text, at=found + len(lead))
        elif n.children:
            n = Node(n.kind, _place(n.children, text, cursor), n.text, n.start)
        out.append(n)
    return tuple(out)


@lru_cache(maxsize=64)
def parse(text: str) -> tuple[Node, ...]:
    """The block nodes of one prose string (cached: validation and every document kind
    rendered parse the same texts)."""
    return _place(_blocks(_parser().parse(str(text))), str(text), [0])


def walk(nodes: tuple[Node, ...], depth: int = 0) -> list[tuple[Node, int]]:
    """Every node with its list depth (0 outside lists), in document order."""
    out = []
    for n in nodes:
        out.append((n, depth))
        out.extend(walk(n.children, depth + (n.kind in ("bullets", "numbers"))))
    return out
