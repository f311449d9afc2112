"""Every string of a spec that reaches TeX is escaped or checked against a whitelist at load
time: forbidden math is a located spec error naming the macro, untypesettable characters are
refused, allowed math and every allowed character really compile, and no string of any kind
ends in a traceback or puts a private-use or control character in the .tex."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import unicodedata
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from nnreport.compile import compile_tex, tex_available
from nnreport.course.versions import from_roster
from nnreport.document.escape import escape, prose
from nnreport.document.tex import render
from nnreport.engine.solve import solve
from nnreport.errors import CompileError, SpecError
from nnreport.render.formulas import symbol
from nnreport.spec import loads
from nnreport.spec.texsafe import MATH_ENVIRONMENTS, MATH_MACROS, NAME, TYPESET

ROOT = Path(__file__).resolve().parents[1]
needs_tex = pytest.mark.skipif(not tex_available(), reason="TeX not installed")

TAIL = "    given: {a: 1}\n    compute: [{b: a + 1}]\n"


def with_text(text: str) -> str:
    """A spec whose problem text is `text`, single-quoted on line 4 from column 11."""
    return "title: T\nproblems:\n  - id: e\n    text: '" + text.replace("'", "''") + "'\n" + TAIL


def yq(s: str) -> str:
    """A YAML double-quoted scalar holding exactly `s` (JSON's escapes, and DEL escaped)."""
    return json.dumps(s).replace("\x7f", "\\x7f")


def refused(spec: str) -> list:
    with pytest.raises(SpecError) as info:
        loads(spec, "s.yaml")
    return info.value.issues


# ---- math in prose: each forbidden class, located, the macro named ----------------------------

FORBIDDEN = [  # (math, token named in the message, its offset inside the math)
    (r"\def\x{1}", r"\def", 0),
    (r"\edef\x{1}", r"\edef", 0),
    (r"\let\x=\y", r"\let", 0),
    (r"\csname input\endcsname", r"\csname", 0),
    (r"\catcode`\%=12", r"\catcode", 0),
    (r"x + \pdfobj stream file {/etc/passwd}", r"\pdfobj", 4),
    (r"\pdfximage{/etc/passwd}", r"\pdfximage", 0),
    (r"\pdfcatalog{/OpenAction << /S /JavaScript >>}", r"\pdfcatalog", 0),
    (r"\pdfannot{/Subtype /Link}", r"\pdfannot", 0),
    (r"\input{/etc/passwd}", r"\input", 0),
    (r"\include{x}", r"\include", 0),
    (r"\write18{ls}", r"\write", 0),
    (r"\openin1=x", r"\openin", 0),
    (r"\read1 to\x", r"\read", 0),
    (r"\immediate\write", r"\immediate", 0),
    (r"\special{ps: x}", r"\special", 0),
    (r"\shipout\hbox{}", r"\shipout", 0),
    (r"\directlua{os.exit()}", r"\directlua", 0),
    (r"\lowercase{x}", r"\lowercase", 0),
    (r"\uppercase{x}", r"\uppercase", 0),
    (r"\text{\input{x}}", r"\input", 6),
    (r"\frac{\csname x\endcsname}{2}", r"\csname", 6),
    (r"\hat{y} + \sqrt{\mathbf{\input x}}", r"\input", 24),
    (r"\verb|x|", r"\verb", 0),
    (r"\(x\)", r"\(", 0),
]


@pytest.mark.parametrize("math,token,at", FORBIDDEN)
def test_forbidden_macro_is_a_located_spec_error(math, token, at):
    issues = refused(with_text("See $" + math + "$ here."))
    first = issues[0]
    assert f"{token} is not allowed in math" in first.message
    assert "problems[0].text" in first.message and "docs/spec.md" in first.hint
    # line 4; column of the macro: 'text: ' quote at 11, "See $" is 5 characters
    assert (first.file, first.line) == ("s.yaml", 4)
    quotes = math[:at].count("'")
    assert first.col == 12 + 5 + at + quotes


@pytest.mark.parametrize("math,fragment", [
    ("x^^41", "^^ (TeX's character-code notation)"),
    ("a # b", "# is not allowed in math"),
    ("50% of x", "% starts a TeX comment"),
    ("a & b", "& outside a matrix-like environment"),
    (r"a \\ b", r"\\ outside a matrix-like environment"),
    (r"\frac{a}{b", "a { without its }"),
    ("a}b", "a } without its {"),
    (r"\begin{tabular}{c}x\end{tabular}", "environment 'tabular' is not allowed"),
    (r"\begin{pmatrix}1\end{bmatrix}", r"\end{bmatrix} does not close \begin{pmatrix}"),
    (r"\begin{pmatrix}1", r"\begin{pmatrix} without \end{pmatrix}"),
    (r"\begin x", r"\begin without {name}"),
    (r"\begin{array}{*{100000}{c}}1\end{array}", "array columns may be only l, c, r and |"),
    ("αβ", "U+03B1 (GREEK SMALL LETTER ALPHA) in math"),
    ("x" * 2001, "longer than 2000 characters"),
])
def test_other_forbidden_math_is_a_spec_error(math, fragment):
    issues = refused(with_text("Math: $" + math + "$."))
    assert any(fragment in i.message for i in issues), [str(i) for i in issues]
    assert all(i.line == 4 for i in issues)


def test_greek_in_math_suggests_the_macro():
    issue = refused(with_text("$α$"))[0]
    assert "write \\alpha instead" in issue.hint


def test_unbalanced_dollar_and_control_characters():
    issue = refused(with_text("costs 5$ or more"))[0]
    assert "a $ without its closing $" in issue.message and issue.col == 12 + 7
    assert "write \\$" in issue.hint
    for ch in ("\x00", "\x07", "\x1b", "\x7f"):
        spec = with_text("x").replace("text: 'x'", "text: " + yq(f"a $x{ch}$ b"))
        assert f"U+{ord(ch):04X}" in refused(spec)[0].message


def test_misspelt_macro_gets_a_suggestion():
    assert "did you mean \\frac?" in refused(with_text(r"$\fracc{1}{2}$"))[0].hint


def test_location_in_double_quoted_and_block_scalars():
    spec = 'title: T\nproblems:\n  - id: e\n    text: "x $\\\\input{y}$"\n' + TAIL
    assert (refused(spec)[0].line, refused(spec)[0].col) == (4, 15)
    spec = "title: T\nproblems:\n  - id: e\n    text: |\n      fine $x$\n      bad $\\def\\x{}$\n" + TAIL
    issue = refused(spec)[0]
    assert (issue.line, issue.col) == (6, 12) and "\\def" in issue.message


def test_every_issue_is_reported_in_one_pass():
    spec = ("title: T\ninstructions: '$\\input{a}$'\nsections:\n  - {title: S, text: '$\\def$'}\n"
            "problems:\n  - id: e\n    text: '$\\write$'\n    given: {a: 1}\n"
            "    compute: [{b: a + 1}]\n    bogus: 1\n")
    text = "\n".join(str(i) for i in refused(spec))
    for fragment in ("\\input", "\\def", "\\write", "unknown key 'bogus'"):
        assert fragment in text


# ---- allowed math ---------------------------------------------------------------------------

ALLOWED = [
    r"\hat{y} = \sigma(z)",
    r"\partial L/\partial W_1",
    r"\frac{\partial L}{\partial W_1} = X^\top \delta",
    r"\lVert W \rVert^2 + \lambda \sum_{i=1}^{n} w_i^2",
    r"\text{loss} = -\log \hat{p}_{y}",
    r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}",
    r"f(x) = \begin{cases} x & x > 0 \\ \alpha x & \text{otherwise} \end{cases}",
    r"\mathbf{1}\left[z > 0\right] \circ \tilde{x}",
    r"\operatorname{softmax}(z)_j = \frac{e^{z_j}}{\sum_k e^{z_k}}",
    r"\mathbb{R}^{3 \times 4},\; \eta = 0.1 \quad 50\% \; \$5 \; \#1",
]


