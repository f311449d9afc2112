"""Hypothesis over the strings that reach the newer outputs (issue 19): any title or problem
text that validates is escaped on the notebook's LaTeX and HTML displays, and any roster name
that validates reaches answers.csv, grid.csv and grid.tex as text (no formula, no macro of its
own). The spec fields' fuzz for the PDF is in test_texcheck.py; Moodle and Canvas in
test_lms.py; file names and submissions in test_surfaces.py."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import html as lxml_html
from pylatexenc.latexwalker import LatexMacroNode, LatexWalker
from test_surfaces import SMALL_NET, is_formula
from test_texcheck import SAFE, TEXT

from nnreport.errors import SpecError
from nnreport.spec.texsafe import TYPESET, char_tex

# what the PDF's escaping writes for one character (spec/texsafe.py's table), and nothing else
ESCAPES = {m for o in TYPESET | set(range(32, 127))
           for m in re.findall(r"\\([A-Za-z]+|[^A-Za-z])", char_tex(chr(o)) or "")}
ESCAPES |= {"&", "%", "$", "#", "_", "{", "}", " "}
assert not ESCAPES & {"input", "include", "write", "def", "csname", "catcode", "openin"}


def macros(latex: str) -> set[str]:
    out: set[str] = set()

    def walk(nodes):
        for n in nodes or []:
            if isinstance(n, LatexMacroNode):
                out.add(n.macroname)
            for child in ("nodelist",):
                walk(getattr(n, child, None))
            if getattr(n, "nodeargd", None) is not None:
                walk([a for a in n.nodeargd.argnlist if a is not None])

    walk(LatexWalker(latex, tolerant_parsing=True).get_latex_nodes()[0])
    return out


def spec_with(folder: Path, title: str, text: str) -> Path | None:
    spec = folder / "f.yaml"
    spec.write_text(SMALL_NET.replace("  - id: p\n", "  - id: p\n    title: " + json.dumps(title)
                                      + "\n    text: " + json.dumps(text) + "\n"),
                    encoding="utf-8", errors="surrogatepass")
    return spec


@given(st.one_of(SAFE, TEXT), st.one_of(SAFE, TEXT))
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
def test_fuzz_notebook_displays_escape_what_validates(tmp_path, title, text):
    import nnreport

    try:
        solved = nnreport.load(spec_with(tmp_path, "T " + title, text))
    except SpecError:
        return
    latex = solved._repr_latex_()
    head = latex.split("\n\n")[0]
    assert head.startswith("\\textbf{") and head.isascii()
    assert macros(head) <= ESCAPES | {"textbf"}, macros(head) - ESCAPES
    page = solved._repr_html_()
    tree = lxml_html.fromstring(page)
    assert not tree.xpath("//script | //iframe | //object | //embed")
    assert not [a for el in tree.iter() if isinstance(el.tag, str) for a in el.attrib
                if a.lower().startswith("on")]
    assert not [v for v in tree.xpath("//@href | //@src") if "javascript:" in v.lower()]
    assert "katex-error" not in page


@given(TEXT)
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
def test_fuzz_roster_names_reach_csv_and_grid_as_text(tmp_path, name):
    from nnreport.build import answers_of
    from nnreport.course.batch import _answers_csv
    from nnreport.course.grid import grid_csv, grid_tex
    from nnreport.course.versions import from_roster
    from nnreport.engine.solve import solve
    from nnreport.spec import loads

    roster = tmp_path / "r.csv"
    with roster.open("w", encoding="utf-8", errors="surrogatepass", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "id"])
        w.writerow([name, "s1"])
    try:
        (version,) = from_roster(roster)
    except SpecError:
        return
    doc = loads(SMALL_NET, "s.yaml")
    rows = [{"label": version.label, "student": version.student,
             "answers": answers_of(doc, solve(doc), raw=True)}]
    _answers_csv(rows, tmp_path / "answers.csv")
    names = grid_csv(doc, rows, tmp_path / "grid.csv")
    for f in ("answers.csv", "grid.csv"):
        with (tmp_path / f).open(newline="", encoding="utf-8") as fh:
            cells = [c for row in csv.reader(fh) for c in row]
        assert not [c for c in cells if is_formula(c)]
        assert version.student in cells or "'" + version.student in cells
    tex = grid_tex(doc, rows, names)
    assert tex.isascii()
    body = tex[tex.index("\\endhead"):]
    line = next(x for x in body.splitlines() if x.startswith("s1 "))
    label = line.split(" & ")[0]
    assert macros(label) <= ESCAPES, macros(label) - ESCAPES
