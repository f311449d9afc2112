"""Every string of a spec that reaches TeX, checked at load time (spec/texsafe.py has the rules).

Prose fields are parsed (spec/prose.py) and each formula checked against the math whitelist;
titles, course, author, date and section titles must be typesettable once escaped; names
shown in formulas must be ones formulas.symbol() writes as valid LaTeX. Each flaw becomes a
located issue: file:line:col of the offending macro or character when it can be found in
the YAML source, else of the string.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import Issue
from .prose import parse, walk
from .report import PLACEHOLDER
from .texsafe import NAME_HINT, Flaw, math_flaws, name_ok, text_flaws
from .yamlio import Located

PLAIN = ("title", "course", "author", "date")
MAX_LIST_DEPTH = 4  # LaTeX nests itemize/enumerate four deep
MAX_NAME = 40  # characters of a given: or compute: name
PROSE_MAX = 200_000  # characters of prose in one spec: Markdown parses at ~130 KB/s


def prose_flaws(text: str) -> list[Flaw]:
    """Characters that cannot be typeset, formulas off the whitelist, a `$` without its
    partner, lists nested deeper than LaTeX allows."""
    out = text_flaws(text)
    if out:
        return out
    for node, depth in walk(parse(text)):
        if node.kind in ("math", "display"):
            hole = PLACEHOLDER.search(node.text)
            if hole:  # it is filled with a formula of its own: $...$ inside $...$
                out.append(Flaw(max(node.at, 0) + hole.start(), hole.group(0),
                                "a placeholder inside a formula",
                                "write it outside the $...$: 'the loss is {{ p1.loss }}'"))
                continue
            out += math_flaws(node.text, max(node.at, 0))
        elif node.kind == "dollar":
            out.append(Flaw(max(node.at, 0), "$", "a $ without its closing $",
                            "write \\$ for a dollar sign, or close the formula"))
        elif node.kind in ("bullets", "numbers") and depth == MAX_LIST_DEPTH:
            out.append(Flaw(0, "", f"lists nested more than {MAX_LIST_DEPTH} deep"))
    return out


def _strings(data: Any) -> list[tuple[tuple[Any, ...], str, bool]]:
    """(path, value, is_prose) of every string field that reaches a document."""
    if not isinstance(data, dict):
        return []
    out: list[tuple[tuple[Any, ...], str, bool]] = [
        ((k,), data[k], False) for k in PLAIN if isinstance(data.get(k), str)]
    if isinstance(data.get("instructions"), str):
        out.append((("instructions",), data["instructions"], True))
    sections = data.get("sections")
    for i, sec in enumerate(sections if isinstance(sections, list) else []):
        if isinstance(sec, dict):
            for key, prose in (("title", False), ("text", True)):
                if isinstance(sec.get(key), str):
                    out.append((("sections", i, key), sec[key], prose))
    problems = data.get("problems")
    for i, p in enumerate(problems if isinstance(problems, list) else []):
        if isinstance(p, dict):
            for key, prose in (("title", False), ("text", True)):
                if isinstance(p.get(key), str):
                    out.append((("problems", i, key), p[key], prose))
    return out


def _names(data: Any) -> list[tuple[tuple[Any, ...], str]]:
    """(path, name) of given: and compute: names (display names are checked in models.py)."""
    out: list[tuple[tuple[Any, ...], str]] = []
    problems = data.get("problems") if isinstance(data, dict) else None
    for i, p in enumerate(problems if isinstance(problems, list) else []):
        if not isinstance(p, dict):
            continue
        if isinstance(p.get("given"), dict):
            out += [(("problems", i, "given", k), k) for k in p["given"]]
        compute = p.get("compute")
        for j, step in enumerate(compute if isinstance(compute, list) else []):
            if isinstance(step, dict) and len(step) == 1:
                out += [(("problems", i, "compute", j, k), k) for k in step]
    return out


class _Source:
    """The YAML text, read only when a flaw must be placed in it."""

    def __init__(self, doc: Located, text: str | None):
        self.doc, self._text = doc, text
        self._starts: list[tuple[int, int]] | None = None

    def lines(self) -> list[str] | None:
        if self._text is None:
            try:
                self._text = Path(self.doc.file).read_text(encoding="utf-8")
            except (OSError, UnicodeError, ValueError):
                return None
        return self._text.split("\n")

    def next_start(self, at: tuple[int, int]) -> tuple[int, int]:
        """Where the next located key or value starts: the string cannot reach past it."""
        if self._starts is None:
            self._starts = sorted(set(self.doc.values.values()) | set(self.doc.keys.values()))
        return next((p for p in self._starts if p > at), (10**9, 0))

    def locate(self, path: tuple[Any, ...], value: str, flaw: Flaw) -> tuple[int | None, int | None]:
        """The flaw's line and column in the YAML: its token found in the source as the
        same occurrence it is in the value (escaped in a double-quoted string), between
        the string's start and the next key; else the string's own position."""
        line, col = self.doc.where(path)
        lines = self.lines()
        if line is None or col is None or not flaw.token or lines is None or line > len(lines):
            return line, col
        nth = value.count(flaw.token, 0, flaw.at)
        token = flaw.token
        here = lines[line - 1]
        if here[col - 1:col] == '"' or (col >= 2 and here[col - 2:col - 1] == '"'):
            # a double-quoted string (its position is the quote or the first character inside)
            token = token.replace("\\", "\\\\").replace('"', '\\"')
        stop = self.next_start((line, col))
        for ln in range(line, min(stop[0], len(lines)) + 1):
            text = lines[ln - 1]
            pos = col - 1 if ln == line else 0
            limit = stop[1] - 1 if ln == stop[0] else len(text)
            while (hit := text.find(token, pos, limit)) >= 0:
                if nth == 0:
                    return ln, hit + 1
                nth -= 1
                pos = hit + 1
        return line, col


def surrogates(doc: Located) -> list[Issue]:
    """Surrogates come from YAML escapes: JSON writes an emoji as the pair "\\ud83d\\ude00",
    which YAML reads as two halves. Pairs are joined into their character (in place); a
    lone half, which no later stage can even encode, is an issue."""
    out: list[Issue] = []

    def visit(value: Any, path: tuple[Any, ...]) -> Any:
        if isinstance(value, dict):
            for k in list(value):
                if isinstance(k, str) and _lone(k):
                    out.append(doc.issue(path + (k,), f"a surrogate escape (U+{ord(_lone(k)):04X})"
                                         " in a key", "keys are plain names", key=True))
                value[k] = visit(value[k], path + (k,))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                value[i] = visit(v, path + (i,))
        elif isinstance(value, str) and _lone(value):
            value = value.encode("utf-16", "surrogatepass").decode("utf-16", "surrogatepass")
            if _lone(value):
                out.append(doc.issue(path, f"a lone surrogate (U+{ord(_lone(value)):04X}) in "
                                     "this value", "a \\uD800-\\uDFFF escape is half of a pair:"
                                     " write the character itself or its \\U escape"))
        return value

    visit(doc.data, ())
    return out[:20]


def _lone(s: str) -> str:
    """The first surrogate in s, or ''."""
    try:
        s.encode("utf-8")
    except UnicodeEncodeError as e:
        return str(e.object[e.start])
    return ""


def check(doc: Located, source: str | None = None) -> list[Issue]:
    """Located issues for every string of the spec TeX must not see as written.
    `source` is the YAML text (read from doc.file when needed and not given)."""
    src = _Source(doc, source)
    issues = []
    prose_left = PROSE_MAX
    for path, value, is_prose in _strings(doc.data):
        prose_left -= len(value) if is_prose else 0
        if prose_left < 0:
            issues.append(doc.issue(path, f"more than {PROSE_MAX:,} characters of prose in the "
                                    "spec", "shorten the texts, or split the document"))
            break
        flaws = prose_flaws(value) if is_prose else text_flaws(value)
        if path == ("title",) and not value.strip():  # TeX: "There's no line here to end"
            flaws.append(Flaw(0, "", "the title is empty", "give the document a title"))
        field = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in path).replace(".[", "[")
        for flaw in flaws[:5]:
            line, col = src.locate(path, value, flaw)
            issues.append(Issue(doc.file, line, col, f"{field}: {flaw.message}", flaw.hint))
    for path, name in _names(doc.data):
        if isinstance(name, str) and len(name) > MAX_NAME:  # one name, one formula line
            line, col = doc.where(path, key=True)
            issues.append(Issue(doc.file, line, col, f"a name of {len(name):,} characters; at "
                                f"most {MAX_NAME}", "use a short name (x, W1, loss_a)"))
        elif isinstance(name, str) and name.isidentifier() and not name_ok(name):
            line, col = doc.where(path, key=True)
            issues.append(Issue(doc.file, line, col, f"'{name}' cannot be typeset as a name",
                                "use " + NAME_HINT))
    return issues
