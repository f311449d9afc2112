"""Every version to the course's LMS, from the same answers as answers.json:

- Moodle XML (`--format moodle` -> moodle.xml): a question category per problem, in it one
  Cloze question per version whose asked values are NUMERICAL boxes, one per entry of a
  matrix, laid out as the matrix;
- Canvas QTI 1.2 (`--format canvas` -> canvas-qti.zip: imsmanifest.xml and one assessment):
  one numerical question per entry, with an explicit accepted range.

Each entry's accepted range is the derived one of `rounding: chain` (engine/chain.py) or, for
`full`, one unit either side in the last printed digit. A value whose entries are tiny or huge
is asked in units of a power of ten that the prompt states ("in units of 10^-5"), so no LMS
has to compare numbers below 1e-4."""

from __future__ import annotations

import html
import io
import math
import re
import zipfile
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import numpy as np

from .render.numbers import fmt

Row = dict[str, Any]


def scale_of(a: np.ndarray) -> int:
    """The power of ten a value is asked in: 0 unless its largest entry is below 0.01 or
    at least 10^5."""
    top = float(np.max(np.abs(a))) if a.size else 0.0
    if top == 0 or 1e-2 <= top < 1e5:
        return 0
    return int(math.floor(math.log10(top)))


def entries(row: Row, pid: str, name: str, digits: int) -> tuple[int, list[tuple[tuple[int, ...], float, float, float]]]:
    """(power of ten, [(index, value, low, high)]) of one asked value, in the asked units."""
    v = np.atleast_1d(np.asarray(row["answers"]["problems"][pid][name], dtype=float))
    tol = row["answers"].get("tolerance", {}).get(pid, {}).get(name)
    if tol is not None:
        lo = np.atleast_1d(np.asarray(tol["low"], dtype=float)).reshape(v.shape)
        hi = np.atleast_1d(np.asarray(tol["high"], dtype=float)).reshape(v.shape)
    else:
        with np.errstate(divide="ignore"):
            e = np.floor(np.log10(np.where(v != 0, np.abs(v), 1.0)))
        u = np.where(v != 0, 10.0 ** (e - digits + 1), 10.0 ** (-digits))
        lo, hi = v - u, v + u
    k = scale_of(v)
    f = 10.0 ** -k
    return k, [(idx, float(v[idx]) * f, float(lo[idx]) * f, float(hi[idx]) * f)
               for idx in np.ndindex(v.shape)]


def _wide(x: float) -> float:
    """A tolerance at 3 significant digits, rounded up (never narrower than derived)."""
    if x <= 0:
        return 0.0
    e = math.floor(math.log10(x)) - 2
    return math.ceil(x / 10.0**e) * 10.0**e


def _label(name: str, k: int) -> str:
    return name + (f" (in units of 10^{k})" if k else "")


def _given_html(given: list[list[Any]]) -> str:
    parts = []
    for name, value, digits in given:
        a = np.asarray(value, dtype=float)
        a = a.reshape(1, -1) if a.ndim < 2 else a
        rows = "".join("<tr>" + "".join(f"<td>{fmt(float(x), digits).replace(chr(92) + 'times ', '×')}"
                                         "</td>" for x in r) + "</tr>" for r in a)
        parts.append(f"<p>{html.escape(name)} =</p><table border=\"1\">{rows}</table>")
    return "".join(parts)


def _text(statement: str) -> str:
    """Prose for an HTML question: escaped, $...$ math kept for the LMS's MathJax as \\(...\\)."""
    t = html.escape(statement)
    return re.sub(r"\$([^$]*)\$", lambda m: r"\(" + m.group(1) + r"\)", t)


