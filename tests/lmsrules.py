"""How the LMSs read what nnreport exports, re-implemented in Python from their source code
(no Moodle or Canvas runs here). Each function names the file it follows.

Moodle (moodle/moodle, 4.x-5.x):
- question/type/multianswer/questiontype.php: the Cloze sub-question regexes (ANSWER_REGEX,
  NUMERICAL_ALTERNATIVE_REGEX) and qtype_multianswer_extract_question's loop;
- question/type/numerical/question.php: qtype_numerical_answer::get_tolerance_interval
  (tolerance type 2, nominal, the one Cloze NUMERICAL uses) and within_tolerance;
- question/format.php: split_category_path and create_category_path.

Canvas (instructure/QTIMigrationTool lib/imsqtiv1.py, then canvas-lms
gems/plugins/qti_exporter/lib/qti/numeric_interaction.rb, assessment_item_converter.rb,
app/models/quizzes/quiz_question/numerical_question.rb, ui/features/take_quiz/jquery/index.js).
"""

from __future__ import annotations

import html
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

# --- Moodle: question/type/multianswer/questiontype.php ----------------------------------
# PHP's lookbehind (?<!\\|&|&amp;) has alternatives of different lengths, which Python's re
# does not allow: three lookbehinds side by side mean the same.
FRACTION = r"=|%(-?[0-9]+(?:[.,][0-9]*)?)%"
ANSWER = r".+?(?<!\\)(?<!&)(?<!&amp;)(?=[~#}]|$)"
FEEDBACK = r".*?(?<!\\)(?=[~}]|$)"
ALTERNATIVE = "(" + FRACTION + ")?(" + ANSWER + ")(#(" + FEEDBACK + "))?"
NUMBER = r"-?(([0-9]+[.,]?[0-9]*|[.,][0-9]+)([eE][-+]?[0-9]+)?)"
NUMERICAL_ALTERNATIVE = "^(" + NUMBER + ")(:" + NUMBER + ")?$"
TYPES = ("(NUMERICAL|NM)|(MULTICHOICE|MC)|(MULTICHOICE_V|MCV)|(MULTICHOICE_H|MCH)|"
         "(SHORTANSWER|SA|MW)|(SHORTANSWER_C|SAC|MWC)|"
         "(MULTICHOICE_S|MCS)|(MULTICHOICE_VS|MCVS)|(MULTICHOICE_HS|MCHS)|"
         "(MULTIRESPONSE|MR)|(MULTIRESPONSE_H|MRH)|(MULTIRESPONSE_S|MRS)|(MULTIRESPONSE_HS|MRHS)")
ANSWER_REGEX = (r"\{([0-9]*):(" + TYPES + "):(" + ALTERNATIVE + "(~" + ALTERNATIVE + r")*)\}")
PLACEHOLDER = r"\{#(\d+)\}"   # qtype_multianswer::initialise_question_instance's split


def cloze_subquestions(text: str) -> tuple[str, list[dict[str, Any]]]:
    """qtype_multianswer_extract_question: (the text with {#n} placeholders, the
    sub-questions: weight, numerical or not, alternatives (fraction, answer, tolerance))."""
    subs = []
    position = 1
    while m := re.search(ANSWER_REGEX, text, re.S):
        numerical = bool(m.group(3))
        alternatives = []
        remaining = m.group(16)
        while a := re.search("~?" + ALTERNATIVE, remaining, re.S):
            fraction = 1.0 if a.group(1) == "=" else (
                0.01 * float(a.group(2).replace(",", ".")) if a.group(2) else 0.0)
            n = re.search(NUMERICAL_ALTERNATIVE, a.group(3), re.S) if numerical else None
            if n:
                answer, tolerance = n.group(1), n.group(6) if n.group(6) is not None else "0"
            else:
                answer = html.unescape(a.group(3)).replace("\\}", "}").replace("\\#", "#")
                tolerance = None
            alternatives.append({"fraction": fraction, "answer": answer, "tolerance": tolerance})
            remaining = remaining.split(a.group(0), 1)[1]
        subs.append({"weight": int(m.group(1)) if m.group(1) != "" else 1,
                     "numerical": numerical, "alternatives": alternatives})
        text = f"{{#{position}}}".join(text.split(m.group(0), 1))
        position += 1
    return text, subs


def placeholders(stored: str) -> list[int]:
    """The {#n} places the renderer splits the stored text at."""
    return [int(n) for n in re.findall(PLACEHOLDER, stored)]


# --- Moodle: question/type/numerical/question.php ----------------------------------------
PHP_PRECISION = 14   # PHP's default ini precision; epsilon = 10^-precision


def tolerance_interval(answer: str, tolerance: str) -> tuple[float, float]:
    """get_tolerance_interval, tolerance type 2 (nominal): PHP reads both strings as floats;
    the interval is answer -+ (tolerance + eps * max(|tolerance|, |answer|, eps))."""
    a, t = float(answer), abs(float(tolerance))
    eps = 10.0 ** -PHP_PRECISION
    t = t + eps * max(abs(t), abs(a), eps)
    return a - t, a + t


