"""Every version to the course's LMS, from the same answers as answers.json:

- Moodle XML (`--format moodle` -> moodle.xml): a question category per problem, in it one
  Cloze question per version whose asked values are NUMERICAL boxes, one per entry of a
  matrix, laid out as the matrix;
- Canvas QTI 1.2 (`--format canvas` -> canvas-qti.zip: imsmanifest.xml and one assessment):
  one numerical question per entry, with an explicit accepted range.

The LMS asks the values the question sheet grades (grading.points_of), each entry worth its
value's points divided by its entries. The accepted ranges, the digits written, the powers of
ten and the weights are lmsnumbers.py's. What the importers do with each field, from their
source code, is in docs/lms.md."""

from __future__ import annotations

import html
import io
import re
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

import numpy as np

from ..render.numbers import fmt
from .lms_numbers import (
    canvas_bounds,
    canvas_scale,
    entry_points,
    moodle_pair,
    moodle_scale,
    ranges,
    scaled,
    text,
    weights,
)

Row = dict[str, Any]
Names = list[tuple[str, str, int]]

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


def asked(row: Row, names: Names) -> Names:
    """The values the LMS asks: those the question sheet gives points."""
    pts = row.get("points", {})
    return [(p, n, d) for p, n, d in names if pts.get(p, {}).get(n, 0) > 0]


def _label(name: str, k: int) -> str:
    return name + (f" (in units of 10^{k})" if k else "")


def _number_html(x: float, digits: int) -> str:
    t = fmt(x, digits).replace("\\times ", "×")
    return re.sub(r"10\^\{(-?\d+)\}", r"10<sup>\1</sup>", t)


def _given_html(given: list[list[Any]]) -> str:
    parts = []
    for name, value, digits in given:
        a = np.asarray(value, dtype=float)
        a = a.reshape(1, -1) if a.ndim < 2 else a
        rows = "".join("<tr>" + "".join(f"<td>{_number_html(float(x), digits)}</td>"
                                         for x in r) + "</tr>" for r in a)
        parts.append(f"<p>{html.escape(name)} =</p><table border=\"1\">{rows}</table>")
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
                pieces.append(f"<p>{html.escape(_label(name, k))} =</p><table>")
                for i, (_, _, lo, hi, _) in enumerate(ranges(row["answers"], pid, name, digits)):
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


def _item(ident: str, title: str, prompt: str, points: str, lo: str, hi: str) -> str:
    """One Canvas numerical question accepting the range [lo, hi]: vargte and varlte alone
    (no varequal, no <or>), which Canvas imports as a range answer (docs/lms.md)."""
    return (
        f"<item ident={quoteattr(ident)} title={quoteattr(title)}><itemmetadata><qtimetadata>"
        "<qtimetadatafield><fieldlabel>question_type</fieldlabel><fieldentry>numerical_question"
        "</fieldentry></qtimetadatafield><qtimetadatafield><fieldlabel>points_possible"
        f"</fieldlabel><fieldentry>{points}</fieldentry></qtimetadatafield></qtimetadata>"
        f'</itemmetadata><presentation><material><mattext texttype="text/html">'
        f"{xml_escape(prompt)}</mattext></material><response_str ident=\"response1\" "
        'rcardinality="Single"><render_fib fibtype="Decimal"><response_label ident="answer1"/>'
        '</render_fib></response_str></presentation><resprocessing><outcomes><decvar '
        'maxvalue="100" minvalue="0" varname="SCORE" vartype="Decimal"/></outcomes>'
        '<respcondition continue="No"><conditionvar>'
        f'<vargte respident="response1">{lo}</vargte><varlte respident="response1">{hi}</varlte>'
        '</conditionvar><setvar action="Set" varname="SCORE">100</setvar></respcondition>'
        "</resprocessing></item>")


def canvas_zip(title: str, rows: list[Row], names: Names) -> bytes:
    items = []
    for row in rows:
        ask = asked(row, names)
        share = entry_points(row["points"], row["answers"], ask)
        for pid, name, digits in ask:
            ents = ranges(row["answers"], pid, name, digits)
            for idx, x, lo, hi, u in ents:
                k = canvas_scale(x, u)
                a, b = canvas_bounds(scaled(lo, k), scaled(hi, k))
                where = "" if len(ents) == 1 else "[" + ", ".join(str(i + 1) for i in idx) + "]"
                what = _label(name + (f" entry {where}" if where else ""), k)
                prompt = (f"<p>Version {html.escape(row['label'])}, problem {html.escape(pid)}: "
                          f"enter {html.escape(what)}.</p>")
                ident = f"{row['label']}-{pid}-{name}-{'-'.join(map(str, idx)) or '0'}"
                items.append(_item(re.sub(r"[^A-Za-z0-9_-]", "_", ident),
                                   f"{row['label']} {pid}.{name}{where}", prompt,
                                   text(Decimal(repr(float(share[(pid, name)])))), text(a),
                                   text(b)))
    assessment = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<questestinterop xmlns="http://www.imsglobal.org'
        '/xsd/ims_qtiasiv1p2"><assessment ident="nnreport_assessment" title='
        f'{quoteattr(title)}><section ident="root_section">' + "".join(items)
        + "</section></assessment></questestinterop>\n")
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<manifest identifier="nnreport_manifest" '
        'xmlns="http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1"><metadata><schema>IMS Content'
        "</schema><schemaversion>1.1.3</schemaversion></metadata><organizations/><resources>"
        '<resource identifier="nnreport_assessment" type="imsqti_xmlv1p2">'
        '<file href="nnreport_assessment/nnreport_assessment.xml"/></resource></resources>'
        "</manifest>\n")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("imsmanifest.xml", manifest)
        z.writestr("nnreport_assessment/nnreport_assessment.xml", assessment)
    return buf.getvalue()