def test_realistic_math_is_accepted():
    doc = loads(with_text(" ".join(f"${m}$" for m in ALLOWED) + " and $$x^2$$"))
    latex = prose(doc.problems[0].text)
    assert all(f"${m}$" in latex for m in ALLOWED) and r"\[x^2\]" in latex


def test_shipped_problems_pass_and_their_math_is_checked():
    from nnreport.spec import load
    from nnreport.spec.prose import parse, walk

    formulas = 0
    for path in sorted((ROOT / "problems").glob("*.yaml")):
        doc = load(path)
        texts = [doc.spec.instructions] + [p.text for p in doc.spec.problems] + [
            s.text for s in doc.spec.sections if s != "results"]
        formulas += sum(n.kind == "math" for t in texts for n, _ in walk(parse(t)))
    assert formulas > 20


def test_docs_list_every_allowed_macro_and_environment():
    docs = (ROOT / "docs" / "spec.md").read_text(encoding="utf-8")
    section = docs[docs.index("### Math in prose"):docs.index("## Network problems")]
    listed = set(re.findall(r"\\([A-Za-z]+|[,;!:>|{}_%#&$])", section.split("Sub- and")[0]))
    assert MATH_MACROS - {" ", "\t", "\n"} <= listed
    assert all(env in section for env in MATH_ENVIRONMENTS)


