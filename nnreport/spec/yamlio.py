"""Read YAML 1.2 safely (ruamel.yaml) into plain Python values plus a map of positions.

Positions let every later error say file:line:col. Tags that would construct objects are
refused, and so are documents that expand past a node budget (billion laughs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from ..errors import Issue, SpecError

MAX_NODES = 200_000
MAX_BYTES = 5_000_000

Path_ = tuple[Any, ...]


@dataclass
class Located:
    """Plain data and where each piece of it came from (1-based line and column)."""

    file: str
    data: Any
    values: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)

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


class _Budget:
    def __init__(self, file: str):
        self.left = MAX_NODES
        self.file = file

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise SpecError([Issue(self.file, None, None,
                                   f"the YAML expands to more than {MAX_NODES} values",
                                   "anchors and aliases that multiply (a 'YAML bomb') are refused")])


def _plain(node: Any, path: Path_, out: Located, budget: _Budget) -> Any:
    budget.spend()
    if isinstance(node, CommentedMap):
        result = {}
        for k in node:
            if isinstance(k, CommentedMap | CommentedSeq):
                line, col = node.lc.line + 1, node.lc.col + 1
                raise SpecError([Issue(out.file, line, col, "a mapping key must be a plain value")])
            kl, kc = node.lc.key(k)
            vl, vc = node.lc.value(k)
            key = str(k) if not isinstance(k, str) else k
            out.keys[path + (key,)] = (kl + 1, kc + 1)
            out.values[path + (key,)] = (vl + 1, vc + 1)
            result[key] = _plain(node[k], path + (key,), out, budget)
        return result
    if isinstance(node, CommentedSeq):
        items = []
        for i, v in enumerate(node):
            il, ic = node.lc.item(i)
            out.values[path + (i,)] = (il + 1, ic + 1)
            items.append(_plain(v, path + (i,), out, budget))
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
        return str(node)
    line, col = out.where(path)
    raise SpecError([Issue(out.file, line, col, f"unsupported YAML value {type(node).__name__}")])


def load_text(text: str, file: str) -> Located:
    if len(text) > MAX_BYTES:
        raise SpecError([Issue(file, None, None, f"spec larger than {MAX_BYTES} bytes")])
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
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
    except (YAMLError, RecursionError) as e:
        raise SpecError([Issue(file, None, None, f"YAML error: {e}")]) from None
    out = Located(file=file, data=None)
    out.values[()] = (1, 1)
    out.data = _plain(raw, (), out, _Budget(file))
    return out


def load_file(path: str | Path) -> Located:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([Issue(str(path), None, None, "no such file")]) from None
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError([Issue(str(path), None, None, f"cannot read the spec: {e}")]) from None
    return load_text(text, str(path))