def within_tolerance(answer: str, tolerance: str, value: float) -> bool:
    lo, hi = tolerance_interval(answer, tolerance)
    return lo <= value <= hi


# --- Moodle: question/format.php ---------------------------------------------------------
def split_category_path(path: str) -> list[str]:
    """split_category_path (clean_param PARAM_TEXT, which strips HTML tags, not applied)."""
    return [name.replace("//", "/").strip() for name in re.split(r"(?<!/)/(?!/)", path)]


def category_levels(path: str) -> list[str]:
    """create_category_path: the context marker dropped, 'top' put first unless it is there
    with at least two levels below; a later level named 'top' is skipped."""
    names = split_category_path(path)
    if re.fullmatch(r"\$([a-z]+)\$", names[0]):
        names = names[1:]
    if names and (names[0] != "top" or len(names) < 3):
        names.insert(0, "top")
    return names[:1] + [n for n in names[1:] if n != "top"]


# --- Canvas -------------------------------------------------------------------------------
def ruby_to_f(s: str | None) -> float:
    """Ruby String#to_f: the longest leading number, else 0.0 ("2,5" is 2.0)."""
    m = re.match(r"\s*[-+]?(\d[\d_]*)?(\.\d+)?([eE][-+]?\d+)?", s or "")
    text = m.group(0).replace("_", "").strip() if m else ""
    try:
        return float(text) if text not in ("", "+", "-") else 0.0
    except ValueError:
        return 0.0


def _local(el: Any) -> str:
    return el.tag.split("}", 1)[-1] if isinstance(el.tag, str) else ""


def canvas_answers(item: Any) -> list[dict[str, Any]]:
    """A QTI 1.2 numerical item as Canvas imports it. QTIMigrationTool (lib/imsqtiv1.py)
    makes <response_str> a string response: varequal -> stringMatch, vargte/varlte ->
    customOperator, several conditions -> an implicit <and>. numeric_interaction.rb
    get_canvas_answers then reads each respcondition: an <or> -> exact answer (varequal, margin
    varlte - varequal; vargte is never read); else an <and> -> range answer start=vargte.to_f,
    end=varlte.to_f; a bare varequal or strict vargt/varlt -> no answer."""
    out = []
    for cond in item.iter("{*}conditionvar"):
        kids = [k for k in cond if isinstance(k.tag, str)]
        found = {_local(e): e for e in cond.iter() if isinstance(e.tag, str)}
        answer: dict[str, Any] = {}
        if "or" in found:
            if "varequal" not in found:
                continue
            answer = {"type": "exact_answer", "exact": ruby_to_f(found["varequal"].text)}
            if "varlte" in found:
                answer["margin"] = float(Decimal(found["varlte"].text)
                                         - Decimal(found["varequal"].text))
        elif "and" in found or len(kids) > 1:
            answer = {"type": "range_answer"}
            if "vargte" in found:
                answer["start"] = ruby_to_f(found["vargte"].text)
            if "varlte" in found:
                answer["end"] = ruby_to_f(found["varlte"].text)
            if "start" not in answer and "end" not in answer:
                continue
        else:
            continue
        out.append(answer)
    return out


def canvas_points(item: Any) -> float:
    """assessment_item_converter.rb: points_possible = [to_f, 0].max, 1 when missing."""
    for field in item.iter("{*}qtimetadatafield"):
        if field.findtext("{*}fieldlabel").lower().removeprefix("qmd_") == "points_possible":
            return max(ruby_to_f(field.findtext("{*}fieldentry")), 0.0)
    return 1.0


def _big(x: float) -> Decimal:
    """BigDecimal(float.to_s): Ruby's Float#to_s is the shortest round-trip decimal."""
    return Decimal(repr(float(x)))


def canvas_grades(answers: list[dict[str, Any]], typed: str) -> bool:
    """numerical_question.rb correct_answer_parts: BigDecimal of the posted text against each
    answer; a range is FlexRange (sorted ends, inclusive), an exact answer |x - exact| <= m."""
    x = Decimal(typed)
    for a in answers:
        if a["type"] == "exact_answer":
            v, m = _big(a["exact"]), _big(a.get("margin", 0.0))
            if v - m <= x <= v + m:
                return True
        elif a["type"] == "range_answer":
            lo, hi = sorted([_big(a.get("start", 0.0)), _big(a.get("end", 0.0))])
            if lo <= x <= hi:
                return True
    return False


def quiz_page(typed: float) -> str:
    """What Canvas's quiz page posts for a typed number (take_quiz/jquery/index.js):
    val.toFixed(4), insignificant zeros stripped. JS toFixed rounds the double's exact value
    to 4 decimals, a tie to the larger magnitude."""
    d = Decimal(typed).quantize(Decimal("1e-4"), rounding=ROUND_HALF_UP)
    s = format(d, "f").rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s
