"""Read YAML 1.2 safely (ruamel.yaml) into plain Python values plus a map of positions.

Positions let every later error say file:line:col. Before ruamel builds anything, the file's
size is checked (stat) and its event stream is counted by libyaml's C parser, aliases expanded,
stopping at the `yaml_nodes` budget: a 5 MB list or a billion laughs is refused in a fraction
of a second instead of being built (ruamel's pure-Python reader spends ~70 us per value).
The same pass refuses tags, nesting deeper than MAX_DEPTH and integers longer than MAX_DIGITS.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

try:
    from yaml import CBaseLoader
    from yaml import YAMLError as PyYAMLError
except ImportError:  # pragma: no cover - PyYAML missing or built without libyaml
    CBaseLoader = None
    PyYAMLError = YAMLError

from ..budgets import DEFAULT, Budgets
from ..errors import Issue, SpecError, check_input_file

MAX_DEPTH = 64     # lists and mappings inside each other; a spec needs about 8
MAX_DIGITS = 100   # an integer literal with more digits is refused (Python's limit is 4300)
_INTEGER = re.compile(r"[-+]?(?:0x[0-9a-fA-F_]+|0o[0-7_]+|[0-9_]+)")

Path_ = tuple[Any, ...]


@dataclass
class Located:
    """Plain data and where each piece of it came from (1-based line and column)."""

    file: str
    data: Any
    values: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    nodes: int = 0  # values in the YAML, aliases expanded (what yaml_nodes bounds)

    def where(self, path: Path_, key: bool = False) -> tuple[int | None, int | None]:
        """Position of `path`, or of its nearest located ancestor."""
        p = tuple(path)
        if key and p in self.keys:
            return self.keys[p]
        while p:
            if p in self.values:
                return self.values[p]
            if p in self.keys:
                return self.keys[p]
            p = p[:-1]
        return self.values.get((), (None, None))

    def issue(self, path: Path_, message: str, hint: str = "", key: bool = False) -> Issue:
        line, col = self.where(path, key)
        return Issue(self.file, line, col, message, hint)


def _quoted(node: Any) -> int:
    """1 for a quoted string, whose text starts one column after its position."""
    return int(isinstance(node, SingleQuotedScalarString | DoubleQuotedScalarString))


def _text(s: str, path: Path_, out: Located) -> str:
    """A string as Unicode: YAML escapes such as "\\ud83d\\ude00" arrive as two surrogates,
    which are joined into one character; a lone surrogate is not a character and is refused."""
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        pass
    try:
        return s.encode("utf-16", "surrogatepass").decode("utf-16")
    except UnicodeDecodeError:
        line, col = out.where(path)
        raise SpecError([Issue(out.file, line, col, "a lone surrogate (\\ud800-\\udfff) is not "
                               "a character", "write the character itself, or a \\U escape")]) from None


def _plain(node: Any, path: Path_, out: Located) -> Any:
    if isinstance(node, CommentedMap):
        result = {}
        for k in node:
            if isinstance(k, CommentedMap | CommentedSeq):
                line, col = node.lc.line + 1, node.lc.col + 1
                raise SpecError([Issue(out.file, line, col, "a mapping key must be a plain value")])
            key = _text(str(k), path, out)
            if k in node.lc.data:  # keys merged in with `<<: *anchor` have no position here
                kl, kc, vl, vc = node.lc.data[k]
                out.keys[path + (key,)] = (kl + 1, kc + 1)
                out.values[path + (key,)] = (vl + 1, vc + 1 + _quoted(node[k]))
            result[key] = _plain(node[k], path + (key,), out)
        return result
    if isinstance(node, CommentedSeq):
        items = []
        for i, v in enumerate(node):
            if i in node.lc.data:
                il, ic = node.lc.data[i]
                out.values[path + (i,)] = (il + 1, ic + 1 + _quoted(v))
            items.append(_plain(v, path + (i,), out))
        return items
    if isinstance(node, TaggedScalar) or hasattr(node, "tag") and getattr(node.tag, "value", None):
        line, col = out.where(path)
        raise SpecError([Issue(out.file, line, col, "YAML tags are not allowed in a spec",
                               "remove the '!' tag; specs hold plain values only")])
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return _text(str(node), path, out)
    line, col = out.where(path)
    raise SpecError([Issue(out.file, line, col, f"unsupported YAML value {type(node).__name__}")])


def _events(text: str, fast: bool) -> Iterator[Any]:
    """YAML events from libyaml (C, ~1 us each) when PyYAML has it, else from ruamel."""
    if not fast or CBaseLoader is None:
        yield from YAML(typ="safe", pure=True).parse(text)
        return
    parser = CBaseLoader(text)
    try:
        while parser.check_event():
            yield parser.get_event()
    finally:
        parser.dispose()


def _scan(text: str, file: str, budgets: Budgets, fast: bool = True) -> int:
    """Count the document's values (keys included, aliases expanded) and stop at the
    yaml_nodes budget, before anything is built; refuse tags, deep nesting, huge integers."""
    def fail(ev: Any, message: str, hint: str = "") -> SpecError:
        mark = getattr(ev, "start_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        return SpecError([Issue(file, line, col, message, hint)])

    count = 0
    sizes: dict[str, int] = {}  # anchor -> values it stands for
    open_: list[tuple[str | None, int]] = []
    for ev in _events(text, fast):
        kind = type(ev).__name__
        if kind in ("ScalarEvent", "SequenceStartEvent", "MappingStartEvent"):
            if getattr(ev, "tag", None):
                raise fail(ev, f"YAML tags are not allowed in a spec ({ev.tag})",
                           "remove the '!' tag; specs hold plain values only")
            count += 1
            if kind == "ScalarEvent":
                if ev.anchor:
                    sizes[ev.anchor] = 1
                value = ev.value
                if not ev.style and len(value) > MAX_DIGITS and _INTEGER.fullmatch(value):
                    raise fail(ev, f"a number with {len(value)} digits",
                               f"integers have at most {MAX_DIGITS} digits")
            else:
                open_.append((ev.anchor, count - 1))
                if len(open_) > MAX_DEPTH:
                    raise fail(ev, f"lists and mappings nested deeper than {MAX_DEPTH} levels")
        elif kind in ("SequenceEndEvent", "MappingEndEvent") and open_:
            anchor, start = open_.pop()
            if anchor:
                sizes[anchor] = count - start
        elif kind == "AliasEvent":
            count += sizes.get(ev.anchor, 1)
        if count > budgets.yaml_nodes:
            raise fail(ev, f"the YAML holds more than {budgets.yaml_nodes:,} values "
                       "(aliases expanded)", budgets.hint("yaml_nodes"))
    return count


def load_text(text: str, file: str, budgets: Budgets = DEFAULT) -> Located:
    if len(text) > budgets.spec_bytes or len(text.encode("utf-8", "surrogatepass")) > budgets.spec_bytes:
        raise SpecError([Issue(file, None, None, f"the spec is larger than {budgets.spec_bytes:,} bytes",
                               budgets.hint("spec_bytes"))])
    nodes = 0
    try:
        nodes = _scan(text, file, budgets)
    except UnicodeEncodeError as e:
        at_line = text.count("\n", 0, e.start) + 1
        at_col = e.start - (text.rfind("\n", 0, e.start) + 1) + 1
        raise SpecError([Issue(file, at_line, at_col, "the text holds a lone surrogate "
                               f"({text[e.start]!a}), which is not a character")]) from None
    except PyYAMLError:  # libyaml cannot read it: count with ruamel's (slower) events instead
        try:
            nodes = _scan(text, file, budgets, fast=False)
        except YAMLError:
            pass  # not YAML: the load below reports where
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    yaml.preserve_quotes = True  # so positions inside quoted strings (expressions) are exact
    try:
        raw = yaml.load(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        msg = " ".join(str(x) for x in (e.context, e.problem) if x) or "invalid YAML"
        if "duplicate key" in msg:
            msg = msg.replace("while constructing a mapping", "").strip()
        raise SpecError([Issue(file, line, col, f"YAML syntax: {msg}",
                               "check indentation, colons and brackets near here")]) from None
    except (YAMLError, RecursionError, ValueError) as e:
        raise SpecError([Issue(file, None, None, f"YAML error: {e}")]) from None
    out = Located(file=file, data=None, nodes=nodes)
    out.values[()] = (1, 1)
    out.data = _plain(raw, (), out)
    return out


def load_file(path: str | Path, budgets: Budgets = DEFAULT, what: str = "spec") -> Located:
    """A YAML (or JSON) file: a spec, or a student's submission (`what` names it in messages),
    bounded by the spec_bytes and yaml_nodes budgets before anything is built."""
    p = Path(path)
    check_input_file(p, what, budgets.spec_bytes, budgets.hint("spec_bytes"))
    try:
        with p.open(encoding="utf-8") as fh:
            text = fh.read(budgets.spec_bytes + 1)  # the file may grow after the stat
    except FileNotFoundError:
        raise SpecError([Issue(str(path), None, None, "no such file")]) from None
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError([Issue(str(path), None, None, f"cannot read the {what}: {e}")]) from None
    return load_text(text, str(path), budgets)
