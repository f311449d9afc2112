"""Moodle XML (`--format moodle` -> moodle.xml): a question category per problem, in it one
Cloze question per version whose asked values are NUMERICAL boxes, one per entry of a
matrix, laid out as the matrix; the statement, the given values and the worked solution as
HTML around them, made safe from Moodle's Cloze parser (docs/lms.md)."""

from __future__ import annotations

import html
import re
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import numpy as np

from ..render.numbers import fmt
from .lms_numbers import (
    Names,
    Row,
    asked,
    entry_points,
    moodle_pair,
    moodle_scale,
    ranges,
    scaled,
    text,
    unit_label,
    weights,
)

# Moodle's Cloze parser (question/type/multianswer/questiontype.php) runs on the raw HTML and
# starts a sub-question only at a literal "{"; "{#n}" is its placeholder. As character
# references the browser and MathJax still see the characters, the parser does not.
_CLOZE = {"{": "&#123;", "}": "&#125;", "#": "&#35;", "~": "&#126;"}


def cloze_safe(markup: str) -> str:
    """HTML in which Moodle's Cloze parser finds no sub-question and no placeholder: every
    brace, ~ and # that is not part of a character reference becomes one."""
    return re.sub(r"[{}~]|(?<!&)#", lambda m: _CLOZE[m.group()], markup)


class Box(str):
    """A Cloze sub-question of ours: the one piece of question text not made cloze_safe."""


def cloze_text(pieces: list[str]) -> str:
    """The question text: our boxes as they are, everything else cloze_safe."""
    return "".join(p if isinstance(p, Box) else cloze_safe(p) for p in pieces)


def category_name(name: str) -> str:
    """One level of a Moodle category path (question/format.php assemble_category_path): a
    "/" is written "//", a name starting or ending in "/" is padded with a space (Moodle trims
    it). A level named "top" would be skipped on import, so it gets a suffix."""
    s = name.strip()
    if s in ("", "top"):
        s = (s + " exam").strip()
    s = s.replace("/", "//")
    return (" " if s.startswith("/") else "") + s + (" " if s.endswith("/") else "")


def _cdata(s: str) -> str:
    return "<![CDATA[" + s.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _number_html(x: float, digits: int) -> str:
    t = fmt(x, digits).replace("\\times ", "×")
    return re.sub(r"10\^\{(-?\d+)\}", r"10<sup>\1</sup>", t)


def _given_html(given: list[list[Any]]) -> str:
    parts = []
    for name, value, digits in given:
        a = np.asarray(value, dtype=float)
        a = a.reshape(1, -1) if a.ndim < 2 else a
        # a stack of maps (X [m, C, h, w]): one table per map, headed by its index
        for at in np.ndindex(*a.shape[:-2]):
            rows = "".join("<tr>" + "".join(f"<td>{_number_html(float(x), digits)}</td>"
                                             for x in r) + "</tr>" for r in a[at])
            label = name + ("[" + ", ".join(str(i + 1) for i in at) + "]" if at else "")
            parts.append(f"<p>{html.escape(label)} =</p><table border=\"1\">{rows}</table>")
    return "".join(parts)