def _every_macro() -> str:
    """One use of every whitelisted macro and environment, written from how each is used
    (not from the whitelist), so adding a name to the list means adding it here."""
    two = "frac dfrac tfrac binom dbinom tbinom stackrel overset underset"
    one = ("hat bar tilde vec dot ddot widehat widetilde overline underline check breve acute "
           "grave mathring overrightarrow overleftarrow overbrace underbrace mathbf mathrm "
           "mathit mathcal mathbb mathsf mathtt mathfrak boldsymbol operatorname text textbf "
           "textit textrm textsf texttt emph mbox sqrt")
    sized = "big Big bigg Bigg bigl bigr Bigl Bigr biggl biggr Biggl Biggr"
    special = {"left": r"\left( x \middle| y \right)", "right": "", "middle": "",
               "not": r"\not=", "limits": r"\sum\limits_{i} x", "nolimits": r"\int\nolimits_0 x",
               " ": r"a\ b", "\t": "", "\n": ""}
    parts = [rf"\{m}{{a}}{{b}}" for m in two.split()] + [rf"\{m}{{x}}" for m in one.split()]
    parts += [rf"\{m}( x \{m})" for m in sized.split()] + [s for s in special.values() if s]
    named = set(two.split()) | set(one.split()) | set(sized.split()) | set(special)
    parts += [rf"\{m} x" for m in sorted(MATH_MACROS - named)]
    rows = {"array": "{cc} 1 & 2 \\\\ 3 & 4", "gathered": " 1 \\\\ 2"}  # gathered: one column
    default = " 1 & 2 \\\\ 3 & 4"
    envs = ["\\begin{" + e + "}" + rows.get(e, default) + " \\end{" + e + "}"
            for e in MATH_ENVIRONMENTS]
    return " ".join(f"${p}$" for p in parts + envs)


def _build(spec: str) -> str:
    doc = loads(spec)
    return render(doc, solve(doc), "key")


@needs_tex
def test_every_whitelisted_macro_and_environment_compiles():
    tex = _build(with_text(_every_macro()))
    compile_tex(tex, "macros", timeout=120)  # raises CompileError on any TeX error


@needs_tex
def test_every_accepted_character_compiles():
    chars = " ".join(chr(c) for c in sorted(TYPESET) if not chr(c).isspace())
    spec = with_text("x").replace("text: 'x'", "text: " + yq(chars))
    spec = spec.replace("title: T", "title: " + yq(chars[:400]))
    tex = _build(spec)
    assert tex.isascii()
    compile_tex(tex, "chars", timeout=120)


# ---- characters outside math ------------------------------------------------------------------

