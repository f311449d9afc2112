"""Canvas QTI 1.2 (`--format canvas` -> canvas-qti.zip: imsmanifest.xml and one assessment):
one numerical question per entry of an asked value, with an explicit accepted range
(docs/lms.md)."""

from __future__ import annotations

import html
import io
import re
import zipfile
from decimal import Decimal
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

from .lms_numbers import (
    Names,
    Row,
    asked,
    canvas_bounds,
    canvas_scale,
    entry_points,
    ranges,
    scaled,
    text,
    unit_label,
)


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
                what = unit_label(name + (f" entry {where}" if where else ""), k)
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