def _prose(statement: str) -> str:
    """Prose for an HTML question, read by the same parser as the PDF's (spec/prose.py):
    text escaped and marked for MathJax to skip (a \\( typed in text is not math, and could
    hold \\href), math, checked at load against the whitelist, kept as \\(...\\) or \\[...\\]."""
    from ..spec.prose import Node, parse

    def inline(nodes: tuple[Node, ...]) -> str:
        out = []
        for n in nodes:
            if n.kind == "math":
                out.append(r"\(" + html.escape(n.text) + r"\)")
            elif n.kind == "display":
                out.append(r"\[" + html.escape(n.text) + r"\]")
            elif n.kind in ("strong", "em"):
                tag = "strong" if n.kind == "strong" else "em"
                out.append(f"<{tag}>{inline(n.children)}</{tag}>")
            elif n.kind == "break":
                out.append(" ")
            elif n.text:
                out.append(f'<span class="tex2jax_ignore mathjax_ignore">{html.escape(n.text)}'
                           "</span>")
        return "".join(out)

    def blocks(nodes: tuple[Node, ...]) -> str:
        out = []
        for n in nodes:
            if n.kind == "para":
                out.append(f"<p>{inline(n.children)}</p>")
            elif n.kind in ("bullets", "numbers"):
                tag = "ul" if n.kind == "bullets" else "ol"
                out.append(f"<{tag}>" + "".join(f"<li>{blocks(i.children)}</li>"
                                                for i in n.children) + f"</{tag}>")
        return "".join(out)

    return blocks(parse(str(statement))) if statement.strip() else ""


def moodle_xml(title: str, rows: list[Row], names: Names) -> str:
    out = ['<?xml version="1.0" encoding="UTF-8"?>', "<quiz>"]
    top = category_name(title)
    for pid in dict.fromkeys(p for p, _, _ in (asked(rows[0], names) if rows else [])):
        path = f"$course$/top/{top}/{category_name(pid)}"
        out.append(f'<question type="category"><category><text>{xml_escape(path)}</text>'
                   "</category></question>")
        for row in rows:
            ask = asked(row, names)
            w = weights(entry_points(row["points"], row["answers"], ask))
            pieces: list[str] = [_prose(row.get("text", {}).get(pid, "")),
                                 _given_html(row.get("given", {}).get(pid, []))]
            for p, name, digits in ask:
                if p != pid:
                    continue
                v = row["answers"]["problems"][pid][name]
                shape, k = np.shape(v), moodle_scale(v)
                cols = shape[-1] if len(shape) >= 2 else max(int(np.size(v)), 1)
                pieces.append(f"<p>{html.escape(unit_label(name, k))} =</p><table>")
                ents = {e[0]: e for e in ranges(row["answers"], pid, name, digits)}
                for i, idx in enumerate(np.ndindex(shape)):
                    if idx not in ents:  # a causal mask's -infinity: no answer asked
                        pieces += ["<tr>" * (i % cols == 0) + "<td>&minus;&infin;",
                                   "</td>" + "</tr>" * ((i + 1) % cols == 0)]
                        continue
                    _, _, lo, hi, _ = ents[idx]
                    a, t = moodle_pair(scaled(lo, k), scaled(hi, k))
                    pieces += ["<tr>" * (i % cols == 0) + "<td>",
                               Box(f"{{{w[(pid, name)]}:NUMERICAL:={text(a)}:{text(t)}}}"),
                               "</td>" + "</tr>" * ((i + 1) % cols == 0)]
                pieces.append("</table>")
            out.append(
                '<question type="cloze"><name><text>'
                f"{xml_escape(pid)} {xml_escape(row['label'])}</text></name>"
                f'<questiontext format="html"><text>{_cdata(cloze_text(pieces))}</text>'
                '</questiontext><generalfeedback format="html"><text>'
                + _cdata(_feedback(row.get("feedback", {}).get(pid, []), row["label"]))
                + "</text></generalfeedback></question>")
    out.append("</quiz>")
    return "\n".join(out) + "\n"


FEEDBACK_CHARS = 30_000  # longer worked solutions are left to the key PDF


def _feedback(steps: list[str], label: str) -> str:
    """The worked solution as display math for the LMS's MathJax filter, when it fits;
    cloze_safe like the question text (Moodle does not parse it for sub-questions today)."""
    body = cloze_safe("".join(f"<p>\\[{html.escape(t)}\\]</p>" for t in steps))
    if steps and len(body) <= FEEDBACK_CHARS:
        return "<p>Worked solution:</p>" + body
    return f"<p>The worked solution is in the answer key of version {html.escape(label)}.</p>"