@pytest.mark.parametrize("ch,what", [
    ("\ud800", "lone surrogate"), ("\ue000", "private use"), ("\U0010fffd", "private use"),
    ("\u0378", "unassigned"), ("\u202e", "RIGHT-TO-LEFT OVERRIDE"), ("\x00", "control"),
    ("\U0001f600", "GRINNING FACE"), ("中", "CJK"), (" \u0301", "COMBINING ACUTE ACCENT"),
    ("\ufeff", "ZERO WIDTH NO-BREAK SPACE"),
])
@pytest.mark.parametrize("field", ["title", "course", "author", "date", "instructions",
                                   "problem_title", "problem_text", "section_title"])
def test_untypesettable_characters_are_refused(field, ch, what):
    value = yq("a" + ch + "b")
    spec = ("title: T\nsections: [{title: S, text: x}]\nproblems:\n  - id: e\n    title: P\n"
            "    text: x\n" + TAIL)
    if field.startswith("problem_"):
        key = field.removeprefix("problem_")
        spec = spec.replace(f"    {key}: {'P' if key == 'title' else 'x'}\n", f"    {key}: {value}\n")
    elif field == "section_title":
        spec = spec.replace("{title: S", "{title: " + value)
    elif field == "title":
        spec = spec.replace("title: T", "title: " + value)
    else:
        spec = f"{field}: {value}\n" + spec
    issues = refused(spec)
    assert any(what in i.message for i in issues), [str(i) for i in issues]
    assert all(i.line is not None for i in issues)


def test_combining_marks_are_composed_not_refused():
    doc = loads(with_text("Jose\u0301").replace("title: T", 'title: "Mu\u0308ller"'))
    assert doc.spec.title == "Mu\u0308ller"
    assert escape(doc.spec.title) == 'M\\"uller' and escape("Jose\u0301") == "Jos\\'e"


def test_an_empty_title_is_refused():
    # TeX would stop at the title block: "There's no line here to end"
    issue = refused(with_text("x").replace("title: T", 'title: " \\t"'))[0]
    assert (issue.line, issue.message) == (1, "title: the title is empty")


def test_tex_specials_in_titles_are_printed():
    assert escape(r"\input{x} ^^41 ~ % # & $ _") == (
        r"{\textbackslash}input\{x\} {\textasciicircum}{\textasciicircum}41 "
        r"{\textasciitilde} \% \# \& \$ \_")
    assert escape("two\nlines\tand\r\ntabs") == "two lines and tabs"


# ---- Markdown -------------------------------------------------------------------------------

@pytest.mark.parametrize("text,latex", [
    ("`x**2 + y**2`", r"\texttt{x**2 + y**2}"),
    ("**bold** and *italic*", r"\textbf{bold} and \emph{italic}"),
    ("costs \\$5 and $a*b*c$", r"costs \$5 and $a*b*c$"),
    ("`$x$` is code", r"\texttt{\$x\$} is code"),
    ("<b>x</b> &amp;", r"\ensuremath{<}b\ensuremath{>}x\ensuremath{<}/b\ensuremath{>} \&amp;"),
    ("# not a heading", r"\# not a heading"),
    ("Steps:\n- one\n- two $x$\n  continued",
     "Steps:\n\n\\begin{itemize}\n  \\item{} one\n  \\item{} two $x$\ncontinued\n\\end{itemize}"),
    ("3. three\n4. four", "\\begin{enumerate}[start=3]\n  \\item{} three\n  \\item{} four\n\\end{enumerate}"),
    ("first\n\nsecond", "first\n\nsecond"),
    ("$$\\sum_i x_i$$", r"\[\sum_i x_i\]"),
    ("- [x] done", "\\begin{itemize}\n  \\item{} [x] done\n\\end{itemize}"),
])
def test_markdown_renders_without_markers(text, latex):
    out = prose(text)
    assert out == latex
    assert not any(unicodedata.category(c) == "Co" for c in out)