def moodle_xml(title: str, rows: list[Row], names: list[tuple[str, str, int]]) -> str:
    out = ['<?xml version="1.0" encoding="UTF-8"?>', "<quiz>"]
    for pid in dict.fromkeys(p for p, _, _ in names):
        out.append(f'<question type="category"><category><text>$course$/top/'
                   f"{xml_escape(title)}/{xml_escape(pid)}</text></category></question>")
        for row in rows:
            body = [_text(row.get("text", {}).get(pid, "")),
                    _given_html(row.get("given", {}).get(pid, []))]
            for p, name, digits in names:
                if p != pid:
                    continue
                k, ents = entries(row, pid, name, digits)
                shape = np.shape(row["answers"]["problems"][pid][name])
                cols = shape[-1] if len(shape) == 2 else max(len(ents), 1)
                cells = [f"{{1:NUMERICAL:={v!r}:{_wide(max(hi - v, v - lo))!r}}}"
                         for _, v, lo, hi in ents]
                grid = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in cells[i:i + cols])
                               + "</tr>" for i in range(0, len(cells), cols))
                body.append(f"<p>{html.escape(_label(name, k))} =</p><table>{grid}</table>")
            out.append(
                '<question type="cloze"><name><text>'
                f"{xml_escape(pid)} {xml_escape(row['label'])}</text></name>"
                f'<questiontext format="html"><text><![CDATA[{"".join(body)}]]></text></questiontext>'
                '<generalfeedback format="html"><text><![CDATA['
                + _feedback(row.get("feedback", {}).get(pid, []), row["label"])
                + "]]></text></generalfeedback>"
                "</question>")
    out.append("</quiz>")
    return "\n".join(out) + "\n"


def _item(ident: str, title: str, prompt: str, v: float, lo: float, hi: float) -> str:
    return (
        f'<item ident="{ident}" title="{xml_escape(title)}"><itemmetadata><qtimetadata>'
        "<qtimetadatafield><fieldlabel>question_type</fieldlabel><fieldentry>numerical_question"
        "</fieldentry></qtimetadatafield><qtimetadatafield><fieldlabel>points_possible"
        "</fieldlabel><fieldentry>1.0</fieldentry></qtimetadatafield></qtimetadata></itemmetadata>"
        f'<presentation><material><mattext texttype="text/html">{xml_escape(prompt)}</mattext>'
        '</material><response_str ident="response1" rcardinality="Single"><render_fib '
        'fibtype="Decimal"><response_label ident="answer1"/></render_fib></response_str>'
        '</presentation><resprocessing><outcomes><decvar maxvalue="100" minvalue="0" '
        'varname="SCORE" vartype="Decimal"/></outcomes><respcondition continue="No">'
        f'<conditionvar><or><varequal respident="response1">{v!r}</varequal><and>'
        f'<vargte respident="response1">{lo!r}</vargte><varlte respident="response1">{hi!r}'
        '</varlte></and></or></conditionvar><setvar action="Set" varname="SCORE">100</setvar>'
        "</respcondition></resprocessing></item>")


def canvas_zip(title: str, rows: list[Row], names: list[tuple[str, str, int]]) -> bytes:
    items = []
    for row in rows:
        for pid, name, digits in names:
            k, ents = entries(row, pid, name, digits)
            for idx, v, lo, hi in ents:
                where = "" if len(ents) == 1 else "[" + ", ".join(str(i + 1) for i in idx) + "]"
                prompt = (f"<p>Version {row['label']}, problem {pid}: enter "
                          f"{_label(name, k)}{' entry ' + where if where else ''}.</p>")
                ident = f"{row['label']}-{pid}-{name}-{'-'.join(map(str, idx)) or '0'}"
                items.append(_item(re.sub(r"[^A-Za-z0-9_-]", "_", ident),
                                   f"{row['label']} {pid}.{name}{where}", prompt, v, lo, hi))
    assessment = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<questestinterop xmlns="http://www.imsglobal.org'
        '/xsd/ims_qtiasiv1p2"><assessment ident="nnreport_assessment" title="'
        f'{xml_escape(title)}"><section ident="root_section">' + "".join(items)
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
    """The worked solution as display math for the LMS's MathJax filter, when it fits."""
    body = "".join(f"<p>\\[{html.escape(t)}\\]</p>" for t in steps)
    if steps and len(body) <= FEEDBACK_CHARS:
        return "<p>Worked solution:</p>" + body
    return f"<p>The worked solution is in the answer key of version {html.escape(label)}.</p>"


def feedback_of(doc: Any, solutions: dict[str, Any]) -> dict[str, list[str]]:
    """Each problem's worked steps as LaTeX (the key's own lines, one aligned block a step)."""
    from .document.lines import rows
    from .document.tex import problem_docs

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
