"""What a spec may put in front of TeX: typesettable characters, whitelisted math, safe names.

Every string of a spec reaches TeX either escaped (titles, names, prose text: each character
becomes pylatexenc's LaTeX for it) or, for `$...$` math in prose, as written. Escaping is only
safe for characters this module accepts, and math only for the macros listed here:
`\\input`, `\\def`, `\\csname`, `\\pdfobj` ... can read files or build any of them, and pdfTeX's
own primitives ignore TeX's `openin_any` setting. So nothing is passed through unchecked.

Math is read the way TeX reads it, token by token (a control word `\\name`, a control symbol
`\\,`, a brace, a character), so a macro hidden in an argument or a group (`\\text{\\input x}`,
`\\frac{\\csname ...}{}`) is seen like any other. With the default catcodes, which nothing on
the list can change, this token stream is exactly what TeX sees. (pylatexenc's latexwalker
was tried: it parses about 85 KB/s and guesses argument structure; TeX needs neither.)
docs/spec.md ("Math in prose") lists the same names for teachers; keep the two in step.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from pylatexenc.latexencode import unicode_to_latex

# Non-ASCII characters that escape to LaTeX pdfLaTeX typesets with the preamble in
# nnreport/templates/base.tex.j2 (T1, lmodern, amsmath, amssymb): pylatexenc's table, less what failed
# to compile when every entry was typeset once (bench/typeset_chars.py regenerates it);
# tests/test_texcheck.py compiles them all again.
_TYPESET = """
00a0-00b7 00b9-0148 014a-017e 0192 01e7 01f5 0228-0229 02b7 02bc 02c6-02c7 02d8-02dd
0307-0308 0386 0388-038a 038c 038e-038f 0391-03a1 03a3-03ce 03d1 03d5-03d6 03f0-03f1
03f5-03f6 0e3f 2000-200a 200c 2010-2016 2018-201a 201c-201e 2020-2022 2024-2026 2030-2035
2039-203b 203d 2044 204e 2052 2057 205f-2061 2070-2071 2074-208e 2090-2093 2095-209c 20a1
20a4 20a6 20a9 20ab-20ac 20b1 2102-2103 2109-210a 210c-210f 2111 2113 2115-211a 211c-211e
2120 2122 2124 2126-2128 212a-212b 212d-212f 2134-2138 2190-219b 219e 21a0 21a2-21a3 21a6
21a9-21ae 21b0-21b1 21b6-21b7 21ba-21c4 21c6-21d5 21da-21db 21dd 2200-221e 2220-222e
2234-2237 223a 223c-223d 2240-2241 2243-2245 2247-224a 224d-2257 225c 2260-2262 2264-2277
227a-228b 228e-229b 229d-22a5 22a9-22aa 22ac-22af 22b2-22b5 22b8 22ba-22bb 22c0-22d4
22d6-22d7 22da-22db 22de-22df 22e2-22e3 22e6-22e7 22e9-22ef 22f1 2305 2308-230b 2316
231c-231f 2322-2323 2329-232a 23b0-23b1 2422-2423 25a0-25a1 25aa 25ad 25b3-25b5 25b8-25b9
25bd-25bf 25c2-25c3 25ca-25cb 25e6 25ef 2662 266a 27e8-27e9 27f5-27fa 27fc 27ff 2993 29eb
2a3f 2a6e 2a75 2a7d-2a7e 2a85-2a8c 2a95-2a96 2aaf-2ab0 2ab5-2aba 2ac5-2ac6 2acb-2acc 2afd
3008-3009 fb00-fb04 1d400-1d49b 1d504-1d56b 1d5a0-1d5d3 1d670-1d6a3 1d7ce-1d7eb 1d7f6-1d7ff
"""


def _ranges(table: str) -> frozenset[int]:
    out: set[int] = set()
    for item in table.split():
        lo, _, hi = item.partition("-")
        out.update(range(int(lo, 16), int(hi or lo, 16) + 1))
    return frozenset(out)


TYPESET = _ranges(_TYPESET)
WHITESPACE = re.compile(r"[\t\n\r]+")  # in one-line strings (titles, names): one space


@lru_cache(maxsize=4096)
def char_tex(ch: str) -> str | None:
    """LaTeX for one character in text, or None when pdfLaTeX cannot typeset it here
    (control characters, surrogates, private-use, unassigned, most scripts and emoji)."""
    o = ord(ch)
    if 0x20 <= o < 0x7F or o in TYPESET:
        return unicode_to_latex(ch, non_ascii_only=False, unknown_char_warning=False)
    if ch in "\t\n\r":
        return " "
    return None


def describe(ch: str) -> str:
    """U+202E (RIGHT-TO-LEFT OVERRIDE), never the raw character (it may not print)."""
    try:
        name = unicodedata.name(ch)
    except ValueError:
        name = {"Cs": "a lone surrogate", "Co": "private use", "Cn": "unassigned",
                "Cc": "a control character"}.get(unicodedata.category(ch), "no name")
    return f"U+{ord(ch):04X} ({name})"


@dataclass(frozen=True)
class Flaw:
    """One thing TeX must not see: where it starts in the checked string, the offending
    text as written (a macro, a character), what is wrong and what to do instead."""

    at: int
    token: str
    message: str
    hint: str = ""


def text_flaws(s: str, base: int = 0) -> list[Flaw]:
    """Characters of a plain string (or of prose outside math) that cannot be typeset."""
    out = []
    for i, ch in enumerate(unicodedata.normalize("NFC", s)):
        if char_tex(ch) is None:
            out.append(Flaw(base + i, ch, f"character {describe(ch)} cannot be typeset",
                            "remove it or write it with ASCII letters; see docs/spec.md (Text)"))
    return out


# ---- names ---------------------------------------------------------------------------------

NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*")
NAME_HINT = "a letter, then letters and digits, parts joined by single _ (x, W1, x_1, W_out)"


def name_ok(name: str) -> bool:
    """A display or value name that formulas.symbol() writes as valid LaTeX: `x__` (x^{}),
    `A_` (A_{}), `_x` and non-ASCII letters are not."""
    return NAME.fullmatch(name) is not None


# ---- math ------------------------------------------------------------------------------------

MATH_GROUPS: dict[str, str] = {
    "Greek letters": "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota "
                     "kappa varkappa lambda mu nu xi pi varpi rho varrho sigma varsigma tau "
                     "upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma "
                     "Upsilon Phi Psi Omega",
    "letters and symbols": "ell hbar imath jmath partial nabla infty emptyset varnothing "
                           "forall exists nexists neg lnot prime top bot intercal angle "
                           "Re Im aleph checkmark",
    "operators": "pm mp times div cdot circ bullet ast star otimes oplus odot ominus wedge "
                 "vee cap cup setminus land lor",
    "relations and arrows": "le leq ge geq ne neq approx sim simeq cong equiv propto in "
                            "notin ni subset subseteq supset supseteq to rightarrow "
                            "leftarrow Rightarrow Leftarrow leftrightarrow Leftrightarrow "
                            "longrightarrow longleftarrow Longrightarrow mapsto gets implies "
                            "iff ll gg perp parallel mid nmid triangleq doteq not",
    "big operators": "sum prod int iint iiint oint bigcup bigcap coprod",
    "functions": "log ln exp sin cos tan sec csc cot arcsin arccos arctan sinh cosh tanh "
                 "max min sup inf lim limsup liminf arg det dim ker Pr gcd deg",
    "fractions and roots": "frac dfrac tfrac sqrt binom dbinom tbinom",
    "accents": "hat bar tilde vec dot ddot widehat widetilde overline underline check breve "
               "acute grave mathring overrightarrow overleftarrow overbrace underbrace",
    "fonts and text": "mathbf mathrm mathit mathcal mathbb mathsf mathtt mathfrak boldsymbol "
                      "operatorname text textbf textit textrm textsf texttt emph mbox",
    "spacing": ", ; ! : > quad qquad",
    "dots": "dots ldots cdots vdots ddots dotsc dotsb",
    "delimiters": "left right middle big Big bigg Bigg bigl bigr Bigl Bigr biggl biggr Biggl "
                  "Biggr langle rangle lVert rVert lvert rvert lfloor rfloor lceil rceil "
                  "vert Vert lbrace rbrace backslash | { }",
    "layout": "limits nolimits displaystyle textstyle scriptstyle stackrel overset underset",
    "printed characters": "_ % # & $",
}
# `\ ` (a backslash before a space or a line break) is a space
MATH_MACROS = frozenset(" ".join(MATH_GROUPS.values()).split()) | {" ", "\t", "\n"}
# environments in which & separates columns and \\ ends a row
MATH_ENVIRONMENTS = ("matrix", "pmatrix", "bmatrix", "Bmatrix", "vmatrix", "Vmatrix",
                     "smallmatrix", "cases", "aligned", "gathered", "array")
MATH_HINT = ("math may use Greek letters, operators, relations, \\frac, \\sqrt, \\sum, \\log, "
             "accents, fonts, \\text{...}, spacing, dots, delimiters and matrix environments: "
             "the full list is in docs/spec.md (Math in prose)")
MATH_MAX = 2000  # characters of one formula
MATH_DEPTH = 20  # braces and environments nested in one formula (the HTML path parses them
                 # recursively; no hand-written formula comes near)

_TOKEN = re.compile(r"\\(?:([A-Za-z]+)|(.))|([{}%#&$])|(\^\^)", re.S)
_ENV_ARG = re.compile(r"\s*\{([A-Za-z*]+)\}")
_ARRAY_COLS = re.compile(r"\s*\{[lcr| ]+\}")


def _suggest(name: str) -> str:
    import difflib

    close = difflib.get_close_matches(name, sorted(MATH_MACROS), n=1, cutoff=0.8)
    return f"did you mean \\{close[0]}? " if close else ""


def math_flaws(src: str, base: int = 0) -> list[Flaw]:
    """Everything in one formula (the text between the dollars) that is not on the list.
    `base` is where the formula starts in the string it came from."""
    if len(src) > MATH_MAX:
        return [Flaw(max(base - 1, 0), "$", f"a formula longer than {MATH_MAX} characters",
                     "split it, or show large values with given: instead")]
    out: list[Flaw] = []
    for i, ch in enumerate(src):
        if not (0x20 <= ord(ch) < 0x7F or ch in "\t\n"):
            alt = char_tex(ch) or ""
            inner = re.fullmatch(r"\\ensuremath\{(.*)\}", alt)
            hint = f"write {inner.group(1)} instead" if inner else \
                "math is ASCII: use a macro such as \\alpha, or move the character out of the $...$"
            out.append(Flaw(base + i, ch, f"character {describe(ch)} in math", hint))
    if out:
        return out
    depth, envs = 0, []  # brace depth, open environments (name, brace depth at \begin)
    for m in _TOKEN.finditer(src):
        at, word, symbol, char = base + m.start(), m.group(1), m.group(2), m.group(3)
        name = word or symbol
        if m.group(4):
            out.append(Flaw(at, "^^", "^^ (TeX's character-code notation) is not allowed in math",
                            "write x^{2}, not x^^..."))
        elif name in ("begin", "end"):
            arg = _ENV_ARG.match(src, m.end())
            env = arg.group(1) if arg else ""
            if env not in MATH_ENVIRONMENTS:
                if name == "end" and f"\\begin{{{env}}}" in src:
                    continue  # reported at its \begin
                what = f"environment '{env}'" if env else f"\\{name} without {{name}}"
                out.append(Flaw(at, m.group(0), f"{what} is not allowed in math",
                                "allowed environments: " + ", ".join(MATH_ENVIRONMENTS)))
            elif name == "begin":
                envs.append((env, depth))
                if depth + len(envs) == MATH_DEPTH + 1:
                    out.append(Flaw(at, m.group(0), f"environments nested more than "
                                    f"{MATH_DEPTH} deep in math", "split the formula"))
                if arg and env == "array" and not _ARRAY_COLS.match(src, arg.end()):
                    # not @{...}, >{...} or *{1000000}{c}: plain columns only
                    out.append(Flaw(at, m.group(0), "array columns may be only l, c, r and |",
                                    "e.g. \\begin{array}{cc|c}"))
            elif not envs or envs[-1] != (env, depth):
                out.append(Flaw(at, m.group(0), f"\\end{{{env}}} does not close "
                                + (f"\\begin{{{envs[-1][0]}}}" if envs else "any \\begin")))
            else:
                envs.pop()
        elif name == "\\" or char == "&":
            if not envs:
                out.append(Flaw(at, m.group(0), f"{m.group(0)} outside a matrix-like environment",
                                "& and \\\\ belong inside " + ", ".join(MATH_ENVIRONMENTS)))
        elif name is not None and name not in MATH_MACROS:
            out.append(Flaw(at, m.group(0), f"\\{name} is not allowed in math",
                            _suggest(name) + MATH_HINT))
        elif char == "{":
            depth += 1
            if depth + len(envs) == MATH_DEPTH + 1:
                out.append(Flaw(at, "{", f"braces nested more than {MATH_DEPTH} deep in math",
                                "split the formula"))
        elif char == "}":
            depth -= 1
            if depth < 0:
                out.append(Flaw(at, "}", "unbalanced braces in math: a } without its {"))
                depth = 0
        elif char == "%":
            out.append(Flaw(at, "%", "% starts a TeX comment in math", "write \\% for a percent sign"))
        elif char == "#":
            out.append(Flaw(at, "#", "# is not allowed in math", "write \\# for the symbol"))
        elif char == "$":
            out.append(Flaw(at, "$", "a $ inside math", "write \\$ for a dollar sign"))
    if depth > 0:
        out.append(Flaw(base + src.rfind("{"), "{", "unbalanced braces in math: a { without its }"))
    for env, _ in envs:
        out.append(Flaw(base, f"\\begin{{{env}}}", f"\\begin{{{env}}} without \\end{{{env}}}"))
    return out