def test_prose_has_a_size_limit():
    issues = refused(with_text("x").replace("title: T", "title: T\ninstructions: " + "a" * 150_000)
                     .replace("text: 'x'", "text: " + "b" * 60_000))
    assert [(i.line, i.message) for i in issues] == [
        (5, "more than 200,000 characters of prose in the spec")]


def test_lists_nested_too_deep_are_refused():
    assert "nested more than 4 deep" in refused(with_text("- - - - - x"))[0].message
    loads(with_text("- - - - x"))


# ---- names ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["x__", "A_", "a__b", "_x", "x_", "αβ"])
def test_names_tex_cannot_typeset_are_refused(name):
    disp = refused("title: T\nproblems:\n  - id: n\n    data: {X: [[1]], Y: [1]}\n"
                   "    network: {layers: [{units: 1}]}\n    loss: bce\n"
                   f"    names: {{b1: {yq(name)}}}\n")
    assert any("display name" in i.message and i.line == 7 for i in disp)
    for spec, line in ((f"title: T\nproblems:\n  - id: e\n    given: {{{yq(name)}: 1}}\n"
                        "    compute: [{b: 2}]\n", 4),
                       ("title: T\nproblems:\n  - id: e\n    given: {a: 1}\n"
                        f"    compute: [{{{yq(name)}: a}}]\n", 5)):
        issues = refused(spec)
        assert any("cannot be typeset as a name" in i.message and i.line == line
                   for i in issues), [str(i) for i in issues]


@given(st.from_regex(NAME, fullmatch=True).filter(lambda n: len(n) <= 16))
@settings(max_examples=200, deadline=None)  # the first unusual name imports SymPy
def test_accepted_names_give_well_formed_latex(name):
    tex = symbol(name)
    assert "{}" not in tex and "__" not in tex and "^" not in tex
    depth = 0
    for ch in tex:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0 and tex.isascii()


# ---- rosters ----------------------------------------------------------------------------------

def test_roster_fields_are_checked(tmp_path):
    roster = tmp_path / "r.csv"
    roster.write_text("name,id\nAnn,a1\nBad \ue000 name,b2\nCleo,\n", encoding="utf-8")
    with pytest.raises(SpecError) as info:
        from_roster(roster)
    issue = info.value.issues[0]
    assert issue.line == 3 and "U+E000 (private use) cannot be typeset" in issue.message
    roster.write_text("name,id\nAnn," + "x" * 300 + "\n", encoding="utf-8")
    with pytest.raises(SpecError, match="id in this row is longer than 40 characters"):
        from_roster(roster)
    roster.write_text("name,id\nÅsa,ü²\n", encoding="utf-8")
    assert [(v.label, v.student) for v in from_roster(roster)] == [("__", "Åsa")]


# ---- the CLI: exit 2, no traceback ---------------------------------------------------------------

@pytest.mark.parametrize("text", ["$\\pdfobj stream file {/etc/passwd}$", "a\ud800b",
                                  "x \ue0001\ue001 y", "$x^^41$", "`x**2 + y**2` \U0010ffff"])