FEEDBACK_CHARS = 30_000  # longer worked solutions are left to the key PDF


def _feedback(steps: list[str], label: str) -> str:
    """The worked solution as display math for the LMS's MathJax filter, when it fits;
    cloze_safe like the question text (Moodle does not parse it for sub-questions today)."""
    body = cloze_safe("".join(f"<p>\\[{html.escape(t)}\\]</p>" for t in steps))
    if steps and len(body) <= FEEDBACK_CHARS:
        return "<p>Worked solution:</p>" + body
    return f"<p>The worked solution is in the answer key of version {html.escape(label)}.</p>"


def statements(doc: Any, solutions: dict[str, Any]) -> dict[str, str]:
    """Each problem's text with its placeholders filled, as the PDF prints them."""
    from ..document.placeholders import fill, scalars

    values = scalars(doc, solutions)
    return {p.id: fill(p.text or "", values, p.digits) for p in doc.problems}


def points_table(doc: Any, solutions: dict[str, Any]) -> dict[str, dict[str, float]]:
    """{problem: {value: points}} of the question sheet's marking (grading.points_of)."""
    from .grading import points_of

    out: dict[str, dict[str, float]] = {}
    for (pid, name), p in points_of(doc, solutions).items():
        out.setdefault(pid, {})[name] = p
    return out


def feedback_of(doc: Any, solutions: dict[str, Any]) -> dict[str, list[str]]:
    """Each problem's worked steps as LaTeX (the key's own lines, one aligned block a step)."""
    from ..document.lines import rows
    from ..document.tex import problem_docs

    out: dict[str, list[str]] = {}
    for p in problem_docs(doc, solutions, {}):
        lines = []
        for part in p.parts:
            for item in part.items:
                for st in getattr(item, "steps", []):
                    body = r" \\ ".join(r.split(r" \tag*")[0] for r in rows(st))
                    lines.append(r"\begin{aligned}" + body + r"\end{aligned}")
        out[p.id] = lines
    return out


def given_of(doc: Any) -> dict[str, list[list[Any]]]:
    """Each problem's given values as printed: [display name, value (shown layout), digits]."""
    out: dict[str, list[list[Any]]] = {}
    for s in doc.problems:
        if getattr(s, "kind", "") == "network":
            vals = [("X", s.X), ("Y", s.Y)] + [(k, v) for k, v in s.params.items()]
            show = [(n, v.T if s.layout == "columns" and v.ndim == 2 else v) for n, v in vals]
        else:
            show = list(s.given.items())
        out[s.id] = [[n, np.asarray(v, dtype=float).tolist(), s.digits] for n, v in show]
    return out


def lms_exports(doc: Any, rows: list[dict[str, Any]], names: list[tuple[str, str, int]],
                stage: Path, opts: Any) -> None:
    """moodle.xml and canvas-qti.zip of every version, when asked for (lms.py)."""
    if "moodle" in opts.formats:
        (stage / "moodle.xml").write_text(moodle_xml(doc.spec.title, rows, names), encoding="utf-8")
    if "canvas" in opts.formats:
        (stage / "canvas-qti.zip").write_bytes(canvas_zip(doc.spec.title, rows, names))


def write_single(doc: Any, solutions: dict[str, Any], stage: Path, opts: Any) -> list[str]:
    """moodle.xml / canvas-qti.zip of a single build: its one version."""
    if not any(f in opts.formats for f in ("moodle", "canvas")):
        return []
    from ..jsonout import answers_of
    from .grid import asked_names

    answers = answers_of(doc, solutions, raw=True)
    row = {"label": "v01", "answers": answers, "given": given_of(doc),
           "feedback": feedback_of(doc, solutions), "points": points_table(doc, solutions),
           "text": statements(doc, solutions), "student": ""}
    lms_exports(doc, [row], asked_names(doc, answers), stage, opts)
    return [f for f in ("moodle.xml", "canvas-qti.zip") if (stage / f).exists()]