def test_cli_validate_exits_2_without_traceback(tmp_path, text):
    spec = tmp_path / "s.yaml"
    spec.write_text(with_text("x").replace("text: 'x'", "text: " + yq(text)), "utf-8")
    r = subprocess.run([sys.executable, "-m", "nnreport", "validate", str(spec)],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"{spec}:4:" in r.stderr


# ---- fuzz: any string in any field --------------------------------------------------------------

# TeX specials and Markdown that escaping and the renderer must neutralise (mostly accepted)
TEXLIKE = st.sampled_from([
    "\\", "{", "}", "~", "%", "#", "&", "_", "^", "^^", "^^41", "\\$", "*", "**", "`", "- ",
    "1. ", "\n", "\n\n", "  ", "\t", "<b>", "&amp;", "[x]", "\\input{SECRET}", "\\def\\x{\\x}\\x",
    "\\end{itemize}", "$\\frac{a}{b}$", "$x_1^2$", "$\\text{a b}$", "`x**2 + y**2`", "é", "α", "€",
    "—", "\u00a0", "e\u0301",
])
# what validation must refuse somewhere (in math, or anywhere)
HOSTILE = st.sampled_from([
    "$", "$$", "$\\input{SECRET}$", "$\\text{", "$x^^41$", "$a & b$", "$\\pdfobj$", "\u202e",
    "\ue000", "\ue0001\ue001", "\x00", "\x07", "\ud800", "\u0301", "\ufeff", "中", "\U0001f600",
])
PRINTABLE = st.characters(min_codepoint=32, max_codepoint=126) | st.sampled_from(
    sorted(chr(c) for c in TYPESET))
SAFE = st.lists(st.one_of(TEXLIKE, st.text(PRINTABLE, max_size=4)), max_size=8).map("".join)
TEXT = st.lists(st.one_of(TEXLIKE, TEXLIKE, st.text(PRINTABLE, max_size=4), HOSTILE,
                          st.text(st.characters(exclude_categories=()), max_size=3)),
                max_size=6).map("".join)
FIELDS = ("title", "course", "author", "date", "instructions", "section_title",
          "section_text", "problem_title", "problem_text")


def fuzz_spec(values: dict[str, str]) -> str:
    q = {k: yq(v) for k, v in values.items()}
    q["title"] = yq("T " + values["title"])  # an empty title is refused (tested on its own)
    return (f"title: {q['title']}\ncourse: {q['course']}\nauthor: {q['author']}\n"
            f"date: {q['date']}\ninstructions: {q['instructions']}\ndocument: report\n"
            f"sections:\n  - {{title: {q['section_title']}, text: {q['section_text']}}}\n"
            f"  - results\nproblems:\n  - id: e\n    title: {q['problem_title']}\n"
            f"    text: {q['problem_text']}\n" + TAIL)


def _render_or_refuse(values: dict[str, str], secret: str = "/nonexistent") -> str | None:
    values = {k: v.replace("SECRET", secret) for k, v in values.items()}
    try:
        doc = loads(fuzz_spec(values), "fuzz.yaml")
    except SpecError as e:
        str(e).encode("utf-8")  # the message itself can be printed
        event("refused")
        return None
    event("rendered")
    tex = render(doc, solve(doc), "report", variant="Version v01 -- " + values["title"])
    assert tex.isascii(), [c for c in tex if not c.isascii()][:5]
    assert not any(ord(c) < 32 and c not in "\n\t" for c in tex)
    tex.encode("utf-8")
    return tex


@given(st.one_of(st.fixed_dictionaries({f: SAFE for f in FIELDS}),  # mostly rendered
                 st.fixed_dictionaries({f: st.one_of(SAFE, TEXT) for f in FIELDS})))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fuzz_any_string_in_any_field_is_rendered_or_refused(values):
    _render_or_refuse(values)


@given(TEXT)
@settings(max_examples=200, deadline=None)
def test_fuzz_roster_names(tmp_path_factory, name):
    folder = tmp_path_factory.mktemp("roster")
    roster = folder / "r.csv"
    with roster.open("w", encoding="utf-8", errors="surrogatepass", newline="") as fh:
        import csv

        csv.writer(fh).writerow(["name", "id"])
        csv.writer(fh).writerow([name, "s1"])
    try:
        versions = from_roster(roster)
    except SpecError:
        return
    doc = loads(with_text("x"))
    tex = render(doc, solve(doc), "key", variant=f"Version s1 -- {versions[0].student}")
    assert tex.isascii()


@needs_tex
@given(st.fixed_dictionaries({f: SAFE for f in FIELDS}))
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
def test_fuzz_accepted_strings_compile_or_fail_cleanly(tmp_path, values):
    token = "SECRET" + uuid.uuid4().hex[:12].upper()
    secret = tmp_path / "secret.tex"
    secret.write_text(token + "\n")
    tex = _render_or_refuse(values, str(secret))
    if tex is None:
        return
    try:
        pdf = compile_tex(tex, "fuzz", timeout=60).pdf
    except CompileError as e:
        assert token not in str(e)
        return
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True).stdout
    assert token.encode() not in pdf and token.encode() not in text
